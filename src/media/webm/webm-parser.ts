// Incremental WebM parser for live MediaRecorder streams: finds the tracks, the Clusters and the
// blocks (with their keyframe flag) while bytes arrive in chunks of any size, without buffering
// media payloads. It reports where things are; it never rewrites or keeps the stream.
// Spec: RFC 8794 (EBML) https://www.rfc-editor.org/rfc/rfc8794
//       RFC 9559 (Matroska) https://www.rfc-editor.org/rfc/rfc9559 (SimpleBlock: §10.2, Block: §10.1)
// Pure code: no Node or DOM imports, so it also runs in a browser.
import {
  ElementId as Id,
  UNKNOWN_SIZE,
  elementName,
  idLength,
  isReservedId,
  isSegmentChild,
  readId,
  readSize,
  readString,
  readUint,
  readVint,
  vintLength,
} from './ebml.ts';
import { WebmError } from './errors.ts';

export { WebmError, type WebmErrorCode } from './errors.ts';

/** One TrackEntry: its number (as used in blocks), kind, codec and, for video, picture size. */
export interface WebmTrack {
  number: number;
  type: 'video' | 'audio' | 'other';
  codecId: string;
  width?: number;
  height?: number;
  /** Read with `frames: true` only: CodecPrivate, SamplingFrequency, Channels. */
  codecPrivate?: Uint8Array;
  sampleRate?: number;
  channels?: number;
}

/**
 * What the parser found, in stream order. Offsets are absolute stream byte offsets of an element's
 * first ID byte. A SimpleBlock is reported as soon as its flags byte has arrived (its payload may
 * still be on its way); a Block in a BlockGroup when the group ends, with the BlockGroup's offset
 * (the Cluster child a cut would start at) and keyframe = the group has no ReferenceBlock.
 */
export type WebmEvent =
  | { kind: 'tracks'; tracks: WebmTrack[] } // after the Tracks element has been fully read
  | { kind: 'cluster'; offset: number } // a Cluster starts at `offset`
  | { kind: 'block'; offset: number; track: number; keyframe: boolean; cluster: number } // cluster = offset of the enclosing Cluster
  | WebmFrame; // with `frames: true` only, after the block's event

/**
 * A whole block's payload, with `frames: true`: `time` is its absolute timestamp in ms (Cluster
 * Timestamp + the block's relative one, scaled by TimestampScale), `duration` its BlockDuration in
 * ms when it has one.
 */
export interface WebmFrame {
  kind: 'frame';
  track: number;
  keyframe: boolean;
  time: number;
  duration?: number;
  data: Uint8Array;
}

/** Hard caps that keep memory and work bounded whatever the input; breaking one throws WEBM_LIMIT. */
export interface WebmLimits {
  /** Largest element body the parser buffers (TrackNumber, CodecID, PixelWidth, ...). */
  maxElementBytes: number;
  /** Largest SimpleBlock or BlockGroup, and largest element of any kind inside a Cluster. */
  maxBlockBytes: number;
  /** Most bytes before the first Cluster (the init segment); also caps skipped elements outside Clusters. */
  maxInitBytes: number;
  /** Most master elements open at once (real WebM needs 4: Segment > Tracks > TrackEntry > Video). */
  maxDepth: number;
  /** Also read every block's payload and report it as a `frame` event (a demuxer); off: positions only (a relay). */
  frames: boolean;
  /**
   * Most blocks in one push: the work of one message stays bounded (a 4 MiB message of the smallest
   * blocks holds ~600,000). A recorder's timeslice holds tens.
   */
  maxBlocksPerPush: number;
}

/** Limits used for any field not given to the constructor. */
export const DEFAULT_WEBM_LIMITS: Readonly<WebmLimits> = Object.freeze({
  maxElementBytes: 64 * 1024,
  maxBlockBytes: 16 * 1024 * 1024,
  maxInitBytes: 1024 * 1024,
  maxDepth: 8,
  frames: false,
  maxBlocksPerPush: 2048,
});

