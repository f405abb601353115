// Health beside the process states, as the header and the cards tell it: running, running but
// degraded (and why, in plain words), or stopped; and a saved change still waiting for a restart.
// Free of the DOM, so that it is unit-tested with node's test runner.

import { formatDuration } from './format';
import { type Key, t } from './i18n';
import {
  type Health,
  type HealthProblem,
  type Language,
  PROCESSES,
  type ProcessKind,
  type ProcessStatus,
  type SettingsView,
  type Snapshot,
} from './ipc';

/** Only a process that is up has a health of its own; a report never outlives its process. */
export function healthOf(status: ProcessStatus | undefined, snapshot: Snapshot | null): Health {
  if (!status || (status.state !== 'running' && status.state !== 'external')) return { level: 'down' };
  return snapshot?.health?.[status.process] ?? { level: 'healthy' };
}

/** The stack as the header tells it. */
export type StackLevel = 'stopped' | 'running' | 'partly';

/** Running when every process is up and healthy; partly when one is degraded, stopped or restarting. */
export function stackLevel(snapshot: Snapshot | null): StackLevel {
  if (!snapshot?.running) return 'stopped';
  const whole = PROCESSES.every(
    (p) =>
      healthOf(
        snapshot.processes.find((s) => s.process === p),
        snapshot,
      ).level === 'healthy',
  );
  return whole ? 'running' : 'partly';
}

/** The header's words for a level. */
export function stackLevelKey(level: StackLevel): Key {
  return level === 'running' ? 'stack.running' : level === 'partly' ? 'stack.partly' : 'stack.stopped';
}

/** What keeps the stack from running whole, process by process: «Redis: остановлен», «API: работает частично». */
export function troubles(snapshot: Snapshot | null, lang?: Language): string[] {
  if (!snapshot?.running) return [];
  const out: string[] = [];
  for (const process of PROCESSES) {
    const status = snapshot.processes.find((s) => s.process === process);
    const health = healthOf(status, snapshot);
    if (health.level === 'healthy') continue;
    const state =
      health.level === 'degraded'
        ? t('health.degraded', {}, lang)
        : t(`state.${status?.state ?? 'stopped'}` as Key, {}, lang);
    out.push(`${t(`process.${process}` as Key, {}, lang)}: ${state}`);
  }
  return out;
}

/** Why a degraded process cannot do its job, in plain words. */
export function problemText(problem: HealthProblem, lang?: Language): string {
  switch (problem.kind) {
    case 'redis_no_answer':
      return t('health.redis_no_answer', {}, lang);
    case 'api_redis_unreachable':
      return t('health.api_redis_unreachable', {}, lang);
    case 'api_no_answer':
      return t('health.api_no_answer', {}, lang);
    case 'worker_redis_unreachable':
      return t('health.worker_redis_unreachable', {}, lang);
    case 'worker_silent':
      // Whole seconds: «уже дольше 5 с».
      return t('health.worker_silent', { limit: formatDuration(Math.round(problem.limit_secs), lang) }, lang);
    default: {
      const unknown: never = problem;
      return String(unknown);
    }
  }
}

/** A saved change the running stack does not use yet. */
export interface Pending {
  processes: ProcessKind[];
  /** The API's port now and after the restart, when that is what changed. */
  apiPort: { running: string; saved: string } | null;
}

/** The port of an `http://host:port` URL ('' when none). */
function portOf(url: string): string {
  return /:(\d+)\/?$/.exec(url)?.[1] ?? '';
}

/** What waits for a restart of the stack, or null. */
export function pending(snapshot: Snapshot | null, settings: SettingsView | null): Pending | null {
  const processes = snapshot?.running ? (snapshot.restart_pending ?? []) : [];
  if (!snapshot || !processes.length) return null;
  const running = portOf(snapshot.api_url);
  const saved = settings?.values.API_PORT ?? '';
  const apiPort = processes.includes('api') && saved && running && saved !== running ? { running, saved } : null;
  return { processes, apiPort };
}

/** The sentence that says what waits for the restart. */
export function pendingText(p: Pending, lang?: Language): string {
  const others = p.apiPort ? p.processes.filter((process) => process !== 'api') : p.processes;
  const list = others.map((process) => t(`process.${process}` as Key, {}, lang)).join(', ');
  const restart = others.length ? t('pending.restart', { list }, lang) : '';
  const port = p.apiPort ? t('pending.api_port', { old: p.apiPort.running, new: p.apiPort.saved }, lang) : '';
  return [port, restart].filter(Boolean).join(' ');
}
