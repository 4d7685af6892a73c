// The fan-out benchmark's synthetic viewers (a child process of fanout.ts; several run at once):
// each is a WebSocket viewer of the product's protocol, from its own loopback address (127.0.x.y),
// subscribed to one camera's chunks (with several camera ids, viewer i watches camera i mod n). For each frame it notes the relay delay (its receive time minus
// the time the synthetic camera stamped, same machine), and the frames the server left out (gaps in
// the channel's sequence numbers; their sizes come from the replayed capture).
// The "stalled" viewers read like the others until the parent says 'stall'; then each stops reading
// at a random moment within `stallMs`, and reads again `stallMs` later (a phone whose Wi-Fi died);
// if the server let it go by then, it reconnects (after 1 s, as the viewer page does) and stalls
// again, so about the same share is stalled at any time.
// Argv: <wss url> <camera id[,id…]> <fixture> <viewers> <stalled> <first index> <stall ms>.
// Parent messages: 'start' (start counting), 'stop' (→ ViewersReport), 'stall', 'close'.
import WebSocket from 'ws';
import { HEADER_BYTES, PROTOCOL_VERSION } from '../../src/shared/protocol.ts';
import { loadChunkFixture } from '../../test/helpers/server.ts';
import { BIN_MS, BINS, type ViewersReport } from './fanout-report.ts';

const [url, cameraIdsArg, fixture, countArg, stalledArg, firstArg, stallArg] = process.argv.slice(2);
if (!url || !cameraIdsArg || !fixture) throw new Error('usage: fanout-viewers.ts <url> <camera id> <fixture> <viewers> <stalled> <first index> <stall ms>');
const cameraIds = cameraIdsArg.split(',');
const count = Number(countArg);
const stalled = Number(stalledArg);
const firstIndex = Number(firstArg);
const stallMs = Number(stallArg);
const { frames: capture } = await loadChunkFixture(fixture);
const sizes = capture.map((f) => HEADER_BYTES + f.payload.byteLength);

let measuring = false;
/** Whether the stalled viewers stall (from the parent's 'stall' on). */
let stalling = false;
let hist = new Uint32Array(BINS);
/** The same per camera (its index in the id list): a camera's form shapes its frames' delays. */
let histByCamera = cameraIds.map(() => new Uint32Array(BINS));
const fresh = (): Omit<ViewersReport, 'delays' | 'healthyConnected' | 'stalledConnected'> => ({ frames: 0, bytes: 0, droppedFrames: 0, droppedBytes: 0, skippedFrames: 0, closes: {}, errors: {} });
let stats = fresh();

class Viewer {
  private ws: WebSocket | null = null;
  private lastSeq: number | null = null;
  receiving = false;

  constructor(
    private readonly index: number,
    readonly stalls: boolean,
  ) {}

  connect(): Promise<void> {
    const localAddress = `127.0.${1 + Math.floor(this.index / 250)}.${1 + (this.index % 250)}`;
    const ws = new WebSocket(url!, { rejectUnauthorized: false, localAddress });
    this.ws = ws;
    this.lastSeq = null;
    let first = true;
    return new Promise((resolve) => {
      ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, role: 'viewer' })));
      ws.on('message', (data: Buffer, isBinary) => {
        if (!isBinary) {
          const m = JSON.parse(data.toString()) as { type: string; frames?: number; code?: string };
          if (m.type === 'welcome') ws.send(JSON.stringify({ type: 'subscribe', cameraId: cameraIds[this.index % cameraIds.length], chunks: true }));
          else if (m.type === 'skipped' && measuring) stats.skippedFrames += m.frames ?? 0;
          else if (m.type === 'error' && measuring) stats.errors[m.code ?? '?'] = (stats.errors[m.code ?? '?'] ?? 0) + 1;
          return;
        }
        this.onFrame(data);
        if (first) {
          first = false;
          this.receiving = true;
          resolve();
          if (this.stalls && stalling) this.stallSoon();
        }
      });
      ws.on('error', () => undefined);
      ws.on('close', (code) => {
        this.receiving = false;
        if (measuring) stats.closes[code] = (stats.closes[code] ?? 0) + 1;
        resolve();
        if (this.ws === ws) setTimeout(() => void this.connect(), 1000);
      });
    });
  }

  /** Stalls at a random moment within `stallMs`. */
  stallSoon(): void {
    const ws = this.ws;
    if (ws) setTimeout(() => this.stall(ws), Math.random() * stallMs);
  }

  private stall(ws: WebSocket): void {
    if (this.ws !== ws) return;
    this.receiving = false;
    ws.pause();
    setTimeout(() => {
      ws.resume();
      this.receiving = ws.readyState === WebSocket.OPEN;
      if (this.receiving) setTimeout(() => this.stall(ws), 1000);
    }, stallMs);
  }

  private onFrame(data: Buffer): void {
    const seq = data.readUInt32BE(4);
    const time = data.readDoubleBE(8);
    const last = this.lastSeq;
    this.lastSeq = seq;
    if (!measuring || this.stalls) return;
    const delay = performance.timeOrigin + performance.now() - time;
    const bin = Math.min(BINS - 1, Math.max(0, Math.round(delay / BIN_MS)));
    hist[bin]!++;
    histByCamera[this.index % cameraIds.length]![bin]!++;
    stats.frames++;
    stats.bytes += data.byteLength;
    if (last !== null && seq > last + 1) {
      stats.droppedFrames += seq - last - 1;
      for (let s = last + 1; s < seq; s++) stats.droppedBytes += sizes[s % sizes.length]!;
    }
  }

  close(): void {
    const ws = this.ws;
    this.ws = null;
    ws?.terminate();
  }
}

const viewers = Array.from({ length: count }, (_, i) => new Viewer(firstIndex + i, i < stalled));
// A few handshakes at a time, as people would arrive.
for (let i = 0; i < viewers.length; i += 10) await Promise.all(viewers.slice(i, i + 10).map((v) => v.connect()));
process.send!('ready');

process.on('message', (m) => {
  if (m === 'start') {
    hist = new Uint32Array(BINS);
    histByCamera = cameraIds.map(() => new Uint32Array(BINS));
    stats = fresh();
    measuring = true;
  } else if (m === 'stop') {
    measuring = false;
    const pairs = (h: Uint32Array): [number, number][] => [...h.entries()].filter(([, n]) => n > 0);
    const delays = pairs(hist);
    const delaysByCamera = histByCamera.map(pairs);
    const healthy = viewers.filter((v, i) => i >= stalled && v.receiving).length;
    const report: ViewersReport = { ...stats, delays, delaysByCamera, healthyConnected: healthy, stalledConnected: viewers.filter((v, i) => i < stalled && v.receiving).length };
    process.send!(report);
  } else if (m === 'stall') {
    stalling = true;
    for (const v of viewers) if (v.stalls && v.receiving) v.stallSoon();
  } else if (m === 'close') {
    for (const v of viewers) v.close();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