/** Most TrackEntries accepted: a phone sends 1 or 2; this keeps a hostile Tracks small. */
export const MAX_TRACKS = 64;

const EBML_MAGIC = [0x1a, 0x45, 0xdf, 0xa3] as const;
/** Longest element header: 4-byte ID + 8-byte size. */
const MAX_HEADER = 12;
/** Longest block header we read: 8-byte track number vint + 2-byte timecode + flags. */
const MAX_BLOCK_HEAD = 11;

// Parser states: what the next byte belongs to.
const HEADER = 0; // an element header (ID + size)
const SKIP = 1; // a body we only count past
const FIELD = 2; // a small body we buffer and decode
const BLOCK_HEAD = 3; // the first bytes of a SimpleBlock/Block body
const BLOCK_BODY = 4; // a block's payload, copied out (frames mode)

/** An open master element. `bound` = nearest known end among it and its ancestors (Infinity if none). */
interface OpenElement {
  id: number;
  offset: number;
  unknownSize: boolean;
  bound: number;
}

/** A TrackEntry being read. */
interface EntryDraft {
  number: number;
  type: number;
  codecId: string;
  width: number | undefined;
  height: number | undefined;
  codecPrivate: Uint8Array | undefined;
  sampleRate: number | undefined;
  channels: number | undefined;
}

/** Incremental WebM parser: push bytes as they arrive, get events; see the module comment. */
export class WebmParser {
  private readonly limits: WebmLimits;
  private pos = 0;
  private state = HEADER;
  /** Bytes of a header or block head split across pushes (no allocation per element). */
  private readonly scratch = new Uint8Array(MAX_HEADER);
  private blocksThisPush = 0;
  private scratchLen = 0;
  /** For SKIP, FIELD and BLOCK_HEAD: the element being read, where its body starts and ends. */
  private elementId = 0;
  private elementStart = 0;
  private bodyStart = 0;
  private bodyEnd = 0;
  private field = new Uint8Array(0);
  private readonly stack: OpenElement[] = [];
  private clusterOffset = -1;
  private groupOffset = -1;
  private groupTrack = -1;
  private groupHasReference = false;
  private seenSegment = false;
  private pendingTracks: WebmTrack[] | null = null;
  private entry: EntryDraft | null = null;
  private trackNumbers = new Set<number>();
  private parsedTracks: WebmTrack[] | null = null;
  private firstCluster: number | null = null;
  private failure: WebmError | null = null;
  // Frames mode: the time base, the Cluster's Timestamp, and the block being copied out.
  private timestampScale = 1_000_000;
  private clusterTime = 0;
  private blockTrack = 0;
  private blockKey = false;
  private blockRelTime = 0;
  private blockData = new Uint8Array(0);
  private groupFrame: WebmFrame | null = null;
  private groupDuration: number | undefined = undefined;

  constructor(limits?: Partial<WebmLimits>) {
    this.limits = { ...DEFAULT_WEBM_LIMITS, ...limits };
  }

  /** Total bytes fed so far. */
  get bytesRead(): number {
    return this.pos;
  }

  private countBlock(offset: number): void {
    if (++this.blocksThisPush > this.limits.maxBlocksPerPush) throw limit(`more than ${this.limits.maxBlocksPerPush} blocks in one piece of the stream`, offset);
  }

  /** Absolute offset of the first Cluster (= length of the init segment) once seen, else null. */
  get initLength(): number | null {
    return this.firstCluster;
  }

  /** Tracks once the Tracks element has been read, else null. */
  get tracks(): WebmTrack[] | null {
    return this.parsedTracks;
  }

