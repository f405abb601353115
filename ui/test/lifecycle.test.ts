// The task lifecycle's live layer: counts of the state a task is really in, a task's path, the
// retry countdown, and the edges a task crosses (a retry, a redelivery after a dead worker).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  countdownLeft,
  countdownText,
  edgeIndex,
  edgesToFlash,
  effectiveState,
  LIFECYCLE,
  LifecycleMotion,
  lifecyclePath,
  pathLabel,
  retryNote,
  stateEdgeOf,
  stateLabel,
} from '../src/diagrams/lifecycle';
import type { Step, Task, TaskState } from '../src/ipc';
import { formatDuration } from '../src/format';
import { TaskStore } from '../src/state';

const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);
const at = (secs: number) => new Date(T0 + secs * 1000).toISOString();
const when = (secs: number) => T0 + secs * 1000;
const step = (state: TaskState, secs: number, extra: Partial<Step> = {}): Step => ({
  state,
  at: at(secs),
  worker: null,
  ...extra,
});

function task(id: string, timeline: Step[], extra: Partial<Task> = {}): Task {
  return {
    task_id: id,
    name: 'tasks.notifications.send_tg_notification',
    state: timeline[timeline.length - 1]!.state,
    args: [{ id: 1, name: 'Phone' }],
    result: null,
    error: null,
    retries: 0,
    worker: timeline[timeline.length - 1]!.worker,
    product_id: 1,
    runtime: null,
    sent_at: timeline[0]!.at,
    date_done: null,
    timeline,
    eta: null,
    retry_of: null,
    retried_as: null,
    finished: false,
    can_revoke: true,
    can_retry: false,
    ...extra,
  };
}

const RETRIED = [step('PENDING', 0), step('RECEIVED', 1), step('STARTED', 1.5), step('RETRY', 3.5)];
/** A retried task whose message came back at once with an eta 5 s after the retry. */
const COUNTING = [...RETRIED, step('RECEIVED', 3.501, { eta: at(8.5) })];

test('labels carry counts and a note; edges are found in Mermaid element ids', () => {
  assert.equal(stateLabel('STARTED', { STARTED: 3 }), 'STARTED · 3');
  assert.equal(stateLabel('RETRY', { STARTED: 3 }), 'RETRY');
  assert.equal(stateLabel('RETRY', { RETRY: 1 }, 'через 3 с'), 'RETRY · 1 · через 3 с');
  assert.equal(stateEdgeOf('d-lifecycle-3-edge4'), 4);
  assert.equal(stateEdgeOf('d-lifecycle-3-state-RETRY-4'), null);
  assert.equal(edgeIndex('STARTED', 'RECEIVED'), 6, 'the redelivery is edge6');
  assert.equal(edgeIndex('RETRY', 'RECEIVED'), 5);
  assert.equal(edgeIndex('RECEIVED', 'PENDING'), -1);
});

test('a task’s path covers each state it passed, RETRY loops and a redelivery included', () => {
  const timeline = [
    step('PENDING', 0),
    step('RECEIVED', 1),
    step('STARTED', 1.5),
    step('RETRY', 3.5),
    step('RECEIVED', 8.5),
    step('STARTED', 9),
    step('RECEIVED', 10),
    step('STARTED', 11),
    step('SUCCESS', 14),
  ];
  const path = lifecyclePath(timeline, when(100));
  assert.deepEqual(path.visits.STARTED, { times: 3, secs: 2 + 1 + 3 });
  assert.deepEqual(path.visits.RETRY, { times: 1, secs: 5 });
  assert.deepEqual(path.visits.RECEIVED, { times: 3, secs: 0.5 + 0.5 + 1 });
  for (const edge of [
    '[*]>PENDING',
    'PENDING>RECEIVED',
    'STARTED>RETRY',
    'RETRY>RECEIVED',
    'STARTED>RECEIVED',
    'STARTED>SUCCESS',
  ]) {
    assert.ok(path.transitions.has(edge), edge);
  }
  assert.ok(!path.transitions.has('STARTED>FAILURE'));
  // Every transition a task can take is drawn (so it can be highlighted).
  const drawn = new Set(LIFECYCLE.map((t) => `${t.from}>${t.to}`));
  for (const edge of path.transitions) assert.ok(drawn.has(edge), `${edge} is not in the diagram`);
  assert.equal(pathLabel('STARTED', path, { STARTED: 0 }), `STARTED ×3 · ${formatDuration(6)}`);
  assert.equal(pathLabel('SUCCESS', path, { SUCCESS: 4 }), 'SUCCESS · 4 ✓');
  assert.equal(pathLabel('FAILURE', path, {}), 'FAILURE');
});

