// Dev aid: measures the glass-to-glass latency of the product as it is (camera page → MediaRecorder →
// WebSocket → server → viewer page → MSE), with a time code painted on a canvas that replaces the
// camera and read back from every frame the viewer shows. Also measures the floor (the same canvas
// shown through a <video> with no codec) in the same run, for reference.
// Usage: npx tsx scripts/measure-latency.ts [--seconds 30] [--warmup 3] [--floor-seconds 10] [--out file]
// Writes bench-results/latency-basic.json. Does not change any product code (the camera page gets a
// canvas instead of a camera, and both pages get passive probes: chunk times, WebSocket arrivals).
// On a small shared machine other work skews the figures badly: the script prints how busy the CPU
// was (this run vs other processes) and warns when others used it; quote only quiet runs.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, newContext } from '../test/helpers/browser.ts';
import { startTestServer } from '../test/helpers/server.ts';
import { HEADER_BYTES } from '../src/shared/protocol.ts';

// ---------------------------------------------------------------------------------------------
// Browser code. Plain-JS STRINGS on purpose: tsx would inject `__name` helpers into functions
// passed to the browser, which do not exist there.
// ---------------------------------------------------------------------------------------------

/**
 * The time-code pattern, on a 640x480 canvas (read back at any scale):
 * three rows of 32x32 px blocks at y = 32, 64, 96, starting at x = 32. Each row starts with a
 * white and a black reference block. Row 0 holds the high 16 bits of (ms time mod 2^32), row 1
 * the low 16 bits, row 2 an 8-bit check (XOR of the four bytes ^ 0xA5). Only the middle 16x16 px
 * of each block is read, so VP8 ringing at block edges does not matter. Below the code, moving
 * shapes, a drifting gradient and text keep the encoder busy as a real camera would.
 */
const PATTERN_JS = String.raw`
window.__ltPattern = (function () {
  var W = 640, H = 480, B = 32, X0 = 32, Y0 = 32, TWO32 = 4294967296;
  function check(hi, lo) { return ((hi >> 8) ^ (hi & 255) ^ (lo >> 8) ^ (lo & 255) ^ 0xA5) & 255; }
  function rowBits(t) {
    var hi = Math.floor(t / 65536), lo = t % 65536;
    return [[hi, 16], [lo, 16], [check(hi, lo), 8]];
  }
  function nowMs() { return Math.floor(performance.timeOrigin + performance.now()) % TWO32; }
  function paint(ctx, n) {
    // Moving content first (the code is painted last, with the time taken just before it).
    var g = ctx.createLinearGradient(0, 0, W, H);
    var h = (n * 2) % 360;
    g.addColorStop(0, 'hsl(' + h + ',60%,35%)');
    g.addColorStop(1, 'hsl(' + ((h + 120) % 360) + ',60%,55%)');
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, W, H);
    for (var i = 0; i < 6; i++) {
      var a = n * 0.03 * (i + 1) + i;
      var x = W / 2 + Math.cos(a) * (120 + i * 25), y = 310 + Math.sin(a * 1.3) * (90 + i * 6);
      ctx.fillStyle = 'hsl(' + ((h + i * 60) % 360) + ',80%,' + (40 + i * 6) + '%)';
      ctx.beginPath();
      ctx.arc(x, y, 18 + i * 4, 0, Math.PI * 2);
      ctx.fill();
    }
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 3;
    ctx.beginPath();
    ctx.moveTo(W / 2, 310);
    ctx.lineTo(W / 2 + Math.cos(n * 0.1) * 150, 310 + Math.sin(n * 0.1) * 150);
    ctx.stroke();
    ctx.fillStyle = '#fff';
    ctx.font = '20px sans-serif';
    ctx.fillText('frame ' + n, 20, 460);
    // The time code on a grey band.
    ctx.fillStyle = '#808080';
    ctx.fillRect(X0 - 16, Y0 - 16, B * 18 + 32, B * 3 + 32);
    var t = nowMs();
    var rows = rowBits(t);
    for (var r = 0; r < 3; r++) {
      var y0 = Y0 + r * B;
      ctx.fillStyle = '#fff'; ctx.fillRect(X0, y0, B, B);
      ctx.fillStyle = '#000'; ctx.fillRect(X0 + B, y0, B, B);
      var v = rows[r][0], nb = rows[r][1];
      for (var b = 0; b < nb; b++) {
        var bit = (v >> (nb - 1 - b)) & 1;
        ctx.fillStyle = bit ? '#fff' : '#000';
        ctx.fillRect(X0 + (2 + b) * B, y0, B, B);
      }
    }
    return t;
  }
  // Reads the code from a canvas holding a frame of size w x h. Returns the time or null.
  function read(ctx, w, h) {
    var sx = w / W, sy = h / H;
    var img = ctx.getImageData(0, 0, Math.ceil((X0 + 18 * B) * sx), Math.ceil((Y0 + 3 * B) * sy));
    var d = img.data, iw = img.width;
    function luma(r, c) {
      var x0 = Math.round((X0 + c * B + B / 4) * sx), x1 = Math.round((X0 + c * B + 3 * B / 4) * sx);
      var y0 = Math.round((Y0 + r * B + B / 4) * sy), y1 = Math.round((Y0 + r * B + 3 * B / 4) * sy);
      var s = 0, k = 0;
      for (var y = y0; y < y1; y++) for (var x = x0; x < x1; x++) {
        var o = (y * iw + x) * 4;
        s += 0.299 * d[o] + 0.587 * d[o + 1] + 0.114 * d[o + 2]; k++;
      }
      return k ? s / k : 0;
    }
    var vals = [];
    for (var r = 0; r < 3; r++) {
      var wRef = luma(r, 0), kRef = luma(r, 1);
      if (wRef < 160 || kRef > 90 || wRef - kRef < 100) return null;
      var thr = (wRef + kRef) / 2, margin = (wRef - kRef) * 0.25;
      var nb = r < 2 ? 16 : 8, v = 0;
      for (var b = 0; b < nb; b++) {
        var l = luma(r, 2 + b);
        if (Math.abs(l - thr) < margin) return null;
        v = v * 2 + (l > thr ? 1 : 0);
      }
      vals.push(v);
    }
    if (check(vals[0], vals[1]) !== vals[2]) return null;
    return vals[0] * 65536 + vals[1];
  }
  return { W: W, H: H, TWO32: TWO32, paint: paint, read: read, nowMs: nowMs };
})();
`;

