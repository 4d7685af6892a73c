// A MediaRecorder camera on a network that cannot keep up: rather than queue its WebM (every viewer
// would fall further behind), it drops what the network cannot take, in a way that leaves a valid
// WebM byte stream: it finishes the Cluster being sent, sends nothing more until a Cluster that
// holds a video keyframe, and goes on from that Cluster's start. The server and the viewers' MSE
// see a gap in time, not a broken stream (the server relays to its own slow viewers the same way).

import { concatBytes } from '../bytes.ts';
import { WebmParser, type WebmEvent } from './webm-parser.ts';

/** Feeds the recorder's chunks through; says, for each, which bytes to send. */
export class ClusterSkipper {
  private readonly parser = new WebmParser();
  private videoTrack: number | null = null;
  private state: 'sending' | 'finishing' | 'dropping' = 'sending';
  /** While dropping: the bytes (and video frames) since the latest Cluster start; a keyframe later in that Cluster resumes from there. */
  private held: { offset: number; parts: Uint8Array[]; bytes: number; frames: number } | null = null;
  private bytesIn = 0;
  private bytesOut = 0;
  private framesIn = 0;
  private framesOut = 0;

  /**
   * The recorder's next chunk; `behind`: the network is not keeping up. Returns the bytes to send
   * now (maybe none). Throws WebmError if the recorder's output is not WebM.
   */
  push(chunk: Uint8Array, behind: boolean): Uint8Array {
    const offset = this.parser.bytesRead;
    const events = this.parser.push(chunk);
    for (const e of events) if (e.kind === 'tracks') this.videoTrack = e.tracks.find((t) => t.type === 'video')?.number ?? null;
    const isVideo = (track: number): boolean => this.videoTrack === null || track === this.videoTrack;
    /** Video blocks read in this chunk in [from, to) (a block's event comes once it is whole; none crosses a Cluster start). */
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
      this.held = { offset, parts: [chunk], bytes: chunk.byteLength, frames: frames() };
      this.holdFrom(next.offset, events);
      return send(chunk.subarray(0, next.offset - offset), frames(-Infinity, next.offset));
    }
    // Dropping: keep the bytes from the latest Cluster start (it may have begun in an earlier chunk:
    // an element's event comes once its header is whole).
    const held = this.held!;
    held.parts.push(chunk);
    held.bytes += chunk.byteLength;
    held.frames += frames();
    // A video keyframe in a Cluster held from its start ends the dropping, once the network has room.
    const key = events.flatMap((e) => (e.kind === 'block' && e.keyframe && isVideo(e.track) && e.cluster >= held.offset ? [e] : []))[0];
    if (!behind && key) {
      this.holdFrom(key.cluster, events);
      this.held = null;
      this.state = 'sending';
      return send(concatBytes(held.parts), held.frames);
    }
    const latest = events.flatMap((e) => (e.kind === 'cluster' ? [e] : [])).pop();
    if (latest) this.holdFrom(latest.offset, events);
    return chunk.subarray(0, 0);
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
