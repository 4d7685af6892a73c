// Live fragmented MP4 muxer: turns a stream's frames into fMP4 that MSE plays with very low
// latency. One fragment (moof + mdat) per frame, written the moment the frame is pushed: a muxer
// that closes a fragment only once every track has reached a keyframe holds a whole group of
// pictures (mediabunny's fragmented MP4 held video frames p50 533 ms, up to 1 s, on the real
// H.264 fixture). Written by the server once per camera and shared by all its MSE viewers.
// Spec: ISO/IEC 14496-12 (ISOBMFF: ftyp, moov, moof, trun, tfdt...)
//       https://www.iso.org/standard/83102.html (boxes as in §8; sample flags §8.8.3.1)
//       ISO/IEC 14496-15 §5.3 (avc1 sample entry, avcC)
//       Opus in ISOBMFF (Opus sample entry, dOps): https://opus-codec.org/docs/opus_in_isobmff.html
//       VP9 in ISOBMFF (vp09, vpcC): https://www.webmproject.org/vp9/mp4/
//       ISO/IEC 14496-14 §3.3 + 14496-1 §7.2.6 (mp4a, esds descriptors)
//       MSE byte stream format: https://www.w3.org/TR/mse-byte-stream-format-isobmff/
// Pure code: no Node or DOM imports, so it also runs in a browser.
import { concatBytes } from '../bytes.ts';
import type { AudioTrack, MediaFrame, TrackKind, Tracks, VideoTrack } from '../frames.ts';
import { opusPacketSamples } from '../opus.ts';
import { NalType, avcCodecString, buildAvcC, findParameterSets, joinAvc, nalType, parseAvcC, splitAnnexB, type ParameterSets } from '../h264.ts';

/** The bytes of one pushed frame (a moof + mdat); `key`: a viewer can start from them. */
export interface Fmp4Unit {
  bytes: Uint8Array;
  key: boolean;
}

const VIDEO_TIMESCALE = 90000;
/** Opus is always decoded at 48 kHz; its timescale is that whatever the input rate (Opus in ISOBMFF §4.4). */
const OPUS_TIMESCALE = 48000;
/** Durations used when neither the frame nor the gap to the previous one says: 1/30 s, an AAC frame, 20 ms of Opus. */
const DEFAULT_VIDEO_DURATION = VIDEO_TIMESCALE / 30;
const AAC_FRAME_SAMPLES = 1024;
/** A gap longer than this (s) between two frames is a pause, not a frame's duration. */
const MAX_GUESSED_DURATION_S = 0.5;
/** A guessed duration is at least this many times the track's usual frame interval (see durationOf). */
const DURATION_HEADROOM = 1.5;
/** Weight of each new gap in the usual interval (an exponential moving average). */
const INTERVAL_WEIGHT = 0.1;
/** Sample flags (14496-12 §8.8.3.1): sync = depends on no other; non-sync = depends on others + is_non_sync_sample. */
const SYNC_SAMPLE_FLAGS = 0x02000000;
const NON_SYNC_SAMPLE_FLAGS = 0x01010000;
/** A traf's bytes besides its samples: traf (8) + tfhd (16) + tfdt v1 (20) + trun (20 before its samples). */
const TRAF_SIZE = 64;
/** Per sample in a trun: duration, size, flags. */
const TRUN_SAMPLE_SIZE = 12;
const MDAT_HEADER = 8;
/** tfhd flag: offsets are relative to the moof (what MSE requires). */
const DEFAULT_BASE_IS_MOOF = 0x020000;
/** trun flags: data-offset, sample-duration, sample-size, sample-flags present. */
const TRUN_FLAGS = 0x000701;

/** Writer options. */
export interface Fmp4WriterOptions {
  /**
   * A file to be played from disk, not a live stream: its init carries an mehd (movie extends
   * header), 0 ("unknown") until the file is finished and fmp4-file.ts's durationPatches fills it
   * in with mvhd's duration. A player that has read only the start of a fragmented file knows from
   * it how long the file is: without it Firefox takes the fragments read so far for the whole, and
   * a seek past them ends the file.
   */
  file?: boolean;
}

