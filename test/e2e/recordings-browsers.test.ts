// The Recordings place plays in Firefox ESR and WebKit too (Chromium: recordings.test.ts). A
// Chromium test-pattern camera is recorded; each browser opens the camera's timeline, a person's
// click (not a script's) plays from there, and the picture shown is from the time clicked: read
// from the frame's time code in Firefox; in WebKit (whose canvas copies of a <video> are not
// reliable here) from the player.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium, newContext } from '../helpers/browser.ts';
import { launchFirefox, setFirefoxViewport, type FirefoxBrowser } from '../helpers/firefox.ts';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

const SHOTS = path.resolve('.tmp/shots');
import { launchWebKit, type WebKitBrowser } from '../helpers/webkit.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { readTimeCode, TWO32 } from '../../src/client/common/time-code.ts';
import { PAUSE_ON_PLAY, settled, whereOnTimeline } from '../helpers/playback.ts';
import { slowLink } from '../helpers/slow-link.ts';
import { fetchRaw } from '../helpers/http.ts';

/** In the page: the clicked time, the player's time and the time code of the frame shown (or null). */
const READ = `(() => {
  const v = document.getElementById('player');
  let code = null;
  if (v.videoWidth > 0) {
    const c = document.createElement('canvas');
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    const g = c.getContext('2d');
    g.drawImage(v, 0, 0);
    const h = Math.min(c.height, Math.ceil(128 * (c.height / 480)) + 2);
    const d = g.getImageData(0, 0, c.width, h);
    code = { w: v.videoWidth, h: v.videoHeight, iw: d.width, ih: d.height, data: Array.from(d.data) };
  }
  return { clicked: Number(document.getElementById('timeline').dataset.clicked), shown: Number(document.getElementById('player-time').dataset.time), currentTime: v.currentTime, paused: v.paused, readyState: v.readyState, code };
})()`;

interface Listing {
  spans: { start: number; end: number }[];
  segments: { start: number; end: number }[];
}

/** The middle of the first recorded span. */
const middle = (l: Listing): number => (l.spans[0]!.start + l.spans[0]!.end) / 2;

interface Read {
  clicked: number;
  shown: number;
  currentTime: number;
  paused: boolean;
  readyState: number;
  code: { w: number; h: number; iw: number; ih: number; data: number[] } | null;
}

const apart = (a: number, code: number): number => Math.abs(((a % TWO32) - code + TWO32 * 1.5) % TWO32 - TWO32 / 2);