test('the current state of a running task counts until now', () => {
  const path = lifecyclePath([step('PENDING', 0), step('RECEIVED', 1), step('STARTED', 2)], when(4.5));
  assert.equal(path.visits.STARTED!.secs, 2.5);
  assert.equal(path.current, 'STARTED');
  assert.ok(!path.transitions.has('STARTED>[*]'));
});

test('during a retry’s countdown the task is RETRY, counted and drawn so, with the time left', () => {
  const waiting = task('a', COUNTING);
  assert.equal(waiting.state, 'RECEIVED', 'what the events say');
  assert.equal(effectiveState(waiting, when(3.6)), 'RETRY');
  assert.equal(effectiveState(waiting, when(8.4)), 'RETRY', 'for the whole countdown');
  assert.equal(countdownLeft(waiting, when(5.5)), 3);
  assert.equal(retryNote([waiting], null, when(5.5), 'ru'), 'через 3 с');
  assert.equal(retryNote([waiting], null, when(5.2), 'en'), 'in 4 s', 'rounded up: never 0 before the end');
  const store = new TaskStore();
  store.upsert(waiting);
  store.upsert(task('b', [step('PENDING', 0), step('RECEIVED', 1), step('STARTED', 2)]));
  const counts = store.counts((t) => effectiveState(t, when(6)));
  assert.equal(counts.RETRY, 1);
  assert.equal(counts.RECEIVED, 0);
  assert.equal(counts.STARTED, 1);
  assert.equal(store.counts().RECEIVED, 1, 'the plain counts keep the history’s state');

  // Its path gives the countdown to RETRY, not RECEIVED.
  const path = lifecyclePath(waiting, when(6));
  assert.equal(path.current, 'RETRY');
  assert.deepEqual(path.visits.RETRY, { times: 1, secs: 2.5 });
  assert.deepEqual(path.visits.RECEIVED, { times: 1, secs: 0.5 });
  assert.ok(!path.transitions.has('RETRY>RECEIVED'), 'not received again yet, as far as the diagram goes');
  assert.equal(pathLabel('RETRY', path, { RETRY: 1 }, countdownText(2.5, 'ru')), 'RETRY · 1 · через 3 с');

  // At the eta it is waiting for a free slot (RECEIVED) until it starts.
  assert.equal(effectiveState(waiting, when(8.6)), 'RECEIVED');
  assert.equal(countdownLeft(waiting, when(8.6)), null);
  const done = task('a', [...COUNTING, step('STARTED', 8.52), step('SUCCESS', 10)]);
  const after = lifecyclePath(done, when(20));
  assert.ok(Math.abs(after.visits.RETRY!.secs - 5) < 1e-9, 'the whole countdown is RETRY');
  assert.equal(after.visits.RECEIVED!.times, 2);
  assert.ok(Math.abs(after.visits.RECEIVED!.secs - (0.5 + 0.02)) < 1e-9);
  assert.ok(after.transitions.has('RETRY>RECEIVED') && after.transitions.has('RECEIVED>STARTED'));
});