/** One frame as written: its track, decode time and duration (track timescale), sample flags and bytes. */
interface Sample {
  trackId: number;
  time: number;
  duration: number;
  flags: number;
  data: Uint8Array;
}

/** How one track is written: its codec box, timescale and frame conversion. */
interface TrackPlan {
  kind: TrackKind;
  id: number;
  timescale: number;
  /** The codec for the MSE mime string ('' until known: Annex B H.264 with a bare `avc1` string). */
  codec: string;
  /** The sample entry (avc1, vp09, Opus, mp4a); null until an Annex B H.264 track's first keyframe. */
  sampleEntry: Uint8Array | null;
  /** H.264 without an avcC: frames are Annex B, converted to AVC form here. */
  annexBInput: boolean;
  /** Annex B H.264: the SPS/PPS of the avcC (from the first keyframe), dropped from frames since the sample entry has them. */
  annexB: ParameterSets | null;
  /** Decode time (track timescale) of the previous frame. */
  lastTime: number | null;
  /** The usual interval between frames (track timescale), null until two frames came. */
  interval: number | null;
  defaultDuration: number;
  opus: boolean;
}

/**
 * Live fragmented MP4 muxer: `init()` (null until it can be written), then `push()` every frame
 * in decode order; each push returns that frame's fragment at once. Video H.264 (avcC or Annex B)
 * or VP9, audio Opus or AAC; anything else throws in the constructor. Frames are taken as having
 * decode time = presentation time (no B-frames: real-time encoders make none).
 */
export class Fmp4Writer {
  private readonly tracks: Tracks;
  private readonly video: TrackPlan | null;
  private readonly audio: TrackPlan | null;
  private initBytes: Uint8Array | null = null;
  /** mfhd sequence_number of the last fragment (the first is 1). */
  private sequence = 0;

  /** A file (see Fmp4WriterOptions): its init has an mehd. */
  private readonly file: boolean;

  constructor(tracks: Tracks, options: Fmp4WriterOptions = {}) {
    if (tracks.video === null && tracks.audio === null) throw new Error('fMP4 writer: a stream needs a video or an audio track');
    this.tracks = tracks;
    this.file = options.file === true;
    this.video = tracks.video === null ? null : videoPlan(tracks.video);
    this.audio = tracks.audio === null ? null : audioPlan(tracks.audio, tracks.video === null ? 1 : 2);
  }

  /**
   * The MSE type, e.g. `video/mp4; codecs="avc1.42e01f,opus"`. H.264 says the track's codec string
   * when it is a full `avc1.PPCCLL`, else the avcC's (for Annex B input: known once init() is).
   */
  get mimeType(): string {
    const codecs = [this.video?.codec, this.audio?.codec].filter((c): c is string => c !== undefined).join(',');
    return `${this.video === null ? 'audio' : 'video'}/mp4; codecs="${codecs}"`;
  }

  /** The init segment (ftyp + moov), the same bytes every call; null while an Annex B H.264 track awaits its first keyframe. */
  init(): Uint8Array | null {
    if (this.initBytes !== null) return this.initBytes;
    if (this.video?.sampleEntry === null || this.audio?.sampleEntry === null) return null;
    this.initBytes = buildInit(this.tracks, [this.video, this.audio].filter((p): p is TrackPlan => p !== null), this.file);
    return this.initBytes;
  }

  /**
   * One fragment (moof + mdat) holding this frame, or null when the frame is dropped because the
   * init cannot be written yet (an Annex B H.264 stream before its first keyframe with SPS/PPS).
   */
  push(frame: MediaFrame): Fmp4Unit | null {
    const sample = this.sample(frame);
    if (sample === null) return null;
    const key = frame.track === 'video' ? frame.key : this.video === null;
    return { bytes: this.fragment([sample]), key };
  }

