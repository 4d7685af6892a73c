// `npm run bench:latency`: glass-to-glass latency of the product against WebRTC, in one run.
// Real Chromium, camera and viewer in two separate browser processes, the real server in its own
// process on loopback, the camera page's test pattern (640x480 at 30 fps) as the source. Each frame
// the viewer shows is read back (the time code painted into it) and compared with the clock.
// For each configuration: latency p50/p95/p99/max, frames shown vs sent, drift, CPU of the camera
// browser, viewer browser and server, a late joiner's first frame, and recovery after two stalls
// (the viewer's main thread blocked for 2 s; the server frozen for 2 s with SIGSTOP). WebRTC between
// the same two browsers, with the same pattern and reader, is the reference.
// "fps shown" counts the distinct frames the reader read. A <video> presents frames on the
// compositor, off the page's main thread: when that thread is busy, two frames may be presented
// between two of the reader's frame callbacks, and one is never read. Such rows also give the
// element's own counts (presented: the callbacks' presentedFrames; dropped: its playback quality).
// Sound is on, as it is for users (the pattern's 440 Hz tone as the microphone, in WebRTC too);
// `--audio 0` turns it off everywhere.
// Usage: npm run bench:latency -- [--seconds 30] [--configs webrtc,webcodecs,mediarecorder,...] [--stall-seconds 15]
//        [--joins 3] [--audio 1] [--out bench-results/latency.json] [--chart bench-results/latency.svg]
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, newContext } from '../../test/helpers/browser.ts';
import { childrenOf, machineBusy, median, percentile, procTable, ROOT, round, rssMiB, sortNum, startServer, treeCpu, viewerHeapMiB } from './bench-kit.ts';
import { lineChart, type ChartSeries } from './svg-chart.ts';
import type { Collected } from './page-probes.ts';
import { recovery, type Recovery } from './recovery.ts';

const TOKEN = `bench-${Math.random().toString(36).slice(2)}-0123456789`;

// ---- configurations ----

interface Config {
  name: string;
  label: string;
  /** Extra camera-link parameters (product) or null for the WebRTC reference. */
  camera: string | null;
  viewer: string;
  /** Also run the stall scenarios and late joins. */
  full: boolean;
  /** The viewer turns the tile's sound on (people listening: a muxed stream then carries the sound). */
  listen?: boolean;
}

/** WebRTC, both transports, and each MediaRecorder knob on its own, from the previous release's settings to today's defaults (see docs/latency.md). */
const MR = 'transport=mediarecorder';
const CONFIGS: Config[] = [
  { name: 'webrtc', label: 'WebRTC (reference)', camera: null, viewer: '', full: true },
  { name: 'webcodecs', label: 'product defaults: WebCodecs (H.264 here), canvas', camera: '', viewer: '', full: true },
  { name: 'mediarecorder', label: 'MediaRecorder camera → WebCodecs viewer (its recordings read into chunks)', camera: MR, viewer: '', full: true },
  { name: 'mediarecorder-mse', label: 'MediaRecorder camera → MSE viewer (muxed by the server: fMP4 for H.264, WebM for VP8)', camera: MR, viewer: 'decoder=mse', full: true },
  { name: 'webcodecs-vp8', label: 'WebCodecs with VP8', camera: 'codec=vp8', viewer: '', full: false },
  { name: 'fallback', label: 'WebCodecs camera → MSE viewer (fMP4 muxed by the server)', camera: '', viewer: 'decoder=mse', full: false },
  { name: 'fallback-listening', label: 'WebCodecs camera → MSE viewer listening (fMP4 with sound)', camera: '', viewer: 'decoder=mse', full: false, listen: true },
  // Today's player and server with the previous release's settings (not that release's code: its
  // player also ticked only every 250 ms and had no after-stall rule).
  { name: 'old-settings', label: 'old settings: 100 ms slices, 0.3 s lead, no DateUTC, no batching, jump at 3 s', camera: `${MR}&timeslice=100`, viewer: 'lead=0.3&jump=3&lowdelay=0&batch=0', full: true },
  { name: 'slice100', label: 'MediaRecorder but 100 ms slices', camera: `${MR}&timeslice=100`, viewer: '', full: false },
  { name: 'slice30', label: 'MediaRecorder but 30 ms slices', camera: `${MR}&timeslice=30`, viewer: '', full: false },
  { name: 'slice50', label: 'MediaRecorder but 50 ms slices', camera: `${MR}&timeslice=50`, viewer: '', full: false },
  { name: 'lead300', label: 'MediaRecorder → MSE but 0.3 s lead', camera: MR, viewer: 'decoder=mse&lead=0.3', full: false },
  { name: 'lead200', label: 'MediaRecorder → MSE but 0.2 s lead', camera: MR, viewer: 'decoder=mse&lead=0.2', full: false },
  { name: 'lead50', label: 'MediaRecorder → MSE but 0.05 s lead', camera: MR, viewer: 'decoder=mse&lead=0.05', full: false },
  { name: 'nodateutc', label: 'MediaRecorder (VP8) → MSE but no DateUTC', camera: `${MR}&codec=vp8`, viewer: 'decoder=mse&lowdelay=0', full: false },
  { name: 'nobatch', label: 'MediaRecorder → MSE but one append per chunk', camera: MR, viewer: 'decoder=mse&batch=0', full: true },
  { name: 'catchup1', label: 'MediaRecorder → MSE but no gentle catch-up (rate 1)', camera: MR, viewer: 'decoder=mse&catchup=1', full: false },
  { name: 'key500', label: 'MediaRecorder but keyframes every 500 ms', camera: `${MR}&keyframes=500`, viewer: '', full: false },
  { name: 'key3000', label: 'MediaRecorder but keyframes every 3 s', camera: `${MR}&keyframes=3000`, viewer: '', full: false },
];
const DEFAULT_CONFIGS = ['webrtc', 'webcodecs', 'mediarecorder', 'mediarecorder-mse', 'fallback', 'webcodecs-vp8', 'old-settings', 'slice100', 'slice50', 'lead300', 'lead50', 'nodateutc', 'nobatch', 'catchup1', 'key500', 'key3000'];

