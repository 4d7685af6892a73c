// A camera's WebM stream (MediaRecorder's bytes): parsed just enough to keep the init segment and
// the bytes from the cluster that holds the latest keyframe, and fanned out to its viewers.
import { WebmParser, type WebmEvent } from '../media/webm/webm-parser.ts';
import { encodeFrame, FLAG_INIT, FLAG_KEY, FRAME_KIND_MEDIA, FRESH_KEYFRAME_MS, HEADER_BYTES } from '../shared/protocol.ts';
import type { ViewerSink } from './channel.ts';

interface Piece {
  offset: number;
  bytes: Uint8Array;
}

/**
 * A viewer's place in the stream. `waiting`: it (re)joins with a `stream` message, the init segment
 * and the latest keyframe's cluster. Else, while its queue is full it skips: `finishing`, it still
 * gets the rest of the cluster being sent (so what it has ends at a cluster boundary and its
 * browser's WebM parser is not left mid-element), then `dropping`, nothing until a cluster with a
 * video keyframe it can take, from which it goes on with no restart; `skipped` counts the video
 * frames it missed, which it is told. A viewer whose queue empties while it finishes a Cluster goes
 * on as if nothing happened.
 */
interface WebmViewer {
  waiting: boolean;
  skip: 'no' | 'finishing' | 'dropping';
  /** Where its stream was cut (dropping: it goes on from a keyframe's Cluster at or after this). */
  cutAt: number;
  skipped: number;
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
  /** Video frames kept from `gopStart` on. */
  private gopVideo = 0;
  /** When the latest keyframe came (performance.now() ms). */
  private keyAt = -Infinity;
  /** The newest chunk's `time` (capture time of media time 0, server clock, ms), for the frames a joiner gets; 0 = unknown. */
  private lastTime = 0;
  /** False while the camera is (re)starting this stream: joiners wait for its `stream` message. */
  private current = false;
  /** Subscribed viewers (see WebmViewer). */
  private readonly viewers = new Map<ViewerSink, WebmViewer>();

  constructor(
    private readonly cameraId: string,
    private readonly channel: number,
    private readonly nextSeq: () => number,
    private readonly maxRetainedBytes: number,
    /** The picture size, once the stream's Tracks say it. */
    private readonly onSize: (width: number, height: number) => void,
    private readonly now: () => number = () => performance.now(),
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

    // Video blocks read in this chunk from `from` on (a block's event comes once its header is read,
    // so one may have begun in the chunk before; none crosses a Cluster start).
    const videoFrom = (from: number): number => events.filter((e) => e.kind === 'block' && e.offset >= from && (this.videoTrack === null || e.track === this.videoTrack)).length;
    const videoHere = videoFrom(-Infinity);
    if (this.gopStart === null) this.gopVideo = 0;
    else this.gopVideo = foundKey ? videoFrom(this.gopStart) : this.gopVideo + videoHere;
    // Where a Cluster starts in this chunk (one whose header began in the chunk before has already
    // partly gone out: a cut can only come at the next).
    const clusterAt = events.flatMap((e) => (e.kind === 'cluster' && e.offset >= offset ? [e.offset] : []))[0] ?? null;
    for (const [sink, v] of this.viewers) {
      if (v.waiting) {
        if (foundKey && !sink.congested()) this.sendJoin(sink, v);
      } else if (v.skip === 'dropping') {
        v.skipped += videoHere;
        // On from the latest keyframe's Cluster once it reads again, if that keyframe is fresh
        // (a stale one would put the viewer that far behind live); else at the next one.
        const fresh = foundKey || this.now() - this.keyAt <= FRESH_KEYFRAME_MS;
        if (fresh && this.gopStart !== null && this.gopStart >= v.cutAt && !sink.congested()) this.resume(sink, v);
      } else if (!sink.congested()) {
        v.skip = 'no';
        sink.sendBinary(frame);
      } else if (sink.choked()) {
        // Not even one Cluster more fits: start it over at the next keyframe.
        Object.assign(v, { waiting: true, skip: 'no', skipped: 0 });
      } else if (clusterAt === null) {
        // The Cluster being sent goes on: finish it.
        v.skip = 'finishing';
        sink.sendBinary(frame);
      } else {
        // It ends where the next Cluster starts: send up to there, then drop.
        if (clusterAt > offset) sink.sendBinary(this.frame(0, bytes.subarray(0, clusterAt - offset), time));
        Object.assign(v, { skip: 'dropping', cutAt: clusterAt, skipped: videoFrom(clusterAt) });
      }
    }
  }

  /** A dropping viewer goes on from the latest keyframe's Cluster, told how many video frames it missed. */
  private resume(sink: ViewerSink, v: WebmViewer): void {
    // The frames from that Cluster on were counted as missed, and now go.
    const missed = Math.max(0, v.skipped - this.gopVideo);
    if (missed > 0) sink.sendJson({ type: 'skipped', cameraId: this.cameraId, channel: this.channel, frames: missed });
    sink.sendBinary(this.frame(FLAG_KEY, this.gopBytes(this.gopStart!, this.parser?.bytesRead ?? 0)));
    Object.assign(v, { skip: 'no', skipped: 0 });
  }

  private clear(): void {
    this.init = null;
    this.retained = [];
    this.retainedBytes = 0;
    this.gopStart = null;
    this.gopVideo = 0;
    this.keyAt = -Infinity;
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
      } else if (e.kind === 'block' && e.keyframe && (this.videoTrack === null || e.track === this.videoTrack) && e.cluster >= (this.retained[0]?.offset ?? Infinity)) {
        // (A keyframe in a cluster whose start was already dropped cannot start a joiner.)
        this.gopStart = e.cluster;
        this.keyAt = this.now();
        foundKey = true;
      }
    }
    return foundKey;
  }

  private join(sink: ViewerSink): void {
    const v: WebmViewer = { waiting: true, skip: 'no', cutAt: 0, skipped: 0 };
    this.viewers.set(sink, v);
    if (!this.parser || !this.current) return; // told when a stream starts
    // A viewer that does not read what it was sent waits for the next keyframe, like any congested one.
    if (sink.congested()) return;
    this.sendJoin(sink, v);
  }

  /** Sends the stream header and what a joiner needs to start, if there is enough yet. */
  private sendJoin(sink: ViewerSink, v: WebmViewer): void {
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
    Object.assign(v, { waiting: false, skip: 'no', skipped: 0 });
  }

  /** The bytes from the keyframe's cluster to now, copied once per new chunk however many viewers join. */
  private gopBytes(from: number, to: number): Uint8Array {
    const c = this.gopCache;
    if (c && c.from === from && c.to === to) return c.bytes;
    const bytes = this.concat(from, to);
    this.gopCache = { from, to, bytes };
    return bytes;
  }

  private frame(flags: number, payload: Uint8Array, time = this.lastTime): Uint8Array {
    return encodeFrame({ kind: FRAME_KIND_MEDIA, flags, channel: this.channel, seq: this.nextSeq(), time }, payload);
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
