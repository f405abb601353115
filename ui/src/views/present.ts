// Presenting the diagrams: full screen, a projector look (large type, high contrast), a
// read-only mode that hides what could stop or delete things, the demo bar (send products,
// failure injection, kill the worker, stop Redis, concurrency), and the measured
// with/without-a-worker comparison. The Diagrams view places these bars and panels in its figure
// and paints them with itself.

import type { Context } from '../context';
import type { Look } from '../diagrams/render';
import { fill, h } from '../dom';
import { formatDuration, formatMs, formatTimes, NOUNS, plural } from '../format';
import { type Key, language, t } from '../i18n';
import { ApiError, type ProcessKind, type Product, type SettingsUpdate, type SyncOutcome, type Timed } from '../ipc';

const root = () => document.documentElement;

function stored<T extends string>(key: string, fallback: T): T {
  try {
    return (localStorage.getItem(key) as T | null) ?? fallback;
  } catch {
    return fallback;
  }
}

function keep(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Private mode: the choice lasts for this page only.
  }
}

/** Applies the saved projector look, read-only and demo choices to the page (once, at start-up). */
export function restorePresentation(): void {
  root().dataset.look = stored<Look>('stackdesk-look', 'normal');
  root().dataset.readonly = stored('stackdesk-readonly', 'false');
  root().dataset.demo = stored('stackdesk-demo', 'false');
}

/** A with/without-a-worker measurement in progress or done. */
export interface Measurement {
  began: number;
  withWorker: Timed<Product> | null;
  withoutWorker: Timed<SyncOutcome> | null;
  error: string | null;
}

/** How long the demo bar's status line stays: it is about what was just done. */
const SAID_MS = 10_000;

export class Presentation {
  /** The comparison shown under the with/without diagram, once one ran. */
  private measurement: Measurement | null = null;
  /** Clears the demo bar's status line. */
  private sayTimer = 0;

  constructor(private readonly ctx: Context) {}

  /** Enters or leaves presentation mode: full screen, only the diagram and its bars. */
  async present(on: boolean): Promise<void> {
    this.ctx.store.update({ presenting: on });
    root().classList.toggle('presenting', on);
    try {
      await this.ctx.backend.setFullscreen(on);
    } catch {
      // Full screen refused (a browser without a user gesture): the page still fills the window.
    }
    this.ctx.store.render('diagrams');
  }

  /** A browser left full screen (Esc, F11): so does the presentation. */
  onFullscreenChange(): void {
    if (!document.fullscreenElement && this.ctx.store.state.presenting && this.ctx.backend.mode === 'browser') {
      void this.present(false);
    }
  }

  // ---------------------------------------------------------------- the bars

  /** The bar above the diagram: present, look, read-only, export (`exportAs` saves the shown
   * diagram). */
  bar(exportAs: (format: 'svg' | 'png') => void): HTMLElement {
    return h(
      'div',
      { class: 'present-bar' },
      h(
        'button',
        { id: 'present', onclick: () => void this.present(!this.ctx.store.state.presenting) },
        t('diagram.present'),
      ),
      h(
        'label',
        {},
        `${t('diagram.look')} `,
        h(
          'select',
          {
            id: 'look',
            onchange: (e: Event) => {
              const look = (e.target as HTMLSelectElement).value;
              root().dataset.look = look;
              keep('stackdesk-look', look);
            },
          },
          ...(['normal', 'large', 'contrast'] as const).map((look) =>
            h('option', { value: look, selected: root().dataset.look === look }, t(`diagram.look.${look}` as Key)),
          ),
        ),
      ),
      h(
        'label',
        {},
        h('input', {
          id: 'readonly',
          type: 'checkbox',
          checked: root().dataset.readonly === 'true',
          onchange: (e: Event) => {
            const on = String((e.target as HTMLInputElement).checked);
            root().dataset.readonly = on;
            keep('stackdesk-readonly', on);
          },
        }),
        ` ${t('diagram.readonly')}`,
      ),
      h(
        'label',
        { class: 'demo-allowed' },
        h('input', {
          id: 'demo-allowed',
          type: 'checkbox',
          checked: root().dataset.demo === 'true',
          onchange: (e: Event) => {
            const on = String((e.target as HTMLInputElement).checked);
            root().dataset.demo = on;
            keep('stackdesk-demo', on);
          },
        }),
        ` ${t('diagram.demo_allowed')}`,
      ),
      h('button', { id: 'export-svg', onclick: () => exportAs('svg') }, t('diagram.export_svg')),
      h('button', { id: 'export-png', onclick: () => exportAs('png') }, t('diagram.export_png')),
    );
  }

