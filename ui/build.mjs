// Builds the control room (ui/src) into dist/ui, or into the folder given as the first argument:
// one script and one stylesheet bundled by esbuild (uPlot included: nothing is loaded from elsewhere
// at run time), named by content hash, and index.html naming them. `npm run build` runs it after
// `nest build`; the browser tests run it into a folder of their own.
import { build } from 'esbuild';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, '..', 'dist', 'ui'));

await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'assets'), { recursive: true });
const result = await build({
  entryPoints: { app: join(here, 'src', 'main.ts'), style: join(here, 'src', 'style.css') },
  bundle: true,
  minify: true,
  sourcemap: true,
  target: ['es2022'],
  format: 'iife',
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
const named = (prefix, ext) => {
  const file = outputs.find((name) => name.startsWith(`${prefix}-`) && name.endsWith(ext));
  if (!file) throw new Error(`ui build: no ${prefix}*${ext} among ${outputs.join(', ')}`);
  return file;
};
const page = (await readFile(join(here, 'index.html'), 'utf8'))
  .replace('{{script}}', `/ui/assets/${named('app', '.js')}`)
  .replace('{{style}}', `/ui/assets/${named('style', '.css')}`);
await writeFile(join(out, 'index.html'), page);
