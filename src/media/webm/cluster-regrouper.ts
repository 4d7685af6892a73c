// Rewrites a live WebM stream so that a Cluster starts only at a video keyframe, for Firefox's MSE.
//
// Why: Chrome's MediaRecorder starts a Cluster at every timeslice (~120 ms), each opening with an
// audio block while the previous Cluster's last video frame still lasts past that point; Firefox's
// MediaRecorder does the same about every second. When Firefox's MSE (TrackBuffersManager) sees a new Cluster
// that starts before the end of the media it parsed last, it re-creates its WebM demuxer, and the
// new demuxer drops video until the next keyframe: the viewer shows about one picture per second
// (Chrome camera) or freezes for ~7.5–10 s (Firefox camera). A Cluster that starts at a video
// keyframe is harmless, so this transform merges every other Cluster into the one before it:
// the Cluster headers and Timestamps of the input are dropped, new Clusters (of unknown size) are
// written before each video keyframe, and every block's 16-bit relative timestamp is rewritten
// against the Cluster it now belongs to. Block order, payloads and absolute timestamps are kept.
// At the remaining Cluster starts Firefox still re-creates its demuxer, which then cannot estimate
// the duration of the first frame of each track (a 6 ms audio frame was seen, and the next normal
// gap counted as a discontinuity that dropped video until the next keyframe); so the first
// SimpleBlock of each track in every Cluster after the first is written as a BlockGroup with an
// explicit BlockDuration (the track's last interval between blocks).
// Measured with Firefox ESR 153: a Chromium camera went from 1–8 to 30 fps, a Firefox camera
// from a frozen picture to 30 fps.
//
// Rules:
// - A new output Cluster starts at the first block, at a video keyframe SimpleBlock when the
//   current output Cluster already holds video, and whenever a block's timestamp would not fit in
//   the int16 relative timestamp of the current one (~32 s without a keyframe at 1 ms ticks).
// - BlockGroups are rewritten (their Block's timestamp) but never start a Cluster for being a
//   keyframe (that is only known at the group's end); MediaRecorder writes SimpleBlocks only.
// - Cluster children other than Timestamp, SimpleBlock and BlockGroup (Position, PrevSize, CRC-32,
//   Void, ...) describe the input layout and are dropped. The Segment is written with an unknown
//   size. Everything outside Clusters (EBML header, Info, Tracks, ...) is copied unchanged.
//
// Incremental: bytes arrive in chunks that split elements anywhere; output comes out in order.
// Held back across pushes: at most one element header plus a block header (23 bytes), or a
// BlockGroup's bytes up to its Block's header (capped). Payloads are streamed, never buffered.
//
// Spec: RFC 8794 (EBML) https://www.rfc-editor.org/rfc/rfc8794
//       RFC 9559 (Matroska) https://www.rfc-editor.org/rfc/rfc9559 (Cluster, BlockGroup,
//       BlockDuration, ReferenceBlock; SimpleBlock §10.2, Block §10.1)
//       WebM: https://www.webmproject.org/docs/container/
// Pure code: no Node or DOM imports, so it also runs in a browser.
import { ElementId as Id, UNKNOWN_SIZE, elementName, idLength, isReservedId, isSegmentChild, readId, readSize, readVint, vintLength } from './ebml.ts';
import { WebmError } from './errors.ts';
import { concatBytes } from '../bytes.ts';

/** Longest element header: 4-byte ID + 8-byte size. */
const MAX_HEADER = 12;
/** Longest block header: 8-byte track number vint + 2-byte timestamp + flags. */
const MAX_BLOCK_HEAD = 11;
const INT16_MIN = -32768;
const INT16_MAX = 32767;
/** Most bytes of a BlockGroup held back before its Block's header arrives. */
export const MAX_HELD_BYTES = 64 * 1024;