  /**
   * One fragment (moof + mdat) holding these frames, in the order given (per track in decode
   * order), with one track fragment per track: what a recording writes about every second. Frames
   * with a duration keep it (a recorder that waited for the next frame knows it); null when nothing
   * could be written (see push).
   */
  pushMany(frames: readonly MediaFrame[]): Uint8Array | null {
    const samples = frames.map((f) => this.sample(f)).filter((s): s is Sample => s !== null);
    return samples.length === 0 ? null : this.fragment(samples);
  }

  /** A frame as a sample of its track (converted, timed); null while the init cannot be written. */
  private sample(frame: MediaFrame): Sample | null {
    const plan = frame.track === 'video' ? this.video : this.audio;
    if (plan === null) throw new Error(`fMP4 writer: a ${frame.track} frame, but the stream has no ${frame.track} track`);
    if (!Number.isFinite(frame.timestamp) || frame.timestamp < 0) {
      throw new RangeError(`fMP4 writer: ${frame.track} timestamp ${frame.timestamp} µs (must be ≥ 0: the decode time is unsigned)`);
    }
    let data = frame.data;
    if (plan.annexBInput) {
      if (plan.annexB === null) {
        const sets = frame.key ? findParameterSets(frame.data) : null;
        if (sets === null) return null; // no decoder can start before this, and the init needs the SPS/PPS
        const avcC = buildAvcC(sets.sps, sets.pps);
        plan.sampleEntry = avc1Entry(this.tracks.video as VideoTrack, avcC);
        plan.annexB = sets;
        if (plan.codec === '') plan.codec = avcCodecString(avcC);
      }
      data = annexBFrameToAvc(frame.data, plan.annexB);
    }
    if (this.init() === null) return null;

    const time = Math.round((frame.timestamp * plan.timescale) / 1e6);
    const duration = this.durationOf(plan, frame, data, time);
    plan.lastTime = time;
    const flags = frame.track === 'audio' || frame.key ? SYNC_SAMPLE_FLAGS : NON_SYNC_SAMPLE_FLAGS;
    return { trackId: plan.id, time, duration, flags, data };
  }

  /** The frame's duration in the track's timescale: its own, Opus's TOC, or a guess (see below). */
  private durationOf(plan: TrackPlan, frame: MediaFrame, data: Uint8Array, time: number): number {
    if (frame.duration > 0) return Math.max(1, Math.round((frame.duration * plan.timescale) / 1e6));
    if (plan.opus) {
      const samples = opusPacketSamples(data);
      if (samples > 0) return samples; // 48 kHz samples = the Opus timescale
    }
    // The next frame's time is not known yet (waiting for it is what this muxer avoids), so the
    // duration is a guess, and a short guess is costly: MSE takes a decode time more than twice the
    // previous frame's duration past it as a discontinuity and drops every frame up to the next
    // keyframe (MSE coded frame processing, step 6), which one frame the camera skipped, or MediaRecorder's
    // uneven timestamps (gaps of 21 then 46 ms), set off again and again (1.8 fps shown in one
    // run). So a guess is never under 1.5 × the usual interval: a skipped frame or jitter passes,
    // and frames merely overlap a little, which nothing here minds. A gap longer than a pause
    // threshold says nothing about the interval.
    const gap = plan.lastTime !== null && time > plan.lastTime && time - plan.lastTime <= plan.timescale * MAX_GUESSED_DURATION_S ? time - plan.lastTime : null;
    if (gap !== null) plan.interval = plan.interval === null ? gap : plan.interval + (gap - plan.interval) * INTERVAL_WEIGHT;
    // Audio frames keep their exact length (overlapping audio is trimmed, not merely shown): the gap
    // to the previous frame (AAC: 1024 samples), after a pause or for the first frame the codec's.
    if (plan.kind === 'audio') return gap ?? plan.defaultDuration;
    return Math.max(1, Math.round(Math.max(gap ?? 0, DURATION_HEADROOM * (plan.interval ?? plan.defaultDuration))));
  }

