// Unit tests of the UI's state logic (node's test runner; run with `npm test`).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { FieldError, Product, Task, TaskState } from '../src/ipc';
import { formatDuration } from '../src/format';
import {
  cardActions,
  fieldErrors,
  LogBuffer,
  light,
  QueueWatch,
  redisPortOf,
  redisUrlFor,
  TaskStore,
  timelineWithDurations,
} from '../src/state';

function task(id: string, state: TaskState, sent: string, extra: Partial<Task> = {}): Task {
  return {
    task_id: id,
    name: 'tasks.notifications.send_tg_notification',
    state,
    args: [{ id: 1, name: 'Phone' }],
    result: null,
    error: null,
    retries: 0,
    worker: null,
    product_id: 1,
    runtime: null,
    sent_at: sent,
    date_done: null,
    timeline: [{ state: 'PENDING', at: sent, worker: null }],
    eta: null,
    retry_of: null,
    retried_as: null,
    finished: false,
    can_revoke: true,
    can_retry: false,
    ...extra,
  };
}

const product: Product = {
  id: 7,
  name: 'Кружка',
  price: 3,
  description: null,
  created_at: '2026-01-01T10:00:00.000Z',
  task_id: 't7',
};

test('a created product shows its task as PENDING at once, and the live view replaces it', () => {
  const store = new TaskStore();
  store.queued(product);
  assert.equal(store.get('t7')?.state, 'PENDING');
  assert.equal(store.ofProduct(7)?.task_id, 't7');
  store.upsert(task('t7', 'STARTED', product.created_at, { product_id: 7 }));
  assert.equal(store.get('t7')?.state, 'STARTED');
  store.queued(product);
  assert.equal(store.get('t7')?.state, 'STARTED', 'a late product event does not move the task back');
});

test('an older view never moves a task back, a fuller one does', () => {
  const store = new TaskStore();
  store.upsert(task('a', 'SUCCESS', '2026-01-01T10:00:00Z'));
  store.upsert(task('a', 'STARTED', '2026-01-01T10:00:00Z'));
  assert.equal(store.get('a')?.state, 'SUCCESS');
  const retried = task('a', 'PENDING', '2026-01-01T10:00:00Z', {
    timeline: [1, 2, 3].map(() => ({ state: 'PENDING', at: '2026-01-01T10:00:00Z', worker: null })),
  });
  store.upsert(retried);
  assert.equal(store.get('a')?.state, 'PENDING', 'a longer timeline is news');
});

test('counts, filter, search and newest-first order', () => {
  const store = new TaskStore();
  store.upsert(task('old', 'SUCCESS', '2026-01-01T09:00:00Z'));
  store.upsert(
    task('new', 'FAILURE', '2026-01-01T11:00:00Z', {
      error: { type: 'TelegramError', message: 'chat not found', traceback: null },
    }),
  );
  store.upsert(task('mid', 'SUCCESS', '2026-01-01T10:00:00Z', { worker: 'stackdesk@vm' }));
  assert.deepEqual(
    store.list(null, '', 10).map((t) => t.task_id),
    ['new', 'mid', 'old'],
  );
  assert.deepEqual(
    store.list('SUCCESS', '', 10).map((t) => t.task_id),
    ['mid', 'old'],
  );
  assert.deepEqual(
    store.list(null, 'CHAT NOT', 10).map((t) => t.task_id),
    ['new'],
  );
  assert.deepEqual(
    store.list(null, 'stackdesk@', 10).map((t) => t.task_id),
    ['mid'],
  );
  assert.equal(store.counts().SUCCESS, 2);
  assert.equal(store.counts().FAILURE, 1);
  assert.equal(store.counts().PENDING, 0);
  assert.deepEqual(
    store.failed().map((t) => t.task_id),
    ['new'],
  );
  store.upsert({ ...store.get('new')!, retried_as: 'x' });
  assert.deepEqual(store.failed(), [], 'a retried failure is not offered again');
});

test('the store is bounded and drops the oldest', () => {
  const store = new TaskStore(3);
  for (let i = 0; i < 5; i++) store.upsert(task(`t${i}`, 'SUCCESS', `2026-01-01T10:00:0${i}Z`));
  assert.deepEqual(
    store.list(null, '', 10).map((t) => t.task_id),
    ['t4', 't3', 't2'],
  );
});

