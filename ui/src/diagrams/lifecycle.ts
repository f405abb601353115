// The task lifecycle diagram's live layer: counts per state, a selected task's path through the
// states and the time it spent in each, as pure functions of the UI's state (unit tested).

import type { Language, Step } from '../ipc';
import { formatDuration } from '../state';

/** A state diagram edge's number inside its element id (`…-edge4` → 4): the transition's index. */
export function stateEdgeOf(elementId: string): number | null {
  const match = /(?:^|-)edge(\d+)$/.exec(elementId);
  return match ? Number(match[1]) : null;
}

/** A lifecycle state's label with its count (`STARTED · 3`). */
export function stateLabel(state: string, counts: Record<string, number>): string {
  const n = counts[state] ?? 0;
  return n > 0 ? `${state} · ${n}` : state;
}

/** The lifecycle's transitions, in the order the diagram declares them (Mermaid numbers its
 * edges in that order: `edge0`, `edge1`, …). `[*]` is the start or the end. */
export const LIFECYCLE: { from: string; to: string; label?: Record<Language, string> }[] = [
  { from: '[*]', to: 'PENDING', label: { ru: 'POST /products/', en: 'POST /products/' } },
  { from: 'PENDING', to: 'RECEIVED', label: { ru: 'воркер взял', en: 'a worker took it' } },
  { from: 'RECEIVED', to: 'STARTED' },
  { from: 'STARTED', to: 'SUCCESS' },
  { from: 'STARTED', to: 'RETRY', label: { ru: 'сеть, 5xx, 429', en: 'network, 5xx, 429' } },
  { from: 'RETRY', to: 'RECEIVED', label: { ru: 'через TASK_RETRY_COUNTDOWN_SECS', en: 'after TASK_RETRY_COUNTDOWN_SECS' } },
  { from: 'STARTED', to: 'RECEIVED', label: { ru: 'воркер умер: снова из очереди (acks late)', en: 'worker died: delivered again (acks late)' } },
  { from: 'STARTED', to: 'FAILURE', label: { ru: '400/401/403 или повторы кончились', en: '400/401/403 or no retries left' } },
  { from: 'PENDING', to: 'REVOKED', label: { ru: 'revoke', en: 'revoke' } },
  { from: 'SUCCESS', to: '[*]' },
  { from: 'FAILURE', to: '[*]' },
  { from: 'REVOKED', to: '[*]' },
];

const FINAL = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);

/** A task's way through the lifecycle: per state how often it was entered and how long it
 * stayed (the current state counts until `now`), and the transitions it took. */
export interface TaskPath {
  visits: Record<string, { times: number; secs: number }>;
  transitions: Set<string>;
}

/** The path of a task with `timeline` (steps in order), as of `now` (ms since the epoch). */
export function lifecyclePath(timeline: Step[], now: number): TaskPath {
  const visits: TaskPath['visits'] = {};
  const transitions = new Set<string>();
  let previous = '[*]';
  timeline.forEach((step, i) => {
    if (step.state === previous) return;
    transitions.add(`${previous}>${step.state}`);
    const next = timeline[i + 1];
    const until = next ? Date.parse(next.at) : FINAL.has(step.state) ? Date.parse(step.at) : now;
    const secs = Math.max(0, (until - Date.parse(step.at)) / 1000);
    const visit = (visits[step.state] ??= { times: 0, secs: 0 });
    visit.times += 1;
    visit.secs += Number.isFinite(secs) ? secs : 0;
    previous = step.state;
  });
  if (FINAL.has(previous)) transitions.add(`${previous}>[*]`);
  return { visits, transitions };
}

/** A state's label on the path: `RETRY ×2 · 10.3 s`, `SUCCESS`. */
export function pathLabel(state: string, path: TaskPath, counts: Record<string, number>): string {
  const visit = path.visits[state];
  const base = stateLabel(state, counts);
  if (!visit) return base;
  const times = visit.times > 1 ? ` ×${visit.times}` : '';
  return FINAL.has(state) ? `${base}${times} ✓` : `${base}${times} · ${formatDuration(visit.secs)}`;
}
