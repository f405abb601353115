// Diagrams: the course's diagrams of our system, drawn by Mermaid (bundled, loaded when the tab
// first opens) once per diagram, language, theme, look and the stack's values, fitted to the
// stage, then kept alive by toggling classes and rewriting the lines marked live — at most ten
// paints a second, never a re-render for a state change.

import { dialog, hooks, painter, render, status, ui } from '../app';
import { $, fill, h } from '../dom';
import { language, t } from '../i18n';
import type { WorkerView } from '../ipc';
import { DIAGRAMS, LIFECYCLE_STATES } from '../diagrams/sources';
import { stackFacts } from '../diagrams/facts';
import {
  architectureLines,
  flowEdgeOf,
  flowLines,
  keyOfNode,
  LIVE_CLASSES,
  nodeIdOf,
  paintDelay,
  PROCESS_NODES,
  processClass,
  PULLED,
  redisKeyLines,
} from '../diagrams/live';
import {
  LIFECYCLE,
  LifecycleMotion,
  lifecyclePath,
  pathLabel,
  retryNote,
  stateEdgeOf,
  stateLabel,
} from '../diagrams/lifecycle';
import { FONT_PX, LABEL_MARGIN, type Look, markLiveLines, renderDiagram } from '../diagrams/render';
import { formatDuration, formatMs } from '../format';
import { healthOf } from '../health';
import { TASK_STATES } from '../state';
import { demoBar, measurePanel, paintMeasure, paintPresent, present, presentBar } from './present';
import { keyAction, keyTargetOf } from '../diagrams/keys';

/** The lifecycle's memory between paints: the edges each task crossed, the worker's deaths. */
const lifecycle = new LifecycleMotion();
/** How long a lifecycle edge stays lit after a task crossed it, ms. */
const FLASH_MS = 1000;
/** The repaint pending while a retry counts down. */
let lifecycleTick = 0;
/** Rendered SVG text by diagram, language, theme, look and the stack's values. */
const rendered = new Map<string, string>();
/** What the stage shows now (so a state change only re-colours it). */
let shown = '';
let lastPaint = 0;
let pending = 0;
/** The workers' own answers (concurrency, prefetch), sampled with Redis. */
let workers: WorkerView[] = [];
/** How long an edge stays lit after a message crossed it, ms. */
const PULSE_MS = 900;
/** How often Redis is sampled while a diagram shows its contents, ms. */
const GLANCE_EVERY = 2000;
/** How much larger than drawn a diagram may grow to fill the stage outside presentation. */
const MAX_GROWTH = 1.5;

function dark(): boolean {
  return document.documentElement.dataset.theme === 'dark';
}

/** The projector look chosen in the bar above the diagram. */
export function look(): Look {
  const value = document.documentElement.dataset.look;
  return value === 'large' || value === 'contrast' ? value : 'normal';
}

/** Notes the worker process's state as the supervisor reports it, when it is reported: a killed
 * worker's death is dated by its event, not by the next paint (the tab may be hidden). */
export function observeWorker(): void {
  const worker = status('worker');
  lifecycle.observeWorker(worker, Date.now());
  if (worker?.state === 'crashed' || worker?.state === 'backing-off') workerDownAt = Date.now();
}

/** When the worker process last crashed (or was killed): its node shows it for a moment, even
 * when the supervisor has a new worker running within a fraction of a second. */
let workerDownAt = 0;
/** How long a crashed worker's node stays red, ms. */
const CRASH_SHOWN_MS = 2000;
/** The repaint pending at the end of that moment. */
let crashTick = 0;

export function currentDiagram() {
  return DIAGRAMS.find((d) => d.id === ui.diagram) ?? DIAGRAMS[0]!;
}

/** Shows the previous (-1) or next (+1) diagram. */
export function step(direction: number, wrap = true): void {
  const i = DIAGRAMS.findIndex((d) => d.id === currentDiagram().id);
  const next = wrap
    ? (i + direction + DIAGRAMS.length) % DIAGRAMS.length
    : Math.min(DIAGRAMS.length - 1, Math.max(0, i + direction));
  ui.diagram = DIAGRAMS[next]!.id;
  render('diagrams');
}

