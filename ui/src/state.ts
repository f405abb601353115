// The UI's state logic, free of the DOM so that it is unit-tested with node's test runner.

import { apiErrorText } from './errors';
import { language } from './i18n';
import {
  FINISHED_STATES,
  type FieldError,
  type Language,
  type ProcessState,
  type Product,
  type Step,
  TASK_STATES,
  type Task,
} from './ipc';

/** The states after which nothing more happens (from Rust's `TaskState::is_ready`). */
const FINAL: ReadonlySet<string> = new Set(FINISHED_STATES);

/** How far along a state is: between views of the same moment, the further one wins. */
function rank(state: string): number {
  if (FINAL.has(state)) return 3;
  if (state === 'STARTED' || state === 'RETRY') return 2;
  if (state === 'RECEIVED') return 1;
  return 0;
}

/** Sort key: when the task was sent (ISO text sorts by time), newest first. */
function sentKey(task: Task): string {
  return task.sent_at ?? task.timeline[0]?.at ?? '';
}

/** The tasks the UI knows, by id; newest first when listed. Bounded. */
export class TaskStore {
  private readonly byId = new Map<string, Task>();
  /** Bumped on every change, so views re-render only when something changed. */
  version = 0;

  constructor(private readonly max = 2000) {}

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Task | undefined {
    return this.byId.get(id);
  }

  /** A view from the API (list, detail or live feed). A late, older view never moves a task
   * back; a newer timeline always wins, even when its state is an earlier one (a redelivery after
   * a dead worker: STARTED → RECEIVED). */
  upsert(task: Task): void {
    const known = this.byId.get(task.task_id);
    if (known && !isNews(known, task)) return;
    this.byId.set(task.task_id, task);
    this.version++;
    this.trim();
  }

  /** A product was created: its task is queued from this moment, before any worker sees it. */
  queued(product: Product): void {
    if (this.byId.has(product.task_id)) return;
    this.byId.set(product.task_id, {
      task_id: product.task_id,
      name: 'tasks.notifications.send_tg_notification',
      state: 'PENDING',
      args: [product],
      result: null,
      error: null,
      retries: 0,
      worker: null,
      product_id: product.id,
      runtime: null,
      sent_at: product.created_at,
      date_done: null,
      timeline: [{ state: 'PENDING', at: product.created_at, worker: null }],
      eta: null,
      retry_of: null,
      finished: false,
      can_revoke: true,
      can_retry: false,
      retried_as: null,
    });
    this.version++;
    this.trim();
  }

  private trim(): void {
    if (this.byId.size <= this.max) return;
    const oldest = [...this.byId.values()].sort((a, b) => sentKey(a).localeCompare(sentKey(b)));
    for (const task of oldest.slice(0, this.byId.size - this.max)) this.byId.delete(task.task_id);
  }

  /** Tasks per state: the history's, or the one `stateOf` says (the lifecycle diagram counts the
   * state a task is really in, e.g. RETRY during a retry's countdown). */
  counts(stateOf: (task: Task) => string = (task) => task.state): Record<string, number> {
    const counts: Record<string, number> = Object.fromEntries(TASK_STATES.map((s) => [s, 0]));
    for (const task of this.byId.values()) {
      const state = stateOf(task);
      counts[state] = (counts[state] ?? 0) + 1;
    }
    return counts;
  }

  /** Every task, in no particular order. */
  all(): IterableIterator<Task> {
    return this.byId.values();
  }

