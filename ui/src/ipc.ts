// The one module that talks to the backend: Tauri commands and a channel inside the app, or the
// control endpoint's JSON API and event stream in a browser. Both speak the same types.

import { Channel, invoke } from '@tauri-apps/api/core';

import type { CloseAnswer } from './gen/CloseAnswer';
import type { DeskEvent } from './gen/DeskEvent';
import type { ErrorBody } from './gen/ErrorBody';
import type { FieldError } from './gen/FieldError';
import type { KeyContents } from './gen/KeyContents';
import type { LiveEvent } from './gen/LiveEvent';
import type { LiveKind } from './gen/LiveKind';
import type { OpenTarget } from './gen/OpenTarget';
import type { ProcessAction } from './gen/ProcessAction';
import type { ProcessKind } from './gen/ProcessKind';
import type { Product } from './gen/Product';
import type { RedisGlance } from './gen/RedisGlance';
import type { RedisServerCheck } from './gen/RedisServerCheck';
import type { SaveOutcome } from './gen/SaveOutcome';
import type { SettingsUpdate } from './gen/SettingsUpdate';
import type { SettingsView } from './gen/SettingsView';
import type { Snapshot } from './gen/Snapshot';
import type { StackAction } from './gen/StackAction';
import type { SyncOutcome } from './gen/SyncOutcome';
import type { TaskPage } from './gen/TaskPage';
import type { TaskView } from './gen/TaskView';
import type { TelegramCheck } from './gen/TelegramCheck';
import type { WorkerView } from './gen/WorkerView';

// Every type that crosses the boundary is generated from its Rust definition (`ui/src/gen/`,
// `cargo xtask types`); the rest of the UI takes them from here.
export type { AppRule } from './gen/AppRule';
export type { Cause } from './gen/Cause';
export type { ErrorKind } from './gen/ErrorKind';
export type { ExitHow } from './gen/ExitHow';
export type { Health } from './gen/Health';
export type { KeyGlance } from './gen/KeyGlance';
export type { KeyRole } from './gen/KeyRole';
export type { Language } from './gen/Language';
export type { Mode } from './gen/Mode';
export type { NotReady } from './gen/NotReady';
export type { Problem as HealthProblem } from './gen/Problem';
export type { ProcessState } from './gen/ProcessState';
export type { ProcessStatus } from './gen/ProcessStatus';
export type { Reason } from './gen/Reason';
export type { Rule } from './gen/Rule';
export type { SettingProblem } from './gen/SettingProblem';
export type { StackHealth } from './gen/StackHealth';
export type { StartFailure } from './gen/StartFailure';
export type { StepView as Step } from './gen/StepView';
export type { TaskErrorView as TaskError } from './gen/TaskErrorView';
export type { TaskState } from './gen/TaskState';
export type { Theme } from './gen/Theme';
export type { WorkerEvent } from './gen/WorkerEvent';
export type {
  CloseAnswer,
  DeskEvent,
  FieldError,
  KeyContents,
  LiveEvent,
  LiveKind,
  OpenTarget,
  ProcessAction,
  ProcessKind,
  Product,
  RedisGlance,
  RedisServerCheck,
  SaveOutcome,
  SettingsUpdate,
  SettingsView,
  Snapshot,
  StackAction,
  SyncOutcome,
  TaskView as Task,
  TelegramCheck,
  WorkerView,
};

/** An error from the backend: `kind` says which way out the UI can offer. */
export type DeskErrorBody = ErrorBody;

export { FINISHED_STATES, PROCESS_KINDS as PROCESSES, TASK_STATES } from './gen/constants';

export class DeskError extends Error {
  constructor(readonly body: DeskErrorBody) {
    super(body.message);
  }
}

export interface Backend {
  /** 'app' inside the desktop app, 'browser' against the control endpoint. */
  readonly mode: 'app' | 'browser';
  snapshot(): Promise<Snapshot>;
  stack(action: StackAction): Promise<Snapshot>;
  process(process: ProcessKind, action: ProcessAction): Promise<Snapshot>;
  logs(process: ProcessKind, lines: number): Promise<string[]>;
  settings(): Promise<SettingsView>;
  saveSettings(update: SettingsUpdate): Promise<SaveOutcome>;
  testTelegram(token: string, chatId: string): Promise<TelegramCheck>;
  open(target: OpenTarget): Promise<void>;
  /** The link that opens this UI in a browser (the app only). */
  browserUrl(): Promise<string | null>;
  /** Answers the window's close prompt (the app only). */
  closeAnswer(action: CloseAnswer): Promise<void>;
  /** Whether a redis-server for a managed Redis can be found, and where. */
  redisServer(): Promise<RedisServerCheck>;
  /** Saves an exported diagram; returns the file's path. */
  saveExport(name: string, bytes: Uint8Array): Promise<string>;
  /** Full screen for presenting (the app's window; a browser uses its own API). */
  setFullscreen(on: boolean): Promise<void>;
  /** Calls `onEvent` for every event until the returned function is called. */
  subscribe(onEvent: (event: DeskEvent) => void): () => void;
}

