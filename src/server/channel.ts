// One camera's channel: parses its WebM just enough to keep the init segment and the bytes from
// the cluster that holds the latest keyframe, and fans its media out to subscribed viewers.
import { WebmParser, type WebmEvent } from '../media/webm/webm-parser.ts';
import { encodeFrame, FLAG_INIT, FLAG_KEY, FRAME_KIND_MEDIA, HEADER_BYTES, type CameraInfo, type CameraState, type ServerMessage } from '../shared/protocol.ts';

/** Where a channel sends things for one viewer (a viewer connection, or a test double). */
export interface ViewerSink {
  sendJson(message: ServerMessage): void;
  sendBinary(frame: Uint8Array): void;
  /** True when the viewer is too far behind to be sent more; it then re-joins at the next keyframe. */
  congested(): boolean;
}

/** Description of the stream a camera announced. */
export interface StreamInfo {
  mime: string;
  width: number | null;
  height: number | null;
  fps: number | null;
}

/** Bytes kept for late joiners before giving up on the current group of pictures. */
export const DEFAULT_MAX_RETAINED_BYTES = 32 * 1024 * 1024;

interface Piece {
  offset: number;
  bytes: Uint8Array;
}

/** Per camera: state shown to viewers, the late-join cache, and the viewer list. */
export class Channel {
  name: string;
  state: CameraState = 'connecting';
  stream: StreamInfo | null = null;
  /** True once the camera started a stream (a channel that never did is forgotten when its camera leaves). */
  hasStreamed = false;
  /** When the camera went offline (ms since epoch), for expiring old entries. */
  offlineSince: number | null = null;

  private parser: WebmParser | null = null;
  private init: Uint8Array | null = null;
  /** Media bytes kept from `retained[0].offset` to the end of the stream so far. */
  private retained: Piece[] = [];
  private retainedBytes = 0;
  /** Offset of the cluster holding the latest video keyframe, or null when a joiner must wait. */
  private gopStart: number | null = null;
  private currentCluster: number | null = null;
  private videoTrack: number | null = null;
  private seqOut = 0;
  private gopCache: { from: number; to: number; bytes: Uint8Array } | null = null;
  /** The newest chunk's `time` (capture time of media time 0, server clock, ms), for the frames a joiner gets; 0 = unknown. */
  private lastTime = 0;
  /** Subscribed viewers; `waiting` ones get init + keyframe cluster as soon as there is one. */
  private readonly viewers = new Map<ViewerSink, { waiting: boolean }>();

  constructor(
    readonly id: string,
    readonly number: number,
    name: string,
    private readonly maxRetainedBytes = DEFAULT_MAX_RETAINED_BYTES,
  ) {
    this.name = name;
  }

  /** Number of subscribed viewers. */
  get viewerCount(): number {
    return this.viewers.size;
  }

  /** What viewers see of this camera. */
  info(): CameraInfo {
    return {
      id: this.id,
      channel: this.number,
      name: this.name,
      state: this.state,
      mime: this.stream?.mime ?? null,
      width: this.stream?.width ?? null,
      height: this.stream?.height ?? null,
      fps: this.stream?.fps ?? null,
      viewers: this.viewers.size,
    };
  }

  /** The camera starts a new stream: forget the old one and tell every viewer to start over. */
  startStream(info: StreamInfo): void {
    this.stream = { ...info };
    this.hasStreamed = true;
    this.parser = new WebmParser();
    this.init = null;
    this.retained = [];
    this.retainedBytes = 0;
    this.gopStart = null;
    this.gopCache = null;
    this.lastTime = 0;
    this.currentCluster = null;
    this.videoTrack = null;
    for (const sink of this.viewers.keys()) this.join(sink);
  }

  /** The camera's connection ended: keep the last picture for nobody, drop the stream. */
  endStream(): void {
    this.stream = null;
    this.parser = null;
    this.init = null;
    this.retained = [];
    this.retainedBytes = 0;
    this.gopStart = null;
    this.gopCache = null;
  }

  /** True while a stream is running (media may be pushed). */
  get streaming(): boolean {
    return this.parser !== null;
  }

  /** Adds a viewer (or re-joins it from scratch, e.g. after a decode error). */
  subscribe(sink: ViewerSink): void {
    this.join(sink);
  }

  /** Removes a viewer; returns whether it was subscribed. */
  unsubscribe(sink: ViewerSink): boolean {
    return this.viewers.delete(sink);
  }