/** A Cluster ID followed by an 8-byte "unknown size", as Chrome and Firefox write it. */
const CLUSTER_HEADER = Uint8Array.of(0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
const SEGMENT_HEADER = Uint8Array.of(0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

// What the next input byte belongs to.
const HEADER = 0; // an element header (ID + size)
const COPY = 1; // a body copied to the output
const DROP = 2; // a body dropped
const FIELD = 3; // a small unsigned integer body we decode (copied or not)
const BLOCK_HEAD = 4; // the first bytes of a SimpleBlock/Block body

/** An open master element; `end` is Infinity for an unknown size. */
interface OpenElement {
  id: number;
  end: number;
}

/** Counters, for tests and logs. */
export interface RegrouperStats {
  clustersIn: number;
  clustersOut: number;
  blocks: number;
  /** SimpleBlocks written as a BlockGroup with a BlockDuration. */
  blockGroupsWritten: number;
}

/** Incremental Cluster regrouper; see the module comment. One instance per stream. */
export class ClusterRegrouper {
  private pos = 0;
  private state = HEADER;
  /** The element header being read and, for a block, its block header after it. */
  private readonly head = new Uint8Array(MAX_HEADER + MAX_BLOCK_HEAD);
  private headLen = 0;
  private headerLen = 0;
  private bodyStart = 0;
  private bodyEnd = 0;
  private elementId = 0;
  private fieldCopy = false;
  private fieldValue = 0;
  private readonly stack: OpenElement[] = [];
  private readonly videoTracks = new Set<number>();
  private entryNumber = 0;
  private entryType = 0;
  /** Timestamp of the input Cluster being read (null before its Timestamp element). */
  private inTimestamp: number | null = null;
  /** Timestamp of the output Cluster being written (null before the first). */
  private outTimestamp: number | null = null;
  private outHasVideo = false;
  /** Tracks that already have a block in the current output Cluster. */
  private readonly inOutCluster = new Set<number>();
  /** Per track: timestamp of its last block, and the last interval between two of its blocks. */
  private readonly lastTime = new Map<number, number>();
  private readonly lastInterval = new Map<number, number>();
  /** BlockDuration (and ReferenceBlock) to write after the payload of a SimpleBlock turned into a BlockGroup. */
  private trailer: Uint8Array | null = null;
  /** Output waiting for a BlockGroup's Block header (null when not holding). */
  private held: Uint8Array[] | null = null;
  private heldBytes = 0;
  private out: Uint8Array[] = [];
  private failure: WebmError | null = null;
  readonly stats: RegrouperStats = { clustersIn: 0, clustersOut: 0, blocks: 0, blockGroupsWritten: 0 };

  /** Total input bytes consumed. */
  get bytesRead(): number {
    return this.pos;
  }

  /**
   * Feeds the next input bytes; returns the output bytes they complete (possibly empty). The chunk
   * is not kept. Throws WebmError on malformed input; after a throw every push throws the same.
   */
  push(chunk: Uint8Array): Uint8Array {
    if (this.failure !== null) throw this.failure;
    try {
      const n = chunk.length;
      let i = 0;
      while (i < n) {
        switch (this.state) {
          case HEADER:
            i = this.readHeader(chunk, i, n);
            break;
          case BLOCK_HEAD:
            i = this.readBlockHead(chunk, i, n);
            break;
          case FIELD: {
            const take = Math.min(n - i, this.bodyEnd - this.pos);
            for (let k = 0; k < take; k++) this.fieldValue = this.fieldValue * 256 + (chunk[i + k] as number);
            if (this.fieldCopy) this.emit(chunk.subarray(i, i + take));
            i += take;
            this.pos += take;
            if (this.pos === this.bodyEnd) {
              this.onField(this.fieldValue);
              this.bodyDone();
            }
            break;
          }
          default: {
            const take = Math.min(n - i, this.bodyEnd - this.pos);
            if (this.state === COPY) this.emit(chunk.subarray(i, i + take));
            i += take;
            this.pos += take;
            if (this.pos === this.bodyEnd) this.bodyDone();
          }
        }
      }
    } catch (error) {
      if (error instanceof WebmError) this.failure = error;
      throw error;
    }
    return this.takeOutput();
  }

  private takeOutput(): Uint8Array {
    const parts = this.out;
    this.out = [];
    return concatBytes(parts);
  }

  /** Queues output, or holds it while a BlockGroup waits for its Block (copied: the chunk is not ours to keep). */
  private emit(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.held === null) {
      this.out.push(bytes);
      return;
    }
    this.heldBytes += bytes.length;
    if (this.heldBytes > MAX_HELD_BYTES) throw limit(`a BlockGroup holds more than ${MAX_HELD_BYTES} bytes before its Block`, this.pos);
    this.held.push(bytes.slice());
  }

  private readHeader(chunk: Uint8Array, i: number, n: number): number {
    const h = this.head;
    while (i < n) {
      h[this.headLen++] = chunk[i++] as number;
      this.pos++;
      const idLen = idLength(h[0] as number);
      if (idLen === 0) throw malformed(`invalid element ID: first byte 0x${(h[0] as number).toString(16)}`, this.pos - this.headLen);
      if (this.headLen <= idLen) continue;
      const sizeLen = vintLength(h[idLen] as number);
      if (sizeLen === 0) throw malformed('invalid element size: a leading zero byte', this.pos - this.headLen + idLen);
      if (this.headLen < idLen + sizeLen) continue;
      const id = readId(h, 0, idLen);
      if (isReservedId(id, idLen)) throw malformed(`reserved element ID ${id.toString(16).toUpperCase()}`, this.pos - this.headLen);
      const size = readSize(h, idLen, sizeLen);
      this.headerLen = this.headLen;
      this.headLen = 0;
      this.onElement(id, size);
      return i;
    }
    return i;
  }

  /** Handles an element whose header (in `head`, `headerLen` bytes) ends at `pos`. */
  private onElement(id: number, size: number): void {
    const start = this.pos - this.headerLen;
    if (size === Infinity) throw limit(`${elementName(id)} declares a size beyond 2^53 bytes`, start);
    let top = this.stack[this.stack.length - 1];
    // An unknown-size Cluster ends where an element that cannot be its child begins (RFC 8794 §6.2).
    if (top !== undefined && top.id === Id.Cluster && top.end === Infinity && isSegmentChild(id)) {
      this.stack.pop();
      this.endInputCluster();
      top = this.stack[this.stack.length - 1];
    }
    const parent = top === undefined ? 0 : top.id;
    const unknown = size === UNKNOWN_SIZE;
    if (unknown && id !== Id.Segment && id !== Id.Cluster) {
      throw malformed(`${elementName(id)} has an unknown size, which only Segment and Cluster may have`, start);
    }
    const end = unknown ? Infinity : this.pos + size;
    if (top !== undefined && end > top.end) throw malformed(`${elementName(id)} overflows its parent ${elementName(parent)}`, start);
    if (start === 0 && id !== Id.EBML) throw malformed('stream does not start with the EBML header ID 1A 45 DF A3', 0);
    const header = this.head.subarray(0, this.headerLen);
    switch (id) {
      case Id.EBML:
        if (start !== 0) throw malformed('a second EBML header', start);
        this.emit(header.slice());
        return this.beginBody(COPY, id, size);
      case Id.Segment:
        if (parent !== 0) throw misplaced(id, parent, start);
        this.emit(SEGMENT_HEADER); // our Clusters change the byte count: write an unknown size
        return this.open(id, end);
      case Id.Cluster:
        if (parent !== Id.Segment) throw misplaced(id, parent, start);
        this.stats.clustersIn++;
        this.inTimestamp = null;
        return this.open(id, end);
      case Id.Tracks:
      case Id.TrackEntry:
        if (parent !== (id === Id.Tracks ? Id.Segment : Id.Tracks)) throw misplaced(id, parent, start);
        this.emit(header.slice());
        if (id === Id.TrackEntry) {
          this.entryNumber = 0;
          this.entryType = 0;
        }
        return this.open(id, end);
      case Id.TrackNumber:
      case Id.TrackType:
        if (parent !== Id.TrackEntry) break;
        this.emit(header.slice());
        return this.beginField(id, size, true, start);
      case Id.Timestamp:
        if (parent !== Id.Cluster) break;
        return this.beginField(id, size, false, start);
      case Id.SimpleBlock:
      case Id.BlockGroup:
        if (parent !== Id.Cluster) throw misplaced(id, parent, start);
        if (this.inTimestamp === null) throw malformed(`${elementName(id)} before the Cluster's Timestamp`, start);
        if (id === Id.SimpleBlock) return this.beginBlock(id, size, start);
        // Hold the group until its Block says which Cluster it belongs to.
        this.held = [];
        this.heldBytes = 0;
        this.emit(header);
        return this.open(id, end);
      case Id.Block:
        if (parent !== Id.BlockGroup) throw misplaced(id, parent, start);
        if (this.held === null) throw malformed('a second Block in one BlockGroup', start);
        return this.beginBlock(id, size, start);
    }
    if (parent === Id.Cluster) return this.beginBody(DROP, id, size);
    this.emit(header.slice());
    this.beginBody(COPY, id, size);
  }

  private open(id: number, end: number): void {
    this.stack.push({ id, end });
    this.state = HEADER;
    this.closeFinished(); // an empty master ends where it starts
  }

  private beginBody(state: number, id: number, size: number): void {
    this.state = state;
    this.elementId = id;
    this.bodyEnd = this.pos + size;
    if (size === 0) this.bodyDone();
  }

  private beginField(id: number, size: number, copy: boolean, start: number): void {
    if (size > 8) throw malformed(`${elementName(id)} is an unsigned integer of ${size} bytes (max 8)`, start);
    this.fieldCopy = copy;
    this.fieldValue = 0;
    this.state = FIELD;
    this.elementId = id;
    this.bodyEnd = this.pos + size;
    if (size === 0) {
      this.onField(0);
      this.bodyDone();
    }
  }

  private beginBlock(id: number, size: number, start: number): void {
    if (size === 0) throw malformed(`empty ${elementName(id)}`, start);
    this.state = BLOCK_HEAD;
    this.elementId = id;
    this.bodyStart = this.pos;
    this.bodyEnd = this.pos + size;
    this.headLen = this.headerLen;
  }

  /** Reads a block's track number, timestamp and flags, then decides its Cluster and rewrites its timestamp. */
  private readBlockHead(chunk: Uint8Array, i: number, n: number): number {
    const h = this.head;
    const at = this.headerLen;
    while (i < n) {
      h[this.headLen++] = chunk[i++] as number;
      this.pos++;
      const trackLen = vintLength(h[at] as number);
      if (trackLen === 0) throw malformed(`invalid track number in ${elementName(this.elementId)}`, this.bodyStart);
      if (this.bodyEnd - this.bodyStart < trackLen + 3) throw malformed(`${elementName(this.elementId)} is too short for its header`, this.bodyStart);
      if (this.headLen - at < trackLen + 3) continue;
      this.onBlockHead(readVint(h, at, trackLen), at + trackLen);
      this.headLen = 0;
      this.state = COPY;
      if (this.pos === this.bodyEnd) this.bodyDone();
      return i;
    }
    return i;
  }

  /** `tsAt` = offset in `head` of the block's 2-byte relative timestamp. */
  private onBlockHead(track: number, tsAt: number): void {
    const h = this.head;
    let relative = ((h[tsAt] as number) << 8) | (h[tsAt + 1] as number);
    if (relative >= 0x8000) relative -= 0x10000;
    const time = (this.inTimestamp as number) + relative;
    const video = this.videoTracks.has(track);
    const keyframe = this.elementId === Id.SimpleBlock && ((h[tsAt + 2] as number) & 0x80) !== 0;
    const held = this.held;
    this.held = null; // output from here goes straight out, in order
    let startCluster = this.outTimestamp === null || (video && keyframe && this.outHasVideo);
    if (!startCluster) {
      const rel = time - (this.outTimestamp as number);
      startCluster = rel < INT16_MIN || rel > INT16_MAX;
    }
    if (startCluster) this.startCluster(time);
    if (video) this.outHasVideo = true;
    if (held !== null) for (const part of held) this.out.push(part);
    const rel = time - (this.outTimestamp as number);
    if (rel < INT16_MIN || rel > INT16_MAX) throw malformed(`block timestamp ${time} cannot be written in a Cluster`, this.pos);
    const head = h.slice(this.headerLen, this.headLen);
    const at = tsAt - this.headerLen;
    head[at] = (rel >> 8) & 0xff;
    head[at + 1] = rel & 0xff;
    const previous = this.lastTime.get(track);
    if (previous !== undefined && time > previous) this.lastInterval.set(track, time - previous);
    this.lastTime.set(track, time);
    const first = !this.inOutCluster.has(track);
    this.inOutCluster.add(track);
    const duration = this.lastInterval.get(track);
    if (first && this.elementId === Id.SimpleBlock && this.stats.clustersOut > 1 && duration !== undefined) {
      this.writeAsBlockGroup(head, at + 2, duration);
    } else {
      this.out.push(h.slice(0, this.headerLen), head);
    }
    this.stats.blocks++;
  }

  /**
   * Writes the SimpleBlock being read as BlockGroup { Block, BlockDuration [, ReferenceBlock] }:
   * Firefox re-creates its demuxer at a new Cluster, and the new demuxer cannot estimate the
   * duration of the first frame of each track (it takes the end of the appended data, which can
   * make an audio frame last 6 ms, and a later normal gap then counts as a discontinuity that
   * drops video until the next keyframe). An explicit duration (the track's last interval) is used
   * as is. `head` = track number, timestamp and flags; `flagsAt` = offset of the flags in it.
   */
  private writeAsBlockGroup(head: Uint8Array, flagsAt: number, duration: number): void {
    const flags = head[flagsAt] as number;
    head[flagsAt] = flags & 0x0e; // keep invisible and lacing; keyframe and discardable are SimpleBlock-only
    const durationBytes = uintBytes(duration);
    const trailer = [0x9b, 0x80 | durationBytes.length, ...durationBytes];
    if ((flags & 0x80) === 0) {
      // Not a keyframe: say so the Block way, referencing the track's previous frame.
      const reference = intBytes(-duration);
      trailer.push(0xfb, 0x80 | reference.length, ...reference);
    }
    const blockSize = this.bodyEnd - this.bodyStart;
    const blockSizeBytes = sizeBytes(blockSize);
    const groupSize = 1 + blockSizeBytes.length + blockSize + trailer.length;
    this.out.push(Uint8Array.from([Id.BlockGroup, ...sizeBytes(groupSize), Id.Block, ...blockSizeBytes]), head);
    this.trailer = Uint8Array.from(trailer);
    this.stats.blockGroupsWritten++;
  }

  /** Writes a Cluster header (unknown size) and its Timestamp for a Cluster starting at `time`. */
  private startCluster(time: number): void {
    const timestamp = Math.max(0, time);
    const bytes = uintBytes(timestamp);
    const element = new Uint8Array(CLUSTER_HEADER.length + 2 + bytes.length);
    element.set(CLUSTER_HEADER, 0);
    element[CLUSTER_HEADER.length] = Id.Timestamp;
    element[CLUSTER_HEADER.length + 1] = 0x80 | bytes.length;
    element.set(bytes, CLUSTER_HEADER.length + 2);
    this.out.push(element);
    this.outTimestamp = timestamp;
    this.outHasVideo = false;
    this.inOutCluster.clear();
    this.stats.clustersOut++;
  }

  private onField(value: number): void {
    if (this.elementId === Id.Timestamp) this.inTimestamp = value;
    else if (this.elementId === Id.TrackNumber) this.entryNumber = value;
    else this.entryType = value;
  }

  private bodyDone(): void {
    if (this.trailer !== null) {
      this.out.push(this.trailer);
      this.trailer = null;
    }
    this.state = HEADER;
    this.closeFinished();
  }

  private closeFinished(): void {
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      if (top === undefined || top.end !== this.pos) return;
      this.stack.pop();
      if (top.id === Id.Cluster) this.endInputCluster();
      else if (top.id === Id.TrackEntry && this.entryType === 1 && this.entryNumber !== 0) this.videoTracks.add(this.entryNumber);
      else if (top.id === Id.BlockGroup && this.held !== null) throw malformed('BlockGroup without a Block', this.pos);
    }
  }

  private endInputCluster(): void {
    this.inTimestamp = null;
  }
}