/** Camera page, before its scripts run: getUserMedia returns the time-code canvas at 30 fps. */
const CAMERA_INIT_JS = String.raw`
(function () {
  var P = window.__ltPattern, stream = null;
  function source() {
    if (stream) return stream;
    var canvas = document.createElement('canvas');
    canvas.width = P.W; canvas.height = P.H;
    var ctx = canvas.getContext('2d');
    var n = 0;
    function loop() { P.paint(ctx, n++); window.__ltPaints = n; requestAnimationFrame(loop); }
    loop();
    stream = canvas.captureStream(30);
    window.__ltCanvas = canvas;
    return stream;
  }
  // Note when MediaRecorder hands over each chunk (the product's own handler still gets every event).
  window.__ltChunks = [];
  var Orig = window.MediaRecorder;
  if (Orig) {
    window.MediaRecorder = class extends Orig {
      constructor(s, o) {
        super(s, o);
        this.addEventListener('dataavailable', function (e) { window.__ltChunks.push([performance.timeOrigin + performance.now(), e.data.size]); });
      }
    };
  }
  var md = navigator.mediaDevices;
  if (!md) return;
  Object.defineProperty(md, 'getUserMedia', { configurable: true, writable: true, value: function (constraints) {
    if (constraints && constraints.audio) return Promise.reject(new DOMException('no audio in the latency test', 'NotFoundError'));
    return Promise.resolve(new MediaStream(source().getVideoTracks().map(function (t) { return t.clone(); })));
  } });
  Object.defineProperty(md, 'enumerateDevices', { configurable: true, writable: true, value: function () {
    return Promise.resolve([{ deviceId: 'latency-canvas', groupId: 'latency', kind: 'videoinput', label: 'Latency time code', toJSON: function () { return this; } }]);
  } });
})();
`;

/**
 * Read-out on a page: `window.__lt.attach(getVideo)` reads every frame the video shows
 * (requestVideoFrameCallback), decodes the time code and records latency; it also samples the
 * player's state (lead over the buffered end, playback rate, seeks, stalls).
 */
