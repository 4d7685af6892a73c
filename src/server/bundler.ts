// Builds the browser code in memory at start-up with esbuild, so users never run a build step.
// `npm start` has it done by a short-lived process of its own (scripts/build.mjs) and hands the
// server the result: the server never loads esbuild, which would otherwise stay in its memory.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The browser entry points, by the URL they are served at. */
export const CLIENT_ENTRIES = {
  '/assets/camera.js': 'src/client/camera/camera-page.ts',
  '/assets/viewer.js': 'src/client/viewer/viewer-page.ts',
  '/assets/settings.js': 'src/client/settings/settings-page.ts',
  '/assets/recordings.js': 'src/client/recordings/recordings-page.ts',
  // One camera in another site's frame (Home Assistant, OBS).
  '/assets/embed.js': 'src/client/viewer/embed-page.ts',
  // The setup page's script: served by the plain-HTTP helper (and the HTTPS origin).
  '/assets/setup.js': 'src/client/setup/setup-page.ts',
  // The camera page's service worker (served at /service-worker.js too: a worker's scope is its folder).
  '/assets/service-worker.js': 'src/client/camera/service-worker.ts',
  // AudioWorklet modules: a worklet loads its code from a URL of its own.
  '/assets/audio-capture-worklet.js': 'src/client/camera/audio-capture-worklet.ts',
  '/assets/audio-playback-worklet.js': 'src/client/viewer/audio-playback-worklet.ts',
} as const;

/**
 * The browsers each page is built for. The camera page must run on the old phones in the drawer:
 * Safari 14.5 (iOS 14.5, the first with MediaRecorder, which records MP4 there); the viewer page
 * needs what the players use (Safari 16.4: WebCodecs; MSE from iOS 17.1).
 */
const TARGETS: Record<keyof typeof CLIENT_ENTRIES, string[]> = {
  '/assets/camera.js': ['chrome100', 'firefox115', 'safari14.5'],
  '/assets/audio-capture-worklet.js': ['chrome100', 'firefox115', 'safari14.5'],
  '/assets/viewer.js': ['chrome100', 'firefox115', 'safari16'],
  '/assets/settings.js': ['chrome100', 'firefox115', 'safari16'],
  '/assets/recordings.js': ['chrome100', 'firefox115', 'safari16'],
  '/assets/embed.js': ['chrome100', 'firefox115', 'safari16'],
  '/assets/setup.js': ['chrome100', 'firefox115', 'safari14.5'],
  '/assets/service-worker.js': ['chrome100', 'firefox115', 'safari14.5'],
  '/assets/audio-playback-worklet.js': ['chrome100', 'firefox115', 'safari16'],
};

/** Bundles every client entry point; resolves to JavaScript (and source map) text by URL path. */
export async function bundleClients(): Promise<Map<string, string>> {
  const { build } = await import('esbuild');
  const entries = Object.entries(CLIENT_ENTRIES) as [keyof typeof CLIENT_ENTRIES, string][];
  const out = new Map<string, string>();
  const groups = new Map<string, [keyof typeof CLIENT_ENTRIES, string][]>();
  for (const e of entries) groups.set(TARGETS[e[0]].join(), [...(groups.get(TARGETS[e[0]].join()) ?? []), e]);
  for (const [target, group] of groups) {
    const result = await build({
      absWorkingDir: root,
      entryPoints: Object.fromEntries(group.map(([url, file]) => [path.basename(url, '.js'), file])),
      bundle: true,
      format: 'esm',
      target: target.split(','),
      write: false,
      outdir: 'out',
      minify: true,
      sourcemap: 'linked',
      logLevel: 'silent',
    });
    for (const file of result.outputFiles) out.set(`/assets/${path.basename(file.path)}`, file.text);
  }
  for (const [url] of entries) if (!out.has(url)) throw new Error(`bundle for ${url} is missing`);
  return out;
}

/** Bundles written by `scripts/build.mjs` (a JSON object: URL path → text), as bundleClients() gives them. */
export async function readClientBundles(file: string): Promise<Map<string, string>> {
  const parsed = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  for (const url of Object.keys(CLIENT_ENTRIES)) if (typeof parsed[url] !== 'string') throw new Error(`${file} has no bundle for ${url}: run npm start again`);
  return new Map(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** The project's folder of static files (HTML, CSS). */
export const PUBLIC_DIR = path.join(root, 'public');
