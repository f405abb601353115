// The stack's buttons (Start, Stop, one process, restart), the port-conflict and close prompts,
// and following the API: its task list, products and live feed.

import { dialog, hooks, render, ROWS, showError, ui } from './app';
import { $, fill, h } from './dom';
import { t } from './i18n';
import { pulsesFor } from './diagrams/live';
import { Api, type Backend, type DeskErrorBody, PROCESSES, type ProcessKind, type Product, type Task } from './ipc';
import { redisUrlFor } from './state';

/** The supervisor found a port taken: offer a free one, or the Redis already there. */
export function portPrompt(body: DeskErrorBody): void {
  const buttons: { label: string; primary?: boolean; onclick: () => void }[] = [];
  if (body.can_use_external) {
    buttons.push({
      label: t('port.external'),
      primary: true,
      onclick: () => void saveThenStart({ external: ['redis'] }),
    });
  }
  if (body.free_port) {
    const port = String(body.free_port);
    const values: Record<string, string> =
      body.process === 'redis' ? { REDIS_URL: redisUrlFor(port) } : { API_PORT: port };
    buttons.push({
      label: t('port.use', { port }),
      primary: !body.can_use_external,
      onclick: () => void saveThenStart({ values }),
    });
  }
  buttons.push({ label: t('common.cancel'), onclick: () => {} });
  dialog(t('port.title'), [h('p', {}, body.message)], buttons);
}

export async function saveThenStart(update: Parameters<Backend['saveSettings']>[0]): Promise<void> {
  try {
    const outcome = await ui.backend.saveSettings(update);
    ui.settings = outcome.settings;
    await startStack();
  } catch (err) {
    showError(err);
  }
}

// ---------------------------------------------------------------- the stack

export async function refreshSnapshot(): Promise<void> {
  ui.snapshot = await ui.backend.snapshot();
  connectApi();
  render('header', 'cards', 'tasks', 'products');
}

export async function startStack(): Promise<void> {
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

export async function stopStack(): Promise<void> {
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

export async function processAction(process: ProcessKind, action: 'start' | 'stop' | 'restart'): Promise<void> {
  try {
    ui.snapshot = await ui.backend.process(process, action);
  } catch (err) {
    showError(err);
  }
  render('cards', 'tasks');
}

export function closePrompt(): void {
  if (!ui.snapshot?.running) return void ui.backend.closeAnswer('quit');
  dialog(
    t('close.title'),
    [h('p', {}, t('close.body'))],
    [
      { label: t('close.quit'), primary: true, onclick: () => void ui.backend.closeAnswer('quit') },
      { label: t('close.hide'), onclick: () => void ui.backend.closeAnswer('hide') },
      { label: t('common.cancel'), onclick: () => void ui.backend.closeAnswer('cancel') },
    ],
  );
}

export async function reloadLogs(): Promise<void> {
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
export function connectApi(force = false): void {
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
  // Edges flash only while the architecture is on screen (a flash seen later would be stale).
  const pulse = (edges: string[]) => {
    if (ui.tab === 'diagrams' && ui.diagram === 'architecture') for (const edge of edges) ui.pulses.add(edge);
  };
  ui.stopLive = api.live(
    (name, data) => {
      if (name === 'task') {
        ui.tasks.upsert(data as Task);
        pulse(pulsesFor('task', data as Task));
      } else if (name === 'product') {
        const product = data as Product;
        pulse(pulsesFor('product'));
        ui.tasks.queued(product);
        if (!ui.products.some((p) => p.id === product.id)) ui.products.unshift(product);
        if (ui.products.length > 200) ui.products.length = 200;
      } else if (name === 'queue') ui.queue.sample((data as { queued: number }).queued);
      else if (name === 'lagged') void load();
      render('tasks', 'products', 'drawer', 'diagrams');
    },
    () => void load(),
  );
}

export async function restartStack(): Promise<void> {
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

hooks.portPrompt = portPrompt;