  /** moof (mfhd; per track a traf: tfhd, tfdt, trun) + mdat, in one buffer; samples of a track keep their order. */
  private fragment(samples: readonly Sample[]): Uint8Array {
    const byTrack = new Map<number, Sample[]>();
    for (const s of samples) {
      const list = byTrack.get(s.trackId);
      if (list) list.push(s);
      else byTrack.set(s.trackId, [s]);
    }
    const trafs = [...byTrack.values()];
    const moofSize = 8 + 16 + trafs.reduce((n, t) => n + TRAF_SIZE + TRUN_SAMPLE_SIZE * t.length, 0);
    let dataSize = 0;
    for (const s of samples) dataSize += s.data.length;
    const mdatSize = MDAT_HEADER + dataSize;
    if (mdatSize > 0xffffffff) throw new RangeError(`fMP4 writer: a fragment of ${dataSize} bytes is too large`);
    const out = new Uint8Array(moofSize + mdatSize);
    const v = new DataView(out.buffer);
    let at = 0;
    const header = (size: number, type: string): void => {
      v.setUint32(at, size);
      for (let k = 0; k < 4; k++) out[at + 4 + k] = type.charCodeAt(k);
      at += 8;
    };
    header(moofSize, 'moof');
    header(16, 'mfhd');
    v.setUint32(at, 0); // version, flags
    v.setUint32(at + 4, ++this.sequence);
    at += 8;
    let dataAt = moofSize + MDAT_HEADER;
    for (const list of trafs) {
      const first = list[0] as Sample;
      header(TRAF_SIZE + TRUN_SAMPLE_SIZE * list.length, 'traf');
      header(16, 'tfhd');
      v.setUint32(at, DEFAULT_BASE_IS_MOOF); // version 0
      v.setUint32(at + 4, first.trackId);
      at += 8;
      header(20, 'tfdt');
      v.setUint32(at, 0x01000000); // version 1: a 64-bit decode time (90 kHz passes 2^32 after 13 hours)
      v.setBigUint64(at + 4, BigInt(first.time));
      at += 12;
      header(20 + TRUN_SAMPLE_SIZE * list.length, 'trun');
      v.setUint32(at, TRUN_FLAGS); // version 0
      v.setUint32(at + 4, list.length); // sample_count
      v.setInt32(at + 8, dataAt); // data_offset: from the moof's first byte to the track's first sample
      at += 12;
      for (const s of list) {
        v.setUint32(at, s.duration);
        v.setUint32(at + 4, s.data.length);
        v.setUint32(at + 8, s.flags);
        at += TRUN_SAMPLE_SIZE;
        dataAt += s.data.length;
      }
    }
    header(mdatSize, 'mdat');
    for (const list of trafs) {
      for (const s of list) {
        out.set(s.data, at);
        at += s.data.length;
      }
    }
    return out;
  }
}

