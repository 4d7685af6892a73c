// Code the latency benchmark runs inside pages (bundled by esbuild into one script, injected with
// page.evaluate): the frame reader that reads the time code from every frame a <video> shows, a
// counter of frames the source produced, and both ends of the WebRTC reference. The reader and the
// test pattern are the product's own modules, so both paths are measured with the same ruler.
import { codeAge, codeRegion, readTimeCode } from '../../src/client/common/time-code.ts';
import { startTestPattern } from '../../src/client/camera/test-pattern.ts';
import type { PlayerCanvas } from '../../src/client/viewer/chunk-player.ts';

type FrameMeta = { mediaTime: number; width: number; height: number; presentedFrames?: number };
type RvfcVideo = HTMLVideoElement & {
  requestVideoFrameCallback(cb: (now: number, meta: FrameMeta) => void): number;
  cancelVideoFrameCallback(handle: number): void;
};

const now = (): number => performance.timeOrigin + performance.now();

/** What the reader collected over one window (the benchmark parses it from collect()). */
export interface Collected {
  /** [wall ms, latency ms, painted ms mod 2^32] per shown frame with a readable code. */
  samples: [number, number, number][];
  /** [wall ms, lead over buffered end ms, playbackRate] every 100 ms (MSE only). */
  leads: [number, number, number][];
  frames: number;
  bad: number;
  since: number;
  until: number;
  seeks: number;
  waiting: number;
  /** [wall ms, estimate ms, measured ms] from the product's own overlay (tile data attributes). */
  meter: [number, number | null, number | null][];
  /**
   * A <video>'s own counts over the window: frames it presented (the frame callbacks' count, which
   * sees frames the reader's callbacks missed), and decoded and dropped (its playback quality).
   */
  video: { presented: number; decoded: number; dropped: number } | null;
}

function fresh(): Collected {
  return { samples: [], leads: [], frames: 0, bad: 0, since: now(), until: 0, seeks: 0, waiting: 0, meter: [], video: null };
}

/**
 * Reads every frame shown by the video `find()` returns (re-resolved, so a re-created element is
 * followed), or, while the tile plays WebCodecs chunks, every frame its player draws on its canvas
 * (the player notes each draw and when it was, on the canvas: see chunk-player.ts).
 */
