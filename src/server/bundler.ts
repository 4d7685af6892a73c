// Builds the browser code in memory at start-up with esbuild, so users never run a build step.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The browser entry points, by the URL they are served at. */
export const CLIENT_ENTRIES = {
  '/assets/camera.js': 'src/client/camera/camera-page.ts',
  '/assets/viewer.js': 'src/client/viewer/viewer-page.ts',
  // AudioWorklet modules: a worklet loads its code from a URL of its own.
  '/assets/audio-capture-worklet.js': 'src/client/camera/audio-capture-worklet.ts',
  '/assets/audio-playback-worklet.js': 'src/client/viewer/audio-playback-worklet.ts',
} as const;

/** Bundles every client entry point; resolves to JavaScript (and source map) text by URL path. */
export async function bundleClients(): Promise<Map<string, string>> {
  const entries = Object.entries(CLIENT_ENTRIES);
  const result = await build({
    absWorkingDir: root,
    entryPoints: Object.fromEntries(entries.map(([url, file]) => [path.basename(url, '.js'), file])),
    bundle: true,
    format: 'esm',
    target: ['chrome100', 'firefox115', 'safari16'],
    write: false,
    outdir: 'out',
    minify: true,
    sourcemap: 'linked',
    logLevel: 'silent',
  });
  const out = new Map<string, string>();
  for (const file of result.outputFiles) out.set(`/assets/${path.basename(file.path)}`, file.text);
  for (const [url] of entries) if (!out.has(url)) throw new Error(`bundle for ${url} is missing`);
  return out;
}

/** The project's folder of static files (HTML, CSS). */
export const PUBLIC_DIR = path.join(root, 'public');
