// Settings: ports, worker, Telegram (with its check), language and theme.

import type { Context } from '../context';
import { $, fill, h } from '../dom';
import { settingProblemText } from '../errors';
import { parseDecimal } from '../format';
import { type Key, language, setLanguage, t } from '../i18n';
import { DeskError, type SettingsView as Settings, type Theme } from '../ipc';
import type { StackControl } from '../stack';
import { redisPortOf, redisUrlFor } from '../state';
import { field } from '../widgets';

export const FIELDS: { key: string; label: Key; group: Key; type?: string }[] = [
  { key: 'REDIS_PORT', label: 'settings.redis_port', group: 'settings.ports', type: 'number' },
  { key: 'API_PORT', label: 'settings.api_port', group: 'settings.ports', type: 'number' },
  { key: 'MONITOR_PORT', label: 'settings.monitor_port', group: 'settings.ports', type: 'number' },
  { key: 'WORKER_CONCURRENCY', label: 'settings.concurrency', group: 'settings.worker', type: 'number' },
  { key: 'NOTIFY_SIMULATED_SECS', label: 'settings.simulated', group: 'settings.worker' },
  { key: 'TASK_MAX_RETRIES', label: 'settings.max_retries', group: 'settings.worker', type: 'number' },
  { key: 'TASK_RETRY_COUNTDOWN_SECS', label: 'settings.countdown', group: 'settings.worker', type: 'number' },
  { key: 'TELEGRAM_BOT_TOKEN', label: 'settings.token', group: 'settings.telegram', type: 'password' },
  { key: 'TELEGRAM_CHAT_ID', label: 'settings.chat', group: 'settings.telegram' },
];

