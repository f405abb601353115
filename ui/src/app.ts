// The UI's state, the paint scheduler (at most one paint per animation frame), and what every
// view shares: notices, dialogs, small formatters.

import { $, fill, h } from './dom';
import { type Key, language, t } from './i18n';
import type { LastRequest } from './diagrams/live';
import {
  Api,
  type Backend,
  DeskError,
  type DeskErrorBody,
  PROCESSES,
  type ProcessKind,
  type ProcessStatus,
  type Product,
  type RedisGlance,
  type SettingsView,
  type Snapshot,
  type SyncOutcome,
  type Timed,
} from './ipc';
import { LogBuffer, QueueWatch, TaskStore } from './state';

export type Tab = 'dashboard' | 'products' | 'tasks' | 'diagrams' | 'settings';
export type Part = 'header' | 'cards' | 'log' | 'products' | 'tasks' | 'drawer' | 'diagrams' | 'settings';

export const ROWS = 200;

/** Each view registers how it paints its part. */
export const painters = new Map<Part, () => void>();

export function painter(part: Part, paint: () => void): void {
  painters.set(part, paint);
}

/** Set by the modules that own them, so that shared code can call them without import cycles. */
export const hooks = {
  /** Rebuilds the page (after a language change); set at start-up. */
  rebuild: (): void => {},
  /** Offers a way out of a taken port; set by `stack.ts`. */
  portPrompt: (_body: DeskErrorBody): void => {},
  /** Explains the ways to get a Redis when none can be found; set by `views/first-run.ts`. */
  redisMissing: (): void => {},
  /** Shows a tab; set by `shell.ts`. */
  showTab: (_tab: Tab): void => {},
};

/** A with/without-a-worker measurement in progress or done. */
export interface Measurement {
  began: number;
  withWorker: Timed<Product> | null;
  withoutWorker: Timed<SyncOutcome> | null;
  error: string | null;
}

export const ui = {
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
  diagram: 'architecture',
  /** The last glance at Redis (sampled while a diagram needs it). */
  redis: null as RedisGlance | null,
  /** Architecture edges (`from>to`) a message crossed since the last paint. */
  pulses: new Set<string>(),
  /** The last product request, as measured. */
  lastRequest: null as LastRequest | null,
  measurement: null as Measurement | null,
  presenting: false,
  busy: null as 'starting' | 'stopping' | null,
  dirty: new Set<Part>(),
  frame: 0,
};

export function render(...parts: Part[]): void {
  for (const part of parts) ui.dirty.add(part);
  if (!ui.frame) ui.frame = requestAnimationFrame(flush);
}

export function flush(): void {
  ui.frame = 0;
  const dirty = [...ui.dirty];
  ui.dirty.clear();
  for (const part of dirty) {
    try {
      painters.get(part)?.();
    } catch (err) {
      console.error(`painting ${part}`, err);
    }
  }
}

export function status(process: ProcessKind): ProcessStatus | undefined {
  return ui.snapshot?.processes.find((p) => p.process === process);
}

// ---------------------------------------------------------------- notices and dialogs

export function notice(text: string, kind: 'info' | 'error' = 'info', extra?: Node): void {
  const box = $('#notice');
  fill(box, h('span', {}, text), extra ?? null, h('button', { class: 'link', onclick: () => fill(box) }, '×'));
  box.dataset.kind = kind;
}

export function showError(err: unknown): void {
  const body: DeskErrorBody =
    err instanceof DeskError ? err.body : { kind: 'io', message: err instanceof Error ? err.message : String(err) };
  if (body.kind === 'port_taken') return hooks.portPrompt(body);
  if (body.kind === 'redis_not_found') return hooks.redisMissing();
  const details = body.last_lines?.length ? h('pre', { class: 'quote' }, body.last_lines.join('\n')) : null;
  notice(body.message, 'error', details ?? undefined);
}

export function dialog(
  title: string,
  body: Node[],
  buttons: { label: string; primary?: boolean; onclick: () => void }[],
): void {
  const layer = $('#dialog');
  const close = () => {
    fill(layer);
    layer.hidden = true;
  };
  fill(
    layer,
    h(
      'div',
      { class: 'dialog', role: 'dialog', 'aria-modal': 'true' },
      h('h2', {}, title),
      ...body,
      h(
        'div',
        { class: 'buttons' },
        ...buttons.map((b) =>
          h(
            'button',
            {
              class: b.primary ? 'primary' : '',
              onclick: () => {
                close();
                b.onclick();
              },
            },
            b.label,
          ),
        ),
      ),
    ),
  );
  layer.hidden = false;
}

export function chip(state: string): HTMLElement {
  return h('span', { class: 'chip', 'data-state': state }, state);
}

export function shortName(name: string | null): string {
  return name ? (name.split('.').pop() ?? name) : '—';
}

export function clock(iso: string | null): string {
  if (!iso) return '—';
  const date = new Date(iso.endsWith('Z') || /[+-]\d\d:\d\d$/.test(iso) ? iso : `${iso}Z`);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString(language());
}

/** A labelled form field with a slot for its error. */
export function field(key: string, label: Key, type = 'text', extra: Record<string, unknown> = {}): HTMLElement {
  return h(
    'label',
    { class: 'field' },
    h('span', {}, t(label)),
    h('input', { name: key, type, autocomplete: 'off', spellcheck: 'false', ...extra }),
    h('span', { class: 'field-error', 'data-field': key, role: 'alert' }),
  );
}
