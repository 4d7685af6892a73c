// A camera's stream of WebCodecs chunks: the decoders' setup per track, the video chunks since the
// latest keyframe, and the fan-out to its viewers. Joiners start at a keyframe: the latest one if it
// is fresh, else the next one, which the camera is asked for at once (never a whole group of pictures).
import { encodeFrame, FLAG_AUDIO, FLAG_KEY, FRAME_KIND_CHUNK, FRESH_KEYFRAME_MS, ProtocolError, type AudioCodecConfig, type VideoCodecConfig } from '../shared/protocol.ts';
import type { ViewerSink } from './channel.ts';

/** A joiner waiting for the keyframe it asked for gets the cached group after this long (a camera that does not answer). */
export const KEYFRAME_WAIT_MS = 500;
/** Keyframe requests to the camera at most this often: one keyframe serves every viewer waiting. */
export const KEYFRAME_REQUEST_SPACING_MS = 250;
/** A viewer's own keyframe requests count at most this often (one viewer must not degrade everyone's stream). */
export const VIEWER_KEYFRAME_SPACING_MS = 1000;

interface ViewerState {
  waiting: boolean;
  skipping: boolean;
  skipped: number;
  askedAt: number;
}

/** One chunk stream of a channel, from its `stream` message to the next. */
export class ChunkRelay {
  video: VideoCodecConfig | null = null;
  audio: AudioCodecConfig | null = null;
  private active = false;
  /** Frames (header included) from the latest video keyframe on; empty when a joiner must wait. */
  private gop: Uint8Array[] = [];
  private gopBytes = 0;
  private keyAt = -Infinity;
  private keyRequestedAt = -Infinity;
  private joinTimer: NodeJS.Timeout | null = null;
  /**
   * Per viewer: `waiting` to (re)join (a `stream` message and the kept group first); `skipping`:
   * in step, but its queue is full, so its video is dropped up to the next keyframe it can take
   * (audio goes on while it can), `skipped` counting the video frames it missed.
   */
  private readonly viewers = new Map<ViewerSink, ViewerState>();

