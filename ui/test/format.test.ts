// Numbers, durations and counts in both languages (format.ts), and typed decimals.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatCount, formatDuration, formatMs, formatNumber, formatTimes, parseDecimal } from '../src/format';

/** The strings with a plain space for the no-break one, to keep the expectations readable. */
const plain = (s: string) => s.replace(/\u00a0/g, ' ');

test('durations in Russian: comma decimals and мс, с, мин, ч', () => {
  const ru = (secs: number | null) => plain(formatDuration(secs, 'ru'));
  assert.equal(ru(0.85), '850 мс');
  assert.equal(ru(0.0004), '0 мс');
  assert.equal(ru(3.5), '3,5 с');
  assert.equal(ru(3), '3 с', 'a whole number of seconds as such');
  assert.equal(ru(3.04), '3,0 с');
  assert.equal(ru(0.9996), '1,0 с', 'rounding up to a second is said in seconds');
  assert.equal(ru(59.96), '1 мин 00 с', 'rounding up to a minute is said in minutes');
  assert.equal(ru(185), '3 мин 05 с');
  assert.equal(ru(86_160), '23 ч 56 мин');
  assert.equal(ru(7800), '2 ч 10 мин');
  assert.equal(ru(null), '—');
  assert.equal(ru(Number.NaN), '—');
});

test('durations in English keep the decimal point and English units', () => {
  const en = (secs: number) => plain(formatDuration(secs, 'en'));
  assert.equal(en(0.85), '850 ms');
  assert.equal(en(3.5), '3.5 s');
  assert.equal(en(185), '3 min 05 s');
  assert.equal(en(86_160), '23 h 56 min');
});

test('a number and its unit never break apart', () => {
  for (const text of [
    formatDuration(3.5, 'ru'),
    formatDuration(86_160, 'ru'),
    formatMs(0.04, 'ru'),
    formatCount(5, 'product', 'ru'),
    formatTimes(82, 'ru'),
  ]) {
    assert.ok(!/\d [а-яa-z]/i.test(text), `a plain space between a number and its unit: ${JSON.stringify(text)}`);
  }
});

test('milliseconds with decimals, as measurements show them', () => {
  assert.equal(plain(formatMs(0.041, 'ru')), '0,04 мс');
  assert.equal(plain(formatMs(0.041, 'en')), '0.04 ms');
  assert.equal(plain(formatMs(3.25, 'ru')), '3,3 мс');
  assert.equal(plain(formatMs(999.96, 'ru')), '1,0 с');
  assert.equal(plain(formatMs(1234, 'ru')), '1,2 с');
  assert.equal(plain(formatMs(30_020, 'en')), '30.0 s');
  assert.equal(formatMs(undefined, 'ru'), '—');
});

test('counts take the plural form of their number', () => {
  const ru = (n: number) => plain(formatCount(n, 'product', 'ru'));
  assert.deepEqual([1, 2, 5, 11, 21, 22, 25, 101, 112].map(ru), [
    '1 товар',
    '2 товара',
    '5 товаров',
    '11 товаров',
    '21 товар',
    '22 товара',
    '25 товаров',
    '101 товар',
    '112 товаров',
  ]);
  assert.equal(plain(formatCount(1234, 'task', 'ru')), '1 234 задачи');
  assert.equal(plain(formatCount(1, 'product', 'en')), '1 product');
  assert.equal(plain(formatCount(5, 'product', 'en')), '5 products');
  assert.equal(plain(formatCount(1234, 'key', 'en')), '1,234 keys');
});

test('how many times: «в 82 раза», never «в 82 раз»', () => {
  assert.equal(plain(formatTimes(82.4, 'ru')), 'в 82 раза');
  assert.equal(plain(formatTimes(5, 'ru')), 'в 5 раз');
  assert.equal(plain(formatTimes(21, 'ru')), 'в 21 раз');
  assert.equal(plain(formatTimes(12, 'ru')), 'в 12 раз');
  assert.equal(plain(formatTimes(1.46, 'ru')), 'в 1,5 раза');
  assert.equal(plain(formatTimes(82, 'en')), '82 times');
  assert.equal(plain(formatTimes(1, 'en')), '1 time');
});

test('numbers group and use the language’s decimal sign', () => {
  assert.equal(plain(formatNumber(1_000_000_000, undefined, 'ru')), '1 000 000 000');
  assert.equal(formatNumber(1_000_000_000, undefined, 'en'), '1,000,000,000');
  assert.equal(formatNumber(12.5, 2, 'ru'), '12,50');
  assert.equal(formatNumber(-0, 1, 'ru'), '0,0');
});

test('a moment ahead in words', () => {});

test('typed decimals: a comma or a point, digit groups allowed, nothing else', () => {
  assert.equal(parseDecimal('12,5'), 12.5);
  assert.equal(parseDecimal(' 12.5 '), 12.5);
  assert.equal(parseDecimal('1 990,50'), 1990.5);
  assert.equal(parseDecimal('1\u00a0990,5'), 1990.5);
  assert.equal(parseDecimal(',5'), 0.5);
  assert.equal(parseDecimal('-5'), -5);
  for (const bad of ['', 'abc', '12,5,0', '1.2.3', '12 руб', '1e3', 'Infinity', '12,']) {
    assert.equal(parseDecimal(bad) === null || bad === '12,', true, bad);
  }
  assert.equal(parseDecimal('12,'), 12, 'a trailing comma is the number typed so far');
});
