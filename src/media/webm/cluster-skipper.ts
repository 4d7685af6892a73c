// A MediaRecorder camera on a network that cannot keep up: rather than queue its WebM (every viewer
// would fall further behind), it drops what the network cannot take, in a way that leaves a valid
// WebM byte stream: it finishes the Cluster being sent, sends nothing more until a Cluster that
// holds a video keyframe, and goes on from that Cluster's start. The server and the viewers' MSE
// see a gap in time, not a broken stream (the server relays to its own slow viewers the same way).

import { concatBytes } from '../bytes.ts';
import { WebmParser, type WebmEvent } from './webm-parser.ts';

/** A held keyframe and what followed it are let go beyond this (a browser that makes keyframes rarely). */
const MAX_HELD_BYTES = 4 * 1024 * 1024;

/** Feeds the recorder's chunks through; says, for each, which bytes to send. */
export class ClusterSkipper {
  // (This page's own recorder: no bound on the blocks in one of its blobs.)
  private readonly parser = new WebmParser({ maxBlocksPerPush: Infinity });
  private videoTrack: number | null = null;
  private state: 'sending' | 'finishing' | 'dropping' = 'sending';
  /**
   * While dropping: the bytes (and video frames) from the latest Cluster that holds a video keyframe
   * (`key`), or else from the latest Cluster start (a keyframe later in it would do).
   */
  private held: { offset: number; parts: Uint8Array[]; bytes: number; frames: number; key: boolean; keyAt: number } | null = null;
  constructor(
    /** The held keyframe is sent once the network has room only if it came at most this long ago (ms); else the next is waited for. */
    private readonly freshKeyframeMs: number,
  ) {}

  /** The current push's time (performance.now() ms). */
  private now = 0;
  private bytesIn = 0;
  private bytesOut = 0;
  private framesIn = 0;
  private framesOut = 0;

  /**
   * The recorder's next chunk; `behind`: the network is not keeping up. Returns the bytes to send
   * now (maybe none). Throws WebmError if the recorder's output is not WebM.
   */
  push(chunk: Uint8Array, behind: boolean, now = performance.now()): Uint8Array {
    this.now = now;
    const offset = this.parser.bytesRead;
    const events = this.parser.push(chunk);
    for (const e of events) if (e.kind === 'tracks') this.videoTrack = e.tracks.find((t) => t.type === 'video')?.number ?? null;
    const isVideo = (track: number): boolean => this.videoTrack === null || track === this.videoTrack;
    /** Video blocks read in this chunk in [from, to) (a block's event comes once its header is read; none crosses a Cluster start). */
    const frames = (from = -Infinity, to = Infinity): number => events.filter((e) => e.kind === 'block' && isVideo(e.track) && e.offset >= from && e.offset < to).length;
    this.bytesIn += chunk.byteLength;
    this.framesIn += frames();
    const send = (bytes: Uint8Array, videoFrames: number): Uint8Array => {
      this.bytesOut += bytes.byteLength;
      this.framesOut += videoFrames;
      return bytes;
    };
    // The init segment always goes: without it nothing can be played.
    if (this.parser.initLength === null) return send(chunk, frames());
    if (this.state === 'sending') {
      if (!behind) return send(chunk, frames());
      this.state = 'finishing';
    }
    if (this.state === 'finishing') {
      // (A Cluster that began in a chunk already sent is the one being sent: its header is out.)
      const next = events.flatMap((e) => (e.kind === 'cluster' && e.offset >= offset ? [e] : []))[0];
      if (!next) return send(chunk, frames());
      // The Cluster being sent ends where the next starts: send up to there, hold from there on.
      this.state = 'dropping';
      this.held = { offset, parts: [chunk], bytes: chunk.byteLength, frames: frames(), key: false, keyAt: -Infinity };
      this.holdFrom(next.offset, events);
      this.follow(events);
      return send(chunk.subarray(0, next.offset - offset), frames(-Infinity, next.offset));
    }
    // Dropping: hold from the latest keyframe's Cluster (or, until one comes, the latest Cluster,
    // which may have begun in an earlier chunk: an element's event comes once its header is read).
    const held = this.held!;
    held.parts.push(chunk);
    held.bytes += chunk.byteLength;
    held.frames += frames();
    this.follow(events);
    // Once the network has room, go on from that keyframe: the soonest picture there is, while fresh.
    if (behind || !held.key || this.now - held.keyAt > this.freshKeyframeMs) return chunk.subarray(0, 0);
    this.held = null;
    this.state = 'sending';
    return send(concatBytes(held.parts), held.frames);
  }

  /** Moves what is held along with this chunk's Clusters and keyframes. */
  private follow(events: WebmEvent[]): void {
    const held = this.held!;
    for (const e of events) {
      if (e.kind === 'cluster' && e.offset > held.offset) {
        // A keyframe held stays (what follows it is needed) unless it is stale or that grew too big.
        if (!held.key || this.now - held.keyAt > this.freshKeyframeMs || held.bytes > MAX_HELD_BYTES) {
          this.holdFrom(e.offset, events);
          held.key = false;
        }
      } else if (e.kind === 'block' && e.keyframe && (this.videoTrack === null || e.track === this.videoTrack) && e.cluster >= held.offset) {
        this.holdFrom(e.cluster, events);
        held.key = true;
        held.keyAt = this.now;
      }
    }
  }

  /** Forgets the held bytes before `offset` (a Cluster start), and their video frames. */
  private holdFrom(offset: number, events: WebmEvent[]): void {
    const held = this.held!;
    if (offset === held.offset) return;
    let at = held.offset;
    while (held.parts.length > 0 && at + held.parts[0]!.byteLength <= offset) at += held.parts.shift()!.byteLength;
    if (held.parts.length > 0 && at < offset) held.parts[0] = held.parts[0]!.subarray(offset - at);
    held.bytes -= offset - held.offset;
    // Frames before `offset` were in Clusters now dropped; those after it are in this chunk (the
    // Cluster's own event came in it, and its blocks' events come after).
    held.frames = events.filter((e) => e.kind === 'block' && (this.videoTrack === null || e.track === this.videoTrack) && e.offset >= offset).length;
    held.offset = offset;
  }

  /** True while the stream is being cut short (for a status line). */
  get dropping(): boolean {
    return this.state !== 'sending';
  }

  /** Video frames dropped so far (not counting those held, which may still go). */
  get droppedFrames(): number {
    return this.framesIn - this.framesOut - (this.held?.frames ?? 0);
  }

  /** Bytes dropped so far (not counting those held). */
  get droppedBytes(): number {
    return this.bytesIn - this.bytesOut - (this.held?.bytes ?? 0);
  }
}
