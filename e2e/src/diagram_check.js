// What a viewer sees of the shown diagram, measured in the page (any engine): run with
// WebDriver's execute; returns a report the Rust tests assert on. It reads the drawing as laid
// out on the screen (bounding boxes, computed colours), never the code that drew it.
//
// - `minPx`: the smallest text on the drawing, in screen pixels;
// - `outside`: labels not inside the shape of their node (an actor, a note, a flowchart node);
// - `overlaps`: pairs of labels whose boxes intersect;
// - `broken`: label lines that start or end inside a word of the diagram's source (the source is
//   on the stage as `data-source`; lines the live layer writes, `data-line`, are not from it);
// - `contrast`: texts and controls of the figure under 4.5:1 against what is behind them;
// - `live`: each live line's text by name, and `nodes`: each node's lines by node id.
(() => {
  const stage = document.querySelector('#diagram-stage');
  const svg = stage?.querySelector('svg');
  if (!svg) return { error: 'no diagram is drawn' };
  const TOLERANCE = 1.5;
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) return false;
    const style = getComputedStyle(el);
    return style.visibility !== 'hidden' && style.display !== 'none' && Number(style.opacity) > 0 && (el.textContent ?? '').trim() !== '';
  };
  const round = (n) => Math.round(n * 10) / 10;
  const box = (r) => ({ left: round(r.left), top: round(r.top), right: round(r.right), bottom: round(r.bottom) });
  const texts = [...svg.querySelectorAll('text')].filter(visible);
  // Lines: a text's rows (Mermaid draws one `tspan.row` per label line), else the text itself.
  const linesOf = (text) => {
    const rows = [...text.querySelectorAll(':scope > tspan.row, :scope > tspan.title-row')];
    return rows.length ? rows : [text];
  };

  // --- size
  const scale = svg.getScreenCTM()?.a ?? 1;
  let minPx = Infinity;
  let smallest = '';
  for (const text of texts) {
    for (const line of linesOf(text)) {
      if (!visible(line)) continue;
      const px = parseFloat(getComputedStyle(line).fontSize) * scale;
      if (px < minPx) { minPx = px; smallest = line.textContent.trim(); }
    }
  }

  // --- inside its shape
  const SHAPES = 'rect, path, polygon, circle, ellipse';
  const shapeFor = (text) => {
    const node = text.closest('g.node');
    if (node) return node.querySelector(`:scope > :is(${SHAPES}), :scope > g:not(.label) > :is(${SHAPES})`);
    const group = text.parentElement;
    if (text.matches('.actor, .noteText') && group) {
      const own = [...group.querySelectorAll(':scope > rect')].find((r) => r.matches('.actor, .note'));
      if (own) return own;
    }
    return null;
  };
  /** Whether a point of the screen is painted by the shape (a cylinder's caps and a diamond's
   * slanted sides included, which a bounding box would miss). */
  const inFill = (shape, x, y) => {
    const matrix = shape.getScreenCTM();
    if (!matrix || typeof shape.isPointInFill !== 'function') return true;
    const point = new DOMPoint(x, y).matrixTransform(matrix.inverse());
    return shape.isPointInFill(point);
  };
  const outside = [];
  for (const text of texts) {
    const shape = shapeFor(text);
    if (!shape) continue;
    const s = shape.getBoundingClientRect();
    for (const line of linesOf(text)) {
      if (!visible(line)) continue;
      const t = line.getBoundingClientRect();
      const inBox = t.left >= s.left - TOLERANCE && t.right <= s.right + TOLERANCE && t.top >= s.top - TOLERANCE && t.bottom <= s.bottom + TOLERANCE;
      // The glyphs' corners: the line box less the room a font keeps above and below its letters.
      const inset = t.height * 0.2;
      const corners = [[t.left + 1, t.top + inset], [t.right - 1, t.top + inset], [t.left + 1, t.bottom - inset], [t.right - 1, t.bottom - inset]];
      const cornersIn = shape.matches('rect') || corners.every(([x, y]) => inFill(shape, x, y));
      if (!inBox || !cornersIn) outside.push({ text: line.textContent.trim(), line: box(t), shape: box(s), corners: cornersIn });
    }
  }

  // --- overlaps (between different texts; a text's own lines may touch)
  const overlaps = [];
  const boxes = texts.map((t) => ({ text: t.textContent.trim(), r: t.getBoundingClientRect(), shape: shapeFor(t) }));
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      // The lines of one label (a sequence actor's two lines are two texts in one box).
      if (boxes[i].shape && boxes[i].shape === boxes[j].shape) continue;
      const a = boxes[i].r;
      const b = boxes[j].r;
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > TOLERANCE && h > TOLERANCE) overlaps.push([boxes[i].text, boxes[j].text]);
    }
  }

  // --- words broken inside
  const source = stage.dataset.source ?? '';
  const tokens = new Set(source.replace(/<br\s*\/?>/g, ' ').split(/[\s"]+/).filter(Boolean)
    .flatMap((t) => [t, t.replace(/^[[({]+|[\])}]+$/g, ''), t.replace(/^§[\w-]+§/, '')]));
  const broken = [];
  for (const text of texts) {
    for (const line of linesOf(text)) {
      if (line.closest('[data-line]') || !visible(line)) continue;
      const words = line.textContent.trim().split(/\s+/).filter(Boolean);
      if (!words.length) continue;
      const first = words[0];
      const last = words[words.length - 1];
      if (!tokens.has(first) || !tokens.has(last)) broken.push({ line: line.textContent.trim(), first: tokens.has(first), last: tokens.has(last) });
    }
  }

  // --- contrast
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 1;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const rgba = (color) => {
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = '#000';
    ctx.fillStyle = color;
    ctx.fillRect(0, 0, 1, 1);
    const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data;
    return { r, g, b, a: a / 255 };
  };
  const over = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a), g: top.g * top.a + bottom.g * (1 - top.a), b: top.b * top.a + bottom.b * (1 - top.a), a: 1,
  });
  const luminance = ({ r, g, b }) => {
    const c = [r, g, b].map((v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const ratio = (a, b) => { const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x); return (l1 + 0.05) / (l2 + 0.05); };
  const pageBackground = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c.a > 0) return c.a < 1 ? over(c, pageBackground(e.parentElement)) : c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  /** What is painted behind the middle of an SVG text line: the first filled shape under it
   * (a node, an edge label's box, a cluster), else the page behind the drawing. */
  const behind = (el) => {
    const r = el.getBoundingClientRect();
    for (const under of document.elementsFromPoint(r.left + r.width / 2, r.top + r.height / 2)) {
      if (!(under instanceof SVGElement)) return pageBackground(under);
      if (!under.matches(SHAPES) || under.closest('marker')) continue;
      const style = getComputedStyle(under);
      if (!style.fill || style.fill === 'none' || style.fill.startsWith('url(')) continue;
      const c = rgba(style.fill);
      const alpha = c.a * Number(style.fillOpacity || 1) * Number(style.opacity || 1);
      if (alpha <= 0.01) continue;
      return alpha < 1 ? over({ ...c, a: alpha }, pageBackground(svg)) : c;
    }
    return pageBackground(svg);
  };
  const contrast = [];
  for (const text of texts) {
    for (const line of linesOf(text)) {
      if (!visible(line)) continue;
      // The colour of the glyphs: the innermost element holding the text (Mermaid styles a
      // sequence actor's `tspan`, not its `text`).
      const ink = [...line.querySelectorAll('tspan')].find((t) => t.textContent.trim() && !t.querySelector('tspan')) ?? line;
      const fg = rgba(getComputedStyle(ink).fill);
      const bg = behind(line);
      const value = ratio(fg.a < 1 ? over(fg, bg) : fg, bg);
      if (value < 4.5) contrast.push({ text: line.textContent.trim(), ratio: round(value) });
    }
  }
  const figure = document.querySelector('#diagram-figure');
  const controls = [...figure.querySelectorAll('button, select, label, h2, p, strong, span, figcaption, a')]
    .filter((el) => visible(el) && !el.disabled && !el.closest('svg') && (el instanceof HTMLSelectElement || [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())));
  for (const el of controls) {
    // A list the engine paints itself ignores the page's colours: its contrast cannot be read
    // from them (WebKitGTK drew light lists under light text).
    if (el instanceof HTMLSelectElement && !['none', ''].includes(getComputedStyle(el).appearance ?? '')) {
      contrast.push({ text: el.textContent.trim().slice(0, 40), ratio: 'painted by the engine' });
      continue;
    }
    const fg = rgba(getComputedStyle(el).color);
    const bg = pageBackground(el);
    const value = ratio(fg.a < 1 ? over(fg, bg) : fg, bg);
    if (value < 4.5) contrast.push({ text: el.textContent.trim().slice(0, 40), ratio: round(value) });
  }

  // --- links meant to be invisible (Mermaid's `~~~`, for layout only) must stay so
  for (const link of svg.querySelectorAll('path.edge-thickness-invisible')) {
    const style = getComputedStyle(link);
    if (style.stroke !== 'none' && parseFloat(style.strokeWidth) > 0 && Number(style.strokeOpacity || 1) > 0) {
      overlaps.push(['an invisible link is drawn', link.id]);
    }
  }

  // --- what the live layer wrote, and each node's lines
  const live = {};
  for (const line of svg.querySelectorAll('[data-line]')) live[line.dataset.line] = line.textContent;
  const nodes = {};
  for (const node of svg.querySelectorAll('g.node')) {
    const id = /(?:flowchart|state)-([A-Za-z][\w]*)-\d+$/.exec(node.id)?.[1];
    if (id) nodes[id] = [...node.querySelectorAll('text')].flatMap((t) => linesOf(t).map((l) => l.textContent));
  }

  return {
    diagram: stage.dataset.diagram, minPx: round(minPx), smallest, outside, overlaps, broken, contrast, live, nodes,
    viewport: [innerWidth, innerHeight],
  };
})()
