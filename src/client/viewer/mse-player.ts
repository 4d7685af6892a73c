// Plays one camera's live WebM with Media Source Extensions, kept close to the live edge, with old
// media trimmed so memory stays flat. A decode error or a stall asks for a re-join instead of freezing.
import { SourceBufferQueue } from './sourcebuffer-queue.ts';
import { DEFAULT_LIVE_EDGE, decideLiveEdge, type LiveEdgeConfig } from './live-edge.ts';
import { ClusterRegrouper } from '../../media/webm/cluster-regrouper.ts';
import { withDateUtc } from '../../media/webm/date-utc.ts';
import type { ShownFrame } from './chunk-player.ts';

type FrameVideo = HTMLVideoElement & {
  requestVideoFrameCallback?: (cb: (now: number, meta: { mediaTime: number; width: number; height: number }) => void) => number;
  cancelVideoFrameCallback?: (handle: number) => void;
};

export interface PlayerEvents {
  /** The player cannot go on with this stream; the page re-joins it from the latest keyframe. */
  rejoin(reason: string): void;
  /** The first frame of a stream was shown. */
  firstFrame(): void;
  /** This browser cannot play the stream at all. */
  unsupported(message: string): void;
}

/** Live-edge decisions run at every append, and at least this often. */
const TICK_MS = 100;
/** How long after a stall ticks still count as after a stall. */
const STALL_AFTERMATH_MS = 1000;
/**
 * After a stall, the media that piled up is still arriving while the buffered end grows faster
 * than the clock by more than this between two ticks (s), or, where the stream says when its
 * media was captured, while the newest media is this much older than usual (ms). It comes in
 * waves (what the browser held, then what the server held), so neither alone is enough.
 */
const BACKLOG_GROWTH_S = 0.1;
const BACKLOG_LATE_MS = 150;
/** Weight of a tick in the usual age of the newest media. */
const END_AGE_WEIGHT = 0.1;
/** Media kept behind the playback position. */
const KEEP_BEHIND_S = 10;
/** Trim once this much is buffered behind the playback position. */
const TRIM_ABOVE_S = 20;
/** Bytes allowed to wait for the SourceBuffer before the player gives up and re-joins. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;
/** No progress for this long while media keeps arriving means the decoder is stuck. */
const STUCK_S = 4;

type MediaSourceCtor = typeof MediaSource;

/** The MediaSource constructor of this browser (ManagedMediaSource on iOS 17.1+). */
function mediaSourceCtor(): MediaSourceCtor | null {
  const w = window as unknown as { ManagedMediaSource?: MediaSourceCtor; MediaSource?: MediaSourceCtor };
  return w.ManagedMediaSource ?? w.MediaSource ?? null;
}

/**
 * Firefox (Gecko) re-creates its WebM demuxer when a Cluster starts before the end of the media it
 * parsed last, which MediaRecorder's Clusters always do, and then drops video until the next
 * keyframe. No API reveals this, so it is detected by the Gecko "Firefox/" token; there the
 * stream is regrouped into Clusters that start at video keyframes (see cluster-regrouper.ts).
 */
function needsClusterRegrouping(mime: string): boolean {
  return mime.startsWith('video/webm') && /\bFirefox\/\d/.test(navigator.userAgent);
}

export interface PlayerOptions {
  liveEdge: LiveEdgeConfig;
  /** Mark WebM streams as live (DateUTC in the init segment), for Chromium's low-delay renderer. */
  lowDelay: boolean;
  /** Join appends that queued up while the SourceBuffer was busy. */
  batchAppends: boolean;
}

