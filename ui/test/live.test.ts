// The live layer's mapping from state to what a diagram shows.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DIAGRAMS } from '../src/diagrams/sources';
import { nodeIdOf, paintDelay, processClass, stateLabel } from '../src/diagrams/live';

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