function reader(find: () => HTMLVideoElement | null) {
  let w = fresh();
  let video: RvfcVideo | null = null;
  let handle: number | null = null;
  let lastFrameAt = 0;
  let good = 0;
  /** The video's counts when the window began, and now. */
  type Counts = { presented: number; decoded: number; dropped: number };
  let startCounts: Counts | null = null;
  let lastCounts: Counts | null = null;
  const counts = (v: RvfcVideo, presented: number): Counts => {
    const q = v.getVideoPlaybackQuality();
    return { presented, decoded: q.totalVideoFrames, dropped: q.droppedVideoFrames };
  };
  /** What was counted before the element's counts started over (a new stream in it, or a new element). */
  let carried: Counts = { presented: 0, decoded: 0, dropped: 0 };
  const sinceStart = (): Counts =>
    startCounts && lastCounts
      ? { presented: lastCounts.presented - startCounts.presented, decoded: lastCounts.decoded - startCounts.decoded, dropped: lastCounts.dropped - startCounts.dropped }
      : { presented: 0, decoded: 0, dropped: 0 };
  const carry = (): void => {
    const d = sinceStart();
    carried = { presented: carried.presented + d.presented, decoded: carried.decoded + d.decoded, dropped: carried.dropped + d.dropped };
    startCounts = lastCounts = null;
  };
  const note = (c: Counts): void => {
    if (lastCounts && c.presented < lastCounts.presented) carry();
    lastCounts = c;
    startCounts ??= c;
  };
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  /** Reads the code in `image` (shown at `t`, this page's clock) and keeps the sample. */
  const read = (image: CanvasImageSource, width: number, height: number, t: number): void => {
    w.frames++;
    if (!width || !height) {
      w.bad++;
      return;
    }
    const region = codeRegion(width, height);
    if (canvas.width !== region.width || canvas.height !== region.height) {
      canvas.width = region.width;
      canvas.height = region.height;
    }
    ctx.drawImage(image, 0, 0, width, height);
    const painted = readTimeCode(ctx.getImageData(0, 0, region.width, region.height), width, height);
    // The product's test pattern paints the server's clock as its camera knows it: compare on that
    // clock too (the viewer page keeps its offset on <body>; WebRTC pages have none: their own clocks).
    const offset = Number(document.body.dataset.clockOffsetMs ?? 0);
    const age = painted === null ? null : codeAge(t + offset, painted);
    if (painted === null || age === null) {
      w.bad++;
      return;
    }
    good++;
    w.samples.push([t, age, painted]);
  };
  const onFrame = (_n: number, meta: FrameMeta): void => {
    const t = now();
    handle = null;
    lastFrameAt = performance.now();
    const v = video;
    if (!v) return;
    handle = v.requestVideoFrameCallback(onFrame);
    if (meta.presentedFrames !== undefined) note(counts(v, meta.presentedFrames));
    read(v, meta.width || v.videoWidth, meta.height || v.videoHeight, t);
  };
  // The WebCodecs player's canvas, checked at every animation frame (it draws at animation frames
  // too, and keeps how many it drew and when the last was on the canvas).
  let drawn = 0;
  const onAnimationFrame = (): void => {
    requestAnimationFrame(onAnimationFrame);
    const c = document.querySelector<PlayerCanvas>('.tile[data-format="chunks"] canvas');
    const n = c?.framesDrawn ?? 0;
    if (!c || n === drawn) return;
    if (n > drawn) {
      // Two draws since the last look (the player's callback ran after this one last time): both were shown.
      w.frames += n - drawn - 1;
      read(c, c.width, c.height, c.drawnAt);
    }
    drawn = n;
  };
  requestAnimationFrame(onAnimationFrame);
  const watch = (): void => {
    const v = find() as RvfcVideo | null;
    if (v !== video) {
      if (video && handle !== null) video.cancelVideoFrameCallback(handle);
      handle = null;
      video = v;
      carry();
      if (v) {
        v.addEventListener('seeking', () => v === video && w.seeks++);
        v.addEventListener('waiting', () => v === video && w.waiting++);
      }
    }
    if (!video) return;
    // A re-started stream can lose a pending callback: re-arm after 1 s without frames.
    if (handle === null || performance.now() - lastFrameAt > 1000) {
      if (handle !== null) video.cancelVideoFrameCallback(handle);
      handle = video.requestVideoFrameCallback(onFrame);
      lastFrameAt = performance.now();
    }
    const b = video.buffered;
    if (b.length > 0) w.leads.push([now(), (b.end(b.length - 1) - video.currentTime) * 1000, video.playbackRate]);
    const tile = video.closest<HTMLElement>('.tile');
    if (tile?.dataset.latencyEstimateMs !== undefined || tile?.dataset.latencyMeasuredMs !== undefined) {
      const num = (s: string | undefined): number | null => (s === undefined ? null : Number(s));
      w.meter.push([now(), num(tile.dataset.latencyEstimateMs), num(tile.dataset.latencyMeasuredMs)]);
    }
  };
  setInterval(watch, 100);
  watch();
  return {
    good: () => good,
    reset: () => {
      w = fresh();
      carried = { presented: 0, decoded: 0, dropped: 0 };
      startCounts = lastCounts;
    },
    collect: (): string => {
      w.until = now();
      const d = sinceStart();
      const total = { presented: carried.presented + d.presented, decoded: carried.decoded + d.decoded, dropped: carried.dropped + d.dropped };
      if (lastCounts || total.presented > 0) w.video = total;
      return JSON.stringify(w);
    },
  };
}