/** Shows the first or the last diagram. */
export function stepTo(end: 'first' | 'last'): void {
  ui.diagram = (end === 'first' ? DIAGRAMS[0] : DIAGRAMS[DIAGRAMS.length - 1])!.id;
  render('diagrams');
}

async function draw(): Promise<void> {
  const diagram = currentDiagram();
  const lang = language();
  const theme = dark() ? 'dark' : 'default';
  const facts = stackFacts(ui.settings, ui.snapshot, workers);
  // Drawn again only when its text changes (a value it prints), never for a state change: the
  // live layer keeps the same nodes.
  const source = diagram.source(lang, facts);
  const key = `${diagram.id}:${theme}:${look()}:${source}`;
  const stage = $('#diagram-stage');
  if (shown !== key) {
    let svg = rendered.get(key);
    if (!svg) {
      stage.setAttribute('aria-busy', 'true');
      svg = await renderDiagram(diagram, source, theme, look());
      if (rendered.size > 60) rendered.clear();
      rendered.set(key, svg);
      stage.removeAttribute('aria-busy');
    }
    // Mermaid's own output, sanitised by it in strict mode.
    stage.innerHTML = svg;
    stage.dataset.diagram = diagram.id;
    stage.dataset.source = source;
    stage.style.setProperty('--font', `${FONT_PX[look()]}px`);
    const drawn = stage.querySelector('svg');
    if (drawn) fitToStage(drawn);
    if (drawn) markLiveLines(drawn);
    shown = key;
  }
  paintLive(stage);
}

/** Lets the drawing fill the stage, keeping its proportions (the stage's size comes from the
 * page: the window, presentation mode); outside presentation it grows at most `MAX_GROWTH`×. */
function fitToStage(svg: SVGSVGElement): void {
  const box = svg.viewBox.baseVal;
  svg.removeAttribute('style');
  svg.setAttribute('width', '100%');
  svg.setAttribute('height', '100%');
  svg.setAttribute('preserveAspectRatio', 'xMidYMid meet');
  svg.style.setProperty('--natural-width', `${Math.ceil(box.width * MAX_GROWTH)}px`);
  svg.style.setProperty('--natural-height', `${Math.ceil(box.height * MAX_GROWTH)}px`);
}

/** The shape a label sits in (a node's rect, path, polygon or circle), if any. */
function shapeOf(line: Element): SVGGraphicsElement | null {
  const node = line.closest('g.node');
  return (
    node?.querySelector<SVGGraphicsElement>(
      ':scope > :is(rect, path, polygon, circle, ellipse), :scope > g > :is(rect, path, polygon, circle, ellipse)',
    ) ?? null
  );
}

/**
 * Writes a live line and keeps it inside its node: a line longer than the shape is drawn at a
 * smaller size (down to 70 %), then cut with an ellipsis. The line's element says what it holds
 * in full (`data-text`), so a reader of the page is never misled by a cut.
 */
function setLive(svg: Element, name: string, text: string): void {
  for (const line of svg.querySelectorAll<SVGTextContentElement>(`[data-line="${name}"]`)) {
    if (line.dataset.text === text) continue;
    line.dataset.text = text;
    line.textContent = text;
    line.style.removeProperty('font-size');
    const shape = shapeOf(line);
    if (!shape || !text) continue;
    const room = shape.getBBox().width - 2 * LABEL_MARGIN;
    const length = line.getComputedTextLength();
    if (length <= room) continue;
    const size = parseFloat(getComputedStyle(line).fontSize);
    const smaller = Math.max(0.7, room / length) * size;
    line.style.fontSize = `${smaller}px`;
    let cut = [...text];
    while (cut.length > 1 && line.getComputedTextLength() > room) {
      cut = cut.slice(0, -1);
      line.textContent = `${cut.join('').trimEnd()}…`;
    }
  }
}

function setClass(el: Element, cls: string, on: boolean): void {
  if (el.classList.contains(cls) !== on) el.classList.toggle(cls, on);
}