  /**
   * Feeds the next bytes of the stream; returns the events completed by them, in stream order.
   * Throws WebmError on malformed input or a broken limit; after a throw the parser is unusable
   * (every later push throws the same error). The chunk is read, never kept.
   */
  push(chunk: Uint8Array): WebmEvent[] {
    if (this.failure !== null) throw this.failure;
    const events: WebmEvent[] = [];
    this.blocksThisPush = 0;
    try {
      const n = chunk.length;
      let i = 0;
      // Every step consumes at least one byte, so this loop always ends.
      while (i < n) {
        if (this.state === SKIP) {
          const take = Math.min(n - i, this.bodyEnd - this.pos);
          i += take;
          this.pos += take;
          if (this.pos === this.bodyEnd) this.bodyDone(events);
        } else if (this.state === HEADER) {
          i = this.readHeader(chunk, i, n, events);
        } else if (this.state === BLOCK_HEAD) {
          i = this.readBlockHead(chunk, i, n, events);
        } else if (this.state === BLOCK_BODY) {
          const take = Math.min(n - i, this.bodyEnd - this.pos);
          this.blockData.set(chunk.subarray(i, i + take), this.blockData.length - (this.bodyEnd - this.pos));
          i += take;
          this.pos += take;
          if (this.pos === this.bodyEnd) {
            this.onBlockData(events);
            this.bodyDone(events);
          }
        } else {
          const take = Math.min(n - i, this.bodyEnd - this.pos);
          this.field.set(chunk.subarray(i, i + take), this.pos - this.bodyStart);
          i += take;
          this.pos += take;
          if (this.pos === this.bodyEnd) {
            this.onField(this.field);
            this.bodyDone(events);
          }
        }
      }
    } catch (error) {
      if (error instanceof WebmError) this.failure = error;
      throw error;
    }
    return events;
  }

  /** Reads an element header, in place when the chunk holds it whole, else through `scratch`. */
  private readHeader(chunk: Uint8Array, i: number, n: number, events: WebmEvent[]): number {
    if (this.scratchLen === 0 && this.pos >= EBML_MAGIC.length && n - i >= MAX_HEADER) {
      const start = this.pos;
      const len = this.headerLength(chunk, i, MAX_HEADER, start);
      this.pos += len;
      this.onHeader(chunk, i, len, start, events);
      return i + len;
    }
    const s = this.scratch;
    const start = this.pos - this.scratchLen;
    while (i < n) {
      const b = chunk[i++] as number;
      if (this.pos < EBML_MAGIC.length && b !== EBML_MAGIC[this.pos]) {
        throw malformed('stream does not start with the EBML header ID 1A 45 DF A3', this.pos);
      }
      s[this.scratchLen++] = b;
      this.pos++;
      if (this.headerLength(s, 0, this.scratchLen, start) === this.scratchLen) {
        const len = this.scratchLen;
        this.scratchLen = 0;
        this.onHeader(s, 0, len, start, events);
        return i;
      }
    }
    return i;
  }

  /** Length of the header at `off` once its first bytes say so (0 = need more); validates both vints. */
  private headerLength(buf: Uint8Array, off: number, avail: number, start: number): number {
    const first = buf[off] as number;
    const idLen = idLength(first);
    if (idLen === 0) {
      const why = first === 0 ? 'a leading zero byte' : 'longer than 4 bytes';
      throw malformed(`invalid element ID: first byte 0x${hex2(first)} (${why})`, start);
    }
    if (avail <= idLen) return 0;
    const sizeFirst = buf[off + idLen] as number;
    const sizeLen = vintLength(sizeFirst);
    if (sizeLen === 0) throw malformed('invalid element size: a leading zero byte (longer than 8 bytes)', start + idLen);
    const top = this.stack[this.stack.length - 1];
    if (top !== undefined && start + idLen + sizeLen > top.bound) {
      throw malformed(`element header runs past the end of ${elementName(top.id)} at ${top.bound}`, start);
    }
    return idLen + sizeLen;
  }

  /** Decodes a complete header and hands the element to `onElement`. */
  private onHeader(buf: Uint8Array, off: number, len: number, start: number, events: WebmEvent[]): void {
    const idLen = idLength(buf[off] as number);
    const id = readId(buf, off, idLen);
    if (isReservedId(id, idLen)) throw malformed(`reserved element ID ${id.toString(16).toUpperCase()}`, start);
    const size = readSize(buf, off + idLen, len - idLen);
    if (size === Infinity) throw limit(`${elementName(id)} declares a size beyond 2^53 bytes`, start);
    this.onElement(id, size, start, events);
  }