/** One MSE pipeline on one <video>; start() for each new stream. */
export class MsePlayer {
  private ms: MediaSource | null = null;
  private queue: SourceBufferQueue | null = null;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private regrouper: ClusterRegrouper | null = null;
  /** The stream is WebM (else fragmented MP4). */
  private webm = true;
  private objectUrl: string | null = null;
  private tickTimer: ReturnType<typeof setInterval> | null = null;
  private lastTick = 0;
  private lastTime = -1;
  private lastDecoded = -1;
  private lastProgressAt = 0;
  private endAtProgress = 0;
  private lastSeekEnd = -Infinity;
  private seekStart = 0;
  private readonly onSeeking = (): void => {
    this.seekStart = performance.now();
  };
  private readonly onSeeked = (): void => {
    this.lastSeekEnd = performance.now();
    this.lastTime = this.video.currentTime; // a seek is not playback moving forward
  };
  private firstFrameSeen = false;
  private generation = 0;
  private behindSince: number | null = null;
  /** When media time 0 of the stream was captured (this page's clock, ms), from the newest chunk; 0 = unknown. */
  private epoch = 0;
  /** When a gap between ticks last showed the page was blocked or hidden (local ms). */
  private stallSeenAt = -Infinity;
  /** The buffered end at the previous tick (s), and when that tick ran (local ms). */
  private prevEnd = 0;
  private prevEndAt = 0;
  /** How old the newest buffered media was when it was appended (ms; null = not known), and usually is (moving average). */
  private endAge: number | null = null;
  private usualEndAge: number | null = null;
  private readonly onVideoError = (): void => {
    const err = this.video.error;
    if (this.ms) this.requestRejoin(`decode error${err ? ` (${err.code}: ${err.message})` : ''}`);
  };
  private readonly onVisibility = (): void => {
    if (document.visibilityState === 'visible') this.tick(true);
  };

  constructor(
    readonly video: HTMLVideoElement,
    private readonly events: Partial<PlayerEvents>,
    private readonly options: PlayerOptions = { liveEdge: DEFAULT_LIVE_EDGE, lowDelay: true, batchAppends: true },
  ) {
    video.muted = true; // autoplay everywhere; sound is opt-in per tile
    video.playsInline = true;
    video.addEventListener('error', this.onVideoError);
    video.addEventListener('seeking', this.onSeeking);
    video.addEventListener('seeked', this.onSeeked);
    document.addEventListener('visibilitychange', this.onVisibility);
  }

  /** Starts a new stream of `mime` (the previous one, if any, is torn down). */
  start(mime: string): void {
    this.teardown();
    const Ctor = mediaSourceCtor();
    if (!Ctor) {
      this.events.unsupported?.('This browser has no Media Source Extensions (iPhone: iOS 17.1 or later is needed).');
      return;
    }
    if (!Ctor.isTypeSupported(mime)) {
      this.events.unsupported?.(`This browser cannot play ${mime}.`);
      return;
    }
    const generation = ++this.generation;
    this.webm = mime.startsWith('video/webm') || mime.startsWith('audio/webm');
    this.regrouper = needsClusterRegrouping(mime) ? new ClusterRegrouper() : null;
    const ms = new Ctor();
    this.ms = ms;
    if ('ManagedMediaSource' in window && Ctor === (window as unknown as { ManagedMediaSource: MediaSourceCtor }).ManagedMediaSource) {
      this.video.disableRemotePlayback = true;
      this.video.srcObject = ms as unknown as MediaStream;
    } else {
      this.objectUrl = URL.createObjectURL(ms);
      this.video.src = this.objectUrl;
    }
    ms.addEventListener(
      'sourceopen',
      () => {
        if (generation !== this.generation) return; // (teardown revoked that stream's URL)
        this.revokeObjectUrl();
        let sb: SourceBuffer;
        try {
          sb = ms.addSourceBuffer(mime);
        } catch (err) {
          this.events.unsupported?.(`Cannot play ${mime}: ${(err as Error).message}`);
          return;
        }
        sb.mode = 'segments';
        // Until the first picture, look at every append: a late joiner's media starts long after 0,
        // so playback must seek into it at once rather than at the next tick.
        // After every append too: the newest media just arrived, and with it the live edge.
        sb.addEventListener('updateend', () => {
          if (generation === this.generation) this.tick(false);
        });
        this.queue = new SourceBufferQueue(sb, () => this.video.currentTime, (m) => this.requestRejoin(`buffer error: ${m}`), this.options.batchAppends);
        for (const p of this.pending) this.queue.append(p);
        this.pending = [];
        this.pendingBytes = 0;
      },
      { once: true },
    );
    this.firstFrameSeen = false;
    this.lastTick = performance.now();
    this.lastProgressAt = this.lastTick;
    this.lastTime = -1;
    this.lastDecoded = -1;
    this.lastSeekEnd = -Infinity;
    this.behindSince = null;
    this.epoch = 0;
    this.stallSeenAt = -Infinity;
    this.prevEnd = 0;
    this.prevEndAt = this.lastTick;
    this.endAge = null;
    this.usualEndAge = null;
    this.tickTimer = setInterval(() => this.tick(false), TICK_MS);
    this.watchFirstFrame(generation);
  }

