// Reads a fragmented MP4's `moov` (held whole in memory) into the project's Tracks plus what the
// fragments need per track: its kind, media timescale and `trex` defaults.
// Spec: ISO/IEC 14496-12 §8.2 (moov), §8.3.2 (tkhd), §8.4.2 (mdhd), §8.4.3 (hdlr), §8.5.2 (stsd,
//       sample entries), §12.1.3 (VisualSampleEntry), §12.2.3 (AudioSampleEntry), §8.8.3 (trex)
//       (free from https://standards.iso.org/ittf/PubliclyAvailableStandards/)
//       QuickTime File Format, Sound Sample Description versions 1 and 2 (what Apple's muxers may write)
//       ISO/IEC 14496-15 (avc1/avc3 + avcC); VP codec ISO-BMFF binding (vp09 + vpcC)
//       https://www.webmproject.org/vp9/mp4/; Opus in ISOBMFF https://opus-codec.org/docs/opus_in_isobmff.html
// Pure code: no Node or DOM imports.
import type { AudioTrack, Tracks, VideoTrack } from '../frames.ts';
import { BoxBody, type ChildBox } from './boxes.ts';
import { avcCodec, readDops, readEsds, vp9Codec } from './codecs.ts';
import { limit, malformed, unsupported } from './errors.ts';

/** What the fragments need to know about one track of the moov. */
export interface TrackInfo {
  id: number;
  /** `null`: a track we ignore (not video or audio, or a second one of a kind); its samples are skipped. */
  kind: 'video' | 'audio' | null;
  /** Ticks per second of the track's media time (mdhd). */
  timescale: number;
  /** `trex` defaults for samples whose fragment does not say (ISO 14496-12 §8.8.3). */
  defaultDuration: number;
  defaultSize: number;
  defaultFlags: number;
}

/** A parsed moov: the tracks to announce and, by track_ID, how to read their fragments. */
export interface Movie {
  tracks: Tracks;
  byId: Map<number, TrackInfo>;
}

/** What parseMoov needs of the demuxer's limits. */
export interface MoovLimits {
  maxDepth: number;
  maxTracks: number;
}

/** A trak being read: its boxes, found in any order. */
interface TrakParts {
  start: number;
  id: number | null;
  tkhdWidth: number;
  tkhdHeight: number;
  timescale: number | null;
  handler: string | null;
  stsd: BoxBody | null;
}

/**
 * Parses a moov whose body is `buf[start..end)`; `base` = absolute stream offset of `buf[0]`.
 * Throws MP4_MALFORMED for broken structure, MP4_UNSUPPORTED for a codec or encryption we cannot
 * hand on, MP4_LIMIT for too many tracks or too deep nesting.
 */
export function parseMoov(buf: Uint8Array, start: number, end: number, base: number, limits: MoovLimits): Movie {
  const moov = new BoxBody(buf, start, end, base, 'moov');
  const moovOffset = base + start - 8;
  const traks: TrakParts[] = [];
  const trex = new Map<number, { duration: number; size: number; flags: number }>();
  let fragmented = false;
  for (const box of moov.children(2, limits.maxDepth)) {
    if (box.type === 'trak') {
      if (traks.length >= limits.maxTracks) throw limit(`more than maxTracks (${limits.maxTracks}) tracks`, base + box.start);
      traks.push(readTrak(moov.child(box), base + box.start, limits));
    } else if (box.type === 'mvex') {
      fragmented = true;
      const mvex = moov.child(box);
      for (const child of mvex.children(3, limits.maxDepth)) {
        if (child.type !== 'trex') continue;
        const b = mvex.child(child);
        b.fullBox();
        const id = b.u32('track_ID');
        b.skip(4, 'default_sample_description_index');
        trex.set(id, { duration: b.u32('default_sample_duration'), size: b.u32('default_sample_size'), flags: b.u32('default_sample_flags') });
      }
    }
    // mvhd, udta, meta, iods, pssh: nothing we need (mvhd's duration is often wrong in live files anyway).
  }
  if (!fragmented) {
    throw unsupported('moov without mvex: not a fragmented MP4 (its samples would be in moov tables, which a live stream cannot use)', moovOffset);
  }
  const tracks: Tracks = { video: null, audio: null };
  const byId = new Map<number, TrackInfo>();
  for (const t of traks) {
    if (t.id === null) throw malformed('trak without a tkhd', t.start);
    if (byId.has(t.id)) throw malformed(`two traks with track_ID ${t.id}`, t.start);
    if (t.timescale === null) throw malformed(`track ${t.id} has no mdhd`, t.start);
    if (t.timescale === 0) throw malformed(`track ${t.id} has an mdhd timescale of 0`, t.start);
    if (t.handler === null) throw malformed(`track ${t.id} has no hdlr`, t.start);
    let kind: TrackInfo['kind'] = null;
    // Only the first video and the first audio track play: Tracks holds one of each.
    if (t.handler === 'vide' && tracks.video === null) {
      tracks.video = readVideoEntry(firstEntry(t, limits.maxDepth), t.tkhdWidth, t.tkhdHeight, limits.maxDepth);
      kind = 'video';
    } else if (t.handler === 'soun' && tracks.audio === null) {
      tracks.audio = readAudioEntry(firstEntry(t, limits.maxDepth), limits.maxDepth);
      kind = 'audio';
    }
    const d = trex.get(t.id);
    byId.set(t.id, { id: t.id, kind, timescale: t.timescale, defaultDuration: d?.duration ?? 0, defaultSize: d?.size ?? 0, defaultFlags: d?.flags ?? 0 });
  }
  if (tracks.video === null && tracks.audio === null) throw unsupported('moov has no video or audio track', moovOffset);
  return { tracks, byId };
}

