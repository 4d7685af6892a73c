// `npm start`: runs the server as plain JavaScript. A short-lived process (scripts/build.mjs)
// bundles the server and the browser code with esbuild; then this process runs the server's bundle
// with source maps, so stack traces still name the .ts files. Running the server under a
// TypeScript loader instead costs ~35 MB of memory for its whole life (the loader's own thread),
// and bundling in the server would keep esbuild loaded; this costs ~0.4 s at start. This file is
// JavaScript because it is what makes TypeScript runnable. Arguments go to the server:
// npm start -- --port 9443
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const cache = path.join(here, '..', 'node_modules', '.cache', 'websocket-webcam');
const built = spawnSync(process.execPath, [path.join(here, 'build.mjs')], { stdio: 'inherit' });
if (built.error) console.error(`error: could not run the build step: ${built.error.message}`);
if (built.status !== 0) process.exit(built.status ?? 1);
process.env.WEBCAM_CLIENT_BUNDLES = path.join(cache, 'client-bundles.json');
process.setSourceMapsEnabled(true);
await import(pathToFileURL(path.join(cache, 'server.mjs')).href);
