// A hostile client, run as its own process so it floods at full speed without sharing the server's
// event loop: garbage WebSocket messages from an invited address, credential guessing from another,
// and raw bytes at the TLS port. Prints what it did, and what it got back, as one JSON line.
// Usage: node --import tsx test/helpers/hostile-client.ts '{"port":…,"token":…,"seconds":…,"invited":"127.0.0.77","stranger":"127.0.0.66","fixture":"…webm"}'
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { request } from 'node:https';
import WebSocket from 'ws';
import { FRAME_KIND_MEDIA, MAX_BINARY_BYTES, PROTOCOL_VERSION, encodeFrame } from '../../src/shared/protocol.ts';

interface Args {
  port: number;
  token: string;
  seconds: number;
  invited: string;
  stranger: string;
  fixture: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const deadline = Date.now() + args.seconds * 1000;
const real = new Uint8Array(readFileSync(args.fixture));
const stats = {
  connections: 0,
  messages: 0,
  bytes: 0,
  closeCodes: {} as Record<string, number>,
  httpStatus: {} as Record<string, number>,
  upgradeStatus: {} as Record<string, number>,
  rawConnections: 0,
  rawBytes: 0,
};
const count = (table: Record<string, number>, key: string | number): void => {
  table[String(key)] = (table[String(key)] ?? 0) + 1;
};
const random = (n: number): Uint8Array => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (Math.random() * 256) | 0;
  return out;
};
const pick = <T>(items: T[]): T => items[(Math.random() * items.length) | 0]!;
const media = (seq: number, payload: Uint8Array): Uint8Array => encodeFrame({ kind: FRAME_KIND_MEDIA, flags: 0, channel: 0, seq }, payload);

/** Real WebM with a few bytes flipped, from the start (so the parser reads into the damage). */
function mutated(): Uint8Array {
  const cut = real.slice(0, 2000 + ((Math.random() * (real.byteLength - 2000)) | 0));
  for (let i = 0; i < 1 + ((Math.random() * 8) | 0); i++) cut[(Math.random() * cut.byteLength) | 0] = (Math.random() * 256) | 0;
  return cut;
}

/** What one hostile connection sends, message after message, as fast as the socket takes them. */
type Script = () => Generator<string | Uint8Array>;
let hostileId = 0;
const scripts: Record<string, Script> = {
  *binaryBeforeHello() {
    for (;;) yield random(1 + ((Math.random() * 65536) | 0));
  },
  *textGarbage() {
    for (;;) yield pick(['{"type":', 'null', '[]', '{"type":"hello"}', '\u0000\u0001', 'x'.repeat(1000), JSON.stringify({ type: 'subscribe', cameraId: '../../etc' })]);
  },
  *randomWebm() {
    yield JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, role: 'camera', cameraId: `hostile-${hostileId++ % 8}`, secret: 'hostile-camera-secret', name: '<b>hostile</b>' });
    yield JSON.stringify({ type: 'stream', mime: 'video/webm;codecs=vp8', width: 1, height: 1, fps: 1, audio: false });
    for (let seq = 0; ; seq++) yield media(seq, random(1 + ((Math.random() * 65536) | 0)));
  },
  *mutatedWebm() {
    yield JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, role: 'camera', cameraId: `hostile-${hostileId++ % 8}`, secret: 'hostile-camera-secret', name: 'x'.repeat(64) });
    yield JSON.stringify({ type: 'stream', mime: 'video/webm;codecs=vp8,opus', width: null, height: null, fps: null, audio: true });
    yield media(0, mutated());
    for (let seq = 1; ; seq++) yield media(seq, random(4096));
  },
  *badHeaders() {
    yield JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, role: 'camera', cameraId: `hostile-${hostileId++ % 8}`, secret: 'hostile-camera-secret', name: 'H' });
    yield JSON.stringify({ type: 'stream', mime: 'video/webm;codecs=vp8', width: 1, height: 1, fps: 1, audio: false });
    for (;;) yield pick([Uint8Array.of(9, 0, 0, 0, 0, 0, 0, 0), Uint8Array.of(1, 0xff, 0, 0, 0, 0, 0, 0), Uint8Array.of(1), media(7, random(100))]);
  },
  *oversized() {
    yield new Uint8Array(MAX_BINARY_BYTES + 1);
  },
  *subscribeFlood() {
    yield JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, role: 'viewer' });
    for (;;) yield JSON.stringify(pick([{ type: 'subscribe', cameraId: 'healthy' }, { type: 'subscribe', cameraId: `nobody-${Math.random()}`.replace('.', '') }, { type: 'command', cameraId: 'healthy', command: 'pause', requestId: '1' }]));
  },
};