  constructor(
    private readonly cameraId: string,
    private readonly channel: number,
    private readonly nextSeq: () => number,
    private readonly maxRetainedBytes: number,
    /** Asks the camera for a keyframe. */
    private readonly requestKeyframe: () => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get streaming(): boolean {
    return this.active;
  }

  /** The camera starts a new chunk stream: its codecs follow, then its chunks. */
  start(): void {
    this.clear();
    this.active = true;
    for (const v of this.viewers.values()) Object.assign(v, { waiting: true, skipping: false, skipped: 0 });
  }

  end(): void {
    this.clear();
    this.active = false;
  }

  add(sink: ViewerSink): void {
    const v: ViewerState = { waiting: true, skipping: false, skipped: 0, askedAt: -Infinity };
    this.viewers.set(sink, v);
    if (!this.active || sink.congested()) return;
    if (this.gop.length > 0 && this.now() - this.keyAt <= FRESH_KEYFRAME_MS) {
      this.sendJoin(sink, v);
      return;
    }
    this.askKeyframe();
    this.joinTimer ??= setTimeout(() => this.joinFromCache(), KEYFRAME_WAIT_MS).unref();
  }

  remove(sink: ViewerSink): boolean {
    return this.viewers.delete(sink);
  }

  /** A viewer's decoder needs a keyframe (it drops video until one comes); heeded at most once a second per viewer. */
  keyframeWanted(sink: ViewerSink): void {
    const v = this.viewers.get(sink);
    const now = this.now();
    if (!this.active || !v || now - v.askedAt < VIEWER_KEYFRAME_SPACING_MS) return;
    v.askedAt = now;
    this.askKeyframe();
  }

  /** New decoder setup for a track; in-step viewers are told before the chunks it applies to. */
  setCodec(update: { video?: VideoCodecConfig | undefined; audio?: AudioCodecConfig | undefined }): void {
    if (!this.active) throw new ProtocolError('WRONG_ORDER', 'a codec before a chunk "stream" message');
    const message: { video?: VideoCodecConfig; audio?: AudioCodecConfig } = {};
    if (update.video) {
      this.video = update.video;
      message.video = update.video;
      // What was kept needs the old setup: joiners wait for the keyframe that comes with the new one.
      this.gop = [];
      this.gopBytes = 0;
    }
    if (update.audio) {
      this.audio = update.audio;
      message.audio = update.audio;
    }
    for (const [sink, v] of this.viewers) if (!v.waiting) sink.sendJson({ type: 'codec', cameraId: this.cameraId, channel: this.channel, ...message });
  }

  /** One encoded chunk (flags: FLAG_KEY, FLAG_AUDIO); `time` its capture time (server clock, ms; 0 = unknown). */
  push(payload: Uint8Array, flags: number, time: number): void {
    if (!this.active) throw new ProtocolError('WRONG_ORDER', 'a chunk before a chunk "stream" message');
    const audio = (flags & FLAG_AUDIO) !== 0;
    const key = (flags & FLAG_KEY) !== 0;
    if (!(audio ? this.audio : this.video)) throw new ProtocolError('WRONG_ORDER', `an ${audio ? 'audio' : 'video'} chunk before its codec`);
    const frame = encodeFrame({ kind: FRAME_KIND_CHUNK, flags, channel: this.channel, seq: this.nextSeq(), time }, payload);
    if (!audio) this.keep(frame, key);
    let waiting = false;
    let ready = false;
    for (const [sink, v] of this.viewers) {
      if (v.waiting) {
        if (sink.congested()) waiting = true;
        else if (!audio && key) this.sendJoin(sink, v);
        else ready = true;
      } else if (audio) {
        // Sound is small and keeps flowing while the queue is merely full; not once it is choked.
        if (!sink.choked()) sink.sendBinary(frame);
      } else if (v.skipping) {
        if (key && !sink.congested()) {
          // Caught up: its decoder goes on from this keyframe. Tell it how much it missed.
          sink.sendJson({ type: 'skipped', cameraId: this.cameraId, channel: this.channel, frames: v.skipped });
          v.skipping = false;
          sink.sendBinary(frame);
        } else {
          v.skipped++;
          if (!sink.congested()) ready = true;
        }
      } else if (sink.congested()) {
        // Its queue is full: drop its video up to the next keyframe it can take.
        v.skipping = true;
        v.skipped++;
      } else {
        sink.sendBinary(frame);
      }
    }
    if (ready) {
      // Someone can start (a new stream, a viewer that caught up): get it a keyframe soon.
      this.askKeyframe();
      this.joinTimer ??= setTimeout(() => this.joinFromCache(), KEYFRAME_WAIT_MS).unref();
    } else if (!waiting && this.joinTimer) {
      clearTimeout(this.joinTimer);
      this.joinTimer = null;
    }
  }

  private keep(frame: Uint8Array, key: boolean): void {
    if (key) {
      this.gop = [frame];
      this.gopBytes = frame.byteLength;
      this.keyAt = this.now();
    } else if (this.gop.length > 0) {
      this.gop.push(frame);
      this.gopBytes += frame.byteLength;
      // No keyframe for too long: joiners wait for the next one.
      if (this.gopBytes > this.maxRetainedBytes) {
        this.gop = [];
        this.gopBytes = 0;
      }
    }
  }

  private askKeyframe(): void {
    const now = this.now();
    // One request at a time: the keyframe it brings serves every viewer waiting by then.
    const pending = this.keyRequestedAt > this.keyAt && now - this.keyRequestedAt < KEYFRAME_WAIT_MS;
    if (pending || now - this.keyRequestedAt < KEYFRAME_REQUEST_SPACING_MS) return;
    this.keyRequestedAt = now;
    this.requestKeyframe();
  }

  /** The keyframe asked for did not come: start waiting viewers from the cached one. */
  private joinFromCache(): void {
    this.joinTimer = null;
    if (!this.active) return;
    for (const [sink, v] of this.viewers) if (v.waiting && !sink.congested()) this.sendJoin(sink, v);
  }

  private sendJoin(sink: ViewerSink, v: ViewerState): void {
    if (!this.video || this.gop.length === 0) return;
    sink.sendJson({ type: 'stream', cameraId: this.cameraId, channel: this.channel, format: 'chunks', video: this.video, audio: this.audio });
    for (const f of this.gop) sink.sendBinary(f);
    Object.assign(v, { waiting: false, skipping: false, skipped: 0 });
  }

  private clear(): void {
    this.video = null;
    this.audio = null;
    this.gop = [];
    this.gopBytes = 0;
    this.keyAt = -Infinity;
    this.keyRequestedAt = -Infinity;
    if (this.joinTimer) clearTimeout(this.joinTimer);
    this.joinTimer = null;
  }
}
