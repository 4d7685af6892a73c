// The one media form every camera's stream becomes: per track the codec and what a decoder needs to
// start, per frame its timestamp, keyframe flag and bytes. Demuxers (WebM, fMP4) produce it, the
// WebCodecs camera sends it almost as is, and muxers (live WebM, live fMP4) and the chunk output
// consume it. Codec strings are WebCodecs' (https://www.w3.org/TR/webcodecs-codec-registry/).
// Pure code: no Node or DOM imports.

/** A video track: what a decoder needs to start. */
export interface VideoTrack {
  kind: 'video';
  /** WebCodecs codec string: `avc1.42e01f`, `vp8`, `vp09.00.10.08`, `av01.0.04M.08`. */
  codec: string;
  width: number;
  height: number;
  /**
   * Codec setup bytes. H.264: an `avcC` record, and then every frame is in AVC form (NAL units
   * behind big-endian lengths of avcC's size); none: frames are Annex B (start codes, SPS/PPS in
   * the keyframes). VP8/VP9: none.
   */
  description?: Uint8Array | undefined;
}

/** An audio track: what a decoder needs to start. */
export interface AudioTrack {
  kind: 'audio';
  /** WebCodecs codec string: `opus`, `mp4a.40.2` (AAC-LC). */
  codec: string;
  sampleRate: number;
  channels: number;
  /** Opus: an `OpusHead` (optional); AAC: its AudioSpecificConfig. */
  description?: Uint8Array | undefined;
}

export type Track = VideoTrack | AudioTrack;
export type TrackKind = Track['kind'];

/** A stream's tracks; a stream has at least one. A change of either is a new period. */
export interface Tracks {
  video: VideoTrack | null;
  audio: AudioTrack | null;
}

/** One encoded video frame or audio packet. */
export interface MediaFrame {
  track: TrackKind;
  /** Decoding can start here (every audio packet is one). */
  key: boolean;
  /** Presentation time in µs from the stream's media time 0. */
  timestamp: number;
  /** µs; 0 when the source did not say. */
  duration: number;
  data: Uint8Array;
}

/** True when the two tracks need the same decoder setup (a change of this is a new period). */
export function sameTrack(a: Track | null, b: Track | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.kind !== b.kind || a.codec !== b.codec || !sameBytes(a.description, b.description)) return false;
  if (a.kind === 'video' && b.kind === 'video') return a.width === b.width && a.height === b.height;
  if (a.kind === 'audio' && b.kind === 'audio') return a.sampleRate === b.sampleRate && a.channels === b.channels;
  return false;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