/** How a video track is written; throws for codecs this muxer (or MSE in MP4) does not carry. */
function videoPlan(track: VideoTrack): TrackPlan {
  if (!(track.width > 0 && track.height > 0 && track.width <= 0xffff && track.height <= 0xffff)) {
    throw new RangeError(`fMP4 writer: video size ${track.width}x${track.height}`);
  }
  const plan: TrackPlan = {
    kind: 'video',
    id: 1,
    timescale: VIDEO_TIMESCALE,
    codec: track.codec,
    sampleEntry: null,
    annexBInput: false,
    annexB: null,
    lastTime: null,
    interval: null,
    defaultDuration: DEFAULT_VIDEO_DURATION,
    opus: false,
  };
  if (/^avc[13](\.|$)/.test(track.codec)) {
    // The sample entry is avc1 (parameter sets in the avcC), so an `avc3.` string is said as `avc1.`.
    // The track's own string is kept when well formed: it is known before the first keyframe, and
    // the SPS may say a lower level than the encoder was set up with (Chromium: 42e01f vs 42c01e).
    const given = /^avc[13]\.[0-9a-f]{6}$/i.test(track.codec) ? track.codec.replace(/^avc3\./, 'avc1.') : null;
    if (track.description !== undefined) {
      parseAvcC(track.description); // a clear error now rather than a decoder error in every viewer
      plan.sampleEntry = avc1Entry(track, track.description);
      plan.codec = given ?? avcCodecString(track.description);
    } else {
      // Annex B: the avcC is built from the first keyframe's SPS/PPS (and the codec string, if the track's is not usable).
      plan.annexBInput = true;
      plan.codec = given ?? '';
    }
    return plan;
  }
  if (track.codec === 'vp9' || track.codec.startsWith('vp09.')) {
    const vp9 = vp9Config(track.codec);
    plan.codec = vp9.codec;
    plan.sampleEntry = visualSampleEntry('vp09', track, [fullBox('vpcC', 1, 0, vp9.vpcC)]);
    return plan;
  }
  const hint = track.codec === 'vp8' || track.codec.startsWith('av01.') ? ' (use WebM for it)' : '';
  throw new Error(`fMP4 writer: fragmented MP4 here cannot carry video codec "${track.codec}": only H.264 and VP9 video${hint}`);
}

/** How an audio track is written; throws for codecs this muxer does not carry. */
function audioPlan(track: AudioTrack, id: number): TrackPlan {
  if (!(track.sampleRate > 0 && track.channels > 0 && track.channels <= 255)) {
    throw new RangeError(`fMP4 writer: audio ${track.sampleRate} Hz, ${track.channels} channels`);
  }
  const base = { kind: 'audio' as const, id, annexBInput: false, annexB: null, lastTime: null, interval: null };
  if (track.codec === 'opus') {
    const entry = audioSampleEntry('Opus', track.channels, OPUS_TIMESCALE, [box('dOps', opusSpecific(track))]);
    return { ...base, timescale: OPUS_TIMESCALE, codec: 'opus', sampleEntry: entry, defaultDuration: 960, opus: true };
  }
  const aac = /^mp4a\.40\.(\d+)$/.exec(track.codec);
  if (aac !== null) {
    const config = track.description ?? aacConfig(Number(aac[1]), track);
    const entry = audioSampleEntry('mp4a', track.channels, track.sampleRate, [fullBox('esds', 0, 0, esds(config, id))]);
    return { ...base, timescale: track.sampleRate, codec: track.codec, sampleEntry: entry, defaultDuration: AAC_FRAME_SAMPLES, opus: false };
  }
  throw new Error(`fMP4 writer: fragmented MP4 here cannot carry audio codec "${track.codec}": only Opus and AAC (mp4a.40.*) audio`);
}

/** An Annex B frame in AVC form (4-byte lengths), without access unit delimiters and without the SPS/PPS the avcC already holds. */
function annexBFrameToAvc(data: Uint8Array, known: ParameterSets): Uint8Array {
  const units = splitAnnexB(data).filter((nal) => {
    const type = nalType(nal);
    if (type === NalType.AUD) return false;
    // Parameter sets that differ from the avcC's stay in band, so a decoder can still follow them.
    if (type === NalType.SPS) return !known.sps.some((s) => sameBytes(s, nal));
    if (type === NalType.PPS) return !known.pps.some((p) => sameBytes(p, nal));
    return true;
  });
  return joinAvc(units);
}

// ---- init segment ----