const READER_JS = String.raw`
window.__lt = (function () {
  var P = window.__ltPattern;
  var canvas = document.createElement('canvas');
  var ctx = canvas.getContext('2d', { willReadFrequently: true });
  var st;
  function fresh() {
    return { since: now(), samples: [], bad: 0, callbacks: 0, leads: [], rates: [], seeks: 0, waiting: 0, stalled: 0,
      rateChanges: 0, firstPresented: null, lastPresented: null, quality0: null, sizes: {} };
  }
  function now() { return performance.timeOrigin + performance.now(); }
  st = fresh();
  var video = null, handle = null, lastCb = 0, totalGood = 0;
  function quality(v) {
    var q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
    return q ? { total: q.totalVideoFrames, dropped: q.droppedVideoFrames } : null;
  }
  function onFrame(_n, meta) {
    var t = now();
    handle = null;
    lastCb = performance.now();
    var v = video;
    if (!v) return;
    handle = v.requestVideoFrameCallback(onFrame);
    st.callbacks++;
    if (st.firstPresented === null) st.firstPresented = meta.presentedFrames;
    st.lastPresented = meta.presentedFrames;
    var w = meta.width || v.videoWidth, h = meta.height || v.videoHeight;
    if (!w || !h) { st.bad++; return; }
    var key = w + 'x' + h; st.sizes[key] = (st.sizes[key] || 0) + 1;
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
    ctx.drawImage(v, 0, 0, w, h);
    var painted = P.read(ctx, w, h);
    if (painted === null) { st.bad++; return; }
    var lat = (t % P.TWO32) - painted;
    if (lat < -P.TWO32 / 2) lat += P.TWO32;
    if (lat < 0 || lat > 10000) { st.bad++; return; }
    totalGood++;
    var b = v.buffered, ahead = b.length > 0 ? (b.end(b.length - 1) - meta.mediaTime) * 1000 : NaN;
    st.samples.push([t, lat, meta.mediaTime, painted, ahead]);
  }
  function watch(getVideo) {
    var v = getVideo();
    if (v !== video) {
      if (video && handle !== null) video.cancelVideoFrameCallback(handle);
      handle = null;
      video = v;
      if (v) {
        ['seeking', 'waiting', 'stalled', 'ratechange'].forEach(function (ev) {
          v.addEventListener(ev, function () {
            if (v !== video) return;
            if (ev === 'seeking') st.seeks++; else if (ev === 'waiting') st.waiting++; else if (ev === 'stalled') st.stalled++; else st.rateChanges++;
          });
        });
      }
    }
    if (!video) return;
    // A re-started stream can lose a pending callback: re-arm after 1 s without frames.
    if (handle === null || performance.now() - lastCb > 1000) {
      if (handle !== null) video.cancelVideoFrameCallback(handle);
      handle = video.requestVideoFrameCallback(onFrame);
      lastCb = performance.now();
    }
    var b = video.buffered;
    if (b.length > 0) st.leads.push([now(), (b.end(b.length - 1) - video.currentTime) * 1000, video.playbackRate, b.length]);
  }
  return {
    attach: function (getVideo) { setInterval(function () { watch(getVideo); }, 100); watch(getVideo); },
    good: function () { return totalGood; },
    reset: function () { st = fresh(); if (video) st.quality0 = quality(video); },
    collect: function () { var r = st; r.until = now(); r.quality1 = video ? quality(video) : null; return JSON.stringify(r); },
  };
})();
`;

/** Viewer page, before its scripts run: note when each binary WebSocket message arrives, and its size. */
const VIEWER_INIT_JS = String.raw`
(function () {
  window.__ltRx = [];
  var Orig = window.WebSocket;
  window.WebSocket = class extends Orig {
    constructor(u, p) {
      super(u, p);
      this.addEventListener('message', function (e) {
        if (typeof e.data === 'string') return;
        window.__ltRx.push([performance.timeOrigin + performance.now(), e.data.byteLength !== undefined ? e.data.byteLength : e.data.size]);
      });
    }
  };
})();
`;

/** Viewer page: read the tile's <video>. */
const VIEWER_ATTACH_JS = `${READER_JS}
window.__lt.attach(function () { return document.querySelector('.tile video'); });
`;

