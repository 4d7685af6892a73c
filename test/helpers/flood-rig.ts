// A flood from one camera link (flood-client.ts, in its own process, from one address at its socket
// limit) against the real server in this process, while a healthy WebCodecs camera streams to a
// viewer from another address. Measures what the issue asks of the server: its memory (RSS) before,
// during and after; how long its event loop stalls; and the healthy viewer's frame rate and gaps.
// With no flooding sockets, the same rig measures the same figures without a flood: the reference.
// Used by test/integration/flood-budget.test.ts (short) and `npm run bench:flood` (60 s).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { FLAG_AUDIO, FRAME_KIND_CHUNK, HEADER_BYTES, encodeFrame } from '../../src/shared/protocol.ts';
import { connectChunkCamera, connectViewer, loadChunkFixture, replayInRealTime, startTestServer, type TestServer } from './server.ts';

/** What each kind of flooding socket sends (see flood-client.ts). */
export const FLOOD_KINDS = ['tiny-webm', 'tiny-chunks', 'block-bomb', 'control', 'big-json', 'no-read'] as const;
/** Kinds run only when asked for: viewer sockets that never read (with the viewer link), e.g. `--kinds control,unread-viewer` (sockets take the kinds in turn; a kind may repeat). */
export const EXTRA_FLOOD_KINDS = ['unread-viewer'] as const;
export type FloodKind = (typeof FLOOD_KINDS)[number] | (typeof EXTRA_FLOOD_KINDS)[number];

/** What the flood client is told. */
export interface FloodArgs {
  url: string;
  /** The same with the viewer link's key. */
  viewerUrl: string;
  address: string;
  sockets: number;
  seconds: number;
  kinds: FloodKind[];
}