describe('the Recordings place in Firefox ESR and WebKit', { timeout: 240_000 }, () => {
  let server: TestServer;
  let chromium: Browser;
  let cameraId = '';
  /** What was recorded, as the page's API lists it (the recording is over before the tests). */
  let listing: Listing;
  before(async () => {
    server = await startTestServer({}, { recording: { all: true }, segmentMs: 4000 });
    chromium = await launchChromium();
    const cam = await (await newContext(chromium, { width: 412, height: 860 })).newPage();
    await cam.goto(server.page('/camera?autostart=1&name=Porch&source=test'));
    await cam.waitForSelector('#rec:not([hidden])', { timeout: 15_000 });
    cameraId = server.hub.list()[0]!.id;
    const listed = async (): Promise<Listing> => JSON.parse((await fetchRaw(server.page(`/api/cameras/${cameraId}/recordings?from=${Date.now() - 3600_000}&to=${Date.now() + 60_000}`))).body) as Listing;
    // Two whole 4 s segments and the start of a third (about 9 s), however slow the machine.
    const deadline = Date.now() + 30_000;
    while ((await listed()).segments.length < 3 && Date.now() < deadline) await cam.waitForTimeout(500);
    await cam.close();
    listing = await listed();
  });
  after(async () => {
    await chromium?.close();
    await server?.stop();
  });

  it('Firefox ESR plays from a click, the frame shown from the time clicked (within 1 s)', async (t) => {
    let firefox: FirefoxBrowser | undefined;
    try {
      firefox = await launchFirefox();
      const page = await firefox.newPage();
      await page.goto(server.page(`/recordings?camera=${cameraId}`));
      await page.waitForSelector('.timeline-span', { timeout: 15_000 });
      await page.click('[data-zoom="60000"]');
      const at = (await page.evaluate(whereOnTimeline(middle(listing)))) as { x: number; y: number };
      await page.evaluate(PAUSE_ON_PLAY);
      await page.mouse.click(at.x, at.y);
      await settled((e) => page.evaluate(e));
      const r = (await page.evaluate(READ)) as Read;
      assert.ok(r.code, 'a picture');
      const code = readTimeCode({ data: r.code.data, width: r.code.iw, height: r.code.ih }, r.code.w, r.code.h);
      assert.ok(code !== null, 'the time code is readable');
      t.diagnostic(`Firefox: the frame is ${apart(r.clicked, code)} ms from the time clicked, ${apart(r.shown, code)} ms from the player's`);
      assert.ok(apart(r.clicked, code) <= 1000);
      assert.ok(apart(r.shown, code) <= 1000);
      // As people see it, at desktop and phone sizes (.tmp/shots/).
      await mkdir(SHOTS, { recursive: true });
      for (const [w, h, name] of [[1366, 657, 'desktop'], [390, 844, 'phone']] as const) {
        await setFirefoxViewport(page, w, h);
        await page.screenshot({ path: path.join(SHOTS, `recordings-firefox-${name}.png`) });
      }
    } finally {
      await firefox?.close();
    }
  });

  it('Firefox ESR on a slow link plays from a click into a segment still arriving, from the time clicked (within 1 s)', async (t) => {
    // 200 KB/s: a 4 s segment of the default stream (~1.3 MB) takes ~6 s to arrive. The click asks
    // for 0.4 s before the end of the second segment, which the player has not got when it starts
    // (Firefox starts with about 2 s of it): it must know from the file's header how long the file
    // is, or the seek stops at what has arrived (1.6 s early; or the file ends and the page goes on
    // to the next segment).
    const link = await slowLink(server.httpsPort, 200_000);
    let firefox: FirefoxBrowser | undefined;
    try {
      firefox = await launchFirefox();
      const page = await firefox.newPage();
      await page.goto(server.page(`/recordings?camera=${cameraId}`).replace(`:${server.httpsPort}/`, `:${link.port}/`));
      await page.waitForSelector('.timeline-span', { timeout: 30_000 });
      await page.click('[data-zoom="60000"]');
      const second = listing.segments[1];
      assert.ok(second && second.end - second.start >= 3600, `a second segment of 3.6 s or more: ${JSON.stringify(listing.segments)}`);
      const target = second.end - 400;
      const at = (await page.evaluate(whereOnTimeline(target))) as { x: number; y: number; msPerPx: number };
      await page.evaluate(PAUSE_ON_PLAY);
      await page.mouse.click(at.x, at.y);
      await settled((e) => page.evaluate(e), 30_000);
      // It knew how long the file is from its header, before the part clicked had come.
      const known = Number(await page.evaluate('window.__metaDuration'));
      t.diagnostic(`Firefox on a slow link: the file's length as its header was read: ${known.toFixed(2)} s of ${((second.end - second.start) / 1000).toFixed(2)} s`);
      assert.ok(Math.abs(known - (second.end - second.start) / 1000) < 0.1, `${known} s`);
      const r = (await page.evaluate(READ)) as Read;
      assert.ok(r.code, 'a picture');
      const code = readTimeCode({ data: r.code.data, width: r.code.iw, height: r.code.ih }, r.code.w, r.code.h);
      assert.ok(code !== null, 'the time code is readable');
      t.diagnostic(`Firefox on a slow link: clicked ${r.clicked - second.start} ms into the second segment; the frame is ${apart(r.clicked, code)} ms from the time clicked, ${apart(r.shown, code)} ms from the player's`);
      assert.ok(Math.abs(r.clicked - target) <= 1.5 * at.msPerPx, `clicked ${r.clicked - target} ms from the aim (a pixel is ${at.msPerPx.toFixed(0)} ms)`);
      assert.ok(apart(r.clicked, code) <= 1000);
      assert.ok(apart(r.shown, code) <= 1000);
    } finally {
      await firefox?.close();
      await link.close();
    }
  });

  it('WebKit plays from a click, from the time clicked (within 1 s)', async (t) => {
    let webkit: WebKitBrowser | undefined;
    try {
      webkit = await launchWebKit();
      await webkit.goto(server.page(`/recordings?camera=${cameraId}`));
      await webkit.waitFor(`document.querySelector('.timeline-span') !== null`, 15_000, 'the timeline');
      await webkit.evaluate(`document.querySelector('[data-zoom="60000"]').click()`);
      await webkit.evaluate(PAUSE_ON_PLAY);
      // (A person's click: WebKit lets a page play sound only after one, and a script's click is not.)
      const at = (await webkit.evaluate(whereOnTimeline(middle(listing)))) as { x: number; y: number };
      await webkit.click(at.x, at.y);
      await settled((e) => webkit!.evaluate(e));
      const r = (await webkit.evaluate(READ.replace("if (v.videoWidth > 0)", 'if (false)'))) as Read;
      const started = r.shown - r.currentTime * 1000;
      t.diagnostic(`WebKit: it started playing ${(r.currentTime).toFixed(2)} s into its segment; the player's time is ${r.shown - r.clicked} ms after the click`);
      assert.ok(Math.abs(r.shown - r.clicked) <= 1000, `${r.shown - r.clicked} ms`);
      assert.ok(Number.isFinite(started));
    } finally {
      await webkit?.close();
    }
  });
});
