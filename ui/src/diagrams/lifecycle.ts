// The task lifecycle diagram's live layer: counts per state, a selected task's path through the
// states and the time it spent in each, the edges a task just crossed, as pure functions of the
// UI's state (unit tested).
//
// A task's history (`timeline`) lists the events' states. Two moments of a task's life are not
// what those events alone say, and the diagram shows them as they are:
// - **A retry's countdown.** Celery sends the retried message at once with an absolute `eta`; a
//   worker receives it at once (task-received) and holds it until the eta. Meanwhile the result
//   backend says RETRY, and it is in the countdown: a RECEIVED that follows a RETRY counts as RETRY
//   until its eta, and as RECEIVED from then until it starts.
// - **A worker that died.** With acks late its task is delivered again. The supervisor says at
//   once that its worker process is gone (a killed worker sends no event), so a task the dead
//   worker had STARTED is shown as RECEIVED again — on its way back through the queue — until the
//   history has a newer step (the next worker's task-received).

import { t } from '../i18n';
import { FINISHED_STATES, type Language, type Step, type Task } from '../ipc';
import { formatDuration } from '../format';

/** A state diagram edge's number inside its element id (`…-edge4` → 4): the transition's index. */
export function stateEdgeOf(elementId: string): number | null {
  const match = /(?:^|-)edge(\d+)$/.exec(elementId);
  return match ? Number(match[1]) : null;
}

/** A lifecycle state's label with its count (`STARTED · 3`), and a note after it when given
 * (`RETRY · 1 · через 3 с`). */
export function stateLabel(state: string, counts: Record<string, number>, note?: string | null): string {
  const n = counts[state] ?? 0;
  const base = n > 0 ? `${state} · ${n}` : state;
  return note ? `${base} · ${note}` : base;
}

/** The lifecycle's transitions, in the order the diagram declares them (Mermaid numbers its
 * edges in that order: `edge0`, `edge1`, …). `[*]` is the start (the drawing has no end state: a final state is the end). */
export const LIFECYCLE: { from: string; to: string; label?: Record<Language, string> }[] = [
  { from: '[*]', to: 'PENDING' },
  { from: 'PENDING', to: 'RECEIVED', label: { ru: 'получена воркером', en: 'a worker took it' } },
  { from: 'RECEIVED', to: 'STARTED' },
  { from: 'STARTED', to: 'SUCCESS' },
  { from: 'STARTED', to: 'RETRY', label: { ru: 'сеть, 5xx, 429', en: 'network, 5xx, 429' } },
  { from: 'RETRY', to: 'RECEIVED', label: { ru: 'через {countdown}', en: 'after {countdown}' } },
  { from: 'STARTED', to: 'RECEIVED', label: { ru: 'сбой воркера (acks_late)', en: 'worker died (acks_late)' } },
  {
    from: 'STARTED',
    to: 'FAILURE',
    label: { ru: '400/401/403 или попытки исчерпаны', en: '400/401/403 or no retries left' },
  },
  { from: 'PENDING', to: 'REVOKED', label: { ru: 'отзыв (revoke)', en: 'revoke' } },
];

/** The index of the edge `from → to` in [`LIFECYCLE`], or -1 when the diagram has none. */
export function edgeIndex(from: string, to: string): number {
  return LIFECYCLE.findIndex((t) => t.from === from && t.to === to);
}

/** The states after which nothing more happens (from Rust's `TaskState::is_ready`). */
const FINAL: ReadonlySet<string> = new Set(FINISHED_STATES);

/** Milliseconds since the epoch of an ISO time, NaN when there is none. */
function ms(iso: string | null | undefined): number {
  return iso ? Date.parse(iso) : Number.NaN;
}

/** The task fields the lifecycle reads (a `Task` from the API has them all). */
export type LifecycleTask = Pick<Task, 'state' | 'timeline' | 'worker'> & { eta?: string | null };

