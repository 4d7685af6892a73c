// Run by `npm start` (scripts/start.mjs) in a process of its own, which exits when done, so the
// server never loads esbuild (~1 MB of heap and its service process, for the server's whole life).
// It bundles the server (src/server/main.ts and its own modules into one file; packages stay in
// node_modules) and the browser code, into node_modules/.cache/websocket-webcam/. This file is
// JavaScript because it is what makes TypeScript runnable.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = path.join(root, 'node_modules', '.cache', 'websocket-webcam');
const SERVER_BUNDLE = path.join(CACHE, 'server.mjs');
const CLIENT_BUNDLES = path.join(CACHE, 'client-bundles.json');

/** Bundles a module of src/server into JavaScript text for Node. */
async function bundleForNode(entry) {
  const result = await build({
    entryPoints: [entry],
    write: false,
    outfile: 'out.mjs',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    // Stack traces need the mappings, not the sources: a map with the sources in it kept ~2.5 MB
    // of strings in the server's heap for its whole life.
    sourcemap: 'inline',
    sourcesContent: false,
    // Every module that asks where it lives is in src/server/ (see bundler.ts).
    define: { 'import.meta.url': JSON.stringify(pathToFileURL(entry).href) },
    logLevel: 'warning',
  });
  return result.outputFiles[0].contents;
}

/** Written under a name of its own, then renamed: two servers starting at once never read half a file. */
async function writeAtomic(file, data) {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, data);
  await rename(temporary, file);
}

async function main() {
  await mkdir(CACHE, { recursive: true });
  await writeAtomic(SERVER_BUNDLE, await bundleForNode(path.join(root, 'src', 'server', 'main.ts')));
  // The browser bundles are made by the server's own bundler module, bundled and run here.
  const bundlerFile = path.join(CACHE, `bundler.${process.pid}.mjs`);
  await writeFile(bundlerFile, await bundleForNode(path.join(root, 'src', 'server', 'bundler.ts')));
  try {
    const { bundleClients } = await import(pathToFileURL(bundlerFile).href);
    await writeAtomic(CLIENT_BUNDLES, JSON.stringify(Object.fromEntries(await bundleClients())));
  } finally {
    await rm(bundlerFile, { force: true });
  }
}

main().catch((err) => {
  console.error(`error: could not build the server and its pages: ${err.message}`);
  process.exit(1);
});
