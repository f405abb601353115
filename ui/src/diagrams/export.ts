// Exporting a drawn diagram: a standalone SVG document that looks as the page shows it (the live
// colours, which come from the page's style sheet, written onto each element), and a PNG of it.

/** The paint a drawn element takes from the page's style sheet. */
const PAINT = [
  'fill',
  'stroke',
  'stroke-width',
  'stroke-dasharray',
  'opacity',
  'font-weight',
  'font-size',
  'font-family',
] as const;

/** A diagram ready to save: its SVG text, its size and the background it is shown on. */
export interface Exportable {
  text: string;
  width: number;
  height: number;
  background: string;
}

/** `svg` (the shown drawing, or null when there is none) as a standalone SVG document, on the
 * background of `figure`, the element it is shown in. */
export function exportableSvg(svg: SVGSVGElement | null, figure: Element): Exportable {
  if (!svg) throw new Error('no diagram is shown');
  const clone = svg.cloneNode(true) as SVGSVGElement;
  const from = svg.querySelectorAll<SVGElement>('*');
  const to = clone.querySelectorAll<SVGElement>('*');
  from.forEach((el, i) => {
    if (!(el instanceof SVGGraphicsElement) || el instanceof SVGGElement) return;
    const style = getComputedStyle(el);
    const target = to[i]!;
    for (const name of PAINT) {
      const value = style.getPropertyValue(name);
      if (value) target.style.setProperty(name, value);
    }
  });
  const box = svg.viewBox.baseVal;
  const width = Math.ceil(box?.width || svg.getBoundingClientRect().width);
  const height = Math.ceil(box?.height || svg.getBoundingClientRect().height);
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  clone.setAttribute('width', String(width));
  clone.setAttribute('height', String(height));
  clone.removeAttribute('style');
  const background = getComputedStyle(figure).backgroundColor || '#ffffff';
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(clone)}`;
  return { text, width, height, background };
}

/** The exported diagram drawn as a PNG, `scale` times its size. */
export async function toPng(svg: Exportable, scale = 2): Promise<Uint8Array> {
  const image = new Image();
  image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg.text)}`;
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = svg.width * scale;
  canvas.height = svg.height * scale;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas');
  ctx.fillStyle = svg.background;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  if (!blob) throw new Error('the PNG could not be made');
  return new Uint8Array(await blob.arrayBuffer());
}

/** The file name of an export of `diagram` made at `now`: `architecture-20260124-101500.svg`. */
export function exportName(diagram: string | undefined, format: 'svg' | 'png', now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${diagram ?? 'diagram'}-${stamp}.${format}`;
}