/** What the flood client did. */
export interface FloodStats {
  connections: number;
  messages: number;
  bytes: number;
  /** Close codes (or HTTP statuses of refused upgrades, as `http <status>`) and how often. */
  closes: Record<string, number>;
  byKind: Record<string, { messages: number; bytes: number }>;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MiB = 1024 * 1024;

/** The healthy camera's capture: what the camera page sends with its defaults (720p, 2.5 Mbit/s, sound on). */
export const HEALTHY_CAMERA_FIXTURE = 'chromium-webcodecs-h264-opus-720p';

export interface FloodRigOptions {
  seconds: number;
  /** Flooding sockets; 0: no flood (the reference run). */
  sockets: number;
  kinds: FloodKind[];
  /** How long to wait for memory to come back after the flood, at most. */
  settleSeconds: number;
  /** Quiet measuring before the flood. */
  baselineSeconds: number;
  /** The healthy camera's capture (test/fixtures), replayed in real time. */
  fixture?: string;
  log?: (line: string) => void;
}

export interface FloodResult {
  flood: FloodStats;
  rssMiB: { before: number; peak: number; after: number; growth: number; backAfterMs: number | null };
  /** Event-loop delay during the flood, ms (a timer every 10 ms: how late it ran). */
  loopMs: { p50: number; p99: number; max: number };
  /**
   * The healthy viewer's video frames. `maxGapMs`: the longest wait between two frames beyond the
   * camera's own gap between sending them (this machine's two cores also run the flooder: the
   * test's camera is sometimes late itself, which a phone would not be); `maxRawGapMs`: as arrived.
   */
  viewer: ViewerFigures;
  /** The same camera at a viewer grid that shows every camera, the flooding ones too (as a viewer page does). */
  grid: ViewerFigures & { cameras: number };
  healthyClosed: boolean;
}

export interface ViewerFigures {
  baselineFps: number;
  floodFps: number;
  ratio: number;
  maxGapMs: number;
  maxRawGapMs: number;
  baselineMaxGapMs: number;
}

/** After the flood, memory counts as back once RSS is within this of where it was (the JS heap and buffers are back at their baseline; what stays is pages the allocator keeps). */
export const BACK_WITHIN_MIB = 24;

interface Arrival {
  /** When it arrived, and when the camera sent it (performance.now() of this process). */
  at: number;
  sent: number;
}

/** Frame rate and gaps in the quiet window before the flood and during it. */
function figures(arrivals: Arrival[], baseStart: number, baseEnd: number, from = baseEnd, to = baseEnd): ViewerFigures {
  const base = windowOf(arrivals, baseStart, baseEnd);
  const during = windowOf(arrivals, from, to);
  return { baselineFps: base.fps, floodFps: during.fps, ratio: during.fps / base.fps, maxGapMs: during.maxGap, maxRawGapMs: during.maxRawGap, baselineMaxGapMs: base.maxGap };
}

/** Frames that arrived in [from, to): per second, and the longest wait between two beyond the camera's own gap between sending them. */
function windowOf(arrivals: Arrival[], from: number, to: number): { fps: number; maxGap: number; maxRawGap: number } {
  let n = 0;
  let maxGap = 0;
  let maxRawGap = 0;
  for (let i = 1; i < arrivals.length; i++) {
    const [a, b] = [arrivals[i - 1]!, arrivals[i]!];
    if (b.at < from || b.at >= to) continue;
    n++;
    const raw = b.at - a.at;
    maxRawGap = Math.max(maxRawGap, raw);
    maxGap = Math.max(maxGap, raw - Math.max(0, b.sent - a.sent));
  }
  return { fps: (n * 1000) / Math.max(1, to - from), maxGap, maxRawGap };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rss = (): number => process.memoryUsage().rss / MiB;
const noFlood = (): FloodStats => ({ connections: 0, messages: 0, bytes: 0, closes: {}, byKind: {} });

/** The flood, in its own process (so its work is not this server's); what it did. */
async function runFloodClient(args: FloodArgs): Promise<FloodStats> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/flood-client.ts', JSON.stringify(args)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`flood client exited with ${code}: ${err}`);
  return JSON.parse(out.trim().split('\n').pop()!) as FloodStats;
}

export async function runFloodRig(o: FloodRigOptions): Promise<FloodResult> {
  const log = o.log ?? (() => undefined);
  // The real limits (not the tests' relaxed lock-out).
  const server: TestServer = await startTestServer({}, { rateLimit: {} });
  // (Stopped in the finally too, should anything on the way throw.)
  let streaming: ReturnType<typeof replayInRealTime> | null = null;
  let sampler: NodeJS.Timeout | undefined;
  try {
    const cameraLink = new URL(server.links[0]!.camera);
    const floodUrl = `wss://127.0.0.1:${server.httpsPort}/ws?key=${cameraLink.searchParams.get('key')}`;
    const viewerFloodUrl = `wss://127.0.0.1:${server.httpsPort}/ws?key=${new URL(server.links[0]!.viewer).searchParams.get('key')}`;
    const { stream, frames } = await loadChunkFixture(o.fixture ?? HEALTHY_CAMERA_FIXTURE);
    const camera = await connectChunkCamera(server.wsUrl, 'healthy', 'Healthy', stream);
    const viewer = await connectViewer(server.wsUrl);
    viewer.send({ type: 'subscribe', cameraId: 'healthy', chunks: true });
    await camera.message('wanted', (m) => m.wanted);
    // A viewer grid: every camera listed gets a tile and a subscription, and loses it when it goes.
    const grid = await connectViewer(server.wsUrl);
    const gridSubscribed = new Set<string>();
    let healthyChannel = -1;
    let gridCameras = 0;
    const onGridList = (): void => {
      for (const m of grid.messages) {
        if (m.type !== 'cameras') continue;
        const ids = new Set(m.cameras.map((c) => c.id));
        gridCameras = Math.max(gridCameras, ids.size);
        for (const c of m.cameras) {
          if (c.id === 'healthy') healthyChannel = c.channel;
          if (!gridSubscribed.has(c.id)) grid.send({ type: 'subscribe', cameraId: c.id, chunks: true });
          gridSubscribed.add(c.id);
        }
        for (const id of gridSubscribed) {
          if (ids.has(id)) continue;
          grid.send({ type: 'unsubscribe', cameraId: id });
          gridSubscribed.delete(id);
        }
      }
      // (The test client keeps what it receives; this process is the server measured: keep nothing.)
      grid.messages.length = 0;
      grid.frames.length = 0;
    };
    onGridList();

    // The healthy camera replays its capture in real time (each frame when it was captured), round and round.
    streaming = replayInRealTime(frames, (f, seq) => camera.sendBinary(encodeFrame({ kind: FRAME_KIND_CHUNK, flags: f.header.flags, channel: 0, seq, time: performance.timeOrigin + performance.now() }, f.payload)));
    // Video frames of the healthy camera at each viewer: when each arrived, and when the camera sent it (its time stamp).
    const solo: Arrival[] = [];
    const inGrid: Arrival[] = [];
    const videoFrame = (data: Buffer, channel: number | null): Arrival | null => {
      if (data.byteLength < HEADER_BYTES || (data[1]! & FLAG_AUDIO) !== 0 || (channel !== null && data.readUInt16BE(2) !== channel)) return null;
      return { at: performance.now(), sent: data.readDoubleBE(8) - performance.timeOrigin };
    };
    viewer.ws.on('message', (data: Buffer, isBinary: boolean) => {
      const f = isBinary ? videoFrame(data, null) : null;
      if (f) solo.push(f);
      viewer.frames.length = 0;
    });
    grid.ws.on('message', (data: Buffer, isBinary: boolean) => {
      const f = isBinary ? videoFrame(data, healthyChannel) : null;
      if (f) inGrid.push(f);
      if (!isBinary) onGridList();
      grid.frames.length = 0;
    });

    await sleep(1000);
    const baseStart = performance.now();
    await sleep(o.baselineSeconds * 1000);
    const baseEnd = performance.now();
    const before = rss();
    const mem0 = process.memoryUsage();
    log(`baseline: heap ${(mem0.heapUsed / MiB).toFixed(1)}/${(mem0.heapTotal / MiB).toFixed(1)} MiB, external ${(mem0.external / MiB).toFixed(1)} MiB, array buffers ${(mem0.arrayBuffers / MiB).toFixed(1)} MiB`);
    log(`baseline: RSS ${before.toFixed(1)} MiB, viewer ${figures(solo, baseStart, baseEnd).baselineFps.toFixed(1)} fps, grid of ${gridCameras} cameras`);

    // The flood (or, for the reference, as long a wait).
    const loop = monitorEventLoopDelay({ resolution: 10 });
    let peak = before;
    let atPeak = process.memoryUsage();
    sampler = setInterval(() => {
      const now = process.memoryUsage();
      if (now.rss / MiB > peak) [peak, atPeak] = [now.rss / MiB, now];
    }, 250);
    loop.enable();
    const floodStart = performance.now();
    const progress = setInterval(() => log(`${o.sockets > 0 ? 'flood' : 'no flood'}: RSS ${rss().toFixed(1)} MiB, loop max ${(loop.max / 1e6).toFixed(0)} ms`), 5000);
    const args: FloodArgs = { url: floodUrl, viewerUrl: viewerFloodUrl, address: '127.0.0.77', sockets: o.sockets, seconds: o.seconds, kinds: o.kinds };
    let flood: FloodStats;
    try {
      flood = o.sockets > 0 ? await runFloodClient(args) : await sleep(o.seconds * 1000).then(noFlood);
    } finally {
      clearInterval(progress);
      loop.disable();
    }
    const floodEnd = performance.now();
    const loopMs = { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };

    // Memory after: back near where it was, within settleSeconds?
    const settleStart = performance.now();
    let after = rss();
    let backAfterMs: number | null = null;
    while (performance.now() - settleStart < o.settleSeconds * 1000) {
      await sleep(1000);
      after = rss();
      if (after - before <= BACK_WITHIN_MIB) {
        backAfterMs = Math.round(performance.now() - settleStart);
        break;
      }
    }
    clearInterval(sampler);
    log(`at the peak: heap ${(atPeak.heapUsed / MiB).toFixed(1)}/${(atPeak.heapTotal / MiB).toFixed(1)} MiB, external ${(atPeak.external / MiB).toFixed(1)} MiB, array buffers ${(atPeak.arrayBuffers / MiB).toFixed(1)} MiB`);
    const mem = process.memoryUsage();
    log(`after: RSS ${after.toFixed(1)} MiB; heap ${(mem.heapUsed / MiB).toFixed(1)}/${(mem.heapTotal / MiB).toFixed(1)} MiB, external ${(mem.external / MiB).toFixed(1)} MiB, array buffers ${(mem.arrayBuffers / MiB).toFixed(1)} MiB`);
    await streaming.stop();
    const healthyClosed = camera.closed !== null || viewer.closed !== null || grid.closed !== null;
    camera.close();
    viewer.close();
    grid.close();
    return {
      flood,
      rssMiB: { before, peak, after, growth: peak - before, backAfterMs },
      loopMs,
      viewer: figures(solo, baseStart, baseEnd, floodStart + 1000, floodEnd),
      grid: { ...figures(inGrid, baseStart, baseEnd, floodStart + 1000, floodEnd), cameras: gridCameras },
      healthyClosed,
    };
  } finally {
    clearInterval(sampler);
    await streaming?.stop().catch(() => undefined);
    await server.stop();
  }
}
