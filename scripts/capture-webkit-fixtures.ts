// Records real MediaRecorder MP4 from WebKit (Debian's WebKitGTK MiniBrowser, mock camera and
// microphone; test/helpers/webkit.ts) and writes test/fixtures/webkit-h264-aac.mp4 (camera +
// microphone) and webkit-h264.mp4 (camera only), each with NAME.chunks.json beside it: the byte
// length of every `dataavailable` chunk in delivery order (they add up to the file).
// Run: npx tsx scripts/capture-webkit-fixtures.ts   (after test/webkit/setup.sh; --summary-only
// just prints the summary of the files there). The summary lists each chunk's boxes, the fragments'
// times (from tfdt/trun), and what ffprobe says (ffmpeg's ffprobe, if installed).
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchWebKit } from '../test/helpers/webkit.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures');
const RECORD_MS = 4000;
const TIMESLICE_MS = 100;

interface RecordOptions {
  audio: boolean;
  mimeType: string;
  videoBitsPerSecond: number;
  audioBitsPerSecond: number;
  durationMs: number;
  timesliceMs: number;
}

interface RecordResult {
  chunks: string[];
  /** ms after start() at which each chunk's dataavailable fired. */
  at: number[];
  mimeType: string;
  width: number;
  height: number;
  frameRate: number;
  sampleRate: number | null;
  userAgent: string;
}

// Runs in the browser; a string so that neither tsc nor tsx rewrites it.
const PAGE = `<!doctype html><meta charset="utf-8"><title>capture</title><script>
function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
window.record = async (o) => {
  let stream;
  try { stream = await navigator.mediaDevices.getUserMedia({ video: { width: { exact: 320 }, height: { exact: 240 } }, audio: o.audio }); }
  catch { stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: o.audio }); }
  const s = stream.getVideoTracks()[0].getSettings();
  const a = stream.getAudioTracks()[0];
  const rec = new MediaRecorder(stream, { mimeType: o.mimeType, videoBitsPerSecond: o.videoBitsPerSecond, audioBitsPerSecond: o.audioBitsPerSecond });
  const chunks = [];
  const at = [];
  let chain = Promise.resolve();
  let t0 = 0;
  rec.ondataavailable = (e) => {
    const blob = e.data;
    at.push(Math.round(performance.now() - t0));
    chain = chain.then(() => blob.arrayBuffer()).then((b) => { chunks.push(toBase64(new Uint8Array(b))); });
  };
  const stopped = new Promise((resolve) => { rec.onstop = resolve; });
  t0 = performance.now();
  rec.start(o.timesliceMs);
  await new Promise((resolve) => setTimeout(resolve, o.durationMs));
  rec.stop();
  await stopped;
  await chain;
  for (const t of stream.getTracks()) t.stop();
  return { chunks, at, mimeType: rec.mimeType, width: s.width, height: s.height, frameRate: s.frameRate,
    sampleRate: a ? a.getSettings().sampleRate ?? null : null, userAgent: navigator.userAgent };
};
</script>`;

async function startPageServer(): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  // http://127.0.0.1 is a secure context: getUserMedia and MediaRecorder work there.
  return { server, url: `http://127.0.0.1:${port}/` };
}

async function writeFixture(name: string, result: RecordResult): Promise<void> {
  const chunks = result.chunks.map((b64) => Buffer.from(b64, 'base64'));
  await writeFile(join(FIXTURES, `${name}.mp4`), Buffer.concat(chunks));
  await writeFile(join(FIXTURES, `${name}.chunks.json`), JSON.stringify(chunks.map((c) => c.length)) + '\n');
  console.log(
    `${name}: recorded ${result.mimeType}, camera ${result.width}x${result.height}@${result.frameRate}` +
      `${result.sampleRate ? `, microphone ${result.sampleRate} Hz` : ''}; dataavailable at ${result.at.join(', ')} ms; ${result.userAgent}`,
  );
}

// --- Summary: an independent little ISO BMFF walker (no limits, whole file in memory).

interface Box {
  type: string;
  start: number;
  size: number;
  /** Where the payload starts (after size, type and any 64-bit size). */
  body: number;
}

function boxes(bytes: Uint8Array, from: number, to: number): Box[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Box[] = [];
  for (let at = from; at + 8 <= to; ) {
    let size = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    let body = at + 8;
    if (size === 1) {
      size = Number(view.getBigUint64(at + 8));
      body += 8;
    } else if (size === 0) size = to - at;
    if (size < 8 || at + size > to) throw new Error(`bad box ${type} of ${size} bytes at ${at}`);
    out.push({ type, start: at, size, body });
    at += size;
  }
  return out;
}

