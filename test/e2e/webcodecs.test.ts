// Both transports end to end in real Chromium, the server in this process: a WebCodecs camera
// (Chromium's default) to a viewer that decodes its chunks (video frames advance on the canvas,
// the fake microphone's beep is decoded and played, not silent); a camera forced to MediaRecorder;
// and a viewer without WebCodecs, which gets a stream the server muxes while the camera keeps its one encoder.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { countFrames, framesDuring, framesInWindows, launchChromium, newContext } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** "Frames advance": at least this many drawn in 2 s (the fake camera sends 30 fps). */
const MIN_FRAMES_2S = 20;
/** Decoded audio louder than this (RMS, 0..1) is not silence; the fake microphone beeps. */
const MIN_LEVEL = 0.001;

const cameraLink = (name: string, extra = ''): string => `/camera?autostart=1&name=${encodeURIComponent(name)}&resolution=480${extra}`;
const tileData = (page: Page): Promise<Record<string, string>> => page.evaluate(`({ ...(document.querySelector('.tile')?.dataset ?? {}) })`) as Promise<Record<string, string>>;
// (The grid: the solo view, ?camera=, has no buttons.)
const statsData = (page: Page): Promise<Record<string, string>> => page.evaluate(`({ ...document.getElementById('stats').dataset })`) as Promise<Record<string, string>>;