  /** Decides what to do with an element whose header ends at `this.pos`: descend, buffer, or skip. */
  private onElement(id: number, size: number, start: number, events: WebmEvent[]): void {
    const { limits } = this;
    if (id === Id.EBML && start !== 0) throw malformed('a second EBML header', start);
    let top = this.stack[this.stack.length - 1];
    // An unknown-size Cluster ends where an element that cannot be its child begins (RFC 8794 §6.2).
    if (top !== undefined && top.id === Id.Cluster && top.unknownSize && isSegmentChild(id)) {
      this.stack.pop();
      this.clusterOffset = -1;
      top = this.stack[this.stack.length - 1];
    }
    const parent = top === undefined ? 0 : top.id;
    const bound = top === undefined ? Infinity : top.bound;
    const unknown = size === UNKNOWN_SIZE;
    const end = unknown ? Infinity : this.pos + size;
    // Error messages are built only when thrown: this runs for every block of every camera.
    if (end > bound && !unknown) {
      throw malformed(`${elementName(id)} of ${size} bytes overflows its parent ${elementName(parent)} ending at ${bound}`, start);
    }
    if (unknown && id !== Id.Segment && id !== Id.Cluster) {
      throw malformed(`${elementName(id)} has an unknown size, which only Segment and Cluster may have`, start);
    }
    if (this.firstCluster === null && id !== Id.Segment && id !== Id.Cluster && end > limits.maxInitBytes) {
      throw limit(`${elementName(id)} ends at ${end}, past maxInitBytes (${limits.maxInitBytes}) before any Cluster`, start);
    }
    switch (id) {
      case Id.Segment:
        if (top !== undefined) throw misplaced(id, parent, start);
        if (this.seenSegment) throw malformed('a second Segment', start);
        this.seenSegment = true;
        return this.open(id, start, end, bound, events);
      case Id.Cluster:
        if (parent !== Id.Segment) throw misplaced(id, parent, start);
        if (this.firstCluster === null) {
          if (start > limits.maxInitBytes) throw limit(`first Cluster past maxInitBytes (${limits.maxInitBytes})`, start);
          this.firstCluster = start;
        }
        this.clusterOffset = start;
        events.push({ kind: 'cluster', offset: start });
        return this.open(id, start, end, bound, events);
      case Id.Tracks:
        if (parent !== Id.Segment) throw misplaced(id, parent, start);
        if (this.parsedTracks !== null || this.pendingTracks !== null) throw malformed('a second Tracks', start);
        this.pendingTracks = [];
        return this.open(id, start, end, bound, events);
      case Id.TrackEntry:
        if (parent !== Id.Tracks) throw misplaced(id, parent, start);
        if ((this.pendingTracks as WebmTrack[]).length >= MAX_TRACKS) throw limit(`more than ${MAX_TRACKS} tracks`, start);
        this.entry = { number: 0, type: 0, codecId: '', width: undefined, height: undefined, codecPrivate: undefined, sampleRate: undefined, channels: undefined };
        return this.open(id, start, end, bound, events);
      case Id.Video:
        if (parent !== Id.TrackEntry) throw misplaced(id, parent, start);
        return this.open(id, start, end, bound, events);
      case Id.BlockGroup:
      case Id.SimpleBlock:
        if (parent !== Id.Cluster) throw misplaced(id, parent, start);
        if (this.parsedTracks === null) throw malformed(`${elementName(id)} before Tracks`, start);
        if (size > limits.maxBlockBytes) throw limit(`${elementName(id)} of ${size} bytes, over maxBlockBytes (${limits.maxBlockBytes})`, start);
        if (id === Id.SimpleBlock) return this.beginBlock(id, start, size, events);
        this.groupOffset = start;
        this.groupTrack = -1;
        this.groupHasReference = false;
        this.groupFrame = null;
        this.groupDuration = undefined;
        return this.open(id, start, end, bound, events);
      case Id.Block:
        if (parent !== Id.BlockGroup) throw misplaced(id, parent, start);
        if (this.groupTrack !== -1) throw malformed('a second Block in one BlockGroup', start);
        return this.beginBlock(id, start, size, events);
      case Id.ReferenceBlock:
        if (parent === Id.BlockGroup) this.groupHasReference = true;
        break;
      case Id.TrackNumber:
      case Id.TrackType:
      case Id.CodecID:
        if (parent === Id.TrackEntry) return this.beginField(id, start, size, events);
        break;
      case Id.PixelWidth:
      case Id.PixelHeight:
        if (parent === Id.Video) return this.beginField(id, start, size, events);
        break;
      // Frames mode only: what a decoder needs, and the blocks' time base.
      case Id.CodecPrivate:
        if (this.limits.frames && parent === Id.TrackEntry) return this.beginField(id, start, size, events);
        break;
      case Id.Audio:
        if (this.limits.frames && parent === Id.TrackEntry) return this.open(id, start, end, bound, events);
        break;
      case Id.SamplingFrequency:
      case Id.Channels:
        if (this.limits.frames && parent === Id.Audio) return this.beginField(id, start, size, events);
        break;
      case Id.Info:
        if (this.limits.frames && parent === Id.Segment) return this.open(id, start, end, bound, events);
        break;
      case Id.TimestampScale:
        if (this.limits.frames && parent === Id.Info) return this.beginField(id, start, size, events);
        break;
      case Id.Timestamp:
        if (this.limits.frames && parent === Id.Cluster) return this.beginField(id, start, size, events);
        break;
      case Id.BlockDuration:
        if (this.limits.frames && parent === Id.BlockGroup) return this.beginField(id, start, size, events);
        break;
    }
    // Anything else (EBML header, Info, SeekHead, Cues, Void, Timestamp, unknown IDs...) is skipped.
    const inCluster = parent === Id.Cluster || parent === Id.BlockGroup;
    const max = inCluster ? limits.maxBlockBytes : limits.maxInitBytes;
    if (size > max) throw limit(`${elementName(id)} of ${size} bytes, over ${inCluster ? 'maxBlockBytes' : 'maxInitBytes'} (${max})`, start);
    this.beginBody(SKIP, id, start, size, events);
  }