/** Floor page: the same pattern painted in the page, shown by a <video> straight from captureStream. */
const FLOOR_JS = `${PATTERN_JS}${READER_JS}
(function () {
  var P = window.__ltPattern;
  var canvas = document.createElement('canvas');
  canvas.width = P.W; canvas.height = P.H;
  var ctx = canvas.getContext('2d');
  var n = 0;
  function loop() { P.paint(ctx, n++); requestAnimationFrame(loop); }
  loop();
  var video = document.createElement('video');
  video.muted = true; video.playsInline = true; video.autoplay = true;
  video.width = P.W; video.height = P.H;
  document.body.appendChild(video);
  video.srcObject = canvas.captureStream(30);
  video.play().catch(function () {});
  window.__lt.attach(function () { return video; });
})();
`;

// ---------------------------------------------------------------------------------------------
// Node side.
// ---------------------------------------------------------------------------------------------

interface Collected {
  since: number;
  until: number;
  /** [wall ms, latency ms, mediaTime s, painted ms mod 2^32, media buffered after the shown frame ms] */
  samples: [number, number, number, number, number | null][];
  bad: number;
  callbacks: number;
  /** [wall ms, lead over buffered end ms, playbackRate, buffered ranges] */
  leads: [number, number, number, number][];
  seeks: number;
  waiting: number;
  stalled: number;
  rateChanges: number;
  firstPresented: number | null;
  lastPresented: number | null;
  quality0: { total: number; dropped: number } | null;
  quality1: { total: number; dropped: number } | null;
  sizes: Record<string, number>;
}

interface Summary {
  samples: number;
  badDecodes: number;
  seconds: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  min: number | null;
  mean: number | null;
  /** Distinct frames shown per second (requestVideoFrameCallback callbacks). */
  fps: number;
  /** Distinct decoded time codes per second (a repeated frame is not counted twice). */
  distinctFps: number;
  /** Median of the last third minus median of the first third, ms. */
  drift: number | null;
  /** Longest gap between two shown frames, ms. */
  maxFrameGapMs: number | null;
  player?: {
    leadP50Ms: number | null;
    leadP95Ms: number | null;
    leadMaxMs: number | null;
    fractionAtCatchUpRate: number;
    seeks: number;
    waiting: number;
    stalled: number;
    rateChanges: number;
    droppedFrames: number | null;
    decodedFrames: number | null;
    maxBufferedRanges: number;
    /** Media buffered after the frame being shown (the player's own delay), ms. */
    aheadP50Ms: number | null;
    aheadP95Ms: number | null;
    /** Latency minus that: age of the newest buffered media (capture, encode, chunking, network, append), ms. */
    ingestP50Ms: number | null;
    ingestP95Ms: number | null;
  };
  frameSizes: Record<string, number>;
}

interface ChunkStats {
  count: number;
  intervalMs: { p50: number | null; p95: number | null; max: number | null };
  bytes: { p50: number | null; p95: number | null; max: number | null };
}