  /** Keeps the bars in step with the state (labels that depend on it). */
  paint(): void {
    const { store } = this.ctx;
    const { settings, snapshot, presenting } = store.state;
    const button = document.querySelector<HTMLButtonElement>('#present');
    if (button) button.textContent = t(presenting ? 'diagram.present_end' : 'diagram.present');
    const redis = document.querySelector<HTMLButtonElement>('#demo-redis');
    if (redis) {
      const up = store.status('redis')?.state === 'running';
      redis.textContent = t(up ? 'demo.redis_stop' : 'demo.redis_start');
      redis.dataset.destructive = String(up);
    }
    // Failure injection is on for this run (the switch), or set by the environment the app was
    // started with: then the switch shows it on and says where it is set. Visibly on while on.
    const fail = document.querySelector<HTMLInputElement>('#demo-fail');
    const saved = settings?.demo_failures_env ?? false;
    const failing = saved || (settings?.demo_failures ?? false);
    if (fail && document.activeElement !== fail) fail.checked = failing;
    const label = fail?.closest('label');
    label?.classList.toggle('switch-on', failing);
    if (label) label.title = t(saved ? 'demo.fail_saved' : 'demo.fail_note');
    const concurrency = document.querySelector<HTMLSelectElement>('#demo-concurrency');
    if (concurrency && document.activeElement !== concurrency) {
      concurrency.value = settings?.values.WORKER_CONCURRENCY ?? '1';
    }
    for (const b of document.querySelectorAll<HTMLButtonElement>('.demo button, .demo input, .demo select')) {
      b.disabled = !snapshot?.running || (b.id === 'demo-fail' && saved);
    }
  }

  // ---------------------------------------------------------------- the demo bar

  /** The bar under the diagram: what an instructor does to make the system move. */
  demoBar(): HTMLElement {
    const noun = h('span', { id: 'demo-noun' }, plural(5, NOUNS.product[language()]));
    const count = h('input', {
      id: 'demo-count',
      type: 'number',
      min: '1',
      max: '500',
      value: '5',
      'aria-label': t('demo.products'),
      oninput: () => {
        noun.textContent = plural(Math.max(1, Number(count.value) || 1), NOUNS.product[language()]);
      },
    }) as HTMLInputElement;
    return h(
      'div',
      { class: 'demo', role: 'group', 'aria-label': t('demo.title') },
      h('strong', {}, t('demo.title')),
      h(
        'span',
        { class: 'send' },
        h(
          'button',
          {
            id: 'demo-send',
            onclick: () => void this.sendProducts(Math.max(1, Math.min(500, Number(count.value) || 1))),
          },
          t('demo.send'),
        ),
        count,
        ' ',
        noun,
      ),
      h(
        'label',
        { title: t('demo.fail_note') },
        h('input', {
          id: 'demo-fail',
          type: 'checkbox',
          onchange: (e: Event) => {
            const on = (e.target as HTMLInputElement).checked;
            void this.applySetting({ demo_failures: on }, t(on ? 'demo.fail_on' : 'demo.fail_off'));
          },
        }),
        ` ${t('demo.fail')}`,
      ),
      h(
        'label',
        {},
        `${t('demo.concurrency')} `,
        h(
          'select',
          {
            id: 'demo-concurrency',
            onchange: (e: Event) => {
              const value = (e.target as HTMLSelectElement).value;
              void this.applySetting(
                { values: { WORKER_CONCURRENCY: value } },
                t('demo.applied', { key: 'WORKER_CONCURRENCY', value }),
              );
            },
          },
          ...['1', '2', '4', '8'].map((n) => h('option', { value: n }, n)),
        ),
      ),
      h(
        'button',
        { id: 'demo-kill', 'data-destructive': 'true', onclick: () => void this.act('worker', 'kill') },
        t('demo.kill'),
      ),
      h(
        'button',
        {
          id: 'demo-redis',
          'data-destructive': 'true',
          onclick: () => void this.act('redis', this.ctx.store.status('redis')?.state === 'running' ? 'stop' : 'start'),
        },
        t('demo.redis_stop'),
      ),
      h('p', { id: 'demo-status', class: 'muted', role: 'status' }),
    );
  }

