// Diagrams: the course's diagrams of our system, drawn by Mermaid (bundled, loaded when the tab
// first opens) once per diagram, language and theme, then kept alive by toggling classes and text
// on their nodes and edges — at most ten paints a second, never a re-render for a state change.

import { dialog, hooks, painter, render, status, ui } from '../app';
import { $, fill, h } from '../dom';
import { language, t } from '../i18n';
import { DIAGRAMS } from '../diagrams/sources';
import {
  flowEdgeOf, flowNotes, keyOfNode, LIVE_CLASSES, ms, nodeIdOf, paintDelay, PROCESS_NODES, processClass, redisKeyLines,
  redisLine, workerLine,
} from '../diagrams/live';
import { LIFECYCLE, lifecyclePath, pathLabel, stateEdgeOf, stateLabel } from '../diagrams/lifecycle';
import { formatDuration, TASK_STATES } from '../state';
import { demoBar, measurePanel, paintMeasure, paintPresent, presentBar } from './present';

type Mermaid = typeof import('mermaid').default;

let mermaid: Promise<Mermaid> | null = null;
let mermaidTheme = '';
/** Rendered SVG text by `diagram:language:theme`. */
const rendered = new Map<string, string>();
/** What the stage shows now (so a state change only re-colours it). */
let shown = '';
let lastPaint = 0;
let pending = 0;
/** How long an edge stays lit after a message crossed it, ms. */
const PULSE_MS = 900;
/** How often Redis is sampled while a diagram shows its contents, ms. */
const GLANCE_EVERY = 2000;

function dark(): boolean {
  return document.documentElement.dataset.theme === 'dark';
}

async function loadMermaid(): Promise<Mermaid> {
  const theme = dark() ? 'dark' : 'default';
  if (!mermaid || mermaidTheme !== theme) {
    mermaidTheme = theme;
    mermaid = import('mermaid').then(({ default: m }) => {
      // Pinned look, so an update of Mermaid does not re-lay-out the diagrams; strict security:
      // no HTML from labels, no click callbacks (our own listeners handle clicks). Plain SVG
      // text (no HTML labels), so that a live line is one `tspan` and an export draws anywhere.
      m.initialize({
        startOnLoad: false, securityLevel: 'strict', theme, layout: 'dagre', look: 'classic',
        fontFamily: 'system-ui, sans-serif', htmlLabels: false, flowchart: { htmlLabels: false },
      });
      return m;
    });
  }
  return mermaid;
}

export function currentDiagram() {
  return DIAGRAMS.find((d) => d.id === ui.diagram) ?? DIAGRAMS[0]!;
}

/** Shows the previous (-1) or next (+1) diagram. */
export function step(direction: number): void {
  const i = DIAGRAMS.findIndex((d) => d.id === currentDiagram().id);
  ui.diagram = DIAGRAMS[(i + direction + DIAGRAMS.length) % DIAGRAMS.length]!.id;
  render('diagrams');
}

async function draw(): Promise<void> {
  const diagram = currentDiagram();
  const key = `${diagram.id}:${language()}:${dark() ? 'dark' : 'light'}`;
  const stage = $('#diagram-stage');
  if (shown !== key) {
    let svg = rendered.get(key);
    if (!svg) {
      stage.setAttribute('aria-busy', 'true');
      const m = await loadMermaid();
      svg = (await m.render(`d-${diagram.id}-${rendered.size}`, diagram.source(language()))).svg;
      rendered.set(key, svg);
      stage.removeAttribute('aria-busy');
    }
    // Mermaid's own output, sanitised by it in strict mode.
    stage.innerHTML = svg;
    stage.dataset.diagram = diagram.id;
    shown = key;
  }
  paintLive(stage);
}

/** Sets line `index` of a node's label (Mermaid draws one `tspan.row` per line). */
function setLine(node: Element, index: number, text: string): void {
  const rows = node.querySelectorAll('text > tspan.row');
  const row = rows.length ? rows[index] : index === 0 ? node.querySelector('text, span, p') : null;
  if (row && row.textContent !== text) row.textContent = text;
}

function setClass(el: Element, cls: string, on: boolean): void {
  if (el.classList.contains(cls) !== on) el.classList.toggle(cls, on);
}

