// What the live layer paints on a rendered diagram, as pure functions of the UI's state (unit
// tested): a class per process node, counts and a selected task's path on the lifecycle, facts
// from Redis, measured durations, which edges a message crosses. The SVG is never re-rendered
// for these: only classes and text change.

import type { Health, KeyGlance, KeyRole, Language, ProcessKind, ProcessState, RedisGlance, Task } from '../ipc';
import { formatCount, formatDuration, formatMs } from '../format';
import { light } from '../state';

/** Every class the live layer may put on a node (removed before the current one is added). */
export const LIVE_CLASSES = ['live-on', 'live-busy', 'live-bad', 'live-off', 'live-ext', 'live-degraded'] as const;

/** The class of a process node for its supervisor state and its health: a process that runs
 * but cannot do its job (its Redis is gone, its heartbeats stopped) is not drawn as fine. */
export function processClass(state: ProcessState | undefined, health?: Health): (typeof LIVE_CLASSES)[number] {
  if (health?.level === 'degraded') return 'live-degraded';
  return `live-${light(state ?? 'stopped')}`;
}

/** Diagram node ids that stand for a process. */
export const PROCESS_NODES: Record<string, ProcessKind> = { redis: 'redis', api: 'api', worker: 'worker' };

/** The node id inside a Mermaid element id (`…flowchart-api-3` → `api`, `…state-STARTED-2` → `STARTED`). */
export function nodeIdOf(elementId: string): string | null {
  const match = /(?:^|-)(?:flowchart|state)-([A-Za-z][\w]*(?:-[A-Za-z][\w]*)*)-\d+$/.exec(elementId);
  return match?.[1] ?? null;
}

/** A flowchart edge's `from>to:n` inside its element id (`…-L_api_redis_0` → `api>redis:0`):
 * the n-th edge drawn from `from` to `to`. */
export function flowEdgeOf(elementId: string): string | null {
  const match = /(?:^|-)L_([A-Za-z0-9]+)_([A-Za-z0-9]+)_(\d+)$/.exec(elementId);
  return match ? `${match[1]}>${match[2]}:${match[3]}` : null;
}

/** Spaces paints at least `interval` ms apart: returns how long to wait before the next one. */
export function paintDelay(lastPaint: number, now: number, interval = 100): number {
  return Math.max(0, lastPaint + interval - now);
}

// ---------------------------------------------------------------- the architecture

/** The architecture's edges a message crosses when the system reports `event`: `from>to:n`,
 * the n-th edge drawn from `from` to `to` (the worker has two to Redis: it takes a message
 * over the first and writes results and events over the second). Every report reached the app
 * through its subscription to Redis's events (`app>redis:0`). */
export function pulsesFor(event: 'product' | 'task', task?: Pick<Task, 'state' | 'result'>): string[] {
  return [...crossed(event, task), 'app>redis:0'];
}

function crossed(event: 'product' | 'task', task?: Pick<Task, 'state' | 'result'>): string[] {
  if (event === 'product') return ['client>api:0', 'api>redis:0', 'api>client:0'];
  switch (task?.state) {
    case 'RECEIVED':
      return ['worker>redis:0'];
    case 'SUCCESS': {
      const sent = (task.result as { status?: string } | null)?.status === 'sent';
      return sent ? ['worker>tg:0', 'worker>redis:1'] : ['worker>redis:1'];
    }
    case 'RETRY':
    case 'FAILURE':
      return ['worker>redis:1'];
    default:
      return [];
  }
}

/** Edges whose message travels against the arrow (the worker takes a message from Redis; the
 * app's subscription brings events from it). */
export const PULLED = new Set(['worker>redis:0', 'app>redis:0']);

const WORDS = {
  ru: {
    queue: 'в очереди',
    flight: 'взято',
    results: 'результатов:',
    idle: 'ждёт задач',
    now: 'сейчас',
    workers: 'воркеров:',
    revoked: 'отозвано:',
    noRedis: 'нет связи с Redis',
    silent: 'не отвечает',
  },
  en: {
    queue: 'queued',
    flight: 'taken',
    results: 'results:',
    idle: 'waiting for tasks',
    now: 'now',
    workers: 'workers:',
    revoked: 'revoked:',
    noRedis: 'no Redis connection',
    silent: 'not answering',
  },
};

/** The architecture's live lines: the worker's task (`w`) — or why it cannot take one — the
 * queue (`q`) and the results (`r`). */
