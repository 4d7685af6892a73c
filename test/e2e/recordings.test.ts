// The Recordings place in Chromium, with the test-pattern camera (its frames carry a time code):
// the camera is recorded; a click on the timeline plays the recording from that time, and the
// frame shown carries that time within a second; 1×-8× and frame steps; a marked range downloads as
// one file that plays. Screenshots at desktop and phone sizes go to .tmp/shots/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, newContext } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { fetchRaw } from '../helpers/http.ts';
import { PAUSE_ON_PLAY, settled } from '../helpers/playback.ts';
import { codeRegion, readTimeCode, TWO32 } from '../../src/client/common/time-code.ts';

const SHOTS = path.resolve('.tmp/shots');

/** The time code on the frame the player shows (ms mod 2^32), or null. */
async function shownCode(page: Page): Promise<number | null> {
  const pixels = await page.evaluate(() => {
    const v = document.getElementById('player') as HTMLVideoElement;
    const c = document.createElement('canvas');
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    const g = c.getContext('2d')!;
    g.drawImage(v, 0, 0);
    const d = g.getImageData(0, 0, c.width, Math.min(c.height, Math.ceil((32 + 3 * 32) * (c.height / 480)) + 2));
    return { w: v.videoWidth, h: v.videoHeight, iw: d.width, ih: d.height, data: Array.from(d.data) };
  });
  if (!pixels.w) return null;
  codeRegion(pixels.w, pixels.h);
  return readTimeCode({ data: pixels.data, width: pixels.iw, height: pixels.ih }, pixels.w, pixels.h);
}