/** Counts the frames a video element (the camera page's preview: the source) presents. */
function sourceCounter(find: () => HTMLVideoElement | null) {
  let count = 0;
  let video: RvfcVideo | null = null;
  const loop = (): void => {
    count++;
    video?.requestVideoFrameCallback(loop);
  };
  setInterval(() => {
    const v = find() as RvfcVideo | null;
    if (v && v !== video) {
      video = v;
      v.requestVideoFrameCallback(loop);
    }
  }, 100);
  return { count: () => count };
}

// ---- the WebRTC reference: the same pattern, one peer connection between two browsers ----
let pc: RTCPeerConnection | null = null;

/** Waits for ICE gathering to finish, so the description carries every candidate (no trickle). */
function gathered(conn: RTCPeerConnection): Promise<void> {
  if (conn.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    conn.addEventListener('icegatheringstatechange', () => conn.iceGatheringState === 'complete' && resolve());
  });
}

async function webrtcSender(width: number, height: number, fps: number, audio = true): Promise<string> {
  const pattern = startTestPattern(width, height, fps, audio, now);
  const preview = document.createElement('video');
  preview.id = 'preview';
  preview.muted = true;
  preview.srcObject = pattern.stream;
  document.body.append(preview);
  void preview.play();
  pc = new RTCPeerConnection();
  for (const t of pattern.stream.getTracks()) pc.addTrack(t, pattern.stream);
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  return JSON.stringify(pc.localDescription);
}

async function webrtcReceiver(offer: string): Promise<string> {
  pc = new RTCPeerConnection();
  const video = document.createElement('video');
  video.className = 'rtc';
  video.muted = true;
  video.playsInline = true;
  video.autoplay = true;
  video.width = 640;
  video.height = 480;
  document.body.append(video);
  pc.addEventListener('track', (e) => {
    video.srcObject = e.streams[0] ?? new MediaStream([e.track]);
    void video.play();
  });
  await pc.setRemoteDescription(JSON.parse(offer) as RTCSessionDescriptionInit);
  await pc.setLocalDescription(await pc.createAnswer());
  await gathered(pc);
  return JSON.stringify(pc.localDescription);
}

async function webrtcAnswer(answer: string): Promise<void> {
  await pc!.setRemoteDescription(JSON.parse(answer) as RTCSessionDescriptionInit);
}

/** What the WebRTC sender chose (it adapts size and bitrate to CPU and network; the product does not). */
async function webrtcStats(): Promise<string> {
  const stats = await pc!.getStats();
  let out: Record<string, unknown> = {};
  stats.forEach((s: Record<string, unknown>) => {
    if (s.type === 'outbound-rtp' && s.kind === 'video') {
      out = { frameWidth: s.frameWidth, frameHeight: s.frameHeight, framesPerSecond: s.framesPerSecond, bytesSent: s.bytesSent, qualityLimitationReason: s.qualityLimitationReason, encoderImplementation: s.encoderImplementation };
    }
  });
  return JSON.stringify(out);
}

/** Blocks this page's main thread (the stall scenario). */
function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy on purpose
  }
}

let read: ReturnType<typeof reader> | null = null;
let source: ReturnType<typeof sourceCounter> | null = null;
(window as unknown as { __bench: unknown }).__bench = {
  attachReader: (selector: string) => void (read = reader(() => document.querySelector<HTMLVideoElement>(selector))),
  countSource: (selector: string) => void (source = sourceCounter(() => document.querySelector<HTMLVideoElement>(selector))),
  good: () => read?.good() ?? 0,
  reset: () => read?.reset(),
  collect: () => read?.collect() ?? 'null',
  sourceFrames: () => source?.count() ?? 0,
  webrtcSender,
  webrtcReceiver,
  webrtcAnswer,
  webrtcStats,
  block,
};
