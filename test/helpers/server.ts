// Test helpers: a real server on free ports, and WebSocket clients that record what they receive.
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { consoleLogger } from '../../src/server/log.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import type { ConnectionOptions } from '../../src/server/transport/ws/web-sockets.ts';
import type { Feature } from '../../src/server/core/feature.ts';
import type { Limits, RecordingConfig } from '../../src/server/config.ts';
import type { RateLimitOptions } from '../../src/server/rate-limit.ts';
import type { PreAuthLimits } from '../../src/server/pre-auth.ts';
import { FRAME_KIND_CHUNK, HEADER_BYTES, PROTOCOL_VERSION, decodeFrame, encodeFrame, type FrameHeader } from '../../src/shared/protocol.ts';
import type { ServerMessage } from '../../src/shared/schemas.ts';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** A fixture's bytes and its real MediaRecorder chunk boundaries. */
export async function loadFixture(name: string): Promise<{ bytes: Uint8Array; chunks: Uint8Array[] }> {
  const bytes = new Uint8Array(await readFile(path.join(FIXTURES, `${name}.webm`)));
  const sizes = JSON.parse(await readFile(path.join(FIXTURES, `${name}.chunks.json`), 'utf8')) as number[];
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const n of sizes) {
    chunks.push(bytes.subarray(at, at + n));
    at += n;
  }
  return { bytes, chunks };
}

/** A real WebCodecs chunk stream as a viewer received it (see test/fixtures/README.md). */
export async function loadChunkFixture(name: string): Promise<{ stream: Extract<ServerMessage, { type: 'stream' }>; frames: Received[] }> {
  const stream = JSON.parse(await readFile(path.join(FIXTURES, `${name}.stream.json`), 'utf8')) as Extract<ServerMessage, { type: 'stream' }>;
  const bytes = new Uint8Array(await readFile(path.join(FIXTURES, `${name}.frames`)));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: Received[] = [];
  for (let at = 0; at < bytes.byteLength; ) {
    const n = view.getUint32(at);
    const { header, payload } = decodeFrame(bytes.subarray(at + 4, at + 4 + n));
    frames.push({ header, payload });
    at += 4 + n;
  }
  return { stream, frames };
}

/**
 * When to send each frame of a capture to replay it in real time, from each frame's own time (ms;
 * for a chunk capture, `cameraTimes`): ms from the loop's start, never going back (audio and video
 * interleave), and how long one loop lasts (the last frame's time plus a frame at 30 fps).
 */
export function replaySchedule(times: readonly number[]): { at: number[]; loopMs: number } {
  const first = times[0] ?? 0;
  let last = 0;
  const at = times.map((t) => (last = Math.max(last, t - first)));
  return { at, loopMs: last + 1000 / 30 };
}

/**
 * Replays a capture in real time, round and round (one stream: its timeline goes on), calling
 * `send` with each frame when it is due and its sequence number; `stop` ends it and waits.
 */
export function replayInRealTime(frames: readonly Received[], send: (frame: Received, seq: number) => void): { stop: () => Promise<void> } {
  if (frames.length === 0) throw new Error('nothing to replay: the capture has no frames');
  const { at, loopMs } = replaySchedule(cameraTimes(frames));
  let stopped = false;
  const running = (async () => {
    const start = performance.now();
    for (let seq = 0; ; seq++) {
      const i = seq % frames.length;
      const due = start + Math.floor(seq / frames.length) * loopMs + at[i]! - performance.now();
      if (due > 0) await new Promise((r) => setTimeout(r, due));
      if (stopped) return;
      send(frames[i]!, seq);
    }
  })();
  return {
    stop: () => {
      stopped = true;
      return running;
    },
  };
}

/** The Node arguments `npm start` runs the server with (package.json's start script), to start it in a child process exactly as users do. */
export function npmStartArgs(): string[] {
  return npmStart().args;
}

/** The environment variables `npm start` sets (`NAME=value` before the command), added to this process's. */
export function npmStartEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ...npmStart().env };
}

