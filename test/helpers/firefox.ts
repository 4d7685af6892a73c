// Real Firefox ESR (Debian's `firefox-esr`, with its fake camera and microphone) driven by
// puppeteer-core over WebDriver BiDi: no geckodriver and no download. Works headless as root.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { Browser as ChromiumBrowser } from 'playwright-core';
import { launchChromium } from './browser.ts';

export const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/** Prefs for a test Firefox: fake media devices, no permission prompt, autoplay, no background chatter. */
const PREFS: Record<string, unknown> = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  // A machine with no sound device: Firefox's AudioContext would stay suspended for ever (the
  // camera page captures sound through an AudioWorklet when there is no MediaStreamTrackProcessor).
  'media.cubeb.force_mock_context': true,
  // Do not slow down timers or painting of pages that are not in front.
  'dom.min_background_timeout_value': 4,
  'dom.timeout.enable_budget_timer_throttling': false,
  // Quiet: no updates, telemetry or remote settings on a machine that cannot reach them.
  'app.update.enabled': false,
  'app.update.auto': false,
  'browser.shell.checkDefaultBrowser': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
};

/** A Firefox process with its own throw-away profile; close() ends it and removes the profile. */
export interface FirefoxBrowser {
  browser: Browser;
  /** A page in a window of its own (a background tab barely paints). */
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** Launches one headless Firefox ESR that trusts any certificate (the test server's is self-made). */
export async function launchFirefox(extraPrefs: Record<string, unknown> = {}): Promise<FirefoxBrowser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'wsw-firefox-'));
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: FIREFOX,
      headless: true,
      acceptInsecureCerts: true,
      userDataDir: profile,
      extraPrefsFirefox: { ...PREFS, ...extraPrefs },
      defaultViewport: { width: 640, height: 720 },
      protocolTimeout: 30_000,
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    browser,
    newPage: () => browser.newPage({ type: 'window' }),
    close: async () => {
      try {
        await browser.close();
      } catch {
        // Already gone: make sure the process is.
        browser.process()?.kill('SIGKILL');
      }
      await rm(profile, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}

/** Firefox ESR and Chromium side by side (each test file that mixes them); if one fails to start, the other is closed. */
export async function launchFirefoxAndChromium(): Promise<{ firefox: FirefoxBrowser; chromium: ChromiumBrowser }> {
  const [fx, ch] = await Promise.allSettled([launchFirefox(), launchChromium()]);
  if (fx.status === 'fulfilled' && ch.status === 'fulfilled') return { firefox: fx.value, chromium: ch.value };
  await Promise.allSettled([fx.status === 'fulfilled' ? fx.value.close() : undefined, ch.status === 'fulfilled' ? ch.value.close() : undefined]);
  if (fx.status === 'rejected') throw new Error(`could not start Firefox ESR (apt-get install -y firefox-esr): ${String(fx.reason)}`);
  throw (ch as PromiseRejectedResult).reason;
}

/**
 * Sets a Firefox page's viewport. puppeteer-core also sends BiDi's
 * `emulation.setScreenOrientationOverride` with it, which Firefox ESR 140 does not know: the
 * viewport itself is set, and that one refusal is let pass.
 */
export async function setFirefoxViewport(page: Page, width: number, height: number): Promise<void> {
  await page.setViewport({ width, height }).catch((err: unknown) => {
    if (!/setScreenOrientationOverride/.test((err as Error).message)) throw err;
  });
}
