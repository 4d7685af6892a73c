// `npm run bench:soak`: does anything grow over an hour? The product's server (as npm start runs
// it) with 4 synthetic cameras replaying real captures (fanout-camera.ts), one of each camera form
// by default: WebCodecs chunks at ~2 Mbit/s (two of them), MediaRecorder WebM and MediaRecorder
// fragmented MP4 (short captures, replayed as a recorder restarting every ~4 s); and 20 viewers:
// real viewer pages in Chromium, each a grid playing every camera (every other page forced to the
// muxed form, `?decoder=mse`: fMP4 and WebM made by the server), and the rest synthetic chunk
// viewers (fanout-viewers.ts) spread over the cameras. Every sample: the server's RSS, each page's JS heap
// after a full GC, the frames its tiles drew. At the end: least-squares slopes (MiB per hour), over
// the whole run and after the first 5 minutes, the synthetic viewers' relay delay, JSON and a chart.
// Usage: npm run bench:soak -- [--minutes 60] [--cameras 4] [--viewers 20] [--pages 2] [--sample-seconds 30]
//        [--fixture name[,name…]] (camera i replays the i-th, round robin) [--out bench-results/soak.json] [--chart docs/soak.svg]
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { countFrames, launchChromium, newContext } from '../../test/helpers/browser.ts';
import { machineBusy, ROOT, round, rssMiB, startServer, viewerHeapMiB } from './bench-kit.ts';
import { BIN_MS, type ViewersReport } from './fanout-report.ts';
import { lineChart } from './svg-chart.ts';

const TOKEN = `soak-${Math.random().toString(36).slice(2)}-0123456789`;
const log = (m: string): void => console.error(`[bench:soak] ${new Date().toISOString().slice(11, 19)} ${m}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Options {
  minutes: number;
  cameras: number;
  viewers: number;
  pages: number;
  sampleSeconds: number;
  fixture: string;
  out: string;
  chart: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { minutes: 60, cameras: 4, viewers: 20, pages: 2, sampleSeconds: 30, fixture: 'chromium-webcodecs-h264-opus-2mbps,chromium-vp8-opus.webm,chromium-h264-opus.mp4,chromium-webcodecs-h264-opus-2mbps', out: 'bench-results/soak.json', chart: 'docs/soak.svg' };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    const n = Number(value);
    if (flag === '--fixture') o.fixture = value;
    else if (flag === '--out') o.out = value;
    else if (flag === '--chart') o.chart = value;
    else if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number`);
    else if (flag === '--minutes') o.minutes = n;
    else if (flag === '--cameras') o.cameras = n;
    else if (flag === '--viewers') o.viewers = n;
    else if (flag === '--pages') o.pages = n;
    else if (flag === '--sample-seconds') o.sampleSeconds = n;
    else throw new Error(`unknown option ${flag}`);
  }
  if (o.pages > o.viewers) throw new Error('--pages counts among --viewers');
  return o;
}

/** Least-squares slope of [x, y] points, y per x unit. */
function slope(points: [number, number][]): number {
  const p = points.filter(([, y]) => Number.isFinite(y));
  if (p.length < 2) return NaN;
  const mx = p.reduce((s, [x]) => s + x, 0) / p.length;
  const my = p.reduce((s, [, y]) => s + y, 0) / p.length;
  const den = p.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return den === 0 ? NaN : p.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / den;
}

/** Frames the page's tiles presented (canvas or video), counted by the tests' helper. */
const DRAWN = 'window.__frames';