test('the eta is read from the step, else from the task; a past or missing one changes nothing', () => {
  const bare = COUNTING.map(({ eta: _eta, ...rest }) => rest);
  assert.equal(effectiveState(task('a', bare, { eta: at(8.5) }), when(5)), 'RETRY');
  assert.equal(effectiveState(task('a', bare), when(5)), 'RECEIVED', 'no eta: received');
  const late = [...RETRIED, step('RECEIVED', 9, { eta: at(8.5) })];
  assert.equal(effectiveState(task('a', late), when(9.1)), 'RECEIVED', 'received after its eta');
  const redelivered = [
    step('PENDING', 0),
    step('RECEIVED', 1),
    step('STARTED', 2),
    step('RECEIVED', 3, { eta: at(9) }),
  ];
  assert.equal(effectiveState(task('a', redelivered), when(5)), 'RECEIVED', 'an eta without a retry before it');
});

test('countdowns read as a teacher says them', () => {
  assert.equal(countdownText(3, 'ru'), 'через 3 с');
  assert.equal(countdownText(2.01, 'ru'), 'через 3 с');
  assert.equal(countdownText(65, 'ru'), 'через 1 мин 5 с');
  assert.equal(countdownText(3, 'en'), 'in 3 s');
  assert.equal(countdownText(120, 'en'), 'in 2 min 0 s');
  assert.equal(countdownText(0, 'ru'), 'через 0 с');
});

test('the RETRY note is the selected task’s countdown, else the soonest', () => {
  const soon = task('soon', [...RETRIED, step('RECEIVED', 3.501, { eta: at(5) })]);
  const later = task('later', COUNTING);
  const running = task('run', [step('PENDING', 0), step('STARTED', 1)]);
  assert.equal(retryNote([later, soon, running], null, when(4), 'en'), 'in 1 s');
  assert.equal(retryNote([later, soon, running], later, when(4), 'en'), 'in 5 s');
  assert.equal(retryNote([later, soon, running], running, when(4), 'en'), null);
});

test('a retry flashes STARTED→RETRY, then RETRY→RECEIVED→STARTED when its countdown ends', () => {
  const started = task('a', RETRIED.slice(0, 3));
  const retried = task('a', COUNTING);
  assert.deepEqual(edgesToFlash(started, retried, when(3.6)), [edgeIndex('STARTED', 'RETRY')]);
  assert.deepEqual(edgesToFlash(retried, retried, when(4)), [], 'nothing new');
  const again = task('a', [...COUNTING, step('STARTED', 8.52)]);
  assert.deepEqual(
    edgesToFlash(retried, again, when(8.53)),
    [edgeIndex('RECEIVED', 'STARTED')],
    'at 8.53 the countdown was over in both',
  );
  // Painted during the countdown and again after the start: the countdown's end is crossed too.
  const motion = new LifecycleMotion();
  motion.step([retried], when(8.4));
  assert.deepEqual(
    [...motion.step([again], when(8.53))],
    [edgeIndex('RETRY', 'RECEIVED'), edgeIndex('RECEIVED', 'STARTED')],
  );
});

test('a redelivery flashes STARTED→RECEIVED; a stale view and a first sight flash nothing', () => {
  const running = task('a', [step('PENDING', 0), step('RECEIVED', 1), step('STARTED', 2)]);
  const redelivered = task('a', [...running.timeline, step('RECEIVED', 5), step('STARTED', 5.01)]);
  assert.deepEqual(edgesToFlash(running, redelivered, when(6)), [6, edgeIndex('RECEIVED', 'STARTED')]);
  assert.deepEqual(edgesToFlash(redelivered, running, when(6)), [], 'an older view');
  assert.deepEqual(edgesToFlash(undefined, redelivered, when(6)), []);
});

test('the store takes a redelivery (a newer timeline) and refuses stale views', () => {
  const store = new TaskStore();
  const running = task('a', [step('PENDING', 0), step('RECEIVED', 1), step('STARTED', 2)]);
  store.upsert(running);
  store.upsert(task('a', [...running.timeline, step('RECEIVED', 5)]));
  assert.equal(store.get('a')?.state, 'RECEIVED', 'STARTED → RECEIVED: the newer timeline wins');
  store.upsert(running);
  assert.equal(store.get('a')?.state, 'RECEIVED', 'a late copy of the STARTED view is stale');
  // Same length, but older: a view from before the retry does not undo it.
  store.upsert(task('b', RETRIED));
  store.upsert(task('b', [...RETRIED.slice(0, 3), step('PENDING', 0.5)]));
  assert.equal(store.get('b')?.state, 'RETRY');
  // The result ahead of the events (same timeline, further state) is news.
  store.upsert(task('b', RETRIED, { state: 'FAILURE' }));
  assert.equal(store.get('b')?.state, 'FAILURE');
  store.upsert(task('b', RETRIED));
  assert.equal(store.get('b')?.state, 'FAILURE');
});

