import assert from 'node:assert/strict';
import { test } from 'node:test';
import { portTakenText, reasonText, startFailureText } from '../src/reason';
import type { DeskErrorBody, Reason } from '../src/ipc';

const killed = { kind: 'exited', how: { kind: 'signal', signal: 9 } } as const;

test('a crash loop says what happened and what to do, in Russian with its plural', () => {
  const loop = (count: number): Reason => ({
    kind: 'crash_loop',
    count,
    window_secs: 60,
    pause_secs: 60,
    cause: killed,
  });
  const five = reasonText(loop(5), 'ru');
  assert.match(five, /^5 сбоев за 1\u00a0мин, поэтому перезапуски приостановлены на 1\u00a0мин;/);
  assert.match(five, /нажмите «Запустить» на этой карточке/);
  assert.match(five, /Последний сбой: завершён сигналом 9$/);
  assert.match(reasonText(loop(3), 'ru'), /^3 сбоя /);
  assert.match(reasonText(loop(21), 'ru'), /^21 сбой /);
  assert.match(reasonText(loop(1), 'en'), /^1 crash in 1\u00a0min/);
});

test('every reason reads without English in Russian', () => {
  const reasons: Reason[] = [
    { kind: 'probing' },
    { kind: 'external_silent' },
    { kind: 'crashed', cause: { kind: 'exited', how: { kind: 'code', code: 3 } } },
    { kind: 'restarting_in', secs: 0.5, cause: killed },
    { kind: 'waiting_for_redis', cause: { kind: 'not_ready', why: { kind: 'lost_redis' } } },
    { kind: 'waiting_for_put_back' },
    { kind: 'crashed', cause: { kind: 'not_ready', why: { kind: 'timeout', millis: 20000 } } },
    { kind: 'crashed', cause: { kind: 'not_ready', why: { kind: 'refused', reply: 'NOAUTH', had_password: false } } },
  ];
  for (const reason of reasons) {
    const text = reasonText(reason, 'ru');
    // Technical names only (Redis, REDIS_URL, Stackdesk, NOAUTH): no English words.
    const english = text.replace(/Redis|REDIS_URL|Stackdesk|NOAUTH/g, '').match(/[A-Za-z]{3,}/);
    assert.equal(english, null, `${reason.kind}: ${text}`);
  }
  assert.equal(
    reasonText({ kind: 'restarting_in', secs: 0.5, cause: killed }, 'ru'),
    'перезапуск через 500\u00a0мс; причина остановки: завершён сигналом 9',
  );
});

test("a failed start is worded in the page's language, naming the process", () => {
  assert.equal(
    startFailureText('redis', { kind: 'external_silent', port: 6390 }, 'ru'),
    'Redis не запустился: он внешний и не отвечает на порту 6390: запустите его сами или доверьте запуск Stackdesk (Настройки)',
  );
  assert.equal(
    startFailureText('worker', { kind: 'not_ready', why: { kind: 'timeout', millis: 20000 } }, 'ru'),
    'Воркер не запустился: не ответил на проверку за 20\u00a0с',
  );
  assert.equal(
    startFailureText('api', { kind: 'stopped_before_ready' }, 'en'),
    'API did not start: the stack was stopped before it was ready',
  );
});

test('a taken port says who has it and what to change, in Russian', () => {
  const taken = (extra: Partial<DeskErrorBody>): DeskErrorBody => ({
    kind: 'port_taken',
    message: 'port 8000, needed by api, …',
    port: 8000,
    ...extra,
  });
  assert.equal(
    portTakenText(taken({ process: 'api', owner: 'program', owner_name: 'python3', owner_pid: 4242 }), 'ru'),
    'Порт 8000 нужен API, но его уже занимает python3 (pid 4242). Остановите эту программу или измените API_PORT.',
  );
  assert.equal(
    portTakenText(taken({ owner: 'program' }), 'ru'),
    'Порт 8000 нужен монитору задач, но его уже занимает другая программа. Остановите эту программу или измените MONITOR_PORT.',
  );
  assert.match(
    portTakenText(taken({ process: 'redis', owner: 'redis' }), 'ru'),
    /^Порт 8000 уже занят работающим Redis\./,
  );
  assert.equal(
    portTakenText(taken({ process: 'redis', owner: 'program', owner_pid: 7 }), 'en'),
    'Port 8000 is needed by Redis, but process 7 already uses it. Stop that program, or change the port in REDIS_URL.',
  );
});
