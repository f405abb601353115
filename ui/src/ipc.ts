// The one module that talks to the backend: Tauri commands and a channel inside the app, or the
// control endpoint's JSON API and event stream in a browser. Both speak the same types.

import { Channel, invoke } from '@tauri-apps/api/core';

export type ProcessKind = 'redis' | 'api' | 'worker';
export const PROCESSES: ProcessKind[] = ['redis', 'api', 'worker'];
export type ProcessState = 'stopped' | 'starting' | 'running' | 'stopping' | 'crashed' | 'backing-off' | 'external';

export interface ProcessStatus {
  process: ProcessKind;
  mode: 'managed' | 'external';
  state: ProcessState;
  pid: number | null;
  port: number | null;
  uptime_secs: number | null;
  restarts: number;
  reason: string | null;
}

/** Why a process that runs cannot do its job (`Problem` in crates/desk/src/health.rs). */
export type HealthProblem =
  | { kind: 'redis_no_answer' }
  | { kind: 'api_redis_unreachable' }
  | { kind: 'api_no_answer' }
  | { kind: 'worker_redis_unreachable' }
  | { kind: 'worker_silent'; limit_secs: number };

/** How a process is doing beside its state (`Health` in crates/desk/src/health.rs). */
export type Health =
  { level: 'down' } | { level: 'healthy' } | { level: 'degraded'; problem: HealthProblem; detail: string | null };

export type StackHealth = Record<ProcessKind, Health>;

export interface Snapshot {
  running: boolean;
  processes: ProcessStatus[];
  /** Each process's health, probed while the stack runs. */
  health: StackHealth;
  /** Processes running with older settings than the saved ones until the stack restarts. */
  restart_pending: ProcessKind[];
  /** The running API's URL while the stack runs (a saved new port applies after the restart). */
  api_url: string;
  docs_url: string;
  redis_url: string;
  data_dir: string;
  logs_dir: string;
}

export type Language = 'ru' | 'en';
export type Theme = 'system' | 'light' | 'dark';

export interface SettingsView {
  values: Record<string, string>;
  defaults: Record<string, string>;
  secrets_set: string[];
  external: ProcessKind[];
  language: Language;
  theme: Theme;
  /** The demo bar's failure injection, for this run of the app only (never saved). */
  demo_failures: boolean;
  /** Failure injection set by the environment (`NOTIFY_FAIL_FIRST_ATTEMPTS`): on whatever the switch says. */
  demo_failures_env: boolean;
  path: string;
}

export interface SettingsUpdate {
  values?: Record<string, string>;
  external?: ProcessKind[];
  language?: Language;
  theme?: Theme;
  demo_failures?: boolean;
}

export interface SaveOutcome {
  settings: SettingsView;
  restart: ProcessKind[];
}

export interface TelegramCheck {
  bot: string;
  chat_id: string;
  message_id: number;
}

export type DeskEvent =
  | { kind: 'state'; status: ProcessStatus }
  | { kind: 'log'; process: ProcessKind; stream: 'stdout' | 'stderr' | 'supervisor'; line: string }
  | { kind: 'stack'; running: boolean }
  | { kind: 'settings'; settings: SettingsView }
  | { kind: 'health'; health: StackHealth }
  | { kind: 'lagged'; missed: number }
  | { kind: 'close_requested' };

/** A setting that does not pass its check: `type` and `ctx` as `ProblemKind` in crates/desk/src/error.rs. */
export interface SettingProblem {
  key: string;
  /** What is expected, in English words. */
  message: string;
  /** `whole_number`, `seconds`, `host`, `http_url`, `origins`, `redis_url`, `redis_tcp`, `required_with`, `env_file`, `not_editable`. */
  type?: string;
  ctx?: Record<string, unknown>;
}

/** An error from the backend: `kind` says which way out the UI can offer. */
export interface DeskErrorBody {
  kind: string;
  message: string;
  problems?: SettingProblem[];
  process?: ProcessKind;
  port?: number;
  owner?: 'redis' | 'program';
  owner_name?: string | null;
  owner_pid?: number | null;
  free_port?: number | null;
  can_use_external?: boolean;
  last_lines?: string[];
}

export class DeskError extends Error {
  constructor(readonly body: DeskErrorBody) {
    super(body.message);
  }
}

export type OpenTarget = 'swagger' | 'data-dir' | 'logs' | 'browser';
export type Action = 'start' | 'stop' | 'restart' | 'kill';

/** One Redis key at a glance. */
export interface KeyGlance {
  key: string;
  kind: string;
  size: number;
  ttl_ms: number | null;
  note: string | null;
}

/** What Redis holds now (sampled by the desk). */
export interface RedisGlance {
  queued: number;
  in_flight: number;
  results: number;
  queue_head: string[];
  in_flight_ids: string[];
  celery_keys: KeyGlance[];
  groups: { pattern: string; count: number; samples: KeyGlance[] }[];
  our_keys: KeyGlance[];
  scanned: number;
  truncated: boolean;
}

/** A key's contents. */
export interface KeyContents extends KeyGlance {
  preview: string;
  truncated: boolean;
}

/** Whether a redis-server for a managed Redis can be found (`GET /api/redis/server`). */
export interface RedisServerCheck {
  managed: boolean;
  path: string | null;
  version: string | null;
  searched: string | null;
  advice: string | null;
  os: string;
}

