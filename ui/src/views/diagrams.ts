// Diagrams: the course's diagrams of our system, drawn by Mermaid (bundled, loaded when the tab
// first opens) once per diagram, language and theme, then kept alive by toggling classes and text
// on their nodes — at most ten paints a second, never a re-render for a state change.

import { painter, render, status, ui } from '../app';
import { $, fill, h } from '../dom';
import { language, t } from '../i18n';
import { DIAGRAMS } from '../diagrams/sources';
import { LIVE_CLASSES, nodeIdOf, paintDelay, PROCESS_NODES, processClass, stateLabel } from '../diagrams/live';

type Mermaid = typeof import('mermaid').default;

let mermaid: Promise<Mermaid> | null = null;
let mermaidTheme = '';
/** Rendered SVG text by `diagram:language:theme`. */
const rendered = new Map<string, string>();
/** What the stage shows now (so a state change only re-colours it). */
let shown = '';
let lastPaint = 0;
let pending = 0;

function dark(): boolean {
  return document.documentElement.dataset.theme === 'dark';
}

async function loadMermaid(): Promise<Mermaid> {
  const theme = dark() ? 'dark' : 'default';
  if (!mermaid || mermaidTheme !== theme) {
    mermaidTheme = theme;
    mermaid = import('mermaid').then(({ default: m }) => {
      // Pinned look, so an update of Mermaid does not re-lay-out the diagrams; strict security:
      // no HTML from labels, no click callbacks (our own listeners handle clicks).
      m.initialize({ startOnLoad: false, securityLevel: 'strict', theme, layout: 'dagre', look: 'classic', fontFamily: 'system-ui, sans-serif' });
      return m;
    });
  }
  return mermaid;
}

function current() {
  return DIAGRAMS.find((d) => d.id === ui.diagram) ?? DIAGRAMS[0]!;
}

/** Shows the previous (-1) or next (+1) diagram. */
export function step(direction: number): void {
  const i = DIAGRAMS.findIndex((d) => d.id === current().id);
  ui.diagram = DIAGRAMS[(i + direction + DIAGRAMS.length) % DIAGRAMS.length]!.id;
  render('diagrams');
}

async function draw(): Promise<void> {
  const diagram = current();
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

/** Colours process nodes and writes lifecycle counts, in place. */
function paintLive(stage: HTMLElement): void {
  const counts = ui.tasks.counts();
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
    if (stage.dataset.diagram === 'lifecycle' && counts[id] !== undefined) {
      const label = node.querySelector('text, span, p');
      const text = stateLabel(id, counts);
      if (label && label.textContent !== text) label.textContent = text;
      node.classList.toggle('live-count', (counts[id] ?? 0) > 0);
    }
  }
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
  const diagram = current();
  for (const b of document.querySelectorAll<HTMLButtonElement>('#diagram-list button')) {
    b.setAttribute('aria-current', String(b.dataset.diagram === diagram.id));
  }
  $('#diagram-title').textContent = diagram.title[language()];
  $('#diagram-caption').textContent = diagram.caption[language()];
  void draw().catch((err) => {
    fill($('#diagram-stage'), h('p', { class: 'notice' }, `${t('error.title')}: ${err instanceof Error ? err.message : String(err)}`));
  });
}

/** The tab's fixed frame: the list of diagrams, the stage, the caption. */
export function diagramsView(): HTMLElement {
  shown = '';
  return h('section', { id: 'view-diagrams', class: 'view' },
    h('nav', { id: 'diagram-list', class: 'diagram-list' }, ...DIAGRAMS.map((d) =>
      h('button', { 'data-diagram': d.id, onclick: () => { ui.diagram = d.id; render('diagrams'); } }, d.title[language()]))),
    h('figure', { class: 'diagram' },
      h('header', {},
        h('button', { class: 'link', 'aria-label': '←', onclick: () => step(-1) }, '←'),
        h('h2', { id: 'diagram-title' }),
        h('button', { class: 'link', 'aria-label': '→', onclick: () => step(1) }, '→')),
      h('div', { id: 'diagram-stage', class: 'stage' }),
      h('figcaption', { id: 'diagram-caption', class: 'muted' })),
  );
}

document.addEventListener('keydown', (e) => {
  const view = document.querySelector<HTMLElement>('#view-diagrams');
  if (!view || view.hidden || e.target instanceof HTMLInputElement) return;
  if (e.key === 'ArrowRight') step(1);
  if (e.key === 'ArrowLeft') step(-1);
});

painter('diagrams', paintDiagrams);
