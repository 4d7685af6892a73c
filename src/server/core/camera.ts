// One camera in the core: its state, its tracks (the current period), the latest group of pictures
// for late joiners, and its consumers. Ingest (whatever the camera's transport) calls the writing
// side; consumers (viewers' outputs, later the recorder and integrations) attach to the reading side
// and listen to its typed events. Nothing outside the core writes its fields.
import { EventEmitter } from 'node:events';
import { sameTrack, type MediaFrame, type Tracks } from '../../media/frames.ts';
import type { CameraState } from '../../shared/schemas.ts';
import { Feed, type FeedSink } from './feed.ts';
import type { RetentionPool } from './retention.ts';

/** A frame in the core: its timestamp is on the period's media timeline (µs), `time` its capture time. */
export interface CoreFrame extends MediaFrame {
  /** Capture time on the server's clock, ms since the epoch; 0 = unknown (the camera has not told its clock yet). */
  time: number;
}

/** What the camera's own page announced about its picture (null: it did not say). */
export interface Announced {
  width: number | null;
  height: number | null;
  fps: number | null;
  /** How the camera sends its media: WebCodecs chunks, or a MediaRecorder container. */
  transport: 'chunks' | 'webm' | 'mp4';
  /** A MediaRecorder camera's own type, e.g. `video/webm;codecs=vp8,opus`. */
  mime?: string | undefined;
}

/** Whether the camera is being recorded (a feature says so; the camera page shows it, viewers see it). */
export interface RecordingStatus {
  /** `recording`: its media is being written; `failed`: it should be, and cannot (`message` says why). */
  state: 'recording' | 'failed';
  message?: string | undefined;
}

/** A still picture the camera page took from its live picture (JPEG), and when (ms since the epoch, server's clock). */
export interface Snapshot {
  jpeg: Uint8Array;
  time: number;
  /** The width it was asked for at most (0: an answer that came too late to know). */
  width: number;
}

/** The camera page gets this long to answer a snapshot request. */
export const SNAPSHOT_TIMEOUT_MS = 1000;

/** The camera's typed events. */
export interface CameraEvents {
  /** The camera connected (`online`), or its connection ended. */
  online: [];
  offline: [];
  /** People-visible state changed (connecting, live, paused, offline). */
  state: [CameraState];
  /** A new period began with these tracks (first media, or a change of codec, size or sample rate); null: the stream ended. */
  tracks: [Tracks | null];
  /** Whether anyone (a viewer, the recorder, an integration) wants its media changed. */
  wanted: [boolean];
  /** Whether it is being recorded changed (null: it is not). */
  recording: [RecordingStatus | null];
  /** A consumer needs a keyframe: the camera's transport asks the camera for one. */
  keyframe: [];
  /** A snapshot is wanted: the transport asks the camera page for request `seq`, at most `width` pixels wide. */
  snapshot: [seq: number, width: number];
  /** Anything shown in the camera list changed (name, state, size...). */
  changed: [];
  /** One frame (consumers that need every frame in order attach instead; this is for observers). */
  frame: [CoreFrame];
  /** The server forgot it (offline too long, or never streamed): let go of it. The last event. */
  gone: [];
}

/** Bytes kept for late joiners before giving up on the current group of pictures. */
export const DEFAULT_MAX_RETAINED_BYTES = 32 * 1024 * 1024;
/**
 * What keeping one frame costs beyond its bytes: the objects around them (measured ~200 bytes).
 * Counted, so that a stream of empty frames cannot be kept by the million under a byte bound.
 */
export const FRAME_COST_BYTES = 256;

/** One camera; see the module comment. */
export class Camera extends EventEmitter<CameraEvents> {
  private _name: string;
  private _state: CameraState = 'offline';
  private _tracks: Tracks | null = null;
  private _announced: Announced | null = null;
  private _offlineSince: number | null = Date.now();
  private _hasStreamed = false;
  private readonly feed: Feed<CoreFrame>;
  private _retention: RetentionPool | null = null;
  private _recording: RecordingStatus | null = null;
  private _lastSnapshot: Snapshot | null = null;
  /** Snapshot requests waiting for the page, by width (one request serves every caller asking the same). */
  private readonly snapshots = new Map<number, { seq: number; promise: Promise<Snapshot>; settle: (s: Snapshot | Error) => void }>();
  private snapshotSeq = 0;

