// The latency meter end to end in real Chromium: a camera page filming the test pattern (frames
// carry their paint time as a block code) in one browser, a viewer with the Latency overlay in
// another, the server in this process. Checks that the overlay's estimate (from capture times)
// agrees with the latency read from the shown frames, that the Latency button toggles and
// remembers, that the camera shows its send backlog, and that the player's watchdog gets back to
// live after the viewer's main thread stalled.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, newContext } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const NAME = 'Meter Cam';
// (The MediaRecorder camera records VP8, so that its viewer's MSE plays the server's WebM: the
// stream this test's watchdog figures were made for; H.264 from MediaRecorder goes as fMP4.)
const cameraPath = (transport: Transport): string => `/camera?source=test&autostart=1&name=${encodeURIComponent(NAME)}&resolution=480&audio=0&transport=${transport}${transport === 'mediarecorder' ? '&codec=vp8' : ''}`;
type Transport = 'mediarecorder' | 'webcodecs';
const VIEWER_PATH = `/?camera=${encodeURIComponent(NAME)}`;
/** Poll spacing for the overlay's figures (it renders every 250 ms). */
const POLL_MS = 250;
/** How far off the clock sync may leave a single reading, ms (loopback). */
const CLOCK_SYNC_ERROR_MS = 10;
/**
 * Plausible glass-to-glass latency on loopback, ms (both figures' medians). The WebCodecs path can
 * be under 10 ms here, and the estimate rests on two clock syncs (camera and viewer, each a few ms
 * off): its median may then read a little below 0.
 */
const PLAUSIBLE = { min: -CLOCK_SYNC_ERROR_MS, max: 1500 };
/**
 * |median(estimate − measured)| must stay below this, ms. Every chunk carries when the stream's
 * media time 0 was captured (the recorder's start, moved on by pauses), so the estimate for a frame
 * is off only by how long after the start the first frame was captured (under one frame, 33 ms)
 * plus the jitter of the two medians.
 */
const AGREE_MS = 50;
/** The watchdog test: how long the viewer's main thread is blocked, and how close to before it must get back. */
const BLOCK_MS = 2000;
const RECOVER_MS = 3000;
const RECOVER_WITHIN_MS = 100;

/** The overlay's figures on the (only) tile, as the page shows them. */
interface Figures {
  estimate: number | null;
  measured: number | null;
  lead: number | null;
  text: string | null;
  meterHidden: boolean | null;
  pressed: string | null;
}

/** One poll: figures and when (ms, Node's clock). */
interface Sample extends Figures {
  at: number;
}

// Strings, not functions: the test runner's transpiler would add helpers the page lacks.
const READ_FIGURES = `(() => {
  const tile = document.querySelector('.tile');
  const num = (v) => (v === undefined ? null : Number(v));
  const meter = tile ? tile.querySelector('.tile-meter') : null;
  const button = document.getElementById('meter');
  return {
    estimate: tile ? num(tile.dataset.latencyEstimateMs) : null,
    measured: tile ? num(tile.dataset.latencyMeasuredMs) : null,
    lead: tile ? num(tile.dataset.leadMs) : null,
    text: meter ? meter.textContent : null,
    meterHidden: meter ? meter.hidden : null,
    pressed: button ? button.getAttribute('aria-pressed') : null,
  };
})()`;
const BLOCK_MAIN_THREAD = `(() => { const e = performance.now() + ${BLOCK_MS}; while (performance.now() < e) {} })()`;
const BOTH_FIGURES = '.tile[data-latency-estimate-ms][data-latency-measured-ms]';

async function figures(page: Page): Promise<Figures> {
  return (await page.evaluate(READ_FIGURES)) as Figures;
}

/** Polls the figures every POLL_MS for `ms`. */
async function collect(page: Page, ms: number): Promise<Sample[]> {
  const out: Sample[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const at = Date.now();
    out.push({ at, ...(await figures(page)) });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, at + POLL_MS - Date.now())));
  }
  return out;
}

