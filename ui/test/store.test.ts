// The store: explicit updates, and the paint scheduler (at most one paint per frame, only the
// parts marked since the last one, a painter's error kept to itself).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Product, Snapshot } from '../src/ipc';
import { type Part, Store } from '../src/store';

/** A store whose frames run when the test says. */
function withFrames(): { store: Store; frames: (() => void)[]; painted: Part[] } {
  const frames: (() => void)[] = [];
  const store = new Store((paint) => frames.push(paint));
  const painted: Part[] = [];
  for (const part of ['header', 'cards', 'log', 'tasks'] as const) store.on(part, () => painted.push(part));
  return { store, frames, painted };
}

test('a burst of changes is painted once, in the next frame, part by part', () => {
  const { store, frames, painted } = withFrames();
  store.update({ logProcess: 'api', logFollow: false }, 'log');
  store.render('cards', 'header');
  store.render('cards', 'log');
  assert.equal(frames.length, 1, 'one frame asked for');
  assert.deepEqual(painted, [], 'nothing painted before the frame');
  frames.shift()!();
  assert.deepEqual(painted, ['log', 'cards', 'header']);
  assert.equal(store.state.logProcess, 'api');
  assert.equal(store.state.logFollow, false);
});

test('only the parts marked since the last paint are painted again', () => {
  const { store, frames, painted } = withFrames();
  store.render('tasks');
  frames.shift()!();
  store.render('header');
  assert.equal(frames.length, 1);
  frames.shift()!();
  assert.deepEqual(painted, ['tasks', 'header']);
  store.update({ taskSearch: 'x' });
  assert.equal(frames.length, 0, 'an update that marks nothing asks for no frame');
});

test('a part marked while painting is painted in the next frame', () => {
  const frames: (() => void)[] = [];
  const store = new Store((paint) => frames.push(paint));
  let diagrams = 0;
  store.on('diagrams', () => {
    diagrams += 1;
    if (diagrams === 1) store.render('diagrams');
  });
  store.render('diagrams');
  frames.shift()!();
  assert.equal(frames.length, 1);
  frames.shift()!();
  assert.equal(diagrams, 2);
});

test('a painter that throws leaves the others painting', (t) => {
  const { store, frames, painted } = withFrames();
  t.mock.method(console, 'error', () => {});
  store.on('cards', () => {
    throw new Error('broken');
  });
  store.on('cards', () => painted.push('cards'));
  store.render('cards', 'header');
  frames.shift()!();
  assert.deepEqual(painted, ['cards', 'cards', 'header']);
});

const product = (id: number): Product => ({
  id,
  name: `P${id}`,
  price: 1,
  description: null,
  created_at: '2026-01-01T10:00:00.000Z',
  task_id: `t${id}`,
});

test('a new product leads the list once, its task queued, the list kept to its length', () => {
  const store = new Store(() => {});
  store.addProduct(product(1));
  store.addProduct(product(2));
  store.addProduct(product(1));
  assert.deepEqual(
    store.state.products.map((p) => p.id),
    [2, 1],
  );
  assert.equal(store.tasks.get('t2')?.state, 'PENDING');
  store.addProduct(product(3), 2);
  assert.deepEqual(
    store.state.products.map((p) => p.id),
    [3, 2],
  );
});

test("the supervisor's events change the snapshot in place; uptimes tick only while the stack runs", () => {
  const store = new Store(() => {});
  assert.equal(store.tickUptimes(), false, 'no snapshot yet');
  store.setProcess({
    process: 'api',
    mode: 'managed',
    state: 'running',
    pid: 1,
    port: 8000,
    uptime_secs: 0,
    restarts: 0,
    reason: null,
  });
  const snapshot = {
    running: false,
    processes: (['redis', 'api', 'worker'] as const).map((process) => ({
      process,
      mode: 'managed' as const,
      state: 'stopped' as const,
      pid: null,
      port: null,
      uptime_secs: null,
      restarts: 0,
      reason: null,
    })),
  } as unknown as Snapshot;
  store.update({ snapshot });
  store.setProcess({ ...snapshot.processes[1]!, state: 'running', pid: 7, uptime_secs: 5 });
  assert.equal(store.status('api')?.pid, 7);
  assert.equal(store.tickUptimes(), false, 'the stack does not run');
  store.setRunning(true);
  assert.equal(store.tickUptimes(), true);
  assert.equal(store.status('api')?.uptime_secs, 6);
  assert.equal(store.status('redis')?.uptime_secs, null, 'a process without an uptime keeps none');
});

test('a snapshot that arrives after a newer health event keeps the newer health', () => {
  const store = new Store(() => {});
  const down = { redis: { level: 'degraded' }, api: { level: 'healthy' }, worker: { level: 'healthy' } };
  const whole = { redis: { level: 'healthy' }, api: { level: 'healthy' }, worker: { level: 'healthy' } };
  const at = (health: unknown, revision: number) =>
    ({ running: true, processes: [], health, health_revision: revision }) as unknown as Snapshot;
  store.update({ snapshot: at(down, 3) });
  // Redis answers again: told as revision 4, before the action's answer (read at 3) comes in.
  store.setHealth(whole as Snapshot['health'], 4);
  store.update({ snapshot: at(down, 3) });
  assert.deepEqual(store.state.snapshot?.health, whole, 'the older snapshot left the newer health');
  assert.equal(store.state.snapshot?.health_revision, 4);
  store.setHealth(down as Snapshot['health'], 2);
  assert.deepEqual(store.state.snapshot?.health, whole, 'an older event changes nothing');
  store.update({ snapshot: at(down, 5) });
  assert.deepEqual(store.state.snapshot?.health, down, 'a newer snapshot is taken whole');
  store.setHealth(whole as Snapshot['health'], 5);
  assert.deepEqual(store.state.snapshot?.health, whole, 'an event of the same revision is newer than the snapshot');
});
