// Stackdesk's UI: dashboard (Start/Stop, a card and a live log per process), products, task
// history and settings. State arrives as events; the page re-renders what changed at most once
// per animation frame, so bursts of events never freeze it.

import { hooks, render, ui } from './app';
import { $, fill, h } from './dom';
import { setLanguage, t } from './i18n';
import { connect, type DeskEvent } from './ipc';
import { buildShell } from './shell';
import { closePrompt, connectApi, refreshSnapshot, reloadLogs } from './stack';
import { applySettings, applyTheme } from './views/settings';
import './views/dashboard';
import './views/products';
import './views/tasks';
import './views/settings';
import { observeWorker } from './views/diagrams';
import { checkRedis } from './views/first-run';

function onDeskEvent(event: DeskEvent): void {
  switch (event.kind) {
    case 'state': {
      if (!ui.snapshot) return;
      const i = ui.snapshot.processes.findIndex((p) => p.process === event.status.process);
      if (i >= 0) ui.snapshot.processes[i] = event.status;
      if (event.status.process === 'api' && event.status.state === 'running') connectApi(true);
      if (event.status.process === 'worker') observeWorker();
      render('cards', 'header', 'tasks', 'diagrams');
      break;
    }
    case 'log':
      ui.logs[event.process].push(event.line);
      if (event.process === ui.logProcess) render('log');
      break;
    case 'stack':
      if (ui.snapshot) ui.snapshot.running = event.running;
      render('header', 'cards');
      break;
    case 'settings':
      applySettings(event.settings);
      // A saved port may now wait for a restart: the snapshot says so.
      void refreshSnapshot().catch(() => {});
      break;
    case 'health':
      if (ui.snapshot) ui.snapshot.health = event.health;
      render('header', 'cards');
      break;
    case 'lagged':
      void refreshSnapshot().catch(() => {});
      void reloadLogs();
      break;
    case 'close_requested':
      closePrompt();
      break;
  }
}

// ---------------------------------------------------------------- start-up

async function boot(): Promise<void> {
  const backend = connect();
  if (!backend) {
    setLanguage(navigator.language.startsWith('ru') ? 'ru' : 'en');
    fill($('#app'), h('p', { class: 'notice' }, t('browser.no_token')));
    return;
  }
  ui.backend = backend;
  // Subscribe first, then read the snapshot: nothing falls between the two.
  backend.subscribe(onDeskEvent);
  const [snapshot, settings] = await Promise.all([backend.snapshot(), backend.settings()]);
  ui.snapshot = snapshot;
  ui.settings = settings;
  setLanguage(settings.language);
  applyTheme(settings.theme);
  matchMedia('(prefers-color-scheme: dark)').addEventListener(
    'change',
    () => ui.settings && applyTheme(ui.settings.theme),
  );
  hooks.rebuild = buildShell;
  buildShell();
  $('#app').removeAttribute('aria-busy');
  connectApi();
  await reloadLogs();
  // First run on a machine without Redis: explain the choices before Start fails.
  if (!snapshot.running) void checkRedis();
  // Uptimes tick.
  setInterval(() => {
    if (ui.snapshot?.running) {
      for (const p of ui.snapshot.processes) if (p.uptime_secs !== null) p.uptime_secs += 1;
      render('cards');
    }
  }, 1000);
}

boot().catch((err) => {
  fill(
    $('#app'),
    h(
      'p',
      { class: 'notice', 'data-kind': 'error' },
      `${t('error.title')}: ${err instanceof Error ? err.message : String(err)}`,
    ),
  );
});