/** A worker the supervisor saw die at `since` (ms): the tasks it had STARTED are being delivered
 * again. `worker` says which host names it covers: one name, a test, or (absent) any. */
export interface LostWorker {
  since: number;
  worker?: string | ((hostname: string | null) => boolean);
}

function covers(lost: LostWorker, hostname: string | null): boolean {
  if (lost.worker === undefined) return true;
  return typeof lost.worker === 'string' ? lost.worker === hostname : lost.worker(hostname);
}

/** One interval of a task's life in the state it was really in; `until` is null while it lasts. */
export interface Segment {
  state: string;
  from: number;
  until: number | null;
}

/** The eta (ms) of step `i` of `task`'s timeline: its own, or for the latest RECEIVED the task's. */
function etaOf(task: LifecycleTask, i: number): number {
  const step = task.timeline[i]!;
  if (step.eta) return ms(step.eta);
  const last = task.timeline.map((s) => s.state).lastIndexOf('RECEIVED');
  return i === last ? ms(task.eta) : Number.NaN;
}

/** The task's life as intervals in the states it was really in, as of `now` (ms): a RECEIVED
 * that waits for its eta after a RETRY is RETRY until the eta; a STARTED whose worker died (and
 * that nothing but a redelivery followed) is RECEIVED from that moment. Repeated states merge
 * into one interval. */
export function segments(task: LifecycleTask, now: number, lost: LostWorker[] = []): Segment[] {
  const out: Segment[] = [];
  const push = (state: string, from: number, until: number | null) => {
    const last = out[out.length - 1];
    if (last && last.state === state) {
      last.until = until;
      return;
    }
    if (last) last.until = from;
    out.push({ state, from, until });
  };
  task.timeline.forEach((step, i) => {
    const from = ms(step.at);
    if (!Number.isFinite(from)) return;
    const next = task.timeline[i + 1];
    const until = next ? ms(next.at) : FINAL.has(step.state) ? from : null;
    const end = until ?? now;
    const previous = out[out.length - 1]?.state;
    const eta = step.state === 'RECEIVED' && previous === 'RETRY' ? etaOf(task, i) : Number.NaN;
    if (eta > from) {
      // The countdown: RETRY until the eta (or until the next step, whichever is first).
      push('RETRY', from, eta >= end ? until : eta);
      if (eta < end) push('RECEIVED', eta, until);
      return;
    }
    const redelivered =
      step.state === 'STARTED' && (!next || next.state === 'RECEIVED') && (next || task.state === 'STARTED');
    const died = redelivered
      ? lost
          .filter((l) => l.since > from && l.since <= end && l.since <= now && covers(l, step.worker ?? task.worker))
          .sort((a, b) => a.since - b.since)[0]
      : undefined;
    push(step.state, from, died ? died.since : until);
    if (died) push('RECEIVED', died.since, until);
  });
  return out;
}

/** The state a task is really in at `now` (ms): what the counts show. The history's state, except
 * that a RECEIVED waiting for its eta after a RETRY is RETRY (as the result backend says), and a
 * STARTED whose worker died is RECEIVED again (it is being delivered again). */
export function effectiveState(task: LifecycleTask, now: number, lost: LostWorker[] = []): string {
  if (task.state !== 'RECEIVED' && task.state !== 'STARTED') return task.state;
  const last = segments(task, now, lost).at(-1);
  if (task.state === 'RECEIVED') return last?.state === 'RETRY' ? 'RETRY' : 'RECEIVED';
  return last?.state === 'RECEIVED' ? 'RECEIVED' : 'STARTED';
}

/** Seconds until a task in its retry countdown may start again, or null when it is not in one. */
export function countdownLeft(task: LifecycleTask, now: number): number | null {
  if (task.state !== 'RECEIVED' || effectiveState(task, now) !== 'RETRY') return null;
  const i = task.timeline.map((s) => s.state).lastIndexOf('RECEIVED');
  const eta = i >= 0 ? etaOf(task, i) : Number.NaN;
  return Number.isFinite(eta) ? Math.max(0, (eta - now) / 1000) : null;
}