  private open(id: number, start: number, end: number, parentBound: number, events: WebmEvent[]): void {
    if (this.stack.length >= this.limits.maxDepth) {
      throw limit(`${elementName(id)} nests deeper than maxDepth (${this.limits.maxDepth})`, start);
    }
    const unknownSize = end === Infinity;
    this.stack.push({ id, offset: start, unknownSize, bound: unknownSize ? parentBound : end });
    this.state = HEADER;
    this.closeFinished(events); // an empty master ends where it starts
  }

  private beginBody(state: number, id: number, start: number, size: number, events: WebmEvent[]): void {
    this.state = state;
    this.elementId = id;
    this.elementStart = start;
    this.bodyStart = this.pos;
    this.bodyEnd = this.pos + size;
    if (size === 0) {
      if (state === FIELD) this.onField(this.field);
      this.bodyDone(events);
    }
  }

  private beginField(id: number, start: number, size: number, events: WebmEvent[]): void {
    if (size > this.limits.maxElementBytes) {
      throw limit(`${elementName(id)} of ${size} bytes, over maxElementBytes (${this.limits.maxElementBytes})`, start);
    }
    if (id === Id.SamplingFrequency && size !== 4 && size !== 8) throw malformed(`${elementName(id)} is a float of ${size} bytes (4 or 8)`, start);
    if (id !== Id.CodecID && id !== Id.CodecPrivate && size > 8) throw malformed(`${elementName(id)} is an unsigned integer of ${size} bytes (max 8)`, start);
    this.field = new Uint8Array(size); // only in the init segment, a few times per stream
    this.beginBody(FIELD, id, start, size, events);
  }

