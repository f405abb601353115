// Stackdesk's UI: dashboard (Start/Stop, a card and a live log per process), products, task
// history and settings. State arrives as events; the page re-renders what changed at most once
// per animation frame, so bursts of events never freeze it.

import { $, append, copyText, fill, h } from './dom';
import { type Key, language, setLanguage, t } from './i18n';
import {
  Api,
  ApiError,
  type Backend,
  connect,
  type DeskErrorBody,
  DeskError,
  type DeskEvent,
  PROCESSES,
  type ProcessKind,
  type ProcessStatus,
  type Product,
  type SettingsView,
  type Snapshot,
  type Task,
  type Theme,
} from './ipc';
import {
  cardActions,
  fieldErrors,
  formatDuration,
  LogBuffer,
  light,
  QueueWatch,
  redisPortOf,
  redisUrlFor,
  TASK_STATES,
  TaskStore,
  timelineWithDurations,
} from './state';

type Tab = 'dashboard' | 'products' | 'tasks' | 'settings';
type Part = 'header' | 'cards' | 'log' | 'products' | 'tasks' | 'drawer' | 'settings';

const ROWS = 200;

const ui = {
  backend: null as unknown as Backend,
  snapshot: null as Snapshot | null,
  settings: null as SettingsView | null,
  api: null as Api | null,
  stopLive: null as (() => void) | null,
  tasks: new TaskStore(),
  products: [] as Product[],
  logs: Object.fromEntries(PROCESSES.map((p) => [p, new LogBuffer()])) as Record<ProcessKind, LogBuffer>,
  queue: new QueueWatch(),
  tab: 'dashboard' as Tab,
  logProcess: 'redis' as ProcessKind,
  logSearch: '',
  logFollow: true,
  taskFilter: null as string | null,
  taskSearch: '',
  selectedTask: null as string | null,
  busy: null as 'starting' | 'stopping' | null,
  dirty: new Set<Part>(),
  frame: 0,
};

function render(...parts: Part[]): void {
  for (const part of parts) ui.dirty.add(part);
  if (!ui.frame) ui.frame = requestAnimationFrame(flush);
}

function flush(): void {
  ui.frame = 0;
  const dirty = [...ui.dirty];
  ui.dirty.clear();
  for (const part of dirty) {
    try {
      PAINTERS[part]();
    } catch (err) {
      console.error(`painting ${part}`, err);
    }
  }
}

const PAINTERS: Record<Part, () => void> = {
  header: paintHeader,
  cards: paintCards,
  log: paintLog,
  products: paintProducts,
  tasks: paintTasks,
  drawer: paintDrawer,
  settings: paintSettings,
};

function status(process: ProcessKind): ProcessStatus | undefined {
  return ui.snapshot?.processes.find((p) => p.process === process);
}

// ---------------------------------------------------------------- notices and dialogs

function notice(text: string, kind: 'info' | 'error' = 'info', extra?: Node): void {
  const box = $('#notice');
  fill(box, h('span', {}, text), extra ?? null, h('button', { class: 'link', onclick: () => fill(box) }, '×'));
  box.dataset.kind = kind;
}

function showError(err: unknown): void {
  const body: DeskErrorBody =
    err instanceof DeskError ? err.body : { kind: 'io', message: err instanceof Error ? err.message : String(err) };
  if (body.kind === 'port_taken') return portPrompt(body);
  const details = body.last_lines?.length ? h('pre', { class: 'quote' }, body.last_lines.join('\n')) : null;
  notice(body.message, 'error', details ?? undefined);
}

function dialog(title: string, body: Node[], buttons: { label: string; primary?: boolean; onclick: () => void }[]): void {
  const layer = $('#dialog');
  const close = () => { fill(layer); layer.hidden = true; };
  fill(
    layer,
    h('div', { class: 'dialog', role: 'dialog', 'aria-modal': 'true' },
      h('h2', {}, title),
      ...body,
      h('div', { class: 'buttons' }, ...buttons.map((b) =>
        h('button', { class: b.primary ? 'primary' : '', onclick: () => { close(); b.onclick(); } }, b.label))),
    ),
  );
  layer.hidden = false;
}

