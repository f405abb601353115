// What the live layer paints on a rendered diagram, as pure functions of the UI's state (unit
// tested): a class per process node, counts and a selected task's path on the lifecycle, facts
// from Redis, measured durations, which edges a message crosses. The SVG is never re-rendered
// for these: only classes and text change.

import type { Language, ProcessKind, ProcessState, RedisGlance, Task } from '../ipc';
import { formatDuration, light } from '../state';

/** Every class the live layer may put on a node (removed before the current one is added). */
export const LIVE_CLASSES = ['live-on', 'live-busy', 'live-bad', 'live-off', 'live-ext'] as const;

/** The class of a process node for its supervisor state. */
export function processClass(state: ProcessState | undefined): (typeof LIVE_CLASSES)[number] {
  return `live-${light(state ?? 'stopped')}`;
}

/** Diagram node ids that stand for a process. */
export const PROCESS_NODES: Record<string, ProcessKind> = { redis: 'redis', api: 'api', worker: 'worker' };

/** The node id inside a Mermaid element id (`…flowchart-api-3` → `api`, `…state-STARTED-2` → `STARTED`). */
export function nodeIdOf(elementId: string): string | null {
  const match = /(?:^|-)(?:flowchart|state)-([A-Za-z][\w]*(?:-[A-Za-z][\w]*)*)-\d+$/.exec(elementId);
  return match?.[1] ?? null;
}

/** A flowchart edge's `from>to` inside its element id (`…-L_api_redis_0` → `api>redis`). */
export function flowEdgeOf(elementId: string): string | null {
  const match = /(?:^|-)L_([A-Za-z0-9]+)_([A-Za-z0-9]+)_\d+$/.exec(elementId);
  return match ? `${match[1]}>${match[2]}` : null;
}

/** Spaces paints at least `interval` ms apart: returns how long to wait before the next one. */
export function paintDelay(lastPaint: number, now: number, interval = 100): number {
  return Math.max(0, lastPaint + interval - now);
}

// ---------------------------------------------------------------- the architecture

/** The architecture's edges a message crosses when the system reports `event`. */
export function pulsesFor(event: 'product' | 'task', task?: Pick<Task, 'state' | 'result'>): string[] {
  if (event === 'product') return ['client>api', 'api>redis', 'api>client'];
  switch (task?.state) {
    case 'RECEIVED':
      return ['redis>worker'];
    case 'SUCCESS': {
      const sent = (task.result as { status?: string } | null)?.status === 'sent';
      return sent ? ['worker>tg', 'worker>redis'] : ['worker>redis'];
    }
    case 'RETRY':
    case 'FAILURE':
      return ['worker>redis'];
    default:
      return [];
  }
}

const WORDS = {
  ru: { queue: 'очередь', flight: 'в работе', results: 'результатов', idle: 'ждёт задач', tasks: 'задач' },
  en: { queue: 'queue', flight: 'in flight', results: 'results', idle: 'waiting for tasks', tasks: 'tasks' },
};

/** The Redis node's live line: `queue 3 · in flight 1 · results 42`. */
export function redisLine(glance: Pick<RedisGlance, 'queued' | 'in_flight' | 'results' | 'truncated'> | null, lang: Language): string {
  const w = WORDS[lang];
  if (!glance) return `${w.queue} — · ${w.flight} — · ${w.results} —`;
  const more = glance.truncated ? '+' : '';
  return `${w.queue} ${glance.queued} · ${w.flight} ${glance.in_flight} · ${w.results} ${glance.results}${more}`;
}

/** The worker node's live line: the task it runs (`▶ #12 Phone`), or that it waits. */
export function workerLine(tasks: Task[], lang: Language): string {
  const running = tasks.filter((t) => t.state === 'STARTED');
  if (running.length === 0) return WORDS[lang].idle;
  if (running.length > 1) return `▶ ${running.length} ${WORDS[lang].tasks}`;
  const product = Array.isArray(running[0]!.args) ? (running[0]!.args[0] as { id?: number; name?: string } | undefined) : undefined;
  const name = (product?.name ?? '').slice(0, 14);
  return `▶ #${product?.id ?? '?'} ${name}`.trim();
}

// ---------------------------------------------------------------- the Redis keys

/** The Redis diagram's live line per node, from a glance. */
export function redisKeyLines(glance: RedisGlance, lang: Language): Record<string, string> {
  const single = (key: string) => [...glance.celery_keys, ...glance.our_keys].find((k) => k.key === key);
  const group = (pattern: string) => glance.groups.find((g) => g.pattern === pattern);
  const meta = group('celery-task-meta-*');
  const ttl = meta?.samples.map((s) => s.ttl_ms).filter((t): t is number => t !== null);
  const ru = lang === 'ru';
  const now = ru ? 'сейчас' : 'now';
  return {
    queue: `${now}: ${glance.queued}${glance.queue_head[0] ? ` · ${ru ? 'следующая' : 'next'} ${glance.queue_head[0].slice(0, 8)}` : ''}`,
    unacked: `${now}: ${glance.in_flight}${glance.in_flight_ids[0] ? ` · ${glance.in_flight_ids[0].slice(0, 8)}` : ''}`,
    meta: `${now}: ${meta?.count ?? 0}${ttl?.length ? ` · TTL ${formatDuration(Math.min(...ttl) / 1000)}` : ''}`,
    products: `${now}: ${single('stackdesk:products')?.size ?? 0} · product:* ${group('stackdesk:product:*')?.count ?? 0}`,
    tasks: `${now}: ${single('stackdesk:tasks')?.size ?? 0} · task:* ${group('stackdesk:task:*')?.count ?? 0}`,
    misc: `workers ${single('stackdesk:workers')?.size ?? 0} · revoked ${single('stackdesk:revoked')?.size ?? 0} · dead ${single('stackdesk:dead_letter')?.size ?? 0}`,
  };
}

/** The key a Redis diagram node opens when clicked. */
export function keyOfNode(node: string, glance: RedisGlance | null): string | null {
  switch (node) {
    case 'queue':
      return 'celery';
    case 'unacked':
      return 'unacked';
    case 'meta':
      return glance?.groups.find((g) => g.pattern === 'celery-task-meta-*')?.samples[0]?.key ?? null;
    case 'products':
      return 'stackdesk:products';
    case 'tasks':
      return 'stackdesk:tasks';
    case 'misc':
      return 'stackdesk:workers';
    default:
      return null;
  }
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

/** Milliseconds as the flow shows them (`0.04 ms`, `3.2 ms`, `1.2 s`). */
export function ms(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  if (value < 1) return `${value.toFixed(2)} ms`;
  if (value < 1000) return `${value.toFixed(1)} ms`;
  return formatDuration(value / 1000);
}

/** What the product flow's messages (numbered from 1, as drawn) gain: measured durations. */
export function flowNotes(last: LastRequest | null, task: Task | undefined): Record<number, string> {
  if (!last) return {};
  const notes: Record<number, string> = {
    2: ms(last.steps.validate),
    3: ms(last.steps.store),
    4: ms(last.totalMs),
  };
  if (task?.runtime !== null && task?.runtime !== undefined) notes[7] = formatDuration(task.runtime);
  else if (task) notes[7] = task.state;
  return notes;
}
