// Real Chromium (Debian's, with a fake camera and microphone) driven by playwright-core.
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Chromium flags for headless runs with a fake camera and microphone (see MEDIA-NOTES). */
export const CHROMIUM_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream=fps=30',
  '--autoplay-policy=no-user-gesture-required',
  '--disable-renderer-backgrounding',
  '--disable-background-timer-throttling',
  '--disable-backgrounding-occluded-windows',
];

/** Launches one Chromium process; `extraArgs` e.g. `--use-file-for-fake-video-capture=…`. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_FLAGS, ...extraArgs], headless: true });
}

/** A context that trusts the test server's self-made certificate and may use the camera. */
export function newContext(browser: Browser, viewport = { width: 1280, height: 720 }): Promise<BrowserContext> {
  return browser.newContext({ ignoreHTTPSErrors: true, viewport, permissions: ['camera', 'microphone'] });
}

/** A page of either driver (playwright or puppeteer): all the frame counter needs. */
export interface EvaluatingPage {
  evaluate(script: string): Promise<unknown>;
}

/**
 * Starts counting frames presented by the page's tiles, across stream restarts: for a WebM stream's
 * video, requestVideoFrameCallback where the browser has it, else decoded-frame counts; for a
 * WebCodecs stream's canvas, the frames its player says it drew (its `framesDrawn`).
 */
export async function countFrames(page: EvaluatingPage): Promise<void> {
  // A string, not a function: the test runner's transpiler would wrap named functions in helpers the page lacks.
  await page.evaluate(`(() => {
    window.__frames = 0;
    const watched = new WeakSet();
    const watch = () => {
      for (const v of document.querySelectorAll('.tile video')) {
        if (watched.has(v)) continue;
        watched.add(v);
        if (v.requestVideoFrameCallback) {
          const loop = () => { window.__frames++; v.requestVideoFrameCallback(loop); };
          v.requestVideoFrameCallback(loop);
        } else {
          let last = v.getVideoPlaybackQuality().totalVideoFrames;
          setInterval(() => {
            const n = v.getVideoPlaybackQuality().totalVideoFrames;
            if (n > last) window.__frames += n - last;
            last = n;
          }, 100);
        }
      }
    };
    const drawn = new WeakMap();
    // Frames drawn before counting started do not count; a canvas that appears later counts from 0.
    for (const c of document.querySelectorAll('.tile canvas')) drawn.set(c, c.framesDrawn || 0);
    const canvases = () => {
      for (const c of document.querySelectorAll('.tile canvas')) {
        const n = c.framesDrawn || 0;
        const last = drawn.has(c) ? drawn.get(c) : 0;
        if (n > last) window.__frames += n - last;
        drawn.set(c, n);
      }
    };
    watch();
    setInterval(watch, 200);
    setInterval(canvases, 100);
  })()`);
}

/** Frames presented so far (after countFrames). */
export async function frames(page: EvaluatingPage): Promise<number> {
  return Number(await page.evaluate('window.__frames'));
}

/**
 * Frames presented in up to `tries` windows of `ms`, stopping at the first with at least `enough`:
 * for a player that may be skipping a moment (a gap in a just-started stream, MSE dropping to a
 * keyframe). The counts of the windows looked at.
 */
export async function framesInWindows(page: EvaluatingPage, enough: number, ms = 2000, tries = 3): Promise<number[]> {
  const windows: number[] = [];
  while (windows.length < tries && !windows.some((n) => n >= enough)) windows.push(await framesDuring(page, ms));
  return windows;
}

/** Frames presented during the next `ms`. */
export async function framesDuring(page: EvaluatingPage, ms: number): Promise<number> {
  const a = await frames(page);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (await frames(page)) - a;
}
