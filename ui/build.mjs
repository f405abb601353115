// Builds the UI into dist/ (or, with --tests, the unit tests into dist-tests/) with esbuild.
// Everything comes from npm packages in node_modules: no CDN, no network at run time.
import { build } from 'esbuild';
import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';

const tests = process.argv.includes('--tests');
if (tests) {
  rmSync('dist-tests', { recursive: true, force: true });
  const entryPoints = readdirSync('test')
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => `test/${f}`);
  await build({
    entryPoints,
    outdir: 'dist-tests',
    bundle: true,
    platform: 'node',
    format: 'esm',
    outExtension: { '.js': '.mjs' },
    // A test that bundles the sources itself uses esbuild from node_modules.
    external: ['esbuild'],
    logLevel: 'warning',
  });
} else {
  rmSync('dist', { recursive: true, force: true });
  mkdirSync('dist', { recursive: true });
  await build({
    entryPoints: { app: 'src/main.ts' },
    outdir: 'dist',
    // Mermaid is loaded only when the Diagrams tab opens, and only the diagram types drawn.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    format: 'esm',
    target: ['es2022', 'safari15'],
    minify: true,
    sourcemap: false,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  cpSync('src/index.html', 'dist/index.html');
  cpSync('src/style.css', 'dist/style.css');
  cpSync('../src-tauri/icons/32x32.png', 'dist/favicon.png');
}