function median(values: number[]): number {
  assert.ok(values.length > 0, 'median of nothing');
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function numbers(values: (number | null)[]): number[] {
  return values.filter((v): v is number => v !== null && Number.isFinite(v));
}

function range(values: number[]): string {
  return values.length === 0 ? 'none' : `${Math.min(...values)}..${Math.max(...values)}`;
}

// Both players: MSE (a MediaRecorder camera's stream muxed by the server, for a viewer forced to
// MSE with ?decoder=mse) and WebCodecs (canvas). The button and the camera's backlog are the same
// code whichever the transport: tested once.
for (const transport of ['mediarecorder', 'webcodecs'] as const) describe(`latency meter in Chromium (test pattern camera → viewer overlay), ${transport}`, { timeout: 120_000 }, () => {
  /** The MediaRecorder camera is watched through MSE, the WebCodecs one on the canvas. */
  const viewerPath = (path: string): string => (transport === 'mediarecorder' ? `${path}${path.includes('?') ? '&' : '?'}decoder=mse` : path);
  let server: TestServer;
  let cameraBrowser: Browser;
  let viewerBrowser: Browser;
  let camera: Page;
  let viewer: Page;
  const viewerConsole: string[] = [];

  before(async () => {
    server = await startTestServer();
    [cameraBrowser, viewerBrowser] = await Promise.all([launchChromium(), launchChromium()]);
    camera = await (await newContext(cameraBrowser, { width: 800, height: 700 })).newPage();
    await camera.goto(server.page(cameraPath(transport)));
    await camera.waitForSelector('body[data-state="live"]', { timeout: 15_000 });
    viewer = await (await newContext(viewerBrowser)).newPage();
    viewer.on('console', (m) => {
      if (m.type() === 'warning' || m.type() === 'error') viewerConsole.push(`${m.type()}: ${m.text()}`);
    });
  });
  after(async () => {
    await Promise.all([cameraBrowser?.close(), viewerBrowser?.close()]);
    await server?.stop();
  });

  it('shows an estimate that agrees with the latency read from the test pattern', async (t) => {
    const opened = Date.now();
    await viewer.goto(server.page(viewerPath(`${VIEWER_PATH}&meter=1`)));
    await viewer.waitForSelector(BOTH_FIGURES, { timeout: 15_000 });
    t.diagnostic(`both figures shown ${Date.now() - opened} ms after opening the viewer`);
    assert.equal(await viewer.getAttribute('#meter', 'aria-pressed'), 'true');
    assert.ok(await viewer.isVisible('.tile .tile-meter'));

    // The first second shows the start-up (the player joins at a keyframe up to a second old, then catches up).
    const warmup = await collect(viewer, 1500);
    t.diagnostic(`first 1.5 s (measured/estimate): ${warmup.map((s) => `${s.measured ?? '-'}/${s.estimate ?? '-'}`).join(' ')}`);
    const samples = await collect(viewer, 5000);
    const measured = numbers(samples.map((s) => s.measured));
    const estimate = numbers(samples.map((s) => s.estimate));
    const diffs = numbers(samples.map((s) => (s.measured !== null && s.estimate !== null ? s.estimate - s.measured : null)));
    const leads = numbers(samples.map((s) => s.lead));
    t.diagnostic(`${samples.length} polls: measured median ${median(measured)} ms (${range(measured)}), estimate median ${median(estimate)} ms (${range(estimate)})`);
    t.diagnostic(`estimate − measured: median ${median(diffs)} ms (${range(diffs)}); player buffer median ${leads.length ? median(leads) : '-'} ms (${range(leads)})`);
    t.diagnostic(`overlay text: "${(samples.at(-1)?.text ?? '').replace(/\n/g, ' | ')}"`);

    // Nearly every poll shows both figures (the measured one goes stale only if codes stop being read).
    assert.ok(measured.length >= samples.length * 0.8, `measured latency shown in ${measured.length} of ${samples.length} polls`);
    assert.ok(estimate.length >= samples.length * 0.8, `estimate shown in ${estimate.length} of ${samples.length} polls`);
    for (const [what, values] of [['measured', measured], ['estimate', estimate]] as const) {
      const m = median(values);
      assert.ok(m >= PLAUSIBLE.min && m <= PLAUSIBLE.max, `${what} latency median ${m} ms is not plausible`);
      // (Both rest on the clock sync, good to a few ms on loopback: at ~17 ms glass to glass a poll
      // may read a little below 0.)
      assert.ok(Math.min(...values) > -CLOCK_SYNC_ERROR_MS && Math.max(...values) <= 5000, `${what} latency out of range: ${range(values)}`);
    }
    const d = median(diffs);
    assert.ok(Math.abs(d) < AGREE_MS, `estimate − measured: median ${d} ms (estimate ${median(estimate)} ms, measured ${median(measured)} ms)`);

    const text = samples.at(-1)?.text ?? '';
    assert.match(text, /test pattern: \d+ ms/);
    assert.match(text, /latency ≈ \d+ ms/);
    if (transport === 'mediarecorder') assert.match(text, /buffer \d+ ms/);
    else assert.equal(await viewer.getAttribute('.tile', 'data-format'), 'chunks');
  });

  it('the estimate still agrees after the camera was paused and resumed', async (t) => {
    await viewer.goto(server.page(viewerPath('/?meter=1')));
    await viewer.waitForSelector(BOTH_FIGURES, { timeout: 15_000 });
    await viewer.click('.tile-toggle');
    await viewer.waitForSelector('.tile[data-state="paused"]', { timeout: 5000 });
    await viewer.waitForTimeout(2000);
    await viewer.click('.tile-toggle');
    await viewer.waitForSelector('.tile[data-state="live"]', { timeout: 5000 });
    await viewer.waitForTimeout(3000);
    const samples = await collect(viewer, 3000);
    const diffs = numbers(samples.map((s) => (s.measured !== null && s.estimate !== null ? s.estimate - s.measured : null)));
    t.diagnostic(`after a 2 s pause: estimate − measured median ${median(diffs)} ms (${range(diffs)}), measured ${median(numbers(samples.map((s) => s.measured)))} ms`);
    assert.ok(diffs.length >= 5, 'both figures shown after the resume');
    assert.ok(Math.abs(median(diffs)) < AGREE_MS, `estimate − measured after a pause: median ${median(diffs)} ms`);
  });

  if (transport === 'mediarecorder') it('the camera page shows its send backlog', async (t) => {
    const samples: { ms: number; text: string }[] = [];
    for (let i = 0; i < 8; i++) {
      const [attr, text] = await Promise.all([camera.getAttribute('#stats', 'data-backlog-ms'), camera.textContent('#stat-backlog')]);
      assert.notEqual(attr, null, '#stats has data-backlog-ms');
      assert.match(attr!, /^\d+$/);
      assert.match(text ?? '', /^backlog \d+ ms$/);
      samples.push({ ms: Number(attr), text: text! });
      await camera.waitForTimeout(POLL_MS);
    }
    const ms = samples.map((s) => s.ms);
    t.diagnostic(`camera backlog over 2 s: median ${median(ms)} ms (${range(ms)}); text e.g. "${samples.at(-1)!.text}"`);
    // Folded under "Details" (plain words first), one tap away.
    assert.equal(await camera.isVisible('#stat-backlog'), false);
    await camera.click('#stats summary');
    assert.ok(await camera.isVisible('#stat-backlog'));
    assert.ok(median(ms) < 500, `backlog on loopback: ${ms.join(', ')} ms`);
    assert.ok(Math.max(...ms) < 1000, `backlog on loopback: ${ms.join(', ')} ms`);
  });

  it('the watchdog gets back to live within 3 s after the viewer stalled for 2 s', async (t) => {
    // (A MediaRecorder stream's block is meant to leave a backlog behind for the watchdog; the
    // server may instead drop what waited for the stalled viewer (its queue's age limit), which
    // is as good for the viewer but leaves the watchdog nothing to do: it is blocked once more.
    // Either way the viewer must be back at its latency within 3 s.)
    const first = await watchdogAfterBlock(t, false);
    if (first === 'done') return;
    t.diagnostic(`${first}: blocking once more`);
    const second = await watchdogAfterBlock(t, true);
    if (second !== 'done') t.diagnostic(`${second} again: the server dropped what waited instead; the viewer was back at its latency both times`);
  });

  /** Blocks the viewer for 2 s and checks it gets back to live; returns 'done', or why the block set nothing back (a MediaRecorder stream). */
  async function watchdogAfterBlock(t: { diagnostic(m: string): void }, last: boolean): Promise<string> {
    const pre = await collect(viewer, 1500);
    const preMeasured = numbers(pre.map((s) => s.measured));
    const preEstimate = numbers(pre.map((s) => s.estimate));
    assert.ok(preMeasured.length >= 3, `measured latency before the block: ${preMeasured.join(', ')}`);
    const before = median(preMeasured);

    const consoleBefore = viewerConsole.length;
    await viewer.evaluate(BLOCK_MAIN_THREAD);
    const unblocked = Date.now();
    const rel = (await collect(viewer, RECOVER_MS + POLL_MS)).map((s) => ({ ...s, since: s.at - unblocked }));
    // The 1-s window ending 3 s after the block ended.
    const inWindow = rel.filter((s) => s.since >= RECOVER_MS - 1000 && s.since <= RECOVER_MS);
    const recovered = numbers(inWindow.map((s) => s.measured));
    const recoveredEstimate = numbers(inWindow.map((s) => s.estimate));
    const peak = Math.max(...numbers(rel.map((s) => s.measured)));
    // (Right after the block the overlay still shows the figures from before it: look after the peak.)
    const peakAt = rel.findIndex((s) => s.measured === peak);
    const backAt = rel.slice(peakAt).find((s) => s.measured !== null && s.measured < before + RECOVER_WITHIN_MS)?.since;
    t.diagnostic(`before the block: measured median ${before} ms (${range(preMeasured)}), estimate median ${preEstimate.length ? median(preEstimate) : 'none'} ms`);
    t.diagnostic(`after the block (ms since it ended: measured/estimate/buffer): ${rel.map((s) => `${s.since}:${s.measured ?? '-'}/${s.estimate ?? '-'}/${s.lead ?? '-'}`).join(' ')}`);
    t.diagnostic(
      `peak measured ${peak} ms; back below before + ${RECOVER_WITHIN_MS} ms at ${backAt ?? 'never'} ms; ` +
        `window 2–3 s: measured median ${recovered.length ? median(recovered) : 'none'} ms (${range(recovered)}), estimate median ${recoveredEstimate.length ? median(recoveredEstimate) : 'none'} ms`,
    );
    const said = viewerConsole.slice(consoleBefore);
    if (said.length > 0) t.diagnostic(`viewer console: ${said.join(' | ')}`);

    if (transport === 'mediarecorder') {
      // The media that piled up during the block reaches the buffer (more than a second of it);
      // the player may show some of it (the peak) or wait until it is in and jump over it.
      const maxLead = Math.max(...numbers(rel.map((s) => s.lead)));
      const setBack = peak > before + 1000 || maxLead > 1000;
      if (!setBack && !last) return `the block did not set the viewer back (peak ${peak} ms, ${before} ms before; buffer at most ${maxLead} ms)`;
    }
    else {
      // The WebCodecs player never shows what arrived late: it drops it and asks for a keyframe.
      const dropped = Number(await viewer.getAttribute('.tile', 'data-frames-dropped'));
      t.diagnostic(`video chunks dropped after the block: ${dropped}`);
      assert.ok(dropped > 0, 'the player dropped the chunks that arrived late');
      assert.ok(peak < before + 500, `no stale picture was shown (peak ${peak} ms, ${before} ms before)`);
    }
    assert.ok(recovered.length >= 2, `measured latency shown in the window 2–3 s after the block: ${recovered.join(', ')}`);
    assert.ok(Math.abs(median(recovered) - before) < RECOVER_WITHIN_MS, `measured latency ${median(recovered)} ms in the window 2–3 s after the block, ${before} ms before it`);
    if (transport === 'mediarecorder' && !(peak > before + 1000 || Math.max(...numbers(rel.map((s) => s.lead))) > 1000)) return `the block did not set the viewer back (peak ${peak} ms, ${before} ms before)`;
    return 'done';
  }


  if (transport === 'mediarecorder') it('the Latency button toggles the overlay, and the choice survives a reload', async () => {
    // The grid view: the solo view (?camera=) hides the bar the button is in.
    const attrs = (): Promise<boolean[]> =>
      Promise.all(['data-latency-estimate-ms', 'data-latency-measured-ms', 'data-lead-ms'].map(async (a) => (await viewer.getAttribute('.tile', a)) !== null));

    await viewer.goto(server.page(viewerPath('/?meter=1')));
    await viewer.waitForSelector(BOTH_FIGURES, { timeout: 15_000 });
    assert.equal(await viewer.getAttribute('#meter', 'aria-pressed'), 'true');
    assert.ok(await viewer.isVisible('.tile .tile-meter'));
    await viewer.click('#meter');
    assert.equal(await viewer.getAttribute('#meter', 'aria-pressed'), 'false');
    assert.ok(await viewer.isHidden('.tile .tile-meter'), 'the overlay is hidden');
    assert.deepEqual(await attrs(), [false, false, false], 'no latency attributes while off');
    // And they stay away: the meter no longer runs.
    await viewer.waitForTimeout(600);
    assert.deepEqual(await attrs(), [false, false, false], 'no latency attributes 600 ms after switching off');

    await viewer.click('#meter');
    assert.equal(await viewer.getAttribute('#meter', 'aria-pressed'), 'true');
    assert.ok(await viewer.isVisible('.tile .tile-meter'), 'the overlay is back');
    await viewer.waitForSelector(BOTH_FIGURES, { timeout: 5000 });
    assert.match((await viewer.textContent('.tile .tile-meter')) ?? '', /test pattern: \d+ ms/);

    // Off, then a visit with no ?meter: still off (localStorage).
    await viewer.click('#meter');
    await viewer.goto(server.page(viewerPath('/')));
    await viewer.waitForSelector('.tile[data-playing]', { timeout: 15_000 });
    assert.equal(await viewer.getAttribute('#meter', 'aria-pressed'), 'false');
    await viewer.waitForTimeout(600);
    assert.ok(await viewer.isHidden('.tile .tile-meter'), 'the overlay stays off after a reload');
    assert.deepEqual(await attrs(), [false, false, false]);

    // On, then a visit with no ?meter: on, with figures.
    await viewer.click('#meter');
    await viewer.goto(server.page(viewerPath('/')));
    await viewer.waitForSelector(BOTH_FIGURES, { timeout: 15_000 });
    assert.equal(await viewer.getAttribute('#meter', 'aria-pressed'), 'true');
    assert.ok(await viewer.isVisible('.tile .tile-meter'), 'the overlay is on after a reload');
  });
});
