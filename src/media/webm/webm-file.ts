// A WebM file written as a live stream (unknown sizes, see webm-writer.ts with `file: true`) made
// whole once it ends: Cues after the last Cluster (where each keyframe's Cluster starts, so players
// can seek), a SeekHead pointing at them and a Duration in the room the writer kept, and the
// Segment's real size. The same finishing repairs a file a crash cut off: it is first cut back to
// its last whole block.
// Spec: RFC 9559 (Matroska) §5.1.2 (SeekHead), §5.1.5 (Cues), §6.2 (unknown sizes), §6.4 (Void)
// Pure code: no Node or DOM imports.
import { concatBytes, type Patch } from '../bytes.ts';
import { ElementId as Id, readSize, UNKNOWN_SIZE, vintLength } from './ebml.ts';
import { element, floatElement, idBytes, master, uintElement } from './ebml-writer.ts';
import { DURATION_ROOM, SEEK_HEAD_ROOM, voidElement } from './webm-writer.ts';

/** Where the parts to fill in are, as file offsets. */
export interface WebmFileLayout {
  /** The Segment's 8-byte size field. */
  segmentSizeAt: number;
  /** The Segment's first child: positions in SeekHead and Cues are relative to it. */
  segmentDataStart: number;
  seekHeadRoomAt: number;
  durationRoomAt: number;
}

/** One place a player can start: a Cluster starting with a keyframe. */
export interface CuePoint {
  /** ms (the Cluster's Timestamp). */
  time: number;
  track: number;
  /** File offset of the Cluster. */
  clusterAt: number;
}

/** Reads where a file's parts to fill in are from its first bytes (the init); null: not a file written with `file: true`. */
export function webmFileLayout(head: Uint8Array): WebmFileLayout | null {
  const v = (at: number, n: number): number => {
    let x = 0;
    for (let k = 0; k < n; k++) x = x * 256 + (head[at + k] ?? 0);
    return x;
  };
  if (v(0, 4) !== Id.EBML) return null;
  const ebmlSize = sized(head, 4);
  if (ebmlSize === null) return null;
  const segmentAt = 4 + ebmlSize.length + ebmlSize.value;
  if (v(segmentAt, 4) !== Id.Segment || head[segmentAt + 4] !== 0x01) return null;
  const segmentDataStart = segmentAt + 12;
  if (head[segmentDataStart] !== 0xec || head[segmentDataStart + 1] !== (0x80 | (SEEK_HEAD_ROOM - 2))) return null;
  const infoAt = segmentDataStart + SEEK_HEAD_ROOM;
  if (v(infoAt, 4) !== Id.Info) return null;
  const infoSize = sized(head, infoAt + 4);
  if (infoSize === null) return null;
  const durationRoomAt = infoAt + 4 + infoSize.length + infoSize.value - DURATION_ROOM;
  if (head[durationRoomAt] !== 0xec || durationRoomAt + DURATION_ROOM > head.length) return null;
  return { segmentSizeAt: segmentAt + 4, segmentDataStart, seekHeadRoomAt: segmentDataStart, durationRoomAt };
}

/**
 * What makes a file that ends at `end` whole: `tail` (the Cues) to append at `end`, and the patches
 * (SeekHead, Duration, the sizes of the Segment and of each Cluster, at `clusters`, whose sizes
 * were written unknown: a Cluster of unknown size inside a Segment of known size is not valid).
 * `durationMs`: the media's end on its timeline.
 */
export function finishWebmFile(layout: WebmFileLayout, cues: readonly CuePoint[], durationMs: number, end: number, clusters: readonly number[]): { tail: Uint8Array; patches: Patch[] } {
  const rel = (at: number): number => at - layout.segmentDataStart;
  const tail =
    cues.length === 0
      ? new Uint8Array(0)
      : master(
          Id.Cues,
          cues.map((c) => master(Id.CuePoint, [uintElement(Id.CueTime, c.time), master(Id.CueTrackPositions, [uintElement(Id.CueTrack, c.track), uintElement(Id.CueClusterPosition, rel(c.clusterAt))])])),
        );
  const patches: Patch[] = [];
  if (tail.length > 0) {
    const seekHead = master(Id.SeekHead, [master(Id.Seek, [element(Id.SeekID, idBytes(Id.Cues)), uintElement(Id.SeekPosition, rel(end))])]);
    patches.push({ at: layout.seekHeadRoomAt, bytes: concatBytes([seekHead, voidElement(SEEK_HEAD_ROOM - seekHead.length)]) });
  }
  patches.push({ at: layout.durationRoomAt, bytes: floatElement(Id.Duration, Math.max(0, durationMs)) });
  // A Cluster's header is its 4-byte ID and an 8-byte size; it runs to the next one, the last to `end`.
  const sorted = clusters.filter((c) => c < end).sort((a, b) => a - b);
  sorted.forEach((at, i) => patches.push({ at: at + 4, bytes: size8((sorted[i + 1] ?? end) - (at + 12)) }));
  // The Segment's size last: it is what says the file is whole (a stop before it leaves a file to repair).
  patches.push({ at: layout.segmentSizeAt, bytes: size8(end + tail.length - layout.segmentDataStart) });
  return { tail, patches };
}

/** A size as an 8-byte EBML vint (what the unknown size it replaces took). */
function size8(value: number): Uint8Array {
  const size = new Uint8Array(8);
  size[0] = 0x01;
  let n = value;
  for (let k = 7; k >= 1; k--, n = Math.floor(n / 256)) size[k] = n & 0xff;
  return size;
}

/** An EBML size vint at `at`: its value and length; null if it does not fit or is unknown. */
function sized(buf: Uint8Array, at: number): { value: number; length: number } | null {
  const length = vintLength(buf[at] ?? 0);
  if (length === 0 || at + length > buf.length) return null;
  const value = readSize(buf, at, length);
  return value === UNKNOWN_SIZE || !Number.isFinite(value) ? null : { value, length };
}
