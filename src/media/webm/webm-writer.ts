// Live WebM muxer: turns a stream's frames into WebM that MSE plays with very low latency. Every
// frame is written the moment it is pushed (no interleaving queue, no cluster buffering): the
// Segment and every Cluster have an unknown size, so nothing waits for what follows. Written by
// the server once per camera and shared by all its MSE viewers, who join at a `key` unit.
// Why not mediabunny: its WebM muxer writes a frame only once every track has a later packet
// queued, so each video frame waited for the next audio packet (p50 ≈ 30 ms in real time on the
// real VP8+Opus fixture) and video stopped altogether while the audio did.
// Spec: RFC 9559 (Matroska) https://www.rfc-editor.org/rfc/rfc9559 (SimpleBlock §10.2)
//       WebM: https://www.webmproject.org/docs/container/
//       AV1 in Matroska/WebM: https://github.com/ietf-wg-cellar/matroska-specification/blob/master/codec/av1.md
//       Opus in Matroska (CodecPrivate = OpusHead): RFC 7845 §5.1
// Pure code: no Node or DOM imports, so it also runs in a browser.
import { concatBytes } from '../bytes.ts';
import type { AudioTrack, MediaFrame, Tracks, VideoTrack } from '../frames.ts';
import { ElementId as Id } from './ebml.ts';
import {
  dateElement,
  element,
  floatElement,
  idBytes,
  master,
  sizeLength,
  stringElement,
  uintElement,
  unknownSizeHeader,
  writeSize,
} from './ebml-writer.ts';

/** The bytes of one pushed frame; `key`: they start a Cluster a viewer can start from. */
export interface WebmUnit {
  bytes: Uint8Array;
  key: boolean;
  /** They start a Cluster (with this Timestamp, ms); null: they go on the open one. */
  cluster: number | null;
}

/** Options of a WebmWriter. */
export interface WebmWriterOptions {
  /** DateUTC of the Info (wall-clock time of media time 0); default: when the writer was made. */
  date?: Date;
  /**
   * A file, not a live stream: room is kept (as Void elements) for a SeekHead right after the
   * Segment's header and for a Duration at the end of the Info, which `finishWebmFile` writes once
   * the file's Cues are known.
   */
  file?: boolean;
}

/** Bytes of the Void kept after the Segment header for a SeekHead pointing at the Cues (see finishWebmFile). */
export const SEEK_HEAD_ROOM = 40;
/** Bytes of the Void kept at the end of the Info for a Duration: ID (2) + size (1) + float64 (8). */
export const DURATION_ROOM = 11;

/** Written as MuxingApp and WritingApp. */
const APP = 'websocket-webcam';
/** Audio-only streams get a new Cluster (a place to join) after this much media time. */
const AUDIO_CLUSTER_MS = 1000;
const INT16_MIN = -32768;
const INT16_MAX = 32767;
/** Cluster ID bytes; a Cluster header is these + an 8-byte unknown size, then its Timestamp element. */
const CLUSTER_ID = idBytes(Id.Cluster);
const SIMPLE_BLOCK_ID = 0xa3;

/**
 * Live WebM muxer: `init()` once, then `push()` every frame in order; each push returns that
 * frame's bytes at once. Video VP8/VP9/AV1, audio Opus; anything else throws in the constructor.
 */
export class WebmWriter {
  /** The MSE type, e.g. `video/webm; codecs="vp8,opus"`. */
  readonly mimeType: string;
  private readonly initBytes: Uint8Array;
  private readonly videoNumber: number;
  private readonly audioNumber: number;
  /** Timestamp (ms) of the open Cluster; null before the first. */
  private clusterMs: number | null = null;
  /** Time (ms) of the latest block in the open Cluster. */
  private lastBlockMs = -Infinity;

  constructor(tracks: Tracks, options: WebmWriterOptions = {}) {
    const { video, audio } = tracks;
    if (video === null && audio === null) throw new Error('WebM writer: a stream needs a video or an audio track');
    const videoId = video === null ? null : videoCodecId(video);
    const audioId = audio === null ? null : audioCodecId(audio);
    this.videoNumber = video === null ? 0 : 1;
    this.audioNumber = audio === null ? 0 : video === null ? 1 : 2;
    const codecs = [video?.codec, audio?.codec].filter((c): c is string => c !== undefined).join(',');
    this.mimeType = `${video === null ? 'audio' : 'video'}/webm; codecs="${codecs}"`;

    const entries: Uint8Array[] = [];
    if (video !== null && videoId !== null) entries.push(videoEntry(video, videoId, this.videoNumber));
    if (audio !== null && audioId !== null) entries.push(audioEntry(audio, audioId, this.audioNumber));
    this.initBytes = concatBytes([
      master(Id.EBML, [
        uintElement(Id.EBMLVersion, 1),
        uintElement(Id.EBMLReadVersion, 1),
        uintElement(Id.EBMLMaxIDLength, 4),
        uintElement(Id.EBMLMaxSizeLength, 8),
        stringElement(Id.DocType, 'webm'),
        uintElement(Id.DocTypeVersion, 4),
        uintElement(Id.DocTypeReadVersion, 2),
      ]),
      // Unknown size and no Duration: with DateUTC, what makes Chromium treat the stream as live.
      unknownSizeHeader(Id.Segment),
      ...(options.file ? [voidElement(SEEK_HEAD_ROOM)] : []),
      master(Id.Info, [
        uintElement(Id.TimestampScale, 1_000_000), // 1 ms ticks
        stringElement(Id.MuxingApp, APP),
        stringElement(Id.WritingApp, APP),
        dateElement(Id.DateUTC, options.date ?? new Date()),
        ...(options.file ? [voidElement(DURATION_ROOM)] : []),
      ]),
      master(Id.Tracks, entries),
    ]);
  }