function asDeskError(err: unknown): DeskError {
  if (err instanceof DeskError) return err;
  if (err && typeof err === 'object' && 'kind' in err && 'message' in err) return new DeskError(err as DeskErrorBody);
  return new DeskError({ kind: 'io', message: String(err) });
}

/** Inside the desktop app: Tauri commands, and one channel for events. */
class TauriBackend implements Backend {
  readonly mode = 'app' as const;

  private async call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
    try {
      return await invoke<T>(command, args);
    } catch (err) {
      throw asDeskError(err);
    }
  }

  snapshot() {
    return this.call<Snapshot>('snapshot');
  }
  stack(action: StackAction) {
    return this.call<Snapshot>('stack', { action });
  }
  process(process: ProcessKind, action: ProcessAction) {
    return this.call<Snapshot>('process_action', { process, action });
  }
  logs(process: ProcessKind, lines: number) {
    return this.call<string[]>('logs', { process, lines });
  }
  settings() {
    return this.call<SettingsView>('settings');
  }
  saveSettings(update: SettingsUpdate) {
    return this.call<SaveOutcome>('save_settings', { update });
  }
  testTelegram(token: string, chatId: string) {
    return this.call<TelegramCheck>('test_telegram', { token, chatId });
  }
  open(target: OpenTarget) {
    return this.call<void>('open_target', { target });
  }
  browserUrl() {
    return this.call<string | null>('browser_url');
  }
  closeAnswer(action: CloseAnswer) {
    return this.call<void>('close_answer', { action });
  }
  redisServer() {
    return this.call<RedisServerCheck>('redis_server');
  }
  saveExport(name: string, bytes: Uint8Array) {
    return this.call<string>('save_export', { name, bytes: Array.from(bytes) });
  }
  setFullscreen(on: boolean) {
    return this.call<void>('set_fullscreen', { on });
  }

  subscribe(onEvent: (event: DeskEvent) => void): () => void {
    const channel = new Channel<DeskEvent>();
    let live = true;
    channel.onmessage = (event) => {
      if (live) onEvent(event);
    };
    void this.call('subscribe', { channel });
    return () => {
      live = false;
    };
  }
}

/** In a browser: the control endpoint, with this run's token from the link's `#token=`. */
class HttpBackend implements Backend {
  readonly mode = 'browser' as const;

  constructor(private readonly token: string) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method, headers: { Authorization: `Bearer ${this.token}` } };
    if (body instanceof Uint8Array) {
      init.body = body as BodyInit;
      (init.headers as Record<string, string>)['Content-Type'] = 'application/octet-stream';
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
    }
    let response: Response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      throw new DeskError({ kind: 'io', message: `the control endpoint does not answer (${String(err)})` });
    }
    const json = await response.json().catch(() => null);
    if (!response.ok) {
      throw new DeskError(json?.error ?? { kind: 'io', message: json?.detail ?? `HTTP ${response.status}` });
    }
    return json as T;
  }

  snapshot() {
    return this.call<Snapshot>('GET', '/api/snapshot');
  }
  stack(action: StackAction) {
    return this.call<Snapshot>('POST', `/api/stack/${action}`);
  }
  process(process: ProcessKind, action: ProcessAction) {
    return this.call<Snapshot>('POST', `/api/processes/${process}/${action}`);
  }
  logs(process: ProcessKind, lines: number) {
    return this.call<string[]>('GET', `/api/processes/${process}/logs?lines=${lines}`);
  }
  settings() {
    return this.call<SettingsView>('GET', '/api/settings');
  }
  saveSettings(update: SettingsUpdate) {
    return this.call<SaveOutcome>('PUT', '/api/settings', update);
  }
  testTelegram(token: string, chatId: string) {
    return this.call<TelegramCheck>('POST', '/api/telegram/test', { token, chat_id: chatId });
  }
  async open(target: OpenTarget) {
    await this.call('POST', `/api/open/${target}`);
  }
  async browserUrl() {
    return null;
  }
  async closeAnswer() {}
  redisServer() {
    return this.call<RedisServerCheck>('GET', '/api/redis/server');
  }
  async saveExport(name: string, bytes: Uint8Array) {
    return (await this.call<{ path: string }>('PUT', `/api/exports/${encodeURIComponent(name)}`, bytes)).path;
  }
  async setFullscreen(on: boolean) {
    if (on && !document.fullscreenElement) await document.documentElement.requestFullscreen().catch(() => {});
    if (!on && document.fullscreenElement) await document.exitFullscreen().catch(() => {});
  }

  subscribe(onEvent: (event: DeskEvent) => void): () => void {
    const source = new EventSource(`/api/events?token=${encodeURIComponent(this.token)}`);
    source.onmessage = (message) => onEvent(JSON.parse(message.data) as DeskEvent);
    // After a reconnect, events may have been missed: ask for a fresh snapshot.
    source.onopen = () => onEvent({ kind: 'lagged', missed: 0 });
    return () => source.close();
  }
}

/** The token from `#token=…` (kept for reloads of this tab only). */
function browserToken(): string | null {
  const match = /token=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (match?.[1]) {
    sessionStorage.setItem('stackdesk-token', match[1]);
    history.replaceState(null, '', location.pathname + location.search);
    return match[1];
  }
  return sessionStorage.getItem('stackdesk-token');
}

