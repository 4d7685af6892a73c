// Records real WebCodecs chunk streams as a viewer receives them: the product's own camera page in
// headless Chromium (fake camera and microphone, `?transport=webcodecs`) streams through the real
// server to a WebSocket viewer, which writes test/fixtures/<name>.frames (each binary frame as
// received, after a u32 big-endian length) and <name>.stream.json (the `stream` message that
// started it: the decoders' setup).
// Run: npx tsx scripts/capture-chunk-fixtures.ts [name ...]   (needs Debian's chromium; no name: all)
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLAG_AUDIO, FLAG_KEY } from '../src/shared/protocol.ts';
import { launchChromium, newContext } from '../test/helpers/browser.ts';
import { connectViewer, startTestServer } from '../test/helpers/server.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures');
/** One capture: the camera link's settings and how long the viewer keeps what it receives. */
interface Capture {
  codec: 'h264' | 'vp8';
  resolution: number;
  bitrateKbps: number;
  keyframesMs: number;
  recordMs: number;
  /** Film a generated busy picture (moving bars and grain) rather than the fake camera's simple one, which compresses to ~1 Mbit/s at most. */
  busy?: boolean;
  /** Leave resolution, bitrate and keyframes out of the link: the camera page's defaults (the values above are what those are, for the summary). */
  pageDefaults?: boolean;
}

const CAPTURES: Record<string, Capture> = {
  'chromium-webcodecs-h264-opus': { codec: 'h264', resolution: 480, bitrateKbps: 300, keyframesMs: 1000, recordMs: 2500 },
  'chromium-webcodecs-vp8-opus': { codec: 'vp8', resolution: 480, bitrateKbps: 300, keyframesMs: 1000, recordMs: 2500 },
  // What `npm run bench:fanout` replays: a camera at ~2 Mbit/s, keyframes every 2 s.
  'chromium-webcodecs-h264-opus-2mbps': { codec: 'h264', resolution: 480, bitrateKbps: 2000, keyframesMs: 2000, recordMs: 6000, busy: true },
  // What a phone sends with the camera page's defaults (720p, 2.5 Mbit/s, a keyframe every 2 s, sound
  // on): `npm run bench:flood`'s healthy camera.
  'chromium-webcodecs-h264-opus-720p': { codec: 'h264', resolution: 720, bitrateKbps: 2500, keyframesMs: 2000, recordMs: 6000, busy: true, pageDefaults: true },
};

/** Picture size for a resolution (its height): 4:3 at 480, 16:9 above. */
function pictureSize(resolution: number): [number, number] {
  return resolution <= 480 ? [640, 480] : [Math.round((resolution * 16) / 9), resolution];
}

/**
 * Writes a 30 fps, 2 s Y4M loop for Chromium's fake camera: colour bars moving across the picture
 * plus random grain, which an encoder cannot squeeze (so it spends the bitrate it is given).
 */
async function writeBusyY4m(file: string, [w, h]: [number, number]): Promise<void> {
  const frames = 60;
  const parts: Buffer[] = [Buffer.from(`YUV4MPEG2 W${w} H${h} F30:1 Ip A1:1 C420jpeg\n`)];
  let seed = 1;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff) - 128;
  for (let f = 0; f < frames; f++) {
    const y = Buffer.alloc(w * h);
    for (let row = 0; row < h; row++) {
      for (let col = 0; col < w; col++) y[row * w + col] = Math.max(0, Math.min(255, (((col + f * 8) >> 5) & 7) * 28 + 20 + (random() >> 3)));
    }
    const u = Buffer.alloc((w / 2) * (h / 2));
    const v = Buffer.alloc((w / 2) * (h / 2));
    for (let i = 0; i < u.length; i++) {
      const col = i % (w / 2);
      u[i] = 128 + ((((col * 2 + f * 8) >> 6) & 3) - 1.5) * 40;
      v[i] = 128 + (((i / (w / 2)) >> 5) & 1) * 50 - 25;
    }
    parts.push(Buffer.from('FRAME\n'), y, u, v);
  }
  await writeFile(file, Buffer.concat(parts));
}

async function record(name: string, c: Capture): Promise<void> {
  const server = await startTestServer();
  const dir = await mkdtemp(join(tmpdir(), 'capture-'));
  const y4m = join(dir, 'busy.y4m');
  if (c.busy) await writeBusyY4m(y4m, pictureSize(c.resolution));
  const browser = await launchChromium(c.busy ? [`--use-file-for-fake-video-capture=${y4m}`] : []);
  try {
    const viewer = await connectViewer(server.wsUrl);
    const page = await (await newContext(browser)).newPage();
    const settings = c.pageDefaults ? '' : `&resolution=${c.resolution}&fps=30&bitrate=${c.bitrateKbps}&keyframes=${c.keyframesMs}`;
    await page.goto(server.page(`/camera?autostart=1&name=Fixture&audio=1&transport=webcodecs&codec=${c.codec}${settings}`));
    const info = await viewer.until(() => (viewer.messages.find((m) => m.type === 'cameras' && m.cameras.some((c) => c.format === 'chunks')) ? viewer.messages : null), 'a chunk camera', 10_000);
    const camera = info.flatMap((m) => (m.type === 'cameras' ? m.cameras : [])).find((c) => c.format === 'chunks')!;
    // (A camera nobody watches encodes nothing: its codecs come once this viewer subscribes.)
    viewer.send({ type: 'subscribe', cameraId: camera.id, chunks: true });
    const stream = await viewer.message('stream');
    const from = viewer.frames.length;
    await new Promise((resolve) => setTimeout(resolve, c.recordMs));
    const frames = viewer.frames.slice(from);
    const parts: Buffer[] = [];
    for (const f of frames) {
      const bytes = Buffer.alloc(4 + 16 + f.payload.byteLength);
      bytes.writeUInt32BE(16 + f.payload.byteLength, 0);
      bytes.writeUInt8(f.header.kind, 4);
      bytes.writeUInt8(f.header.flags, 5);
      bytes.writeUInt16BE(f.header.channel, 6);
      bytes.writeUInt32BE(f.header.seq, 8);
      bytes.writeDoubleBE(f.header.time ?? 0, 12);
      bytes.set(f.payload, 20);
      parts.push(bytes);
    }
    await writeFile(join(FIXTURES, `${name}.frames`), Buffer.concat(parts));
    await writeFile(join(FIXTURES, `${name}.stream.json`), JSON.stringify(stream, null, 2) + '\n');
    const video = frames.filter((f) => (f.header.flags & FLAG_AUDIO) === 0);
    const keys = video.filter((f) => (f.header.flags & FLAG_KEY) !== 0).length;
    const bytes = parts.reduce((n, p) => n + p.byteLength, 0);
    const seconds = c.recordMs / 1000;
    console.log(`${name}: ${video.length} video chunks (${keys} keyframes), ${frames.length - video.length} audio chunks, ${bytes} bytes (${((bytes * 8) / seconds / 1e6).toFixed(2)} Mbit/s over ${seconds} s); ${JSON.stringify(stream)}`);
    viewer.close();
  } finally {
    await browser.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const wanted = process.argv.slice(2);
for (const name of wanted) if (!CAPTURES[name]) throw new Error(`unknown capture ${name}; known: ${Object.keys(CAPTURES).join(', ')}`);
for (const [name, c] of Object.entries(CAPTURES)) if (wanted.length === 0 || wanted.includes(name)) await record(name, c);