/** Collects a trak's tkhd, mdhd, hdlr and stsd (trak depth 2; stsd is at depth 6). */
function readTrak(trak: BoxBody, start: number, limits: MoovLimits): TrakParts {
  const parts: TrakParts = { start, id: null, tkhdWidth: 0, tkhdHeight: 0, timescale: null, handler: null, stsd: null };
  for (const box of trak.children(3, limits.maxDepth)) {
    if (box.type === 'tkhd') {
      const b = trak.child(box);
      const { version } = b.fullBox();
      b.skip(version === 1 ? 16 : 8, 'creation and modification times');
      parts.id = b.u32('track_ID');
      // reserved, duration, reserved[2], layer, alternate_group, volume, reserved, matrix[9]
      b.skip((version === 1 ? 12 : 8) + 8 + 8 + 36, 'fields before width');
      parts.tkhdWidth = b.u32('width') >>> 16; // 16.16 fixed point
      parts.tkhdHeight = b.u32('height') >>> 16;
    } else if (box.type === 'mdia') {
      readMdia(trak.child(box), parts, limits);
    }
    // edts (edit lists) is not applied: the brief's timestamps are decode time + composition offset.
  }
  return parts;
}

function readMdia(mdia: BoxBody, parts: TrakParts, limits: MoovLimits): void {
  for (const box of mdia.children(4, limits.maxDepth)) {
    if (box.type === 'mdhd') {
      const b = mdia.child(box);
      const { version } = b.fullBox();
      b.skip(version === 1 ? 16 : 8, 'creation and modification times');
      parts.timescale = b.u32('timescale');
    } else if (box.type === 'hdlr') {
      const b = mdia.child(box);
      b.fullBox();
      b.skip(4, 'pre_defined');
      parts.handler = String.fromCharCode(...b.view(4, 'handler_type'));
    } else if (box.type === 'minf') {
      const minf = mdia.child(box);
      for (const m of minf.children(5, limits.maxDepth)) {
        if (m.type !== 'stbl') continue;
        const stbl = minf.child(m);
        for (const s of stbl.children(6, limits.maxDepth)) if (s.type === 'stsd') parts.stsd = stbl.child(s);
      }
    }
  }
}

/** The first sample entry of a trak's stsd: the one every fragment of a live recording uses. */
function firstEntry(t: TrakParts, maxDepth: number): { stsd: BoxBody; entry: ChildBox } {
  const stsd = t.stsd;
  if (stsd === null) throw malformed(`track ${t.id} has no stsd`, t.start);
  stsd.fullBox();
  const count = stsd.u32('entry_count');
  if (count === 0) throw malformed(`track ${t.id}: stsd has no sample entry`, stsd.offset - 4);
  // The entries are stsd's children (depth 7); fragments of a live recording use the first one.
  const entry = stsd.children(7, maxDepth)[0];
  if (entry === undefined) throw malformed(`track ${t.id}: stsd says ${count} entries but holds none`, stsd.offset);
  return { stsd, entry };
}