/** Colours, counts, lines, paths and pulses, in place. */
function paintLive(stage: HTMLElement): void {
  const diagram = stage.dataset.diagram;
  const lang = language();
  const counts = ui.tasks.counts();
  const selected = ui.selectedTask ? ui.tasks.get(ui.selectedTask) : undefined;
  const path = diagram === 'lifecycle' && selected ? lifecyclePath(selected.timeline, Date.now()) : null;
  const keyLines = diagram === 'redis' && ui.redis ? redisKeyLines(ui.redis, lang) : null;
  for (const node of stage.querySelectorAll<SVGGElement>('g.node')) {
    const id = nodeIdOf(node.id);
    if (!id) continue;
    const process = PROCESS_NODES[id];
    if (process) {
      const cls = processClass(status(process)?.state);
      if (!node.classList.contains(cls)) {
        node.classList.remove(...LIVE_CLASSES);
        node.classList.add(cls);
      }
      node.dataset.live = cls;
    }
    if (diagram === 'architecture' && id === 'redis') setLine(node, 2, redisLine(ui.redis, lang));
    if (diagram === 'architecture' && id === 'worker') setLine(node, 2, workerLine(ui.tasks.list('STARTED', '', 5), lang));
    if (diagram === 'lifecycle' && (TASK_STATES as readonly string[]).includes(id)) {
      setLine(node, 0, path ? pathLabel(id, path, counts) : stateLabel(id, counts));
      setClass(node, 'live-count', (counts[id] ?? 0) > 0);
      setClass(node, 'live-path', Boolean(path?.visits[id]));
      node.dataset.count = String(counts[id] ?? 0);
    }
    if (keyLines?.[id] !== undefined) setLine(node, 2, keyLines[id]!);
  }
  if (diagram === 'lifecycle') {
    for (const edge of stage.querySelectorAll<SVGPathElement>('path[id]')) {
      const index = stateEdgeOf(edge.id);
      const transition = index === null ? undefined : LIFECYCLE[index];
      if (transition) setClass(edge, 'live-path', Boolean(path?.transitions.has(`${transition.from}>${transition.to}`)));
    }
  }
  if (diagram === 'product-flow') paintFlow(stage);
  if (ui.pulses.size) {
    if (diagram === 'architecture') {
      for (const edge of stage.querySelectorAll<SVGPathElement>('path[id]')) {
        const key = flowEdgeOf(edge.id);
        if (key && ui.pulses.has(key) && !edge.classList.contains('pulse')) {
          edge.classList.add('pulse');
          setTimeout(() => edge.classList.remove('pulse'), PULSE_MS);
        }
      }
    }
    ui.pulses.clear();
  }
  paintExtra(diagram ?? '');
}

/** The product flow's messages gain the last request's measured durations. */
function paintFlow(stage: HTMLElement): void {
  const task = ui.lastRequest ? ui.tasks.get(ui.lastRequest.taskId) : undefined;
  const notes = flowNotes(ui.lastRequest, task);
  stage.querySelectorAll<SVGTextElement>('text.messageText').forEach((text, i) => {
    text.dataset.original ??= text.textContent ?? '';
    const note = notes[i + 1];
    const wanted = note ? `${text.dataset.original} — ${note}` : text.dataset.original;
    if (text.textContent !== wanted) text.textContent = wanted;
    setClass(text, 'live-measured', Boolean(note));
  });
}