/** The backend for where this page runs, or null in a browser without a token. */
export function connect(): Backend | null {
  if ('__TAURI_INTERNALS__' in window) return new TauriBackend();
  const token = browserToken();
  return token ? new HttpBackend(token) : null;
}

// ---- The stack's own HTTP services, the same in both modes: the products API and the task
// monitor (history, live feed, workers, controls, the Redis glance). ----

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string | FieldError[],
  ) {
    super(typeof detail === 'string' ? detail : detail.map((d) => d.msg).join('; '));
  }
}

/** A request's own measurements: the server's steps (`Server-Timing`) and the round trip. */
export interface Timed<T> {
  value: T;
  /** Milliseconds per server step (`validate`, `store`, `notify`). */
  steps: Record<string, number>;
  /** Milliseconds from sending to the whole answer. */
  totalMs: number;
}

/** The steps of a `Server-Timing` header (`validate;dur=0.04, store;dur=0.5`), in milliseconds. */
export function parseServerTiming(header: string | null): Record<string, number> {
  const steps: Record<string, number> = {};
  for (const part of (header ?? '').split(',')) {
    const match = /^\s*([\w-]+)\s*;\s*dur=([\d.]+)/.exec(part);
    if (match) steps[match[1]!] = Number(match[2]);
  }
  return steps;
}

export type ProductInput = { name: string; price: number | string; description?: string };

/** A JSON HTTP service at `base`; each answer with how long it took and the server's own steps. */
class Http {
  constructor(
    readonly base: string,
    private readonly what: string,
  ) {}

  async timed<T>(method: string, path: string, body?: unknown): Promise<Timed<T>> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    const began = performance.now();
    let response: Response;
    try {
      response = await fetch(this.base + path, init);
    } catch {
      throw new ApiError(0, `the ${this.what} does not answer`);
    }
    const json = await response.json().catch(() => null);
    const totalMs = performance.now() - began;
    if (!response.ok) throw new ApiError(response.status, json?.detail ?? `HTTP ${response.status}`);
    return { value: json as T, steps: parseServerTiming(response.headers.get('Server-Timing')), totalMs };
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await this.timed<T>(method, path, body)).value;
  }
}

/** The products API (`API_PORT`). */
export class Api {
  private readonly http: Http;

  constructor(readonly base: string) {
    this.http = new Http(base, 'API');
  }

  createProduct(product: ProductInput) {
    return this.http.call<Product>('POST', '/products/', product);
  }
  /** Creates a product, with how long each step took. */
  createProductTimed(product: ProductInput) {
    return this.http.timed<Product>('POST', '/products/', product);
  }
  /** The variant without a worker: the answer waits for the notification; nothing is stored. */
  createSync(product: ProductInput) {
    return this.http.timed<SyncOutcome>('POST', '/demo/products/sync', product);
  }
  products(limit = 50) {
    return this.http.call<Product[]>('GET', `/products/?limit=${limit}`);
  }
}

/** The live feed's events, each by its SSE name (a kind missing here fails the type check). */
const LIVE_KINDS: Record<LiveKind, true> = { task: true, product: true, worker: true, queue: true, lagged: true };

/** The task monitor (`MONITOR_PORT`): the history, the live feed, the workers, the controls. */
export class Monitor {
  private readonly http: Http;

  constructor(readonly base: string) {
    this.http = new Http(base, 'monitor');
  }

  tasks(limit = 200) {
    return this.http.call<TaskPage>('GET', `/tasks?limit=${limit}`);
  }
  task(id: string) {
    return this.http.call<TaskView>('GET', `/tasks/${encodeURIComponent(id)}`);
  }
  retry(id: string) {
    return this.http.call<{ task_id: string }>('POST', `/tasks/${encodeURIComponent(id)}/retry`);
  }
  revoke(id: string) {
    return this.http.call<unknown>('POST', `/tasks/${encodeURIComponent(id)}/revoke`);
  }
  purge() {
    return this.http.call<{ purged: number }>('DELETE', '/queue');
  }
  /** Workers seen on this Redis, with their `stats` when they answer. */
  workers() {
    return this.http.call<WorkerView[]>('GET', '/workers');
  }
  /** What Redis holds now, each key with its role. */
  redisGlance() {
    return this.http.call<RedisGlance>('GET', '/redis');
  }
  /** One key's contents. */
  redisKey(name: string) {
    return this.http.call<KeyContents>('GET', `/redis/key?name=${encodeURIComponent(name)}`);
  }

  /** The live feed: every event until the returned function is called; `onOpen` after each
   * (re)connection, when events may have been missed. */
  live(onEvent: (event: LiveEvent) => void, onOpen: () => void): () => void {
    const source = new EventSource(`${this.base}/events`);
    for (const kind of Object.keys(LIVE_KINDS) as LiveKind[]) {
      source.addEventListener(kind, (message) =>
        onEvent({ kind, data: JSON.parse((message as MessageEvent).data) } as LiveEvent),
      );
    }
    source.onopen = onOpen;
    return () => source.close();
  }
}