function buildInit(tracks: Tracks, plans: TrackPlan[], file: boolean): Uint8Array {
  const brands = ['iso5', 'iso6', 'mp41'];
  if (plans.some((p) => p.sampleEntry !== null && type4(p.sampleEntry) === 'avc1')) brands.push('avc1');
  if (plans.some((p) => p.opus)) brands.push('Opus');
  const ftyp = box('ftyp', ascii4('iso5'), u32(512), ...brands.map(ascii4));
  const traks = plans.map((p) => trak(p, p.kind === 'video' ? tracks.video : tracks.audio));
  const nextTrackId = Math.max(...plans.map((p) => p.id)) + 1;
  // (A file's mehd says its duration in the movie timescale once it is finished: 0 until then.)
  const mehd = file ? [fullBox('mehd', 0, 0, u32(0))] : [];
  const mvex = box('mvex', ...mehd, ...plans.map((p) => fullBox('trex', 0, 0, u32(p.id), u32(1), u32(0), u32(0), u32(0))));
  return concatBytes([ftyp, box('moov', mvhd(nextTrackId), ...traks, mvex)]);
}

function mvhd(nextTrackId: number): Uint8Array {
  return fullBox(
    'mvhd',
    0,
    0,
    u32(0), // creation_time
    u32(0), // modification_time
    u32(1000), // timescale, ms: a file's durations (here and in mehd) count in it
    u32(0), // duration: 0 = unknown (a live stream; a file's is filled in when it is finished)
    u32(0x00010000), // rate 1.0
    u16(0x0100), // volume 1.0
    new Uint8Array(10), // reserved
    MATRIX,
    new Uint8Array(24), // pre_defined
    u32(nextTrackId),
  );
}

function trak(plan: TrackPlan, track: VideoTrack | AudioTrack | null): Uint8Array {
  const video = track !== null && track.kind === 'video' ? track : null;
  const tkhd = fullBox(
    'tkhd',
    0,
    0x000003, // enabled, in movie
    u32(0),
    u32(0),
    u32(plan.id),
    u32(0), // reserved
    u32(0), // duration
    new Uint8Array(8), // reserved
    u16(0), // layer
    u16(0), // alternate_group
    u16(video === null ? 0x0100 : 0), // volume: audio 1.0
    u16(0),
    MATRIX,
    u32((video?.width ?? 0) * 0x10000), // 16.16 fixed point
    u32((video?.height ?? 0) * 0x10000),
  );
  const mdhd = fullBox('mdhd', 0, 0, u32(0), u32(0), u32(plan.timescale), u32(0), u16(0x55c4 /* 'und' */), u16(0));
  const handler = video === null ? 'soun' : 'vide';
  const hdlr = fullBox('hdlr', 0, 0, u32(0), ascii4(handler), new Uint8Array(12), ascii(video === null ? 'SoundHandler\0' : 'VideoHandler\0'));
  const mediaHeader = video === null ? fullBox('smhd', 0, 0, u16(0), u16(0)) : fullBox('vmhd', 0, 1, new Uint8Array(8));
  const dinf = box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1)));
  const stbl = box(
    'stbl',
    fullBox('stsd', 0, 0, u32(1), plan.sampleEntry as Uint8Array),
    // The sample tables are empty: every sample lives in a movie fragment.
    fullBox('stts', 0, 0, u32(0)),
    fullBox('stsc', 0, 0, u32(0)),
    fullBox('stsz', 0, 0, u32(0), u32(0)),
    fullBox('stco', 0, 0, u32(0)),
  );
  return box('trak', tkhd, box('mdia', mdhd, hdlr, box('minf', mediaHeader, dinf, stbl)));
}

function avc1Entry(track: VideoTrack, avcC: Uint8Array): Uint8Array {
  return visualSampleEntry('avc1', track, [box('avcC', avcC)]);
}

/** A VisualSampleEntry (14496-12 §12.1.3) with its codec configuration boxes. */
function visualSampleEntry(type: string, track: VideoTrack, children: Uint8Array[]): Uint8Array {
  return box(
    type,
    new Uint8Array(6), // reserved
    u16(1), // data_reference_index
    new Uint8Array(16), // pre_defined, reserved
    u16(track.width),
    u16(track.height),
    u32(0x00480000), // 72 dpi
    u32(0x00480000),
    u32(0), // reserved
    u16(1), // frame_count
    new Uint8Array(32), // compressorname
    u16(0x0018), // depth: colour, no alpha
    u16(0xffff), // pre_defined = -1
    ...children,
  );
}