/** Runs one script per connection, reconnecting, until the deadline. */
async function wsLoop(): Promise<void> {
  const names = Object.keys(scripts);
  while (Date.now() < deadline) {
    const name = pick(names);
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(`wss://127.0.0.1:${args.port}/ws?token=${args.token}`, { rejectUnauthorized: false, localAddress: args.invited, perMessageDeflate: false });
      stats.connections++;
      const gen = scripts[name]!();
      let done = false;
      const finish = (): void => {
        if (!done) {
          done = true;
          resolve();
        }
      };
      const pump = (): void => {
        if (done || ws.readyState !== WebSocket.OPEN) return;
        if (Date.now() > deadline) {
          ws.terminate();
          return;
        }
        // Full speed, but not an unbounded queue in this process.
        while (ws.bufferedAmount < 4 * 1024 * 1024) {
          const next = gen.next();
          if (next.done) return;
          ws.send(next.value);
          stats.messages++;
          stats.bytes += typeof next.value === 'string' ? next.value.length : next.value.byteLength;
          if (stats.messages % 64 === 0) break;
        }
        setImmediate(pump);
      };
      ws.on('open', pump);
      ws.on('message', () => undefined);
      ws.on('unexpected-response', (req, res) => {
        count(stats.upgradeStatus, res.statusCode ?? 0);
        res.resume();
        req.destroy();
        finish();
      });
      ws.on('close', (code) => {
        count(stats.closeCodes, code);
        finish();
      });
      ws.on('error', () => finish());
    });
  }
}

/** Guesses credentials from another address, over HTTP and the WebSocket, until locked out (and on). */
async function strangerLoop(): Promise<void> {
  while (Date.now() < deadline) {
    const guess = Buffer.from(random(16)).toString('base64url');
    if (Math.random() < 0.5) {
      const status = await new Promise<number>((resolve) => {
        const req = request({ host: '127.0.0.1', port: args.port, path: pick([`/?key=${guess}`, `/camera?token=${guess}`, '/api/cameras', `/assets/viewer.js?key=${guess}`]), localAddress: args.stranger, rejectUnauthorized: false, headers: Math.random() < 0.3 ? { Cookie: `__Host-webcam=cv.${guess}` } : {} }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', () => resolve(0));
        req.end();
      });
      count(stats.httpStatus, status);
    } else {
      await new Promise<void>((resolve) => {
        const ws = new WebSocket(`wss://127.0.0.1:${args.port}/ws${Math.random() < 0.5 ? `?key=${guess}` : ''}`, { rejectUnauthorized: false, localAddress: args.stranger });
        ws.on('unexpected-response', (req, res) => {
          count(stats.upgradeStatus, res.statusCode ?? 0);
          res.resume();
          req.destroy();
          resolve();
        });
        ws.on('open', () => {
          count(stats.upgradeStatus, 101);
          ws.terminate();
          resolve();
        });
        ws.on('error', () => resolve());
      });
    }
  }
}

/** Random bytes at the TLS port. */
async function rawLoop(): Promise<void> {
  while (Date.now() < deadline) {
    await new Promise<void>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: args.port, localAddress: args.stranger });
      stats.rawConnections++;
      s.on('connect', () => {
        const junk = random(65536);
        stats.rawBytes += junk.byteLength;
        s.write(junk);
        s.end();
      });
      s.on('data', () => undefined);
      s.on('close', () => resolve());
      s.on('error', () => resolve());
      s.setTimeout(2000, () => s.destroy());
    });
  }
}

await Promise.all([wsLoop(), wsLoop(), wsLoop(), wsLoop(), strangerLoop(), strangerLoop(), rawLoop()]);
console.log(JSON.stringify(stats));