/** What goes under a diagram: the measured facts, the keys, the path's task. */
function paintExtra(diagram: string): void {
  const extra = $('#diagram-extra');
  const lang = language();
  if (diagram === 'product-flow') {
    const last = ui.lastRequest;
    const task = last ? ui.tasks.get(last.taskId) : undefined;
    const taskText = task ? (task.runtime !== null ? formatDuration(task.runtime) : task.state) : '—';
    const text = last
      ? t('diagram.flow_last', { validate: ms(last.steps.validate), store: ms(last.steps.store), total: ms(last.totalMs), task: taskText })
      : t('diagram.flow_none');
    if (extra.dataset.for !== diagram || extra.textContent !== text) {
      fill(extra, h('p', { id: 'flow-facts' }, text));
    }
  } else if (diagram === 'with-without') {
    if (extra.dataset.for !== diagram) fill(extra, measurePanel());
    paintMeasure();
  } else if (diagram === 'redis') {
    const glance = ui.redis;
    const signature = glance ? JSON.stringify([glance.celery_keys, glance.our_keys, glance.groups]) : '';
    if (extra.dataset.for !== diagram || extra.dataset.signature !== signature) {
      extra.dataset.signature = signature;
      const keys = glance ? [...glance.celery_keys, ...glance.our_keys, ...glance.groups.flatMap((g) => g.samples)] : [];
      fill(extra,
        h('h3', {}, t('diagram.keys')),
        h('ul', { id: 'redis-keys', class: 'keys' }, ...keys.map((k) =>
          h('li', {}, h('button', { class: 'link mono', 'data-key': k.key, onclick: () => void showKey(k.key) }, k.key),
            h('span', { class: 'muted' }, ` ${k.kind} · ${k.size}${k.ttl_ms !== null ? ` · TTL ${formatDuration(k.ttl_ms / 1000)}` : ''}${k.note ? ` · ${k.note}` : ''}`)))),
        glance ? h('p', { class: 'muted' }, t('diagram.keys_more', { count: glance.scanned })) : null);
    }
  } else if (diagram === 'lifecycle') {
    const selected = ui.selectedTask ? ui.tasks.get(ui.selectedTask) : undefined;
    const recent = ui.tasks.list(null, '', 20);
    const signature = `${selected?.task_id ?? ''}:${recent.map((r) => r.task_id).join(',')}:${lang}`;
    if (extra.dataset.for !== diagram || extra.dataset.signature !== signature) {
      extra.dataset.signature = signature;
      fill(extra, h('p', { class: 'path-of' },
        h('label', {}, `${t('diagram.path_of', { id: '' }).trim()} `,
          h('select', { id: 'path-task', onchange: (e: Event) => { ui.selectedTask = (e.target as HTMLSelectElement).value || null; render('diagrams', 'tasks', 'drawer'); } },
            h('option', { value: '' }, '—'),
            ...recent.map((task) => {
              const product = Array.isArray(task.args) ? (task.args[0] as { id?: number; name?: string } | undefined) : undefined;
              return h('option', { value: task.task_id, selected: task.task_id === selected?.task_id },
                `${task.task_id.slice(0, 8)} · #${product?.id ?? '?'} ${product?.name ?? ''} · ${task.state}`);
            }))),
        selected ? h('button', { class: 'link', onclick: () => { ui.selectedTask = null; render('diagrams', 'tasks', 'drawer'); } }, t('diagram.path_clear')) : null));
    }
  } else if (extra.dataset.for !== diagram) {
    fill(extra);
  }
  extra.dataset.for = diagram;
}

/** A Redis key's contents, in a dialog. */
export async function showKey(key: string): Promise<void> {
  try {
    const contents = await ui.backend.redisKey(key);
    const ttl = contents.ttl_ms === null ? t('key.no_ttl') : formatDuration(contents.ttl_ms / 1000);
    dialog(t('key.title', { key }), [
      h('p', { class: 'muted' }, t('key.facts', { kind: contents.kind, size: contents.size, ttl }), contents.truncated ? ` ${t('key.truncated')}` : ''),
      h('pre', { class: 'quote key-contents' }, contents.preview || '—'),
    ], [{ label: t('common.close'), primary: true, onclick: () => {} }]);
  } catch (err) {
    dialog(t('key.title', { key }), [h('p', {}, err instanceof Error ? err.message : String(err))], [{ label: t('common.close'), onclick: () => {} }]);
  }
}

