// Records real fragmented MP4 from headless Chromium's MediaRecorder (fake camera + microphone) and
// writes test/fixtures/chromium-*.mp4 plus *.chunks.json (byte length of each chunk as delivered).
// Run: npx tsx scripts/capture-mp4-fixtures.ts   (needs Debian's chromium; ffprobe for the check)
// `--summary-only [name ...]` skips recording and prints the summary of the files already there (by
// default the two made here; e.g. `webkit-h264-aac` for another), read back with
// src/media/mp4/fmp4-demuxer.ts (and ffprobe's codec names, when ffprobe is installed).
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { MediaFrame, Tracks } from '../src/media/frames.ts';
import { Fmp4Demuxer } from '../src/media/mp4/fmp4-demuxer.ts';
import { readBoxHeader } from '../src/media/mp4/boxes.ts';
import { CHROMIUM, CHROMIUM_FLAGS } from '../test/helpers/browser.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures');
const RECORD_MS = 4000;
const TIMESLICE_MS = 100;

/** What the page is asked to record. */
interface RecordOptions {
  /** Tried in order: the first that `MediaRecorder.isTypeSupported` accepts is used. */
  mimeTypes: string[];
  keyFrameIntervalMs: number;
  videoBitsPerSecond: number;
  audioBitsPerSecond: number;
  durationMs: number;
  timesliceMs: number;
}

/** What the page sends back: chunks in delivery order (base64) and what the browser chose. */
interface RecordResult {
  chunks: string[];
  asked: string;
  supported: Record<string, boolean>;
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
  const supported = {};
  for (const m of o.mimeTypes) supported[m] = MediaRecorder.isTypeSupported(m);
  const asked = o.mimeTypes.find((m) => supported[m]);
  if (!asked) return { chunks: [], supported, asked: '', mimeType: '', width: 0, height: 0, frameRate: 0, userAgent: navigator.userAgent };
  const video = { width: { exact: 320 }, height: { exact: 240 } };
  let stream;
  try { stream = await navigator.mediaDevices.getUserMedia({ video, audio: true }); }
  catch { stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: true }); }
  const s = stream.getVideoTracks()[0].getSettings();
  const rec = new MediaRecorder(stream, {
    mimeType: asked,
    videoBitsPerSecond: o.videoBitsPerSecond,
    audioBitsPerSecond: o.audioBitsPerSecond,
    videoKeyFrameIntervalDuration: o.keyFrameIntervalMs,
  });
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
  return { chunks, supported, asked, mimeType: rec.mimeType, width: s.width, height: s.height, frameRate: s.frameRate, userAgent: navigator.userAgent };
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
  const profile = await mkdtemp(join(tmpdir(), 'capture-mp4-chromium-'));
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

async function writeFixture(name: string, result: RecordResult): Promise<void> {
  console.log(`${name}: isTypeSupported ${JSON.stringify(result.supported)}`);
  if (result.asked === '') throw new Error(`${name}: this Chromium records none of the MP4 types asked for`);
  const chunks = result.chunks.map((b64) => Buffer.from(b64, 'base64'));
  await writeFile(join(FIXTURES, `${name}.mp4`), Buffer.concat(chunks));
  await writeFile(join(FIXTURES, `${name}.chunks.json`), JSON.stringify(chunks.map((c) => c.length)) + '\n');
  console.log(
    `${name}: asked ${result.asked}, recorded ${result.mimeType}, camera ${result.width}x${result.height}@${result.frameRate}, ` +
      `${result.userAgent}`,
  );
}

// --- Summary: read each fixture back with the demuxer, list its top-level boxes, ask ffprobe. ----

/** Top-level boxes of a whole file, as `type@offset`. */
function topLevelBoxes(bytes: Uint8Array): string[] {
  const out: string[] = [];
  for (let at = 0; at < bytes.length; ) {
    const h = readBoxHeader(bytes, at, bytes.length - at, at);
    if (h === null) break;
    out.push(`${h.type}@${at}`);
    if (h.size === 0) break;
    at += h.size;
  }
  return out;
}

