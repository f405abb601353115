// The live layer's mapping from state to what a diagram shows.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DIAGRAMS, LIFECYCLE_STATES, LIVE_MARK } from '../src/diagrams/sources';
import { COURSE_FACTS, stackFacts } from '../src/diagrams/facts';
import { keyAction, type KeyTarget } from '../src/diagrams/keys';
import {
  architectureLines,
  flowEdgeOf,
  flowLines,
  keyOfNode,
  nodeIdOf,
  paintDelay,
  processClass,
  pulsesFor,
  redisKeyLines,
  workerLine,
} from '../src/diagrams/live';
import type { ProcessStatus, SettingsView, Snapshot, WorkerView } from '../src/ipc';
import { parseServerTiming, type RedisGlance, type Task } from '../src/ipc';

test('process nodes take their class from the supervisor state', () => {
  assert.equal(processClass('running'), 'live-on');
  assert.equal(processClass('stopped'), 'live-off');
  assert.equal(processClass('crashed'), 'live-bad');
  assert.equal(processClass('starting'), 'live-busy');
  assert.equal(processClass('external'), 'live-ext');
  assert.equal(processClass(undefined), 'live-off');
  assert.equal(
    processClass('running', { level: 'degraded', problem: { kind: 'api_redis_unreachable' }, detail: null }),
    'live-degraded',
  );
  assert.equal(processClass('running', { level: 'healthy' }), 'live-on');
});

test('node ids are found in Mermaid element ids', () => {
  assert.equal(nodeIdOf('flowchart-api-3'), 'api');
  assert.equal(nodeIdOf('mermaid-1-flowchart-worker-12'), 'worker');
  assert.equal(nodeIdOf('state-STARTED-2'), 'STARTED');
  assert.equal(nodeIdOf('flowchart-with-without-1'), 'with-without');
  assert.equal(nodeIdOf('L-api-redis-0'), null);
});

test('paints are spaced out', () => {
  assert.equal(paintDelay(1000, 1030), 70);
  assert.equal(paintDelay(1000, 1200), 0);
});