  /** Feeds one chunk of the camera's WebM; `time` is the capture time of media time 0 (server clock, ms; 0 = unknown). Throws WebmError when it is malformed. */
  pushMedia(payload: Uint8Array, time = 0): void {
    const parser = this.parser;
    if (!parser) throw new Error('pushMedia without a stream');
    const offset = parser.bytesRead;
    const events = parser.push(payload);
    this.gopCache = null;
    // One copy: the frame for viewers, whose payload is also what is kept for late joiners.
    this.lastTime = time;
    const frame = encodeFrame({ kind: FRAME_KIND_MEDIA, flags: 0, channel: this.number, seq: this.seqOut++, time }, payload);
    const bytes = frame.subarray(HEADER_BYTES);
    this.retained.push({ offset, bytes });
    this.retainedBytes += bytes.byteLength;
    const foundKey = this.apply(events);
    if (this.init === null) {
      // Still in the init segment: everything is kept (the parser bounds its size).
    } else if (this.gopStart !== null) {
      this.trimTo(this.gopStart);
    } else if (this.currentCluster !== null) {
      this.trimTo(this.currentCluster);
    }
    if (this.retainedBytes > this.maxRetainedBytes && this.init !== null) {
      // No keyframe for too long: joiners wait for the next one.
      this.gopStart = null;
      this.trimTo(parser.bytesRead);
    }

    for (const [sink, v] of this.viewers) {
      if (!v.waiting) {
        if (sink.congested()) v.waiting = true;
        else sink.sendBinary(frame);
      } else if (foundKey && !sink.congested()) this.sendJoin(sink, v);
    }
  }

  private apply(events: WebmEvent[]): boolean {
    let foundKey = false;
    for (const e of events) {
      if (e.kind === 'tracks') {
        const video = e.tracks.find((t) => t.type === 'video');
        this.videoTrack = video?.number ?? null;
        if (this.stream && video?.width && video.height) {
          this.stream.width = video.width;
          this.stream.height = video.height;
        }
      } else if (e.kind === 'cluster') {
        if (this.init === null) this.init = this.concat(0, e.offset);
        this.currentCluster = e.offset;
      } else if (e.keyframe && (this.videoTrack === null || e.track === this.videoTrack) && e.cluster >= (this.retained[0]?.offset ?? Infinity)) {
        // (A keyframe in a cluster whose start was already dropped cannot start a joiner.)
        this.gopStart = e.cluster;
        foundKey = true;
      }
    }
    return foundKey;
  }

  private join(sink: ViewerSink): void {
    const v = { waiting: true };
    this.viewers.set(sink, v);
    if (!this.stream) return; // told when a stream starts
    // A viewer that does not read what it was sent waits for the next keyframe, like any congested one.
    if (sink.congested()) return;
    this.sendJoin(sink, v);
  }

  /** Sends the stream header and what a joiner needs to start, if there is enough yet. */
  private sendJoin(sink: ViewerSink, v: { waiting: boolean }): void {
    if (!this.stream) return;
    if (this.init === null || this.gopStart === null) {
      // A young stream (no complete init segment yet) or no keyframe kept: join at the next keyframe,
      // so every viewer gets the init segment whole, in one INIT frame (the player amends it).
      v.waiting = true;
      return;
    }
    sink.sendJson({ type: 'stream', cameraId: this.id, channel: this.number, mime: this.stream.mime });
    sink.sendBinary(this.frame(FLAG_INIT, this.init));
    sink.sendBinary(this.frame(FLAG_KEY, this.gopBytes(this.gopStart, this.parserOffset())));
    v.waiting = false;
  }

  /** The bytes from the keyframe's cluster to now, copied once per new chunk however many viewers join. */
  private gopBytes(from: number, to: number): Uint8Array {
    const c = this.gopCache;
    if (c && c.from === from && c.to === to) return c.bytes;
    const bytes = this.concat(from, to);
    this.gopCache = { from, to, bytes };
    return bytes;
  }

  private frame(flags: number, payload: Uint8Array): Uint8Array {
    return encodeFrame({ kind: FRAME_KIND_MEDIA, flags, channel: this.number, seq: this.seqOut++, time: this.lastTime }, payload);
  }

  private parserOffset(): number {
    return this.parser?.bytesRead ?? 0;
  }

  /** Copies retained stream bytes [from, to) into one array. */
  private concat(from: number, to: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, to - from));
    for (const p of this.retained) {
      const start = Math.max(from, p.offset);
      const end = Math.min(to, p.offset + p.bytes.byteLength);
      if (end > start) out.set(p.bytes.subarray(start - p.offset, end - p.offset), start - from);
    }
    return out;
  }

  /** Forgets retained bytes before `offset`. */
  private trimTo(offset: number): void {
    while (this.retained.length > 0) {
      const first = this.retained[0]!;
      const end = first.offset + first.bytes.byteLength;
      if (end <= offset) {
        this.retained.shift();
        this.retainedBytes -= first.bytes.byteLength;
      } else {
        if (first.offset < offset) {
          const cut = offset - first.offset;
          this.retained[0] = { offset, bytes: first.bytes.subarray(cut) };
          this.retainedBytes -= cut;
        }
        return;
      }
    }
  }
}