  constructor(
    readonly id: string,
    /** Its channel number on the wire (binary frames to viewers carry it). */
    readonly number: number,
    name: string,
    maxRetainedBytes = DEFAULT_MAX_RETAINED_BYTES,
    now?: () => number,
    /** When it went offline, for a camera the server knew before it restarted (default: now). */
    offlineSince?: number,
  ) {
    super();
    if (offlineSince !== undefined) this._offlineSince = offlineSince;
    this._name = name;
    this.feed = new Feed<CoreFrame>({
      separateAudio: () => (this._tracks?.video ?? null) !== null,
      maxRetainedBytes,
      pool: () => this._retention,
      size: (f) => f.data.byteLength + FRAME_COST_BYTES,
      requestKeyframe: () => this.emit('keyframe'),
      keyframesOnRequest: () => this.keyframesOnRequest,
      ...(now ? { now } : {}),
    });
  }

  get name(): string {
    return this._name;
  }
  get state(): CameraState {
    return this._state;
  }
  /** The current period's tracks; null while nothing streams. */
  get tracks(): Tracks | null {
    return this._tracks;
  }
  /** What the camera announced of its stream; null while it streams nothing. */
  get announced(): Announced | null {
    return this._announced;
  }
  get online(): boolean {
    return this._state !== 'offline';
  }
  /** When it went offline (ms since the epoch), null while online. */
  get offlineSince(): number | null {
    return this._offlineSince;
  }
  /** It has streamed since it was created (one that never did is forgotten when it leaves). */
  get hasStreamed(): boolean {
    return this._hasStreamed;
  }
  /** The share of memory what is kept of this camera (here and in its outputs) is charged to: its connection's address's; null: none. */
  get retention(): RetentionPool | null {
    return this._retention;
  }
  /** Whether the camera makes a keyframe when asked (WebCodecs does; MediaRecorder cannot). */
  get keyframesOnRequest(): boolean {
    return this._announced?.transport === 'chunks';
  }
  /** Whether it is being recorded (null: it is not). */
  get recording(): RecordingStatus | null {
    return this._recording;
  }
  /** Someone wants its media: a consumer is attached. */
  get wanted(): boolean {
    return this.feed.size > 0;
  }

  // ---- the writing side: the camera's transport and ingest ----

  /** Its connection said hello; what is kept of it is charged to `retention` (its address's share). */
  connect(name: string, retention: RetentionPool | null = null): void {
    this._name = name;
    this._retention = retention;
    this._offlineSince = null;
    this.endStream();
    this.setState('connecting');
    this.emit('online');
  }

  /** Its connection ended. */
  disconnect(): void {
    for (const w of [...this.snapshots.values()]) w.settle(new Error('the camera went offline'));
    this.endStream();
    this._offlineSince = Date.now();
    this.setState('offline');
    this.emit('offline');
  }

  setState(state: CameraState): void {
    if (state === this._state) return;
    this._state = state;
    this.emit('state', state);
    this.emit('changed');
  }

  rename(name: string): void {
    if (name === this._name) return;
    this._name = name;
    this.emit('changed');
  }

  /** The recorder says whether it records this camera. */
  setRecording(status: RecordingStatus | null): void {
    const now = this._recording;
    if (now === status || (now && status && now.state === status.state && now.message === status.message)) return;
    this._recording = status;
    this.emit('recording', status);
    this.emit('changed');
  }

  /** The camera announced a stream (its media and tracks follow). */
  announce(announced: Announced): void {
    this._announced = announced;
    this._hasStreamed = true;
    this.emit('changed');
  }

  /** A new period: these tracks from now on (a change of codec or size, or the first media). */
  startPeriod(tracks: Tracks): void {
    this._tracks = tracks;
    this.feed.start();
    this.emit('tracks', tracks);
    this.emit('changed');
  }

