// Settings: ports, worker, Telegram (with its check), language and theme.

import { field, hooks, notice, painter, render, showError, ui } from '../app';
import { $, fill, h } from '../dom';
import { type Key, language, setLanguage, t } from '../i18n';
import { DeskError, type SettingsView, type Theme } from '../ipc';
import { refreshSnapshot, restartStack } from '../stack';
import { settingProblemText } from '../errors';
import { parseDecimal } from '../format';
import { redisPortOf, redisUrlFor } from '../state';

// ---------------------------------------------------------------- settings

export const FIELDS: { key: string; label: Key; group: Key; type?: string }[] = [
  { key: 'REDIS_PORT', label: 'settings.redis_port', group: 'settings.ports', type: 'number' },
  { key: 'API_PORT', label: 'settings.api_port', group: 'settings.ports', type: 'number' },
  { key: 'WORKER_CONCURRENCY', label: 'settings.concurrency', group: 'settings.worker', type: 'number' },
  { key: 'NOTIFY_SIMULATED_SECS', label: 'settings.simulated', group: 'settings.worker' },
  { key: 'TASK_MAX_RETRIES', label: 'settings.max_retries', group: 'settings.worker', type: 'number' },
  { key: 'TASK_RETRY_COUNTDOWN_SECS', label: 'settings.countdown', group: 'settings.worker', type: 'number' },
  { key: 'TELEGRAM_BOT_TOKEN', label: 'settings.token', group: 'settings.telegram', type: 'password' },
  { key: 'TELEGRAM_CHAT_ID', label: 'settings.chat', group: 'settings.telegram' },
];

export function applySettings(settings: SettingsView): void {
  const languageChanged = settings.language !== language();
  ui.settings = settings;
  setLanguage(settings.language);
  applyTheme(settings.theme);
  if (languageChanged) hooks.rebuild();
  render('settings');
}

export function applyTheme(theme: Theme): void {
  const dark = theme === 'dark' || (theme === 'system' && matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
}

export function paintSettings(): void {
  const form = document.querySelector<HTMLFormElement>('#settings-form');
  const s = ui.settings;
  if (!form || !s) return;
  for (const field of FIELDS) {
    const input = form.elements.namedItem(field.key) as HTMLInputElement | null;
    if (!input || document.activeElement === input) continue;
    if (field.key === 'REDIS_PORT') input.value = redisPortOf(s.values.REDIS_URL ?? '');
    else if (field.type === 'password') {
      input.value = '';
      input.placeholder = s.secrets_set.includes(field.key) ? t('settings.token_saved') : '';
    } else input.value = s.values[field.key] ?? '';
  }
  (form.elements.namedItem('language') as HTMLSelectElement).value = s.language;
  (form.elements.namedItem('theme') as HTMLSelectElement).value = s.theme;
  $('#settings-path').textContent = t('settings.path', { path: s.path });
}

export async function saveSettingsForm(form: HTMLFormElement): Promise<void> {
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  const status = $('#settings-status');
  fill(status);
  const values: Record<string, string> = {};
  const s = ui.settings;
  for (const field of FIELDS) {
    const input = form.elements.namedItem(field.key) as HTMLInputElement;
    // Seconds may be typed with a decimal comma («2,5»).
    const typed = input.value.trim();
    const number = field.key === 'NOTIFY_SIMULATED_SECS' ? parseDecimal(typed) : null;
    const value = number !== null ? String(number) : typed;
    if (field.key === 'REDIS_PORT') {
      if (value !== redisPortOf(s?.values.REDIS_URL ?? '')) values.REDIS_URL = value ? redisUrlFor(value) : '';
    } else if (field.type === 'password') {
      if (value) values[field.key] = value;
    } else if (value !== (s?.values[field.key] ?? '')) values[field.key] = value;
  }
  try {
    const outcome = await ui.backend.saveSettings({
      values,
      language: (form.elements.namedItem('language') as HTMLSelectElement).value as 'ru' | 'en',
      theme: (form.elements.namedItem('theme') as HTMLSelectElement).value as Theme,
    });
    applySettings(outcome.settings);
    const statusNow = $('#settings-status');
    if (outcome.restart.length) {
      fill(
        statusNow,
        t('settings.restart', { list: outcome.restart.map((p) => t(`process.${p}` as Key)).join(', ') }),
        ' ',
        h(
          'button',
          { class: 'primary', id: 'restart-now', onclick: () => void restartStack() },
          t('settings.restart_now'),
        ),
      );
    } else fill(statusNow, t('settings.saved'));
    void refreshSnapshot();
  } catch (err) {
    if (err instanceof DeskError && err.body.problems) {
      for (const problem of err.body.problems) {
        const key = problem.key === 'REDIS_URL' ? 'REDIS_PORT' : problem.key;
        const slot = form.querySelector(`.field-error[data-field="${key}"]`);
        const message = settingProblemText(problem, language(), slot ? key : problem.key);
        if (slot) slot.textContent = message;
        else notice(`${problem.key}: ${message}`, 'error');
      }
    } else showError(err);
  }
}

export async function clearToken(): Promise<void> {
  try {
    applySettings(
      (await ui.backend.saveSettings({ values: { TELEGRAM_BOT_TOKEN: '', TELEGRAM_CHAT_ID: '' } })).settings,
    );
  } catch (err) {
    showError(err);
  }
}

export async function testTelegram(form: HTMLFormElement): Promise<void> {
  const out = $('#telegram-result');
  out.dataset.kind = 'busy';
  out.textContent = '…';
  const token = (form.elements.namedItem('TELEGRAM_BOT_TOKEN') as HTMLInputElement).value;
  const chat = (form.elements.namedItem('TELEGRAM_CHAT_ID') as HTMLInputElement).value;
  try {
    const ok = await ui.backend.testTelegram(token, chat);
    out.dataset.kind = 'ok';
    out.textContent = t('settings.test_ok', { bot: ok.bot, chat: ok.chat_id, id: ok.message_id });
  } catch (err) {
    out.dataset.kind = 'error';
    out.textContent = err instanceof Error ? err.message : String(err);
  }
}

painter('settings', paintSettings);