  /** The init segment: EBML header, Segment (unknown size), Info, Tracks. The same bytes every call. */
  init(): Uint8Array {
    return this.initBytes;
  }

  /**
   * The bytes of one frame: a SimpleBlock, after a new Cluster at a video keyframe, when the block's
   * time relative to the Cluster would leave int16, and about every second in an audio-only stream.
   * Frames must come in decode order per track; a frame of a track the stream lacks throws.
   */
  push(frame: MediaFrame): WebmUnit {
    const number = frame.track === 'video' ? this.videoNumber : this.audioNumber;
    if (number === 0) throw new Error(`WebM writer: a ${frame.track} frame, but the stream has no ${frame.track} track`);
    if (!Number.isFinite(frame.timestamp)) throw new RangeError(`WebM writer: ${frame.track} timestamp ${frame.timestamp} is not a number`);
    const ms = Math.round(frame.timestamp / 1000);
    const audioOnly = this.videoNumber === 0;
    let newCluster = this.clusterMs === null;
    let key = false;
    if (frame.track === 'video' && frame.key) {
      newCluster = true;
      key = true;
    } else if (audioOnly && this.clusterMs !== null && ms - this.clusterMs >= AUDIO_CLUSTER_MS) {
      newCluster = true;
    } else if (this.clusterMs !== null && (ms - this.clusterMs > INT16_MAX || ms - this.clusterMs < INT16_MIN)) {
      newCluster = true;
    } else if (ms < this.lastBlockMs) {
      // Chromium's WebM parser refuses a block earlier than the one before it in the same Cluster
      // ("Got a block with a timecode before the previous block"); frames of two tracks arrive
      // live in capture order only roughly, so such a block opens a Cluster of its own.
      newCluster = true;
    }
    if (newCluster && audioOnly) key = true; // every Opus packet can start a decoder
    // Cluster Timestamp is unsigned; a block just before media time 0 fits as a negative relative time.
    if (newCluster) this.clusterMs = Math.max(0, ms);
    this.lastBlockMs = newCluster ? ms : Math.max(this.lastBlockMs, ms);
    const relative = ms - (this.clusterMs as number);
    if (relative < INT16_MIN) throw new RangeError(`WebM writer: ${frame.track} timestamp ${frame.timestamp} µs is too far before media time 0`);
    return { bytes: this.block(frame, number, relative, newCluster), key, cluster: newCluster ? (this.clusterMs as number) : null };
  }

  /** One buffer: [Cluster header + Timestamp] + SimpleBlock (track, int16 time, flags, payload). */
  private block(frame: MediaFrame, number: number, relative: number, newCluster: boolean): Uint8Array {
    const timestamp = newCluster ? uintElement(Id.Timestamp, this.clusterMs as number) : null;
    const clusterLength = timestamp === null ? 0 : CLUSTER_ID.length + 8 + timestamp.length;
    const body = 1 + 2 + 1 + frame.data.length; // track number vint (1..126 → 1 byte), timecode, flags
    const out = new Uint8Array(clusterLength + 1 + sizeLength(body) + body);
    let at = 0;
    if (timestamp !== null) {
      out.set(CLUSTER_ID, 0);
      out.fill(0xff, CLUSTER_ID.length + 1, CLUSTER_ID.length + 8);
      out[CLUSTER_ID.length] = 0x01; // unknown size (8-byte vint, all data bits set)
      out.set(timestamp, CLUSTER_ID.length + 8);
      at = clusterLength;
    }
    out[at++] = SIMPLE_BLOCK_ID;
    at = writeSize(out, at, body);
    out[at++] = 0x80 | number;
    out[at++] = (relative >> 8) & 0xff;
    out[at++] = relative & 0xff;
    // Keyframe flag; no lacing. Audio packets are keyframes when the source says so (Opus: all).
    out[at++] = frame.key ? 0x80 : 0x00;
    out.set(frame.data, at);
    return out;
  }
}

/** A Void element of exactly `size` bytes (at least 2): room to overwrite later. */
export function voidElement(size: number): Uint8Array {
  if (size < 2 || size > 127) throw new RangeError(`a Void of ${size} bytes`);
  const out = new Uint8Array(size);
  out[0] = 0xec;
  out[1] = 0x80 | (size - 2);
  return out;
}