export interface Backend {
  /** 'app' inside the desktop app, 'browser' against the control endpoint. */
  readonly mode: 'app' | 'browser';
  snapshot(): Promise<Snapshot>;
  stack(action: Action): Promise<Snapshot>;
  process(process: ProcessKind, action: Action): Promise<Snapshot>;
  logs(process: ProcessKind, lines: number): Promise<string[]>;
  settings(): Promise<SettingsView>;
  saveSettings(update: SettingsUpdate): Promise<SaveOutcome>;
  testTelegram(token: string, chatId: string): Promise<TelegramCheck>;
  open(target: OpenTarget): Promise<void>;
  /** The link that opens this UI in a browser (the app only). */
  browserUrl(): Promise<string | null>;
  /** Answers the window's close prompt (the app only). */
  closeAnswer(action: 'quit' | 'hide' | 'cancel'): Promise<void>;
  /** What Redis holds now. */
  redisGlance(): Promise<RedisGlance>;
  /** One key's contents. */
  redisKey(name: string): Promise<KeyContents>;
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
  stack(action: Action) {
    return this.call<Snapshot>(action);
  }
  process(process: ProcessKind, action: Action) {
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
  closeAnswer(action: 'quit' | 'hide' | 'cancel') {
    return this.call<void>('close_answer', { action });
  }
  redisGlance() {
    return this.call<RedisGlance>('redis_glance');
  }
  redisKey(name: string) {
    return this.call<KeyContents>('redis_key', { name });
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
  stack(action: Action) {
    return this.call<Snapshot>('POST', `/api/stack/${action}`);
  }
  process(process: ProcessKind, action: Action) {
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
  redisGlance() {
    return this.call<RedisGlance>('GET', '/api/redis');
  }
  redisKey(name: string) {
    return this.call<KeyContents>('GET', `/api/redis/key?name=${encodeURIComponent(name)}`);
  }
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

// ---- The stack's own HTTP API (products, tasks, live feed), the same in both modes. ----

export interface Product {
  id: number;
  name: string;
  price: number;
  description: string | null;
  created_at: string;
  task_id: string;
}

export interface TaskError {
  type: string;
  message: string;
  traceback: string | null;
}

export interface Step {
  state: string;
  at: string;
  worker: string | null;
  /** RECEIVED only, when the message had one: when it may start (ISO-8601; a retry's countdown). */
  eta?: string;
}

export interface Task {
  task_id: string;
  name: string | null;
  state: string;
  args: unknown;
  result: unknown;
  error: TaskError | null;
  retries: number;
  worker: string | null;
  product_id: number | null;
  runtime: number | null;
  sent_at: string | null;
  date_done: string | null;
  timeline: Step[];
  /** When the latest delivery may start (ISO-8601): a retried message is received at once and
   * waits for it, while the result backend says RETRY. Null when it had none (absent in the
   * placeholder the UI makes for a product's task). */
  eta?: string | null;
  retry_of: string | null;
  retried_as: string | null;
}

/** A worker as `GET /workers` reports it. */
export interface WorkerView {
  hostname: string;
  online: boolean;
  last_event: string;
  last_seen: number;
  active: number;
  processed: number;
  sw_ident: string | null;
  /** Its answer to Celery's `stats` (`prefetch_count`, `pool['max-concurrency']`, …). */
  stats: Record<string, unknown> | null;
}

export interface FieldError {
  type: string;
  loc: (string | number)[];
  msg: string;
  input?: unknown;
  /** The rule's bounds (`{"gt": 0}`, `{"max_length": 200}`): the UI words the error by `type` and `ctx`. */
  ctx?: Record<string, unknown>;
}

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

export interface SyncOutcome {
  name: string;
  price: number;
  notification: unknown;
  notify_secs: number;
}

export class Api {
  constructor(readonly base: string) {}

  private async timed<T>(method: string, path: string, body?: unknown): Promise<Timed<T>> {
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
      throw new ApiError(0, 'the API does not answer');
    }
    const json = await response.json().catch(() => null);
    const totalMs = performance.now() - began;
    if (!response.ok) throw new ApiError(response.status, json?.detail ?? `HTTP ${response.status}`);
    return { value: json as T, steps: parseServerTiming(response.headers.get('Server-Timing')), totalMs };
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await this.timed<T>(method, path, body)).value;
  }

  createProduct(product: ProductInput) {
    return this.call<Product>('POST', '/products/', product);
  }
  /** Creates a product, with how long each step took. */
  createProductTimed(product: ProductInput) {
    return this.timed<Product>('POST', '/products/', product);
  }
  /** The variant without a worker: the answer waits for the notification; nothing is stored. */
  createSync(product: ProductInput) {
    return this.timed<SyncOutcome>('POST', '/demo/products/sync', product);
  }
  products(limit = 50) {
    return this.call<Product[]>('GET', `/products/?limit=${limit}`);
  }
  tasks(limit = 200) {
    return this.call<{ tasks: Task[] }>('GET', `/tasks?limit=${limit}`);
  }
  task(id: string) {
    return this.call<Task>('GET', `/tasks/${encodeURIComponent(id)}`);
  }
  retry(id: string) {
    return this.call<{ task_id: string }>('POST', `/tasks/${encodeURIComponent(id)}/retry`);
  }
  revoke(id: string) {
    return this.call<unknown>('POST', `/tasks/${encodeURIComponent(id)}/revoke`);
  }
  purge() {
    return this.call<{ purged: number }>('DELETE', '/queue');
  }
  /** Workers seen on this Redis, with their `stats` when they answer. */
  workers() {
    return this.call<WorkerView[]>('GET', '/workers');
  }

  /** The live feed: `task`, `product`, `worker`, `queue` events. */
  live(onEvent: (name: string, data: unknown) => void, onOpen: () => void): () => void {
    const source = new EventSource(`${this.base}/events`);
    for (const name of ['task', 'product', 'worker', 'queue', 'lagged']) {
      source.addEventListener(name, (message) => onEvent(name, JSON.parse((message as MessageEvent).data)));
    }
    source.onopen = onOpen;
    return () => source.close();
  }
}
