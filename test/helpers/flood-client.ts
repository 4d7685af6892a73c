// A client that holds one camera link (and, for the unread-viewer kind, the viewer link) and floods
// the server with what the protocol allows: as many sockets as one address may open, each a
// "camera" sending valid but costly input as fast as it can (or, of the unread-viewer kind, a viewer
// that never reads), and opening again whenever it is closed. Run as its own process (it must not
// share the server's event loop). Prints what it did as one JSON line.
// Usage: node --import tsx test/helpers/flood-client.ts '{"url":"wss://…/ws?key=…","viewerUrl":"wss://…/ws?key=<viewer key>","address":"127.0.0.77","sockets":64,"seconds":60,"kinds":["tiny-webm",…]}'
import { readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { WebmParser } from '../../src/media/webm/webm-parser.ts';
import { FLAG_AUDIO, FLAG_KEY, FRAME_KIND_CHUNK, FRAME_KIND_MEDIA, MAX_BINARY_BYTES, MAX_TEXT_BYTES, PROTOCOL_VERSION, encodeFrame } from '../../src/shared/protocol.ts';
import type { FloodArgs, FloodKind, FloodStats } from './flood-rig.ts';
import { FIXTURES, loadChunkFixture } from './server.ts';


const args = JSON.parse(process.argv[2] ?? '{}') as FloodArgs;
const deadline = Date.now() + args.seconds * 1000;
const stats: FloodStats = { connections: 0, messages: 0, bytes: 0, closes: {}, byKind: {} };

// ---- what the sockets send, made once ----
const webm = new Uint8Array(readFileSync(path.join(FIXTURES, 'chromium-vp8-opus.webm')));
const parser = new WebmParser();
const events = parser.push(webm);
const videoTrack = parser.tracks!.find((t) => t.type === 'video')!.number;
const firstCluster = events.find((e) => e.kind === 'cluster')!.offset;
const init = webm.subarray(0, firstCluster);
/** One Cluster of unknown size packed with the smallest valid SimpleBlocks, filling a largest message. */
const bomb = ((): Uint8Array => {
  const out = new Uint8Array(MAX_BINARY_BYTES - 16);
  out.set([0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xe7, 0x81, 0x00]);
  // SimpleBlock: ID A3, size 5: track (1-byte vint), timecode i16, flags, one byte of "frame".
  let at = 15;
  for (let i = 0; at + 7 <= out.length; i++, at += 7) out.set([0xa3, 0x85, 0x80 | videoTrack, 0, 0, i === 0 ? 0x80 : 0, 0], at);
  return out;
})();
const chunkFixture = await loadChunkFixture('chromium-webcodecs-h264-opus');
const keyChunk = chunkFixture.frames.find((f) => (f.header.flags & FLAG_KEY) !== 0 && (f.header.flags & FLAG_AUDIO) === 0)!.payload;
const { video, audio } = chunkFixture.stream;

let nextId = 0;
/** One socket's messages, as fast as it takes them. */
function* script(kind: FloodKind, id: string): Generator<string | Uint8Array> {
  if (kind === 'unread-viewer') {
    // Security finding 3: a viewer (the viewer link) that never reads what it is sent (every
    // camera list, as flooding cameras rename themselves). It says one small thing a second: a
    // socket that reads nothing would not see the server let it go, and would not come back.
    yield JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, role: 'viewer' });
    for (;;) yield JSON.stringify({ type: 'clock', sent: Date.now() });
  }
  yield JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, role: 'camera', cameraId: id, secret: `${id}-flood-secret`, name: `Flood ${id}` });
  const media = (seq: number, payload: Uint8Array, kindByte = FRAME_KIND_MEDIA, flags = 0): Uint8Array => encodeFrame({ kind: kindByte, flags, channel: 0, seq, time: Date.now() }, payload);
  switch (kind) {
    case 'tiny-webm':
      // A real recording, one byte per message, over and over (each time a new stream).
      for (;;) {
        yield JSON.stringify({ type: 'stream', mime: 'video/webm;codecs=vp8,opus', width: 320, height: 240, fps: 30, audio: true });
        for (let i = 0; i < webm.length; i++) yield media(i, webm.subarray(i, i + 1));
      }
    case 'tiny-chunks': {
      yield JSON.stringify({ type: 'stream', format: 'chunks', width: 640, height: 480, fps: 30, audio: true });
      yield JSON.stringify({ type: 'codec', video, audio });
      yield media(0, keyChunk, FRAME_KIND_CHUNK, FLAG_KEY);
      // Then empty video chunks and one-byte sound, never another keyframe.
      const empty = new Uint8Array(0);
      const one = new Uint8Array(1);
      for (let seq = 1; ; seq++) yield seq % 2 ? media(seq, empty, FRAME_KIND_CHUNK, 0) : media(seq, one, FRAME_KIND_CHUNK, FLAG_AUDIO);
    }
    case 'block-bomb':
      yield JSON.stringify({ type: 'stream', mime: 'video/webm;codecs=vp8,opus', width: 320, height: 240, fps: 30, audio: true });
      yield media(0, init);
      for (let seq = 1; ; seq++) yield media(seq, bomb);
    case 'control':
      // What a camera may say, each changing what every viewer is sent.
      for (let i = 0; ; i++) yield JSON.stringify(i % 3 === 0 ? { type: 'name', name: `${'N'.repeat(60)}${i % 1000}` } : i % 3 === 1 ? { type: 'state', state: i % 2 ? 'paused' : 'live' } : { type: 'clock', sent: Date.now() });
    case 'big-json':
      for (;;) yield JSON.stringify({ type: 'clock', sent: Date.now(), pad: 'x'.repeat(MAX_TEXT_BYTES - 64) });
    case 'no-read':
      // Asks for answers and never reads them (its socket is paused).
      for (;;) yield JSON.stringify({ type: 'clock', sent: Date.now() });
  }
}