function parseArgs(argv: string[]): { seconds: number; warmup: number; floorSeconds: number; out: string } {
  const opts = { seconds: 30, warmup: 3, floorSeconds: 10, out: 'bench-results/latency-basic.json' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? (a.split('=', 2) as [string, string]) : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const num = (): number => {
      const n = Number(value());
      if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} needs a non-negative number`);
      return n;
    };
    if (flag === '--seconds') opts.seconds = num();
    else if (flag === '--warmup') opts.warmup = num();
    else if (flag === '--floor-seconds') opts.floorSeconds = num();
    else if (flag === '--out') opts.out = value();
    else if (flag === '--help' || flag === '-h') {
      console.log('npx tsx scripts/measure-latency.ts [--seconds 30] [--warmup 3] [--floor-seconds 10] [--out bench-results/latency-basic.json]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (opts.seconds <= 0) throw new Error('--seconds must be > 0');
  return opts;
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

function median(values: number[]): number | null {
  return percentile([...values].sort((a, b) => a - b), 50);
}

const round = (v: number | null, digits = 1): number | null => (v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits);

function summarize(c: Collected, withPlayer: boolean): Summary {
  const seconds = (c.until - c.since) / 1000;
  const lat = c.samples.map((s) => s[1]);
  const sorted = [...lat].sort((a, b) => a - b);
  const third = (c.until - c.since) / 3;
  const first = c.samples.filter((s) => s[0] < c.since + third).map((s) => s[1]);
  const last = c.samples.filter((s) => s[0] >= c.until - third).map((s) => s[1]);
  const m1 = median(first);
  const m3 = median(last);
  let maxGap: number | null = null;
  for (let i = 1; i < c.samples.length; i++) maxGap = Math.max(maxGap ?? 0, c.samples[i]![0] - c.samples[i - 1]![0]);
  const distinct = new Set(c.samples.map((s) => s[3])).size;
  const summary: Summary = {
    samples: lat.length,
    badDecodes: c.bad,
    seconds: round(seconds, 2)!,
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.length ? sorted[sorted.length - 1]! : null),
    min: round(sorted.length ? sorted[0]! : null),
    mean: round(lat.length ? lat.reduce((a, b) => a + b, 0) / lat.length : null),
    fps: round(c.callbacks / seconds)!,
    distinctFps: round(distinct / seconds)!,
    drift: m1 !== null && m3 !== null ? round(m3 - m1) : null,
    maxFrameGapMs: round(maxGap),
    frameSizes: c.sizes,
  };
  if (withPlayer) {
    const leads = c.leads.map((l) => l[1]).sort((a, b) => a - b);
    const withAhead = c.samples.filter((x): x is [number, number, number, number, number] => x[4] !== null);
    const ahead = stats(withAhead.map((x) => x[4]));
    const ingest = stats(withAhead.map((x) => x[1] - x[4]));
    summary.player = {
      leadP50Ms: round(percentile(leads, 50), 0),
      leadP95Ms: round(percentile(leads, 95), 0),
      leadMaxMs: round(leads.length ? leads[leads.length - 1]! : null, 0),
      fractionAtCatchUpRate: round(c.leads.length ? c.leads.filter((l) => l[2] > 1).length / c.leads.length : 0, 3)!,
      seeks: c.seeks,
      waiting: c.waiting,
      stalled: c.stalled,
      rateChanges: c.rateChanges,
      droppedFrames: c.quality0 && c.quality1 ? c.quality1.dropped - c.quality0.dropped : null,
      decodedFrames: c.quality0 && c.quality1 ? c.quality1.total - c.quality0.total : null,
      maxBufferedRanges: Math.max(0, ...c.leads.map((l) => l[3])),
      aheadP50Ms: ahead.p50,
      aheadP95Ms: ahead.p95,
      ingestP50Ms: ingest.p50,
      ingestP95Ms: ingest.p95,
    };
  }
  return summary;
}

/** Whole-machine CPU counters, to tell how busy the machine was while sampling. */
function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const c of os.cpus()) {
    const t = c.times.user + c.times.nice + c.times.sys + c.times.irq + c.times.idle;
    total += t;
    busy += t - c.times.idle;
  }
  return { busy, total };
}

/** Fraction of the machine's CPU time that was busy between two readings. */
function busyBetween(a: { busy: number; total: number }, b: { busy: number; total: number }): number {
  return b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0;
}

/** CPU seconds used so far by this process and all its descendants (the browsers), from /proc (Linux). */
function treeCpuSeconds(): number | null {
  try {
    const ticks = 100; // USER_HZ on Linux
    const parent = new Map<number, number>();
    const used = new Map<number, number>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      } catch {
        continue; // gone meanwhile
      }
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(f[1]));
      used.set(Number(name), (Number(f[11]) + Number(f[12])) / ticks);
    }
    let total = 0;
    for (const [pid, secs] of used) {
      for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) {
        if (p === process.pid) {
          total += secs;
          break;
        }
      }
    }
    return total;
  } catch {
    return null;
  }
}

/** Which product code was measured: commit, and the source files changed since (best effort). */
function codeVersion(): { commit: string | null; changedFiles: string[] } {
  const git = (...args: string[]): string | null => {
    try {
      return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trimEnd();
    } catch {
      return null;
    }
  };
  const status = git('status', '--porcelain', '--', 'src', 'public');
  return { commit: git('rev-parse', '--short', 'HEAD'), changedFiles: status ? status.split('\n').map((l) => l.slice(3)) : [] };
}

/** Polls `expr` in the page until it is truthy. */
async function waitIn(page: Page, expr: string, what: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await page.evaluate(expr)) return;
    await page.waitForTimeout(100);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** Runs one measurement window on a page that has `window.__lt` attached. */
type Sampled = Collected & {
  /** Fraction of all cores busy during the window. */
  cpuBusy: number;
  /** Fraction of all cores used by this script, its server and its browsers during the window. */
  cpuOurs: number | null;
  loadAvg: number;
};

async function sample(page: Page, warmupS: number, seconds: number, hooks: { start?(): Promise<void>; end?(): Promise<void> } = {}): Promise<Sampled> {
  await page.waitForTimeout(warmupS * 1000);
  await page.evaluate('window.__lt.reset()');
  await hooks.start?.();
  const cpu0 = cpuTimes();
  const ours0 = treeCpuSeconds();
  const t0 = Date.now();
  await page.waitForTimeout(seconds * 1000);
  const cpuBusy = busyBetween(cpu0, cpuTimes());
  const ours1 = treeCpuSeconds();
  const cpuOurs = ours0 !== null && ours1 !== null ? (ours1 - ours0) / ((Date.now() - t0) / 1000) / os.cpus().length : null;
  await hooks.end?.();
  const collected = JSON.parse((await page.evaluate('window.__lt.collect()')) as string) as Collected;
  return { ...collected, cpuBusy, cpuOurs, loadAvg: os.loadavg()[0]! };
}

function stats(values: number[]): { p50: number | null; p95: number | null; max: number | null } {
  const s = [...values].sort((a, b) => a - b);
  return { p50: round(percentile(s, 50), 0), p95: round(percentile(s, 95), 0), max: round(s.length ? s[s.length - 1]! : null, 0) };
}

function printTable(rows: [string, Summary][]): void {
  const cols: [string, (s: Summary) => string][] = [
    ['samples', (s) => String(s.samples)],
    ['bad', (s) => String(s.badDecodes)],
    ['p50 ms', (s) => fmt(s.p50)],
    ['p95 ms', (s) => fmt(s.p95)],
    ['p99 ms', (s) => fmt(s.p99)],
    ['max ms', (s) => fmt(s.max)],
    ['fps', (s) => fmt(s.fps)],
    ['drift ms', (s) => fmt(s.drift)],
    ['max gap ms', (s) => fmt(s.maxFrameGapMs)],
  ];
  const nameW = Math.max(4, ...rows.map(([n]) => n.length));
  const widths = cols.map(([h], i) => Math.max(h.length, ...rows.map(([, s]) => cols[i]![1](s).length)));
  const line = (cells: string[]): string => cells.join(' | ');
  console.log(line(['path'.padEnd(nameW), ...cols.map(([h], i) => h.padStart(widths[i]!))]));
  console.log(line(['-'.repeat(nameW), ...widths.map((w) => '-'.repeat(w))]));
  for (const [name, s] of rows) console.log(line([name.padEnd(nameW), ...cols.map(([, f], i) => f(s).padStart(widths[i]!))]));
}

function fmt(v: number | null): string {
  return v === null ? '-' : String(v);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const log = (m: string): void => console.error(`[latency] ${m}`);
  // How busy the machine is before we start anything: other work skews every number below.
  const idle0 = cpuTimes();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const backgroundBusy = busyBetween(idle0, cpuTimes());
  const server = await startTestServer();
  const browsers: Browser[] = [];
  try {
    const [camBrowser, viewBrowser] = await Promise.all([launchChromium(), launchChromium()]);
    browsers.push(camBrowser, viewBrowser);
    log(`server ${server.url}, chromium ${camBrowser.version()}`);

    // Camera: the real camera page, with getUserMedia replaced by the time-code canvas.
    const camCtx = await newContext(camBrowser, { width: 800, height: 900 });
    await camCtx.addInitScript(PATTERN_JS + CAMERA_INIT_JS);
    const cam = await camCtx.newPage();
    cam.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') log(`camera ${m.type()}: ${m.text()}`);
    });
    cam.on('pageerror', (e) => log(`camera page error: ${e.message}`));
    await cam.goto(server.page('/camera?autostart=1&name=Latency&resolution=480&audio=0'));
    await waitIn(cam, "document.body.dataset.state === 'live'", 'the camera page to go live', 15_000);
    const camInfo = (await cam.evaluate(
      "(function(){var v=document.getElementById('preview');var t=v&&v.srcObject&&v.srcObject.getVideoTracks()[0];return JSON.stringify({settings:t?t.getSettings():null,message:document.getElementById('message').textContent});})()",
    )) as string;
    log(`camera live: ${camInfo}`);

    // Viewer: the real viewer page in another browser, read back frame by frame.
    const viewCtx = await newContext(viewBrowser);
    await viewCtx.addInitScript(VIEWER_INIT_JS);
    const viewer = await viewCtx.newPage();
    viewer.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') log(`viewer ${m.type()}: ${m.text()}`);
    });
    viewer.on('pageerror', (e) => log(`viewer page error: ${e.message}`));
    await viewer.goto(server.page('/?camera=Latency'));
    await viewer.evaluate(PATTERN_JS + VIEWER_ATTACH_JS);
    await waitIn(viewer, "!!document.querySelector('.tile[data-playing=\"1\"]')", 'the viewer to show the first frame', 15_000);
    await waitIn(viewer, 'window.__lt.good() > 0', 'a decodable time code in the viewer', 10_000);
    log(`viewer playing; warming up ${opts.warmup} s, then sampling ${opts.seconds} s`);
    // The camera page's paint rate (requestAnimationFrame), to tell a starved camera from a starved viewer.
    const paints = async (): Promise<[number, number]> => [Date.now(), Number(await cam.evaluate('window.__ltPaints || 0'))];
    let paints0: [number, number] = [0, 0];
    let paints1: [number, number] = [0, 0];
    const product = await sample(viewer, opts.warmup, opts.seconds, {
      start: async () => void (paints0 = await paints()),
      end: async () => void (paints1 = await paints()),
    });
    const cameraPaintFps = round((paints1[1] - paints0[1]) / ((paints1[0] - paints0[0]) / 1000));
    const inWindow = (list: [number, number][]): [number, number][] => list.filter(([t]) => t >= product.since && t <= product.until);
    const sent = inWindow(JSON.parse((await cam.evaluate('JSON.stringify(window.__ltChunks)')) as string) as [number, number][]);
    const received = inWindow(JSON.parse((await viewer.evaluate('JSON.stringify(window.__ltRx)')) as string) as [number, number][]);
    const chunkStats = (list: [number, number][]): ChunkStats => ({
      count: list.length,
      intervalMs: stats(list.slice(1).map(([t], i) => t - list[i]![0])),
      bytes: stats(list.map(([, n]) => n)),
    });
    // Camera chunk → viewer message: same bytes plus the protocol's frame header; match in order.
    const delivery: number[] = [];
    let from = 0;
    for (const [t, n] of sent) {
      const i = received.findIndex(([rt, rn], k) => k >= from && rn === n + HEADER_BYTES && rt >= t);
      if (i < 0) continue;
      delivery.push(received[i]![0] - t);
      from = i + 1;
    }
    const cameraChunks = chunkStats(sent);
    const chunks = { ...chunkStats(received), deliveryMs: stats(delivery), matched: delivery.length };
    await viewer.close();
    await camCtx.close();

    // The floor: same pattern, same viewer browser, no codec, no network.
    let floor: Sampled | null = null;
    if (opts.floorSeconds > 0) {
      log(`measuring the floor for ${opts.floorSeconds} s`);
      const floorCtx = await newContext(viewBrowser);
      const fp = await floorCtx.newPage();
      fp.on('pageerror', (e) => log(`floor page error: ${e.message}`));
      await fp.setContent('<!doctype html><html><body style="margin:0;background:#000"></body></html>');
      await fp.evaluate(FLOOR_JS);
      await waitIn(fp, 'window.__lt.good() > 0', 'a decodable time code on the floor page', 10_000);
      floor = await sample(fp, Math.min(opts.warmup, 2), opts.floorSeconds);
      await floorCtx.close();
    }

    const ours = summarize(product, true);
    const floorSummary = floor ? summarize(floor, false) : null;
    const rows: [string, Summary][] = [['MediaRecorder→WS→MSE (product)', ours]];
    if (floorSummary) rows.push(['canvas→<video>, no codec (floor)', floorSummary]);
    console.log('');
    printTable(rows);
    const p = ours.player!;
    console.log('');
    console.log(
      `player: lead over buffered end p50 ${fmt(p.leadP50Ms)} / p95 ${fmt(p.leadP95Ms)} / max ${fmt(p.leadMaxMs)} ms; ` +
        `at catch-up rate ${Math.round(p.fractionAtCatchUpRate * 100)}% of the time; ${p.seeks} seeks, ${p.waiting} waiting, ${p.stalled} stalled, ` +
        `${p.rateChanges} rate changes; decoded ${fmt(p.decodedFrames)} frames, dropped ${fmt(p.droppedFrames)}; up to ${p.maxBufferedRanges} buffered range(s)`,
    );
    console.log(
      `split: media buffered after the shown frame p50 ${fmt(p.aheadP50Ms)} / p95 ${fmt(p.aheadP95Ms)} ms (player); ` +
        `age of the newest buffered media p50 ${fmt(p.ingestP50Ms)} / p95 ${fmt(p.ingestP95Ms)} ms (capture→encode→chunk→network→append)`,
    );
    console.log(`camera canvas painted at ${fmt(cameraPaintFps)} fps (requestAnimationFrame; captureStream(30) takes at most 30)`);
    console.log(
      `chunks from the camera's MediaRecorder: ${cameraChunks.count} in the window, every p50 ${fmt(cameraChunks.intervalMs.p50)} / p95 ${fmt(cameraChunks.intervalMs.p95)} / max ${fmt(cameraChunks.intervalMs.max)} ms, ` +
        `${fmt(cameraChunks.bytes.p50)} bytes p50`,
    );
    console.log(
      `chunks at the viewer: ${chunks.count} in the window, every p50 ${fmt(chunks.intervalMs.p50)} / p95 ${fmt(chunks.intervalMs.p95)} / max ${fmt(chunks.intervalMs.max)} ms; ` +
        `camera → viewer page (WebSocket + server) p50 ${fmt(chunks.deliveryMs.p50)} / p95 ${fmt(chunks.deliveryMs.p95)} / max ${fmt(chunks.deliveryMs.max)} ms (${chunks.matched} matched)`,
    );
    const slices: string[] = [];
    for (let t = product.since; t + 2500 <= product.until; t += 5000) {
      const m = median(product.samples.filter(([w]) => w >= t && w < t + 5000).map(([, l]) => l));
      slices.push(m === null ? '-' : String(Math.round(m)));
    }
    console.log(`median latency per 5 s: ${slices.join(' ')} ms`);
    if (floorSummary && ours.p50 !== null && floorSummary.p50 !== null) console.log(`over the floor: p50 +${round(ours.p50 - floorSummary.p50)} ms`);
    const cores = os.cpus().length;
    const pct = (v: number | null): string => (v === null ? '?' : `${Math.round(v * 100)}%`);
    const others = (c: Sampled): number | null => (c.cpuOurs === null ? null : Math.max(0, c.cpuBusy - c.cpuOurs));
    const busyNote = (label: string, c: Sampled): string =>
      `${label}: machine CPU ${pct(c.cpuBusy)} busy (this run ${pct(c.cpuOurs)}, other processes ${pct(others(c))}), 1-min load ${c.loadAvg.toFixed(1)} on ${cores} cores`;
    console.log(
      [`before the run: machine CPU ${pct(backgroundBusy)} busy`, busyNote('while sampling ours', product), ...(floor ? [busyNote('the floor', floor)] : [])].join('\n'),
    );
    const othersBusy = others(product);
    const loaded = backgroundBusy > 0.25 || (othersBusy !== null ? othersBusy > 0.15 : product.cpuBusy > 0.85);
    if (loaded) console.log('WARNING: other processes used the CPU while sampling: these numbers include CPU contention. Re-run when the machine is quiet.');

    const out = path.resolve(opts.out);
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(
      out,
      JSON.stringify(
        {
          when: new Date().toISOString(),
          chromium: camBrowser.version(),
          code: codeVersion(),
          options: opts,
          camera: { url: '/camera?autostart=1&name=Latency&resolution=480&audio=0', source: 'canvas.captureStream(30), 640x480 time code' },
          product: ours,
          floor: floorSummary,
          machine: { cores: os.cpus().length, cpuBusyBefore: round(backgroundBusy, 3), cpuBusyWhileSampling: round(product.cpuBusy, 3), cpuThisRunWhileSampling: round(product.cpuOurs, 3), loadAvg1: round(product.loadAvg, 2), floorCpuBusy: floor ? round(floor.cpuBusy, 3) : null },
          chunksAtViewer: chunks,
          chunksFromCamera: cameraChunks,
          cameraPaintFps,
          series: {
            product: product.samples.map(([t, l]) => [Math.round(t - product.since), round(l)]),
            productLead: product.leads.map(([t, l, r]) => [Math.round(t - product.since), Math.round(l), r]),
          },
        },
        null,
        2,
      ),
    );
    console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
  } finally {
    await Promise.allSettled(browsers.map((b) => b.close()));
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
