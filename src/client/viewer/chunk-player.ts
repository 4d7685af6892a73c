// Plays one camera's WebCodecs chunks: video through a VideoDecoder onto a canvas, drawing the
// newest decoded frame at each animation frame (every frame it drops or draws is closed), audio
// through an AudioOutput. Nothing waits in a buffer, so latency cannot creep up: a frame that
// arrives late (a blocked page, a stalled network) is dropped with everything up to the next
// keyframe, which is asked for at once; a decoder error re-joins the stream.
import { FLAG_AUDIO, FLAG_KEY } from '../../shared/protocol.ts';
import type { AudioCodecConfig, VideoCodecConfig } from '../../shared/schemas.ts';
import { localNow } from '../common/clock.ts';
import { ArrivalDelay } from './arrival-delay.ts';
import { AudioOutput, type AudioStats } from './audio-output.ts';
import { FramePacer, STALL_GAP_FACTOR, STALL_GAP_MS } from './frame-pacer.ts';

export interface ChunkPlayerEvents {
  /** The first frame of a stream was drawn. */
  firstFrame(): void;
  /** The decoder needs a keyframe: ask the server (it asks the camera). */
  keyframe(): void;
  /** The player cannot go on with this stream; the page re-joins it. */
  rejoin(reason: string): void;
  /** This browser cannot decode the stream's video: the page asks for WebM instead. */
  unsupported(message: string): void;
}

/**
 * The player's canvas, with what it drew as plain properties (no DOM change per frame): how many
 * frames, and when the last one was (this page's clock, ms). For tests and the latency benchmark.
 */
export interface PlayerCanvas extends HTMLCanvasElement {
  framesDrawn: number;
  drawnAt: number;
}

/** A frame being shown, for the latency meter: valid only during the callback. */
export interface ShownFrame {
  /** When it was captured (this page's clock, ms), or null when the stream does not say. */
  captured: number | null;
  image: CanvasImageSource;
  width: number;
  height: number;
}

/** After dropping for this long, take the next keyframe whatever its age, and its delay as the usual one (it really changed). */
const MAX_DROP_MS = 1500;
/** Chunks waiting in the decoder beyond which it is behind: drop to the next keyframe. */
const MAX_DECODE_QUEUE = 10;
/** The same for a camera that makes no keyframe when asked: a whole burst may wait (only a decoder that cannot keep up at all is that far behind). */
const MAX_DECODE_QUEUE_BURSTS = 120;
/** Decoded frames of such a camera waiting for their moment at most (~4 s at 30 fps). */
const MAX_PACED_FRAMES = 120;
/** Keyframe requests at most this often (the server heeds one a second from a viewer). */
const KEYFRAME_ASK_SPACING_MS = 1000;
/** Slack for the clocks when telling whether a keyframe was captured after the page began dropping, ms. */
const ASKED_SLACK_MS = 50;
/** No frame decoded for this long while chunks keep arriving: the decoder is stuck, re-join. */
const STUCK_MS = 4000;