  /**
   * Appends the next bytes of the current stream: `init` when they start with its init segment;
   * `epoch` (this page's clock, ms; 0 = unknown) is when its media time 0 was captured.
   */
  append(bytes: Uint8Array, init = false, epoch = 0): void {
    if (!this.ms) return;
    if (epoch > 0) this.epoch = epoch;
    if (init && this.options.lowDelay && this.webm) bytes = withDateUtc(bytes); // (MP4 has no such thing)
    if (this.regrouper) {
      try {
        bytes = this.regrouper.push(bytes);
      } catch (err) {
        this.requestRejoin(`unreadable stream: ${(err as Error).message}`);
        return;
      }
      if (bytes.length === 0) return;
    }
    if (this.queue) {
      this.queue.append(bytes);
      if (this.queue.pendingBytes > MAX_PENDING_BYTES) this.requestRejoin('the browser cannot keep up with the stream');
      return;
    }
    this.pending.push(bytes);
    this.pendingBytes += bytes.byteLength;
    if (this.pendingBytes > MAX_PENDING_BYTES) this.requestRejoin('the media pipeline did not open');
  }

  /** When the frame at `mediaTime` (s) was captured, on this page's clock, or null when the stream does not say. */
  captureTimeAt(mediaTime: number): number | null {
    return this.epoch > 0 ? this.epoch + mediaTime * 1000 : null;
  }

  /**
   * Calls `cb` for every frame the video shows (requestVideoFrameCallback; nothing in browsers
   * without it) until the returned function is called.
   */
  watchFrames(cb: (f: ShownFrame) => void): () => void {
    const v = this.video as FrameVideo;
    if (!v.requestVideoFrameCallback) return () => undefined;
    let handle: number | null = null;
    const loop = (_now: number, meta: { mediaTime: number; width: number; height: number }): void => {
      handle = v.requestVideoFrameCallback!(loop);
      cb({ captured: this.captureTimeAt(meta.mediaTime), image: v, width: meta.width || v.videoWidth, height: meta.height || v.videoHeight });
    };
    handle = v.requestVideoFrameCallback(loop);
    return () => {
      if (handle !== null) v.cancelVideoFrameCallback?.(handle);
      handle = null;
    };
  }

  /** Seconds of media buffered ahead of the playback position (the player's own share of the latency). */
  get lead(): number | null {
    const b = this.video.buffered;
    return b.length > 0 ? Math.max(0, b.end(b.length - 1) - this.video.currentTime) : null;
  }

  /** Stops playback and releases everything. */
  destroy(): void {
    this.teardown();
    this.video.removeEventListener('error', this.onVideoError);
    this.video.removeEventListener('seeking', this.onSeeking);
    this.video.removeEventListener('seeked', this.onSeeked);
    document.removeEventListener('visibilitychange', this.onVisibility);
  }

  /** Stops the current stream (the element shows nothing). */
  teardown(): void {
    this.generation++;
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
    this.queue?.destroy();
    this.queue = null;
    this.regrouper = null;
    // A stream torn down before its MediaSource opened would otherwise keep its URL for good.
    this.revokeObjectUrl();
    this.pending = [];
    this.pendingBytes = 0;
    if (this.ms) {
      this.ms = null;
      this.video.removeAttribute('src');
      this.video.srcObject = null;
      this.video.load();
    }
  }

  private revokeObjectUrl(): void {
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.objectUrl = null;
  }

  private requestRejoin(reason: string): void {
    this.teardown();
    this.events.rejoin?.(reason);
  }

