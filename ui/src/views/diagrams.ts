// Diagrams: the course's diagrams of our system, drawn by Mermaid (bundled, loaded when the tab
// first opens) once per diagram, language, theme, look and the stack's values, fitted to the
// stage, then kept alive by toggling classes and rewriting the lines marked live — at most ten
// paints a second, never a re-render for a state change.

import type { Context } from '../context';
import { exportableSvg, exportName, toPng } from '../diagrams/export';
import { stackFacts } from '../diagrams/facts';
import { keyAction, keyTargetOf } from '../diagrams/keys';
import {
  LIFECYCLE,
  LifecycleMotion,
  lifecyclePath,
  pathLabel,
  retryNote,
  stateEdgeOf,
  stateLabel,
} from '../diagrams/lifecycle';
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
import { FONT_PX, LABEL_MARGIN, type Look, markLiveLines, renderDiagram } from '../diagrams/render';
import { DIAGRAMS, LIFECYCLE_STATES } from '../diagrams/sources';
import { $, fill, h } from '../dom';
import { formatDuration, formatMs } from '../format';
import { healthOf } from '../health';
import { language, t } from '../i18n';
import { type ProcessKind, type RedisGlance, TASK_STATES, type WorkerView } from '../ipc';
import type { Presentation } from './present';

/** How long a lifecycle edge stays lit after a task crossed it, ms. */
const FLASH_MS = 1000;
/** How long an edge stays lit after a message crossed it, ms. */
const PULSE_MS = 900;
/** How often Redis is sampled while a diagram shows its contents, ms. */
export const GLANCE_EVERY = 2000;
/** How much larger than drawn a diagram may grow to fill the stage outside presentation. */
const MAX_GROWTH = 1.5;
/** How long a crashed worker's node stays red, ms. */
const CRASH_SHOWN_MS = 2000;

function dark(): boolean {
  return document.documentElement.dataset.theme === 'dark';
}