  private beginBlock(id: number, start: number, size: number, events: WebmEvent[]): void {
    if (size === 0) throw malformed(`empty ${elementName(id)}`, start);
    this.beginBody(BLOCK_HEAD, id, start, size, events);
  }

  /** Reads a block's track number, timecode and flags (in place if possible), then skips the payload. */
  private readBlockHead(chunk: Uint8Array, i: number, n: number, events: WebmEvent[]): number {
    let buf = chunk;
    let off = i;
    let len: number;
    if (this.scratchLen === 0 && n - i >= MAX_BLOCK_HEAD) {
      len = this.blockHeadLength(chunk[i] as number);
      i += len;
      this.pos += len;
    } else {
      const s = this.scratch;
      for (;;) {
        if (i >= n) return i;
        s[this.scratchLen++] = chunk[i++] as number;
        this.pos++;
        len = this.blockHeadLength(s[0] as number);
        if (this.scratchLen === len) break;
      }
      this.scratchLen = 0;
      buf = s;
      off = 0;
    }
    const trackLen = len - 3;
    const track = readVint(buf, off, trackLen);
    if (!this.trackNumbers.has(track)) {
      throw malformed(`${elementName(this.elementId)} for track ${track}, which Tracks does not declare`, this.elementStart);
    }
    const flags = buf[off + trackLen + 2] as number;
    if (this.elementId === Id.SimpleBlock) {
      const keyframe = (flags & 0x80) !== 0;
      this.countBlock(this.elementStart);
      events.push({ kind: 'block', offset: this.elementStart, track, keyframe, cluster: this.clusterOffset });
    } else {
      this.groupTrack = track;
    }
    if (!this.limits.frames) {
      this.state = SKIP;
      if (this.pos === this.bodyEnd) this.bodyDone(events);
      return i;
    }
    // Laced blocks hold several frames; no browser's MediaRecorder writes them.
    if ((flags & 0x06) !== 0) throw new WebmError('WEBM_UNSUPPORTED', `${elementName(this.elementId)} with lacing (several frames in one block)`, this.elementStart);
    this.blockTrack = track;
    this.blockKey = (flags & 0x80) !== 0;
    const rel = ((buf[off + trackLen] as number) << 8) | (buf[off + trackLen + 1] as number);
    this.blockRelTime = rel >= 0x8000 ? rel - 0x10000 : rel;
    this.blockData = new Uint8Array(this.bodyEnd - this.pos);
    this.state = BLOCK_BODY;
    if (this.pos === this.bodyEnd) {
      this.onBlockData(events);
      this.bodyDone(events);
    }
    return i;
  }

  /** Block header length from its first byte (track number vint + 2-byte timecode + flags), checked against the body. */
  private blockHeadLength(first: number): number {
    const trackLen = vintLength(first);
    if (trackLen === 0) throw malformed(`invalid track number in ${elementName(this.elementId)}`, this.bodyStart);
    if (this.bodyStart + trackLen + 3 > this.bodyEnd) {
      throw malformed(`${elementName(this.elementId)} of ${this.bodyEnd - this.bodyStart} bytes is too short for its header`, this.elementStart);
    }
    return trackLen + 3;
  }

  /** A block's payload is complete (frames mode): a SimpleBlock is a frame now, a Block when its group ends. */
  private onBlockData(events: WebmEvent[]): void {
    const time = ((this.clusterTime + this.blockRelTime) * this.timestampScale) / 1e6;
    const frame: WebmFrame = { kind: 'frame', track: this.blockTrack, keyframe: this.blockKey, time, data: this.blockData };
    if (this.elementId === Id.SimpleBlock) events.push(frame);
    else this.groupFrame = frame;
  }

