// The UI's shared state and its paint scheduler. What more than one view reads or writes lives
// here and changes only through the methods below; each view subscribes a painter to the parts of
// the page it owns, and a change marks the parts to repaint: they are painted at most once per
// animation frame, only the dirty ones, so bursts of events never freeze the page.

import type { LastRequest } from './diagrams/live';
import {
  type Api,
  type Monitor,
  PROCESSES,
  type ProcessKind,
  type ProcessStatus,
  type Product,
  type SettingsView,
  type Snapshot,
  type StackHealth,
} from './ipc';
import { LogBuffer, QueueWatch, TaskStore } from './state';

export type Tab = 'dashboard' | 'products' | 'tasks' | 'diagrams' | 'settings';
export const TABS: readonly Tab[] = ['dashboard', 'products', 'tasks', 'diagrams', 'settings'];

/** The parts of the page a painter is subscribed to. */
export type Part = 'header' | 'cards' | 'log' | 'products' | 'tasks' | 'drawer' | 'diagrams' | 'settings';
export const PARTS: readonly Part[] = ['header', 'cards', 'log', 'products', 'tasks', 'drawer', 'diagrams', 'settings'];

/** How many tasks the history loads and lists. */
export const ROWS = 200;

/** The shared values, each written with `Store.update` (or a named method below). */
export interface Shared {
  /** The supervisor's last word on the stack (null until the first snapshot). */
  snapshot: Snapshot | null;
  /** The saved settings (null until read). */
  settings: SettingsView | null;
  /** The stack's products API at the snapshot's URL, while it is followed. */
  api: Api | null;
  /** The stack's task monitor at the snapshot's URL (history, live feed, controls), while followed. */
  monitor: Monitor | null;
  /** The newest products, newest first. */
  products: readonly Product[];
  /** The tab shown. */
  tab: Tab;
  /** Whose log the dashboard shows, what it searches for, and whether it follows the end. */
  logProcess: ProcessKind;
  logSearch: string;
  logFollow: boolean;
  /** The task history's state filter and search. */
  taskFilter: string | null;
  taskSearch: string;
  /** The task in the drawer (and whose path the lifecycle draws). */
  selectedTask: string | null;
  /** The diagram shown on the Diagrams tab. */
  diagram: string;
  /** The last product request, as measured (the product flow shows it). */
  lastRequest: LastRequest | null;
  /** Whether the page is in presentation mode. */
  presenting: boolean;
  /** Start or Stop under way (the header says so instead of the stack's level). */
  busy: 'starting' | 'stopping' | null;
}

export class Store {
  /** The tasks the UI knows. */
  readonly tasks = new TaskStore();
  /** Each process's log. */
  readonly logs = Object.fromEntries(PROCESSES.map((p) => [p, new LogBuffer()])) as Record<ProcessKind, LogBuffer>;
  /** The queue's depth over the last samples (the history's no-worker warning). */
  readonly queue = new QueueWatch();
  /** Architecture edges (`from>to:n`) a message crossed since the diagram last painted them. */
  readonly pulses = new Set<string>();

  private readonly shared: Shared = {
    snapshot: null,
    settings: null,
    api: null,
    monitor: null,
    products: [],
    tab: 'dashboard',
    logProcess: 'redis',
    logSearch: '',
    logFollow: true,
    taskFilter: null,
    taskSearch: '',
    selectedTask: null,
    diagram: 'architecture',
    lastRequest: null,
    presenting: false,
    busy: null,
  };
  private readonly painters = new Map<Part, (() => void)[]>();
  private readonly dirty = new Set<Part>();
  /** Whether a paint is scheduled (one per frame, whatever the number of changes). */
  private scheduled = false;

  /** `schedule` runs a paint before the next frame (`requestAnimationFrame` in the page). */
  constructor(private readonly schedule: (paint: () => void) => unknown) {}

  /** The shared values, to read. */
  get state(): Readonly<Shared> {
    return this.shared;
  }

  /** Writes `patch`, and marks `parts` to repaint. */
  update(patch: Partial<Shared>, ...parts: Part[]): void {
    if (patch.snapshot) patch = { ...patch, snapshot: this.withNewerHealth(patch.snapshot) };
    Object.assign(this.shared, patch);
    this.render(...parts);
  }

  /** `snapshot`, keeping the health held now when a newer telling of it came by event (an
   * action's answer can arrive after the health events that followed it). */
  private withNewerHealth(snapshot: Snapshot): Snapshot {
    const held = this.shared.snapshot;
    if (!held || held.health_revision <= snapshot.health_revision) return snapshot;
    return { ...snapshot, health: held.health, health_revision: held.health_revision };
  }

  /** A process's status in the snapshot. */
  status(process: ProcessKind): ProcessStatus | undefined {
    return this.shared.snapshot?.processes.find((p) => p.process === process);
  }

  /** A process's new status (the supervisor's event), in the snapshot. */
  setProcess(status: ProcessStatus): void {
    const processes = this.shared.snapshot?.processes;
    const i = processes?.findIndex((p) => p.process === status.process) ?? -1;
    if (processes && i >= 0) processes[i] = status;
  }

  /** Whether the stack runs, in the snapshot. */
  setRunning(running: boolean): void {
    if (this.shared.snapshot) this.shared.snapshot.running = running;
  }

  /** The processes' health, in the snapshot. */
  setHealth(health: StackHealth, revision: number): void {
    const snapshot = this.shared.snapshot;
    // An older telling than the one held (a snapshot read after it) changes nothing.
    if (!snapshot || revision < snapshot.health_revision) return;
    snapshot.health = health;
    snapshot.health_revision = revision;
  }

  /** A second more for every process that has an uptime, while the stack runs; false when it
   * does not run (nothing changed). */
  tickUptimes(): boolean {
    if (!this.shared.snapshot?.running) return false;
    for (const p of this.shared.snapshot.processes) if (p.uptime_secs !== null) p.uptime_secs += 1;
    return true;
  }

  /** A product just created: its task is queued from now, and the product leads the list (which
   * keeps `max` of them). */
  addProduct(product: Product, max = Number.POSITIVE_INFINITY): void {
    this.tasks.queued(product);
    let products = this.shared.products;
    if (!products.some((p) => p.id === product.id)) products = [product, ...products];
    if (products.length > max) products = products.slice(0, max);
    this.shared.products = products;
  }

  // ---------------------------------------------------------------- painting

  /** Subscribes `paint` to `part`: it runs in the frame after the part was marked. */
  on(part: Part, paint: () => void): void {
    const list = this.painters.get(part) ?? [];
    list.push(paint);
    this.painters.set(part, list);
  }

  /** Marks `parts` to repaint in the next frame. */
  render(...parts: Part[]): void {
    for (const part of parts) this.dirty.add(part);
    if (!this.scheduled && this.dirty.size) {
      this.scheduled = true;
      this.schedule(() => this.flush());
    }
  }

  /** Paints every part marked since the last paint (a painter's error is logged, and the others
   * still paint). */
  flush(): void {
    this.scheduled = false;
    const dirty = [...this.dirty];
    this.dirty.clear();
    for (const part of dirty) {
      for (const paint of this.painters.get(part) ?? []) {
        try {
          paint();
        } catch (err) {
          console.error(`painting ${part}`, err);
        }
      }
    }
  }
}