async function socketLoop(kind: FloodKind): Promise<void> {
  // A viewer that never reads says one small thing a second; every other kind sends as fast as it can.
  const slowViewer = kind === 'unread-viewer';
  const mine = (stats.byKind[kind] ??= { messages: 0, bytes: 0 });
  while (Date.now() < deadline) {
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(slowViewer ? args.viewerUrl : args.url, { rejectUnauthorized: false, localAddress: args.address, perMessageDeflate: false });
      stats.connections++;
      const gen = script(kind, `flood-${nextId++ % 256}`);
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        resolve();
      };
      const end = setTimeout(() => ws.terminate(), Math.max(0, deadline - Date.now())).unref();
      const pump = (): void => {
        if (done || ws.readyState !== WebSocket.OPEN || Date.now() > deadline) return;
        // Full speed, but not an unbounded queue in this process.
        for (let n = 0; n < (slowViewer ? 1 : 256) && ws.bufferedAmount < 8 * 1024 * 1024; n++) {
          const next = gen.next();
          if (next.done) return;
          ws.send(next.value);
          const size = typeof next.value === 'string' ? next.value.length : next.value.byteLength;
          stats.messages++;
          stats.bytes += size;
          mine.messages++;
          mine.bytes += size;
        }
        if (slowViewer) setTimeout(pump, 1000);
        else setImmediate(pump);
      };
      ws.on('open', () => {
        if (kind === 'no-read' || slowViewer) (ws as unknown as { _socket: { pause(): void } })._socket.pause();
        pump();
      });
      ws.on('message', () => undefined);
      ws.on('unexpected-response', (req, res) => {
        const key = `http ${res.statusCode ?? 0}`;
        stats.closes[key] = (stats.closes[key] ?? 0) + 1;
        res.resume();
        req.destroy();
        // A refused upgrade (too many sockets): try again in a moment, as a flooder would.
        setTimeout(finish, 50);
      });
      ws.on('close', (code) => {
        clearTimeout(end);
        stats.closes[String(code)] = (stats.closes[String(code)] ?? 0) + 1;
        finish();
      });
      ws.on('error', () => setTimeout(finish, 50));
    });
  }
}

await Promise.all(Array.from({ length: args.sockets }, (_, i) => socketLoop(args.kinds[i % args.kinds.length]!)));
// (With no sockets, a control run: the same time with no flood.)
await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())));
console.log(JSON.stringify(stats));
