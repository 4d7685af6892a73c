// Real Chromium (Debian's, with a fake camera and microphone) driven by playwright-core.
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const FLAGS = [
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

/** Launches one Chromium process. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
}

/** A context that trusts the test server's self-made certificate and may use the camera. */
export function newContext(browser: Browser, viewport = { width: 1280, height: 720 }): Promise<BrowserContext> {
  return browser.newContext({ ignoreHTTPSErrors: true, viewport, permissions: ['camera', 'microphone'] });
}

/** Starts counting frames presented by the page's tile video(s), across stream restarts (requestVideoFrameCallback). */
export async function countFrames(page: Page): Promise<void> {
  // A string, not a function: the test runner's transpiler would wrap named functions in helpers the page lacks.
  await page.evaluate(`(() => {
    window.__frames = 0;
    const watched = new WeakSet();
    const watch = () => {
      for (const v of document.querySelectorAll('.tile video')) {
        if (watched.has(v)) continue;
        watched.add(v);
        const loop = () => { window.__frames++; v.requestVideoFrameCallback(loop); };
        v.requestVideoFrameCallback(loop);
      }
    };
    watch();
    setInterval(watch, 200);
  })()`);
}

/** Frames presented so far (after countFrames). */
export async function frames(page: Page): Promise<number> {
  return Number(await page.evaluate('window.__frames'));
}

/** Frames presented during the next `ms`. */
export async function framesDuring(page: Page, ms: number): Promise<number> {
  const a = await frames(page);
  await page.waitForTimeout(ms);
  return (await frames(page)) - a;
}
