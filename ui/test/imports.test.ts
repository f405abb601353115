// The layers point one way: no module of `src/` imports one that imports it back, however far
// round (`import`, `import type`, `export … from`, `import()` all count). Reads the sources as
// text, so that type-only imports, which the bundler erases, are seen too.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** `ui/src`, from the bundled test (`dist-tests/`) or the source (`test/`): both sit beside it. */
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** Every `.ts` file under `dir`, as absolute paths. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** The module specifiers `text` imports or re-exports, statically or dynamically. */
export function specifiers(text: string): string[] {
  const found: string[] = [];
  const code = (index: number) => {
    // A match inside a comment line is not an import.
    const line = text.slice(text.lastIndexOf('\n', index) + 1, index + 1).trimStart();
    return !line.startsWith('//') && !line.startsWith('*') && !line.startsWith('/*');
  };
  const patterns = [
    // import x from '…', import type { x } from '…', export { x } from '…', export * from '…' (over lines)
    /^[ \t]*(?:import|export)\b[^;'"]*?\bfrom\s*(['"])([^'"]+)\1/gm,
    // import '…' (for its side effects)
    /^[ \t]*import\s*(['"])([^'"]+)\1/gm,
    // import('…'), also in a type (`typeof import('…')`)
    /\bimport\s*\(\s*(['"])([^'"]+)\1\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) {
      if (code(match.index ?? 0)) found.push(match[2]!);
    }
  }
  return found;
}

/** The file a relative specifier names, or null when it names none. */
function resolveImport(from: string, specifier: string): string | null {
  const base = resolve(dirname(from), specifier);
  const candidates = [base, `${base}.ts`, join(base, 'index.ts'), base.replace(/\.js$/, '.ts')];
  return candidates.find((c) => c.endsWith('.ts') && existsSync(c)) ?? null;
}

/** Each module's relative imports, by path relative to `root`. */
function graphOf(root: string): { graph: Map<string, string[]>; unresolved: string[] } {
  const graph = new Map<string, string[]>();
  const unresolved: string[] = [];
  for (const file of sources(root)) {
    const name = relative(root, file);
    const edges: string[] = [];
    for (const specifier of specifiers(readFileSync(file, 'utf8'))) {
      if (!specifier.startsWith('.')) continue;
      const target = resolveImport(file, specifier);
      if (target) edges.push(relative(root, target));
      else unresolved.push(`${name}: ${specifier}`);
    }
    graph.set(name, [...new Set(edges)]);
  }
  return { graph, unresolved };
}

/** Every cycle a depth-first walk meets (one per edge back to a module on the walk's path), as
 * `a → b → a`. Empty when the graph has none. */
export function cycles(graph: Map<string, string[]>): string[] {
  const found: string[] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const visit = (node: string) => {
    path.push(node);
    onPath.add(node);
    for (const next of graph.get(node) ?? []) {
      if (onPath.has(next)) found.push([...path.slice(path.indexOf(next)), next].join(' → '));
      else if (!done.has(next)) visit(next);
    }
    path.pop();
    onPath.delete(node);
    done.add(node);
  };
  for (const node of [...graph.keys()].sort()) if (!done.has(node)) visit(node);
  return found;
}

test('the import scanner sees every kind of import, and no comment', () => {
  const text = [
    "import { a } from './a';",
    "import type { B } from '../b';",
    'import {',
    '  c,',
    '  type D,',
    "} from './c';",
    "export { e } from './e';",
    "export * from './f';",
    "export type { G } from './g';",
    "import './h';",
    "const lazy = () => import('./i');",
    "type M = typeof import('./j').default;",
    "// import { no } from './comment';",
    " * import { no } from './doc-comment'",
    "const s = 'from here';",
    "import x from 'a-package';",
  ].join('\n');
  assert.deepEqual(specifiers(text).sort(), [
    '../b',
    './a',
    './c',
    './e',
    './f',
    './g',
    './h',
    './i',
    './j',
    'a-package',
  ]);
});

test('the cycle finder names a cycle, also a long way round', () => {
  const graph = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', ['a.ts']],
    ['d.ts', ['a.ts', 'd.ts']],
    ['e.ts', []],
  ]);
  assert.deepEqual(cycles(graph), ['a.ts → b.ts → c.ts → a.ts', 'd.ts → d.ts']);
  assert.deepEqual(
    cycles(
      new Map([
        ['a.ts', ['b.ts']],
        ['b.ts', []],
      ]),
    ),
    [],
  );
});

test('no module of src/ imports one that imports it back', () => {
  const { graph, unresolved } = graphOf(SRC);
  assert.ok(graph.size > 10, `the sources are found under ${SRC}`);
  assert.deepEqual(unresolved, [], 'every relative import names a file');
  const found = cycles(graph);
  assert.deepEqual(found, [], `import cycles in ui/src:\n  ${found.join('\n  ')}`);
});
