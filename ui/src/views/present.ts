// Presenting the diagrams: full screen, a projector look (large type, high contrast), a
// read-only mode that hides what could stop or delete things, the demo bar (send products,
// failure injection, kill the worker, stop Redis, concurrency), the measured with/without-a-worker
// comparison, and exports of the current diagram as SVG and PNG.

import { notice, render, showError, status, ui } from '../app';
import { $, fill, h } from '../dom';
import { type Key, language, t } from '../i18n';
import { ApiError, type ProcessKind, type Product, type SettingsUpdate } from '../ipc';
import { formatDuration, formatMs, formatTimes, NOUNS, plural } from '../format';

type Look = 'normal' | 'large' | 'contrast';

const root = () => document.documentElement;

function stored<T extends string>(key: string, fallback: T): T {
  try {
    return (localStorage.getItem(key) as T | null) ?? fallback;
  } catch {
    return fallback;
  }
}

function store(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Private mode: the choice lasts for this page only.
  }
}

/** Applies the saved projector look and read-only choice (called once at start-up). */
export function restorePresentation(): void {
  root().dataset.look = stored<Look>('stackdesk-look', 'normal');
  root().dataset.readonly = stored('stackdesk-readonly', 'false');
  root().dataset.demo = stored('stackdesk-demo', 'false');
}
restorePresentation();

/** Enters or leaves presentation mode: full screen, only the diagram and its bars. */
export async function present(on: boolean): Promise<void> {
  ui.presenting = on;
  root().classList.toggle('presenting', on);
  try {
    await ui.backend.setFullscreen(on);
  } catch {
    // Full screen refused (a browser without a user gesture): the page still fills the window.
  }
  render('diagrams');
}

document.addEventListener('fullscreenchange', () => {
  if (!document.fullscreenElement && ui.presenting && ui.backend?.mode === 'browser') void present(false);
});

/** The bar above the diagram: present, look, read-only, export. */
export function presentBar(): HTMLElement {
  return h(
    'div',
    { class: 'present-bar' },
    h('button', { id: 'present', onclick: () => void present(!ui.presenting) }, t('diagram.present')),
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
            store('stackdesk-look', look);
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
          store('stackdesk-readonly', on);
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
          store('stackdesk-demo', on);
        },
      }),
      ` ${t('diagram.demo_allowed')}`,
    ),
    h('button', { id: 'export-svg', onclick: () => void exportDiagram('svg') }, t('diagram.export_svg')),
    h('button', { id: 'export-png', onclick: () => void exportDiagram('png') }, t('diagram.export_png')),
  );
}

/** Keeps the bars in step with the state (labels that depend on it). */
export function paintPresent(): void {
  const button = document.querySelector<HTMLButtonElement>('#present');
  if (button) button.textContent = t(ui.presenting ? 'diagram.present_end' : 'diagram.present');
  const redis = document.querySelector<HTMLButtonElement>('#demo-redis');
  if (redis) {
    const up = status('redis')?.state === 'running';
    redis.textContent = t(up ? 'demo.redis_stop' : 'demo.redis_start');
    redis.dataset.destructive = String(up);
  }
  // Failure injection is on for this run (the switch), or set by the environment the app was
  // started with: then the switch shows it on and says where it is set. Visibly on while on.
  const fail = document.querySelector<HTMLInputElement>('#demo-fail');
  const saved = ui.settings?.demo_failures_env ?? false;
  const failing = saved || (ui.settings?.demo_failures ?? false);
  if (fail && document.activeElement !== fail) fail.checked = failing;
  const label = fail?.closest('label');
  label?.classList.toggle('switch-on', failing);
  if (label) label.title = t(saved ? 'demo.fail_saved' : 'demo.fail_note');
  const concurrency = document.querySelector<HTMLSelectElement>('#demo-concurrency');
  if (concurrency && document.activeElement !== concurrency)
    concurrency.value = ui.settings?.values.WORKER_CONCURRENCY ?? '1';
  for (const b of document.querySelectorAll<HTMLButtonElement>('.demo button, .demo input, .demo select')) {
    b.disabled = !ui.snapshot?.running || (b.id === 'demo-fail' && saved);
  }
}

// ---------------------------------------------------------------- the demo bar

/** How long the demo bar's status line stays: it is about what was just done. */
const SAID_MS = 10_000;
let sayTimer = 0;

function say(text: string): void {
  const line = document.querySelector('#demo-status');
  if (!line) return;
  line.textContent = text;
  clearTimeout(sayTimer);
  sayTimer = window.setTimeout(() => {
    if (line.textContent === text) line.textContent = '';
  }, SAID_MS);
}

