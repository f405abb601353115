// The API's and the settings' validation errors in Russian by `type` and `ctx`; English as sent.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { apiErrorText, settingProblemText } from '../src/errors';
import type { FieldError, SettingProblem } from '../src/ipc';

const plain = (s: string) => s.replace(/\u00a0/g, ' ');
const err = (type: string, ctx?: Record<string, unknown>, msg = `the API's words for ${type}`): FieldError => ({
  type,
  loc: ['body', 'x'],
  msg,
  input: null,
  ...(ctx ? { ctx } : {}),
});

test('every error type the products API emits reads in Russian', () => {
  const ru = (e: FieldError) => plain(apiErrorText(e, 'ru'));
  assert.equal(ru(err('missing')), 'Обязательное поле');
  assert.equal(ru(err('string_type')), 'Нужен текст');
  assert.equal(ru(err('string_too_short', { min_length: 1 })), 'Заполните это поле');
  assert.equal(ru(err('string_too_short', { min_length: 3 })), 'Не короче 3 символов');
  assert.equal(ru(err('string_too_long', { max_length: 200 })), 'Не длиннее 200 символов');
  assert.equal(ru(err('string_too_long', { max_length: 21 })), 'Не длиннее 21 символа');
  assert.equal(ru(err('string_too_long', { max_length: 2000 })), 'Не длиннее 2 000 символов');
  assert.equal(ru(err('greater_than', { gt: 0 })), 'Значение должно быть больше 0');
  assert.equal(ru(err('greater_than_equal', { ge: 1 })), 'Значение должно быть не меньше 1');
  assert.equal(ru(err('less_than_equal', { le: 1_000_000_000 })), 'Значение должно быть не больше 1 000 000 000');
  assert.equal(ru(err('less_than', { lt: 0.5 })), 'Значение должно быть меньше 0,5');
  assert.equal(ru(err('float_parsing')), 'Нужно число, например 12,5');
  assert.equal(ru(err('float_type')), 'Нужно число');
  assert.equal(ru(err('int_parsing')), 'Нужно целое число');
  assert.equal(ru(err('json_invalid', { error: 'expected value' })), 'Тело запроса — некорректный JSON');
  assert.equal(ru(err('model_attributes_type')), 'Тело запроса должно быть JSON-объектом');
  assert.equal(ru(err('enum', { expected: "'PENDING' or 'SUCCESS'" })), "Допустимые значения: 'PENDING' or 'SUCCESS'");
});

test('an unknown type, or a bound missing from ctx, keeps the API’s message; English keeps it always', () => {
  assert.equal(apiErrorText(err('something_new'), 'ru'), "the API's words for something_new");
  assert.equal(apiErrorText(err('greater_than'), 'ru'), "the API's words for greater_than");
  assert.equal(
    apiErrorText(err('greater_than', { gt: 0 }, 'Input should be greater than 0'), 'en'),
    'Input should be greater than 0',
  );
});

test('settings problems read in Russian by their type', () => {
  // As the backend sends them (the type is generated from its Rust definition).
  const problem = (type: string, ctx?: Record<string, unknown>, key = 'K') =>
    ({ key, message: `expected ${type}`, type, ...(ctx ? { ctx } : {}) }) as SettingProblem;
  const ru = (p: SettingProblem, field?: string) => plain(settingProblemText(p, 'ru', field));
  assert.equal(ru(problem('whole_number', { min: 1, max: 64 })), 'Нужно целое число от 1 до 64');
  assert.equal(ru(problem('whole_number', { min: 1, max: 65535 })), 'Нужно целое число от 1 до 65 535');
  assert.equal(ru(problem('seconds', { max: 3600 })), 'Нужно число секунд от 0 до 3 600, например 2,5');
  assert.equal(
    ru(problem('required_with', { other: 'TELEGRAM_BOT_TOKEN' })),
    'Обязательно, когда задан TELEGRAM_BOT_TOKEN',
  );
  assert.equal(ru(problem('redis_url', undefined, 'REDIS_URL'), 'REDIS_PORT'), 'Нужен номер порта от 1 до 65 535');
  assert.match(ru(problem('redis_url', undefined, 'REDIS_URL')), /^Нужен адрес вида redis:\/\//);
  assert.equal(ru(problem('distinct_port', { other: 'API_PORT' })), 'Нужен отдельный порт: этот уже занимает API_PORT');
  for (const type of ['host', 'http_url', 'origins', 'redis_tcp', 'env_file', 'not_editable']) {
    assert.match(ru(problem(type)), /[А-Яа-я]/, type);
  }
  assert.equal(settingProblemText(problem('whole_number', { min: 1, max: 64 }), 'en'), 'expected whole_number');
});
