// The bytes of one segment, as frames come: fragmented MP4 for H.264 (a fragment about every half
// second, and one starting at every video keyframe; its duration filled in at the end), WebM for
// VP8/VP9/AV1 (blocks as they come, Cues and Duration at the end). What a crash leaves is playable up to the last bytes written: at most
// FLUSH_MS of media plus one frame per track is held in memory. Timestamps are the segment's own
// (its first frame at 0): each file plays from 0 in any player, and its wall time is in its name.
import type { MediaFrame, Tracks } from '../../../media/frames.ts';
import { concatBytes, type Patch } from '../../../media/bytes.ts';
import { durationPatches } from '../../../media/mp4/fmp4-file.ts';
import { Fmp4Writer } from '../../../media/mp4/fmp4-writer.ts';
import { finishWebmFile, webmFileLayout, type CuePoint, type WebmFileLayout } from '../../../media/webm/webm-file.ts';
import { WebmWriter } from '../../../media/webm/webm-writer.ts';
import type { SegmentFormat } from './layout.ts';

/** Media held before it is handed on to be written, at most (µs of media, and bytes). */
export const FLUSH_US = 500_000;
const FLUSH_BYTES = 512 * 1024;
/** A gap between two frames of a track longer than this is a pause, not the earlier frame's duration. */
const MAX_DURATION_US = 2_000_000;

/** One segment's bytes; see the module comment. */
export interface SegmentWriter {
  readonly format: SegmentFormat;
  /** A frame (segment time, µs; in order per track); returns bytes to write now, or null. */
  add(frame: MediaFrame): Uint8Array | null;
  /** Everything held but the last frame of each track (a timer calls it): bytes to write now, or null. */
  flush(): Uint8Array | null;
  /** The end: bytes to append, and patches to what was written. */
  finish(): { tail: Uint8Array | null; patches: Patch[] };
  /** The end of the media handed on so far, µs (0 before any). */
  readonly writtenUs: number;
}

export function segmentWriter(format: SegmentFormat, tracks: Tracks, date: Date): SegmentWriter {
  return format === 'mp4' ? new Mp4Segment(tracks) : new WebmSegment(tracks, date);
}

/** Fragmented MP4; each frame's duration is known when the next of its track comes (held until then). */
class Mp4Segment implements SegmentWriter {
  readonly format = 'mp4';
  private readonly writer: Fmp4Writer;
  private readonly held = new Map<string, MediaFrame>();
  /** Per track the last duration learnt: the held frame's at the end. */
  private readonly lastGap = new Map<string, number>();
  private batch: MediaFrame[] = [];
  private batchBytes = 0;
  private batchFrom = Infinity;
  private headerWritten = false;
  writtenUs = 0;

  constructor(tracks: Tracks) {
    this.writer = new Fmp4Writer(tracks, { file: true });
  }

  add(frame: MediaFrame): Uint8Array | null {
    let out: Uint8Array | null = null;
    // A video keyframe starts a fragment: whoever plays from here finds it at a fragment's start.
    if (frame.track === 'video' && frame.key) {
      this.release(frame.track, frame.timestamp);
      out = this.emit();
    } else {
      this.release(frame.track, frame.timestamp);
    }
    this.held.set(frame.track, frame);
    if (this.batch.length > 0 && (frame.timestamp - this.batchFrom >= FLUSH_US || this.batchBytes >= FLUSH_BYTES)) out = join(out, this.emit());
    return out;
  }

  flush(): Uint8Array | null {
    return this.emit();
  }

  finish(): { tail: Uint8Array | null; patches: Patch[] } {
    for (const [track, f] of this.held) this.push(f.duration > 0 ? f : { ...f, duration: this.lastGap.get(track) ?? 0 });
    this.held.clear();
    const tail = this.emit();
    // Its duration into its init (nothing to fill in when not a frame was written).
    const init = this.headerWritten ? this.writer.init() : null;
    return { tail, patches: init === null ? [] : durationPatches(init, this.writtenUs) };
  }

  /** The held frame of this track goes to the batch, its duration now known. */
  private release(track: string, next: number): void {
    const prev = this.held.get(track);
    if (!prev) return;
    const gap = next - prev.timestamp;
    if (gap > 0 && gap <= MAX_DURATION_US) {
      this.lastGap.set(track, gap);
      this.push({ ...prev, duration: gap });
    } else {
      this.push(prev);
    }
    this.held.delete(track);
  }

  private push(f: MediaFrame): void {
    this.batch.push(f);
    this.batchBytes += f.data.byteLength;
    this.batchFrom = Math.min(this.batchFrom, f.timestamp);
  }

  private emit(): Uint8Array | null {
    if (this.batch.length === 0) return null;
    const frames = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    this.batchFrom = Infinity;
    const fragment = this.writer.pushMany(frames);
    if (fragment === null) return null;
    for (const f of frames) this.writtenUs = Math.max(this.writtenUs, f.timestamp + f.duration);
    if (this.headerWritten) return fragment;
    this.headerWritten = true;
    return concatBytes([this.writer.init() as Uint8Array, fragment]);
  }
}

/** WebM: blocks as they come (handed on in batches), a Cluster at each video keyframe, Cues at the end. */
class WebmSegment implements SegmentWriter {
  readonly format = 'webm';
  private readonly writer: WebmWriter;
  private readonly layout: WebmFileLayout;
  private readonly cues: CuePoint[] = [];
  private readonly clusters: number[] = [];
  private readonly videoTrack: boolean;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private pendingFrom = Infinity;
  /** File offset of the next byte produced. */
  private at = 0;
  writtenUs = 0;
  private heldUs = 0;

  constructor(tracks: Tracks, date: Date) {
    this.writer = new WebmWriter(tracks, { date, file: true });
    const init = this.writer.init();
    const layout = webmFileLayout(init);
    if (layout === null) throw new Error('WebM segment: the writer did not keep room for the SeekHead and Duration');
    this.layout = layout;
    this.videoTrack = tracks.video !== null;
    this.take(init);
  }

  add(frame: MediaFrame): Uint8Array | null {
    const unit = this.writer.push(frame);
    if (unit.cluster !== null) {
      this.clusters.push(this.at);
      if (unit.key || !this.videoTrack) this.cues.push({ time: unit.cluster, track: 1, clusterAt: this.at });
    }
    this.take(unit.bytes);
    this.heldUs = Math.max(this.heldUs, frame.timestamp);
    this.pendingFrom = Math.min(this.pendingFrom, frame.timestamp);
    return frame.timestamp - this.pendingFrom >= FLUSH_US || this.pendingBytes >= FLUSH_BYTES ? this.flush() : null;
  }

  flush(): Uint8Array | null {
    if (this.pending.length === 0) return null;
    const out = concatBytes(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingFrom = Infinity;
    this.writtenUs = this.heldUs;
    return out;
  }

  finish(): { tail: Uint8Array | null; patches: Patch[] } {
    const rest = this.flush();
    const end = this.at;
    const { tail, patches } = finishWebmFile(this.layout, this.cues, this.writtenUs / 1000, end, this.clusters);
    return { tail: join(rest, tail), patches };
  }

  private take(bytes: Uint8Array): void {
    this.pending.push(bytes);
    this.pendingBytes += bytes.byteLength;
    this.at += bytes.byteLength;
  }
}

function join(a: Uint8Array | null, b: Uint8Array | null): Uint8Array | null {
  if (a === null) return b;
  if (b === null) return a;
  return concatBytes([a, b]);
}