/** Sets the page's theme (`system` follows the system's light or dark). */
export function applyTheme(theme: Theme): void {
  const dark = theme === 'dark' || (theme === 'system' && matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
}

/** What the settings view tells the page. */
export interface SettingsEvents {
  /** The language changed: the page is built anew in it. */
  languageChanged(): void;
}

export class SettingsView {
  constructor(
    private readonly ctx: Context,
    private readonly stack: StackControl,
    private readonly events: SettingsEvents,
  ) {}

  /** Builds the settings' section in `main`. */
  mount(main: HTMLElement): void {
    const groups = [...new Set(FIELDS.map((f) => f.group))];
    main.append(
      h(
        'section',
        { id: 'view-settings', class: 'view' },
        h(
          'form',
          {
            id: 'settings-form',
            novalidate: true,
            onsubmit: (e: Event) => {
              e.preventDefault();
              void this.save(e.target as HTMLFormElement);
            },
          },
          ...groups.map((group) =>
            h(
              'fieldset',
              {},
              h('legend', {}, t(group)),
              ...FIELDS.filter((f) => f.group === group).map((f) =>
                field(f.key, f.label, f.type === 'password' ? 'password' : 'text'),
              ),
              group === 'settings.telegram'
                ? h(
                    'div',
                    { class: 'buttons' },
                    h(
                      'button',
                      {
                        type: 'button',
                        id: 'telegram-test',
                        onclick: (e: Event) => void this.testTelegram((e.target as HTMLElement).closest('form')!),
                      },
                      t('settings.test'),
                    ),
                    h(
                      'button',
                      { type: 'button', id: 'token-clear', class: 'link', onclick: () => void this.clearToken() },
                      t('settings.token_clear'),
                    ),
                    h('p', { id: 'telegram-result', role: 'status' }),
                  )
                : null,
            ),
          ),
          h(
            'fieldset',
            {},
            h('legend', {}, t('settings.appearance')),
            h(
              'label',
              { class: 'field' },
              h('span', {}, t('settings.language')),
              h(
                'select',
                { name: 'language' },
                h('option', { value: 'ru' }, 'Русский'),
                h('option', { value: 'en' }, 'English'),
              ),
            ),
            h(
              'label',
              { class: 'field' },
              h('span', {}, t('settings.theme')),
              h(
                'select',
                { name: 'theme' },
                ...(['system', 'light', 'dark'] as const).map((th) =>
                  h('option', { value: th }, t(`settings.theme.${th}` as Key)),
                ),
              ),
            ),
          ),
          h(
            'div',
            { class: 'buttons' },
            h('button', { id: 'settings-save', class: 'primary', type: 'submit' }, t('common.save')),
          ),
          h('p', { id: 'settings-status', role: 'status' }),
          h('p', { id: 'settings-path', class: 'muted' }),
        ),
      ),
    );
  }

  /** Takes settings as saved: the language and the theme they name (the page is built anew in a
   * new language), and the form. */
  apply(settings: Settings): void {
    const languageChanged = settings.language !== language();
    this.ctx.store.update({ settings });
    setLanguage(settings.language);
    applyTheme(settings.theme);
    if (languageChanged) this.events.languageChanged();
    this.ctx.store.render('settings');
  }

  /** The stack restarted as the settings asked. */
  restarted(): void {
    fill($('#settings-status'), t('settings.saved'));
  }

  paint(): void {
    const form = document.querySelector<HTMLFormElement>('#settings-form');
    const s = this.ctx.store.state.settings;
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

  private async save(form: HTMLFormElement): Promise<void> {
    for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
    const status = $('#settings-status');
    fill(status);
    const values: Record<string, string> = {};
    const s = this.ctx.store.state.settings;
    for (const field of FIELDS) {
      const input = form.elements.namedItem(field.key) as HTMLInputElement;
      // Seconds may be typed with a decimal comma («2,5»).
      const typed = input.value.trim();
      const number = field.key === 'NOTIFY_SIMULATED_SECS' ? parseDecimal(typed) : null;
      const value = number !== null ? String(number) : typed;
      if (field.key === 'REDIS_PORT') {
        if (value !== redisPortOf(s?.values.REDIS_URL ?? ''))
          values.REDIS_URL = value ? redisUrlFor(value, s?.values.REDIS_URL) : '';
      } else if (field.type === 'password') {
        if (value) values[field.key] = value;
      } else if (value !== (s?.values[field.key] ?? '')) values[field.key] = value;
    }
    try {
      const outcome = await this.ctx.backend.saveSettings({
        values,
        language: (form.elements.namedItem('language') as HTMLSelectElement).value as 'ru' | 'en',
        theme: (form.elements.namedItem('theme') as HTMLSelectElement).value as Theme,
      });
      this.apply(outcome.settings);
      const statusNow = $('#settings-status');
      if (outcome.restart.length) {
        fill(
          statusNow,
          t('settings.restart', { list: outcome.restart.map((p) => t(`process.${p}` as Key)).join(', ') }),
          ' ',
          h(
            'button',
            { class: 'primary', id: 'restart-now', onclick: () => void this.stack.restart() },
            t('settings.restart_now'),
          ),
        );
      } else fill(statusNow, t('settings.saved'));
      void this.stack.refreshSnapshot();
    } catch (err) {
      if (err instanceof DeskError && err.body.problems) {
        for (const problem of err.body.problems) {
          const key = problem.key === 'REDIS_URL' ? 'REDIS_PORT' : problem.key;
          const slot = form.querySelector(`.field-error[data-field="${key}"]`);
          const message = settingProblemText(problem, language(), slot ? key : problem.key);
          if (slot) slot.textContent = message;
          else this.ctx.notice(`${problem.key}: ${message}`, 'error');
        }
      } else this.ctx.showError(err);
    }
  }

  private async clearToken(): Promise<void> {
    try {
      this.apply(
        (await this.ctx.backend.saveSettings({ values: { TELEGRAM_BOT_TOKEN: '', TELEGRAM_CHAT_ID: '' } })).settings,
      );
    } catch (err) {
      this.ctx.showError(err);
    }
  }

  private async testTelegram(form: HTMLFormElement): Promise<void> {
    const out = $('#telegram-result');
    out.dataset.kind = 'busy';
    out.textContent = '…';
    const token = (form.elements.namedItem('TELEGRAM_BOT_TOKEN') as HTMLInputElement).value;
    const chat = (form.elements.namedItem('TELEGRAM_CHAT_ID') as HTMLInputElement).value;
    try {
      const ok = await this.ctx.backend.testTelegram(token, chat);
      out.dataset.kind = 'ok';
      out.textContent = t('settings.test_ok', { bot: ok.bot, chat: ok.chat_id, id: ok.message_id });
    } catch (err) {
      out.dataset.kind = 'error';
      out.textContent = err instanceof Error ? err.message : String(err);
    }
  }
}