interface Sample {
  minute: number;
  serverRssMiB: number | null;
  pageHeapMiB: number[];
  /** Frames drawn per second over the last interval, per page (all its tiles). */
  pageFps: number[];
  machineBusy: number;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-soak-'));
  const kids: ChildProcess[] = [];
  let browser: Browser | null = null;
  try {
    const server = await startServer(dataDir, TOKEN);
    kids.push(server.child);
    const wsUrl = `${server.url.replace('https:', 'wss:')}/ws?token=${TOKEN}`;
    browser = await launchChromium();
    const ids = Array.from({ length: opts.cameras }, () => randomUUID());
    const fixtures = opts.fixture.split(',');
    // The synthetic viewers count what they miss in sizes of a chunk capture.
    const chunkFixture = fixtures.find((f) => !/\.(webm|mp4)$/.test(f)) ?? 'chromium-webcodecs-h264-opus';
    for (const [i, id] of ids.entries()) {
      const c = fork(path.join(ROOT, 'scripts/bench/fanout-camera.ts'), [wsUrl, id, fixtures[i % fixtures.length]!], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      kids.push(c);
    }
    await sleep(2000);
    const synthetic = opts.viewers - opts.pages;
    let worker: ChildProcess | null = null;
    if (synthetic > 0) {
      const w = fork(path.join(ROOT, 'scripts/bench/fanout-viewers.ts'), [wsUrl, ids.join(','), chunkFixture, String(synthetic), '0', '0', '1000'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      kids.push(w);
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the synthetic viewers did not connect within 60 s')), 60_000);
        w.once('message', () => {
          clearTimeout(timer);
          resolve(undefined);
        });
      });
      w.send('start');
      worker = w;
    }
    const pages: Page[] = [];
    for (let i = 0; i < opts.pages; i++) {
      const page = await (await newContext(browser!)).newPage();
      page.on('pageerror', (e) => log(`page ${i} error: ${e.message}`));
      // Every other page plays the muxed form (the server's fMP4 and WebM) in MSE.
      await page.goto(`${server.url}/?token=${TOKEN}${i % 2 === 1 ? '&decoder=mse' : ''}`);
      pages.push(page);
    }
    for (const page of pages) await countFrames(page);
    log(`server ${server.url}: ${opts.cameras} cameras replaying ${opts.fixture}, ${opts.pages} viewer pages (each a grid of all cameras; every other one MSE) and ${synthetic} synthetic viewers; ${opts.minutes} min`);
    await sleep(5000);

    const samples: Sample[] = [];
    const t0 = performance.now();
    let drawn = await Promise.all(pages.map((p) => p.evaluate(DRAWN) as Promise<number>));
    let tPrev = t0;
    let busyPrev = machineBusy();
    for (;;) {
      const minute = (performance.now() - t0) / 60_000;
      const now = performance.now();
      const drawnNow = await Promise.all(pages.map((p) => p.evaluate(DRAWN) as Promise<number>));
      const busy = machineBusy();
      const sample: Sample = {
        minute: round(minute, 2)!,
        serverRssMiB: rssMiB(server.child.pid!),
        pageHeapMiB: await Promise.all(pages.map(viewerHeapMiB)),
        pageFps: drawnNow.map((d, i) => round(samples.length === 0 ? 0 : (d - drawn[i]!) / ((now - tPrev) / 1000), 1)!),
        machineBusy: round((busy.busy - busyPrev.busy) / Math.max(1, busy.total - busyPrev.total), 2)!,
      };
      samples.push(sample);
      drawn = drawnNow;
      tPrev = now;
      busyPrev = busy;
      if (samples.length % 10 === 1) log(`${sample.minute} min: server RSS ${sample.serverRssMiB} MiB, page heaps ${sample.pageHeapMiB.join(', ')} MiB, pages drawing ${sample.pageFps.join(', ')} frames/s, machine ${Math.round(sample.machineBusy * 100)}%`);
      if (minute >= opts.minutes) break;
      await sleep(Math.min(opts.sampleSeconds * 1000, Math.max(0, t0 + opts.minutes * 60_000 - performance.now())));
    }

    let delays: { p50: number | null; p99: number | null; frames: number; dropped: number; closes: Record<string, number>; byCamera: { fixture: string; p50: number | null; p99: number | null }[] } | null = null;
    if (worker) {
      const report = new Promise<ViewersReport>((resolve) => worker.once('message', (m) => resolve(m as ViewersReport)));
      worker.send('stop');
      const r = await report;
      const pct = (hist: [number, number][], p: number): number | null => {
        const total = hist.reduce((s, [, n]) => s + n, 0);
        let seen = 0;
        for (const [bin, n] of hist) if ((seen += n) >= Math.ceil((p / 100) * total)) return round(bin * BIN_MS, 1);
        return null;
      };
      const byCamera = (r.delaysByCamera ?? []).map((h, i) => ({ fixture: fixtures[i % fixtures.length]!, p50: pct(h, 50), p99: pct(h, 99) }));
      delays = { p50: pct(r.delays, 50), p99: pct(r.delays, 99), frames: r.delays.reduce((s, [, n]) => s + n, 0), dropped: r.droppedFrames, closes: r.closes, byCamera };
    }

    const series = (f: (s: Sample) => number | null | undefined, from = 0): [number, number][] => samples.filter((s) => s.minute >= from).map((s) => [s.minute, f(s) ?? NaN]);
    const perHour = (pts: [number, number][]): number => round(slope(pts) * 60, 2)!;
    const result = {
      when: new Date().toISOString(),
      cores: os.cpus().length,
      options: opts,
      serverRss: { first: samples[0]?.serverRssMiB, last: samples[samples.length - 1]?.serverRssMiB, max: Math.max(...samples.map((s) => s.serverRssMiB ?? 0)), slopeMiBPerHour: perHour(series((s) => s.serverRssMiB)), slopeAfter5MinMiBPerHour: perHour(series((s) => s.serverRssMiB, 5)) },
      pageHeaps: pages.map((_, i) => ({
        first: samples[0]?.pageHeapMiB[i],
        last: samples[samples.length - 1]?.pageHeapMiB[i],
        max: Math.max(...samples.map((s) => s.pageHeapMiB[i] ?? 0)),
        slopeMiBPerHour: perHour(series((s) => s.pageHeapMiB[i])),
        slopeAfter5MinMiBPerHour: perHour(series((s) => s.pageHeapMiB[i], 5)),
        fpsMin: Math.min(...samples.slice(1).map((s) => s.pageFps[i] ?? 0)),
      })),
      syntheticViewers: delays,
      samples,
    };
    console.log('');
    console.log(`server RSS: ${result.serverRss.first} → ${result.serverRss.last} MiB (max ${result.serverRss.max}); slope ${result.serverRss.slopeMiBPerHour} MiB/h over the run, ${result.serverRss.slopeAfter5MinMiBPerHour} MiB/h after the first 5 min`);
    result.pageHeaps.forEach((h, i) => console.log(`viewer page ${i + 1} JS heap after GC: ${h.first} → ${h.last} MiB (max ${h.max}); slope ${h.slopeMiBPerHour} MiB/h, ${h.slopeAfter5MinMiBPerHour} MiB/h after 5 min; its tiles drew ≥ ${h.fpsMin} frames/s in every interval`));
    if (delays) {
      console.log(`synthetic viewers: delay from capture p50 ${delays.p50} ms, p99 ${delays.p99} ms over ${delays.frames} frames; ${delays.dropped} frames dropped; closes ${JSON.stringify(delays.closes)}`);
      // (A MediaRecorder capture's frames wait in its recorder for the piece that carries them: their delay includes that.)
      for (const c of delays.byCamera) console.log(`  camera replaying ${c.fixture}: p50 ${c.p50} ms, p99 ${c.p99} ms`);
    }
    const out = path.resolve(opts.out);
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, JSON.stringify(result, null, 1));
    const chart = path.resolve(opts.chart);
    await mkdir(path.dirname(chart), { recursive: true });
    await writeFile(chart, lineChart({ title: `Server RSS over ${opts.minutes} min: ${opts.cameras} cameras, ${opts.viewers} viewers`, xLabel: 'time (min)', yLabel: 'server RSS (MiB)', series: [{ name: 'server RSS', points: series((s) => s.serverRssMiB) }], yMin: 0 }));
    const heapChart = chart.replace(/\.svg$/, '') + '-heap.svg';
    await writeFile(heapChart, lineChart({ title: `Viewer page JS heap after GC over ${opts.minutes} min (each page a grid of ${opts.cameras} cameras)`, xLabel: 'time (min)', yLabel: 'JS heap (MiB)', series: pages.map((_, i) => ({ name: `viewer page ${i + 1}`, points: series((s) => s.pageHeapMiB[i]) })), yMin: 0 }));
    console.log(`wrote ${path.relative(process.cwd(), out)}, ${path.relative(process.cwd(), chart)}, ${path.relative(process.cwd(), heapChart)}`);
  } finally {
    await browser?.close();
    // Every child (the server first in the list), each waited for, before its data dir goes.
    await Promise.all(
      kids.map(
        (k) =>
          new Promise<void>((resolve) => {
            if (k.exitCode !== null || k.signalCode !== null) return resolve();
            k.once('exit', () => resolve());
            k.kill('SIGTERM');
            setTimeout(() => k.kill('SIGKILL'), 5000).unref();
          }),
      ),
    );
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