describe('the Recordings place', { timeout: 180_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let recordedFrom = 0;
  let cam: Page;
  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    server = await startTestServer({}, { recording: { all: true }, segmentMs: 4000 });
    browser = await launchChromium();
    cam = await (await newContext(browser, { width: 412, height: 860 })).newPage();
    await cam.goto(server.page('/camera?autostart=1&name=Porch&source=test'));
    await cam.waitForSelector('#rec:not([hidden])', { timeout: 15_000 });
    recordedFrom = Date.now();
    await cam.screenshot({ path: path.join(SHOTS, 'camera-recording.png') });
    // ~12 s of recording, three segments.
    await cam.waitForTimeout(12_000);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('plays from a click on the timeline: the frame shown carries that time (within 1 s)', async (t) => {
    const page = await (await newContext(browser, { width: 1366, height: 657 })).newPage();
    await page.goto(server.page('/recordings?camera=' + encodeURIComponent((server.hub.list()[0]?.id ?? ''))));
    await page.waitForSelector('.timeline-span');
    await page.click('[data-zoom="60000"]');
    // The view is a minute around now: click 6 s after recording began.
    const target = recordedFrom + 6000;
    const box = (await page.locator('#timeline').boundingBox())!;
    const view = await page.evaluate(() => document.getElementById('range-label')!.textContent);
    t.diagnostic(`view: ${view}`);
    const x = await page.evaluate(
      ({ target, width }) => {
        // The same arithmetic as the page: the label's window is not exposed, so ask the timeline's spans.
        const spans = [...document.querySelectorAll<HTMLElement>('.timeline-span')];
        return { spans: spans.map((s) => [s.offsetLeft, s.offsetWidth]), width, target };
      },
      { target, width: box.width },
    );
    t.diagnostic(`spans ${JSON.stringify(x.spans)}`);
    // Click the middle of the recorded span, then read what time that was from the player.
    const [left, width] = x.spans[0] as [number, number];
    await page.evaluate(PAUSE_ON_PLAY);
    const clickedAt = Date.now();
    await page.mouse.click(box.x + left + width / 2, box.y + 20);
    await settled((e) => page.evaluate(e));
    const startedIn = Date.now() - clickedAt;
    t.diagnostic(`playing ${startedIn} ms after the click`);
    assert.ok(startedIn < 1000, `first frame ${startedIn} ms after the click`);
    const shown = Number(await page.getAttribute('#player-time', 'data-time'));
    const clicked = Number(await page.getAttribute('#timeline', 'data-clicked'));
    const code = await shownCode(page);
    assert.ok(code !== null, 'the time code is readable');
    const apart = (a: number): number => Math.abs(((a % TWO32) - code + TWO32 * 1.5) % TWO32 - TWO32 / 2);
    t.diagnostic(`clicked ${new Date(clicked).toISOString()}, the player says ${new Date(shown).toISOString()}, the frame's code is ${apart(clicked)} ms from the click and ${apart(shown)} ms from the player's time`);
    assert.ok(apart(clicked) <= 1000, `the frame shown is ${apart(clicked)} ms from the time clicked`);
    assert.ok(apart(shown) <= 1000, `the frame shown is ${apart(shown)} ms from the time the player shows`);
    await page.screenshot({ path: path.join(SHOTS, 'recordings-desktop.png') });
    // Frame steps and speed.
    const before = await page.evaluate(() => (document.getElementById('player') as HTMLVideoElement).currentTime);
    await page.click('#step-fwd');
    await page.waitForTimeout(200);
    const after = await page.evaluate(() => (document.getElementById('player') as HTMLVideoElement).currentTime);
    assert.ok(after > before && after - before < 0.05, `a step of ${after - before} s`);
    await page.selectOption('#speed', '8');
    assert.equal(await page.evaluate(() => (document.getElementById('player') as HTMLVideoElement).playbackRate), 8);
    // The live grid marks the camera as recorded.
    await page.goto(server.page('/'));
    await page.waitForSelector('.tile .tile-rec:not([hidden])');
    await page.screenshot({ path: path.join(SHOTS, 'viewer-recording.png') });
  });

  it('takes a snapshot from the camera page within a second, keeps the last one for when it is offline, and thumbnails for the timeline', async (t) => {
    const id = server.hub.list()[0]!.id;
    const viewerKey = new URL(server.links[0]!.viewer).searchParams.get('key')!;
    const ask = (key = viewerKey) => fetchRaw(`${server.url}/api/cameras/${id}/snapshot.jpg?key=${key}`);
    const t0 = Date.now();
    const res = await ask();
    const took = Date.now() - t0;
    t.diagnostic(`snapshot in ${took} ms, ${res.bytes.length} bytes`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'image/jpeg');
    assert.equal(res.headers['x-snapshot-live'], '1');
    assert.ok(took < 1000, `${took} ms`);
    assert.deepEqual([...res.bytes.subarray(0, 3)], [0xff, 0xd8, 0xff]);
    assert.ok(Math.abs(Date.parse(String(res.headers['x-snapshot-time'])) - Date.now()) < 2000);
    assert.equal((await ask(new URL(server.links[0]!.camera).searchParams.get('key')!)).status, 403);
    // A thumbnail was taken when recording began.
    const listing = JSON.parse((await fetchRaw(`${server.url}/api/cameras/${id}/recordings?key=${viewerKey}`)).body) as { thumbnails: number[] };
    assert.ok(listing.thumbnails.length >= 1, 'a thumbnail');
    const thumb = await fetchRaw(`${server.url}/api/cameras/${id}/thumbnail?at=${listing.thumbnails[0]}&key=${viewerKey}`);
    assert.equal(thumb.status, 200);
    assert.equal(thumb.headers['content-type'], 'image/jpeg');
  });

  it('downloads a marked range as one file that plays', async () => {
    const page = await (await newContext(browser, { width: 390, height: 844 })).newPage();
    await page.goto(server.page('/recordings'));
    await page.waitForSelector('.timeline-span');
    await page.click('[data-zoom="60000"]');
    const box = (await page.locator('#timeline').boundingBox())!;
    const [left, width] = await page.evaluate(() => {
      const s = document.querySelector<HTMLElement>('.timeline-span')!;
      return [s.offsetLeft, s.offsetWidth];
    });
    await page.mouse.click(box.x + left + 2, box.y + 20);
    await page.waitForFunction(() => !(document.getElementById('player') as HTMLVideoElement).paused);
    await page.click('#mark-start');
    await page.waitForTimeout(3000);
    await page.click('#mark-end');
    const href = await page.getAttribute('#download', 'href');
    assert.match(href ?? '', /\/api\/cameras\/[^/]+\/recording\?start=\d+&end=\d+$/);
    await page.screenshot({ path: path.join(SHOTS, 'recordings-phone.png') });
    // The export plays in a plain <video>.
    const played = await page.evaluate(async (url) => {
      const v = document.createElement('video');
      v.muted = true;
      v.src = url;
      document.body.append(v);
      await v.play();
      await new Promise((r) => setTimeout(r, 1200));
      return { time: v.currentTime, duration: v.duration, width: v.videoWidth };
    }, href!);
    assert.ok(played.time > 0.5 && played.width > 0, JSON.stringify(played));
    assert.ok(played.duration > 2 && played.duration < 6, JSON.stringify(played));
    void width;
  });

  it('answers a snapshot of an offline camera with the last one and its time', async () => {
    const id = server.hub.list()[0]!.id;
    const viewerKey = new URL(server.links[0]!.viewer).searchParams.get('key')!;
    await cam.close();
    for (let i = 0; i < 50 && server.hub.get(id)?.camera.online; i++) await new Promise((r) => setTimeout(r, 100));
    const res = await fetchRaw(`${server.url}/api/cameras/${id}/snapshot.jpg?key=${viewerKey}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-snapshot-live'], '0');
    assert.ok(Date.parse(String(res.headers['x-snapshot-time'])) < Date.now());
    assert.equal((await fetchRaw(`${server.url}/api/cameras/nobody/snapshot.jpg?key=${viewerKey}`)).status, 404);
    // After a restart nothing is in memory: the latest thumbnail of its recordings stands in.
    await server.close();
    server = await startTestServer({}, { recording: { all: true }, dataDir: server.dataDir });
    const again = await fetchRaw(`${server.url}/api/cameras/${id}/snapshot.jpg?key=${new URL(server.links[0]!.viewer).searchParams.get('key')!}`);
    assert.equal(again.status, 200, again.body);
    assert.equal(again.headers['x-snapshot-live'], '0');
    assert.deepEqual([...again.bytes.subarray(0, 3)], [0xff, 0xd8, 0xff]);
  });
});