/** The projector look chosen in the bar above the diagram. */
export function look(): Look {
  const value = document.documentElement.dataset.look;
  return value === 'large' || value === 'contrast' ? value : 'normal';
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

/** What the diagrams view asks of the others. */
export interface DiagramsLinks {
  /** Shows a process's card and log (a click on its node). */
  showProcess(process: ProcessKind): void;
  /** Whether a dialog is open (the keys are then its own). */
  dialogOpen(): boolean;
}

export class DiagramsView {
  /** The lifecycle's memory between paints: the edges each task crossed, the worker's deaths. */
  private readonly lifecycle = new LifecycleMotion();
  /** The repaint pending while a retry counts down. */
  private lifecycleTick = 0;
  /** Rendered SVG text by diagram, language, theme, look and the stack's values. */
  private readonly rendered = new Map<string, string>();
  /** What the stage shows now (so a state change only re-colours it). */
  private shown = '';
  /** When the last paint ran, and the paint pending until ten a second allow the next. */
  private lastPaint = 0;
  private pending = 0;
  /** The last glance at Redis (sampled while a diagram needs it), and when it was asked for. */
  private redis: RedisGlance | null = null;
  private lastGlance = 0;
  /** The workers' own answers (concurrency, prefetch), sampled with Redis. */
  private workers: WorkerView[] = [];
  /** When the worker process last crashed (or was killed): its node shows it for a moment, even
   * when the supervisor has a new worker running within a fraction of a second. */
  private workerDownAt = 0;
  /** The repaint pending at the end of that moment. */
  private crashTick = 0;
  /** One draw at a time (see `drawInTurn`). */
  private drawing = false;
  private drawAgain = false;

  constructor(
    private readonly ctx: Context,
    private readonly presentation: Presentation,
    private readonly links: DiagramsLinks,
  ) {}

  /** Builds the tab's section in `main`: the list of diagrams, the stage, the caption, the bars. */
  mount(main: HTMLElement): void {
    const { store } = this.ctx;
    this.shown = '';
    main.append(
      h(
        'section',
        { id: 'view-diagrams', class: 'view' },
        h(
          'nav',
          { id: 'diagram-list', class: 'diagram-list' },
          ...DIAGRAMS.map((d) =>
            h(
              'button',
              { 'data-diagram': d.id, onclick: () => store.update({ diagram: d.id }, 'diagrams') },
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
            h('button', { class: 'link', 'aria-label': '←', onclick: () => this.step(-1) }, '←'),
            h('h2', { id: 'diagram-title' }),
            h('button', { class: 'link', 'aria-label': '→', onclick: () => this.step(1) }, '→'),
            this.presentation.bar((format) => void this.exportDiagram(format)),
          ),
          h('div', {
            id: 'diagram-stage',
            class: 'stage',
            onclick: (e: Event) => {
              const node = (e.target as Element).closest('g.node');
              const id = node ? nodeIdOf(node.id) : null;
              if (id) this.openNode(id);
            },
          }),
          h('figcaption', { id: 'diagram-caption', class: 'muted' }),
          h('div', { id: 'diagram-extra', class: 'extra' }),
          this.presentation.demoBar(),
        ),
      ),
    );
  }

  private currentDiagram() {
    return DIAGRAMS.find((d) => d.id === this.ctx.store.state.diagram) ?? DIAGRAMS[0]!;
  }

  /** Shows the previous (-1) or next (+1) diagram. */
  private step(direction: number, wrap = true): void {
    const i = DIAGRAMS.findIndex((d) => d.id === this.currentDiagram().id);
    const next = wrap
      ? (i + direction + DIAGRAMS.length) % DIAGRAMS.length
      : Math.min(DIAGRAMS.length - 1, Math.max(0, i + direction));
    this.ctx.store.update({ diagram: DIAGRAMS[next]!.id }, 'diagrams');
  }

  /** Shows the first or the last diagram. */
  private stepTo(end: 'first' | 'last'): void {
    this.ctx.store.update({ diagram: (end === 'first' ? DIAGRAMS[0] : DIAGRAMS[DIAGRAMS.length - 1])!.id }, 'diagrams');
  }

  /** Notes the worker process's state as the supervisor reports it, when it is reported: a killed
   * worker's death is dated by its event, not by the next paint (the tab may be hidden). */
  observeWorker(): void {
    const worker = this.ctx.store.status('worker');
    this.lifecycle.observeWorker(worker, Date.now());
    if (worker?.state === 'crashed' || worker?.state === 'backing-off') this.workerDownAt = Date.now();
  }

  // ---------------------------------------------------------------- painting

  paint(): void {
    const view = document.querySelector<HTMLElement>('#view-diagrams');
    if (!view || view.hidden) return;
    const wait = paintDelay(this.lastPaint, performance.now());
    if (wait > 0) {
      if (!this.pending) {
        this.pending = window.setTimeout(() => {
          this.pending = 0;
          this.ctx.store.render('diagrams');
        }, wait);
      }
      return;
    }
    this.lastPaint = performance.now();
    const diagram = this.currentDiagram();
    for (const b of document.querySelectorAll<HTMLButtonElement>('#diagram-list button')) {
      b.setAttribute('aria-current', String(b.dataset.diagram === diagram.id));
    }
    $('#diagram-title').textContent = diagram.title[language()];
    $('#diagram-caption').textContent = diagram.caption[language()];
    this.presentation.paint();
    this.sampleRedis();
    void this.drawInTurn();
  }

  /** One draw at a time: a paint asked for while Mermaid renders runs once it is done (two
   * renders at once would share Mermaid's scratch element). */
  private async drawInTurn(): Promise<void> {
    if (this.drawing) {
      this.drawAgain = true;
      return;
    }
    this.drawing = true;
    try {
      do {
        this.drawAgain = false;
        try {
          await this.draw();
        } catch (err) {
          this.shown = '';
          fill(
            $('#diagram-stage'),
            h('p', { class: 'notice' }, `${t('error.title')}: ${err instanceof Error ? err.message : String(err)}`),
          );
        }
      } while (this.drawAgain);
    } finally {
      this.drawing = false;
    }
  }

  private async draw(): Promise<void> {
    const { settings, snapshot } = this.ctx.store.state;
    const diagram = this.currentDiagram();
    const lang = language();
    const theme = dark() ? 'dark' : 'default';
    const facts = stackFacts(settings, snapshot, this.workers);
    // Drawn again only when its text changes (a value it prints), never for a state change: the
    // live layer keeps the same nodes.
    const source = diagram.source(lang, facts);
    const key = `${diagram.id}:${theme}:${look()}:${source}`;
    const stage = $('#diagram-stage');
    if (this.shown !== key) {
      let svg = this.rendered.get(key);
      if (!svg) {
        stage.setAttribute('aria-busy', 'true');
        svg = await renderDiagram(diagram, source, theme, look());
        if (this.rendered.size > 60) this.rendered.clear();
        this.rendered.set(key, svg);
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
      this.shown = key;
    }
    this.paintLive(stage);
  }

  /** Colours, counts, lines, paths and pulses, in place. */
  private paintLive(stage: HTMLElement): void {
    const { store } = this.ctx;
    const lifecycle = this.lifecycle;
    const diagram = stage.dataset.diagram;
    const lang = language();
    const now = Date.now();
    lifecycle.observeWorker(store.status('worker'), now);
    const counts =
      diagram === 'lifecycle' ? store.tasks.counts((task) => lifecycle.stateOf(task, now)) : store.tasks.counts();
    const selectedId = store.state.selectedTask;
    const selected = selectedId ? store.tasks.get(selectedId) : undefined;
    const path = diagram === 'lifecycle' && selected ? lifecyclePath(selected, now, lifecycle.lost) : null;
    const retry = diagram === 'lifecycle' ? retryNote(store.tasks.all(), selected, now, lang) : null;
    const svg = stage.querySelector('svg');
    if (!svg) return;
    if (diagram === 'architecture') {
      // Every task running now, as the lifecycle counts them (a dead worker's task is not).
      const running = [...store.tasks.all()].filter((task) => lifecycle.stateOf(task, now) === 'STARTED');
      const workerHealth = healthOf(store.status('worker'), store.state.snapshot);
      for (const [name, text] of Object.entries(architectureLines(this.redis, running, lang, workerHealth))) {
        setLive(svg, name, text);
      }
    }
    if (diagram === 'redis' && this.redis) {
      for (const [name, text] of Object.entries(redisKeyLines(this.redis, lang))) setLive(svg, name, text);
    }
    for (const node of stage.querySelectorAll<SVGGElement>('g.node')) {
      const id = nodeIdOf(node.id);
      if (!id) continue;
      const process = PROCESS_NODES[id];
      if (process) {
        const crashed = process === 'worker' && Date.now() - this.workerDownAt < CRASH_SHOWN_MS;
        if (crashed && !this.crashTick) {
          this.crashTick = window.setTimeout(() => {
            this.crashTick = 0;
            store.render('diagrams');
          }, CRASH_SHOWN_MS);
        }
        const status = store.status(process);
        const cls = crashed ? 'live-bad' : processClass(status?.state, healthOf(status, store.state.snapshot));
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
      const crossed = lifecycle.step(store.tasks.all(), now);
      for (const edge of stage.querySelectorAll<SVGPathElement>('path[id]')) {
        const index = stateEdgeOf(edge.id);
        const transition = index === null ? undefined : LIFECYCLE[index];
        if (transition) {
          setClass(edge, 'live-path', Boolean(path?.transitions.has(`${transition.from}>${transition.to}`)));
        }
        if (index !== null && crossed.has(index) && !edge.classList.contains('flash')) {
          edge.classList.add('flash');
          setTimeout(() => edge.classList.remove('flash'), FLASH_MS);
        }
      }
      // A countdown ticks, and a retried task moves on at its eta, with no event to paint on.
      if (retry !== null && !this.lifecycleTick) {
        this.lifecycleTick = window.setTimeout(() => {
          this.lifecycleTick = 0;
          store.render('diagrams');
        }, 250);
      }
    }
    if (diagram === 'product-flow') this.paintFlow(stage);
    if (store.pulses.size) {
      if (diagram === 'architecture') {
        for (const edge of stage.querySelectorAll<SVGPathElement>('path[id]')) {
          const key = flowEdgeOf(edge.id);
          if (key && store.pulses.has(key) && !edge.classList.contains('pulse')) {
            edge.classList.add('pulse');
            setClass(edge, 'pulled', PULLED.has(key));
            setTimeout(() => edge.classList.remove('pulse'), PULSE_MS);
          }
        }
      }
      store.pulses.clear();
    }
    this.paintExtra(diagram ?? '');
  }

  /** The product flow's messages gain the last request's measured durations. */
  private paintFlow(stage: HTMLElement): void {
    const { store } = this.ctx;
    const last = store.state.lastRequest;
    const task = last ? store.tasks.get(last.taskId) : undefined;
    const svg = stage.querySelector('svg');
    if (!svg) return;
    for (const [name, text] of Object.entries(flowLines(last, task, language()))) {
      setLive(svg, name, text);
      for (const line of svg.querySelectorAll(`[data-line="${name}"]`)) setClass(line, 'live-measured', Boolean(text));
    }
  }

  /** What goes under a diagram: the measured facts, the keys, the path's task. */
  private paintExtra(diagram: string): void {
    const { store } = this.ctx;
    const extra = $('#diagram-extra');
    const lang = language();
    if (diagram === 'product-flow') {
      const last = store.state.lastRequest;
      const task = last ? store.tasks.get(last.taskId) : undefined;
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
      if (extra.dataset.for !== diagram) fill(extra, this.presentation.measurePanel());
      this.presentation.paintMeasure();
    } else if (diagram === 'redis') {
      const glance = this.redis;
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
                h('button', { class: 'link mono', 'data-key': k.key, onclick: () => void this.showKey(k.key) }, k.key),
                h(
                  'span',
                  { class: 'muted' },
                  ` ${k.kind} · ${k.size}${k.ttl_ms !== null ? ` · TTL ${formatDuration(k.ttl_ms / 1000)}` : ''}${k.state ? ` · ${k.state}` : ''}`,
                ),
              ),
            ),
          ),
          glance ? h('p', { class: 'muted' }, t('diagram.keys_more', { count: glance.scanned })) : null,
        );
      }
    } else if (diagram === 'lifecycle') {
      const selectedId = store.state.selectedTask;
      const selected = selectedId ? store.tasks.get(selectedId) : undefined;
      const recent = store.tasks.list(null, '', 20);
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
                  onchange: (e: Event) =>
                    store.update(
                      { selectedTask: (e.target as HTMLSelectElement).value || null },
                      'diagrams',
                      'tasks',
                      'drawer',
                    ),
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
                    onclick: () => store.update({ selectedTask: null }, 'diagrams', 'tasks', 'drawer'),
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

  // ---------------------------------------------------------------- what a click opens

  /** A Redis key's contents, in a dialog. */
  private async showKey(key: string): Promise<void> {
    const { store, dialog } = this.ctx;
    try {
      const monitor = store.state.monitor;
      if (!monitor) return;
      const contents = await monitor.redisKey(key);
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
  private openNode(nodeId: string): void {
    const { store, showTab } = this.ctx;
    const diagram = this.currentDiagram().id;
    const process = PROCESS_NODES[nodeId];
    if (process && diagram !== 'redis') {
      this.links.showProcess(process);
      return;
    }
    if (diagram === 'lifecycle' && (TASK_STATES as readonly string[]).includes(nodeId)) {
      store.update({ taskFilter: nodeId });
      showTab('tasks');
      store.render('tasks');
      return;
    }
    if (diagram === 'redis') {
      const key = keyOfNode(nodeId, this.redis);
      if (key) void this.showKey(key);
      return;
    }
    if (nodeId === 'client' || nodeId === 'c1' || nodeId === 'c2') showTab('products');
    if (nodeId === 'tg' || nodeId === 'notify' || nodeId === 't1' || nodeId === 't2') showTab('settings');
  }

  /** Saves the shown diagram (as it looks now) under the data folder's `exports/`. */
  private async exportDiagram(format: 'svg' | 'png'): Promise<void> {
    const { backend, showError } = this.ctx;
    try {
      const stage = $('#diagram-stage');
      const svg = exportableSvg(stage.querySelector('svg'), $('#diagram-figure'));
      const name = exportName(stage.dataset.diagram, format);
      const bytes = format === 'svg' ? new TextEncoder().encode(svg.text) : await toPng(svg);
      const path = await backend.saveExport(name, bytes);
      this.ctx.notice(
        t('diagram.exported', { path }),
        'info',
        h(
          'button',
          {
            class: 'link',
            'data-export-path': path,
            onclick: () => void backend.open('data-dir').catch((err: unknown) => showError(err)),
          },
          t('open.data'),
        ),
      );
    } catch (err) {
      showError(err);
    }
  }

  // ---------------------------------------------------------------- sampling and keys

  /** Samples Redis (and the workers' own figures) while a shown diagram needs them: when it is
   * shown, then every `GLANCE_EVERY` ms (main.ts runs it) — never per event. */
  sampleRedis(): void {
    const { store } = this.ctx;
    const monitor = store.state.monitor;
    const view = document.querySelector<HTMLElement>('#view-diagrams');
    const needs = ['architecture', 'redis', 'components', 'configuration'].includes(this.currentDiagram().id);
    if (!view || view.hidden || !needs || !store.state.snapshot?.running || !monitor) return;
    if (performance.now() - this.lastGlance < GLANCE_EVERY / 2) return;
    this.lastGlance = performance.now();
    monitor.redisGlance().then(
      (glance) => {
        this.redis = glance;
        store.render('diagrams');
      },
      () => {
        this.redis = null;
        store.render('diagrams');
      },
    );
    // Keep the last answer with stats while a worker is slow to answer one `stats` (a diagram
    // would otherwise be redrawn back and forth).
    monitor.workers().then(
      (seen) => {
        if (seen.some((w) => w.online && w.stats) || !seen.some((w) => w.online)) this.workers = seen;
      },
      () => {},
    );
  }

  /** In a presentation, Space is the clicker's: a focused button must not be pressed by its
   * release either (a browser presses a button on Space's keyup). */
  onKeyUp(e: KeyboardEvent): void {
    if (e.key === ' ' && this.ctx.store.state.presenting && keyAction(e.key, keyTargetOf(e.target), true)) {
      e.preventDefault();
    }
  }

  /** Steps through the diagrams with a clicker or the keyboard (see `keyAction`). */
  onKeyDown(e: KeyboardEvent): void {
    const view = document.querySelector<HTMLElement>('#view-diagrams');
    if (!view || view.hidden || e.altKey || e.ctrlKey || e.metaKey || this.links.dialogOpen()) return;
    const action = keyAction(e.key, keyTargetOf(e.target), this.ctx.store.state.presenting);
    if (!action) return;
    e.preventDefault();
    switch (action) {
      // A clicker stops at the ends (the arrows beside the title go round).
      case 'next':
        return this.step(1, false);
      case 'previous':
        return this.step(-1, false);
      case 'first':
        return this.stepTo('first');
      case 'last':
        return this.stepTo('last');
      case 'leave-field':
        return (e.target as HTMLElement).blur();
      case 'leave-presentation':
        return void this.presentation.present(false);
    }
  }
}
