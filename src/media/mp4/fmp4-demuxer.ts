// Incremental demuxer for live fragmented MP4 (MediaRecorder in Safari/WebKit, Chromium's
// `video/mp4`): bytes arrive cut anywhere; out come the tracks (at each moov that changes them) and
// one frame per sample (in the project's media form, src/media/frames.ts), fragment by fragment.
// It buffers a whole moov or moof (small, bounded), copies each sample's bytes straight from the
// mdat into the sample's own array, and drops a fragment once its frames are out. A moof is
// expected to be followed by the mdat holding its samples (CMAF's chunk layout, and what Chromium
// and WebKit write); a moof followed by another moof is dropped (WebKit repeats its last moof).
// Spec: ISO/IEC 14496-12:2022 (ISO base media file format) §4.2 boxes, §8.8 movie fragments (free
//         from https://standards.iso.org/ittf/PubliclyAvailableStandards/); CMAF (ISO/IEC 23000-19)
//         builds on it
//       ISO/IEC 14496-15:2022 (NAL-unit video in ISOBMFF: avc1/avc3 sample entries, avcC)
//       Opus in ISOBMFF (Opus sample entry, dOps) https://opus-codec.org/docs/opus_in_isobmff.html
//       VP codec ISO-BMFF binding (vp09, vpcC) https://www.webmproject.org/vp9/mp4/
// Pure code: no Node or DOM imports, so it also runs in a browser.
import { sameTrack, type MediaFrame, type Tracks } from '../frames.ts';
import { MAX_BOX_HEADER, boxHeaderLength, readBoxHeader, type BoxHeader } from './boxes.ts';
import { Mp4Error, limit, malformed, unsupported } from './errors.ts';
import { locateSamples, parseMoof, type Fragment, type FragmentSample } from './moof.ts';
import { parseMoov, type Movie } from './moov.ts';

export { Mp4Error, type Mp4ErrorCode } from './errors.ts';

/** What the demuxer found, in stream order: the tracks (first moov, and any moov that changes them), then frames. */
export type Mp4Event = { kind: 'tracks'; tracks: Tracks } | { kind: 'frame'; frame: MediaFrame };

/** Hard caps that keep memory and work bounded whatever the input; breaking one throws MP4_LIMIT. */
export interface Mp4Limits {
  /** Largest moov body (buffered whole; a real one is 1-2 kB). */
  maxMoovBytes: number;
  /** Largest moof body (buffered whole; ~16 bytes a sample). */
  maxMoofBytes: number;
  /** Largest mdat body, hence largest sample and most media held for one fragment; also caps any box skipped. */
  maxMdatBytes: number;
  /** Most samples (all tracks) in one moof. */
  maxSamplesPerFragment: number;
  /** Deepest box nesting read (top level = 1; moov > trak > mdia > minf > stbl > stsd > avc1 > avcC is 8). */
  maxDepth: number;
  /** Most traks in a moov. */
  maxTracks: number;
}

/** Limits used for any field not given to the constructor. */
export const DEFAULT_MP4_LIMITS: Readonly<Mp4Limits> = Object.freeze({
  maxMoovBytes: 1024 * 1024,
  maxMoofBytes: 1024 * 1024,
  maxMdatBytes: 16 * 1024 * 1024,
  maxSamplesPerFragment: 20_000,
  maxDepth: 10,
  maxTracks: 16,
});

/**
 * Box types a stream may start with. Anything else at offset 0 (an HTTP request, a WebM header,
 * noise) is not MP4. moof and mdat are here so that they get their own, more telling, errors.
 */
const FIRST_BOXES = new Set(['ftyp', 'styp', 'moov', 'moof', 'mdat', 'free', 'skip', 'wide', 'uuid', 'sidx', 'pdin']);

// Demuxer states: what the next byte belongs to.
const HEADER = 0; // a top-level box header
const BUFFER = 1; // a moov or moof body, collected whole
const SKIP = 2; // a body we only count past (ftyp, free, sidx, an mdat no moof points into, ...)
const MDAT = 3; // an mdat body whose bytes go into the pending fragment's samples

const EMPTY = new Uint8Array(0);

/** Incremental fragmented-MP4 demuxer: push bytes as they arrive, get events; see the module comment. */
export class Fmp4Demuxer {
  private readonly limits: Mp4Limits;
  private pos = 0;
  private state = HEADER;
  /** Bytes of a box header split across pushes. */
  private readonly scratch = new Uint8Array(MAX_BOX_HEADER);
  private scratchLen = 0;
  /** The current top-level box (BUFFER, SKIP, MDAT). */
  private boxType = '';
  private boxStart = 0;
  private bodyStart = 0;
  private bodyEnd = 0;
  private body = EMPTY;
  private movie: Movie | null = null;
  /** A parsed moof waiting for its mdat. */
  private fragment: Fragment | null = null;
  /** While in an mdat: the fragment's samples by position in the mdat, and how many are complete. */
  private byPosition: FragmentSample[] = [];
  private filled = 0;
  /** Per track_ID, the decode time after the last fragment (for a traf without tfdt). */
  private nextDts = new Map<number, number>();
  private seenBox = false;
  private failure: Mp4Error | null = null;