function ffprobeCodecs(file: string): string {
  try {
    const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,profile,width,height,sample_rate,channels', '-of', 'compact', file], {
      encoding: 'utf8',
    });
    return out.trim().split('\n').join('; ');
  } catch (error) {
    return `ffprobe failed: ${(error as Error).message}`;
  }
}

async function summarize(name: string): Promise<void> {
  const file = join(FIXTURES, `${name}.mp4`);
  const bytes = new Uint8Array(await readFile(file));
  const sizes = JSON.parse(await readFile(join(FIXTURES, `${name}.chunks.json`), 'utf8')) as number[];
  const demuxer = new Fmp4Demuxer();
  const tracks: Tracks[] = [];
  const frames: MediaFrame[] = [];
  let at = 0;
  for (const n of sizes) {
    for (const e of demuxer.push(bytes.subarray(at, at + n))) {
      if (e.kind === 'tracks') tracks.push(e.tracks);
      else frames.push(e.frame);
    }
    at += n;
  }
  const boxes = topLevelBoxes(bytes);
  const describe = (t: Tracks): string =>
    [
      t.video ? `video ${t.video.codec} ${t.video.width}x${t.video.height}` : 'no video',
      t.audio ? `audio ${t.audio.codec} ${t.audio.sampleRate} Hz ${t.audio.channels} ch` : 'no audio',
    ].join(', ');
  const video = frames.filter((f) => f.track === 'video');
  const audio = frames.filter((f) => f.track === 'audio');
  const ms = (us: number): string => (us / 1000).toFixed(1);
  const nonEmpty = sizes.filter((n) => n > 0);
  console.log(
    [
      `\n${name}.mp4: ${bytes.length} bytes in ${sizes.length} chunks (${sizes.length - nonEmpty.length} empty; first ${sizes.slice(0, 4).join(', ')})`,
      `  top-level boxes: ${boxes.join(' ')}`,
      `  ${boxes.filter((b) => b.startsWith('moof')).length} fragments; tracks: ${tracks.map(describe).join(' | ')}`,
      `  ${video.length} video frames (keyframes at ms ${video.filter((f) => f.key).map((f) => ms(f.timestamp)).join(', ')}), ` +
        `${audio.length} audio packets (first durations ${audio.slice(0, 3).map((f) => ms(f.duration)).join(', ')} ms)`,
      `  video ms ${ms(video[0]?.timestamp ?? 0)}..${ms(video.at(-1)?.timestamp ?? 0)}, audio ms ${ms(audio[0]?.timestamp ?? 0)}..${ms(audio.at(-1)?.timestamp ?? 0)}`,
      `  ffprobe: ${ffprobeCodecs(file)}`,
    ].join('\n'),
  );
}

async function main(): Promise<void> {
  const named = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const names = named.length > 0 ? named : ['chromium-h264-opus', 'chromium-vp9-opus'];
  if (!process.argv.includes('--summary-only')) {
    const { server, url } = await startServer();
    try {
      const base = {
        durationMs: RECORD_MS,
        timesliceMs: TIMESLICE_MS,
        keyFrameIntervalMs: 1000,
        videoBitsPerSecond: 200_000,
        audioBitsPerSecond: 32_000,
      };
      const [h264, vp9] = await recordChromium(url, [
        { ...base, mimeTypes: ['video/mp4;codecs=avc1,opus', 'video/mp4;codecs=avc1.42E01E,opus'] },
        { ...base, mimeTypes: ['video/mp4;codecs=vp9,opus', 'video/mp4;codecs=vp09.00.10.08,opus', 'video/mp4'] },
      ]);
      await writeFixture('chromium-h264-opus', h264!);
      await writeFixture('chromium-vp9-opus', vp9!);
    } finally {
      server.close();
    }
  }
  for (const name of names) await summarize(name);
}

await main();