  /** Newest first, in `state` (or all), matching `search` in id, name, product, worker or error. */
  list(state: string | null, search: string, limit: number): Task[] {
    const needle = search.trim().toLowerCase();
    const out: Task[] = [];
    const all = [...this.byId.values()].sort((a, b) => sentKey(b).localeCompare(sentKey(a)));
    for (const task of all) {
      if (state && task.state !== state) continue;
      if (needle && !haystack(task).includes(needle)) continue;
      out.push(task);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** The failed tasks not retried yet. */
  failed(): Task[] {
    return [...this.byId.values()].filter((t) => t.state === 'FAILURE' && !t.retried_as);
  }

  /** The task of a product. */
  ofProduct(productId: number): Task | undefined {
    for (const task of this.byId.values()) if (task.product_id === productId && !task.retry_of) return task;
    return undefined;
  }
}

/** The time of a view's newest step (ms), -Infinity when it has none. */
function newest(task: Task): number {
  let latest = Number.NEGATIVE_INFINITY;
  for (const step of task.timeline) {
    const at = Date.parse(step.at);
    if (at > latest) latest = at;
  }
  return latest;
}

/** Whether `next` is news over `known` (two views of one task): its timeline reaches later, or as
 * far with more steps (a late event filled in), or it is the same moment and as far along (the
 * result can be ahead of the events: SUCCESS before its event). */
function isNews(known: Task, next: Task): boolean {
  const [a, b] = [newest(known), newest(next)];
  if (b !== a) return b > a;
  if (next.timeline.length !== known.timeline.length) return next.timeline.length > known.timeline.length;
  return rank(next.state) >= rank(known.state);
}

function haystack(task: Task): string {
  const product = Array.isArray(task.args) ? (task.args[0] as { name?: string } | undefined) : undefined;
  return [task.task_id, task.name, product?.name, task.product_id, task.worker, task.error?.message]
    .filter((x) => x !== null && x !== undefined)
    .join(' ')
    .toLowerCase();
}

/** A task's timeline with the time spent before each step. */
export function timelineWithDurations(
  timeline: Step[],
): { state: string; at: string; worker: string | null; after: number | null }[] {
  return timeline.map((step, i) => {
    const previous = timeline[i - 1];
    const after = previous ? (Date.parse(step.at) - Date.parse(previous.at)) / 1000 : null;
    return { ...step, after: after !== null && Number.isFinite(after) ? after : null };
  });
}

/** The colour of a process's light. */
export function light(state: ProcessState): 'on' | 'busy' | 'bad' | 'off' | 'ext' {
  switch (state) {
    case 'running':
      return 'on';
    case 'external':
      return 'ext';
    case 'starting':
    case 'stopping':
    case 'backing-off':
      return 'busy';
    case 'crashed':
      return 'bad';
    default:
      return 'off';
  }
}

/** Which buttons a process card offers in a state, while the stack runs. */
export function cardActions(state: ProcessState, stackRunning: boolean): ('start' | 'stop' | 'restart')[] {
  if (!stackRunning) return [];
  switch (state) {
    case 'running':
      return ['stop', 'restart'];
    case 'stopped':
    case 'crashed':
      return ['start'];
    case 'backing-off':
      return ['stop'];
    default:
      return [];
  }
}

/**
 * A 422 `detail` as one message per form field (`loc: ["body", field]`), in the UI's language (or
 * `lang`: Russian words each error by its `type` and `ctx`); other errors under `_`.
 */
export function fieldErrors(detail: string | FieldError[], lang: Language = language()): Record<string, string> {
  if (typeof detail === 'string') return { _: detail };
  const out: Record<string, string> = {};
  for (const error of detail) {
    const field = error.loc[0] === 'body' && error.loc.length > 1 ? String(error.loc[error.loc.length - 1]) : '_';
    const message = apiErrorText(error, lang);
    out[field] = out[field] ? `${out[field]}; ${message}` : message;
  }
  return out;
}

/** Watches the queue depth: warns when tasks wait and no worker runs, and says whether it grows. */
export class QueueWatch {
  private samples: number[] = [];

  /** Records a depth sample (the API sends one when the depth changes). */
  sample(queued: number): void {
    this.samples.push(queued);
    if (this.samples.length > 10) this.samples.shift();
  }

  get queued(): number {
    return this.samples[this.samples.length - 1] ?? 0;
  }

  /** A warning to show, or null. */
  warning(workerState: ProcessState | undefined): { queued: number; growing: boolean } | null {
    const queued = this.queued;
    if (queued === 0 || workerState === 'running' || workerState === 'external') return null;
    const first = this.samples[0] ?? 0;
    return { queued, growing: queued > first };
  }
}

/** A process's log: the last `max` lines, with a search. */
export class LogBuffer {
  lines: string[] = [];
  version = 0;

  constructor(private readonly max = 2000) {}

  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
    this.version++;
  }

  replace(lines: string[]): void {
    this.lines = lines.slice(-this.max);
    this.version++;
  }

  matching(search: string): string[] {
    const needle = search.trim().toLowerCase();
    return needle ? this.lines.filter((l) => l.toLowerCase().includes(needle)) : this.lines;
  }
}

/** A local REDIS_URL: `redis://[password part@]127.0.0.1|localhost[:port][/db]`. */
const LOCAL_REDIS = /^redis:\/\/((?:[^@/]*@)?)(127\.0\.0\.1|localhost)(?::(\d+))?(\/\d*)?$/;

/** REDIS_URL for a local Redis on `port`; with `current` (a local URL), its password part
 * (masked as the backend shows it: the backend puts the password back) and database are kept. */
export function redisUrlFor(port: string, current = ''): string {
  const match = LOCAL_REDIS.exec(current.trim());
  return `redis://${match?.[1] ?? ''}127.0.0.1:${port.trim()}${match?.[4] || '/0'}`;
}

/** The port of a local REDIS_URL, or '' when it is not one. */
export function redisPortOf(url: string): string {
  const match = LOCAL_REDIS.exec(url.trim());
  return match ? (match[3] ?? '6379') : '';
}
