// The values the diagrams print (ports, concurrency, prefetch, retry countdown, simulated send,
// result lifetime), taken from the running stack wherever it says them, so that a diagram never
// claims 8000 while the API listens on 8010. Pure functions of the UI's state (unit tested).

import type { ProcessStatus, SettingsView, Snapshot, WorkerView } from '../ipc';

/** Where a value on a diagram comes from. */
export type FactSource =
  /** Read from the running stack (a process's port, a worker's own `stats`). */
  | 'running'
  /** The settings the stack starts with (saved, else the environment, else the default). */
  | 'settings';

/** What the diagrams say about the system, and where it comes from. */
export interface StackFacts {
  /** Whether the stack runs: when not, every value is what the next Start will use. */
  running: boolean;
  redisPort: number | null;
  apiPort: number | null;
  /** Where the task monitor answers (in the app's own process). */
  monitorPort: number;
  /** Tasks a worker runs at once. */
  concurrency: number;
  /** Messages a worker holds: Celery's `worker_prefetch_multiplier` (4) × concurrency. */
  prefetch: number;
  /** Where concurrency and prefetch come from. */
  workerSource: FactSource;
  maxRetries: number;
  countdownSecs: number;
  /** The simulated send, seconds (used while Telegram is not set up). */
  simulatedSecs: number;
  /** Whether a bot token is set: the worker sends for real. */
  telegram: boolean;
  /** How long a result stays in Redis, seconds. */
  resultTtlSecs: number;
}

/** Celery's `worker_prefetch_multiplier` default, which our worker keeps (see README). */
export const PREFETCH_MULTIPLIER = 4;

function number(values: Record<string, string>, key: string, fallback: number): number {
  const value = Number(values[key]);
  return values[key] !== undefined && values[key] !== '' && Number.isFinite(value) ? value : fallback;
}

function portOf(url: string): number | null {
  const match = /:(\d+)(?:\/|$)/.exec(url.replace(/^[a-z]+:\/\//, ''));
  return match ? Number(match[1]) : null;
}

/** The facts from the settings, the supervisor's snapshot and the workers' own answers. */
export function stackFacts(
  settings: SettingsView | null,
  snapshot: Snapshot | null,
  workers: WorkerView[] = [],
): StackFacts {
  const values = { ...(settings?.defaults ?? {}), ...(settings?.values ?? {}) };
  const running = snapshot?.running ?? false;
  const process = (kind: ProcessStatus['process']) => snapshot?.processes.find((p) => p.process === kind);
  const livePort = (kind: ProcessStatus['process']) => (running ? (process(kind)?.port ?? null) : null);
  const concurrencySetting = number(values, 'WORKER_CONCURRENCY', 1);
  // The worker the stack runs (named `stackdesk@…`), else any that answers: a Python worker in
  // its place (external) tells its own figures.
  const answering = running ? workers.filter((w) => w.online && w.stats) : [];
  const ours = answering.find((w) => w.hostname.startsWith('stackdesk@')) ?? answering[0];
  const stats = ours?.stats as { prefetch_count?: number; pool?: { 'max-concurrency'?: number } } | undefined;
  const liveConcurrency = stats?.pool?.['max-concurrency'];
  const concurrency = typeof liveConcurrency === 'number' ? liveConcurrency : concurrencySetting;
  const prefetch = typeof stats?.prefetch_count === 'number' ? stats.prefetch_count : concurrency * PREFETCH_MULTIPLIER;
  return {
    running,
    redisPort:
      livePort('redis') ?? portOf(values.REDIS_URL ?? snapshot?.redis_url ?? '') ?? number(values, 'REDIS_PORT', 6379),
    apiPort: livePort('api') ?? number(values, 'API_PORT', 8000),
    monitorPort: (running ? portOf(snapshot?.monitor_url ?? '') : null) ?? number(values, 'MONITOR_PORT', 5555),
    concurrency,
    prefetch,
    workerSource: stats ? 'running' : 'settings',
    maxRetries: number(values, 'TASK_MAX_RETRIES', 3),
    countdownSecs: number(values, 'TASK_RETRY_COUNTDOWN_SECS', 5),
    simulatedSecs: number(values, 'NOTIFY_SIMULATED_SECS', 30),
    telegram: Boolean(settings?.secrets_set.includes('TELEGRAM_BOT_TOKEN')),
    resultTtlSecs: number(values, 'RESULT_EXPIRES_SECS', 86_400),
  };
}

/** The course's defaults (what the diagrams say before the app knows better). */
export const COURSE_FACTS: StackFacts = stackFacts(null, null);