/** An AudioSampleEntry (14496-12 §12.2.3): the rate field is 16.16, so rates above 65535 Hz are written as 0. */
function audioSampleEntry(type: string, channels: number, rate: number, children: Uint8Array[]): Uint8Array {
  return box(
    type,
    new Uint8Array(6),
    u16(1), // data_reference_index
    new Uint8Array(8), // reserved
    u16(channels),
    u16(16), // samplesize
    u16(0),
    u16(0),
    u32(rate <= 0xffff ? rate * 0x10000 : 0),
    ...children,
  );
}

/** The dOps body (big-endian) from the track's OpusHead (little-endian), or from its channels and rate. */
function opusSpecific(track: AudioTrack): Uint8Array {
  const d = track.description;
  let channels = track.channels;
  let preSkip = 0; // unknown without the encoder's header
  let inputRate = track.sampleRate;
  let gain = 0;
  let family = 0;
  let table: Uint8Array = new Uint8Array(0);
  if (d !== undefined) {
    if (d.length < 19 || String.fromCharCode(...d.subarray(0, 8)) !== 'OpusHead') throw new Error('fMP4 writer: the Opus track description is not an OpusHead');
    const head = new DataView(d.buffer, d.byteOffset, d.byteLength);
    channels = d[9]!;
    preSkip = head.getUint16(10, true);
    inputRate = head.getUint32(12, true);
    gain = head.getInt16(16, true);
    family = d[18]!;
    if (family !== 0) {
      table = d.subarray(19, 21 + channels); // stream count, coupled count, channel mapping
      if (table.length !== 2 + channels) throw new Error('fMP4 writer: the OpusHead channel mapping table is truncated');
    }
  } else if (channels > 2) {
    throw new Error(`fMP4 writer: Opus with ${channels} channels needs an OpusHead description`);
  }
  const out = new Uint8Array(11 + table.length);
  const v = new DataView(out.buffer);
  out[0] = 0; // Version
  out[1] = channels;
  v.setUint16(2, preSkip);
  // Chromium refuses an Opus sample entry whose rate (48 kHz, as the spec says) differs from the
  // dOps InputSampleRate ("sample rate mismatches OpusSpecificBox"); the field is informational.
  v.setUint32(4, inputRate > 0 ? OPUS_TIMESCALE : inputRate);
  v.setInt16(8, gain);
  out[10] = family;
  out.set(table, 11);
  return out;
}


/** An AudioSpecificConfig (14496-3 §1.6.2.1) for an AAC object type, rate and channels, for tracks given without one. */
function aacConfig(objectType: number, track: AudioTrack): Uint8Array {
  if (objectType < 1 || objectType > 30) throw new Error(`fMP4 writer: AAC object type ${objectType} needs an AudioSpecificConfig description`);
  if (track.channels > 7) throw new Error(`fMP4 writer: AAC with ${track.channels} channels needs an AudioSpecificConfig description`);
  const rates = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
  const index = rates.indexOf(track.sampleRate);
  // 5 bits object type, 4 bits rate index (15 = a 24-bit explicit rate follows), 4 bits channel configuration.
  const bits = index >= 0 ? [[objectType, 5], [index, 4], [track.channels, 4]] : [[objectType, 5], [15, 4], [track.sampleRate, 24], [track.channels, 4]];
  let value = 0n;
  let length = 0;
  for (const [v, n] of bits as [number, number][]) {
    value = (value << BigInt(n)) | BigInt(v);
    length += n;
  }
  const bytes = Math.ceil(length / 8);
  value <<= BigInt(bytes * 8 - length); // GASpecificConfig's three flags are 0: the padding
  const out = new Uint8Array(bytes);
  for (let k = bytes - 1; k >= 0; k--, value >>= 8n) out[k] = Number(value & 0xffn);
  return out;
}

