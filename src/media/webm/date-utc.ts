// Adds a DateUTC element to the Info of a WebM init segment. Chromium plays MSE WebM with its
// low-delay renderer only when it deems the stream live: unknown Segment size, no Duration, and a
// DateUTC in Segment > Info. MediaRecorder writes no DateUTC, so the viewer injects one into the
// init segment (the bytes before the first Cluster) before appending it.
// Spec: RFC 9559 (Matroska: Info, DateUTC, SeekHead) https://www.rfc-editor.org/rfc/rfc9559
//       RFC 8794 (EBML: vints, element sizes) https://www.rfc-editor.org/rfc/rfc8794
// Pure code: no Node or DOM imports, so it also runs in a browser.
import { concatBytes } from '../bytes.ts';
import { ElementId, UNKNOWN_SIZE, idLength, readId, readSize, readUint, vintLength } from './ebml.ts';

const DATE_UTC = 0x4461;
const SEEK = 0x4dbb;
const SEEK_POSITION = 0x53ac;
/** DateUTC element: 2-byte ID, 1-byte size (8), 8-byte signed integer. */
const DATE_UTC_LENGTH = 11;
/** DateUTC counts nanoseconds from 2001-01-01T00:00:00Z. */
const EPOCH_2001_MS = Date.UTC(2001, 0, 1);

/** An element header: where it starts, its ID, its size field and body. */
interface Header {
  id: number;
  start: number;
  sizeAt: number;
  sizeLength: number;
  /** Body length, or UNKNOWN_SIZE. */
  size: number;
  dataAt: number;
}

/**
 * Returns a copy of a WebM init segment with a DateUTC element added to Segment > Info (Chromium
 * then plays the stream as live, with its low-delay renderer). Returns the input itself when Info
 * already has DateUTC, or when the bytes are not a structure it understands (never throws).
 */
export function withDateUtc(init: Uint8Array, date: Date = new Date()): Uint8Array {
  const dateUtc = encodeDateUtc(date);
  if (dateUtc === null) return init;

  // Top level: the EBML header, then the Segment (whose size may be unknown).
  const ebml = readHeader(init, 0, init.length);
  if (ebml === null || ebml.id !== ElementId.EBML || ebml.size === UNKNOWN_SIZE) return init;
  const segment = readHeader(init, ebml.dataAt + ebml.size, init.length);
  if (segment === null || segment.id !== ElementId.Segment) return init;
  const segmentEnd = segment.size === UNKNOWN_SIZE ? init.length : Math.min(init.length, segment.dataAt + segment.size);
  const level1 = children(init, segment.dataAt, segmentEnd, true);
  if (level1 === null) return init;

  const infos = level1.filter((e) => e.id === ElementId.Info);
  const info = infos[0];
  if (info === undefined || infos.length > 1) return init;
  const infoEnd = info.dataAt + info.size;
  const infoChildren = children(init, info.dataAt, infoEnd, false);
  if (infoChildren === null || infoChildren.some((e) => e.id === DATE_UTC)) return init;
  // Growing Info moves everything after it: positions relative to the Segment that point past Info
  // would go stale. MediaRecorder writes none (Firefox's SeekHead is empty, Chrome has none).
  if (level1.some((e) => e.id === ElementId.Cues)) return init;
  const infoPosition = info.start - segment.dataAt;
  for (const seekHead of level1.filter((e) => e.id === ElementId.SeekHead)) {
    if (!seekPositionsAtMost(init, seekHead, infoPosition)) return init;
  }

  const infoSize = encodeKnownSize(info.size + DATE_UTC_LENGTH, info.sizeLength);
  if (infoSize === null) return init;
  const growth = DATE_UTC_LENGTH + infoSize.length - info.sizeLength;
  let segmentSize = init.subarray(segment.sizeAt, segment.dataAt);
  if (segment.size !== UNKNOWN_SIZE) {
    const grown = encodeKnownSize(segment.size + growth, segment.sizeLength);
    if (grown === null) return init;
    segmentSize = grown;
  }

  return concatBytes([
    init.subarray(0, segment.sizeAt),
    segmentSize,
    init.subarray(segment.dataAt, info.sizeAt),
    infoSize,
    init.subarray(info.dataAt, infoEnd),
    dateUtc,
    init.subarray(infoEnd),
  ]);
}

/** The DateUTC element for `date`, or null if the date is invalid or out of the int64 range. */
function encodeDateUtc(date: Date): Uint8Array | null {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) return null;
  const ns = BigInt(ms - EPOCH_2001_MS) * 1_000_000n;
  if (BigInt.asIntN(64, ns) !== ns) return null;
  const out = new Uint8Array(DATE_UTC_LENGTH);
  out.set([0x44, 0x61, 0x88]);
  new DataView(out.buffer).setBigInt64(3, ns); // big-endian
  return out;
}

/** Reads the element header at `at` if it lies whole before `end`, else null. */
function readHeader(bytes: Uint8Array, at: number, end: number): Header | null {
  if (at >= end) return null;
  const idLen = idLength(bytes[at] as number);
  if (idLen === 0 || at + idLen >= end) return null;
  const sizeAt = at + idLen;
  const sizeLength = vintLength(bytes[sizeAt] as number);
  if (sizeLength === 0 || sizeAt + sizeLength > end) return null;
  const size = readSize(bytes, sizeAt, sizeLength);
  if (size === Infinity) return null;
  return { id: readId(bytes, at, idLen), start: at, sizeAt, sizeLength, size, dataAt: sizeAt + sizeLength };
}

/**
 * The child elements of the body [start, end), in order; with `untilCluster`, stops before a
 * Cluster ID (whose size may be missing). Null unless the children tile the body exactly, each
 * with a known size.
 */
function children(bytes: Uint8Array, start: number, end: number, untilCluster: boolean): Header[] | null {
  const list: Header[] = [];
  let at = start;
  while (at < end) {
    if (untilCluster && at + 4 <= end && readId(bytes, at, 4) === ElementId.Cluster) break;
    const child = readHeader(bytes, at, end);
    if (child === null || child.size === UNKNOWN_SIZE || child.dataAt + child.size > end) return null;
    list.push(child);
    at = child.dataAt + child.size;
  }
  return list;
}

/** True if every SeekPosition in the SeekHead is at most `limit` (and the SeekHead is well formed). */
function seekPositionsAtMost(bytes: Uint8Array, seekHead: Header, limit: number): boolean {
  const seeks = children(bytes, seekHead.dataAt, seekHead.dataAt + seekHead.size, false);
  if (seeks === null) return false;
  for (const seek of seeks) {
    if (seek.id !== SEEK) continue;
    const fields = children(bytes, seek.dataAt, seek.dataAt + seek.size, false);
    if (fields === null) return false;
    for (const f of fields) {
      if (f.id === SEEK_POSITION && (f.size > 8 || readUint(bytes, f.dataAt, f.size) > limit)) return false;
    }
  }
  return true;
}

/** Encodes a known size as a vint of `width` bytes, or of 8 bytes if it does not fit; null if neither does. */
function encodeKnownSize(size: number, width: number): Uint8Array | null {
  for (const w of [width, 8]) {
    if (size >= 2 ** (7 * w) - 1) continue; // all ones would mean "unknown size"
    const out = new Uint8Array(w);
    let v = size;
    for (let k = w - 1; k >= 0; k--) {
      out[k] = v % 256;
      v = Math.floor(v / 256);
    }
    out[0] = (out[0] as number) | (0x80 >> (w - 1));
    return out;
  }
  return null;
}
