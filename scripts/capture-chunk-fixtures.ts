// Records real WebCodecs chunk streams as a viewer receives them: the product's own camera page in
// headless Chromium (fake camera and microphone, `?transport=webcodecs`) streams through the real
// server to a WebSocket viewer, which writes test/fixtures/<name>.frames (each binary frame as
// received, after a u32 big-endian length) and <name>.stream.json (the `stream` message that
// started it: the decoders' setup).
// Run: npx tsx scripts/capture-chunk-fixtures.ts   (needs Debian's chromium)
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLAG_AUDIO, FLAG_KEY } from '../src/shared/protocol.ts';
import { launchChromium, newContext } from '../test/helpers/browser.ts';
import { connectViewer, startTestServer } from '../test/helpers/server.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures');
const RECORD_MS = 2500;

async function record(codec: 'h264' | 'vp8', name: string): Promise<void> {
  const server = await startTestServer();
  const browser = await launchChromium();
  try {
    const viewer = await connectViewer(server.wsUrl);
    const page = await (await newContext(browser)).newPage();
    await page.goto(server.page(`/camera?autostart=1&name=Fixture&resolution=480&fps=30&audio=1&transport=webcodecs&codec=${codec}&bitrate=300&keyframes=1000`));
    const info = await viewer.until(() => (viewer.messages.find((m) => m.type === 'cameras' && m.cameras.some((c) => c.videoCodec)) ? viewer.messages : null), 'a camera with codecs', 10_000);
    const camera = info.flatMap((m) => (m.type === 'cameras' ? m.cameras : [])).find((c) => c.videoCodec)!;
    viewer.send({ type: 'subscribe', cameraId: camera.id, chunks: true });
    const stream = await viewer.message('stream');
    const from = viewer.frames.length;
    await new Promise((resolve) => setTimeout(resolve, RECORD_MS));
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
    console.log(`${name}: ${video.length} video chunks (${keys} keyframes), ${frames.length - video.length} audio chunks, ${bytes} bytes; ${JSON.stringify(stream)}`);
    viewer.close();
  } finally {
    await browser.close();
    await server.stop();
  }
}

await record('h264', 'chromium-webcodecs-h264-opus');
await record('vp8', 'chromium-webcodecs-vp8-opus');
