// What the live layer paints on a rendered diagram, as pure functions of the UI's state (unit
// tested): a class per process node, a count per lifecycle state. The SVG is never re-rendered
// for these: only classes and text change.

import type { ProcessKind, ProcessState } from '../ipc';
import { light } from '../state';

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

/** A lifecycle state's label with its count (`STARTED · 3`). */
export function stateLabel(state: string, counts: Record<string, number>): string {
  const n = counts[state] ?? 0;
  return n > 0 ? `${state} · ${n}` : state;
}

/** Spaces paints at least `interval` ms apart: returns how long to wait before the next one. */
export function paintDelay(lastPaint: number, now: number, interval = 100): number {
  return Math.max(0, lastPaint + interval - now);
}
