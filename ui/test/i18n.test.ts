// Every text exists in Russian and English, with the same placeholders.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { KEYS, translate } from '../src/i18n';

test('Russian and English have every key, with the same placeholders', () => {
  const placeholders = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort().join();
  for (const key of KEYS) {
    const ru = translate('ru', key);
    const en = translate('en', key);
    assert.ok(ru && en, key);
    assert.equal(placeholders(ru), placeholders(en), key);
  }
  assert.notEqual(translate('ru', 'stack.start'), translate('en', 'stack.start'));
});