/** The soonest end of a retry countdown among `tasks`, in seconds, or null when none waits. */
export function soonestCountdown(tasks: Iterable<LifecycleTask>, now: number): number | null {
  let soonest: number | null = null;
  for (const task of tasks) {
    const left = countdownLeft(task, now);
    if (left !== null && (soonest === null || left < soonest)) soonest = left;
  }
  return soonest;
}

/** A countdown as a teacher says it: «через 3 с», «через 1 мин 5 с»; "in 3 s", "in 1 min 5 s".
 * Whole seconds, rounded up (a countdown never shows 0 before it ends). */
export function countdownText(secs: number, lang: Language): string {
  const whole = Math.max(0, Math.ceil(secs - 1e-6));
  const [min, sec] = [Math.floor(whole / 60), whole % 60];
  return t(min > 0 ? 'lifecycle.countdown_min' : 'lifecycle.countdown', { m: min, s: sec }, lang);
}

/** A task's way through the lifecycle: per state how often it was entered and how long it
 * stayed (the current state counts until `now`), and the transitions it took. */
export interface TaskPath {
  visits: Record<string, { times: number; secs: number }>;
  transitions: Set<string>;
  /** The state it is in now (its last interval's). */
  current: string | null;
}

/** The path of a task (or of a bare `timeline`), as of `now` (ms since the epoch), each interval
 * attributed to the state it was really in (see [`segments`]). */
export function lifecyclePath(task: LifecycleTask | Step[], now: number, lost: LostWorker[] = []): TaskPath {
  const of: LifecycleTask = Array.isArray(task)
    ? { state: task.at(-1)?.state ?? 'PENDING', timeline: task, worker: null }
    : task;
  const visits: TaskPath['visits'] = {};
  const transitions = new Set<string>();
  let previous = '[*]';
  for (const segment of segments(of, now, lost)) {
    transitions.add(`${previous}>${segment.state}`);
    const secs = Math.max(0, ((segment.until ?? now) - segment.from) / 1000);
    const visit = (visits[segment.state] ??= { times: 0, secs: 0 });
    visit.times += 1;
    visit.secs += Number.isFinite(secs) ? secs : 0;
    previous = segment.state;
  }
  return { visits, transitions, current: previous === '[*]' ? null : previous };
}

/** A state's label on the path: `RETRY ×2 · 10.3 s`, `SUCCESS`; with a note (a countdown) in
 * place of the time. */
export function pathLabel(state: string, path: TaskPath, counts: Record<string, number>, note?: string | null): string {
  const visit = path.visits[state];
  const base = stateLabel(state, counts);
  if (!visit) return note ? `${base} · ${note}` : base;
  const times = visit.times > 1 ? ` ×${visit.times}` : '';
  if (note) return `${base}${times} · ${note}`;
  return FINAL.has(state) ? `${base}${times} ✓` : `${base}${times} · ${formatDuration(visit.secs)}`;
}

/** The states a task went through, in order, as of `now` (`[*]` first): what [`newEdges`] diffs. */
export function lifecycleSequence(task: LifecycleTask, now: number, lost: LostWorker[] = []): string[] {
  const states = ['[*]', ...segments(task, now, lost).map((s) => s.state)];
  const shown = effectiveState(task, now, lost);
  // The result can be ahead of the events (a final state from `celery-task-meta-*`).
  if (FINAL.has(shown) && states[states.length - 1] !== shown) states.push(shown);
  return states;
}

/** The lifecycle edges (indexes into [`LIFECYCLE`]) crossed between two sequences of the same
 * task: the transitions after their common beginning. A stale, shorter view crosses none. */
export function newEdges(before: string[], after: string[]): number[] {
  let common = 0;
  while (common < before.length && common < after.length && before[common] === after[common]) common++;
  const edges: number[] = [];
  for (let i = Math.max(common, 1); i < after.length; i++) {
    const index = edgeIndex(after[i - 1]!, after[i]!);
    if (index >= 0 && !edges.includes(index)) edges.push(index);
  }
  return edges;
}

