// A viewer page in real Firefox ESR (puppeteer-core over WebDriver BiDi) watching a camera page in
// real Chromium, with the real server in-process. Firefox has WebCodecs decoders, so it plays every
// camera's chunks on a canvas, a MediaRecorder camera's too (its WebM read into frames by the
// server). Forced to MSE (`?decoder=mse`) it plays the WebM the server muxes from a VP8 camera:
// Firefox's MSE keeps only a frame or two after each keyframe of a stream whose Clusters start
// before the end of the media it parsed last, unless the player regroups the Clusters
// (src/media/webm/cluster-regrouper.ts). This checks that frames advance smoothly in all three.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page as FirefoxPage } from 'puppeteer-core';
import type { Browser } from 'playwright-core';
import { countFrames, framesDuring, newContext } from '../helpers/browser.ts';
import { launchFirefoxAndChromium, type FirefoxBrowser } from '../helpers/firefox.ts';
import { startTestServer } from '../helpers/server.ts';

const NAME = 'Chromium Cam';
/** Frames the Firefox viewer must present in COUNT_MS (the fake camera gives 30 fps). */
const COUNT_MS = 3000;
const MIN_FPS = 15;

const BUFFERED = `(() => {
  const v = document.querySelector('.tile video');
  const r = [];
  for (let i = 0; i < v.buffered.length; i++) r.push(v.buffered.start(i).toFixed(2) + '-' + v.buffered.end(i).toFixed(2));
  return r.join(', ');
})()`;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('a Chromium camera watched from Firefox ESR', { timeout: 60_000 }, () => {
  let server: Awaited<ReturnType<typeof startTestServer>> | undefined;
  let firefox: FirefoxBrowser | undefined;
  let chromium: Browser | undefined;

  before(async () => {
    server = await startTestServer();
    ({ firefox, chromium } = await launchFirefoxAndChromium());
  });

  after(async () => {
    const results = await Promise.allSettled([firefox?.close(), chromium?.close()]);
    await server?.stop();
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  });

  const cases = [
    { transport: 'mediarecorder', decoder: '', format: 'chunks' },
    // (VP8 asked for: the server muxes WebM, which Firefox's MSE plays after regrouping.)
    { transport: 'mediarecorder', decoder: '&decoder=mse', format: 'webm' },
    { transport: 'webcodecs', decoder: '', format: 'chunks' },
  ] as const;
  for (const { transport, decoder, format } of cases) {
    it(`the Firefox viewer shows frames advancing smoothly (${transport} camera, ${format})`, async (t) => {
      const name = `${NAME} ${transport}${decoder ? ' mse' : ''}`;
      const camera = await (await newContext(chromium!)).newPage();
      t.after(() => camera.context().close());
      await camera.goto(server!.page(`/camera?autostart=1&name=${encodeURIComponent(name)}&resolution=480&transport=${transport}${format === 'webm' ? '&codec=vp8' : ''}`));
      await camera.waitForSelector('body[data-state="live"]', { timeout: 15_000 });

      const viewer: FirefoxPage = await firefox!.newPage();
      t.after(() => viewer.close());
      const log: string[] = [];
      viewer.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
      viewer.on('pageerror', (e) => log.push(`pageerror: ${String(e)}`));
      await viewer.goto(server!.page(`/?camera=${encodeURIComponent(name)}${decoder}`));
      try {
        await viewer.waitForSelector(`.tile[data-playing][data-format="${format}"]`, { timeout: 15_000 });
      } catch (err) {
        throw new Error(`the Firefox viewer shows no picture; console: ${log.join(' | ')}`, { cause: err });
      }
      await countFrames(viewer);
      await sleep(1500); // past the first keyframe group and the catch-up to the live edge
      const shown = await framesDuring(viewer, COUNT_MS);
      const fps = (shown * 1000) / COUNT_MS;
      const buffered = format === 'webm' ? String(await viewer.evaluate(BUFFERED)) : '(canvas)';
      t.diagnostic(`Firefox viewer, ${transport} camera: ${fps.toFixed(1)} fps over ${COUNT_MS} ms; buffered ${buffered}`);
      assert.ok(fps >= MIN_FPS, `Firefox viewer shows ${fps.toFixed(1)} fps (want ≥ ${MIN_FPS}); buffered ${buffered}; console: ${log.join(' | ')}`);
    });
  }
});