  private onField(body: Uint8Array): void {
    const id = this.elementId;
    // Frames mode: fields outside a TrackEntry.
    if (id === Id.Timestamp) {
      this.clusterTime = readUint(body, 0, body.length);
      return;
    }
    if (id === Id.TimestampScale) {
      const scale = readUint(body, 0, body.length);
      if (scale === 0) throw malformed('TimestampScale of 0', this.elementStart);
      this.timestampScale = scale;
      return;
    }
    if (id === Id.BlockDuration) {
      this.groupDuration = readUint(body, 0, body.length);
      return;
    }
    const entry = this.entry as EntryDraft;
    if (id === Id.CodecPrivate) entry.codecPrivate = body.slice();
    else if (id === Id.SamplingFrequency) entry.sampleRate = body.length === 4 ? new DataView(body.buffer, body.byteOffset, 4).getFloat32(0) : new DataView(body.buffer, body.byteOffset, 8).getFloat64(0);
    else if (id === Id.Channels) entry.channels = readUint(body, 0, body.length);
    else if (id === Id.CodecID) entry.codecId = readString(body, 0, body.length);
    else if (id === Id.TrackNumber) entry.number = readUint(body, 0, body.length);
    else if (id === Id.TrackType) entry.type = readUint(body, 0, body.length);
    else if (id === Id.PixelWidth) entry.width = readUint(body, 0, body.length);
    else entry.height = readUint(body, 0, body.length);
  }

  private bodyDone(events: WebmEvent[]): void {
    this.state = HEADER;
    this.closeFinished(events);
  }

  /** Closes every open element that ends at the current position (an unknown-size one ends with its parent). */
  private closeFinished(events: WebmEvent[]): void {
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      if (top === undefined || top.bound !== this.pos) return;
      this.stack.pop();
      this.onClose(top, events);
    }
  }

  private onClose(element: OpenElement, events: WebmEvent[]): void {
    switch (element.id) {
      case Id.Cluster:
        this.clusterOffset = -1;
        break;
      case Id.TrackEntry: {
        const e = this.entry as EntryDraft;
        this.entry = null;
        if (e.number === 0) throw malformed('TrackEntry without a non-zero TrackNumber', element.offset);
        if (this.trackNumbers.has(e.number)) throw malformed(`two TrackEntries numbered ${e.number}`, element.offset);
        this.trackNumbers.add(e.number);
        const type = e.type === 1 ? 'video' : e.type === 2 ? 'audio' : 'other';
        const track: WebmTrack = { number: e.number, type, codecId: e.codecId };
        if (e.width !== undefined) track.width = e.width;
        if (e.height !== undefined) track.height = e.height;
        if (e.codecPrivate !== undefined) track.codecPrivate = e.codecPrivate;
        if (e.sampleRate !== undefined) track.sampleRate = e.sampleRate;
        if (e.channels !== undefined) track.channels = e.channels;
        (this.pendingTracks as WebmTrack[]).push(track);
        break;
      }
      case Id.Tracks: {
        const tracks = this.pendingTracks as WebmTrack[];
        this.pendingTracks = null;
        this.parsedTracks = tracks;
        events.push({ kind: 'tracks', tracks });
        break;
      }
      case Id.BlockGroup:
        if (this.groupTrack === -1) throw malformed('BlockGroup without a Block', element.offset);
        this.countBlock(this.groupOffset);
        events.push({
          kind: 'block',
          offset: this.groupOffset,
          track: this.groupTrack,
          keyframe: !this.groupHasReference,
          cluster: this.clusterOffset,
        });
        if (this.groupFrame) {
          const frame = this.groupFrame;
          this.groupFrame = null;
          frame.keyframe = !this.groupHasReference;
          if (this.groupDuration !== undefined) frame.duration = (this.groupDuration * this.timestampScale) / 1e6;
          events.push(frame);
        }
        break;
    }
  }
}

function malformed(message: string, offset: number): WebmError {
  return new WebmError('WEBM_MALFORMED', message, offset);
}

function misplaced(id: number, parent: number, offset: number): WebmError {
  const where = parent === 0 ? 'at top level' : `inside ${elementName(parent)}`;
  return malformed(`${elementName(id)} is not allowed ${where}`, offset);
}

function limit(message: string, offset: number): WebmError {
  return new WebmError('WEBM_LIMIT', message, offset);
}

function hex2(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, '0');
}
