// Records real MediaRecorder WebM from headless Chromium and Firefox ESR (fake camera + microphone)
// and writes test/fixtures/*.webm plus *.chunks.json (byte length of each chunk as delivered).
// Run: npx tsx scripts/capture-fixtures.ts   (needs Debian's chromium and firefox-esr)
// Afterwards it prints a summary of each fixture, read back with src/media/webm/webm-parser.ts.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';
import { WebmParser, type WebmEvent } from '../src/media/webm/webm-parser.ts';
import { CHROMIUM, CHROMIUM_FLAGS } from '../test/helpers/browser.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures');
const RECORD_MS = 2500;
const TIMESLICE_MS = 100;

/** What the page is asked to record. */
interface RecordOptions {
  audio: boolean;
  mimeType: string;
  keyFrameIntervalMs?: number;
  videoBitsPerSecond: number;
  audioBitsPerSecond: number;
  durationMs: number;
  timesliceMs: number;
}

/** What the page sends back: chunks in delivery order (base64) and what the browser chose. */
interface RecordResult {
  chunks: string[];
  mimeType: string;
  width: number;
  height: number;
  frameRate: number;
  userAgent: string;
}

// Runs in the browser. Kept as a string so neither tsc nor tsx rewrites it.
const PAGE = `<!doctype html><meta charset="utf-8"><title>capture</title><script>
function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
window.record = async (o) => {
  const video = { width: { exact: 320 }, height: { exact: 240 } };
  let stream;
  try { stream = await navigator.mediaDevices.getUserMedia({ video, audio: o.audio }); }
  catch { stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: o.audio }); }
  const s = stream.getVideoTracks()[0].getSettings();
  const options = { mimeType: o.mimeType, videoBitsPerSecond: o.videoBitsPerSecond, audioBitsPerSecond: o.audioBitsPerSecond };
  if (o.keyFrameIntervalMs) options.videoKeyFrameIntervalDuration = o.keyFrameIntervalMs;
  const rec = new MediaRecorder(stream, options);
  const chunks = [];
  let chain = Promise.resolve();
  rec.ondataavailable = (e) => {
    const blob = e.data;
    chain = chain.then(() => blob.arrayBuffer()).then((b) => { chunks.push(toBase64(new Uint8Array(b))); });
  };
  const stopped = new Promise((resolve) => { rec.onstop = resolve; });
  rec.start(o.timesliceMs);
  await new Promise((resolve) => setTimeout(resolve, o.durationMs));
  rec.stop();
  await stopped;
  await chain;
  for (const t of stream.getTracks()) t.stop();
  return { chunks, mimeType: rec.mimeType, width: s.width, height: s.height, frameRate: s.frameRate, userAgent: navigator.userAgent };
};
</script>`;