const child = (bytes: Uint8Array, box: Box, type: string): Box | undefined => boxes(bytes, box.body, box.start + box.size).find((b) => b.type === type);
const children = (bytes: Uint8Array, box: Box, type: string): Box[] => boxes(bytes, box.body, box.start + box.size).filter((b) => b.type === type);

/** A full box's version and the number at `offset` after its version/flags, 32 or 64 bits by version. */
function versioned(bytes: Uint8Array, box: Box, offset: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes[box.body]!;
  return version === 1 ? Number(view.getBigUint64(box.body + 4 + offset * 2)) : view.getUint32(box.body + 4 + offset);
}

interface Track {
  id: number;
  handler: string;
  timescale: number;
  duration: number;
  codec: string;
}

function readMoov(bytes: Uint8Array, moov: Box): { timescale: number; duration: number; tracks: Track[]; mvex: boolean } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const mvhd = child(bytes, moov, 'mvhd')!;
  // mvhd: creation, modification (4 or 8 each), timescale (4), duration (4 or 8).
  const v1 = bytes[mvhd.body] === 1;
  const timescale = view.getUint32(mvhd.body + 4 + (v1 ? 16 : 8));
  const duration = v1 ? Number(view.getBigUint64(mvhd.body + 4 + 20)) : view.getUint32(mvhd.body + 4 + 12);
  const tracks: Track[] = [];
  for (const trak of children(bytes, moov, 'trak')) {
    const tkhd = child(bytes, trak, 'tkhd')!;
    const id = view.getUint32(tkhd.body + 4 + (bytes[tkhd.body] === 1 ? 16 : 8));
    const mdia = child(bytes, trak, 'mdia')!;
    const mdhd = child(bytes, mdia, 'mdhd')!;
    const m1 = bytes[mdhd.body] === 1;
    const hdlr = child(bytes, mdia, 'hdlr')!;
    const stsd = child(bytes, child(bytes, child(bytes, mdia, 'minf')!, 'stbl')!, 'stsd')!;
    tracks.push({
      id,
      handler: String.fromCharCode(...bytes.subarray(hdlr.body + 8, hdlr.body + 12)),
      timescale: view.getUint32(mdhd.body + 4 + (m1 ? 16 : 8)),
      duration: m1 ? Number(view.getBigUint64(mdhd.body + 4 + 20)) : view.getUint32(mdhd.body + 4 + 12),
      // stsd: version/flags, entry count, then the first sample entry (size, format).
      codec: String.fromCharCode(...bytes.subarray(stsd.body + 12, stsd.body + 16)),
    });
  }
  return { timescale, duration, tracks, mvex: child(bytes, moov, 'mvex') !== undefined };
}