/** What a click on a node opens: the process's card and log, the tasks in a state, a key. */
function openNode(nodeId: string): void {
  const diagram = currentDiagram().id;
  const process = PROCESS_NODES[nodeId];
  if (process && diagram !== 'redis') {
    ui.logProcess = process;
    ui.logFollow = true;
    hooks.showTab('dashboard');
    render('log');
    const card = document.querySelector<HTMLElement>(`.card[data-process=${process}]`);
    card?.scrollIntoView({ block: 'nearest' });
    card?.classList.add('flash');
    setTimeout(() => card?.classList.remove('flash'), 1200);
    return;
  }
  if (diagram === 'lifecycle' && (TASK_STATES as readonly string[]).includes(nodeId)) {
    ui.taskFilter = nodeId;
    hooks.showTab('tasks');
    render('tasks');
    return;
  }
  if (diagram === 'redis') {
    const key = keyOfNode(nodeId, ui.redis);
    if (key) void showKey(key);
    return;
  }
  if (nodeId === 'client' || nodeId === 'c1' || nodeId === 'c2') hooks.showTab('products');
  if (nodeId === 'tg' || nodeId === 'notify' || nodeId === 't1' || nodeId === 't2') hooks.showTab('settings');
}

function paintDiagrams(): void {
  const view = document.querySelector<HTMLElement>('#view-diagrams');
  if (!view || view.hidden) return;
  const wait = paintDelay(lastPaint, performance.now());
  if (wait > 0) {
    if (!pending) pending = window.setTimeout(() => { pending = 0; render('diagrams'); }, wait);
    return;
  }
  lastPaint = performance.now();
  const diagram = currentDiagram();
  for (const b of document.querySelectorAll<HTMLButtonElement>('#diagram-list button')) {
    b.setAttribute('aria-current', String(b.dataset.diagram === diagram.id));
  }
  $('#diagram-title').textContent = diagram.title[language()];
  $('#diagram-caption').textContent = diagram.caption[language()];
  paintPresent();
  void drawInTurn();
}

let drawing = false;
let drawAgain = false;

/** One draw at a time: a paint asked for while Mermaid renders runs once it is done (two
 * renders at once would share Mermaid's scratch element). */
async function drawInTurn(): Promise<void> {
  if (drawing) {
    drawAgain = true;
    return;
  }
  drawing = true;
  try {
    do {
      drawAgain = false;
      try {
        await draw();
      } catch (err) {
        shown = '';
        fill($('#diagram-stage'), h('p', { class: 'notice' }, `${t('error.title')}: ${err instanceof Error ? err.message : String(err)}`));
      }
    } while (drawAgain);
  } finally {
    drawing = false;
  }
}

/** The tab's fixed frame: the list of diagrams, the stage, the caption, the bars. */
export function diagramsView(): HTMLElement {
  shown = '';
  return h('section', { id: 'view-diagrams', class: 'view' },
    h('nav', { id: 'diagram-list', class: 'diagram-list' }, ...DIAGRAMS.map((d) =>
      h('button', { 'data-diagram': d.id, onclick: () => { ui.diagram = d.id; render('diagrams'); } }, d.title[language()]))),
    h('figure', { id: 'diagram-figure', class: 'diagram' },
      h('header', {},
        h('button', { class: 'link', 'aria-label': '←', onclick: () => step(-1) }, '←'),
        h('h2', { id: 'diagram-title' }),
        h('button', { class: 'link', 'aria-label': '→', onclick: () => step(1) }, '→'),
        presentBar()),
      h('div', {
        id: 'diagram-stage', class: 'stage',
        onclick: (e: Event) => {
          const node = (e.target as Element).closest('g.node');
          const id = node ? nodeIdOf(node.id) : null;
          if (id) openNode(id);
        },
      }),
      h('figcaption', { id: 'diagram-caption', class: 'muted' }),
      h('div', { id: 'diagram-extra', class: 'extra' }),
      demoBar()),
  );
}

/** Samples Redis every two seconds while a shown diagram needs it (never per event). */
setInterval(() => {
  const view = document.querySelector<HTMLElement>('#view-diagrams');
  const needs = ['architecture', 'redis'].includes(currentDiagram().id);
  if (!view || view.hidden || !needs || !ui.snapshot?.running || !ui.backend) return;
  ui.backend.redisGlance().then(
    (glance) => { ui.redis = glance; render('diagrams'); },
    () => { ui.redis = null; render('diagrams'); },
  );
}, GLANCE_EVERY);

document.addEventListener('keydown', (e) => {
  const view = document.querySelector<HTMLElement>('#view-diagrams');
  if (!view || view.hidden || e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
  if (e.key === 'ArrowRight') step(1);
  if (e.key === 'ArrowLeft') step(-1);
});

painter('diagrams', paintDiagrams);