async function startServer(): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/` };
}


async function recordChromium(url: string, runs: RecordOptions[]): Promise<RecordResult[]> {
  const profile = await mkdtemp(join(tmpdir(), 'capture-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
  });
  try {
    const results: RecordResult[] = [];
    for (const options of runs) {
      const page = await context.newPage();
      await page.goto(url);
      results.push((await page.evaluate('window.record(' + JSON.stringify(options) + ')')) as RecordResult);
      await page.close();
    }
    return results;
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

async function recordFirefox(url: string, options: RecordOptions): Promise<RecordResult> {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: '/usr/bin/firefox-esr',
    headless: true,
    acceptInsecureCerts: true,
    extraPrefsFirefox: {
      'media.navigator.streams.fake': true,
      'media.navigator.permission.disabled': true,
    },
  });
  try {
    const page = await browser.newPage();
    await page.goto(url);
    return (await page.evaluate('window.record(' + JSON.stringify(options) + ')')) as RecordResult;
  } finally {
    await browser.close();
  }
}

async function writeFixture(name: string, result: RecordResult): Promise<void> {
  const chunks = result.chunks.map((b64) => Buffer.from(b64, 'base64'));
  await writeFile(join(FIXTURES, `${name}.webm`), Buffer.concat(chunks));
  await writeFile(join(FIXTURES, `${name}.chunks.json`), JSON.stringify(chunks.map((c) => c.length)) + '\n');
  console.log(
    `${name}: recorded ${result.mimeType}, camera ${result.width}x${result.height}@${result.frameRate}, ` +
      `${result.userAgent}`,
  );
}

// --- Summary: read each fixture back with the parser, and with a naive whole-file walker that also
// knows timestamps (Cluster Timestamp + block timecode), to cross-check offsets and time keyframes.

interface WalkedBlock {
  offset: number;
  track: number;
  keyframe: boolean;
  timeMs: number;
}

/** Walks a whole WebM in memory (no limits, no streaming): an independent reference for the summary. */
function walk(bytes: Uint8Array): { clusters: number[]; blocks: WalkedBlock[] } {
  const clusters: number[] = [];
  const blocks: WalkedBlock[] = [];
  let clusterTime = 0;
  const vlen = (b: number): number => Math.clz32(b) - 23;
  const masters = new Set([0x18538067, 0x1f43b675]); // Segment, Cluster: descend
  let p = 0;
  while (p < bytes.length) {
    const start = p;
    const il = vlen(bytes[p] as number);
    let id = 0;
    for (let k = 0; k < il; k++) id = id * 256 + (bytes[p + k] as number);
    p += il;
    const sl = vlen(bytes[p] as number);
    let size = (bytes[p] as number) & (0xff >> sl);
    let ones = size === 0xff >> sl;
    for (let k = 1; k < sl; k++) {
      if (bytes[p + k] !== 0xff) ones = false;
      size = size * 256 + (bytes[p + k] as number);
    }
    p += sl;
    if (id === 0x1f43b675) clusters.push(start);
    if (masters.has(id)) continue; // descend (sizes are unknown in Chrome's files anyway)
    if (ones) throw new Error(`unknown size for ${id.toString(16)} at ${start}`);
    if (id === 0xe7) clusterTime = Number(bytes.subarray(p, p + size).reduce((a, b) => a * 256 + b, 0));
    if (id === 0xa3) {
      const tl = vlen(bytes[p] as number);
      const track = (bytes[p] as number) & (0xff >> tl);
      const rel = new DataView(bytes.buffer, bytes.byteOffset + p + tl, 2).getInt16(0);
      blocks.push({ offset: start, track, keyframe: ((bytes[p + tl + 2] as number) & 0x80) !== 0, timeMs: clusterTime + rel });
    }
    p += size;
  }
  return { clusters, blocks };
}

async function summarize(name: string): Promise<void> {
  const bytes = new Uint8Array(await readFile(join(FIXTURES, `${name}.webm`)));
  const sizes = JSON.parse(await readFile(join(FIXTURES, `${name}.chunks.json`), 'utf8')) as number[];
  const parser = new WebmParser();
  const events: WebmEvent[] = [];
  let at = 0;
  for (const n of sizes) {
    events.push(...parser.push(bytes.subarray(at, at + n)));
    at += n;
  }
  const tracks = parser.tracks ?? [];
  const video = tracks.find((t) => t.type === 'video');
  const clusters = events.filter((e) => e.kind === 'cluster');
  const blocks = events.filter((e) => e.kind === 'block');
  const ref = walk(bytes);
  const same =
    JSON.stringify(ref.clusters) === JSON.stringify(clusters.map((c) => c.offset)) &&
    JSON.stringify(ref.blocks.map((b) => [b.offset, b.track, b.keyframe])) ===
      JSON.stringify(blocks.map((b) => [b.offset, b.track, b.keyframe]));
  const videoKeys = ref.blocks.filter((b) => b.track === video?.number && b.keyframe);
  const clusterStartsWithVideoKey = clusters.filter((c) => {
    const first = blocks.find((b) => b.cluster === c.offset && b.track === video?.number);
    return first?.keyframe === true;
  }).length;
  const nonEmpty = sizes.filter((n) => n > 0);
  console.log(
    [
      `\n${name}.webm: ${bytes.length} bytes in ${sizes.length} chunks ` +
        `(${sizes.length - nonEmpty.length} empty; first ${sizes.slice(0, 4).join(', ')}; ` +
        `median ${nonEmpty.sort((a, b) => a - b)[nonEmpty.length >> 1]})`,
      `  init ${parser.initLength} bytes; tracks ${tracks.map((t) => `#${t.number} ${t.type} ${t.codecId}` + (t.width ? ` ${t.width}x${t.height}` : '')).join(', ')}`,
      `  ${clusters.length} clusters (${clusterStartsWithVideoKey} start with a video keyframe), ` +
        `${blocks.length} blocks (${blocks.filter((b) => b.track === video?.number).length} video)`,
      `  video keyframes at ms ${videoKeys.map((b) => b.timeMs).join(', ')}; ` +
        `last block at ${Math.max(...ref.blocks.map((b) => b.timeMs))} ms`,
      `  parser agrees with the whole-file walker: ${same}`,
    ].join('\n'),
  );
}

async function main(): Promise<void> {
  const names = ['chromium-vp8-opus', 'chromium-vp8', 'firefox-vp8-opus', 'chromium-h264-matroska'];
  if (process.argv.includes('--only-h264')) {
    // The picture recorder of a camera that records sound apart: H.264 in Matroska (Annex B, no CodecPrivate).
    const { server, url } = await startServer();
    try {
      const [mkv] = await recordChromium(url, [{ durationMs: RECORD_MS, timesliceMs: TIMESLICE_MS, audioBitsPerSecond: 32_000, audio: false, mimeType: 'video/x-matroska;codecs=avc1', keyFrameIntervalMs: 1000, videoBitsPerSecond: 300_000 }]);
      await writeFixture('chromium-h264-matroska', mkv!);
    } finally {
      server.close();
    }
    await summarize('chromium-h264-matroska');
    return;
  }
  if (!process.argv.includes('--summary-only')) {
    const { server, url } = await startServer();
    try {
      const base = { durationMs: RECORD_MS, timesliceMs: TIMESLICE_MS, audioBitsPerSecond: 32_000 };
      const [av, v] = await recordChromium(url, [
        { ...base, audio: true, mimeType: 'video/webm;codecs=vp8,opus', keyFrameIntervalMs: 1000, videoBitsPerSecond: 300_000 },
        { ...base, audio: false, mimeType: 'video/webm;codecs=vp8', keyFrameIntervalMs: 1000, videoBitsPerSecond: 300_000 },
      ]);
      await writeFixture('chromium-vp8-opus', av!);
      await writeFixture('chromium-vp8', v!);
      const ff = await recordFirefox(url, { ...base, audio: true, mimeType: 'video/webm;codecs=vp8,opus', videoBitsPerSecond: 300_000 });
      await writeFixture('firefox-vp8-opus', ff);
    } finally {
      server.close();
    }
  }
  for (const name of names) await summarize(name);
}

await main();