/** Big-endian bytes of an unsigned integer element body (at least one byte). */
function uintBytes(value: number): number[] {
  const bytes: number[] = [];
  for (let v = value; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return bytes.length === 0 ? [0] : bytes;
}

/** Big-endian two's complement bytes of a signed integer element body (|value| < 2^31). */
function intBytes(value: number): number[] {
  let length = 1;
  while (value < -(2 ** (8 * length - 1)) || value >= 2 ** (8 * length - 1)) length++;
  const bytes: number[] = [];
  let v = value < 0 ? 2 ** (8 * length) + value : value;
  for (let k = 0; k < length; k++) {
    bytes.unshift(v % 256);
    v = Math.floor(v / 256);
  }
  return bytes;
}

/** Shortest EBML vint for an element size (all-ones values are reserved for "unknown"). */
function sizeBytes(size: number): number[] {
  let length = 1;
  while (size >= 2 ** (7 * length) - 1) length++;
  if (length > 8) throw new WebmError('WEBM_LIMIT', `element size ${size} cannot be written`, 0);
  const bytes: number[] = [];
  let v = size;
  for (let k = 0; k < length; k++) {
    bytes.unshift(v % 256);
    v = Math.floor(v / 256);
  }
  bytes[0] = (bytes[0] as number) | (0x100 >> length);
  return bytes;
}

function malformed(message: string, offset: number): WebmError {
  return new WebmError('WEBM_MALFORMED', message, offset);
}

function limit(message: string, offset: number): WebmError {
  return new WebmError('WEBM_LIMIT', message, offset);
}

function misplaced(id: number, parent: number, offset: number): WebmError {
  const where = parent === 0 ? 'at top level' : `inside ${elementName(parent)}`;
  return malformed(`${elementName(id)} is not allowed ${where}`, offset);
}