/** Decodes and draws one stream at a time; start() for each new one. */
export class ChunkPlayer {
  readonly canvas: PlayerCanvas;
  private readonly ctx: CanvasRenderingContext2D | null;
  readonly audio: AudioOutput;
  private decoder: VideoDecoder | null = null;
  private config: VideoCodecConfig | null = null;
  /** A new video setup that applies from the next keyframe. */
  private nextConfig: VideoCodecConfig | null = null;
  private generation = 0;
  private needKey = true;
  private droppingSince: number | null = null;
  private lastAskAt = -Infinity;
  /**
   * Decoded frames not yet drawn, oldest first: at most two. Two frames decoded within one
   * animation frame (jitter) are drawn one per animation frame, the second a refresh later, rather
   * than the first never being shown; a third replaces the oldest, so a burst costs no more than
   * one refresh of delay.
   */
  private pending: VideoFrame | null = null;
  private next: VideoFrame | null = null;
  private raf = 0;
  private firstFrameSeen = false;
  private lastOutputAt = 0;
  private lastChunkAt = 0;
  /** Tells video chunks that arrived late (a blocked page, a frozen network). */
  private readonly arrivals = new ArrivalDelay();
  /** Capture time (ms, this page's clock) by frame timestamp (µs), for frames inside the decoder. */
  private readonly captured = new Map<number, number>();
  private readonly watchers = new Set<(f: ShownFrame) => void>();
  /** Frames decoded but replaced by a newer one before they could be drawn; video chunks dropped (late, or waiting for a keyframe). */
  readonly counts = { decoded: 0, replaced: 0, dropped: 0 };
  /** Frames decoded in the current stream. */
  private decodedInStream = 0;
  /**
   * Video chunks of the join still to come: the camera's kept group of pictures, from its latest
   * keyframe (a MediaRecorder camera's can be seconds long). They arrive at once and with old
   * capture times by design: decoded, never dropped as late or for a full decoder.
   */
  private catchUp = 0;
  /**
   * The camera makes a keyframe when asked (WebCodecs). A MediaRecorder camera cannot (Firefox makes
   * one every 7.5–10 s) and its frames may come in bursts: dropping to the next keyframe would leave
   * the picture frozen for seconds, so its late frames are decoded and shown instead.
   */
  private keyframesOnRequest = true;
  /** Such a camera's decoded frames wait here to be shown at a steady delay (see frame-pacer.ts). */
  private paced: VideoFrame[] = [];
  private readonly pacer = new FramePacer();
  /** The latest gaps between such a camera's video chunks, ms (a ring): what a stall is measured against. */
  private readonly gaps = new Float64Array(30);
  private gapAt = 0;

  constructor(private readonly events: Partial<ChunkPlayerEvents>) {
    this.canvas = Object.assign(document.createElement('canvas'), { framesDrawn: 0, drawnAt: 0 });
    this.canvas.className = 'tile-canvas';
    this.ctx = this.canvas.getContext('2d', { alpha: false, desynchronized: true });
    this.audio = new AudioOutput((m) => console.warn(`audio: ${m}`));
  }

  /** Starts a new stream with its decoders' setup (the previous one is torn down); `kept`: video chunks of the join that follow at once. */
  start(video: VideoCodecConfig | null, audio: AudioCodecConfig | null, kept = 0, keyframesOnRequest = true): void {
    this.teardown();
    this.decodedInStream = 0;
    this.catchUp = kept;
    this.keyframesOnRequest = keyframesOnRequest;
    this.lastChunkAt = performance.now();
    this.lastOutputAt = this.lastChunkAt;
    if (audio) this.codec(undefined, audio);
    if (!video) return;
    if (typeof VideoDecoder === 'undefined') {
      this.events.unsupported?.('This browser has no WebCodecs video decoder.');
      return;
    }
    this.config = video;
    this.openDecoder();
  }

  /** The camera changed a track's setup mid-stream (video: from its next keyframe). */
  codec(video: VideoCodecConfig | undefined, audio: AudioCodecConfig | undefined): void {
    if (video) this.nextConfig = video;
    if (audio) void this.audio.configure({ codec: audio.codec, sampleRate: audio.sampleRate, numberOfChannels: audio.channels, ...description(audio.description) });
  }

