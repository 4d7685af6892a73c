// The camera page in real Firefox ESR on its default transport, WebCodecs (Firefox has VideoEncoder
// and AudioEncoder but no MediaStreamTrackProcessor: frames are read from a <video> and sound
// through an AudioWorklet), filming the test pattern with its tone, watched by a viewer in real
// Chromium: frames advance on the canvas, the tone is decoded and heard, the latency the overlay
// estimates from Firefox's capture times agrees with the one read from the frames, and it is low
// (the camera leaves Firefox's H.264 encoder, which holds frames far too long, for VP8).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page as FirefoxPage } from 'puppeteer-core';
import type { Browser } from 'playwright-core';
import { countFrames, framesDuring, newContext } from '../helpers/browser.ts';
import { launchFirefoxAndChromium, type FirefoxBrowser } from '../helpers/firefox.ts';
import { startTestServer } from '../helpers/server.ts';

const NAME = 'Firefox WebCodecs';
const MIN_FRAMES_2S = 20;
/** The test pattern's tone has an RMS level of about 0.035. */
const MIN_LEVEL = 0.005;
/** Latency read from the pattern, median, at most (loopback; Firefox's slow H.264 encoder would give ~1700). */
const MAX_LATENCY_MS = 500;
/** |estimate − measured| median, ms (as in latency-meter.test.ts). */
const AGREE_MS = 50;

describe('a Firefox ESR camera on WebCodecs, watched from Chromium', { timeout: 60_000 }, () => {
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

  it('streams WebCodecs chunks that a Chromium viewer draws and plays, with capture times that agree with the pattern', async (t) => {
    const camera: FirefoxPage = await firefox!.newPage();
    const log: string[] = [];
    camera.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
    camera.on('pageerror', (e) => log.push(`pageerror: ${String(e)}`));
    await camera.goto(server!.page(`/camera?autostart=1&source=test&audio=1&name=${encodeURIComponent(NAME)}&resolution=480`));
    try {
      await camera.waitForSelector('#stats[data-transport="webcodecs"]', { timeout: 15_000 });
    } catch (err) {
      throw new Error(`the Firefox camera does not stream WebCodecs; console: ${log.join(' | ')}`, { cause: err });
    }
    const transport = await camera.$eval('#stat-transport', (e) => e.textContent);
    t.diagnostic(`Firefox camera: ${transport}`);
    assert.match(transport ?? '', /^WebCodecs (H\.264|VP8) \+ Opus$/);

    const viewer = await (await newContext(chromium!)).newPage();
    await viewer.goto(server!.page('/?meter=1'));
    await viewer.waitForSelector('.tile[data-playing][data-format="chunks"]', { timeout: 15_000 });
    await countFrames(viewer);
    const drawn = await framesDuring(viewer, 2000);
    t.diagnostic(`Chromium viewer: ${drawn} frames drawn in 2 s`);
    assert.ok(drawn >= MIN_FRAMES_2S, `${drawn} frames drawn in 2 s`);

    await viewer.click('.tile-sound');
    const samples: { level: number; decoded: number; audible: string; estimate: number | null; measured: number | null }[] = [];
    for (let i = 0; i < 8; i++) {
      await viewer.waitForTimeout(500);
      samples.push(
        (await viewer.evaluate(`(() => {
          const d = document.querySelector('.tile').dataset;
          const num = (v) => (v === undefined ? null : Number(v));
          return { level: Number(d.audioLevel || 0), decoded: Number(d.audioDecoded || 0), audible: d.audioAudible, estimate: num(d.latencyEstimateMs), measured: num(d.latencyMeasuredMs) };
        })()`)) as (typeof samples)[number],
      );
    }
    const last = samples.at(-1)!;
    const loudest = Math.max(...samples.map((s) => s.level));
    const diffs = samples.flatMap((s) => (s.estimate !== null && s.measured !== null ? [s.estimate - s.measured] : [])).sort((a, b) => a - b);
    const median = diffs[Math.floor(diffs.length / 2)];
    t.diagnostic(`audio: ${last.decoded} chunks decoded, audible ${last.audible}, loudest ${loudest}`);
    t.diagnostic(`latency: estimate/measured ${samples.map((s) => `${s.estimate ?? '-'}/${s.measured ?? '-'}`).join(' ')}`);
    assert.equal(last.audible, '1');
    assert.ok(last.decoded >= 50, `${last.decoded} audio chunks decoded`);
    assert.ok(loudest > MIN_LEVEL, `the tone is heard (loudest ${loudest})`);
    assert.ok(diffs.length >= 4 && median !== undefined && Math.abs(median) < AGREE_MS, `estimate − measured: ${diffs.join(', ')}`);
    // Firefox's H.264 encoder holds ~1.7 s of frames: the camera notices and switches to VP8.
    const measured = samples.flatMap((s) => (s.measured !== null ? [s.measured] : [])).sort((a, b) => a - b);
    assert.ok((measured[measured.length >> 1] ?? Infinity) < MAX_LATENCY_MS, `latency read from the pattern: ${measured.join(', ')} ms`);
    await viewer.context().close();
    await camera.close();
  });
});