/** Which lifecycle edges to flash when a task's view changes from `before` to `after` (none for a
 * task seen for the first time: its past is not news). */
export function edgesToFlash(
  before: LifecycleTask | undefined,
  after: LifecycleTask,
  now: number,
  lost: LostWorker[] = [],
): number[] {
  return before ? newEdges(lifecycleSequence(before, now, lost), lifecycleSequence(after, now, lost)) : [];
}

/** The worker process as the supervisor reports it (`ProcessStatus`). */
export interface WorkerProcess {
  state: string;
  pid: number | null;
}

/** How long after a paint the next one still counts as watching (ms): a change seen later than
 * that, e.g. when the diagram is shown again, is not flashed. */
const WATCHING_MS = 2000;

/** What the lifecycle diagram remembers between paints: each task's sequence of states (to flash
 * the edges it crosses) and the deaths of the managed worker (to move its tasks back). */
export class LifecycleMotion {
  private readonly seen = new Map<string, string[]>();
  private lastStep = Number.NEGATIVE_INFINITY;
  private worker: WorkerProcess | null = null;
  /** The managed worker's deaths (newest last, a few kept). */
  readonly lost: LostWorker[] = [];

  constructor(private readonly managedWorker: (hostname: string | null) => boolean = isManagedWorker) {}

  /** Notes the supervisor's view of the worker process at `now`: when the one that ran stops
   * running (crashed, killed, restarting — not a polite stop still finishing), its tasks are
   * being delivered again. */
  observeWorker(process: WorkerProcess | undefined, now: number): void {
    const before = this.worker;
    this.worker = process ? { state: process.state, pid: process.pid } : null;
    if (!before || before.state !== 'running') return;
    const gone =
      !process ||
      (process.state !== 'running' && process.state !== 'stopping') ||
      (process.pid !== null && process.pid !== before.pid);
    if (gone) {
      this.lost.push({ since: now, worker: this.managedWorker });
      if (this.lost.length > 5) this.lost.shift();
    }
  }

  /** The task's state as the counts show it at `now`. */
  stateOf(task: LifecycleTask, now: number): string {
    return effectiveState(task, now, this.lost);
  }

  /** Diffs every task against the last paint and returns the edges crossed since (none on the
   * first paint, or after the diagram was not watched for a while). */
  step(tasks: Iterable<LifecycleTask & { task_id: string }>, now: number): Set<number> {
    const watching = now - this.lastStep <= WATCHING_MS;
    this.lastStep = now;
    const flash = new Set<number>();
    const present = new Set<string>();
    for (const task of tasks) {
      present.add(task.task_id);
      const sequence = lifecycleSequence(task, now, this.lost);
      const before = this.seen.get(task.task_id);
      if (before && watching) for (const edge of newEdges(before, sequence)) flash.add(edge);
      this.seen.set(task.task_id, sequence);
    }
    for (const id of this.seen.keys()) if (!present.has(id)) this.seen.delete(id);
    return flash;
  }
}

/** Whether `hostname` is a worker the app supervises: the desk names it `stackdesk@<host>`
 * (crates/desk/src/stack.rs); a Python worker beside it has a name of its own. */
export function isManagedWorker(hostname: string | null): boolean {
  return hostname !== null && hostname.startsWith('stackdesk@');
}

/** The note on the RETRY node: the countdown of the selected task when one is selected (none when
 * it is not counting down), else the soonest countdown of all tasks («через 3 с»). */
export function retryNote(
  tasks: Iterable<LifecycleTask>,
  selected: LifecycleTask | undefined | null,
  now: number,
  lang: Language,
): string | null {
  const left = selected ? countdownLeft(selected, now) : soonestCountdown(tasks, now);
  return left === null ? null : countdownText(left, lang);
}