describe('two transports in Chromium: WebCodecs and MediaRecorder', { timeout: 120_000 }, () => {
  let server: TestServer;
  let cameraBrowser: Browser;
  let viewerBrowser: Browser;
  const contexts: BrowserContext[] = [];
  let webcodecsCamera: Page;

  async function page(browser: Browser, init?: string): Promise<Page> {
    const context = await newContext(browser);
    contexts.push(context);
    if (init) await context.addInitScript(init);
    return context.newPage();
  }

  before(async () => {
    server = await startTestServer();
    [cameraBrowser, viewerBrowser] = await Promise.all([launchChromium(), launchChromium()]);
    webcodecsCamera = await page(cameraBrowser);
    await webcodecsCamera.goto(server.page(cameraLink('WebCodecs Cam')));
    await webcodecsCamera.waitForSelector('#stats[data-transport="webcodecs"]', { timeout: 15_000 });
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await Promise.all([cameraBrowser?.close(), viewerBrowser?.close()]);
    await server?.stop();
  });

  it('WebCodecs camera → viewer: frames advance on the canvas, and the microphone is decoded and heard', async (t) => {
    assert.match((await webcodecsCamera.textContent('#stat-transport')) ?? '', /^WebCodecs (H\.264|VP8) \+ Opus$/);
    // Nobody watches yet: the camera encodes nothing.
    await webcodecsCamera.waitForSelector('#stats[data-idle="1"]', { timeout: 5000 });
    assert.equal(await webcodecsCamera.textContent('#stat-state'), 'idle');
    const viewer = await page(viewerBrowser);
    await viewer.goto(server.page('/'));
    await viewer.waitForSelector('.tile[data-playing][data-format="chunks"]', { timeout: 15_000 });
    assert.equal(await viewer.locator('.tile').count(), 1, 'the only camera so far');
    assert.ok(await viewer.isVisible('.tile canvas'));
    assert.ok(await viewer.isHidden('.tile video'));
    await countFrames(viewer);
    const drawn = await framesDuring(viewer, 2000);
    t.diagnostic(`frames drawn in 2 s: ${drawn}; first frame ${(await tileData(viewer)).firstFrameMs} ms after navigation (the camera was idle until then)`);
    assert.equal((await statsData(webcodecsCamera)).idle, '0', 'the camera encodes while someone watches');
    assert.ok(drawn >= MIN_FRAMES_2S, `${drawn} frames drawn in 2 s`);

    // Sound on (a click, as a person would): decoded Opus goes through the jitter buffer to the speakers.
    await viewer.click('.tile-sound');
    assert.equal(await viewer.getAttribute('.tile-sound', 'aria-pressed'), 'true');
    let loudest = 0;
    let data: Record<string, string> = {};
    // The level covers the last ~250 ms and the fake microphone beeps now and then: look often.
    for (let i = 0; i < 40; i++) {
      await viewer.waitForTimeout(100);
      data = await tileData(viewer);
      loudest = Math.max(loudest, Number(data.audioLevel ?? 0));
    }
    t.diagnostic(`audio: decoded ${data.audioDecoded} chunks, audible ${data.audioAudible}, loudest ${loudest}, buffer ${data.audioBufferMs} ms, underruns ${data.audioUnderruns}`);
    assert.equal(data.audioAudible, '1', 'the audio is playing');
    assert.ok(Number(data.audioDecoded) >= 100, `${data.audioDecoded} audio chunks decoded in 4 s (20 ms each)`);
    assert.ok(loudest > MIN_LEVEL, `the played audio is not silent (loudest ${loudest})`);
    assert.ok(Number(data.audioBufferMs) < 200, `the jitter buffer stays small (${data.audioBufferMs} ms)`);
  });

  it('a camera forced to MediaRecorder plays on the canvas (its WebM read into chunks), and through MSE where WebCodecs is missing', async (t) => {
    const camera = await page(cameraBrowser);
    await camera.goto(server.page(cameraLink('Recorder Cam', '&transport=mediarecorder')));
    await camera.waitForSelector('#stats[data-transport="mediarecorder"]', { timeout: 15_000 });
    // Picture and sound in two recorders (H.264 in Matroska where Chromium offers it, else VP8).
    assert.match((await camera.textContent('#stat-transport')) ?? '', /^MediaRecorder (H\.264|VP8) \+ Opus$/);
    const viewer = await page(viewerBrowser);
    await viewer.goto(server.page(`/?camera=${encodeURIComponent('Recorder Cam')}`));
    await viewer.waitForSelector('.tile[data-playing][data-format="chunks"]', { timeout: 15_000 });
    await countFrames(viewer);
    await viewer.waitForTimeout(1000); // past the first frames' catch-up (paced: a MediaRecorder's frames come in bursts)
    const shown = await framesDuring(viewer, 2000);
    t.diagnostic(`WebCodecs viewer of a MediaRecorder camera: ${shown} frames drawn in 2 s`);
    assert.ok(shown >= MIN_FRAMES_2S, `${shown} frames drawn in 2 s`);
    await viewer.close();
    const plain = await page(viewerBrowser, 'delete window.VideoDecoder; delete window.AudioDecoder;');
    await plain.goto(server.page(`/?camera=${encodeURIComponent('Recorder Cam')}`));
    // (Fragmented MP4 for H.264, WebM for VP8: muxed by the server.)
    await plain.waitForSelector('.tile[data-playing][data-format="mp4"], .tile[data-playing][data-format="webm"]', { timeout: 15_000 });
    await countFrames(plain);
    await plain.waitForTimeout(1000); // past the seek to the live edge
    // Up to three 2-s windows: Chromium's MSE now and then drops an fMP4 stream's picture up to the
    // next keyframe (a second away here; see docs/latency.md, "MSE frame rate").
    const windows = await framesInWindows(plain, MIN_FRAMES_2S);
    t.diagnostic(`viewer without WebCodecs: ${windows.join(', then ')} frames shown in 2 s`);
    assert.ok(windows.some((n) => n >= MIN_FRAMES_2S), `frames shown per 2 s: ${windows.join(', ')}`);
    await plain.close();
    await camera.close();
  });

  it('a viewer without WebCodecs gets the camera’s stream muxed by the server, and the camera never encodes twice', async (t) => {
    assert.equal((await statsData(webcodecsCamera)).encoders, '1', 'one encoder');
    // A browser without WebCodecs decoders (as Safari before 16.4, or one that refuses them).
    const viewer = await page(viewerBrowser, 'delete window.VideoDecoder; delete window.AudioDecoder;');
    await viewer.goto(server.page(`/?camera=${encodeURIComponent('WebCodecs Cam')}`));
    // H.264 from WebCodecs, muxed by the server into fragmented MP4 for MSE.
    await viewer.waitForSelector('.tile[data-playing][data-format="mp4"]', { timeout: 15_000 });
    await countFrames(viewer);
    await viewer.waitForTimeout(1000); // past the seek to the live edge
    // Up to three 2-s windows, as for the MediaRecorder camera above (Chromium's MSE now and then
    // drops an fMP4 stream's picture up to the next keyframe, 2 s away here).
    const windows = await framesInWindows(viewer, MIN_FRAMES_2S);
    t.diagnostic(`viewer without WebCodecs: ${windows.join(', then ')} frames shown in 2 s`);
    assert.ok(windows.some((n) => n >= MIN_FRAMES_2S), `frames shown per 2 s: ${windows.join(', ')}`);
    assert.equal((await statsData(webcodecsCamera)).encoders, '1', 'the camera still runs one encoder');
    await viewer.close();
  });

  it('a camera page older than the server (another protocol version) reloads itself and goes live', async () => {
    // Its first hello speaks protocol 3, as a tab left open across a server update would; the
    // pages loaded after that one count themselves.
    const camera = await page(
      cameraBrowser,
      `(() => {
        if (sessionStorage.getItem('test:downgraded')) {
          sessionStorage.setItem('test:after', String(Number(sessionStorage.getItem('test:after') ?? 0) + 1));
          return;
        }
        const send = WebSocket.prototype.send;
        WebSocket.prototype.send = function (data) {
          if (typeof data === 'string' && data.includes('"hello"') && !sessionStorage.getItem('test:downgraded')) {
            sessionStorage.setItem('test:downgraded', '1');
            data = data.replace(/"protocol":\\d+/, '"protocol":3');
          }
          return send.call(this, data);
        };
      })()`,
    );
    await camera.goto(server.page(cameraLink('Old Tab', '&audio=0')));
    await camera.waitForFunction(() => Number(sessionStorage.getItem('test:after') ?? 0) >= 1, undefined, { timeout: 10_000 });
    await camera.waitForSelector('body[data-state="live"]', { timeout: 15_000 });
    await camera.close();
  });
});
