// The stack's controls (Start, Stop, restart, one process), the port-conflict and close prompts,
// the processes' logs, and following the stack's services: the API's products, the monitor's task
// history and live feed.

import type { Context } from './context';
import { pulsesFor } from './diagrams/live';
import { h } from './dom';
import { t } from './i18n';
import { Api, type Backend, type DeskErrorBody, Monitor, PROCESSES, type ProcessKind } from './ipc';
import { portTakenText } from './reason';
import { ROWS } from './store';

/** What the stack's controls tell the page beyond the store. */
export interface StackEvents {
  /** A restart of the stack asked for after saving settings went through. */
  restarted(): void;
}

export class StackControl {
  /** Closes the API's live feed that is followed now. */
  private stopLive: (() => void) | null = null;

  constructor(
    private readonly ctx: Context,
    private readonly events: StackEvents,
  ) {}

  /** The supervisor found a port taken: offer a free one, or the Redis already there. */
  portPrompt(body: DeskErrorBody): void {
    const buttons: { label: string; primary?: boolean; onclick: () => void }[] = [];
    if (body.can_use_external) {
      buttons.push({
        label: t('port.external'),
        primary: true,
        onclick: () => void this.saveThenStart({ external: ['redis'] }),
      });
    }
    if (body.fix && body.free_port) {
      const port = String(body.free_port);
      const values: Record<string, string> = { [body.fix.key]: body.fix.value };
      buttons.push({
        label: t('port.use', { port }),
        primary: !body.can_use_external,
        onclick: () => void this.saveThenStart({ values }),
      });
    }
    buttons.push({ label: t('common.cancel'), onclick: () => {} });
    this.ctx.dialog(t('port.title'), [h('p', {}, portTakenText(body))], buttons);
  }

  async saveThenStart(update: Parameters<Backend['saveSettings']>[0]): Promise<void> {
    try {
      const outcome = await this.ctx.backend.saveSettings(update);
      this.ctx.store.update({ settings: outcome.settings });
      await this.start();
    } catch (err) {
      this.ctx.showError(err);
    }
  }

  // ---------------------------------------------------------------- the stack

  async refreshSnapshot(): Promise<void> {
    const { backend, store } = this.ctx;
    store.update({ snapshot: await backend.snapshot() });
    this.follow();
    store.render('header', 'cards', 'tasks', 'products');
  }

  async start(): Promise<void> {
    const { backend, store } = this.ctx;
    store.update({ busy: 'starting' }, 'header');
    try {
      store.update({ snapshot: await backend.stack('start') });
    } catch (err) {
      this.ctx.showError(err);
      await this.refreshSnapshot().catch(() => {});
    } finally {
      store.update({ busy: null });
      this.follow();
      store.render('header', 'cards');
    }
  }

  async stop(): Promise<void> {
    const { backend, store } = this.ctx;
    store.update({ busy: 'stopping' }, 'header');
    try {
      store.update({ snapshot: await backend.stack('stop') });
    } catch (err) {
      this.ctx.showError(err);
    } finally {
      store.update({ busy: null }, 'header', 'cards');
    }
  }

  /** Restarts the whole stack (after saving settings that need it). */
  async restart(): Promise<void> {
    const { backend, store } = this.ctx;
    store.update({ busy: 'starting' }, 'header');
    try {
      store.update({ snapshot: await backend.stack('restart') });
      this.events.restarted();
    } catch (err) {
      this.ctx.showError(err);
    } finally {
      store.update({ busy: null });
      this.follow();
      store.render('header', 'cards');
    }
  }

  async processAction(process: ProcessKind, action: 'start' | 'stop' | 'restart'): Promise<void> {
    try {
      this.ctx.store.update({ snapshot: await this.ctx.backend.process(process, action) });
    } catch (err) {
      this.ctx.showError(err);
    }
    this.ctx.store.render('cards', 'tasks');
  }

  /** The window is being closed (the app only): ask, while the stack runs. */
  closePrompt(): void {
    const { backend, store } = this.ctx;
    if (!store.state.snapshot?.running) return void backend.closeAnswer('quit');
    this.ctx.dialog(
      t('close.title'),
      [h('p', {}, t('close.body'))],
      [
        { label: t('close.quit'), primary: true, onclick: () => void backend.closeAnswer('quit') },
        { label: t('close.hide'), onclick: () => void backend.closeAnswer('hide') },
        { label: t('common.cancel'), onclick: () => void backend.closeAnswer('cancel') },
      ],
    );
  }

  async reloadLogs(): Promise<void> {
    const { backend, store } = this.ctx;
    for (const process of PROCESSES) {
      try {
        store.logs[process].replace(await backend.logs(process, 2000));
      } catch {
        // Not started yet: nothing to show.
      }
    }
    store.render('log');
  }

  // ---------------------------------------------------------------- the stack's services

  /** Follows the stack's services at the snapshot's URLs: the API's products, the monitor's task
   * history and its live feed (`force`: again, though the URLs did not change). */
  follow(force = false): void {
    const { store } = this.ctx;
    const [apiBase, monitorBase] = [store.state.snapshot?.api_url, store.state.snapshot?.monitor_url];
    if (!apiBase || !monitorBase) return;
    if (store.state.api?.base === apiBase && store.state.monitor?.base === monitorBase && !force) return;
    this.stopLive?.();
    const [api, monitor] = [new Api(apiBase), new Monitor(monitorBase)];
    store.update({ api, monitor });
    // Each on its own: the history does not depend on the API (it may be down, or not ours).
    const load = async () => {
      const [page, products] = await Promise.allSettled([monitor.tasks(ROWS), api.products(50)]);
      if (page.status === 'fulfilled') for (const task of page.value.tasks) store.tasks.upsert(task);
      if (products.status === 'fulfilled') store.update({ products: products.value });
      // What is not up (yet) is loaded again when the feed reconnects.
      store.render('tasks', 'products', 'drawer');
    };
    // Edges flash only while the architecture is on screen (a flash seen later would be stale).
    const pulse = (edges: string[]) => {
      if (store.state.tab === 'diagrams' && store.state.diagram === 'architecture') {
        for (const edge of edges) store.pulses.add(edge);
      }
    };
    this.stopLive = monitor.live(
      (event) => {
        switch (event.kind) {
          case 'task':
            store.tasks.upsert(event.data);
            pulse(pulsesFor('task', event.data));
            break;
          case 'product':
            pulse(pulsesFor('product'));
            store.addProduct(event.data, 200);
            break;
          case 'queue':
            store.queue.sample(event.data.queued);
            break;
          case 'lagged':
            void load();
            break;
          case 'worker':
            break;
        }
        store.render('tasks', 'products', 'drawer', 'diagrams');
      },
      () => void load(),
    );
  }
}