test('timeline durations and formatting', () => {
  const steps = timelineWithDurations([
    { state: 'PENDING', at: '2026-01-01T10:00:00.000Z', worker: null },
    { state: 'RECEIVED', at: '2026-01-01T10:00:00.250Z', worker: 'w' },
    { state: 'SUCCESS', at: '2026-01-01T10:00:30.250Z', worker: 'w' },
  ]);
  assert.deepEqual(
    steps.map((s) => s.after),
    [null, 0.25, 30],
  );
  const plain = (s: string) => s.replace(/\u00a0/g, ' ');
  assert.equal(plain(formatDuration(0.25, 'en')), '250 ms');
  assert.equal(plain(formatDuration(4.24, 'en')), '4.2 s');
  assert.equal(plain(formatDuration(185, 'en')), '3 min 05 s');
  assert.equal(plain(formatDuration(7800, 'en')), '2 h 10 min');
  assert.equal(plain(formatDuration(0.25, 'ru')), '250 мс');
  assert.equal(plain(formatDuration(4.24, 'ru')), '4,2 с');
  assert.equal(plain(formatDuration(185, 'ru')), '3 мин 05 с');
  assert.equal(plain(formatDuration(7800, 'ru')), '2 ч 10 мин');
  assert.equal(plain(formatDuration(4.24)), '4,2 с', 'the UI’s language (Russian until set) when none is given');
  assert.equal(formatDuration(null), '—');
});

test('lights and card buttons follow the process state', () => {
  assert.equal(light('running'), 'on');
  assert.equal(light('backing-off'), 'busy');
  assert.equal(light('crashed'), 'bad');
  assert.equal(light('external'), 'ext');
  assert.equal(light('stopped'), 'off');
  assert.deepEqual(cardActions('running', true), ['stop', 'restart']);
  assert.deepEqual(cardActions('stopped', true), ['start']);
  assert.deepEqual(cardActions('crashed', true), ['start']);
  assert.deepEqual(cardActions('starting', true), []);
  assert.deepEqual(cardActions('running', false), [], 'no single-process buttons while the stack is stopped');
});

test('422 details become one message per field, in the UI’s language', () => {
  const detail: FieldError[] = [
    {
      type: 'string_too_short',
      loc: ['body', 'name'],
      input: null,
      msg: 'String should have at least 1 character',
      ctx: { min_length: 1 },
    },
    {
      type: 'greater_than',
      loc: ['body', 'price'],
      msg: 'Input should be greater than 0',
      input: null,
      ctx: { gt: 0 },
    },
    {
      type: 'json_invalid',
      loc: ['body', 12],
      msg: 'JSON decode error',
      input: null,
      ctx: { error: 'expected value' },
    },
    {
      type: 'string_too_long',
      loc: ['body', 'name'],
      input: null,
      msg: 'String should have at most 200 characters',
      ctx: { max_length: 200 },
    },
  ];
  const en = fieldErrors(detail, 'en');
  assert.equal(en.name, 'String should have at least 1 character; String should have at most 200 characters');
  assert.equal(en.price, 'Input should be greater than 0');
  assert.equal(en['12'], 'JSON decode error');
  const ru = fieldErrors(detail, 'ru');
  assert.equal(ru.name, 'Заполните это поле; Не длиннее 200 символов');
  assert.equal(ru.price, 'Значение должно быть больше 0');
  assert.equal(ru['12'], 'Тело запроса — некорректный JSON');
  assert.deepEqual(fieldErrors('Redis is unavailable'), { _: 'Redis is unavailable' });
});

test('the queue warning appears only when tasks wait without a worker, and says when it grows', () => {
  const queue = new QueueWatch();
  assert.equal(queue.warning('stopped'), null);
  queue.sample(1);
  assert.equal(queue.warning('running'), null);
  assert.deepEqual(queue.warning('stopped'), { queued: 1, growing: false });
  queue.sample(3);
  assert.deepEqual(queue.warning('crashed'), { queued: 3, growing: true });
  assert.equal(queue.warning('external'), null);
  queue.sample(0);
  assert.equal(queue.warning('stopped'), null);
});

test('log buffer keeps the last lines and searches case-insensitively', () => {
  const log = new LogBuffer(3);
  for (const line of ['a Ready', 'b', 'c READY', 'd']) log.push(line);
  assert.deepEqual(log.lines, ['b', 'c READY', 'd']);
  assert.deepEqual(log.matching('ready'), ['c READY']);
  assert.equal(log.version, 4);
});

test('the Redis port field maps to REDIS_URL and back', () => {
  assert.equal(redisUrlFor(' 6380 '), 'redis://127.0.0.1:6380/0');
  assert.equal(redisPortOf('redis://127.0.0.1:6380/0'), '6380');
  assert.equal(redisPortOf('redis://localhost/0'), '6379');
  assert.equal(redisPortOf('redis://:pw@example.com:6379/0'), '', 'a remote Redis is not a port field');
  assert.equal(redisPortOf('redis://***@127.0.0.1:6390/0'), '6390', 'a local Redis with a (masked) password');
  assert.equal(
    redisUrlFor('6391', 'redis://***@127.0.0.1:6390/2'),
    'redis://***@127.0.0.1:6391/2',
    'the password part and the database stay',
  );
});
