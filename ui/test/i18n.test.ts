// Every text exists in Russian and English, with the same placeholders; every Russian text keeps
// to the glossary (glossary.ts): no forbidden variant, no English outside the allowlist.
import assert from 'node:assert/strict';
import { formatTimes } from '../src/format';
import { test } from 'node:test';

import { COURSE_FACTS } from '../src/diagrams/facts';
import { DIAGRAMS } from '../src/diagrams/sources';
import { LIFECYCLE } from '../src/diagrams/lifecycle';
import { englishWordsIn, forbiddenIn, GLOSSARY } from '../src/glossary';
import { KEYS, t, translate } from '../src/i18n';

test('Russian and English have every key, with the same placeholders', () => {
  const placeholders = (s: string) => [...new Set(s.match(/\{\w+/g) ?? [])].sort().join();
  for (const key of KEYS) {
    const ru = translate('ru', key);
    const en = translate('en', key);
    assert.ok(ru && en, key);
    assert.equal(placeholders(ru), placeholders(en), key);
    // Plural forms: Russian one|few|many, English one|other.
    for (const m of ru.matchAll(/\{\w+\|([^}]*)\}/g)) assert.equal(m[1]!.split('|').length, 3, `${key}: ${m[0]}`);
    for (const m of en.matchAll(/\{\w+\|([^}]*)\}/g)) assert.equal(m[1]!.split('|').length, 2, `${key}: ${m[0]}`);
  }
  assert.notEqual(translate('ru', 'stack.start'), translate('en', 'stack.start'));
});

test('plural forms follow the number', () => {
  const ratio = (n: number) => t('measure.ratio', { times: formatTimes(n, 'ru') }, 'ru');
  assert.equal(ratio(82.4), 'С воркером клиент ждёт в\u00a082\u00a0раза меньше');
  assert.equal(ratio(5), 'С воркером клиент ждёт в\u00a05\u00a0раз меньше');
  assert.equal(ratio(1234), 'С воркером клиент ждёт в\u00a01\u00a0234\u00a0раза меньше');
  assert.equal(ratio(2.5), 'С воркером клиент ждёт в\u00a02,5\u00a0раза меньше');
  assert.equal(
    t('measure.ratio', { times: formatTimes(82, 'en') }, 'en'),
    'With a worker the client waits 82\u00a0times less',
  );
  assert.equal(t('tasks.no_worker', { n: 1 }, 'ru'), 'В очереди 1 задача, а воркер не запущен.');
  assert.equal(t('tasks.no_worker', { n: 3 }, 'ru'), 'В очереди 3 задачи, а воркер не запущен.');
  assert.equal(t('tasks.no_worker', { n: 11 }, 'en'), '11 tasks wait in the queue and no worker is running.');
  assert.equal(
    t('tasks.no_worker', {}, 'ru'),
    'В очереди {n} {n}, а воркер не запущен.',
    'a missing number shows as missing',
  );
});

test('the glossary finds what it forbids, and English words outside the allowlist', () => {
  for (const bad of [
    'Внедрение сбоев',
    'повторы кончились',
    'Id чата',
    'ждёт отправку',
    'в 82 раз меньше',
    'в {ratio} раз меньше',
    'через 3.0 с',
    'открыть лог',
    'Воркер упал',
  ]) {
    assert.ok(forbiddenIn(bad).length > 0, bad);
  }
  for (const good of [
    'Имитация сбоев',
    'попытки исчерпаны',
    'ID чата',
    'ждёт отправки',
    'в 12 раз меньше',
    'через 3,0 с',
    'открыть журнал',
    'логика',
  ]) {
    assert.deepEqual(forbiddenIn(good), [], good);
  }
  assert.deepEqual(englishWordsIn('через 3.0 s, 0.00 ms, TTL 23 h 56 min'), ['s', 'ms', 'h', 'min']);
  assert.deepEqual(
    englishWordsIn(
      'Ключ celery-task-meta-{id}: TTL 23 ч, REDIS_URL, send_tg_notification, sendMessage, @BotFather, Lua-скрипт',
    ),
    [],
  );
  assert.deepEqual(englishWordsIn('Открыть Swagger UI, Telegram Bot API (acks late)'), ['acks', 'late']);
  for (const term of GLOSSARY) assert.ok(term.term && term.ru && term.note, JSON.stringify(term));
});

test('every Russian text of the UI keeps to the glossary', () => {
  const problems: string[] = [];
  for (const key of KEYS) {
    const text = translate('ru', key);
    for (const hit of forbiddenIn(text)) problems.push(`${key}: «${hit.variant}» (${hit.term}: use «${hit.use}»)`);
    for (const word of englishWordsIn(text)) problems.push(`${key}: English “${word}” in «${text}»`);
  }
  assert.deepEqual(problems, []);
});

/** The texts a Mermaid source shows: labels in quotes, participants, messages, notes, edge labels. */
function mermaidTexts(source: string): string[] {
  const texts: string[] = [];
  for (const line of source.split('\n')) {
    const quoted = [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    if (quoted.length) texts.push(...quoted);
    else {
      const participant = /^\s*participant \w+ as (.+)$/.exec(line);
      const message = /^\s*(?:\w+\s*-[->]+\s*\w+|Note over [\w,]+|\S+ --> \S+)\s*:\s*(.+)$/.exec(line);
      if (participant) texts.push(participant[1]!);
      else if (message) texts.push(message[1]!);
    }
  }
  // `<br/>` breaks a line; `§name§` marks where the live layer writes.
  return texts.map((text) => text.replace(/<br\/?>/g, ' ').replace(/§\w+§/g, ' '));
}

/** What the diagrams' sources (owned by the diagrams' authors) still say against the glossary. */
function diagramProblems(): string[] {
  const problems: string[] = [];
  const titles = new Set(KEYS.filter((k) => k.startsWith('tab.')).map((k) => translate('ru', k)));
  const check = (where: string, text: string) => {
    for (const hit of forbiddenIn(text)) problems.push(`${where}: «${hit.variant}» (${hit.term}: use «${hit.use}»)`);
    for (const word of englishWordsIn(text)) problems.push(`${where}: English “${word}” in «${text}»`);
  };
  for (const d of DIAGRAMS) {
    if (titles.has(d.title.ru)) problems.push(`${d.id}: the title «${d.title.ru}» is also a tab's name`);
    check(`${d.id} title`, d.title.ru);
    check(`${d.id} caption`, d.caption.ru);
    for (const text of mermaidTexts(d.source('ru', COURSE_FACTS))) check(d.id, text);
  }
  for (const edge of LIFECYCLE) if (edge.label) check(`lifecycle ${edge.from}→${edge.to}`, edge.label.ru);
  return problems;
}

test('the Mermaid label reader finds the texts a diagram shows', () => {
  const texts = mermaidTexts(
    'flowchart LR\n  a["Клиент<br/>curl"] -- "POST" --> b[("Redis")]\nsequenceDiagram\n  participant C as Клиент\n  A->>R: один Lua-скрипт\n  Note over S,W: Все три работают\n  PENDING --> RECEIVED: воркер взял',
  );
  assert.deepEqual(texts, [
    'Клиент curl',
    'POST',
    'Redis',
    'Клиент',
    'один Lua-скрипт',
    'Все три работают',
    'воркер взял',
  ]);
});

test('every Russian text of the diagrams keeps to the glossary', () => {
  assert.deepEqual(diagramProblems(), []);
});