/** esds body: ES_Descriptor > DecoderConfigDescriptor (AAC, audio stream) > DecoderSpecificInfo, SLConfigDescriptor. */
function esds(audioSpecificConfig: Uint8Array, esId: number): Uint8Array {
  const decoderSpecific = descriptor(0x05, audioSpecificConfig);
  const decoderConfig = descriptor(
    0x04,
    concatBytes([
      new Uint8Array([0x40, 0x15]), // objectTypeIndication 0x40 (MPEG-4 audio), streamType 5 (audio) << 2 | upStream 0 | reserved 1
      new Uint8Array(3), // bufferSizeDB
      u32(0), // maxBitrate (unknown)
      u32(0), // avgBitrate (unknown)
      decoderSpecific,
    ]),
  );
  const sl = descriptor(0x06, new Uint8Array([0x02])); // predefined: MP4
  return descriptor(0x03, concatBytes([u16(esId), new Uint8Array([0]), decoderConfig, sl]));
}

/** An MPEG-4 descriptor: tag, size in 7-bit groups, body. */
function descriptor(tag: number, body: Uint8Array): Uint8Array {
  const size: number[] = [];
  for (let n = body.length; ; ) {
    size.unshift(n & 0x7f);
    n >>= 7;
    if (n === 0) break;
  }
  for (let k = 0; k < size.length - 1; k++) size[k]! |= 0x80;
  return concatBytes([new Uint8Array([tag, ...size]), body]);
}

/** vpcC body and the full codec string from a `vp9` or `vp09.PP.LL.DD[.CC.cp.tc.mc.FF]` codec string. */
function vp9Config(codec: string): { vpcC: Uint8Array; codec: string } {
  // Defaults of the VP9 codec string: profile 0, 8 bits, 4:2:0 colocated, BT.709, limited range. A
  // bare `vp9` says no level: 3.1 (up to 720p30) is what MSE is told; decoders only use it as a hint.
  const parts = codec === 'vp9' ? ['vp09', '00', '31', '08'] : codec.split('.');
  const n = parts.slice(1).map(Number);
  if (n.length < 3 || n.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) {
    throw new Error(`fMP4 writer: cannot read the VP9 codec string "${codec}" (expected vp09.PP.LL.DD)`);
  }
  const [profile, level, depth, chroma = 1, primaries = 1, transfer = 1, matrix = 1, fullRange = 0] = n as [number, number, number, ...number[]];
  const vpcC = new Uint8Array(8);
  vpcC.set([profile, level, (depth << 4) | (chroma << 1) | (fullRange & 1), primaries, transfer, matrix]);
  // codecInitializationDataSize = 0 (VP9 has none): the last two bytes stay 0.
  const full = codec === 'vp9' ? 'vp09.00.31.08' : codec;
  return { vpcC, codec: full };
}

// ---- box helpers ----

const MATRIX = concatBytes([0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000].map(u32)); // unity

/** A box: 32-bit size, 4-character type, then the parts. */
function box(type: string, ...parts: Uint8Array[]): Uint8Array {
  const size = 8 + parts.reduce((sum, p) => sum + p.length, 0);
  return concatBytes([u32(size), ascii4(type), ...parts]);
}

/** A full box: a box whose body starts with 8-bit version and 24-bit flags. */
function fullBox(type: string, version: number, flags: number, ...parts: Uint8Array[]): Uint8Array {
  return box(type, u32(((version & 0xff) << 24) | (flags & 0xffffff)), ...parts);
}

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0);
  return out;
}

function u16(value: number): Uint8Array {
  return new Uint8Array([(value >> 8) & 0xff, value & 0xff]);
}

function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

function ascii4(s: string): Uint8Array {
  if (s.length !== 4) throw new Error(`four-character code expected, got "${s}"`);
  return ascii(s);
}

/** The type of a box (its bytes 4..8). */
function type4(boxBytes: Uint8Array): string {
  return String.fromCharCode(...boxBytes.subarray(4, 8));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}