test('a killed worker’s task moves back to RECEIVED at once, and the edge flashes', () => {
  const motion = new LifecycleMotion();
  const ours = task('ours', [
    step('PENDING', 0),
    step('RECEIVED', 1, { worker: 'stackdesk@vm' }),
    step('STARTED', 1.1, { worker: 'stackdesk@vm' }),
  ]);
  const python = task('py', [
    step('PENDING', 0),
    step('RECEIVED', 1, { worker: 'py@vm' }),
    step('STARTED', 1.1, { worker: 'py@vm' }),
  ]);
  motion.observeWorker({ state: 'running', pid: 10 }, when(2));
  assert.deepEqual([...motion.step([ours, python], when(2))], []);
  assert.equal(motion.stateOf(ours, when(2)), 'STARTED');

  // Killed: the supervisor reports it at once; the worker sends nothing.
  motion.observeWorker({ state: 'backing-off', pid: null }, when(3));
  assert.equal(motion.stateOf(ours, when(3)), 'RECEIVED');
  assert.equal(motion.stateOf(python, when(3)), 'STARTED', 'another worker’s task runs on');
  assert.deepEqual([...motion.step([ours, python], when(3))], [6]);
  const path = lifecyclePath(ours, when(3.5), motion.lost);
  assert.ok(path.transitions.has('STARTED>RECEIVED'));
  assert.ok(Math.abs(path.visits.STARTED!.secs - 1.9) < 1e-9, 'STARTED until the worker died');

  // The new worker receives and starts it: the redelivery is in the history now.
  motion.observeWorker({ state: 'running', pid: 11 }, when(3.6));
  const received = task('ours', [...ours.timeline, step('RECEIVED', 3.7, { worker: 'stackdesk@vm' })]);
  assert.equal(motion.stateOf(received, when(3.7)), 'RECEIVED');
  assert.deepEqual([...motion.step([received, python], when(3.7))], [], 'already shown');
  const restarted = task('ours', [...received.timeline, step('STARTED', 3.71, { worker: 'stackdesk@vm' })]);
  assert.equal(motion.stateOf(restarted, when(3.8)), 'STARTED');
  assert.deepEqual([...motion.step([restarted, python], when(3.8))], [edgeIndex('RECEIVED', 'STARTED')]);
});

test('a polite stop is no death until it is over; a new pid is one; an unwatched change is not flashed', () => {
  const motion = new LifecycleMotion();
  const ours = task('ours', [step('PENDING', 0), step('STARTED', 1, { worker: 'stackdesk@vm' })]);
  motion.observeWorker({ state: 'running', pid: 10 }, when(2));
  motion.observeWorker({ state: 'stopping', pid: 10 }, when(2.5));
  assert.equal(motion.stateOf(ours, when(2.6)), 'STARTED', 'it may finish its task');
  motion.observeWorker({ state: 'running', pid: 12 }, when(3));
  assert.equal(motion.lost.length, 0, 'stopping, then running again is no death of a running worker');
  motion.observeWorker({ state: 'running', pid: 13 }, when(4));
  assert.equal(motion.stateOf(ours, when(4.1)), 'RECEIVED', 'a restart between two paints');

  const watcher = new LifecycleMotion();
  const running = task('x', [step('PENDING', 0), step('STARTED', 1)]);
  watcher.step([running], when(1));
  const redelivered = task('x', [...running.timeline, step('RECEIVED', 5), step('STARTED', 5.1)]);
  assert.deepEqual([...watcher.step([redelivered], when(10))], [], 'seen 9 s later: not news any more');
});