/** The supervisor found a port taken: offer a free one, or the Redis already there. */
function portPrompt(body: DeskErrorBody): void {
  const buttons: { label: string; primary?: boolean; onclick: () => void }[] = [];
  if (body.can_use_external) {
    buttons.push({ label: t('port.external'), primary: true, onclick: () => void saveThenStart({ external: ['redis'] }) });
  }
  if (body.free_port) {
    const port = String(body.free_port);
    const values: Record<string, string> = body.process === 'redis' ? { REDIS_URL: redisUrlFor(port) } : { API_PORT: port };
    buttons.push({ label: t('port.use', { port }), primary: !body.can_use_external, onclick: () => void saveThenStart({ values }) });
  }
  buttons.push({ label: t('common.cancel'), onclick: () => {} });
  dialog(t('port.title'), [h('p', {}, body.message)], buttons);
}

async function saveThenStart(update: Parameters<Backend['saveSettings']>[0]): Promise<void> {
  try {
    const outcome = await ui.backend.saveSettings(update);
    ui.settings = outcome.settings;
    await startStack();
  } catch (err) {
    showError(err);
  }
}

// ---------------------------------------------------------------- the stack

async function refreshSnapshot(): Promise<void> {
  ui.snapshot = await ui.backend.snapshot();
  connectApi();
  render('header', 'cards', 'tasks', 'products');
}

async function startStack(): Promise<void> {
  ui.busy = 'starting';
  render('header');
  try {
    ui.snapshot = await ui.backend.stack('start');
  } catch (err) {
    showError(err);
    await refreshSnapshot().catch(() => {});
  } finally {
    ui.busy = null;
    connectApi();
    render('header', 'cards');
  }
}

async function stopStack(): Promise<void> {
  ui.busy = 'stopping';
  render('header');
  try {
    ui.snapshot = await ui.backend.stack('stop');
  } catch (err) {
    showError(err);
  } finally {
    ui.busy = null;
    render('header', 'cards');
  }
}

async function processAction(process: ProcessKind, action: 'start' | 'stop' | 'restart'): Promise<void> {
  try {
    ui.snapshot = await ui.backend.process(process, action);
  } catch (err) {
    showError(err);
  }
  render('cards', 'tasks');
}

