// Bundles the extension into dist/extension.js (vscode stays external) and the chat webview's
// script into dist/chat.js, or, with --tests, each unit test of the pure modules into out/test/
// for `node --test`.
import * as esbuild from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';

const args = new Set(process.argv.slice(2));
const production = args.has('--production');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
};

if (args.has('--tests')) {
  const entryPoints = readdirSync('test')
    .filter((name) => name.endsWith('.test.ts'))
    .map((name) => `test/${name}`);
  // No `vscode` here on purpose: a test that pulls it in fails to bundle, which keeps the
  // tested modules pure.
  // Emptied first: `node --test out/test/*.test.js` would also run a test whose source is gone.
  rmSync('out/test', { recursive: true, force: true });
  await esbuild.build({ ...common, entryPoints, outdir: 'out/test', sourcemap: 'inline' });
} else {
  const options = {
    ...common,
    entryPoints: ['src/extension.ts'],
    outfile: 'dist/extension.js',
    external: ['vscode'],
    minify: production,
    sourcemap: !production,
    sourcesContent: false,
  };
  // The chat webview: markdown-it and highlight.js bundled in, one file loaded by its nonce.
  const webview = {
    ...common,
    platform: 'browser',
    format: 'iife',
    target: 'chrome120',
    entryPoints: ['src/chat/webview.ts'],
    outfile: 'dist/chat.js',
    minify: production,
    sourcemap: false,
  };
  if (args.has('--watch')) {
    const ctx = await esbuild.context(options);
    await ctx.watch();
    await (await esbuild.context(webview)).watch();
  } else {
    await Promise.all([esbuild.build(options), esbuild.build(webview)]);
  }
}