  private say(text: string): void {
    const line = document.querySelector('#demo-status');
    if (!line) return;
    line.textContent = text;
    clearTimeout(this.sayTimer);
    this.sayTimer = window.setTimeout(() => {
      if (line.textContent === text) line.textContent = '';
    }, SAID_MS);
  }

  /** Creates a product, measured; the product flow diagram shows the last one. */
  private async createMeasured(name: string): Promise<Product> {
    const { store } = this.ctx;
    const api = store.state.api;
    if (!api) throw new ApiError(0, t('products.api_down'));
    const timed = await api.createProductTimed({ name, price: Math.round(100 + Math.random() * 900) });
    const product = timed.value;
    store.addProduct(product);
    store.update({ lastRequest: { steps: timed.steps, totalMs: timed.totalMs, taskId: product.task_id } });
    return product;
  }

  private async sendProducts(count: number): Promise<void> {
    let sent = 0;
    try {
      for (let i = 0; i < count; i += 10) {
        const batch = Array.from({ length: Math.min(10, count - i) }, (_, k) =>
          this.createMeasured(`Demo ${i + k + 1}`),
        );
        sent += (await Promise.all(batch)).length;
        this.ctx.store.render('diagrams', 'tasks', 'products');
      }
      this.say(t('demo.sent', { count: sent }));
    } catch (err) {
      this.say(`${t('demo.sent', { count: sent })}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Saves a change (a setting, or failure injection for this run), restarts only the processes
   * that read it, and says what happened (`said`) and what was restarted. */
  private async applySetting(update: SettingsUpdate, said: string): Promise<void> {
    const { backend, store } = this.ctx;
    try {
      const outcome = await backend.saveSettings(update);
      store.update({ settings: outcome.settings });
      for (const process of outcome.restart) store.update({ snapshot: await backend.process(process, 'restart') });
      const processes = outcome.restart.map((p) => t(`process.${p}` as Key)).join(', ');
      this.say(processes ? `${said} ${t('demo.restarted', { processes })}` : said);
    } catch (err) {
      this.ctx.showError(err);
    }
    store.render('cards', 'diagrams');
  }

  private async act(process: ProcessKind, action: 'kill' | 'stop' | 'start'): Promise<void> {
    const { backend, store } = this.ctx;
    try {
      store.update({ snapshot: await backend.process(process, action) });
    } catch (err) {
      this.ctx.showError(err);
      return;
    }
    store.render('cards', 'diagrams');
    if (process === 'worker') this.say(t('demo.killed'));
    if (process === 'redis' && action === 'start') this.say(t('demo.redis_up'));
    if (process === 'redis' && action === 'stop') {
      // Show what a client now gets from the API.
      let answer: string;
      try {
        await store.state.api?.createProduct({ name: 'Redis is down', price: 1 });
        answer = '201';
      } catch (err) {
        answer = err instanceof ApiError ? `${err.status} ${err.message}` : String(err);
      }
      this.say(t('demo.redis_down', { answer: answer.replace(/[.\s]+$/, '') }));
    }
  }

  // ---------------------------------------------------------------- with vs without a worker

  /** The comparison's panel (under the with/without diagram). */
  measurePanel(): HTMLElement {
    return h(
      'div',
      { class: 'measure' },
      h('button', { id: 'measure', class: 'primary', onclick: () => void this.measure() }, t('measure.run')),
      h('div', { id: 'measure-result', role: 'status' }),
    );
  }

  /** Whether a comparison is still waiting for one of its two answers. */
  private measuring(): boolean {
    const m = this.measurement;
    return Boolean(m && !m.error && (!m.withWorker || !m.withoutWorker));
  }

  private async measure(): Promise<void> {
    const { store } = this.ctx;
    const api = store.state.api;
    if (!api || this.measuring()) return;
    const measurement: Measurement = { began: performance.now(), withWorker: null, withoutWorker: null, error: null };
    this.measurement = measurement;
    store.render('diagrams');
    const tick = setInterval(() => store.render('diagrams'), 500);
    // Both at once, as two clients would: one gets its 201 at once, the other waits.
    const withWorker = this.createMeasured('Measure: with a worker').then((product) => {
      const last = store.state.lastRequest!;
      measurement.withWorker = { value: product, steps: last.steps, totalMs: last.totalMs };
      store.render('diagrams');
    });
    const withoutWorker = api.createSync({ name: 'Measure: without a worker', price: 1 }).then((timed) => {
      measurement.withoutWorker = timed;
    });
    const [a, b] = await Promise.allSettled([withWorker, withoutWorker]);
    clearInterval(tick);
    for (const outcome of [a, b]) {
      if (outcome.status === 'rejected') {
        measurement.error = outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason);
      }
    }
    store.render('diagrams');
  }

  /** Writes the comparison's state into its panel. */
  paintMeasure(): void {
    const { store } = this.ctx;
    const out = document.querySelector<HTMLElement>('#measure-result');
    const m = this.measurement;
    if (!out) return;
    const button = document.querySelector<HTMLButtonElement>('#measure');
    const running = this.measuring();
    if (button) button.disabled = running || !store.state.snapshot?.running;
    if (!m) return void fill(out);
    const lines: HTMLElement[] = [];
    const secs = store.state.settings?.values.NOTIFY_SIMULATED_SECS ?? '30';
    if (running) {
      lines.push(
        h(
          'p',
          {},
          `${t('measure.running', { secs: formatDuration(Number(secs)) })} ${formatDuration((performance.now() - m.began) / 1000)}`,
        ),
      );
    }
    if (m.withoutWorker) {
      lines.push(
        h(
          'p',
          { class: 'without' },
          t('measure.without', {
            total: formatMs(m.withoutWorker.totalMs),
            notify: formatMs(m.withoutWorker.steps.notify),
          }),
        ),
      );
    }
    if (m.withWorker) {
      const task = store.tasks.get(m.withWorker.value.task_id);
      const taskTime =
        task?.runtime !== null && task?.runtime !== undefined ? formatDuration(task.runtime) : (task?.state ?? '—');
      lines.push(
        h(
          'p',
          { class: 'with' },
          t('measure.with', {
            total: formatMs(m.withWorker.totalMs),
            validate: formatMs(m.withWorker.steps.validate),
            store: formatMs(m.withWorker.steps.store),
            task: taskTime,
          }),
        ),
      );
    }
    if (m.withWorker && m.withoutWorker) {
      const ratio = m.withoutWorker.totalMs / Math.max(m.withWorker.totalMs, 0.001);
      // «в 82 раза»; under 1.5 times there is nothing to say.
      if (ratio >= 1.5) lines.push(h('p', { class: 'ratio' }, t('measure.ratio', { times: formatTimes(ratio) })));
      const max = Math.max(m.withoutWorker.totalMs, m.withWorker.totalMs);
      lines.push(
        h(
          'div',
          { class: 'bars' },
          h('span', { class: 'bar without', style: `width:${(100 * m.withoutWorker.totalMs) / max}%` }),
          h('span', { class: 'bar with', style: `width:max(2px, ${(100 * m.withWorker.totalMs) / max}%)` }),
        ),
      );
    }
    if (m.error) lines.push(h('p', { class: 'error' }, t('measure.failed', { error: m.error })));
    const text = lines.map((l) => l.textContent).join('|');
    if (out.dataset.text !== text) {
      out.dataset.text = text;
      fill(out, ...lines);
    }
  }
}