interface Options {
  /** Sound on (the default, as users have it). */
  audio: boolean;
  seconds: number;
  warmup: number;
  stallSeconds: number;
  joins: number;
  configs: Config[];
  out: string;
  chart: string;
}

function parseArgs(argv: string[]): Options {
  const o = { audio: true, seconds: 30, warmup: 4, stallSeconds: 15, joins: 3, configs: DEFAULT_CONFIGS, out: 'bench-results/latency.json', chart: 'bench-results/latency.svg' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? (a.split('=', 2) as [string, string]) : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const num = (min: number): number => {
      const n = Number(value());
      if (!Number.isFinite(n) || n < min) throw new Error(`${flag} needs a number ≥ ${min}`);
      return n;
    };
    if (flag === '--seconds') o.seconds = num(5);
    else if (flag === '--audio') o.audio = value() !== '0';
    else if (flag === '--warmup') o.warmup = num(0);
    else if (flag === '--stall-seconds') o.stallSeconds = num(0);
    else if (flag === '--joins') o.joins = Math.round(num(0));
    else if (flag === '--configs') o.configs = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (flag === '--out') o.out = value();
    else if (flag === '--chart') o.chart = value();
    else if (flag === '--help' || flag === '-h') {
      console.log(`npm run bench:latency -- [--audio 1 (0: no sound anywhere)] [--seconds 30] [--warmup 4] [--stall-seconds 15 (0: none)] [--joins 3] [--configs ${DEFAULT_CONFIGS.join(',')}] [--out F.json] [--chart F.svg]`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (--help lists them)`);
  }
  const configs = o.configs.map((n) => {
    const c = CONFIGS.find((x) => x.name === n);
    if (!c) throw new Error(`unknown configuration ${n}; known: ${CONFIGS.map((x) => x.name).join(', ')}`);
    return c;
  });
  return { ...o, configs };
}

// ---- statistics ----



interface Summary {
  samples: number;
  unreadable: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  /** Distinct frames shown per second. */
  fpsShown: number;
  /** Frames the source produced per second (the camera page's preview). */
  fpsSent: number | null;
  /** Median of the last third minus the first third, ms. */
  drift: number | null;
  /** Longest time between two shown frames, ms. */
  maxGapMs: number | null;
  leadP50Ms: number | null;
  seeks: number;
  /** A <video>'s own counts per second (null on a canvas): frames presented, decoded, and dropped by its renderer. */
  videoFps: { presented: number; decoded: number; dropped: number } | null;
}

function summarize(c: Collected, sourceFps: number | null): Summary {
  const seconds = (c.until - c.since) / 1000;
  const lat = sortNum(c.samples.map((s) => s[1]));
  const third = (c.until - c.since) / 3;
  const m1 = median(c.samples.filter((s) => s[0] < c.since + third).map((s) => s[1]));
  const m3 = median(c.samples.filter((s) => s[0] >= c.until - third).map((s) => s[1]));
  let gap = 0;
  for (let i = 1; i < c.samples.length; i++) gap = Math.max(gap, c.samples[i]![0] - c.samples[i - 1]![0]);
  return {
    samples: lat.length,
    unreadable: c.bad,
    p50: round(percentile(lat, 50)),
    p95: round(percentile(lat, 95)),
    p99: round(percentile(lat, 99)),
    max: round(percentile(lat, 100)),
    fpsShown: round(new Set(c.samples.map((s) => s[2])).size / seconds, 1)!,
    fpsSent: round(sourceFps, 1),
    drift: m1 !== null && m3 !== null ? round(m3 - m1) : null,
    maxGapMs: round(c.samples.length > 1 ? gap : null),
    leadP50Ms: round(median(c.leads.map((l) => l[1]))),
    seeks: c.seeks,
    videoFps: c.video ? { presented: round(c.video.presented / seconds, 1)!, decoded: round(c.video.decoded / seconds, 1)!, dropped: round(c.video.dropped / seconds, 1)! } : null,
  };
}

// ---- processes and CPU ----

/** Launches Chromium and finds its main process (a new child of this process). */
async function launchTracked(): Promise<{ browser: Browser; pid: number }> {
  const before = childrenOf(process.pid);
  const browser = await launchChromium();
  const added = [...childrenOf(process.pid)].filter((p) => !before.has(p));
  const pid = added.find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('chrom'));
  if (pid === undefined) throw new Error('could not find the Chromium process just launched');
  return { browser, pid };
}

interface Cpu {
  camera: number;
  viewer: number;
  server: number;
}

class CpuMeter {
  constructor(private readonly pids: Cpu) {}
  read(): Cpu {
    const t = procTable();
    return { camera: treeCpu(this.pids.camera, t), viewer: treeCpu(this.pids.viewer, t), server: treeCpu(this.pids.server, t) };
  }
  /** Percent of one core per process between two readings `seconds` apart. */
  static between(a: Cpu, b: Cpu, seconds: number): Cpu {
    const pct = (x: number, y: number): number => round(((y - x) / seconds) * 100, 1)!;
    return { camera: pct(a.camera, b.camera), viewer: pct(a.viewer, b.viewer), server: pct(a.server, b.server) };
  }
}

// ---- the server ----

// ---- pages ----

async function probesScript(): Promise<string> {
  const out = await build({ entryPoints: [path.join(ROOT, 'scripts/bench/page-probes.ts')], bundle: true, format: 'iife', write: false, target: 'chrome110', minify: false, logLevel: 'silent' });
  return out.outputFiles[0]!.text;
}

async function waitIn(page: Page, expr: string, what: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await page.evaluate(expr)) return;
    await page.waitForTimeout(100);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

const log = (m: string): void => console.error(`[bench:latency] ${m}`);

/** A page in a fresh context of `browser` (kept in `contexts`, for closing), whose warnings and errors are logged as `who`'s. */
async function openPage(browser: Browser, who: string, contexts: BrowserContext[], viewport?: { width: number; height: number }): Promise<Page> {
  const context = await newContext(browser, viewport);
  contexts.push(context);
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') log(`${who} ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => log(`${who} page error: ${e.message}`));
  return page;
}

interface Setup {
  url: string;
  probes: string;
  cameraBrowser: Browser;
  viewerBrowser: Browser;
  cpu: CpuMeter;
  serverChild: ChildProcess;
  opts: Options;
}

interface Result {
  config: string;
  label: string;
  main: Summary;
  cpu: Cpu;
  memory: Memory;
  /** Fraction of both cores busy while sampling (everything on the machine). */
  machineBusy: number;
  firstFrameMs: number[];
  viewerBlock: Recovery | null;
  serverFreeze: Recovery | null;
  /** Product only: the camera page's bitrate at the end of the window. */
  cameraBitrate?: string;
  /** WebRTC only: what its sender chose (size, rate, bitrate over the window, why it limited quality). */
  webrtc?: Record<string, unknown>;
  /** The product's own meter over a window: its estimate and its test-pattern reading vs this reader. */
  meter: { estimateP50: number | null; measuredP50: number | null; readerP50: number | null } | null;
  series: { main: [number, number][]; block: [number, number][] | null; freeze: [number, number][] | null };
}

/** Memory at the start and end of a window. */
interface Memory {
  /** Viewer page JS heap after GC, MiB; it includes this benchmark's own per-frame samples (~0.1 KiB a frame). */
  viewerHeapMiB: [number, number];
  serverRssMiB: [number | null, number | null];
}

/** One measurement window on a page with the reader attached. */
async function measure(s: Setup, viewer: Page, seconds: number, sourceFrames: () => Promise<number>, during?: (t0: number) => Promise<void>) {
  const heap0 = await viewerHeapMiB(viewer);
  const rss0 = rssMiB(s.serverChild.pid!);
  await viewer.evaluate('window.__bench.reset()');
  const cpu0 = s.cpu.read();
  const busy0 = machineBusy();
  const frames0 = await sourceFrames();
  const t0 = Date.now();
  const duringDone = during ? during(performance.timeOrigin + performance.now()) : Promise.resolve();
  await viewer.waitForTimeout(seconds * 1000);
  await duringDone;
  const elapsed = (Date.now() - t0) / 1000;
  const frames1 = await sourceFrames();
  const cpu = CpuMeter.between(cpu0, s.cpu.read(), elapsed);
  const busy1 = machineBusy();
  const collected = JSON.parse((await viewer.evaluate('window.__bench.collect()')) as string) as Collected;
  const memory: Memory = { viewerHeapMiB: [heap0, await viewerHeapMiB(viewer)], serverRssMiB: [rss0, rssMiB(s.serverChild.pid!)] };
  return { collected, cpu, memory, sourceFps: (frames1 - frames0) / elapsed, machineBusy: (busy1.busy - busy0.busy) / Math.max(1, busy1.total - busy0.total) };
}

const seriesOf = (c: Collected): [number, number][] => c.samples.map(([t, l]) => [round((t - c.since) / 1000, 3)!, round(l, 1)!]);

/** Runs the two stall scenarios on a playing viewer; `freeze` is skipped for peer-to-peer. */
async function stalls(s: Setup, viewer: Page, sourceFrames: () => Promise<number>, withServer: boolean): Promise<Pick<Result, 'viewerBlock' | 'serverFreeze'> & { block: Collected | null; freeze: Collected | null }> {
  if (s.opts.stallSeconds <= 0) return { viewerBlock: null, serverFreeze: null, block: null, freeze: null };
  const at = s.opts.stallSeconds / 3;
  let blockStart = 0;
  let blockEnd = 0;
  const block = await measure(s, viewer, s.opts.stallSeconds, sourceFrames, async () => {
    await viewer.waitForTimeout(at * 1000);
    blockStart = performance.timeOrigin + performance.now();
    await viewer.evaluate('window.__bench.block(2000)');
    blockEnd = performance.timeOrigin + performance.now();
  });
  let freeze: Awaited<ReturnType<typeof measure>> | null = null;
  let freezeStart = 0;
  let freezeEnd = 0;
  if (withServer) {
    freeze = await measure(s, viewer, s.opts.stallSeconds, sourceFrames, async () => {
      await viewer.waitForTimeout(at * 1000);
      freezeStart = performance.timeOrigin + performance.now();
      s.serverChild.kill('SIGSTOP');
      await new Promise((r) => setTimeout(r, 2000));
      s.serverChild.kill('SIGCONT');
      freezeEnd = performance.timeOrigin + performance.now();
    });
  }
  const rec = (c: Collected, start: number, end: number): Recovery & { stallAtS: number; stallEndS: number } => ({
    ...(({ baselineMs, peakMs, recoverMs }) => ({ baselineMs: round(baselineMs), peakMs: round(peakMs), recoverMs }))(recovery(c.samples, start, end, c.until)),
    stallAtS: round((start - c.since) / 1000, 3)!,
    stallEndS: round((end - c.since) / 1000, 3)!,
  });
  return {
    viewerBlock: rec(block.collected, blockStart, blockEnd),
    serverFreeze: freeze ? rec(freeze.collected, freezeStart, freezeEnd) : null,
    block: block.collected,
    freeze: freeze?.collected ?? null,
  };
}

async function runProduct(s: Setup, cfg: Config): Promise<Result> {
  const name = `bench-${cfg.name}`;
  const cameraUrl = `${s.url}/camera?token=${TOKEN}&source=test&autostart=1&name=${name}&resolution=480&fps=30&audio=${s.opts.audio ? 1 : 0}${cfg.camera ? `&${cfg.camera}` : ''}`;
  const viewerUrl = `${s.url}/?token=${TOKEN}&camera=${name}&meter=0${cfg.viewer ? `&${cfg.viewer}` : ''}`;
  const contexts: BrowserContext[] = [];
  try {
    const cam = await openPage(s.cameraBrowser, 'camera', contexts, { width: 800, height: 900 });
    await cam.goto(cameraUrl);
    await waitIn(cam, "document.body.dataset.state === 'live'", 'the camera page to go live', 20_000);
    await cam.evaluate(s.probes);
    await cam.evaluate("window.__bench.countSource('#preview')");
    const sourceFrames = async (): Promise<number> => Number(await cam.evaluate('window.__bench.sourceFrames()'));

    const viewer = await openPage(s.viewerBrowser, 'viewer', contexts);
    await viewer.goto(viewerUrl);
    await viewer.evaluate(s.probes);
    // (The reader follows the tile's canvas instead while it plays WebCodecs chunks.)
    await viewer.evaluate("window.__bench.attachReader('.tile video')");
    await waitIn(viewer, 'window.__bench.good() > 0', 'a readable frame at the viewer', 20_000);
    if (cfg.listen) {
      // (The button may be out of sight in a small tile; the benchmark's Chromium plays sound without a gesture.)
      await viewer.evaluate("document.querySelector('.tile-sound').click()");
      await waitIn(viewer, "document.querySelector('.tile-sound').getAttribute('aria-pressed') === 'true'", 'the tile to listen', 5_000);
    }
    await viewer.waitForTimeout(s.opts.warmup * 1000);
    log(`${cfg.name}: sampling ${s.opts.seconds} s`);
    const main = await measure(s, viewer, s.opts.seconds, sourceFrames);
    const bitrate = (await cam.evaluate("document.getElementById('stat-bitrate').textContent")) as string;

    let meter: Result['meter'] = null;
    const firstFrameMs: number[] = [];
    let st: Awaited<ReturnType<typeof stalls>> = { viewerBlock: null, serverFreeze: null, block: null, freeze: null };
    if (cfg.full) {
      // The product's own meter, checked against the reader on the same frames.
      await viewer.evaluate("document.getElementById('meter').click()");
      await viewer.waitForTimeout(2000);
      const m = await measure(s, viewer, 8, sourceFrames);
      await viewer.evaluate("document.getElementById('meter').click()");
      meter = {
        estimateP50: round(median(m.collected.meter.map((x) => x[1]).filter((x): x is number => x !== null))),
        measuredP50: round(median(m.collected.meter.map((x) => x[2]).filter((x): x is number => x !== null))),
        readerP50: round(median(m.collected.samples.map((x) => x[1]))),
      };
      for (let i = 0; i < s.opts.joins; i++) {
        const late = await viewer.context().newPage();
        await late.goto(viewerUrl);
        await waitIn(late, "!!document.querySelector('.tile[data-first-frame-ms]')", 'a late joiner’s first frame', 15_000);
        firstFrameMs.push(Number(await late.evaluate("document.querySelector('.tile').dataset.firstFrameMs")));
        await late.close();
        await viewer.waitForTimeout(700);
      }
      log(`${cfg.name}: stalls`);
      st = await stalls(s, viewer, sourceFrames, true);
    }
    return {
      config: cfg.name,
      label: cfg.label,
      main: summarize(main.collected, main.sourceFps),
      cpu: main.cpu,
      memory: main.memory,
      machineBusy: round(main.machineBusy, 3)!,
      firstFrameMs,
      viewerBlock: st.viewerBlock,
      serverFreeze: st.serverFreeze,
      meter,
      cameraBitrate: bitrate,
      series: { main: seriesOf(main.collected), block: st.block ? seriesOf(st.block) : null, freeze: st.freeze ? seriesOf(st.freeze) : null },
    };
  } finally {
    await Promise.allSettled(contexts.map((c) => c.close()));
  }
}

async function runWebrtc(s: Setup, cfg: Config): Promise<Result> {
  const contexts: BrowserContext[] = [];
  try {
    const sender = await openPage(s.cameraBrowser, 'webrtc sender', contexts);
    await sender.setContent('<!doctype html><html><body></body></html>');
    await sender.evaluate(s.probes);
    const offer = (await sender.evaluate(`window.__bench.webrtcSender(640, 480, 30, ${s.opts.audio})`)) as string;
    await sender.evaluate("window.__bench.countSource('#preview')");
    const sourceFrames = async (): Promise<number> => Number(await sender.evaluate('window.__bench.sourceFrames()'));

    const receiver = await openPage(s.viewerBrowser, 'webrtc receiver', contexts);
    await receiver.setContent('<!doctype html><html><body style="margin:0;background:#000"></body></html>');
    await receiver.evaluate(s.probes);
    const started = performance.now();
    const answer = (await receiver.evaluate(`window.__bench.webrtcReceiver(${JSON.stringify(offer)})`)) as string;
    await sender.evaluate(`window.__bench.webrtcAnswer(${JSON.stringify(answer)})`);
    await receiver.evaluate("window.__bench.attachReader('video.rtc')");
    await waitIn(receiver, 'window.__bench.good() > 0', 'a readable WebRTC frame', 20_000);
    const connectMs = performance.now() - started;
    await receiver.waitForTimeout(s.opts.warmup * 1000);
    log(`${cfg.name}: sampling ${s.opts.seconds} s`);
    const stats0 = JSON.parse((await sender.evaluate('window.__bench.webrtcStats()')) as string) as { bytesSent?: number };
    const main = await measure(s, receiver, s.opts.seconds, sourceFrames);
    const stats1 = JSON.parse((await sender.evaluate('window.__bench.webrtcStats()')) as string) as Record<string, unknown> & { bytesSent?: number };
    const kbps = stats0.bytesSent !== undefined && stats1.bytesSent !== undefined ? round(((stats1.bytesSent - stats0.bytesSent) * 8) / 1000 / s.opts.seconds) : null;
    log(`${cfg.name}: stall`);
    const st = cfg.full ? await stalls(s, receiver, sourceFrames, false) : { viewerBlock: null, serverFreeze: null, block: null, freeze: null };
    return {
      config: cfg.name,
      label: cfg.label,
      main: summarize(main.collected, main.sourceFps),
      // The server is idle in this one (signalling went through this script).
      cpu: main.cpu,
      memory: main.memory,
      machineBusy: round(main.machineBusy, 3)!,
      // Offer/answer to first readable frame (an upper bound: includes polling every 100 ms).
      firstFrameMs: [round(connectMs)!],
      viewerBlock: st.viewerBlock,
      serverFreeze: null,
      webrtc: { ...stats1, kbitPerSecond: kbps },
      meter: null,
      series: { main: seriesOf(main.collected), block: st.block ? seriesOf(st.block) : null, freeze: null },
    };
  } finally {
    await Promise.allSettled(contexts.map((c) => c.close()));
  }
}

// ---- report ----

function fmt(v: number | null | undefined, suffix = ''): string {
  return v === null || v === undefined ? '-' : `${v}${suffix}`;
}

function table(results: Result[]): string {
  const ref = results.find((r) => r.config === 'webrtc');
  const ratio = (v: number | null, r: number | null | undefined): string => (v === null || !r ? '' : ` (${(v / r).toFixed(1)}×)`);
  const header = ['configuration', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'fps shown/sent', '<video> fps presented/dropped', 'drift ms', 'late join ms (WebRTC: connect)', 'CPU % cam/view/server', 'recover: viewer block', 'recover: server freeze'];
  const rows = results.map((r) => [
    r.config,
    fmt(r.main.p50) + ratio(r.main.p50, ref?.main.p50),
    fmt(r.main.p95),
    fmt(r.main.p99) + ratio(r.main.p99, ref?.main.p99),
    fmt(r.main.max),
    `${fmt(r.main.fpsShown)}/${fmt(r.main.fpsSent)}`,
    r.main.videoFps ? `${r.main.videoFps.presented}/${r.main.videoFps.dropped}` : '-',
    fmt(r.main.drift),
    r.firstFrameMs.length ? `${median(r.firstFrameMs)} (max ${Math.max(...r.firstFrameMs)})` : '-',
    `${r.cpu.camera}${ratio(r.cpu.camera, ref?.cpu.camera)}/${r.cpu.viewer}/${r.cpu.server}`,
    r.viewerBlock ? (r.viewerBlock.recoverMs === null ? 'not in window' : `${r.viewerBlock.recoverMs} ms`) : '-',
    r.serverFreeze ? (r.serverFreeze.recoverMs === null ? 'not in window' : `${r.serverFreeze.recoverMs} ms`) : '-',
  ]);
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
  return lines.join('\n');
}

function charts(results: Result[], seconds: number): { main: string; stalls: string } {
  const main: ChartSeries[] = results.filter((r) => ['webrtc', 'webcodecs', 'mediarecorder', 'old-settings'].includes(r.config) || results.length <= 4).map((r) => ({ name: r.label, points: r.series.main }));
  const stallSeries: ChartSeries[] = [];
  for (const r of results) {
    if (r.series.block) stallSeries.push({ name: `${r.config}: viewer blocked 2 s`, points: r.series.block });
    if (r.series.freeze) stallSeries.push({ name: `${r.config}: server frozen 2 s`, points: r.series.freeze.map(([t, l]) => [t, l]) });
  }
  return {
    main: lineChart({ title: `Glass-to-glass latency, ${seconds} s, 640x480 at 30 fps, loopback`, xLabel: 'time (s)', yLabel: 'latency (ms)', series: main }),
    stalls: lineChart({ title: 'Recovery after a 2 s stall (a third of the way in)', xLabel: 'time (s)', yLabel: 'latency (ms)', series: stallSeries, yMax: 3000 }),
  };
}

/** The WebCodecs transport's targets, judged against the WebRTC reference of the same run. */
function webcodecsTargets(results: Result[]): { what: string; measured: string; met: boolean }[] {
  const rtc = results.find((r) => r.config === 'webrtc');
  const wc = results.find((r) => r.config === 'webcodecs');
  if (!rtc || !wc || rtc.main.p50 === null || rtc.main.p99 === null || wc.main.p50 === null || wc.main.p99 === null) return [];
  const join = wc.firstFrameMs.length ? median(wc.firstFrameMs)! : null;
  const recover = [wc.viewerBlock?.recoverMs, wc.serverFreeze?.recoverMs];
  return [
    { what: `p50 ≤ WebRTC's ${rtc.main.p50} ms`, measured: `${wc.main.p50} ms`, met: wc.main.p50 <= rtc.main.p50 },
    { what: `p99 ≤ 1.5 × WebRTC's ${rtc.main.p99} ms`, measured: `${wc.main.p99} ms (${(wc.main.p99 / rtc.main.p99).toFixed(2)}×)`, met: wc.main.p99 <= 1.5 * rtc.main.p99 },
    { what: '30 of 30 fps shown', measured: `${wc.main.fpsShown} of ${fmt(wc.main.fpsSent)}`, met: wc.main.fpsShown >= 29.5 },
    { what: 'late joiner’s first frame ≤ 300 ms', measured: join === null ? 'not measured' : `${join} ms (max ${Math.max(...wc.firstFrameMs)})`, met: join !== null && join <= 300 },
    { what: 'back to normal ≤ 1 s after the stalls', measured: recover.map((v) => (v === undefined ? '-' : v === null ? 'not in window' : `${v} ms`)).join(' / '), met: recover.every((v) => typeof v === 'number' && v <= 1000) },
    { what: `camera CPU ≤ 1.2 × the WebRTC sender's ${rtc.cpu.camera}%`, measured: `${wc.cpu.camera}% (${(wc.cpu.camera / rtc.cpu.camera).toFixed(2)}×)`, met: wc.cpu.camera <= 1.2 * rtc.cpu.camera },
  ];
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const b0 = machineBusy();
  await new Promise((r) => setTimeout(r, 1000));
  const b1 = machineBusy();
  const busyBefore = (b1.busy - b0.busy) / Math.max(1, b1.total - b0.total);
  if (busyBefore > 0.2) log(`WARNING: the machine is ${Math.round(busyBefore * 100)}% busy before the run; figures will include that contention`);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-latency-'));
  const server = await startServer(dataDir, TOKEN);
  const browsers: Browser[] = [];
  try {
    const cam = await launchTracked();
    browsers.push(cam.browser);
    const view = await launchTracked();
    browsers.push(view.browser);
    const s: Setup = {
      url: server.url,
      probes: await probesScript(),
      cameraBrowser: cam.browser,
      viewerBrowser: view.browser,
      cpu: new CpuMeter({ camera: cam.pid, viewer: view.pid, server: server.child.pid! }),
      serverChild: server.child,
      opts,
    };
    log(`server ${server.url}, Chromium ${cam.browser.version()}, configurations: ${opts.configs.map((c) => c.name).join(', ')}; sound ${opts.audio ? 'on' : 'off (--audio 0)'}`);
    const results: Result[] = [];
    const failed: string[] = [];
    for (const cfg of opts.configs) {
      if (cfg.listen && !opts.audio) {
        log(`${cfg.name}: skipped (it listens, and --audio 0 has no sound)`);
        continue;
      }
      let r: Result;
      try {
        r = cfg.camera === null ? await runWebrtc(s, cfg) : await runProduct(s, cfg);
      } catch (err) {
        // One configuration that fails does not take the others' figures with it.
        log(`${cfg.name}: FAILED, left out: ${(err as Error).stack ?? String(err)}`);
        failed.push(cfg.name);
        continue;
      }
      results.push(r);
      log(`${cfg.name}: p50 ${fmt(r.main.p50)} p99 ${fmt(r.main.p99)} ms, ${r.main.fpsShown} fps${r.main.videoFps ? ` (video element: ${JSON.stringify(r.main.videoFps)} per s)` : ''}, CPU ${JSON.stringify(r.cpu)}`);
    }
    if (results.length === 0) throw new Error(`every configuration failed (${failed.join(', ')}); nothing written`);
    if (failed.length > 0) process.exitCode = 1;
    console.log('');
    console.log(table(results));
    console.log('');
    for (const r of results) {
      console.log(`${r.config}: viewer page JS heap ${r.memory.viewerHeapMiB[0]} → ${r.memory.viewerHeapMiB[1]} MiB, server RSS ${fmt(r.memory.serverRssMiB[0])} → ${fmt(r.memory.serverRssMiB[1])} MiB over the window`);
      if (r.cameraBitrate) console.log(`${r.config}: the camera page sent ${r.cameraBitrate}`);
      if (r.webrtc) console.log(`${r.config}: the sender chose ${JSON.stringify(r.webrtc)}`);
      if (r.meter) console.log(`${r.config}: the viewer's meter said ≈ ${fmt(r.meter.estimateP50)} ms (estimate) and ${fmt(r.meter.measuredP50)} ms (test pattern); this benchmark's reader ${fmt(r.meter.readerP50)} ms`);
      if (r.viewerBlock) console.log(`${r.config}: viewer block: before ${fmt(r.viewerBlock.baselineMs)} ms, peak ${fmt(r.viewerBlock.peakMs)} ms, back after ${fmt(r.viewerBlock.recoverMs)} ms`);
      if (r.serverFreeze) console.log(`${r.config}: server freeze: before ${fmt(r.serverFreeze.baselineMs)} ms, peak ${fmt(r.serverFreeze.peakMs)} ms, back after ${fmt(r.serverFreeze.recoverMs)} ms`);
    }
    const targets = webcodecsTargets(results);
    if (targets.length > 0) {
      console.log('');
      console.log('WebCodecs targets (against WebRTC in this run):');
      for (const t of targets) console.log(`  ${t.met ? 'met   ' : 'MISSED'} ${t.what}: ${t.measured}`);
    }
    const busy = results.map((r) => r.machineBusy);
    if (failed.length > 0) console.log(`FAILED and left out: ${failed.join(', ')} (see the log above)`);
    console.log(`machine: ${os.cpus().length} cores, ${Math.round(busyBefore * 100)}% busy before the run, ${Math.round(Math.min(...busy) * 100)}–${Math.round(Math.max(...busy) * 100)}% while sampling`);

    const out = path.resolve(opts.out);
    await mkdir(path.dirname(out), { recursive: true });
    const { seconds, warmup, stallSeconds, joins } = opts;
    await writeFile(
      out,
      JSON.stringify({ when: new Date().toISOString(), chromium: cam.browser.version(), cores: os.cpus().length, busyBefore: round(busyBefore, 3), options: { audio: opts.audio, seconds, warmup, stallSeconds, joins }, table: table(results), results }, null, 1),
    );
    const chart = path.resolve(opts.chart);
    await mkdir(path.dirname(chart), { recursive: true });
    const c = charts(results, opts.seconds);
    await writeFile(chart, c.main);
    const stallChart = chart.replace(/\.svg$/, '') + '-stalls.svg';
    if (results.some((r) => r.series.block)) await writeFile(stallChart, c.stalls);
    console.log(`wrote ${path.relative(process.cwd(), out)}, ${path.relative(process.cwd(), chart)}${results.some((r) => r.series.block) ? `, ${path.relative(process.cwd(), stallChart)}` : ''}`);
  } finally {
    await Promise.allSettled(browsers.map((b) => b.close()));
    server.child.kill('SIGCONT');
    server.child.kill('SIGTERM');
    // (The server may still be writing there as it stops: a leftover directory is not the run's failure.)
    await rm(dataDir, { recursive: true, force: true }).catch((err: unknown) => log(`could not remove ${dataDir}: ${(err as Error).message}`));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