function npmStart(): { env: Record<string, string>; args: string[] } {
  const pkg = JSON.parse(readFileSync(path.join(FIXTURES, '..', '..', 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.split(' ');
  const env: Record<string, string> = {};
  while (/^[A-Z_]+=/.test(words[0] ?? '')) {
    const [name, value] = words.shift()!.split('=') as [string, string];
    env[name] = value;
  }
  const [command, ...args] = words;
  if (command !== 'node') throw new Error(`npm start does not run node: ${pkg.scripts.start}`);
  return { env, args };
}

/** The access secret test servers use (`?token=` grants full access). */
export const TEST_TOKEN = 'test-token-0123456789';

/** A started test server and how to reach it. */
export interface TestServer extends RunningServer {
  /** `https://127.0.0.1:<port>`, with no credential. */
  url: string;
  /** A page URL with `?token=` added (full access), e.g. page('/camera?autostart=1'). */
  page(pathAndQuery: string): string;
  /** The WebSocket URL with `?token=` (full access). */
  wsUrl: string;
  /** The WebSocket URL with no credential. */
  wsBare: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** Starts the real server on free ports with a throw-away data dir and TEST_TOKEN as its secret. */
export async function startTestServer(
  ws: Partial<ConnectionOptions> = {},
  more: { rateLimit?: Partial<RateLimitOptions>; noAuth?: boolean; token?: string | null; limits?: Partial<Limits>; features?: readonly Feature[]; preAuth?: Partial<PreAuthLimits>; recording?: Partial<RecordingConfig>; segmentMs?: number; dataDir?: string } = {},
): Promise<TestServer> {
  const dataDir = more.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'wsw-test-')));
  const token = more.noAuth || more.token === null ? undefined : (more.token ?? TEST_TOKEN);
  // Tests try many wrong credentials on purpose: the lock-out is tested on its own.
  const rateLimit = more.rateLimit ?? { maxFailures: 1_000_000 };
  const running = await startServer(
    { port: 0, httpPort: await freePort(), host: '127.0.0.1', dataDir, cert: undefined, key: undefined, token, noAuth: more.noAuth ?? false, limits: more.limits, recording: more.recording },
    consoleLogger(true),
    { ws, rateLimit, ...(more.features ? { features: more.features } : {}), ...(more.preAuth ? { preAuth: more.preAuth } : {}), ...(more.segmentMs ? { segmentMs: more.segmentMs } : {}) },
  );
  const url = `https://127.0.0.1:${running.httpsPort}`;
  // The same object, not a copy: links change on rotation.
  return Object.assign(running, {
    url,
    page: (pathAndQuery: string) => withToken(`${url}${pathAndQuery}`, token),
    wsUrl: withToken(`wss://127.0.0.1:${running.httpsPort}/ws`, token),
    wsBare: `wss://127.0.0.1:${running.httpsPort}/ws`,
    dataDir,
    stop: async () => {
      await running.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  });
}

function withToken(url: string, token: string | undefined): string {
  if (token === undefined) return url;
  const u = new URL(url);
  u.searchParams.set('token', token);
  return u.toString();
}

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A received binary frame. */
export interface Received {
  header: FrameHeader;
  payload: Uint8Array;
}

/** A WebSocket client that records everything it receives. */
export class TestClient {
  readonly ws: WebSocket;
  readonly messages: ServerMessage[] = [];
  readonly frames: Received[] = [];
  closed: { code: number; reason: string } | null = null;
  /** The HTTP status when the server refused the upgrade. */
  refused: number | null = null;
  private waiters: (() => void)[] = [];

  constructor(url: string, headers: Record<string, string> = {}, localAddress?: string) {
    this.ws = new WebSocket(url, { rejectUnauthorized: false, headers, ...(localAddress ? { localAddress } : {}) });
    this.ws.on('unexpected-response', (req, res) => {
      this.refused = res.statusCode ?? 0;
      this.closed = { code: 1006, reason: `HTTP ${res.statusCode}` };
      res.resume();
      req.destroy();
      this.wake();
    });
    this.ws.on('open', () => this.wake());
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) {
        const bytes = new Uint8Array(data as Buffer);
        if (bytes.byteLength >= HEADER_BYTES) {
          const { header, payload } = decodeFrame(bytes);
          this.frames.push({ header, payload: payload.slice() });
        }
      } else {
        this.messages.push(JSON.parse(data.toString()) as ServerMessage);
      }
      this.wake();
    });
    this.ws.on('close', (code, reason) => {
      if (this.refused === null) this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    this.ws.on('error', () => undefined);
  }

  async opened(): Promise<void> {
    await this.until(() => this.ws.readyState === WebSocket.OPEN || this.closed, 'open');
    if (this.ws.readyState !== WebSocket.OPEN) throw new Error(`closed before open: ${JSON.stringify(this.closed)}`);
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  sendBinary(data: Uint8Array): void {
    this.ws.send(data);
  }

  /** Waits until `predicate` holds (checked on every message), or fails after `ms`. */
  async until<T>(predicate: () => T | undefined | null | false, what: string, ms = 3000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = predicate();
      if (v) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got messages ${JSON.stringify(this.messages.map((m) => m.type))}, ${this.frames.length} frames, closed ${JSON.stringify(this.closed)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The first message of a type (waiting for it). */
  message<K extends ServerMessage['type']>(type: K, where: (m: Extract<ServerMessage, { type: K }>) => boolean = () => true): Promise<Extract<ServerMessage, { type: K }>> {
    return this.until(() => this.messages.find((m): m is Extract<ServerMessage, { type: K }> => m.type === type && where(m as Extract<ServerMessage, { type: K }>)), `a "${type}" message`);
  }

  /** Waits for the connection to close; returns code and reason. */
  closedWith(ms = 3000): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closed, 'close', ms);
  }

  close(): void {
    this.ws.close();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** A connected camera that has said hello. */
/** The secret a test's camera device presents with its id (the same for every connection of that id). */
export function secretFor(cameraId: string): string {
  return `secret-of-${cameraId}-in-this-test`.slice(0, 128);
}

/** A camera's hello, as the device that registered `cameraId` (or another, with its own `secret`). */
export function cameraHello(cameraId: string, name: string, secret = secretFor(cameraId)): object {
  return { type: 'hello', protocol: PROTOCOL_VERSION, role: 'camera', cameraId, secret, name };
}

export async function connectCamera(wsUrl: string, cameraId: string, name: string): Promise<TestClient> {
  const c = new TestClient(wsUrl);
  await c.opened();
  c.send(cameraHello(cameraId, name));
  await c.message('welcome');
  return c;
}

/**
 * A connected camera that has started a WebCodecs chunk stream with `stream`'s decoder setup (from
 * a chunk fixture), after reporting a clock offset of `clockOffset` ms.
 */
export async function connectChunkCamera(wsUrl: string, cameraId: string, name: string, stream: Extract<ServerMessage, { type: 'stream' }>, clockOffset = 0): Promise<TestClient> {
  const c = await connectCamera(wsUrl, cameraId, name);
  c.send({ type: 'clock-offset', offset: clockOffset, rtt: 1 });
  c.send({ type: 'stream', format: 'chunks', width: stream.video?.width ?? null, height: stream.video?.height ?? null, fps: 30, audio: Boolean(stream.audio) });
  c.send({ type: 'codec', video: stream.video, audio: stream.audio });
  return c;
}

/** A connected viewer that has said hello. */
export async function connectViewer(wsUrl: string): Promise<TestClient> {
  const c = new TestClient(wsUrl);
  await c.opened();
  c.send({ type: 'hello', protocol: PROTOCOL_VERSION, role: 'viewer' });
  await c.message('welcome');
  return c;
}

/**
 * Replays a chunk fixture's frames on `camera` at ~30 fps, round and round, each stamped with
 * `time()` (now, unless a test wants its camera late); returns what stops it.
 */
export function replayChunks(camera: TestClient, frames: readonly Received[], time: () => number = Date.now): () => void {
  let seq = 0;
  const pump = setInterval(() => {
    const f = frames[seq % frames.length]!;
    camera.sendBinary(encodeFrame({ kind: FRAME_KIND_CHUNK, flags: f.header.flags, channel: 0, seq, time: time() }, f.payload));
    seq++;
  }, 33);
  return () => clearInterval(pump);
}

/** A camera streaming a real capture (WebCodecs H.264 + Opus) to a viewer subscribed to it: what tests watch while something else goes wrong. */
export async function healthyStream(wsUrl: string, cameraId: string, name: string): Promise<{ camera: TestClient; viewer: TestClient; stop(): void }> {
  const { stream, frames } = await loadChunkFixture('chromium-webcodecs-h264-opus');
  const camera = await connectChunkCamera(wsUrl, cameraId, name, stream);
  const viewer = await connectViewer(wsUrl);
  viewer.send({ type: 'subscribe', cameraId, chunks: true });
  await camera.message('wanted', (m) => m.wanted);
  const stopReplay = replayChunks(camera, frames);
  return {
    camera,
    viewer,
    stop() {
      stopReplay();
      camera.close();
      viewer.close();
    },
  };
}

export { concat } from './bytes.ts';

/**
 * Capture times as the camera stamped them, for replaying a chunk fixture into the server's ingest:
 * the fixtures hold 0 where the server did not know the camera's clock yet; such a frame gets the
 * time of the next frame that has one, less a frame interval.
 */
export function cameraTimes(frames: readonly Received[]): number[] {
  const times = frames.map((f) => f.header.time ?? 0);
  for (let i = times.length - 2; i >= 0; i--) if (!times[i]) times[i] = (times[i + 1] ?? 0) - 33;
  return times;
}