test('every diagram exists in both languages with the same nodes and live lines', () => {
  assert.ok(DIAGRAMS.length >= 9);
  const lines = (src: string) => src.split(/\n|<br\/>/);
  for (const d of DIAGRAMS) {
    const ru = d.source('ru', COURSE_FACTS);
    const en = d.source('en', COURSE_FACTS);
    assert.notEqual(ru, en, d.id);
    const ids = (s: string) => [...s.matchAll(/^\s+(\w+)[[(]/gm)].map((m) => m[1]).join();
    assert.equal(ids(ru), ids(en), `${d.id}: node ids differ between languages`);
    const live = (s: string) =>
      lines(s)
        .flatMap((l) => [...l.matchAll(/§([\w-]+)§/g)].map((m) => m[1]))
        .join();
    assert.equal(live(ru), live(en), `${d.id}: live lines differ between languages`);
    // A live marker always starts a line: the live layer rewrites the whole line.
    for (const line of lines(ru)) if (line.includes('§')) assert.match(line, LIVE_MARK, `${d.id}: ${line}`);
  }
  const arch = DIAGRAMS.find((d) => d.id === 'architecture')!.source('en', COURSE_FACTS);
  for (const node of ['redis', 'api', 'worker']) assert.match(arch, new RegExp(`^\\s+${node}[[(]`, 'm'));
  const life = DIAGRAMS.find((d) => d.id === 'lifecycle')!.source('ru', COURSE_FACTS);
  LIFECYCLE_STATES.forEach((state, i) => assert.ok(life.includes(`"${state}<br/>§${i}§`), state));
});

test('diagrams print the running stack’s values, not the course’s', () => {
  const settings = {
    values: { API_PORT: '8010', WORKER_CONCURRENCY: '2', TASK_RETRY_COUNTDOWN_SECS: '3', NOTIFY_SIMULATED_SECS: '2.5' },
    defaults: {},
    secrets_set: [],
    external: [],
    language: 'ru',
    theme: 'system',
    path: '',
  } as unknown as SettingsView;
  const process = (kind: string, port: number) =>
    ({ process: kind, port, state: 'running' }) as unknown as ProcessStatus;
  const snapshot = {
    running: true,
    processes: [process('redis', 6390), process('api', 8011), process('worker', 0)],
    redis_url: 'redis://127.0.0.1:6390/0',
    monitor_url: 'http://127.0.0.1:5601',
  } as unknown as Snapshot;
  const worker = {
    hostname: 'stackdesk@host',
    online: true,
    stats: { prefetch_count: 8, pool: { 'max-concurrency': 2 } },
  } as unknown as WorkerView;
  const facts = stackFacts(settings, snapshot, [worker]);
  assert.deepEqual(
    [facts.redisPort, facts.apiPort, facts.monitorPort, facts.concurrency, facts.prefetch, facts.workerSource],
    [6390, 8011, 5601, 2, 8, 'running'],
  );
  const architecture = DIAGRAMS.find((d) => d.id === 'architecture')!.source('ru', facts);
  assert.match(architecture, /монитор задач,<br\/>порт 5601/, 'the monitor, where it really runs');
  // Stopped: what the next start will use (the saved API port, prefetch by Celery's rule).
  const stopped = stackFacts(settings, { ...snapshot, running: false }, []);
  assert.deepEqual([stopped.apiPort, stopped.prefetch, stopped.workerSource], [8010, 8, 'settings']);
  const config = DIAGRAMS.find((d) => d.id === 'configuration')!.source('ru', facts);
  assert.match(config, /API_PORT<br\/>8011/);
  assert.match(config, /TASK_RETRY_COUNTDOWN_SECS 3 с/);
  assert.match(config, /prefetch_count 8 = 4 × 2/);
  // A worker that holds some other number: the formula is not claimed.
  const python = stackFacts(settings, snapshot, [
    {
      ...worker,
      hostname: 'py@host',
      stats: { prefetch_count: 2, pool: { 'max-concurrency': 2 } },
    } as unknown as WorkerView,
  ]);
  assert.match(DIAGRAMS.find((d) => d.id === 'configuration')!.source('ru', python), /prefetch_count 2<br\/>/);
  assert.doesNotMatch(DIAGRAMS.find((d) => d.id === 'with-without')!.source('ru', facts), /30/);
  assert.deepEqual([COURSE_FACTS.apiPort, COURSE_FACTS.redisPort, COURSE_FACTS.prefetch], [8000, 6379, 4]);
});

test('a clicker and the keyboard step through the diagrams; a field being typed in keeps its keys', () => {
  const act = (key: string, target: KeyTarget, presenting = true) => keyAction(key, target, presenting);
  assert.equal(act('PageDown', 'other'), 'next');
  assert.equal(act('PageUp', 'other'), 'previous');
  assert.equal(act(' ', 'other'), 'next');
  assert.equal(act(' ', 'other', false), null, 'Space presses a button outside a presentation');
  assert.equal(act('Home', 'other'), 'first');
  assert.equal(act('End', 'other'), 'last');
  assert.equal(act('ArrowRight', 'typing'), null);
  assert.equal(act('PageDown', 'typing'), null);
  assert.equal(act('ArrowLeft', 'list'), null);
  assert.equal(act('PageDown', 'list'), 'next');
  assert.equal(act('Escape', 'typing'), 'leave-field');
  assert.equal(act('Escape', 'other'), 'leave-presentation');
  assert.equal(act('Escape', 'other', false), null);
});

test('edges are found in Mermaid element ids', () => {
  assert.equal(flowEdgeOf('d-architecture-0-L_api_redis_0'), 'api>redis:0');
  assert.equal(flowEdgeOf('L_worker_redis_1'), 'worker>redis:1');
  assert.equal(flowEdgeOf('d-architecture-0-flowchart-api-0'), null);
});

test('messages light the edges they cross', () => {
  assert.deepEqual(pulsesFor('product'), ['client>api:0', 'api>redis:0', 'api>client:0', 'app>redis:0']);
  assert.deepEqual(pulsesFor('task', { state: 'RECEIVED', result: null }), ['worker>redis:0', 'app>redis:0']);
  assert.deepEqual(pulsesFor('task', { state: 'SUCCESS', result: { status: 'sent' } }), [
    'worker>tg:0',
    'worker>redis:1',
    'app>redis:0',
  ]);
  assert.deepEqual(pulsesFor('task', { state: 'SUCCESS', result: { status: 'simulated' } }), [
    'worker>redis:1',
    'app>redis:0',
  ]);
  // Every edge a pulse names is drawn, in that order.
  const arch = DIAGRAMS.find((d) => d.id === 'architecture')!.source('en', COURSE_FACTS);
  const seen = new Map<string, number>();
  const drawn = new Set<string>();
  for (const m of arch.matchAll(/^\s+(\w+) -[-.].*?> (\w+)$/gm)) {
    const pair = `${m[1]}>${m[2]}`;
    drawn.add(`${pair}:${seen.get(pair) ?? 0}`);
    seen.set(pair, (seen.get(pair) ?? 0) + 1);
  }
  for (const edge of [
    ...pulsesFor('product'),
    ...pulsesFor('task', { state: 'RECEIVED', result: null }),
    ...pulsesFor('task', { state: 'SUCCESS', result: { status: 'sent' } }),
  ]) {
    assert.ok(drawn.has(edge), `${edge} is not drawn: ${[...drawn]}`);
  }
  // Every event reaches the app: even one no process edge carries.
  assert.deepEqual(pulsesFor('task', { state: 'STARTED', result: null }), ['app>redis:0']);
});

const glance: RedisGlance = {
  queued: 3,
  in_flight: 1,
  results: 42,
  queue_head: ['aaaaaaaa-1'],
  in_flight_ids: ['bbbbbbbb-2'],
  celery_keys: [{ key: 'celery', role: 'queue', kind: 'list', size: 3, ttl_ms: null, state: null }],
  groups: [
    {
      role: 'result',
      pattern: 'celery-task-meta-*',
      count: 42,
      samples: [
        { key: 'celery-task-meta-x', role: 'result', kind: 'string', size: 90, ttl_ms: 86_000_000, state: 'SUCCESS' },
      ],
    },
    { role: 'product', pattern: 'stackdesk:product:*', count: 7, samples: [] },
  ],
  our_keys: [
    { key: 'stackdesk:products', role: 'products', kind: 'zset', size: 7, ttl_ms: null, state: null },
    { key: 'stackdesk:workers', role: 'workers', kind: 'hash', size: 1, ttl_ms: null, state: null },
  ],
  scanned: 60,
  truncated: false,
};

test('Redis facts read from a glance, in both languages', () => {
  assert.deepEqual(architectureLines(glance, [], 'en'), {
    w: 'waiting for tasks',
    q: 'queued 3 · taken 1',
    r: 'results: 42',
  });
  assert.deepEqual(architectureLines(glance, [], 'ru'), {
    w: 'ждёт задач',
    q: 'в очереди 3 · взято 1',
    r: 'результатов: 42',
  });
  assert.equal(architectureLines({ ...glance, truncated: true }, [], 'en').r, 'results: 42+');
  const down = { level: 'degraded', problem: { kind: 'worker_redis_unreachable' }, detail: null } as const;
  assert.equal(
    architectureLines(null, [], 'ru', down).w,
    'нет связи с Redis',
    'not «ждёт задач» while it cannot take one',
  );
  assert.deepEqual(architectureLines(null, [], 'en'), {
    w: 'waiting for tasks',
    q: 'queued — · taken —',
    r: 'results: —',
  });
  const lines = redisKeyLines(glance, 'en');
  assert.deepEqual([lines.q, lines.q2], ['now 3', 'aaaaaaaa']);
  assert.deepEqual([lines.m, lines.m2], ['now 42', 'TTL 23\u00a0h 53\u00a0min']);
  assert.equal(redisKeyLines(glance, 'ru').m2, 'TTL 23\u00a0ч 53\u00a0мин');
  assert.deepEqual([lines.p, lines.p2], ['now 7', 'product:*: 7']);
  assert.deepEqual([lines.k, lines.k2], ['workers: 1 · revoked: 0', 'dead_letter: 0']);
  assert.equal(redisKeyLines(glance, 'ru').k, 'воркеров: 1 · отозвано: 0');
  assert.equal(keyOfNode('meta', glance), 'celery-task-meta-x');
  assert.equal(keyOfNode('queue', glance), 'celery', 'found by its role');
  assert.equal(keyOfNode('misc', glance), 'stackdesk:workers');
  assert.equal(keyOfNode('queue', null), null, 'nothing to show before the first glance');
  assert.equal(keyOfNode('nothing', glance), null);
});

const task = (state: string, args: unknown, runtime: number | null = null) =>
  ({ state, args, runtime, task_id: 't' }) as unknown as Task;

test('the worker node names the task it runs', () => {
  assert.equal(workerLine([], 'en'), 'waiting for tasks');
  assert.equal(
    workerLine([task('STARTED', [{ id: 12, name: 'A very long product name' }])], 'en'),
    '▶ #12 A very long',
  );
  assert.equal(workerLine([task('STARTED', []), task('STARTED', [])], 'ru'), '▶ 2\u00a0задачи');
  assert.equal(
    workerLine(
      Array.from({ length: 5 }, () => task('STARTED', [])),
      'ru',
    ),
    '▶ 5\u00a0задач',
  );
});

test('the product flow shows the measured steps and the task’s time', () => {
  const steps = parseServerTiming('validate;dur=0.041, store;dur=0.530');
  assert.deepEqual(steps, { validate: 0.041, store: 0.53 });
  assert.deepEqual(parseServerTiming(null), {});
  const last = { steps, totalMs: 3.25, taskId: 't' };
  assert.deepEqual(flowLines(last, task('STARTED', []), 'en'), {
    v: '0.04\u00a0ms',
    s: '0.53\u00a0ms',
    total: '3.3\u00a0ms',
    n: '',
  });
  assert.equal(flowLines(last, task('SUCCESS', [], 30.02), 'ru').n, '30,0\u00a0с');
  assert.equal(flowLines(last, task('SUCCESS', [], 30.02), 'ru').v, '0,04\u00a0мс');
  assert.deepEqual(flowLines(null, undefined, 'en'), { v: '', s: '', total: '', n: '' });
});