/** Reads a video sample entry (ISO 14496-12 §12.1.3) and its codec configuration box. */
function readVideoEntry({ stsd, entry }: { stsd: BoxBody; entry: ChildBox }, tkhdWidth: number, tkhdHeight: number, maxDepth: number): VideoTrack {
  const at = stsd.base + entry.start;
  const type = entry.type;
  if (type === 'encv') throw unsupported("encrypted video track ('encv' sample entry)", at);
  if (type !== 'avc1' && type !== 'avc3' && type !== 'vp09') {
    throw unsupported(`video codec '${type}' is not supported (only avc1, avc3 and vp09)`, at);
  }
  const b = stsd.child(entry);
  // SampleEntry: reserved[6], data_reference_index; VisualSampleEntry: pre_defined, reserved, pre_defined[3]
  b.skip(8 + 16, 'sample entry fields');
  const width = b.u16('width') || tkhdWidth;
  const height = b.u16('height') || tkhdHeight;
  // horizresolution, vertresolution, reserved, frame_count, compressorname[32], depth, pre_defined
  b.skip(4 + 4 + 4 + 2 + 32 + 2 + 2, 'sample entry fields');
  const children = b.children(8, maxDepth);
  const config = (name: string): BoxBody => {
    const box = children.find((c) => c.type === name);
    if (box === undefined) throw malformed(`'${type}' sample entry without its '${name}' box`, at);
    return b.child(box);
  };
  if (type === 'vp09') return { kind: 'video', codec: vp9Codec(config('vpcC'), width, height), width, height };
  const avcC = config('avcC');
  const description = avcC.buf.slice(avcC.start, avcC.end);
  return { kind: 'video', codec: avcCodec(avcC), width, height, description };
}

/** Reads an audio sample entry (ISO 14496-12 §12.2.3, or QuickTime's versions 1 and 2) and its configuration box. */
function readAudioEntry({ stsd, entry }: { stsd: BoxBody; entry: ChildBox }, maxDepth: number): AudioTrack {
  const at = stsd.base + entry.start;
  const type = entry.type;
  if (type === 'enca') throw unsupported("encrypted audio track ('enca' sample entry)", at);
  if (type !== 'mp4a' && type !== 'Opus') throw unsupported(`audio codec '${type}' is not supported (only mp4a and Opus)`, at);
  const b = stsd.child(entry);
  b.skip(8, 'SampleEntry fields'); // reserved[6], data_reference_index
  // ISO's reserved[2] is QuickTime's version, revision level and vendor.
  const version = b.u16('version');
  b.skip(6, 'reserved');
  let channels = b.u16('channelcount');
  b.skip(6, 'samplesize, pre_defined, reserved');
  let sampleRate = b.u32('samplerate') >>> 16; // 16.16 fixed point
  if (version === 1) {
    b.skip(16, 'QuickTime v1 fields'); // samples per packet, bytes per packet, bytes per frame, bytes per sample
  } else if (version === 2) {
    b.skip(4, 'sizeOfStructOnly');
    const rate = new DataView(b.buf.buffer, b.buf.byteOffset + b.pos, 8);
    b.need(8, 'audioSampleRate');
    sampleRate = Math.round(rate.getFloat64(0));
    b.pos += 8;
    channels = b.u32('numAudioChannels');
    b.skip(20, 'QuickTime v2 fields');
  }
  const children = b.children(8, maxDepth);
  const config = (name: string): BoxBody => {
    const box = children.find((c) => c.type === name);
    if (box !== undefined) return b.child(box);
    // QuickTime-style entries wrap the esds in a 'wave' box.
    const wave = children.find((c) => c.type === 'wave');
    if (wave !== undefined) {
      const w = b.child(wave);
      const inner = w.children(9, maxDepth).find((c) => c.type === name);
      if (inner !== undefined) return w.child(inner);
    }
    throw malformed(`'${type}' sample entry without its '${name}' box`, at);
  };
  if (type === 'Opus') {
    const opus = readDops(config('dOps'));
    // Opus always decodes at 48 kHz (RFC 7845 §5.1: InputSampleRate is only informative).
    return { kind: 'audio', codec: 'opus', sampleRate: sampleRate || 48000, channels: opus.channels, description: opus.opusHead };
  }
  const esds = readEsds(config('esds'));
  return {
    kind: 'audio',
    codec: esds.codec,
    sampleRate: sampleRate || esds.sampleRate,
    channels: channels || esds.channels,
    description: esds.config,
  };
}
