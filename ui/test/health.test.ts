// Unit tests of what the header and the cards say about health (node's test runner; `npm test`).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { healthOf, pending, pendingText, problemText, stackLevel, troubles } from '../src/health';
import type { Health, ProcessKind, ProcessState, SettingsView, Snapshot, StackHealth } from '../src/ipc';

const healthy: Health = { level: 'healthy' };

function snapshot(
  states: Record<ProcessKind, ProcessState>,
  health: Partial<StackHealth> = {},
  extra: Partial<Snapshot> = {},
): Snapshot {
  return {
    running: true,
    monitor_url: 'http://127.0.0.1:5555',
    processes: (['redis', 'api', 'worker'] as const).map((process) => ({
      process,
      mode: 'managed',
      state: states[process],
      pid: 1,
      port: null,
      uptime_secs: 1,
      restarts: 0,
      reason: null,
    })),
    health: { redis: healthy, api: healthy, worker: healthy, ...health },
    health_revision: 0,
    restart_pending: [],
    api_url: 'http://127.0.0.1:8010',
    docs_url: 'http://127.0.0.1:8010/docs',
    redis_url: 'redis://127.0.0.1:6390/0',
    data_dir: '/tmp/data',
    logs_dir: '/tmp/data/logs',
    ...extra,
  };
}

const allRunning = { redis: 'running', api: 'running', worker: 'running' } as const;
const redisDown: Health = {
  level: 'degraded',
  problem: { kind: 'api_redis_unreachable' },
  detail: 'Redis is unavailable: broken pipe',
};
const workerCut: Health = {
  level: 'degraded',
  problem: { kind: 'worker_redis_unreachable' },
  detail: 'Redis is stopped',
};

test('the stack runs whole only when every process is up and healthy', () => {
  assert.equal(stackLevel(null), 'stopped');
  assert.equal(stackLevel(snapshot(allRunning, {}, { running: false })), 'stopped');
  assert.equal(stackLevel(snapshot(allRunning)), 'running');
  assert.equal(
    stackLevel(snapshot({ ...allRunning, redis: 'external' })),
    'running',
    'an external process counts when healthy',
  );
  assert.equal(stackLevel(snapshot(allRunning, { api: redisDown })), 'partly', 'one degraded process');
  assert.equal(stackLevel(snapshot({ ...allRunning, worker: 'stopped' })), 'partly', 'one stopped process');
  assert.equal(stackLevel(snapshot({ ...allRunning, worker: 'backing-off' })), 'partly', 'one restarting process');
});

test('a health report never outlives its process', () => {
  const s = snapshot({ ...allRunning, api: 'stopped' }, { api: redisDown });
  assert.deepEqual(healthOf(s.processes[1], s), { level: 'down' }, 'a stopped API is stopped, not degraded');
  assert.deepEqual(healthOf(s.processes[0], s), healthy);
  assert.deepEqual(healthOf(undefined, s), { level: 'down' });
  const old = { ...snapshot(allRunning), health: undefined as unknown as StackHealth };
  assert.deepEqual(healthOf(old.processes[0], old), healthy, 'a backend without health: the state alone');
});

test('Redis stopped: the header names what is wrong, the cards say why, in both languages', () => {
  const s = snapshot(
    { ...allRunning, redis: 'stopped' },
    { redis: { level: 'down' }, api: redisDown, worker: workerCut },
  );
  assert.equal(stackLevel(s), 'partly');
  assert.deepEqual(troubles(s, 'ru'), ['Redis: остановлен', 'API: работает частично', 'Воркер: работает частично']);
  assert.deepEqual(troubles(s, 'en'), ['Redis: stopped', 'API: partly working', 'Worker: partly working']);
  assert.deepEqual(troubles(snapshot(allRunning), 'ru'), []);
  assert.equal(problemText({ kind: 'api_redis_unreachable' }, 'ru'), 'Redis недоступен: API не может сохранять товары');
  assert.equal(problemText({ kind: 'worker_redis_unreachable' }, 'ru'), 'Воркер не получает задачи: нет связи с Redis');
  assert.equal(
    problemText({ kind: 'api_redis_unreachable' }, 'en'),
    'Redis is unreachable: the API cannot save products',
  );
});

test("a silent worker is told with the limit in the language's units", () => {
  const ru = problemText({ kind: 'worker_silent', limit_secs: 5 }, 'ru');
  assert.match(ru, /уже дольше 5\u00a0с /, ru);
  assert.match(problemText({ kind: 'worker_silent', limit_secs: 5.2 }, 'en'), /over 5\u00a0s /);
  for (const kind of ['redis_no_answer', 'api_no_answer'] as const) {
    assert.notEqual(problemText({ kind }, 'ru'), problemText({ kind }, 'en'), `${kind} is translated`);
  }
});

test('a saved API port waits for the restart, and the page keeps the running one', () => {
  const settings = { values: { API_PORT: '8011' } } as unknown as SettingsView;
  assert.equal(pending(snapshot(allRunning), settings), null, 'nothing pending');
  const s = snapshot(allRunning, {}, { restart_pending: ['api'] });
  const p = pending(s, settings);
  assert.deepEqual(p, { processes: ['api'], apiPort: { running: '8010', saved: '8011' } });
  assert.equal(
    pendingText(p!, 'ru'),
    'Новый порт API 8011 заработает после перезапуска системы; до тех пор страница работает с API на порту 8010.',
  );
  assert.equal(pending({ ...s, running: false }, settings), null, 'a stopped stack starts with the saved settings');
  const all = pending(snapshot(allRunning, {}, { restart_pending: ['redis', 'api', 'worker'] }), {
    values: { API_PORT: '8010' },
  } as unknown as SettingsView);
  assert.deepEqual(all?.apiPort, null, 'the API port did not change');
  assert.equal(
    pendingText(all!, 'en'),
    'Saved settings take effect after a restart of the stack (Redis, API, Worker).',
  );
});
