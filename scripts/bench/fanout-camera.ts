// The fan-out benchmark's synthetic camera (a child process of fanout.ts): replays a real WebCodecs
// capture (test/fixtures/<fixture>.frames, what the product's camera page sent through the server)
// in real time, in a loop, as a camera of the product's protocol. Each chunk's time is stamped with
// this process's clock when sent (clock offset 0: same machine), so a viewer's receive time minus
// that is the relay delay. Keyframe requests are not honoured (a recording cannot make new ones):
// joiners start from the latest keyframe, as with a camera that answers late.
// A fixture named with its container (`chromium-vp8-opus.webm`, `chromium-h264-opus.mp4`) is a
// MediaRecorder capture instead: its pieces, as the recorder handed them over, are sent each when
// its latest frame is due, and every loop is a new stream (a recorder restarting: a new period).
// Argv: <wss url> <camera id> <fixture name>. Parent messages: 'report' → CameraReport.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import WebSocket from 'ws';
import { Fmp4Demuxer } from '../../src/media/mp4/fmp4-demuxer.ts';
import { WebmDemuxer } from '../../src/media/webm/webm-demuxer.ts';
import { encodeFrame, FLAG_AUDIO, FLAG_KEY, FRAME_KIND_CHUNK, FRAME_KIND_MEDIA, PROTOCOL_VERSION } from '../../src/shared/protocol.ts';
import { cameraTimes, loadChunkFixture, replaySchedule } from '../../test/helpers/server.ts';
import type { CameraReport } from './fanout-report.ts';
import { ROOT } from './bench-kit.ts';


const [url, cameraId, fixture] = process.argv.slice(2);
if (!url || !cameraId || !fixture) throw new Error('usage: fanout-camera.ts <wss url> <camera id> <fixture>');
const container = /\.(webm|mp4)$/.exec(fixture)?.[1] as 'webm' | 'mp4' | undefined;
type Capture = Awaited<ReturnType<typeof loadChunkFixture>>;
const { stream, frames, mime } = container ? await loadContainer(fixture, container) : { ...(await loadChunkFixture(fixture)), mime: null };

/** A MediaRecorder capture as pieces (kind-1 payloads), each timed by the latest frame it completes. */
async function loadContainer(name: string, form: 'webm' | 'mp4'): Promise<{ stream: Partial<Capture['stream']>; frames: Capture['frames']; mime: string }> {
  const dir = path.join(ROOT, 'test/fixtures');
  const bytes = new Uint8Array(await readFile(path.join(dir, name)));
  const sizes = JSON.parse(await readFile(path.join(dir, name.replace(/\.(webm|mp4)$/, '.chunks.json')), 'utf8')) as number[];
  const demuxer = form === 'webm' ? new WebmDemuxer() : new Fmp4Demuxer();
  let at = 0;
  let latest = 0;
  const pieces = sizes.map((n) => {
    const payload = bytes.subarray(at, (at += n));
    for (const e of demuxer.push(payload)) if (e.kind === 'frame') latest = Math.max(latest, e.frame.timestamp / 1000);
    return { header: { kind: FRAME_KIND_MEDIA, flags: 0, channel: 0, seq: 0, time: latest }, payload };
  });
  return { stream: {}, frames: pieces, mime: form === 'webm' ? 'video/webm;codecs=vp8,opus' : 'video/mp4;codecs=avc1,opus' };
}
// (A container's pieces carry media times, where 0 is a time; a chunk capture's 0 means not stamped.)
const { at, loopMs } = replaySchedule(container ? frames.map((f) => f.header.time ?? 0) : cameraTimes(frames));

const report: CameraReport = { framesSent: 0, bytesSent: 0, maxBacklogBytes: 0, keyframeRequests: 0 };
const ws = new WebSocket(url, { rejectUnauthorized: false });
ws.on('error', (err) => {
  console.error(`camera: ${err.message}`);
  process.exit(1);
});
ws.on('close', (code) => {
  console.error(`camera: the server closed the connection (${code})`);
  process.exit(1);
});
ws.on('message', (data, isBinary) => {
  if (isBinary) return;
  const m = JSON.parse(data.toString()) as { type: string };
  if (m.type === 'welcome') start();
  else if (m.type === 'keyframe') report.keyframeRequests++;
});
ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, role: 'camera', cameraId, secret: `${cameraId}-replay-secret`, name: `Replay ${cameraId.slice(0, 4)}` })));

function start(): void {
  ws.send(JSON.stringify({ type: 'clock-offset', offset: 0, rtt: 1 }));
  const t0 = performance.now();
  let seq = 0;
  let loop = 0;
  let i = 0;
  /** Capture time of the current container stream's media time 0 (its loop's start). */
  let streamStart = 0;
  const startStream = (): void => {
    seq = 0;
    streamStart = performance.timeOrigin + t0 + loop * loopMs;
    if (mime) ws.send(JSON.stringify({ type: 'stream', format: container, mime, width: 640, height: 480, fps: 30, audio: true }));
    else {
      ws.send(JSON.stringify({ type: 'stream', format: 'chunks', width: stream.video?.width ?? null, height: stream.video?.height ?? null, fps: 30, audio: Boolean(stream.audio) }));
      ws.send(JSON.stringify({ type: 'codec', video: stream.video, audio: stream.audio }));
    }
  };
  startStream();
  const tick = (): void => {
    const now = performance.now();
    // Everything due by now, in order.
    for (;;) {
      const f = frames[i]!;
      if (t0 + loop * loopMs + at[i]! > now) break;
      if (container && i === 0 && loop > 0) startStream();
      const time = container ? streamStart : performance.timeOrigin + performance.now();
      const frame = container
        ? encodeFrame({ kind: FRAME_KIND_MEDIA, flags: 0, channel: 0, seq: seq++, time }, f.payload)
        : encodeFrame({ kind: FRAME_KIND_CHUNK, flags: f.header.flags & (FLAG_AUDIO | FLAG_KEY), channel: 0, seq: seq++, time }, f.payload);
      ws.send(frame);
      report.framesSent++;
      report.bytesSent += frame.byteLength;
      if (++i === frames.length) {
        i = 0;
        loop++;
      }
    }
    const next = t0 + loop * loopMs + at[i]!;
    setTimeout(tick, Math.max(0, next - performance.now()));
  };
  tick();
  setInterval(() => (report.maxBacklogBytes = Math.max(report.maxBacklogBytes, ws.bufferedAmount)), 10);
}

process.on('message', (m) => {
  if (m === 'report') process.send!(report);
});
process.on('disconnect', () => process.exit(0));
