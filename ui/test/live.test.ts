// The live layer's mapping from state to what a diagram shows.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DIAGRAMS } from '../src/diagrams/sources';
import {
  flowEdgeOf, flowNotes, keyOfNode, nodeIdOf, paintDelay, processClass, pulsesFor, redisKeyLines, redisLine, workerLine,
} from '../src/diagrams/live';
import { LIFECYCLE, lifecyclePath, pathLabel, stateEdgeOf, stateLabel } from '../src/diagrams/lifecycle';
import { parseServerTiming, type RedisGlance, type Task } from '../src/ipc';

test('process nodes take their class from the supervisor state', () => {
  assert.equal(processClass('running'), 'live-on');
  assert.equal(processClass('stopped'), 'live-off');
  assert.equal(processClass('crashed'), 'live-bad');
  assert.equal(processClass('starting'), 'live-busy');
  assert.equal(processClass('external'), 'live-ext');
  assert.equal(processClass(undefined), 'live-off');
});

test('node ids are found in Mermaid element ids', () => {
  assert.equal(nodeIdOf('flowchart-api-3'), 'api');
  assert.equal(nodeIdOf('mermaid-1-flowchart-worker-12'), 'worker');
  assert.equal(nodeIdOf('state-STARTED-2'), 'STARTED');
  assert.equal(nodeIdOf('flowchart-with-without-1'), 'with-without');
  assert.equal(nodeIdOf('L-api-redis-0'), null);
});

test('lifecycle labels carry counts, and paints are spaced out', () => {
  assert.equal(stateLabel('STARTED', { STARTED: 3 }), 'STARTED · 3');
  assert.equal(stateLabel('RETRY', { STARTED: 3 }), 'RETRY');
  assert.equal(paintDelay(1000, 1030), 70);
  assert.equal(paintDelay(1000, 1200), 0);
});