  private tick(force: boolean): void {
    const now = performance.now();
    const since = (now - this.lastTick) / 1000;
    this.lastTick = now;
    // The media that piled up during a stall is appended over the next moments: treat those ticks
    // as after a stall too, so the jump to live comes as soon as the media is there.
    if (since > this.options.liveEdge.stallGap) this.stallSeenAt = now;
    const afterStall = now - this.stallSeenAt < STALL_AFTERMATH_MS;
    const v = this.video;
    if (v.seeking) {
      // A seek into a long group of pictures decodes from its keyframe: let it finish, unless it never does.
      if (now - this.seekStart > STUCK_S * 1000) this.requestRejoin('a seek did not finish');
      return;
    }
    const b = v.buffered;
    if (b.length === 0) return;
    const ranges: [number, number][] = [];
    for (let i = 0; i < b.length; i++) ranges.push([b.start(i), b.end(i)]);
    const end = ranges[ranges.length - 1]![1];
    // Still taking in what piled up during a stall: bytes wait for the SourceBuffer, the end
    // moved on by much more than the time since the last tick, or the newest media is late.
    // (How old the newest media was when it came in: measured at the tick after an append, so
    // that the time between appends, long for a slow recorder, does not count.)
    if (end !== this.prevEnd) {
      const captured = this.captureTimeAt(end);
      this.endAge = captured === null ? null : performance.timeOrigin + now - captured;
      // Learned in normal times.
      if (!afterStall && this.endAge !== null) this.usualEndAge = this.usualEndAge === null ? this.endAge : this.usualEndAge + (this.endAge - this.usualEndAge) * END_AGE_WEIGHT;
    }
    const late = this.endAge !== null && this.usualEndAge !== null && this.endAge > this.usualEndAge + BACKLOG_LATE_MS;
    const arriving = afterStall && ((this.queue?.pendingBytes ?? 0) > 0 || end - this.prevEnd > (now - this.prevEndAt) / 1000 + BACKLOG_GROWTH_S || late);
    this.prevEnd = end;
    this.prevEndAt = now;

    // Progress: new video frames decoded (the clock can run on audio while video is stuck), or,
    // where the browser does not count frames, playback moving forward by itself (seeks reset
    // lastTime without counting).
    const decoded = v.getVideoPlaybackQuality?.().totalVideoFrames;
    const moved = decoded !== undefined ? decoded !== this.lastDecoded : v.currentTime !== this.lastTime;
    this.lastTime = v.currentTime;
    if (decoded !== undefined) this.lastDecoded = decoded;
    if (moved) {
      this.lastProgressAt = now;
      this.endAtProgress = end;
    } else if (now - this.lastProgressAt > STUCK_S * 1000 && end - this.endAtProgress > 1 && document.visibilityState === 'visible') {
      // Media keeps arriving (a paused camera sends none) but nothing plays, even after jumps.
      this.requestRejoin('playback stalled');
      return;
    }

    const lead = end - v.currentTime;
    if (lead > this.options.liveEdge.jumpAbove) this.behindSince ??= now;
    else this.behindSince = null;
    const decision = decideLiveEdge(
      {
        currentTime: v.currentTime,
        ranges,
        sinceLastTick: force || afterStall ? Infinity : since,
        rate: v.playbackRate,
        firstPicture: !this.firstFrameSeen,
        sinceSeek: (now - this.lastSeekEnd) / 1000,
        // Hidden pages may not decode video at all: that is not a stall.
        stalledFor: document.visibilityState === 'visible' ? (now - this.lastProgressAt) / 1000 : 0,
        behindFor: this.behindSince === null ? 0 : (now - this.behindSince) / 1000,
        arriving,
      },
      this.options.liveEdge,
    );
    if (decision.seekTo !== null) this.behindSince = null;
    if (decision.seekTo !== null) {
      // (The 'seeking' event comes later: until then `seeking` is already true, and the stuck-seek
      // check must not measure from the previous seek.)
      this.seekStart = now;
      v.currentTime = decision.seekTo;
    }
    if (v.playbackRate !== decision.rate) v.playbackRate = decision.rate;
    if (v.paused) v.play().catch(() => undefined);

    const first = ranges[0]!;
    if (this.queue && v.currentTime - first[0] > TRIM_ABOVE_S) this.queue.remove(first[0], v.currentTime - KEEP_BEHIND_S);
  }

  private watchFirstFrame(generation: number): void {
    const v = this.video as HTMLVideoElement & { requestVideoFrameCallback?: (cb: () => void) => number };
    const done = (): void => {
      if (generation !== this.generation || this.firstFrameSeen) return;
      this.firstFrameSeen = true;
      this.events.firstFrame?.();
    };
    if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(done);
    else v.addEventListener('playing', done, { once: true });
  }
}