/** Creates a product, measured; the product flow diagram shows the last one. */
async function createMeasured(name: string): Promise<Product> {
  if (!ui.api) throw new ApiError(0, t('products.api_down'));
  const timed = await ui.api.createProductTimed({ name, price: Math.round(100 + Math.random() * 900) });
  const product = timed.value;
  ui.tasks.queued(product);
  if (!ui.products.some((p) => p.id === product.id)) ui.products.unshift(product);
  ui.lastRequest = { steps: timed.steps, totalMs: timed.totalMs, taskId: product.task_id };
  return product;
}

async function sendProducts(count: number): Promise<void> {
  let sent = 0;
  try {
    for (let i = 0; i < count; i += 10) {
      const batch = Array.from({ length: Math.min(10, count - i) }, (_, k) => createMeasured(`Demo ${i + k + 1}`));
      sent += (await Promise.all(batch)).length;
      render('diagrams', 'tasks', 'products');
    }
    say(t('demo.sent', { count: sent }));
  } catch (err) {
    say(`${t('demo.sent', { count: sent })}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Saves a change (a setting, or failure injection for this run), restarts only the processes
 * that read it, and says what happened (`said`) and what was restarted. */
async function applySetting(update: SettingsUpdate, said: string): Promise<void> {
  try {
    const outcome = await ui.backend.saveSettings(update);
    ui.settings = outcome.settings;
    for (const process of outcome.restart) ui.snapshot = await ui.backend.process(process, 'restart');
    const processes = outcome.restart.map((p) => t(`process.${p}` as Key)).join(', ');
    say(processes ? `${said} ${t('demo.restarted', { processes })}` : said);
  } catch (err) {
    showError(err);
  }
  render('cards', 'diagrams');
}

async function act(process: ProcessKind, action: 'kill' | 'stop' | 'start'): Promise<void> {
  try {
    ui.snapshot = await ui.backend.process(process, action);
  } catch (err) {
    showError(err);
    return;
  }
  render('cards', 'diagrams');
  if (process === 'worker') say(t('demo.killed'));
  if (process === 'redis' && action === 'start') say(t('demo.redis_up'));
  if (process === 'redis' && action === 'stop') {
    // Show what a client now gets from the API.
    let answer: string;
    try {
      await ui.api?.createProduct({ name: 'Redis is down', price: 1 });
      answer = '201';
    } catch (err) {
      answer = err instanceof ApiError ? `${err.status} ${err.message}` : String(err);
    }
    say(t('demo.redis_down', { answer: answer.replace(/[.\s]+$/, '') }));
  }
}

/** The bar under the diagram: what an instructor does to make the system move. */
export function demoBar(): HTMLElement {
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
        { id: 'demo-send', onclick: () => void sendProducts(Math.max(1, Math.min(500, Number(count.value) || 1))) },
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
          void applySetting({ demo_failures: on }, t(on ? 'demo.fail_on' : 'demo.fail_off'));
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
            void applySetting(
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
      { id: 'demo-kill', 'data-destructive': 'true', onclick: () => void act('worker', 'kill') },
      t('demo.kill'),
    ),
    h(
      'button',
      {
        id: 'demo-redis',
        'data-destructive': 'true',
        onclick: () => void act('redis', status('redis')?.state === 'running' ? 'stop' : 'start'),
      },
      t('demo.redis_stop'),
    ),
    h('p', { id: 'demo-status', class: 'muted', role: 'status' }),
  );
}

// ---------------------------------------------------------------- with vs without a worker

/** The comparison's panel (under the with/without diagram). */
export function measurePanel(): HTMLElement {
  return h(
    'div',
    { class: 'measure' },
    h('button', { id: 'measure', class: 'primary', onclick: () => void measure() }, t('measure.run')),
    h('div', { id: 'measure-result', role: 'status' }),
  );
}

/** Whether a comparison is still waiting for one of its two answers. */
function measuring(): boolean {
  const m = ui.measurement;
  return Boolean(m && !m.error && (!m.withWorker || !m.withoutWorker));
}

async function measure(): Promise<void> {
  if (!ui.api || measuring()) return;
  const api = ui.api;
  const measurement = { began: performance.now(), withWorker: null, withoutWorker: null, error: null } as NonNullable<
    typeof ui.measurement
  >;
  ui.measurement = measurement;
  render('diagrams');
  const tick = setInterval(() => render('diagrams'), 500);
  // Both at once, as two clients would: one gets its 201 at once, the other waits.
  const withWorker = createMeasured('Measure: with a worker').then((product) => {
    measurement.withWorker = { value: product, steps: ui.lastRequest!.steps, totalMs: ui.lastRequest!.totalMs };
    render('diagrams');
  });
  const withoutWorker = api.createSync({ name: 'Measure: without a worker', price: 1 }).then((timed) => {
    measurement.withoutWorker = timed;
  });
  const [a, b] = await Promise.allSettled([withWorker, withoutWorker]);
  clearInterval(tick);
  for (const outcome of [a, b]) {
    if (outcome.status === 'rejected')
      measurement.error = outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason);
  }
  render('diagrams');
}

/** Writes the comparison's state into its panel. */
export function paintMeasure(): void {
  const out = document.querySelector('#measure-result');
  const m = ui.measurement;
  if (!out) return;
  const button = document.querySelector<HTMLButtonElement>('#measure');
  const running = measuring();
  if (button) button.disabled = running || !ui.snapshot?.running;
  if (!m) return void fill(out);
  const lines: HTMLElement[] = [];
  const secs = ui.settings?.values.NOTIFY_SIMULATED_SECS ?? '30';
  if (running)
    lines.push(
      h(
        'p',
        {},
        `${t('measure.running', { secs: formatDuration(Number(secs)) })} ${formatDuration((performance.now() - m.began) / 1000)}`,
      ),
    );
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
    const task = ui.tasks.get(m.withWorker.value.task_id);
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
  if ((out as HTMLElement).dataset.text !== text) {
    (out as HTMLElement).dataset.text = text;
    fill(out, ...lines);
  }
}

// ---------------------------------------------------------------- export

const PAINT = [
  'fill',
  'stroke',
  'stroke-width',
  'stroke-dasharray',
  'opacity',
  'font-weight',
  'font-size',
  'font-family',
] as const;

/** The shown diagram as a standalone SVG document: the live colours (which come from the page's
 * style sheet) written onto each element, so that it looks the same anywhere. */
export function exportableSvg(): { text: string; width: number; height: number; background: string } {
  const svg = document.querySelector<SVGSVGElement>('#diagram-stage svg');
  if (!svg) throw new Error('no diagram is shown');
  const clone = svg.cloneNode(true) as SVGSVGElement;
  const from = svg.querySelectorAll<SVGElement>('*');
  const to = clone.querySelectorAll<SVGElement>('*');
  from.forEach((el, i) => {
    if (!(el instanceof SVGGraphicsElement) || el instanceof SVGGElement) return;
    const style = getComputedStyle(el);
    const target = to[i]!;
    for (const name of PAINT) {
      const value = style.getPropertyValue(name);
      if (value) target.style.setProperty(name, value);
    }
  });
  const box = svg.viewBox.baseVal;
  const width = Math.ceil(box?.width || svg.getBoundingClientRect().width);
  const height = Math.ceil(box?.height || svg.getBoundingClientRect().height);
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  clone.setAttribute('width', String(width));
  clone.setAttribute('height', String(height));
  clone.removeAttribute('style');
  const background = getComputedStyle($('#diagram-figure')).backgroundColor || '#ffffff';
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(clone)}`;
  return { text, width, height, background };
}

async function toPng(svg: ReturnType<typeof exportableSvg>, scale = 2): Promise<Uint8Array> {
  const image = new Image();
  image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg.text)}`;
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = svg.width * scale;
  canvas.height = svg.height * scale;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas');
  ctx.fillStyle = svg.background;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  if (!blob) throw new Error('the PNG could not be made');
  return new Uint8Array(await blob.arrayBuffer());
}

/** Saves the shown diagram (as it looks now) under the data folder's `exports/`. */
export async function exportDiagram(format: 'svg' | 'png'): Promise<void> {
  try {
    const svg = exportableSvg();
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    const name = `${$('#diagram-stage').dataset.diagram ?? 'diagram'}-${stamp}.${format}`;
    const bytes = format === 'svg' ? new TextEncoder().encode(svg.text) : await toPng(svg);
    const path = await ui.backend.saveExport(name, bytes);
    notice(
      t('diagram.exported', { path }),
      'info',
      h(
        'button',
        { class: 'link', 'data-export-path': path, onclick: () => void ui.backend.open('data-dir').catch(showError) },
        t('open.data'),
      ),
    );
  } catch (err) {
    showError(err);
  }
}
