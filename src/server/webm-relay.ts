// A camera's WebM stream (MediaRecorder's bytes): parsed just enough to keep the init segment and
// the bytes from the cluster that holds the latest keyframe, and fanned out to its viewers.
import { WebmParser, type WebmEvent } from '../media/webm/webm-parser.ts';
import { encodeFrame, FLAG_INIT, FLAG_KEY, FRAME_KIND_MEDIA, HEADER_BYTES } from '../shared/protocol.ts';
import type { ViewerSink } from './channel.ts';

interface Piece {
  offset: number;
  bytes: Uint8Array;
}

/** One WebM stream of a channel, from its `stream` message to the next; start() begins a new one. */
export class WebmRelay {
  mime: string | null = null;
  private parser: WebmParser | null = null;
  private init: Uint8Array | null = null;
  /** Media bytes kept from `retained[0].offset` to the end of the stream so far. */
  private retained: Piece[] = [];
  private retainedBytes = 0;
  /** Offset of the cluster holding the latest video keyframe, or null when a joiner must wait. */
  private gopStart: number | null = null;
  private currentCluster: number | null = null;
  private videoTrack: number | null = null;
  private gopCache: { from: number; to: number; bytes: Uint8Array } | null = null;
  /** The newest chunk's `time` (capture time of media time 0, server clock, ms), for the frames a joiner gets; 0 = unknown. */
  private lastTime = 0;
  /** False while the camera is (re)starting this stream: joiners wait for its `stream` message. */
  private current = false;
  /** Subscribed viewers; `waiting` ones get init + keyframe cluster as soon as there is one. */
  private readonly viewers = new Map<ViewerSink, { waiting: boolean }>();

  constructor(
    private readonly cameraId: string,
    private readonly channel: number,
    private readonly nextSeq: () => number,
    private readonly maxRetainedBytes: number,
    /** The picture size, once the stream's Tracks say it. */
    private readonly onSize: (width: number, height: number) => void,
  ) {}

  get viewerCount(): number {
    return this.viewers.size;
  }

  /** True while a stream is running (media may be pushed). */
  get streaming(): boolean {
    return this.parser !== null;
  }

  /** The camera starts a new stream: forget the old one and start every viewer over. */
  start(mime: string): void {
    this.mime = mime;
    this.current = true;
    this.parser = new WebmParser();
    this.clear();
    for (const sink of this.viewers.keys()) this.join(sink);
  }

  /**
   * The camera was asked to start (or stop) this stream: until its next `stream` message, joiners
   * wait, and what it still sends of the old one is parsed (to check it) but neither kept nor sent.
   */
  restarting(): void {
    this.current = false;
    this.clear();
  }

  /** The stream ended (its camera left). */
  end(): void {
    this.mime = null;
    this.parser = null;
    this.current = false;
    this.clear();
  }

  add(sink: ViewerSink): void {
    this.join(sink);
  }

  remove(sink: ViewerSink): boolean {
    return this.viewers.delete(sink);
  }

  /** Feeds one chunk of the camera's WebM; `time` is the capture time of media time 0 (server clock, ms; 0 = unknown). Throws WebmError when it is malformed. */
  push(payload: Uint8Array, time: number): void {
    const parser = this.parser;
    if (!parser) throw new Error('WebM media without a stream');
    if (!this.current) {
      parser.push(payload);
      return;
    }
    const offset = parser.bytesRead;
    const events = parser.push(payload);
    this.gopCache = null;
    // One copy: the frame for viewers, whose payload is also what is kept for late joiners.
    this.lastTime = time;
    const frame = encodeFrame({ kind: FRAME_KIND_MEDIA, flags: 0, channel: this.channel, seq: this.nextSeq(), time }, payload);
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

  private clear(): void {
    this.init = null;
    this.retained = [];
    this.retainedBytes = 0;
    this.gopStart = null;
    this.gopCache = null;
    this.lastTime = 0;
    this.currentCluster = null;
    this.videoTrack = null;
  }

  private apply(events: WebmEvent[]): boolean {
    let foundKey = false;
    for (const e of events) {
      if (e.kind === 'tracks') {
        const video = e.tracks.find((t) => t.type === 'video');
        this.videoTrack = video?.number ?? null;
        if (video?.width && video.height) this.onSize(video.width, video.height);
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
    if (!this.parser || !this.current) return; // told when a stream starts
    // A viewer that does not read what it was sent waits for the next keyframe, like any congested one.
    if (sink.congested()) return;
    this.sendJoin(sink, v);
  }

  /** Sends the stream header and what a joiner needs to start, if there is enough yet. */
  private sendJoin(sink: ViewerSink, v: { waiting: boolean }): void {
    if (!this.mime) return;
    if (this.init === null || this.gopStart === null) {
      // A young stream (no complete init segment yet) or no keyframe kept: join at the next keyframe,
      // so every viewer gets the init segment whole, in one INIT frame (the player amends it).
      v.waiting = true;
      return;
    }
    sink.sendJson({ type: 'stream', cameraId: this.cameraId, channel: this.channel, format: 'webm', mime: this.mime });
    sink.sendBinary(this.frame(FLAG_INIT, this.init));
    sink.sendBinary(this.frame(FLAG_KEY, this.gopBytes(this.gopStart, this.parser?.bytesRead ?? 0)));
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
    return encodeFrame({ kind: FRAME_KIND_MEDIA, flags, channel: this.channel, seq: this.nextSeq(), time: this.lastTime }, payload);
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
