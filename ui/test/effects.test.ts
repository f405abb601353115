// Nothing runs at import: every module of `src/` but main.ts (the one wiring point) only declares.
// They are bundled together and evaluated with the page's globals replaced by recorders; no
// module may touch one (no DOM, no timer, no listener, no storage, no fetch) while it loads.
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';

import { build } from 'esbuild';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** The page's globals a module could touch while it loads. */
const PAGE = [
  'window',
  'document',
  'navigator',
  'location',
  'history',
  'localStorage',
  'sessionStorage',
  'matchMedia',
  'setTimeout',
  'setInterval',
  'requestAnimationFrame',
  'queueMicrotask',
  'addEventListener',
  'fetch',
  'EventSource',
  'performance',
  'console',
] as const;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Evaluates `code` (TypeScript that may import modules of src/ as `./…`), bundled, and returns
 * the page globals it touched. */
async function touchedBy(code: string): Promise<string[]> {
  const out = await build({
    stdin: {
      contents: code,
      resolveDir: SRC,
      loader: 'ts',
    },
    bundle: true,
    write: false,
    format: 'cjs',
    platform: 'neutral',
    // The packages load as the page loads them; what they do is theirs.
    external: ['@tauri-apps/*', 'mermaid'],
    logLevel: 'silent',
  });
  const touched: string[] = [];
  // Touching anything of a page global is recorded, and the code carries on with more of it.
  const recorder = (path: string): unknown =>
    new Proxy(function () {}, {
      get: (_, key) => (typeof key === 'symbol' ? undefined : recorder(`${path}.${key}`)),
      apply: () => recorder(`${path}()`),
      construct: () => recorder(`new ${path}`) as object,
    });
  const context: Record<string, unknown> = { require: () => ({}), module: { exports: {} } };
  for (const name of PAGE) {
    Object.defineProperty(context, name, {
      get: () => {
        touched.push(name);
        return recorder(name);
      },
    });
  }
  runInNewContext(out.outputFiles[0]!.text, context);
  return [...new Set(touched)];
}

test('no module but main.ts touches the page while it loads', async () => {
  const modules = sources(SRC)
    .map((f) => relative(SRC, f))
    .filter((f) => f !== 'main.ts');
  assert.ok(modules.length > 10, `the sources are found under ${SRC}`);
  const imports = modules.map((m) => `import ${JSON.stringify(`./${m}`)};`).join('\n');
  assert.deepEqual(await touchedBy(imports), [], 'globals touched at import');
});

test('the check sees a module that does', async () => {
  // What views/diagrams.ts and views/present.ts did when they loaded, before main.ts wired them.
  const code = [
    "document.addEventListener('keydown', () => {});",
    'setInterval(() => {}, 2000);',
    "document.documentElement.dataset.look = localStorage.getItem('stackdesk-look') ?? 'normal';",
  ].join('\n');
  assert.deepEqual(await touchedBy(code), ['document', 'setInterval', 'localStorage']);
});