  /** One encoded chunk (flags from its header); `captured`: its capture time on this page's clock, ms (0 = unknown). */
  push(payload: Uint8Array, flags: number, captured: number): void {
    const now = localNow();
    const timestamp = Math.round((captured > 0 ? captured : now) * 1000);
    if ((flags & FLAG_AUDIO) !== 0) {
      this.audio.decode(payload, timestamp);
      return;
    }
    const decoder = this.decoder;
    if (!decoder || decoder.state === 'closed') return;
    const arrived = performance.now();
    // After a gap in the stream (a paused camera) the decoder has had nothing to do: not stuck.
    if (arrived - this.lastChunkAt > STUCK_MS) this.lastOutputAt = arrived;
    const gap = arrived - this.lastChunkAt;
    if (!this.keyframesOnRequest && this.decodedInStream > 0) {
      if (gap >= Math.max(STALL_GAP_MS, STALL_GAP_FACTOR * Math.max(0, ...this.gaps))) this.pacer.stalled(now);
      this.gaps[this.gapAt++ % this.gaps.length] = gap;
    }
    this.lastChunkAt = arrived;
    const key = (flags & FLAG_KEY) !== 0;
    if (key && this.nextConfig) {
      this.config = this.nextConfig;
      this.nextConfig = null;
      decoder.configure(decoderConfig(this.config));
    }
    const joining = this.catchUp > 0;
    if (joining) this.catchUp--;
    const stale = !joining && this.keyframesOnRequest && captured > 0 && this.arrivals.late(now, now - captured);
    const full = decoder.decodeQueueSize > (this.keyframesOnRequest ? MAX_DECODE_QUEUE : MAX_DECODE_QUEUE_BURSTS);
    if (!key && (this.needKey || stale || (!joining && full))) {
      // Decoding from here would show the past, or cannot work without the frames dropped: wait for a keyframe.
      this.counts.dropped++;
      this.dropUntilKey();
      return;
    }
    if (key && stale) {
      // A keyframe captured after the page began dropping (what it asked for, or the camera's next)
      // is late only for its size or the path; one captured before shows the past.
      const since = this.droppingSince;
      const fresh = since !== null && (captured >= since - ASKED_SLACK_MS || now - since >= MAX_DROP_MS);
      if (!fresh) {
        this.counts.dropped++;
        this.dropUntilKey();
        return;
      }
      // Late only for its size, or the delay itself changed (the clock estimate moved): either way
      // it is as fresh as it gets, and its delay is the usual one from now on.
      this.arrivals.reset();
      this.arrivals.late(now, now - captured);
    }
    this.needKey = false;
    this.droppingSince = null;
    if (captured > 0) {
      this.captured.set(timestamp, captured);
      if (this.captured.size > 64) this.captured.delete(this.captured.keys().next().value!);
    }
    try {
      decoder.decode(new EncodedVideoChunk({ type: key ? 'key' : 'delta', timestamp, data: payload }));
    } catch (err) {
      this.fail(`decode: ${(err as Error).message}`);
    }
    if (performance.now() - this.lastOutputAt > STUCK_MS && this.firstFrameSeen) this.fail('no picture decoded for 4 s');
  }

  /**
   * The server dropped video for this page (its queue was full); the next chunk is a keyframe. The
   * delay up to now included that queue: judge lateness afresh from here.
   */
  skipped(): void {
    this.arrivals.reset();
  }

  /** Calls `cb` for every frame drawn until the returned function is called. */
  watchFrames(cb: (f: ShownFrame) => void): () => void {
    this.watchers.add(cb);
    return () => this.watchers.delete(cb);
  }

  /** Frames drawn in this player's life. */
  get framesDrawn(): number {
    return this.canvas.framesDrawn;
  }

  get audioStats(): AudioStats {
    return this.audio.stats;
  }

  /** Stops the current stream (the canvas keeps its last picture). */
  teardown(): void {
    this.generation++;
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
    this.decoder = null;
    this.config = null;
    this.nextConfig = null;
    this.pending?.close();
    this.pending = null;
    this.next?.close();
    this.next = null;
    for (const f of this.paced) f.close();
    this.paced = [];
    this.pacer.reset();
    this.gaps.fill(0);
    this.gapAt = 0;
    cancelAnimationFrame(this.raf);
    this.raf = 0;
    this.captured.clear();
    this.arrivals.reset();
    this.needKey = true;
    this.droppingSince = null;
    this.firstFrameSeen = false;
    this.audio.reset();
  }

  destroy(): void {
    this.teardown();
    this.audio.close();
    this.watchers.clear();
  }

  /** Opens the decoder at once (the keyframe follows the stream's start); a setup it cannot decode is reported as unsupported. */
  private openDecoder(): void {
    const generation = this.generation;
    const decoder = new VideoDecoder({
      output: (frame) => this.onFrame(frame, generation),
      error: (e) => {
        if (generation !== this.generation) return;
        if (e.name === 'NotSupportedError' && this.decodedInStream === 0) {
          const name = this.configName;
          this.teardown();
          this.events.unsupported?.(`This browser cannot decode ${name}.`);
        } else this.fail(`decode error: ${e.message}`);
      },
    });
    this.decoder = decoder;
    try {
      decoder.configure(decoderConfig(this.config!));
    } catch (err) {
      const name = this.configName;
      this.teardown();
      this.events.unsupported?.(`This browser cannot decode ${name}: ${(err as Error).message}`);
    }
  }