/** The lifecycle node's second line: what its label says after the state's name. */
function afterState(label: string, state: string): string {
  return label.startsWith(state) ? label.slice(state.length).replace(/^ · /, '') : label;
}

/** Colours, counts, lines, paths and pulses, in place. */
function paintLive(stage: HTMLElement): void {
  const diagram = stage.dataset.diagram;
  const lang = language();
  const now = Date.now();
  lifecycle.observeWorker(status('worker'), now);
  const counts = diagram === 'lifecycle' ? ui.tasks.counts((task) => lifecycle.stateOf(task, now)) : ui.tasks.counts();
  const selected = ui.selectedTask ? ui.tasks.get(ui.selectedTask) : undefined;
  const path = diagram === 'lifecycle' && selected ? lifecyclePath(selected, now, lifecycle.lost) : null;
  const retry = diagram === 'lifecycle' ? retryNote(ui.tasks.all(), selected, now, lang) : null;
  const svg = stage.querySelector('svg');
  if (!svg) return;
  if (diagram === 'architecture') {
    // Every task running now, as the lifecycle counts them (a dead worker's task is not).
    const running = [...ui.tasks.all()].filter((task) => lifecycle.stateOf(task, now) === 'STARTED');
    const workerHealth = healthOf(status('worker'), ui.snapshot);
    for (const [name, text] of Object.entries(architectureLines(ui.redis, running, lang, workerHealth)))
      setLive(svg, name, text);
  }
  if (diagram === 'redis' && ui.redis) {
    for (const [name, text] of Object.entries(redisKeyLines(ui.redis, lang))) setLive(svg, name, text);
  }
  for (const node of stage.querySelectorAll<SVGGElement>('g.node')) {
    const id = nodeIdOf(node.id);
    if (!id) continue;
    const process = PROCESS_NODES[id];
    if (process) {
      const crashed = process === 'worker' && Date.now() - workerDownAt < CRASH_SHOWN_MS;
      if (crashed && !crashTick)
        crashTick = window.setTimeout(() => {
          crashTick = 0;
          render('diagrams');
        }, CRASH_SHOWN_MS);
      const cls = crashed ? 'live-bad' : processClass(status(process)?.state, healthOf(status(process), ui.snapshot));
      if (!node.classList.contains(cls)) {
        node.classList.remove(...LIVE_CLASSES);
        node.classList.add(cls);
      }
      node.dataset.live = cls;
    }
    if (diagram === 'lifecycle' && (TASK_STATES as readonly string[]).includes(id)) {
      const note = id === 'RETRY' ? retry : null;
      const label = path ? pathLabel(id, path, counts, note) : stateLabel(id, counts, note);
      setLive(node, String(LIFECYCLE_STATES.indexOf(id)), afterState(label, id));
      setClass(node, 'live-count', (counts[id] ?? 0) > 0);
      setClass(node, 'live-path', Boolean(path?.visits[id]));
      node.dataset.count = String(counts[id] ?? 0);
    }
  }
  if (diagram === 'lifecycle') {
    const crossed = lifecycle.step(ui.tasks.all(), now);
    for (const edge of stage.querySelectorAll<SVGPathElement>('path[id]')) {
      const index = stateEdgeOf(edge.id);
      const transition = index === null ? undefined : LIFECYCLE[index];
      if (transition)
        setClass(edge, 'live-path', Boolean(path?.transitions.has(`${transition.from}>${transition.to}`)));
      if (index !== null && crossed.has(index) && !edge.classList.contains('flash')) {
        edge.classList.add('flash');
        setTimeout(() => edge.classList.remove('flash'), FLASH_MS);
      }
    }
    // A countdown ticks, and a retried task moves on at its eta, with no event to paint on.
    if (retry !== null && !lifecycleTick)
      lifecycleTick = window.setTimeout(() => {
        lifecycleTick = 0;
        render('diagrams');
      }, 250);
  }
  if (diagram === 'product-flow') paintFlow(stage);
  if (ui.pulses.size) {
    if (diagram === 'architecture') {
      for (const edge of stage.querySelectorAll<SVGPathElement>('path[id]')) {
        const key = flowEdgeOf(edge.id);
        if (key && ui.pulses.has(key) && !edge.classList.contains('pulse')) {
          edge.classList.add('pulse');
          setClass(edge, 'pulled', PULLED.has(key));
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
  const svg = stage.querySelector('svg');
  if (!svg) return;
  for (const [name, text] of Object.entries(flowLines(ui.lastRequest, task, language()))) {
    setLive(svg, name, text);
    for (const line of svg.querySelectorAll(`[data-line="${name}"]`)) setClass(line, 'live-measured', Boolean(text));
  }
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
      ? t('diagram.flow_last', {
          validate: formatMs(last.steps.validate),
          store: formatMs(last.steps.store),
          total: formatMs(last.totalMs),
          task: taskText,
        })
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
      const keys = glance
        ? [...glance.celery_keys, ...glance.our_keys, ...glance.groups.flatMap((g) => g.samples)]
        : [];
      fill(
        extra,
        h('h3', {}, t('diagram.keys')),
        h(
          'ul',
          { id: 'redis-keys', class: 'keys' },
          ...keys.map((k) =>
            h(
              'li',
              {},
              h('button', { class: 'link mono', 'data-key': k.key, onclick: () => void showKey(k.key) }, k.key),
              h(
                'span',
                { class: 'muted' },
                ` ${k.kind} · ${k.size}${k.ttl_ms !== null ? ` · TTL ${formatDuration(k.ttl_ms / 1000)}` : ''}${k.note ? ` · ${k.note}` : ''}`,
              ),
            ),
          ),
        ),
        glance ? h('p', { class: 'muted' }, t('diagram.keys_more', { count: glance.scanned })) : null,
      );
    }
  } else if (diagram === 'lifecycle') {
    const selected = ui.selectedTask ? ui.tasks.get(ui.selectedTask) : undefined;
    const recent = ui.tasks.list(null, '', 20);
    const signature = `${selected?.task_id ?? ''}:${recent.map((r) => `${r.task_id}=${r.state}`).join(',')}:${lang}`;
    if (extra.dataset.for !== diagram || extra.dataset.signature !== signature) {
      extra.dataset.signature = signature;
      fill(
        extra,
        h(
          'p',
          { class: 'path-of' },
          h(
            'label',
            {},
            `${t('diagram.path_of', { id: '' }).trim()} `,
            h(
              'select',
              {
                id: 'path-task',
                onchange: (e: Event) => {
                  ui.selectedTask = (e.target as HTMLSelectElement).value || null;
                  render('diagrams', 'tasks', 'drawer');
                },
              },
              h('option', { value: '' }, '—'),
              ...recent.map((task) => {
                const product = Array.isArray(task.args)
                  ? (task.args[0] as { id?: number; name?: string } | undefined)
                  : undefined;
                return h(
                  'option',
                  { value: task.task_id, selected: task.task_id === selected?.task_id },
                  `${task.task_id.slice(0, 8)} · #${product?.id ?? '?'} ${product?.name ?? ''} · ${task.state}`,
                );
              }),
            ),
          ),
          selected
            ? h(
                'button',
                {
                  class: 'link',
                  onclick: () => {
                    ui.selectedTask = null;
                    render('diagrams', 'tasks', 'drawer');
                  },
                },
                t('diagram.path_clear'),
              )
            : null,
        ),
      );
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
    dialog(
      t('key.title', { key }),
      [
        h(
          'p',
          { class: 'muted' },
          t('key.facts', { kind: contents.kind, size: contents.size, ttl }),
          contents.truncated ? ` ${t('key.truncated')}` : '',
        ),
        h('pre', { class: 'quote key-contents' }, contents.preview || '—'),
      ],
      [{ label: t('common.close'), primary: true, onclick: () => {} }],
    );
  } catch (err) {
    dialog(
      t('key.title', { key }),
      [h('p', {}, err instanceof Error ? err.message : String(err))],
      [{ label: t('common.close'), onclick: () => {} }],
    );
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
    if (!pending)
      pending = window.setTimeout(() => {
        pending = 0;
        render('diagrams');
      }, wait);
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
  sampleRedis();
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
        fill(
          $('#diagram-stage'),
          h('p', { class: 'notice' }, `${t('error.title')}: ${err instanceof Error ? err.message : String(err)}`),
        );
      }
    } while (drawAgain);
  } finally {
    drawing = false;
  }
}

/** The tab's fixed frame: the list of diagrams, the stage, the caption, the bars. */
export function diagramsView(): HTMLElement {
  shown = '';
  return h(
    'section',
    { id: 'view-diagrams', class: 'view' },
    h(
      'nav',
      { id: 'diagram-list', class: 'diagram-list' },
      ...DIAGRAMS.map((d) =>
        h(
          'button',
          {
            'data-diagram': d.id,
            onclick: () => {
              ui.diagram = d.id;
              render('diagrams');
            },
          },
          d.title[language()],
        ),
      ),
    ),
    h(
      'figure',
      { id: 'diagram-figure', class: 'diagram' },
      h(
        'header',
        {},
        h('button', { class: 'link', 'aria-label': '←', onclick: () => step(-1) }, '←'),
        h('h2', { id: 'diagram-title' }),
        h('button', { class: 'link', 'aria-label': '→', onclick: () => step(1) }, '→'),
        presentBar(),
      ),
      h('div', {
        id: 'diagram-stage',
        class: 'stage',
        onclick: (e: Event) => {
          const node = (e.target as Element).closest('g.node');
          const id = node ? nodeIdOf(node.id) : null;
          if (id) openNode(id);
        },
      }),
      h('figcaption', { id: 'diagram-caption', class: 'muted' }),
      h('div', { id: 'diagram-extra', class: 'extra' }),
      demoBar(),
    ),
  );
}

let lastGlance = 0;

/** Samples Redis (and the workers' own figures) while a shown diagram needs them: when it is
 * shown, then every two seconds — never per event. */
function sampleRedis(): void {
  const view = document.querySelector<HTMLElement>('#view-diagrams');
  const needs = ['architecture', 'redis', 'components', 'configuration'].includes(currentDiagram().id);
  if (!view || view.hidden || !needs || !ui.snapshot?.running || !ui.backend) return;
  if (performance.now() - lastGlance < GLANCE_EVERY / 2) return;
  lastGlance = performance.now();
  ui.backend.redisGlance().then(
    (glance) => {
      ui.redis = glance;
      render('diagrams');
    },
    () => {
      ui.redis = null;
      render('diagrams');
    },
  );
  // Keep the last answer with stats while a worker is slow to answer one `stats` (a diagram
  // would otherwise be redrawn back and forth).
  ui.api?.workers().then(
    (seen) => {
      if (seen.some((w) => w.online && w.stats) || !seen.some((w) => w.online)) workers = seen;
    },
    () => {},
  );
}
setInterval(sampleRedis, GLANCE_EVERY);

/** In a presentation, Space is the clicker's: a focused button must not be pressed by its
 * release either (a browser presses a button on Space's keyup). */
document.addEventListener('keyup', (e) => {
  if (e.key === ' ' && ui.presenting && keyAction(e.key, keyTargetOf(e.target), true)) e.preventDefault();
});

/** Steps through the diagrams with a clicker or the keyboard (see `keyAction`). */
document.addEventListener('keydown', (e) => {
  const view = document.querySelector<HTMLElement>('#view-diagrams');
  if (!view || view.hidden || e.altKey || e.ctrlKey || e.metaKey || document.querySelector('#dialog:not([hidden])'))
    return;
  const action = keyAction(e.key, keyTargetOf(e.target), ui.presenting);
  if (!action) return;
  e.preventDefault();
  switch (action) {
    // A clicker stops at the ends (the arrows beside the title go round).
    case 'next':
      return step(1, false);
    case 'previous':
      return step(-1, false);
    case 'first':
      return stepTo('first');
    case 'last':
      return stepTo('last');
    case 'leave-field':
      return (e.target as HTMLElement).blur();
    case 'leave-presentation':
      return void present(false);
  }
});

painter('diagrams', paintDiagrams);