/** The Matroska CodecID of a video track; throws for codecs MSE does not play in WebM. */
function videoCodecId(track: VideoTrack): string {
  const codec = track.codec;
  if (codec === 'vp8') return 'V_VP8';
  if (codec === 'vp9' || codec.startsWith('vp09.')) return 'V_VP9';
  if (codec.startsWith('av01.')) return 'V_AV1';
  const hint = /^(avc[13]|hev1|hvc1)\./.test(codec) ? ' (use fragmented MP4 for it)' : '';
  throw new Error(`WebM writer: WebM cannot carry video codec "${codec}": MSE plays only VP8, VP9 and AV1 video in WebM${hint}`);
}

/** The Matroska CodecID of an audio track; throws for codecs MSE does not play in WebM. */
function audioCodecId(track: AudioTrack): string {
  if (track.codec === 'opus') return 'A_OPUS';
  const hint = track.codec.startsWith('mp4a.') ? ' (use fragmented MP4 for it)' : '';
  throw new Error(`WebM writer: WebM cannot carry audio codec "${track.codec}": MSE plays only Opus audio in WebM here${hint}`);
}

function videoEntry(track: VideoTrack, codecId: string, number: number): Uint8Array {
  if (!(track.width > 0 && track.height > 0)) throw new RangeError(`WebM writer: video size ${track.width}x${track.height}`);
  const children = [
    uintElement(Id.TrackNumber, number),
    uintElement(Id.TrackUID, number),
    uintElement(Id.TrackType, 1),
    uintElement(Id.FlagLacing, 0),
    stringElement(Id.CodecID, codecId),
  ];
  // The AV1 mapping requires CodecPrivate (an av1C); VP8/VP9 need none.
  if (codecId === 'V_AV1') children.push(element(Id.CodecPrivate, track.description ?? av1ConfigFromCodec(track.codec)));
  children.push(master(Id.Video, [uintElement(Id.PixelWidth, track.width), uintElement(Id.PixelHeight, track.height)]));
  return master(Id.TrackEntry, children);
}

function audioEntry(track: AudioTrack, codecId: string, number: number): Uint8Array {
  if (!(track.sampleRate > 0 && track.channels > 0)) throw new RangeError(`WebM writer: audio ${track.sampleRate} Hz, ${track.channels} channels`);
  return master(Id.TrackEntry, [
    uintElement(Id.TrackNumber, number),
    uintElement(Id.TrackUID, number),
    uintElement(Id.TrackType, 2),
    uintElement(Id.FlagLacing, 0),
    stringElement(Id.CodecID, codecId),
    element(Id.CodecPrivate, opusHead(track)),
    master(Id.Audio, [floatElement(Id.SamplingFrequency, track.sampleRate), uintElement(Id.Channels, track.channels)]),
  ]);
}

/** The track's OpusHead, or one made from its channels and rate (RFC 7845 §5.1). */
function opusHead(track: AudioTrack): Uint8Array {
  const d = track.description;
  if (d !== undefined && d.length >= 19 && String.fromCharCode(...d.subarray(0, 8)) === 'OpusHead') return d;
  if (d !== undefined) throw new Error('WebM writer: the Opus track description is not an OpusHead');
  // Mapping family 0 covers mono and stereo only; more channels need the encoder's own OpusHead.
  if (track.channels > 2) throw new Error(`WebM writer: Opus with ${track.channels} channels needs an OpusHead description`);
  const head = new Uint8Array(19);
  const view = new DataView(head.buffer);
  head.set([0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64]); // "OpusHead"
  head[8] = 1; // version
  head[9] = track.channels;
  view.setUint16(10, 0, true); // pre-skip unknown without the encoder's header: decode from the first sample
  view.setUint32(12, track.sampleRate, true); // input sample rate (informative)
  view.setInt16(16, 0, true); // output gain
  head[18] = 0; // mapping family 0
  return head;
}

/**
 * A 4-byte av1C (AV1 codec configuration, no config OBUs: the sequence header travels in the
 * keyframes) from a codec string `av01.P.LLT.DD[.M.CCC...]`.
 * Spec: https://aomediacodec.github.io/av1-isobmff/#av1codecconfigurationbox-syntax
 */
function av1ConfigFromCodec(codec: string): Uint8Array {
  const m = /^av01\.(\d)\.(\d\d)([MH])\.(\d\d)(?:\.(\d)(?:\.(\d)(\d)(\d))?)?/.exec(codec);
  if (m === null) throw new Error(`WebM writer: cannot read the AV1 codec string "${codec}" (expected av01.P.LLT.DD)`);
  const profile = Number(m[1]);
  const level = Number(m[2]);
  const depth = Number(m[4]);
  const mono = Number(m[5] ?? 0);
  const [sx, sy, position] = [Number(m[6] ?? 1), Number(m[7] ?? 1), Number(m[8] ?? 0)];
  return new Uint8Array([
    0x81, // marker 1, version 1
    (profile << 5) | (level & 0x1f),
    ((m[3] === 'H' ? 1 : 0) << 7) | ((depth > 8 ? 1 : 0) << 6) | ((depth === 12 ? 1 : 0) << 5) | (mono << 4) | (sx << 3) | (sy << 2) | (position & 3),
    0, // no initial_presentation_delay
  ]);
}