  private get configName(): string {
    return this.config?.codec ?? 'this video';
  }

  private dropUntilKey(): void {
    const now = localNow();
    this.needKey = true;
    this.droppingSince ??= now;
    if (now - this.lastAskAt >= KEYFRAME_ASK_SPACING_MS) {
      this.lastAskAt = now;
      this.events.keyframe?.();
    }
  }

  private onFrame(frame: VideoFrame, generation: number): void {
    if (generation !== this.generation) {
      frame.close();
      return;
    }
    this.counts.decoded++;
    this.decodedInStream++;
    this.lastOutputAt = performance.now();
    if (!this.keyframesOnRequest) {
      this.pacer.decoded(this.capturedAt(frame), localNow(), this.decoder?.decodeQueueSize ?? 0);
      this.paced.push(frame);
      // Bounded: a decoder far ahead of the screen loses its oldest frames.
      while (this.paced.length > MAX_PACED_FRAMES) {
        this.paced.shift()!.close();
        this.counts.replaced++;
      }
      this.raf ||= requestAnimationFrame(() => this.draw());
      return;
    }
    if (!this.pending) this.pending = frame;
    else if (!this.next) this.next = frame;
    else {
      this.captured.delete(this.pending.timestamp);
      this.pending.close();
      this.counts.replaced++;
      this.pending = this.next;
      this.next = frame;
    }
    this.raf ||= requestAnimationFrame(() => this.draw());
  }

  /** A decoded frame's capture time on this page's clock (its timestamp, when the chunk had none). */
  private capturedAt(frame: VideoFrame): number {
    return this.captured.get(frame.timestamp) ?? frame.timestamp / 1000;
  }

  /** The paced frame due now (the ones before it are dropped), or null; asks for the next animation frame while some wait. */
  private takePaced(): VideoFrame | null {
    const n = this.pacer.due(this.paced.map((f) => this.capturedAt(f)), localNow());
    const due = n > 0 ? this.paced.splice(0, n) : [];
    for (const f of due.slice(0, -1)) {
      this.captured.delete(f.timestamp);
      f.close();
      this.counts.replaced++;
    }
    if (this.paced.length > 0) this.raf ||= requestAnimationFrame(() => this.draw());
    return due.at(-1) ?? null;
  }

  private draw(): void {
    this.raf = 0;
    const frame = this.keyframesOnRequest ? this.pending : this.takePaced();
    if (!frame) return;
    if (frame === this.pending) {
      this.pending = this.next;
      this.next = null;
      if (this.pending) this.raf = requestAnimationFrame(() => this.draw());
    }
    try {
      const width = frame.displayWidth;
      const height = frame.displayHeight;
      if (this.canvas.width !== width || this.canvas.height !== height) {
        this.canvas.width = width;
        this.canvas.height = height;
      }
      this.ctx?.drawImage(frame, 0, 0, width, height);
      this.canvas.framesDrawn++;
      this.canvas.drawnAt = localNow();
      const captured = this.captured.get(frame.timestamp) ?? null;
      this.captured.delete(frame.timestamp);
      for (const w of this.watchers) w({ captured, image: frame, width, height });
      if (!this.firstFrameSeen) {
        this.firstFrameSeen = true;
        this.events.firstFrame?.();
      }
    } finally {
      frame.close();
    }
  }

  private fail(reason: string): void {
    this.teardown();
    this.events.rejoin?.(reason);
  }
}

function decoderConfig(video: VideoCodecConfig): VideoDecoderConfig {
  return {
    codec: video.codec,
    codedWidth: video.width,
    codedHeight: video.height,
    optimizeForLatency: true,
    hardwareAcceleration: 'no-preference',
    ...description(video.description),
  };
}

/** A setup's `description` (base64) as bytes; left out when missing or not base64 (the decoder then says what is wrong). */
function description(text: string | undefined): { description?: Uint8Array } {
  if (!text) return {};
  let s: string;
  try {
    s = atob(text);
  } catch {
    return {};
  }
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return { description: out };
}