test('every diagram exists in both languages with the same live nodes', () => {
  assert.ok(DIAGRAMS.length >= 9);
  for (const d of DIAGRAMS) {
    const ru = d.source('ru');
    const en = d.source('en');
    assert.notEqual(ru, en, d.id);
    const ids = (s: string) => [...s.matchAll(/^\s+(\w+)[[(]/gm)].map((m) => m[1]).join();
    assert.equal(ids(ru), ids(en), `${d.id}: node ids differ between languages`);
  }
  const arch = DIAGRAMS.find((d) => d.id === 'architecture')!.source('en');
  for (const node of ['redis', 'api', 'worker']) assert.match(arch, new RegExp(`^\\s+${node}[[(]`, 'm'));
});

test('edges are found in Mermaid element ids', () => {
  assert.equal(flowEdgeOf('d-architecture-0-L_api_redis_0'), 'api>redis');
  assert.equal(flowEdgeOf('L_redis_worker_2'), 'redis>worker');
  assert.equal(flowEdgeOf('d-architecture-0-flowchart-api-0'), null);
  assert.equal(stateEdgeOf('d-lifecycle-3-edge4'), 4);
  assert.equal(stateEdgeOf('d-lifecycle-3-state-RETRY-4'), null);
});

const at = (secs: number) => new Date(Date.UTC(2026, 10, 24, 10, 0, 0) + secs * 1000).toISOString();
const step = (state: string, secs: number) => ({ state, at: at(secs), worker: null });

test('a task’s path covers each state it passed, RETRY loops and a redelivery included', () => {
  const timeline = [
    step('PENDING', 0), step('RECEIVED', 1), step('STARTED', 1.5), step('RETRY', 3.5), step('RECEIVED', 8.5),
    step('STARTED', 9), step('RECEIVED', 10), step('STARTED', 11), step('SUCCESS', 14),
  ];
  const path = lifecyclePath(timeline, Date.parse(at(100)));
  assert.deepEqual(path.visits.STARTED, { times: 3, secs: 2 + 1 + 3 });
  assert.deepEqual(path.visits.RETRY, { times: 1, secs: 5 });
  assert.deepEqual(path.visits.RECEIVED, { times: 3, secs: 0.5 + 0.5 + 1 });
  for (const edge of ['[*]>PENDING', 'PENDING>RECEIVED', 'STARTED>RETRY', 'RETRY>RECEIVED', 'STARTED>RECEIVED', 'STARTED>SUCCESS', 'SUCCESS>[*]']) {
    assert.ok(path.transitions.has(edge), edge);
  }
  assert.ok(!path.transitions.has('STARTED>FAILURE'));
  // Every transition a task can take is drawn (so it can be highlighted).
  const drawn = new Set(LIFECYCLE.map((t) => `${t.from}>${t.to}`));
  for (const edge of path.transitions) assert.ok(drawn.has(edge), `${edge} is not in the diagram`);
  assert.equal(pathLabel('STARTED', path, { STARTED: 0 }), 'STARTED ×3 · 6.0 s');
  assert.equal(pathLabel('SUCCESS', path, { SUCCESS: 4 }), 'SUCCESS · 4 ✓');
  assert.equal(pathLabel('FAILURE', path, {}), 'FAILURE');
});

test('the current state of a running task counts until now', () => {
  const path = lifecyclePath([step('PENDING', 0), step('RECEIVED', 1), step('STARTED', 2)], Date.parse(at(4.5)));
  assert.equal(path.visits.STARTED!.secs, 2.5);
  assert.ok(!path.transitions.has('STARTED>[*]'));
});

test('messages light the edges they cross', () => {
  assert.deepEqual(pulsesFor('product'), ['client>api', 'api>redis', 'api>client']);
  assert.deepEqual(pulsesFor('task', { state: 'RECEIVED', result: null }), ['redis>worker']);
  assert.deepEqual(pulsesFor('task', { state: 'SUCCESS', result: { status: 'sent' } }), ['worker>tg', 'worker>redis']);
  assert.deepEqual(pulsesFor('task', { state: 'SUCCESS', result: { status: 'simulated' } }), ['worker>redis']);
  assert.deepEqual(pulsesFor('task', { state: 'STARTED', result: null }), []);
});

const glance: RedisGlance = {
  queued: 3, in_flight: 1, results: 42, queue_head: ['aaaaaaaa-1'], in_flight_ids: ['bbbbbbbb-2'],
  celery_keys: [{ key: 'celery', kind: 'list', size: 3, ttl_ms: null, note: null }],
  groups: [{ pattern: 'celery-task-meta-*', count: 42, samples: [{ key: 'celery-task-meta-x', kind: 'string', size: 90, ttl_ms: 86_000_000, note: 'SUCCESS' }] },
    { pattern: 'stackdesk:product:*', count: 7, samples: [] }],
  our_keys: [{ key: 'stackdesk:products', kind: 'zset', size: 7, ttl_ms: null, note: null }, { key: 'stackdesk:workers', kind: 'hash', size: 1, ttl_ms: null, note: null }],
  scanned: 60, truncated: false,
};

test('Redis facts read from a glance, in both languages', () => {
  assert.equal(redisLine(glance, 'en'), 'queue 3 · in flight 1 · results 42');
  assert.equal(redisLine(glance, 'ru'), 'очередь 3 · в работе 1 · результатов 42');
  assert.equal(redisLine({ ...glance, truncated: true }, 'en'), 'queue 3 · in flight 1 · results 42+');
  assert.match(redisLine(null, 'en'), /^queue — /);
  const lines = redisKeyLines(glance, 'en');
  assert.equal(lines.queue, 'now: 3 · next aaaaaaaa');
  assert.equal(lines.meta, 'now: 42 · TTL 23 h 53 min');
  assert.equal(lines.products, 'now: 7 · product:* 7');
  assert.equal(lines.misc, 'workers 1 · revoked 0 · dead 0');
  assert.equal(keyOfNode('meta', glance), 'celery-task-meta-x');
  assert.equal(keyOfNode('queue', null), 'celery');
  assert.equal(keyOfNode('nothing', glance), null);
});

const task = (state: string, args: unknown, runtime: number | null = null) => ({ state, args, runtime, task_id: 't' } as unknown as Task);

test('the worker node names the task it runs', () => {
  assert.equal(workerLine([], 'en'), 'waiting for tasks');
  assert.equal(workerLine([task('STARTED', [{ id: 12, name: 'A very long product name' }])], 'en'), '▶ #12 A very long pr');
  assert.equal(workerLine([task('STARTED', []), task('STARTED', [])], 'ru'), '▶ 2 задач');
});

test('the product flow shows the measured steps and the task’s time', () => {
  const steps = parseServerTiming('validate;dur=0.041, store;dur=0.530');
  assert.deepEqual(steps, { validate: 0.041, store: 0.53 });
  assert.deepEqual(parseServerTiming(null), {});
  const last = { steps, totalMs: 3.25, taskId: 't' };
  assert.deepEqual(flowNotes(last, task('STARTED', [])), { 2: '0.04 ms', 3: '0.53 ms', 4: '3.3 ms', 7: 'STARTED' });
  assert.equal(flowNotes(last, task('SUCCESS', [], 30.02))[7], '30.0 s');
  assert.deepEqual(flowNotes(null, undefined), {});
});