  constructor(limits?: Partial<Mp4Limits>) {
    this.limits = { ...DEFAULT_MP4_LIMITS, ...limits };
  }

  /** Total bytes fed so far. */
  get bytesRead(): number {
    return this.pos;
  }

  /** The current tracks once a moov has been read, else null. */
  get tracks(): Tracks | null {
    return this.movie?.tracks ?? null;
  }

  /**
   * Feeds the next bytes of the stream; returns the events completed by them, in stream order.
   * Returns what it has (maybe nothing) when the bytes end mid-box: it waits for more. Throws
   * Mp4Error on malformed or unsupported input or a broken limit; after a throw the demuxer is
   * unusable (every later push throws the same error). The chunk is never kept.
   */
  push(bytes: Uint8Array): Mp4Event[] {
    if (this.failure !== null) throw this.failure;
    const events: Mp4Event[] = [];
    try {
      const n = bytes.length;
      let i = 0;
      // Every step consumes at least one byte or changes state towards one that does.
      while (i < n) {
        if (this.state === HEADER) {
          i = this.readHeader(bytes, i, n, events);
        } else if (this.state === SKIP) {
          const take = Math.min(n - i, this.bodyEnd - this.pos);
          i += take;
          this.pos += take;
          if (this.pos === this.bodyEnd) this.state = HEADER;
        } else if (this.state === BUFFER) {
          const take = Math.min(n - i, this.bodyEnd - this.pos);
          this.body.set(bytes.subarray(i, i + take), this.pos - this.bodyStart);
          i += take;
          this.pos += take;
          if (this.pos === this.bodyEnd) this.bodyDone(events);
        } else {
          const take = Math.min(n - i, this.bodyEnd - this.pos);
          this.fill(bytes, i, take, events);
          i += take;
          this.pos += take;
          if (this.pos === this.bodyEnd) this.state = HEADER;
        }
      }
    } catch (error) {
      if (error instanceof Mp4Error) this.failure = error;
      throw error;
    }
    return events;
  }

  /** Reads a top-level box header, in place when the chunk holds it whole, else through `scratch`. */
  private readHeader(chunk: Uint8Array, i: number, n: number, events: Mp4Event[]): number {
    if (this.scratchLen === 0 && n - i >= MAX_BOX_HEADER) {
      const start = this.pos;
      const header = readBoxHeader(chunk, i, n - i, start) as BoxHeader;
      this.pos += header.headerSize;
      this.onBox(header, start, events);
      return i + header.headerSize;
    }
    const s = this.scratch;
    while (i < n) {
      const need = boxHeaderLength(s, 0, this.scratchLen);
      const take = Math.min(need - this.scratchLen, n - i);
      s.set(chunk.subarray(i, i + take), this.scratchLen);
      this.scratchLen += take;
      this.pos += take;
      i += take;
      // Once the size and type are in, the header may turn out longer (64-bit size, uuid).
      if (this.scratchLen === boxHeaderLength(s, 0, this.scratchLen)) {
        const start = this.pos - this.scratchLen;
        const header = readBoxHeader(s, 0, this.scratchLen, start) as BoxHeader;
        this.scratchLen = 0;
        this.onBox(header, start, events);
        return i;
      }
    }
    return i;
  }

