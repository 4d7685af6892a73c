// `npm start`: runs the server as plain JavaScript. esbuild (already used for the browser code)
// bundles src/server/main.ts and its own modules into one file (packages stay in node_modules),
// which Node then runs with source maps, so stack traces still name the .ts files. Running it
// under a TypeScript loader instead costs ~35 MB of memory for the whole life of the server (the
// loader's own thread); this costs ~0.2 s at start. This file is JavaScript because it is what
// makes TypeScript runnable. Arguments go to the server: npm start -- --port 9443
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'src', 'server', 'main.ts');
const out = path.join(root, 'node_modules', '.cache', 'websocket-webcam', 'server.mjs');
await mkdir(path.dirname(out), { recursive: true });
const result = await build({
  entryPoints: [entry],
  outfile: out,
  write: false,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'inline',
  // Every module that asks where it lives is in src/server/ (see bundler.ts).
  define: { 'import.meta.url': JSON.stringify(pathToFileURL(entry).href) },
  logLevel: 'warning',
});
// Written under a name of its own, then renamed: two servers starting at once never read half a file.
const temporary = `${out}.${process.pid}.tmp`;
await writeFile(temporary, result.outputFiles[0].contents);
await rename(temporary, out);
process.setSourceMapsEnabled(true);
await import(pathToFileURL(out).href);