function onDeskEvent(event: DeskEvent): void {
  switch (event.kind) {
    case 'state': {
      if (!ui.snapshot) return;
      const i = ui.snapshot.processes.findIndex((p) => p.process === event.status.process);
      if (i >= 0) ui.snapshot.processes[i] = event.status;
      if (event.status.process === 'api' && event.status.state === 'running') connectApi(true);
      render('cards', 'header', 'tasks');
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

function closePrompt(): void {
  if (!ui.snapshot?.running) return void ui.backend.closeAnswer('quit');
  dialog(t('close.title'), [h('p', {}, t('close.body'))], [
    { label: t('close.quit'), primary: true, onclick: () => void ui.backend.closeAnswer('quit') },
    { label: t('close.hide'), onclick: () => void ui.backend.closeAnswer('hide') },
    { label: t('common.cancel'), onclick: () => void ui.backend.closeAnswer('cancel') },
  ]);
}

async function reloadLogs(): Promise<void> {
  for (const process of PROCESSES) {
    try {
      ui.logs[process].replace(await ui.backend.logs(process, 2000));
    } catch {
      // Not started yet: nothing to show.
    }
  }
  render('log');
}

// ---------------------------------------------------------------- the API's live feed

/** Follows the API at the snapshot's URL: the task list, products, and `/events`. */
function connectApi(force = false): void {
  const base = ui.snapshot?.api_url;
  if (!base) return;
  if (ui.api?.base === base && !force) return;
  ui.stopLive?.();
  const api = new Api(base);
  ui.api = api;
  const load = async () => {
    try {
      const [page, products] = await Promise.all([api.tasks(ROWS), api.products(50)]);
      for (const task of page.tasks) ui.tasks.upsert(task);
      ui.products = products;
      render('tasks', 'products', 'drawer');
    } catch {
      // The API is not up (yet): the feed's reconnect will load again.
    }
  };
  ui.stopLive = api.live((name, data) => {
    if (name === 'task') ui.tasks.upsert(data as Task);
    else if (name === 'product') {
      const product = data as Product;
      ui.tasks.queued(product);
      if (!ui.products.some((p) => p.id === product.id)) ui.products.unshift(product);
      if (ui.products.length > 200) ui.products.length = 200;
    } else if (name === 'queue') ui.queue.sample((data as { queued: number }).queued);
    else if (name === 'lagged') void load();
    render('tasks', 'products', 'drawer');
  }, () => void load());
}

// ---------------------------------------------------------------- painting: header and cards

function paintHeader(): void {
  const running = ui.snapshot?.running ?? false;
  const button = $('#start-stop') as HTMLButtonElement;
  button.textContent = ui.busy ? t(ui.busy === 'starting' ? 'stack.starting' : 'stack.stopping') : t(running ? 'stack.stop' : 'stack.start');
  button.disabled = ui.busy !== null;
  button.dataset.running = String(running);
  $('#stack-state').textContent = t(running ? 'stack.running' : 'stack.stopped');
  const docs = $('#open-swagger') as HTMLAnchorElement;
  docs.hidden = status('api')?.state !== 'running' && status('api')?.state !== 'external';
}

/** One card per process, built once and updated in place (a button never vanishes under a click). */
const cardEls = new Map<ProcessKind, { root: HTMLElement; light: HTMLElement; state: HTMLElement; facts: HTMLElement; reason: HTMLElement; buttons: HTMLElement; actions: string }>();

function paintCards(): void {
  const root = $('#cards');
  for (const process of PROCESSES) {
    let card = cardEls.get(process);
    if (!card || !root.contains(card.root)) {
      const parts = {
        light: h('span', { class: 'light', 'aria-hidden': 'true' }),
        state: h('span', { class: 'state' }),
        facts: h('dl', {}),
        reason: h('p', { class: 'reason' }),
        buttons: h('div', { class: 'buttons' }),
      };
      const el = h('section', { class: 'card', 'data-process': process },
        h('header', {}, parts.light, h('h3', {}, t(`process.${process}` as Key)), parts.state),
        h('p', { class: 'what' }, t(`process.${process}.what` as Key)),
        parts.facts, parts.reason, parts.buttons);
      root.append(el);
      card = { root: el, ...parts, actions: '' };
      cardEls.set(process, card);
    }
    const s = status(process);
    const state = s?.state ?? 'stopped';
    card.root.dataset.state = state;
    card.light.className = `light ${light(state)}`;
    card.state.textContent = t(`state.${state}` as Key);
    const facts: [Key, string][] = [];
    if (s?.pid) facts.push(['card.pid', String(s.pid)]);
    if (s?.port) facts.push(['card.port', String(s.port)]);
    if (s?.uptime_secs !== null && s?.uptime_secs !== undefined) facts.push(['card.uptime', formatDuration(s.uptime_secs)]);
    if (s?.restarts) facts.push(['card.restarts', String(s.restarts)]);
    fill(card.facts, ...facts.flatMap(([k, v]) => [h('dt', {}, t(k)), h('dd', {}, v)]));
    card.reason.textContent = s?.reason ?? '';
    card.reason.hidden = !s?.reason;
    const actions = cardActions(state, ui.snapshot?.running ?? false);
    if (actions.join() !== card.actions) {
      card.actions = actions.join();
      fill(card.buttons,
        ...actions.map((action) => h('button', { 'data-action': action, onclick: () => void processAction(process, action) }, t(`action.${action}` as Key))),
        h('button', { class: 'link', 'data-action': 'log', onclick: () => { ui.logProcess = process; ui.logFollow = true; render('log'); $('#log').scrollIntoView({ block: 'nearest' }); } }, t('card.log')));
    }
  }
}

// ---------------------------------------------------------------- painting: the log pane

let paintedLog = { process: '' as string, version: -1, search: '' };

function paintLog(): void {
  const buffer = ui.logs[ui.logProcess];
  for (const b of document.querySelectorAll<HTMLButtonElement>('#log-tabs button')) {
    b.setAttribute('aria-selected', String(b.dataset.process === ui.logProcess));
  }
  const pane = $('#log-lines');
  if (paintedLog.process === ui.logProcess && paintedLog.version === buffer.version && paintedLog.search === ui.logSearch) return;
  const lines = buffer.matching(ui.logSearch);
  // Append only what is new when nothing else changed; otherwise redraw.
  const appendOnly = paintedLog.process === ui.logProcess && paintedLog.search === ui.logSearch && !ui.logSearch && pane.childElementCount <= lines.length;
  if (appendOnly) {
    const fresh = lines.slice(pane.childElementCount);
    append(pane, fresh.map((line) => h('div', {}, line)));
    while (pane.childElementCount > lines.length) pane.firstElementChild?.remove();
  } else {
    fill(pane, ...lines.map((line) => h('div', {}, line)));
  }
  paintedLog = { process: ui.logProcess, version: buffer.version, search: ui.logSearch };
  if (ui.logFollow) pane.scrollTop = pane.scrollHeight;
  $('#log-paused').hidden = ui.logFollow;
  ($('#log-follow') as HTMLInputElement).checked = ui.logFollow;
}

// ---------------------------------------------------------------- painting: products

function chip(state: string): HTMLElement {
  return h('span', { class: 'chip', 'data-state': state }, state);
}

function paintProducts(): void {
  const list = $('#product-list');
  $('#products-api-down').hidden = status('api')?.state === 'running' || status('api')?.state === 'external';
  fill(list, ...ui.products.map((product) => {
    const task = ui.tasks.ofProduct(product.id) ?? ui.tasks.get(product.task_id);
    return h('li', { 'data-product-id': product.id, 'data-task-id': product.task_id },
      h('span', { class: 'id' }, `#${product.id}`),
      h('span', { class: 'name' }, product.name),
      h('span', { class: 'price' }, product.price.toLocaleString(language())),
      h('span', { class: 'muted' }, t('products.task')),
      task ? chip(task.state) : chip('PENDING'),
      h('button', { class: 'link', onclick: () => openTask(product.task_id) }, '→'),
    );
  }));
}

async function submitProduct(form: HTMLFormElement): Promise<void> {
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  form.querySelector('.form-error')!.textContent = '';
  if (!ui.api) return void notice(t('products.api_down'), 'error');
  const data = new FormData(form);
  const description = String(data.get('description') ?? '');
  const body: { name: string; price: number | string; description?: string } = {
    name: String(data.get('name') ?? ''),
    // Sent as typed when it is not a number, so the API's own 422 explains it.
    price: Number.isFinite(Number(data.get('price'))) && String(data.get('price')).trim() !== '' ? Number(data.get('price')) : String(data.get('price') ?? ''),
  };
  if (description) body.description = description;
  try {
    const product = await ui.api.createProduct(body);
    ui.tasks.queued(product);
    if (!ui.products.some((p) => p.id === product.id)) ui.products.unshift(product);
    form.reset();
    form.querySelector('.form-ok')!.textContent = t('products.created', { id: product.id });
    render('products', 'tasks');
  } catch (err) {
    form.querySelector('.form-ok')!.textContent = '';
    if (err instanceof ApiError) {
      const errors = fieldErrors(err.detail);
      for (const [field, message] of Object.entries(errors)) {
        const slot = form.querySelector(`.field-error[data-field="${field}"]`) ?? form.querySelector('.form-error');
        if (slot) slot.textContent = message;
      }
    } else showError(err);
  }
}

// ---------------------------------------------------------------- painting: task history

function paintTasks(): void {
  const counts = ui.tasks.counts();
  fill($('#task-filters'),
    h('button', { 'data-state': '', 'aria-pressed': String(ui.taskFilter === null), onclick: () => { ui.taskFilter = null; render('tasks'); } },
      `${t('tasks.filter.all')} ${ui.tasks.size}`),
    ...TASK_STATES.map((state) => h('button', {
      class: 'chip', 'data-state': state, 'aria-pressed': String(ui.taskFilter === state),
      onclick: () => { ui.taskFilter = ui.taskFilter === state ? null : state; render('tasks'); },
    }, `${state} `, h('b', { class: 'count' }, counts[state] ?? 0))),
  );
  const failed = ui.tasks.failed();
  const retryAll = $('#retry-all') as HTMLButtonElement;
  retryAll.textContent = t('tasks.retry_all', { n: failed.length });
  retryAll.disabled = failed.length === 0;

  const warning = ui.queue.warning(status('worker')?.state);
  const banner = $('#no-worker');
  banner.hidden = !warning || !ui.snapshot?.running;
  if (warning) {
    fill(banner, t(warning.growing ? 'tasks.no_worker_growing' : 'tasks.no_worker', { n: warning.queued }), ' ',
      h('button', { onclick: () => void processAction('worker', 'start') }, t('tasks.start_worker')));
  }

  const rows = ui.tasks.list(ui.taskFilter, ui.taskSearch, ROWS);
  $('#tasks-empty').hidden = ui.tasks.size > 0;
  const seen = new Set<string>();
  const trs = rows.map((task) => {
    seen.add(task.task_id);
    let row = rowEls.get(task.task_id);
    const key = rowKey(task);
    if (!row || row.key !== key) {
      const el = row?.el ?? h('tr', { 'data-task-id': task.task_id, onclick: () => openTask(task.task_id) });
      const product = Array.isArray(task.args) ? (task.args[0] as { name?: string } | undefined) : undefined;
      el.dataset.state = task.state;
      fill(el,
        h('td', { class: 'state' }, chip(task.state)),
        h('td', { class: 'name', title: task.task_id }, shortName(task.name), h('div', { class: 'muted mono' }, task.task_id.slice(0, 8))),
        h('td', {}, product?.name ?? (task.product_id ? `#${task.product_id}` : '—')),
        h('td', { class: 'num' }, task.retries),
        h('td', { class: 'num' }, formatDuration(task.runtime)),
        h('td', { class: 'muted' }, task.worker ?? '—'),
        h('td', { class: 'muted' }, clock(task.sent_at)));
      row = { el, key };
      rowEls.set(task.task_id, row);
    }
    row.el.classList.toggle('selected', task.task_id === ui.selectedTask);
    return row.el;
  });
  for (const id of rowEls.keys()) if (!seen.has(id)) rowEls.delete(id);
  const body = $('#task-rows');
  // Moving existing rows keeps them the same elements: a row under the pointer stays clickable.
  if (trs.length !== body.childElementCount || trs.some((tr, i) => body.children[i] !== tr)) body.replaceChildren(...trs);
}

const rowEls = new Map<string, { el: HTMLElement; key: string }>();

function rowKey(task: Task): string {
  return `${task.state}|${task.retries}|${task.runtime}|${task.worker}|${task.sent_at}|${language()}`;
}

function shortName(name: string | null): string {
  return name ? (name.split('.').pop() ?? name) : '—';
}

function clock(iso: string | null): string {
  if (!iso) return '—';
  const date = new Date(iso.endsWith('Z') || /[+-]\d\d:\d\d$/.test(iso) ? iso : `${iso}Z`);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString(language());
}

function openTask(id: string): void {
  ui.selectedTask = id;
  void ui.api?.task(id).then((task) => { ui.tasks.upsert(task); render('drawer', 'tasks'); }).catch(() => {});
  render('drawer', 'tasks');
}

function paintDrawer(): void {
  const drawer = $('#drawer');
  const task = ui.selectedTask ? ui.tasks.get(ui.selectedTask) : undefined;
  drawer.hidden = !task;
  if (!task) return;
  const json = (value: unknown) => h('pre', { class: 'json' }, JSON.stringify(value, null, 2));
  const canRevoke = ['PENDING', 'RECEIVED', 'STARTED', 'RETRY'].includes(task.state);
  fill(drawer,
    h('header', {},
      chip(task.state),
      h('h2', {}, shortName(task.name)),
      h('button', { class: 'link', 'aria-label': t('common.close'), onclick: () => { ui.selectedTask = null; render('drawer', 'tasks'); } }, '×'),
    ),
    h('p', { class: 'mono muted' }, task.task_id),
    task.retry_of ? h('p', {}, `${t('drawer.retry_of')} `, h('button', { class: 'link mono', onclick: () => openTask(task.retry_of!) }, task.retry_of.slice(0, 8))) : null,
    task.retried_as ? h('p', {}, `${t('drawer.retried_as')} `, h('button', { class: 'link mono', onclick: () => openTask(task.retried_as!) }, task.retried_as.slice(0, 8))) : null,
    h('div', { class: 'buttons' },
      task.state === 'FAILURE' && !task.retried_as ? h('button', { class: 'primary', 'data-action': 'retry', onclick: () => void retryTask(task.task_id) }, t('drawer.retry')) : null,
      canRevoke ? h('button', { 'data-action': 'revoke', onclick: () => void ui.api?.revoke(task.task_id).catch(showError) }, t('drawer.revoke')) : null,
    ),
    h('h3', {}, t('drawer.timeline')),
    h('ol', { class: 'timeline' }, ...timelineWithDurations(task.timeline).map((step) =>
      h('li', {}, chip(step.state), ' ', clock(step.at),
        step.after !== null ? h('span', { class: 'muted' }, ` (${t('drawer.after')} ${formatDuration(step.after)})`) : null,
        step.worker ? h('span', { class: 'muted' }, ` · ${step.worker}`) : null))),
    h('h3', {}, t('drawer.args')), json(task.args),
    task.error ? h('section', { class: 'error' }, h('h3', {}, t('drawer.error')), h('p', {}, `${task.error.type}: ${task.error.message}`),
      task.error.traceback ? h('pre', { class: 'quote' }, task.error.traceback) : null) : null,
  );
  if (task.result !== null) {
    // The result goes right after the arguments.
    const args = drawer.querySelectorAll('pre.json')[0];
    args?.after(h('h3', {}, t('drawer.result')), json(task.result));
  }
}

async function retryTask(id: string): Promise<void> {
  try {
    const answer = await ui.api!.retry(id);
    const original = ui.tasks.get(id);
    if (original) ui.tasks.upsert({ ...original, retried_as: answer.task_id });
    openTask(answer.task_id);
  } catch (err) {
    showError(err);
  }
}

async function retryAllFailed(): Promise<void> {
  for (const task of ui.tasks.failed()) {
    try {
      const answer = await ui.api!.retry(task.task_id);
      ui.tasks.upsert({ ...task, retried_as: answer.task_id });
    } catch (err) {
      showError(err);
      break;
    }
  }
  render('tasks');
}

// ---------------------------------------------------------------- settings

const FIELDS: { key: string; label: Key; group: Key; type?: string }[] = [
  { key: 'REDIS_PORT', label: 'settings.redis_port', group: 'settings.ports', type: 'number' },
  { key: 'API_PORT', label: 'settings.api_port', group: 'settings.ports', type: 'number' },
  { key: 'WORKER_CONCURRENCY', label: 'settings.concurrency', group: 'settings.worker', type: 'number' },
  { key: 'NOTIFY_SIMULATED_SECS', label: 'settings.simulated', group: 'settings.worker' },
  { key: 'NOTIFY_FAIL_FIRST_ATTEMPTS', label: 'settings.fail_first', group: 'settings.worker', type: 'number' },
  { key: 'TASK_MAX_RETRIES', label: 'settings.max_retries', group: 'settings.worker', type: 'number' },
  { key: 'TASK_RETRY_COUNTDOWN_SECS', label: 'settings.countdown', group: 'settings.worker', type: 'number' },
  { key: 'TELEGRAM_BOT_TOKEN', label: 'settings.token', group: 'settings.telegram', type: 'password' },
  { key: 'TELEGRAM_CHAT_ID', label: 'settings.chat', group: 'settings.telegram' },
];

function applySettings(settings: SettingsView): void {
  const languageChanged = settings.language !== language();
  ui.settings = settings;
  setLanguage(settings.language);
  applyTheme(settings.theme);
  if (languageChanged) buildShell();
  render('settings');
}

function applyTheme(theme: Theme): void {
  const dark = theme === 'dark' || (theme === 'system' && matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
}

function paintSettings(): void {
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

async function saveSettingsForm(form: HTMLFormElement): Promise<void> {
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  const status = $('#settings-status');
  fill(status);
  const values: Record<string, string> = {};
  const s = ui.settings;
  for (const field of FIELDS) {
    const input = form.elements.namedItem(field.key) as HTMLInputElement;
    const value = input.value.trim();
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
      fill(statusNow, t('settings.restart', { list: outcome.restart.map((p) => t(`process.${p}` as Key)).join(', ') }), ' ',
        h('button', { class: 'primary', id: 'restart-now', onclick: () => void restartStack() }, t('settings.restart_now')));
    } else fill(statusNow, t('settings.saved'));
    void refreshSnapshot();
  } catch (err) {
    if (err instanceof DeskError && err.body.problems) {
      for (const problem of err.body.problems) {
        const key = problem.key === 'REDIS_URL' ? 'REDIS_PORT' : problem.key;
        const slot = form.querySelector(`.field-error[data-field="${key}"]`);
        if (slot) slot.textContent = problem.message;
        else notice(`${problem.key}: ${problem.message}`, 'error');
      }
    } else showError(err);
  }
}

async function clearToken(): Promise<void> {
  try {
    applySettings((await ui.backend.saveSettings({ values: { TELEGRAM_BOT_TOKEN: '', TELEGRAM_CHAT_ID: '' } })).settings);
  } catch (err) {
    showError(err);
  }
}

async function restartStack(): Promise<void> {
  ui.busy = 'starting';
  render('header');
  try {
    ui.snapshot = await ui.backend.stack('restart');
    fill($('#settings-status'), t('settings.saved'));
  } catch (err) {
    showError(err);
  } finally {
    ui.busy = null;
    connectApi();
    render('header', 'cards');
  }
}

async function testTelegram(form: HTMLFormElement): Promise<void> {
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

// ---------------------------------------------------------------- the page's frame

function field(key: string, label: Key, type = 'text', extra: Record<string, unknown> = {}): HTMLElement {
  return h('label', { class: 'field' },
    h('span', {}, t(label)),
    h('input', { name: key, type, autocomplete: 'off', spellcheck: 'false', ...extra }),
    h('span', { class: 'field-error', 'data-field': key, role: 'alert' }),
  );
}

function buildShell(): void {
  const root = $('#app');
  const tabs: Tab[] = ['dashboard', 'products', 'tasks', 'settings'];
  const groups = [...new Set(FIELDS.map((f) => f.group))];
  fill(root,
    h('header', { class: 'top' },
      h('div', { class: 'brand' }, h('img', { src: 'favicon.png', alt: '' }), h('div', {}, h('h1', {}, 'Stackdesk'), h('p', { class: 'muted' }, t('app.subtitle')))),
      h('nav', { role: 'tablist' }, ...tabs.map((tab) =>
        h('button', { role: 'tab', 'data-tab': tab, 'aria-selected': String(ui.tab === tab), onclick: () => showTab(tab) }, t(`tab.${tab}` as Key)))),
      h('div', { class: 'stack' },
        h('span', { id: 'stack-state', class: 'muted' }),
        h('button', { id: 'start-stop', class: 'big', onclick: () => void (ui.snapshot?.running ? stopStack() : startStack()) }, t('stack.start')),
      ),
    ),
    h('div', { id: 'notice', role: 'status' }),
    h('main', {},
      h('section', { id: 'view-dashboard', class: 'view' },
        h('div', { id: 'cards', class: 'cards' }),
        h('div', { class: 'links' },
          h('a', { id: 'open-swagger', class: 'button', href: '#', onclick: (e: Event) => { e.preventDefault(); void openTarget('swagger'); } }, t('open.swagger')),
          h('button', { id: 'open-data', onclick: () => void openTarget('data-dir') }, t('open.data')),
          ui.backend.mode === 'app' ? h('button', { id: 'open-browser', onclick: () => void openInBrowser() }, t('open.browser')) : null,
        ),
        h('section', { id: 'log', class: 'log' },
          h('header', {},
            h('h2', {}, t('log.title')),
            h('div', { id: 'log-tabs', role: 'tablist' }, ...PROCESSES.map((p) =>
              h('button', { role: 'tab', 'data-process': p, onclick: () => { ui.logProcess = p; ui.logFollow = true; render('log'); } }, t(`process.${p}` as Key)))),
            h('input', { id: 'log-search', type: 'search', placeholder: t('log.search'), value: ui.logSearch, oninput: (e: Event) => { ui.logSearch = (e.target as HTMLInputElement).value; render('log'); } }),
            h('label', {}, h('input', { id: 'log-follow', type: 'checkbox', checked: ui.logFollow, onchange: (e: Event) => { ui.logFollow = (e.target as HTMLInputElement).checked; render('log'); } }), ' ', t('log.follow')),
            h('button', { id: 'log-copy', onclick: (e: Event) => void copyLog(e.target as HTMLButtonElement) }, t('log.copy')),
          ),
          h('div', { id: 'log-lines', class: 'lines mono', tabindex: '0', onscroll: onLogScroll }),
          h('p', { id: 'log-paused', class: 'muted', hidden: true }, t('log.paused')),
        ),
      ),
      h('section', { id: 'view-products', class: 'view' },
        h('form', { id: 'product-form', novalidate: true, onsubmit: (e: Event) => { e.preventDefault(); void submitProduct(e.target as HTMLFormElement); } },
          h('h2', {}, t('products.new')),
          field('name', 'products.name', 'text', { maxlength: '200' }),
          field('price', 'products.price', 'text', { inputmode: 'decimal' }),
          field('description', 'products.description'),
          h('p', { class: 'form-error', role: 'alert' }),
          h('button', { id: 'product-submit', class: 'primary', type: 'submit' }, t('products.create')),
          h('p', { class: 'form-ok', role: 'status' }),
        ),
        h('section', {},
          h('h2', {}, t('products.list')),
          h('p', { id: 'products-api-down', class: 'muted' }, t('products.api_down')),
          h('ul', { id: 'product-list', class: 'products' }),
        ),
      ),
      h('section', { id: 'view-tasks', class: 'view' },
        h('div', { id: 'no-worker', class: 'warning', role: 'alert', hidden: true }),
        h('div', { class: 'toolbar' },
          h('div', { id: 'task-filters', class: 'filters' }),
          h('input', { id: 'task-search', type: 'search', placeholder: t('tasks.search'), value: ui.taskSearch, oninput: (e: Event) => { ui.taskSearch = (e.target as HTMLInputElement).value; render('tasks'); } }),
          h('button', { id: 'retry-all', onclick: () => void retryAllFailed() }, ''),
          h('button', { id: 'purge', onclick: () => { if (confirm(t('tasks.purge_confirm'))) void ui.api?.purge().catch(showError); } }, t('tasks.purge')),
        ),
        h('div', { class: 'table' },
          h('table', { id: 'task-table' },
            h('thead', {}, h('tr', {}, ...(['state', 'name', 'product', 'retries', 'runtime', 'worker', 'sent'] as const).map((c) => h('th', {}, t(`tasks.col.${c}` as Key))))),
            h('tbody', { id: 'task-rows' }),
          ),
          h('p', { id: 'tasks-empty', class: 'muted' }, t('tasks.empty')),
        ),
        h('aside', { id: 'drawer', class: 'drawer', hidden: true }),
      ),
      h('section', { id: 'view-settings', class: 'view' },
        h('form', { id: 'settings-form', novalidate: true, onsubmit: (e: Event) => { e.preventDefault(); void saveSettingsForm(e.target as HTMLFormElement); } },
          ...groups.map((group) => h('fieldset', {}, h('legend', {}, t(group)),
            ...FIELDS.filter((f) => f.group === group).map((f) => field(f.key, f.label, f.type === 'password' ? 'password' : 'text')),
            group === 'settings.telegram' ? h('div', { class: 'buttons' },
              h('button', { type: 'button', id: 'telegram-test', onclick: (e: Event) => void testTelegram((e.target as HTMLElement).closest('form')!) }, t('settings.test')),
              h('button', { type: 'button', class: 'link', onclick: () => void clearToken() }, t('settings.token_clear')),
              h('p', { id: 'telegram-result', role: 'status' })) : null)),
          h('fieldset', {}, h('legend', {}, t('settings.appearance')),
            h('label', { class: 'field' }, h('span', {}, t('settings.language')),
              h('select', { name: 'language' }, h('option', { value: 'ru' }, 'Русский'), h('option', { value: 'en' }, 'English'))),
            h('label', { class: 'field' }, h('span', {}, t('settings.theme')),
              h('select', { name: 'theme' }, ...(['system', 'light', 'dark'] as const).map((th) => h('option', { value: th }, t(`settings.theme.${th}` as Key))))),
          ),
          h('div', { class: 'buttons' }, h('button', { id: 'settings-save', class: 'primary', type: 'submit' }, t('common.save'))),
          h('p', { id: 'settings-status', role: 'status' }),
          h('p', { id: 'settings-path', class: 'muted' }),
        ),
      ),
    ),
    h('div', { id: 'dialog', class: 'layer', hidden: true }),
  );
  showTab(ui.tab);
  cardEls.clear();
  rowEls.clear();
  paintedLog = { process: '', version: -1, search: '' };
  render('header', 'cards', 'log', 'products', 'tasks', 'drawer', 'settings');
}

function showTab(tab: Tab): void {
  ui.tab = tab;
  for (const b of document.querySelectorAll<HTMLButtonElement>('nav button[data-tab]')) b.setAttribute('aria-selected', String(b.dataset.tab === tab));
  for (const view of document.querySelectorAll<HTMLElement>('.view')) view.hidden = view.id !== `view-${tab}`;
}

function onLogScroll(e: Event): void {
  const pane = e.target as HTMLElement;
  const atBottom = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 24;
  if (atBottom !== ui.logFollow) {
    ui.logFollow = atBottom;
    $('#log-paused').hidden = atBottom;
    ($('#log-follow') as HTMLInputElement).checked = atBottom;
  }
}

async function copyLog(button: HTMLButtonElement): Promise<void> {
  await copyText(ui.logs[ui.logProcess].matching(ui.logSearch).join('\n'));
  button.textContent = t('log.copied');
  setTimeout(() => (button.textContent = t('log.copy')), 1500);
}

async function openTarget(target: 'swagger' | 'data-dir'): Promise<void> {
  if (target === 'swagger' && ui.backend.mode === 'browser' && ui.snapshot) {
    window.open(ui.snapshot.docs_url, '_blank', 'noopener');
    return;
  }
  try {
    await ui.backend.open(target);
  } catch (err) {
    showError(err);
  }
}

async function openInBrowser(): Promise<void> {
  const url = await ui.backend.browserUrl();
  if (!url) return;
  try {
    await ui.backend.open('browser');
  } catch {
    notice(url);
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
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => ui.settings && applyTheme(ui.settings.theme));
  buildShell();
  $('#app').removeAttribute('aria-busy');
  connectApi();
  await reloadLogs();
  // Uptimes tick.
  setInterval(() => {
    if (ui.snapshot?.running) {
      for (const p of ui.snapshot.processes) if (p.uptime_secs !== null) p.uptime_secs += 1;
      render('cards');
    }
  }, 1000);
}

boot().catch((err) => {
  fill($('#app'), h('p', { class: 'notice', 'data-kind': 'error' }, `${t('error.title')}: ${err instanceof Error ? err.message : String(err)}`));
});
