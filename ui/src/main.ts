// Stackdesk's UI: dashboard (Start/Stop, a card and a live log per process), products, task
// history, diagrams and settings. State arrives as events; the page re-renders what changed at
// most once per animation frame, so bursts of events never freeze it.
//
// The one wiring point: this module connects the backend, creates the store, builds the views and
// mounts them, subscribes their painters, and starts every timer and listener. Every other module
// only declares; nothing runs when it is imported (test/effects.test.ts checks it).
//
// # Layout (bottom up: a module imports from its own row or the rows below, and no import comes
// back round: test/imports.test.ts checks it)
// - ipc.ts: the only module that talks to a backend, and the types that cross the boundary;
//   dom.ts (the element builder), glossary.ts, diagrams/keys.ts and diagrams/export.ts
// - i18n.ts, format.ts, errors.ts, health.ts, state.ts (TaskStore, LogBuffer, QueueWatch, …) and
//   diagrams/{facts,lifecycle,live,sources,render}.ts: pure logic, unit-tested
// - store.ts (the shared state and the paint scheduler), widgets.ts (chips, fields, clocks)
// - context.ts (what the views are given), shell.ts (the frame: header, tabs, notices,
//   dialogs), stack.ts (Start/Stop, the prompts, following the API)
// - views/*.ts: each builds and paints its own section (views/diagrams.ts places the bars of
//   views/present.ts)
// - main.ts

import type { Context } from './context';
import { $, fill, h } from './dom';
import { setLanguage, t } from './i18n';
import { connect, type DeskEvent } from './ipc';
import { errorBody, Shell } from './shell';
import { StackControl } from './stack';
import { PARTS, Store } from './store';
import { DashboardView } from './views/dashboard';
import { DiagramsView, GLANCE_EVERY } from './views/diagrams';
import { FirstRun } from './views/first-run';
import { HeaderView } from './views/header';
import { restorePresentation, Presentation } from './views/present';
import { ProductsView } from './views/products';
import { applyTheme, SettingsView } from './views/settings';
import { TasksView } from './views/tasks';

async function boot(): Promise<void> {
  // The saved projector look and read-only choice, before anything is drawn.
  restorePresentation();
  const backend = connect();
  if (!backend) {
    setLanguage(navigator.language.startsWith('ru') ? 'ru' : 'en');
    fill($('#app'), h('p', { class: 'notice' }, t('browser.no_token')));
    return;
  }
  const root = $('#app');
  const store = new Store((paint) => requestAnimationFrame(paint));
  const shell = new Shell(store);

  // ---------------------------------------------------------------- the parts, and how they meet

  const ctx: Context = {
    backend,
    store,
    notice: (text, kind, extra) => shell.notice(text, kind, extra),
    dialog: (title, body, buttons, options) => shell.dialog(title, body, buttons, options),
    showTab: (tab) => shell.showTab(tab),
    // A taken port and a missing Redis each have a way out; any other error is a notice.
    showError: (err) => {
      const body = errorBody(err);
      if (body.kind === 'port_taken') return stack.portPrompt(body);
      if (body.kind === 'redis_not_found') return void firstRun.check();
      shell.errorNotice(body);
    },
  };
  const stack = new StackControl(ctx, { restarted: () => settings.restarted() });
  const firstRun = new FirstRun(ctx, stack);
  const header = new HeaderView(ctx, stack);
  const dashboard = new DashboardView(ctx, stack);
  const tasks = new TasksView(ctx, stack);
  const products = new ProductsView(ctx, { openTask: (id) => tasks.openTask(id) });
  const presentation = new Presentation(ctx);
  const diagrams = new DiagramsView(ctx, presentation, {
    showProcess: (process) => {
      shell.showTab('dashboard');
      dashboard.showProcess(process);
    },
    dialogOpen: () => shell.dialogOpen(),
  });
  let built = false;
  const settings = new SettingsView(ctx, stack, { languageChanged: () => built && build() });

  store.on('header', () => header.paint());
  store.on('header', () => dashboard.paintLinks());
  store.on('cards', () => dashboard.paintCards());
  store.on('log', () => dashboard.paintLog());
  store.on('products', () => products.paint());
  store.on('tasks', () => tasks.paintTasks());
  store.on('drawer', () => tasks.paintDrawer());
  store.on('diagrams', () => diagrams.paint());
  store.on('settings', () => settings.paint());

  /** Builds the page (again after a change of language): the frame, then each view in it. */
  function build(): void {
    shell.mount(root);
    header.mount(shell.header, shell.main);
    dashboard.mount(shell.main);
    products.mount(shell.main);
    tasks.mount(shell.main);
    diagrams.mount(shell.main);
    settings.mount(shell.main);
    shell.showTab(store.state.tab);
    store.render(...PARTS);
    built = true;
  }

  function onDeskEvent(event: DeskEvent): void {
    switch (event.kind) {
      case 'state': {
        if (!store.state.snapshot) return;
        store.setProcess(event.status);
        if (event.status.process === 'api' && event.status.state === 'running') stack.follow(true);
        if (event.status.process === 'worker') diagrams.observeWorker();
        store.render('cards', 'header', 'tasks', 'diagrams');
        break;
      }
      case 'log':
        store.logs[event.process].push(event.line);
        if (event.process === store.state.logProcess) store.render('log');
        break;
      case 'stack':
        store.setRunning(event.running);
        store.render('header', 'cards');
        break;
      case 'settings':
        settings.apply(event.settings);
        // A saved port may now wait for a restart: the snapshot says so.
        void stack.refreshSnapshot().catch(() => {});
        break;
      case 'health':
        store.setHealth(event.health, event.revision);
        store.render('header', 'cards');
        break;
      case 'lagged':
        void stack.refreshSnapshot().catch(() => {});
        void stack.reloadLogs();
        break;
      case 'close_requested':
        stack.closePrompt();
        break;
    }
  }

  // ---------------------------------------------------------------- listeners and timers

  // The diagrams' clicker and keyboard; a browser leaving full screen leaves the presentation;
  // Redis sampled while a diagram shows it.
  document.addEventListener('keyup', (e) => diagrams.onKeyUp(e));
  document.addEventListener('keydown', (e) => diagrams.onKeyDown(e));
  document.addEventListener('fullscreenchange', () => presentation.onFullscreenChange());
  setInterval(() => diagrams.sampleRedis(), GLANCE_EVERY);

  // ---------------------------------------------------------------- start-up

  // Subscribe first, then read the snapshot: nothing falls between the two.
  backend.subscribe(onDeskEvent);
  const [snapshot, savedSettings] = await Promise.all([backend.snapshot(), backend.settings()]);
  store.update({ snapshot, settings: savedSettings });
  setLanguage(savedSettings.language);
  applyTheme(savedSettings.theme);
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    const theme = store.state.settings?.theme;
    if (theme) applyTheme(theme);
  });
  build();
  root.removeAttribute('aria-busy');
  stack.follow();
  await stack.reloadLogs();
  // First run on a machine without Redis: explain the choices before Start fails.
  if (!snapshot.running) void firstRun.check();
  // Uptimes tick.
  setInterval(() => {
    if (store.tickUptimes()) store.render('cards');
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