/** A moof's per-track start (tfdt) and sample count and summed durations (trun, else tfhd's default). */
function readMoof(bytes: Uint8Array, moof: Box): { seq: number; trafs: { track: number; start: number; samples: number; duration: number | null; syncSamples: number }[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const mfhd = child(bytes, moof, 'mfhd')!;
  const trafs = children(bytes, moof, 'traf').map((traf) => {
    const tfhd = child(bytes, traf, 'tfhd')!;
    const tfhdFlags = view.getUint32(tfhd.body) & 0xffffff;
    const track = view.getUint32(tfhd.body + 4);
    let p = tfhd.body + 8;
    if (tfhdFlags & 0x1) p += 8; // base data offset
    if (tfhdFlags & 0x2) p += 4; // sample description index
    const defaultDuration = tfhdFlags & 0x8 ? view.getUint32(p) : null;
    if (tfhdFlags & 0x8) p += 4;
    if (tfhdFlags & 0x10) p += 4; // default sample size
    const defaultFlags = tfhdFlags & 0x20 ? view.getUint32(p) : 0;
    const tfdt = child(bytes, traf, 'tfdt');
    let samples = 0;
    let duration: number | null = 0;
    let syncSamples = 0;
    for (const trun of children(bytes, traf, 'trun')) {
      const flags = view.getUint32(trun.body) & 0xffffff;
      const count = view.getUint32(trun.body + 4);
      samples += count;
      const firstFlags = flags & 0x4 ? view.getUint32(trun.body + 8 + (flags & 0x1 ? 4 : 0)) : null;
      let q = trun.body + 8 + (flags & 0x1 ? 4 : 0) + (flags & 0x4 ? 4 : 0);
      const per = [0x100, 0x200, 0x400, 0x800].filter((f) => flags & f).length * 4;
      for (let i = 0; i < count; i++, q += per) {
        // sample_is_non_sync_sample is bit 16 of the sample flags.
        const sampleFlags = flags & 0x400 ? view.getUint32(q + (flags & 0x100 ? 4 : 0) + (flags & 0x200 ? 4 : 0)) : i === 0 && firstFlags !== null ? firstFlags : defaultFlags;
        if (!(sampleFlags & 0x10000)) syncSamples++;
        if (flags & 0x100) duration = duration === null ? null : duration + view.getUint32(q);
        else if (defaultDuration !== null) duration = duration === null ? null : duration + defaultDuration;
        else duration = null;
      }
    }
    return { track, start: tfdt ? versioned(bytes, tfdt, 0) : NaN, samples, duration, syncSamples };
  });
  return { seq: view.getUint32(mfhd.body + 4), trafs };
}

function ffprobe(file: string): string {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration,bit_rate:stream=index,codec_name,profile,width,height,sample_rate,channels,duration,nb_frames,r_frame_rate', '-of', 'compact', file], { encoding: 'utf8' });
  if (r.error) return `(no ffprobe: ${r.error.message})`;
  return (r.stdout + r.stderr).trim();
}

async function summarize(name: string): Promise<void> {
  const file = join(FIXTURES, `${name}.mp4`);
  const bytes = new Uint8Array(await readFile(file));
  const sizes = JSON.parse(await readFile(join(FIXTURES, `${name}.chunks.json`), 'utf8')) as number[];
  const top = boxes(bytes, 0, bytes.length);
  // Which top-level boxes begin in each chunk (a box may span chunks).
  const perChunk: string[] = [];
  let at = 0;
  for (const n of sizes) {
    const inside = top.filter((b) => b.start >= at && b.start < at + n).map((b) => `${b.type}${b.start + b.size > at + n ? '…' : ''}`);
    const startsMid = !top.some((b) => b.start === at);
    perChunk.push(`${n}${startsMid && n > 0 ? ' (mid-box)' : ''}: ${inside.join(' ') || '—'}`);
    at += n;
  }
  const moovBox = top.find((b) => b.type === 'moov');
  const moov = moovBox ? readMoov(bytes, moovBox) : null;
  const lines = [
    `\n${name}.mp4: ${bytes.length} bytes in ${sizes.length} chunks (sum ${sizes.reduce((a, b) => a + b, 0)})`,
    `  top-level boxes: ${top.map((b) => `${b.type}:${b.size}`).join(' ')}`,
    `  chunks: ${perChunk.join(' | ')}`,
  ];
  if (moov) {
    lines.push(
      `  moov: mvhd timescale ${moov.timescale}, duration ${moov.duration} (${(moov.duration / moov.timescale).toFixed(3)} s), mvex ${moov.mvex}; tracks ` +
        moov.tracks.map((t) => `#${t.id} ${t.handler} ${t.codec} timescale ${t.timescale} duration ${t.duration}`).join(', '),
    );
  }
  const scale = new Map((moov?.tracks ?? []).map((t) => [t.id, t] as const));
  for (const moof of top.filter((b) => b.type === 'moof')) {
    const { seq, trafs } = readMoof(bytes, moof);
    lines.push(
      `  moof #${seq} @${moof.start}: ` +
        trafs
          .map((t) => {
            const s = scale.get(t.track);
            const secs = (v: number | null): string => (v === null || !s ? '?' : (v / s.timescale).toFixed(3));
            const sync = s?.handler === 'vide' ? ` (${t.syncSamples} sync)` : '';
            return `${s?.handler ?? `track ${t.track}`} from ${secs(t.start)} s, ${t.samples} samples${sync}, ${secs(t.duration)} s`;
          })
          .join('; '),
    );
  }
  lines.push(`  ffprobe: ${ffprobe(file).split('\n').join('\n           ')}`);
  console.log(lines.join('\n'));
}

async function main(): Promise<void> {
  const names = ['webkit-h264-aac', 'webkit-h264'];
  if (!process.argv.includes('--summary-only')) {
    const { server, url } = await startPageServer();
    const webkit = await launchWebKit();
    try {
      const base = { mimeType: 'video/mp4', durationMs: RECORD_MS, timesliceMs: TIMESLICE_MS, videoBitsPerSecond: 200_000, audioBitsPerSecond: 32_000 };
      // A fresh page for each recording.
      for (const [name, audio] of [['webkit-h264-aac', true], ['webkit-h264', false]] as const) {
        await webkit.goto(url);
        await writeFixture(name, (await webkit.evaluate(`window.record(${JSON.stringify({ ...base, audio } satisfies RecordOptions)})`)) as RecordResult);
      }
    } finally {
      await webkit.close();
      server.close();
    }
  }
  for (const name of names) await summarize(name);
}

await main();
