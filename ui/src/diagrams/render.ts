// Drawing a diagram: Mermaid (bundled, loaded on first use) with a pinned look, at the font size
// of the chosen look, and the rendered SVG's live lines found and named so that the live layer
// can rewrite them in place.

import type { Diagram } from './sources';
import { LIVE_MARK } from './sources';

type Mermaid = typeof import('mermaid').default;

/** How the diagrams look: normal, large type, or high contrast (large type, white on black). */
export type Look = 'normal' | 'large' | 'contrast';

export const LOOKS: readonly Look[] = ['normal', 'large', 'contrast'];

/** The diagrams' own font size per look, px: the text is laid out at this size (the drawing is
 * then fitted to the stage), so a larger look is a re-render, not a zoom. */
export const FONT_PX: Record<Look, number> = { normal: 16, large: 28, contrast: 28 };

/** A sequence diagram's font size in the large looks, px. */
const SEQUENCE_LARGE_PX = 34;

/** How far (px) a label keeps from its node's edge when the live layer fits a line in. */
export const LABEL_MARGIN = 6;

let mermaid: Promise<Mermaid> | null = null;
let configured = '';

/** The Mermaid configuration for a theme and a look (pinned, so that an update of Mermaid does
 * not re-lay-out the diagrams). Strict security: no HTML from labels, no click callbacks (our
 * own listeners handle clicks). Plain SVG text (no HTML labels), so that a live line is one
 * element and an export draws anywhere. No automatic wrapping of node labels: lines are broken
 * by hand in the sources, between words. */
export function mermaidConfig(theme: 'dark' | 'default', look: Look, sequence = false) {
  // A sequence diagram's messages are never wrapped, and its spacing is fixed: larger type there
  // comes out larger on the screen (a flowchart's edge labels wrap at 200 px, so 28 px is its most).
  // Mermaid sizes a sequence diagram's texts by the top-level `fontSize`.
  const font = sequence && look !== 'normal' ? SEQUENCE_LARGE_PX : FONT_PX[look];
  return {
    startOnLoad: false,
    securityLevel: 'strict',
    theme,
    layout: 'dagre',
    look: 'classic',
    fontFamily: 'system-ui, sans-serif',
    fontSize: font,
    htmlLabels: false,
    markdownAutoWrap: false,
    themeVariables: {
      fontSize: `${font}px`,
      fontFamily: 'system-ui, sans-serif',
      // The dark theme's notes are pale text on pale yellow (4.5:1 at best): darker here.
      ...(theme === 'dark' ? { noteBkgColor: '#3b3514', noteTextColor: '#f5f0d0', noteBorderColor: '#b8a13a' } : {}),
    },
    flowchart: { htmlLabels: false, wrappingWidth: 4000, padding: 12, nodeSpacing: 40, rankSpacing: 50 },
    state: { wrappingWidth: 4000, nodeSpacing: 40, rankSpacing: 36 },
    sequence: {
      // An actor's box tall enough for its name in every engine (WebKit's text box is taller).
      mirrorActors: false,
      actorMargin: 30,
      diagramMarginX: 8,
      diagramMarginY: 8,
      boxMargin: 6,
      width: 110,
      height: Math.max(50, Math.round(font * 1.9)),
      messageMargin: 24,
      messageFontSize: font,
      actorFontSize: font,
      noteFontSize: font,
    },
  } as const;
}

async function loadMermaid(theme: 'dark' | 'default', look: Look, sequence: boolean): Promise<Mermaid> {
  mermaid ??= import('mermaid').then(({ default: m }) => m);
  const m = await mermaid;
  const key = `${theme}:${look}:${sequence}`;
  if (configured !== key) {
    m.initialize(mermaidConfig(theme, look, sequence) as Parameters<Mermaid['initialize']>[0]);
    configured = key;
  }
  return m;
}

let renders = 0;

/** The SVG text of `diagram` drawn from `source` (its text for a language and the stack's
 * values), in a theme and a look. Call one at a time: Mermaid renders in a scratch element of
 * its own. */
export async function renderDiagram(
  diagram: Diagram,
  source: string,
  theme: 'dark' | 'default',
  look: Look,
): Promise<string> {
  const m = await loadMermaid(theme, look, source.startsWith('sequenceDiagram'));
  renders += 1;
  return (await m.render(`d-${diagram.id}-${renders}`, source)).svg;
}

/**
 * Finds the lines marked live in a drawn diagram (`§name§placeholder`), strips the marker and
 * names the line's element (`data-line="name"`). A line is the `tspan.row` Mermaid draws per
 * label line, or the `text` of a sequence message line.
 */
export function markLiveLines(svg: SVGSVGElement): void {
  const walker = document.createTreeWalker(svg, NodeFilter.SHOW_TEXT);
  const found: Text[] = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if ((node as Text).data.includes('§')) found.push(node as Text);
  }
  for (const text of found) {
    const match = LIVE_MARK.exec(text.data.trimStart());
    if (!match) continue;
    text.data = text.data.replace(/§[\w-]+§/, '');
    const parent = text.parentElement;
    const line = parent?.closest('tspan.row') ?? parent?.closest('text');
    if (line instanceof SVGElement) line.dataset.line = match[1]!;
  }
}