  /** True when `tracks` differ from the current period's (a new period is due). */
  differs(tracks: Tracks): boolean {
    const now = this._tracks;
    return now === null || !sameTrack(now.video, tracks.video) || !sameTrack(now.audio, tracks.audio);
  }

  /** One frame of the current period, in order. */
  push(frame: CoreFrame): void {
    this.feed.push(frame);
    if (this.listenerCount('frame') > 0) this.emit('frame', frame);
  }

  /** The stream ended (the camera stopped it or left); consumers stay attached for the next. */
  endStream(): void {
    const had = this._tracks !== null || this._announced !== null;
    this._tracks = null;
    this._announced = null;
    this.feed.end();
    if (had) {
      this.emit('tracks', null);
      this.emit('changed');
    }
  }

  /** The server forgets it: consumers are let go, listeners hear `gone` and are removed. */
  forget(): void {
    this.endStream();
    this.emit('gone');
    this.removeAllListeners();
  }

  // ---- the reading side: consumers ----

  /** Attaches a consumer (or starts it over): it joins at a keyframe with its own queue. */
  attach(sink: FeedSink<CoreFrame>): void {
    const was = this.wanted;
    this.feed.add(sink);
    if (!was) this.emit('wanted', true);
  }

  /** Detaches a consumer; returns whether it was attached. */
  detach(sink: FeedSink<CoreFrame>): boolean {
    const had = this.feed.remove(sink);
    if (had && !this.wanted) this.emit('wanted', false);
    return had;
  }

  isAttached(sink: FeedSink<CoreFrame>): boolean {
    return this.feed.has(sink);
  }

  /** A consumer's decoder needs a keyframe (heeded at most once a second per consumer). */
  keyframeWanted(sink: FeedSink<CoreFrame>): void {
    this.feed.keyframeWanted(sink);
  }

  /** The latest snapshot the page took (null: none since the server started). */
  get lastSnapshot(): Snapshot | null {
    return this._lastSnapshot;
  }

  /**
   * A still picture from the camera page's live picture, at most `width` pixels wide; rejects when
   * the camera is offline or does not answer within `timeoutMs`. Callers asking for the same width
   * while one is on its way share it.
   */
  requestSnapshot(width: number, timeoutMs = SNAPSHOT_TIMEOUT_MS): Promise<Snapshot> {
    if (!this.online || this._tracks?.video == null) return Promise.reject(new Error(this.online ? 'the camera sends no picture now' : 'the camera is offline'));
    const waiting = this.snapshots.get(width);
    if (waiting) return waiting.promise;
    const seq = ++this.snapshotSeq;
    let settle!: (s: Snapshot | Error) => void;
    const promise = new Promise<Snapshot>((resolve, reject) => {
      const timer = setTimeout(() => settle(new Error(`the camera did not send a picture within ${timeoutMs} ms`)), timeoutMs);
      settle = (s) => {
        clearTimeout(timer);
        if (this.snapshots.get(width)?.seq === seq) this.snapshots.delete(width);
        if (s instanceof Error) reject(s);
        else resolve(s);
      };
    });
    this.snapshots.set(width, { seq, promise, settle });
    this.emit('snapshot', seq, width);
    return promise;
  }

  /**
   * The page's answer to snapshot request `seq`. Returns false for a number never asked for (the
   * transport treats that as bad input); an answer that came too late is kept as the latest only.
   */
  snapshotTaken(seq: number, jpeg: Uint8Array, time: number): boolean {
    if (!Number.isInteger(seq) || seq < 1 || seq > this.snapshotSeq) return false;
    const asked = [...this.snapshots.entries()].find(([, w]) => w.seq === seq);
    const snapshot = { jpeg, time, width: asked?.[0] ?? 0 };
    this._lastSnapshot = snapshot;
    asked?.[1].settle(snapshot);
    return true;
  }

  /** Asks the camera for a keyframe (muxed outputs, whose own joiners wait). */
  requestKeyframe(): void {
    this.emit('keyframe');
  }
}