export function architectureLines(
  glance: RedisGlance | null,
  tasks: Task[],
  lang: Language,
  worker?: Health,
): Record<string, string> {
  const w = WORDS[lang];
  const more = glance?.truncated ? '+' : '';
  const trouble =
    worker?.level === 'degraded' ? (worker.problem.kind === 'worker_silent' ? w.silent : w.noRedis) : null;
  return {
    w: trouble ?? workerLine(tasks, lang),
    q: glance ? `${w.queue} ${glance.queued} · ${w.flight} ${glance.in_flight}` : `${w.queue} — · ${w.flight} —`,
    r: glance ? `${w.results} ${glance.results}${more}` : `${w.results} —`,
  };
}

/** The worker node's live line: the task it runs (`▶ #12 Phone`), or that it waits. */
export function workerLine(tasks: Task[], lang: Language): string {
  const running = tasks.filter((t) => t.state === 'STARTED');
  if (running.length === 0) return WORDS[lang].idle;
  if (running.length > 1) return `▶ ${formatCount(running.length, 'task', lang)}`;
  const product = Array.isArray(running[0]!.args)
    ? (running[0]!.args[0] as { id?: number; name?: string } | undefined)
    : undefined;
  const name = [...(product?.name ?? '')].slice(0, 12).join('');
  return `▶ #${product?.id ?? '?'} ${name}`.trim();
}

// ---------------------------------------------------------------- the Redis keys

/** A single key of a glance by its role (the backend names the keys; the UI never spells one). */
function keyWith(glance: RedisGlance, role: KeyRole): KeyGlance | undefined {
  return [...glance.celery_keys, ...glance.our_keys].find((k) => k.role === role);
}

/** A family of keys of a glance (`celery-task-meta-*`) by its role. */
function family(glance: RedisGlance, role: KeyRole) {
  return glance.groups.find((g) => g.role === role);
}

/** The Redis diagram's live lines, two per node (`q`, `q2`, `u`, `u2`, …), from a glance. */
export function redisKeyLines(glance: RedisGlance, lang: Language): Record<string, string> {
  const size = (role: KeyRole) => keyWith(glance, role)?.size ?? 0;
  const meta = family(glance, 'result');
  const ttl = meta?.samples.map((s) => s.ttl_ms).filter((t): t is number => t !== null);
  const w = WORDS[lang];
  const now = w.now;
  return {
    q: `${now} ${glance.queued}`,
    q2: glance.queue_head[0]?.slice(0, 8) ?? '',
    u: `${now} ${glance.in_flight}`,
    u2: glance.in_flight_ids[0]?.slice(0, 8) ?? '',
    m: `${now} ${meta?.count ?? 0}`,
    m2: ttl?.length ? `TTL ${formatDuration(Math.min(...ttl) / 1000, lang)}` : '',
    p: `${now} ${size('products')}`,
    p2: `product:*: ${family(glance, 'product')?.count ?? 0}`,
    t: `${now} ${size('tasks')}`,
    t2: `task:*: ${family(glance, 'task')?.count ?? 0}`,
    k: `${w.workers} ${size('workers')} · ${w.revoked} ${size('revoked')}`,
    k2: `dead_letter: ${size('dead_letter')}`,
  };
}

/** What each Redis diagram node stands for. */
const NODE_ROLES: Record<string, KeyRole> = {
  queue: 'queue',
  unacked: 'unacked',
  meta: 'result',
  products: 'products',
  tasks: 'tasks',
  misc: 'workers',
};

/** The key a Redis diagram node opens when clicked (none before the first glance). */
export function keyOfNode(node: string, glance: RedisGlance | null): string | null {
  const role = NODE_ROLES[node];
  if (!role || !glance) return null;
  return keyWith(glance, role)?.key ?? family(glance, role)?.samples[0]?.key ?? null;
}

// ---------------------------------------------------------------- the product flow

/** The last product request, as measured. */
export interface LastRequest {
  /** Server steps, ms (`validate`, `store`). */
  steps: Record<string, number>;
  /** Round trip to the 201, ms. */
  totalMs: number;
  taskId: string;
}

/** The product flow's live lines: the last request's measured steps (`v`alidation, `s`tore,
 * `total` to the 201) and its task's time in the worker (`n`). */
export function flowLines(last: LastRequest | null, task: Task | undefined, lang: Language): Record<string, string> {
  const none = { v: '', s: '', total: '', n: '' };
  if (!last) return none;
  const taskLine = task?.runtime !== null && task?.runtime !== undefined ? formatDuration(task.runtime, lang) : '';
  return {
    v: formatMs(last.steps.validate, lang),
    s: formatMs(last.steps.store, lang),
    total: formatMs(last.totalMs, lang),
    n: taskLine,
  };
}