  /** Decides what to do with a top-level box whose header ends at `this.pos`. */
  private onBox(header: BoxHeader, start: number, events: Mp4Event[]): void {
    const { type, size } = header;
    const { limits } = this;
    // fourcc() escapes non-printable bytes, so a longer string is not a type any recorder writes.
    if (type.length !== 4) throw malformed(`not an MP4 box type: '${type}'`, start + 4);
    if (!this.seenBox) {
      if (!FIRST_BOXES.has(type)) throw malformed(`stream does not start with an MP4 box (ftyp, moov, ...): found '${type}'`, start);
      this.seenBox = true;
    }
    if (size === 0) throw unsupported(`'${type}' box of size 0 (runs to the end of the stream), which a live stream cannot use`, start);
    const bodySize = size - header.headerSize;
    this.boxType = type;
    this.boxStart = start;
    this.bodyStart = this.pos;
    this.bodyEnd = start + size;
    switch (type) {
      case 'moov':
        if (this.fragment !== null) throw malformed('moov between a moof and its mdat', start);
        if (bodySize > limits.maxMoovBytes) throw limit(`moov of ${bodySize} bytes, over maxMoovBytes (${limits.maxMoovBytes})`, start);
        return this.beginBuffer(bodySize, events);
      case 'moof':
        if (this.movie === null) throw malformed('moof before moov', start);
        // A moof with no mdat of its own is dropped: WebKit writes its last moof twice at stop()
        // (moof moof mdat), the first one's data offset pointing into the second moof.
        this.fragment = null;
        if (bodySize > limits.maxMoofBytes) throw limit(`moof of ${bodySize} bytes, over maxMoofBytes (${limits.maxMoofBytes})`, start);
        return this.beginBuffer(bodySize, events);
      case 'mdat':
        if (this.movie === null) throw unsupported('mdat before moov: a non-fragmented MP4 (only fragmented MP4 can be streamed)', start);
        if (bodySize > limits.maxMdatBytes) throw limit(`mdat of ${bodySize} bytes, over maxMdatBytes (${limits.maxMdatBytes})`, start);
        if (this.fragment !== null) return this.beginMdat(this.fragment, events);
        break; // media no moof points into: nothing to emit
      default:
        if (bodySize > limits.maxMdatBytes) throw limit(`'${type}' box of ${bodySize} bytes, over maxMdatBytes (${limits.maxMdatBytes})`, start);
    }
    // ftyp (WebKit writes it twice), styp, free, skip, sidx, prft, emsg, uuid, mfra, unknown types.
    this.state = bodySize === 0 ? HEADER : SKIP;
  }

  private beginBuffer(bodySize: number, events: Mp4Event[]): void {
    this.body = new Uint8Array(bodySize); // a moov or moof: small, and bounded by the limits
    this.state = BUFFER;
    if (bodySize === 0) this.bodyDone(events);
  }

  /** A moov or moof body is complete: parse it. */
  private bodyDone(events: Mp4Event[]): void {
    const body = this.body;
    this.body = EMPTY;
    this.state = HEADER;
    if (this.boxType === 'moov') {
      const movie = parseMoov(body, 0, body.length, this.bodyStart, this.limits);
      const before = this.movie;
      this.movie = movie;
      if (before === null || !sameTrack(before.tracks.video, movie.tracks.video) || !sameTrack(before.tracks.audio, movie.tracks.audio)) {
        // A new period: its media time need not continue the last one's.
        this.nextDts.clear();
        events.push({ kind: 'tracks', tracks: movie.tracks });
      }
    } else {
      this.fragment = parseMoof(body, 0, body.length, this.bodyStart, this.boxStart, this.movie as Movie, this.nextDts, this.limits);
    }
  }

  /** An mdat follows a moof: locate the samples in it, then fill them as its bytes arrive. */
  private beginMdat(fragment: Fragment, events: Mp4Event[]): void {
    this.byPosition = locateSamples(fragment, this.bodyStart, this.bodyEnd);
    this.nextDts = fragment.dtsAfter;
    this.filled = 0;
    this.state = this.bodyEnd === this.bodyStart ? HEADER : MDAT;
    this.emitIfComplete(events);
  }

  /** Copies `chunk[i..i+take)` (stream offsets `pos..`) into the samples it belongs to. */
  private fill(chunk: Uint8Array, i: number, take: number, events: Mp4Event[]): void {
    if (this.fragment === null) return; // the fragment is out; the rest of the mdat is not a sample
    const from = this.pos;
    const to = from + take;
    const list = this.byPosition;
    while (this.filled < list.length) {
      const s = list[this.filled] as FragmentSample;
      if (s.start >= to) break;
      const a = Math.max(from, s.start);
      const b = Math.min(to, s.start + s.size);
      if (b > a) {
        s.data ??= new Uint8Array(s.size); // allocated as its bytes arrive, not when a moof claims them
        s.data.set(chunk.subarray(i + a - from, i + b - from), a - s.start);
      }
      if (s.start + s.size > to) break;
      this.filled++;
    }
    this.emitIfComplete(events);
  }

  /**
   * Once every sample of the fragment is in, emits them all, in decode order (by decode time, so
   * the tracks interleave; ties keep moof order), and forgets the fragment.
   */
  private emitIfComplete(events: Mp4Event[]): void {
    const fragment = this.fragment;
    if (fragment === null || this.filled < this.byPosition.length) return;
    const order = fragment.samples.slice().sort((a, b) => a.dts - b.dts);
    for (const s of order) {
      const frame: MediaFrame = { track: s.track, key: s.key, timestamp: s.timestamp, duration: s.duration, data: s.data as Uint8Array };
      events.push({ kind: 'frame', frame });
    }
    this.fragment = null;
    this.byPosition = [];
    this.filled = 0;
  }
}
