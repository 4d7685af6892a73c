// A live WebM stream (a camera's MediaRecorder) as the project's one media form: tracks with what a
// decoder needs, and frames with their timestamps. Built on the incremental parser (frames mode).
// Also H.264 in Matroska (Chromium's `video/x-matroska;codecs=avc1`: Annex B frames, no
// CodecPrivate): its codec string comes from the first keyframe's SPS, so its tracks are told then.
// Codec IDs: https://www.matroska.org/technical/codec_specs.html
// Pure code: no Node or DOM imports.
import type { AudioTrack, MediaFrame, Tracks, VideoTrack } from '../frames.ts';
import { avcCodecString, findParameterSets } from '../h264.ts';
import { WebmError } from './errors.ts';
import { WebmParser, type WebmLimits, type WebmTrack } from './webm-parser.ts';

/** What the demuxer found, in stream order. */
export type WebmDemuxEvent = { kind: 'tracks'; tracks: Tracks } | { kind: 'frame'; frame: MediaFrame };

/** WebCodecs codec strings of the video codecs a browser records in WebM (profile and level unknown: the common ones). */
const VIDEO_CODECS: Record<string, string> = { V_VP8: 'vp8', V_VP9: 'vp09.00.10.08', V_AV1: 'av01.0.04M.08' };
const AVC = 'V_MPEG4/ISO/AVC';
/** Frames held while an H.264 track waits for the SPS of its first keyframe, at most. */
const MAX_HELD_FRAMES = 300;

/** Incremental WebM demuxer: push bytes as they arrive, get tracks and frames. Throws WebmError. */
export class WebmDemuxer {
  private readonly parser: WebmParser;
  /** Track numbers in blocks → which of ours; tracks of other kinds are left out. */
  private readonly numbers = new Map<number, 'video' | 'audio'>();
  /** Tracks whose H.264 codec string waits for the first keyframe's SPS, and the frames held meanwhile. */
  private waiting: { tracks: Tracks; held: MediaFrame[]; seen: number } | null = null;

  constructor(limits?: Partial<Omit<WebmLimits, 'frames'>>) {
    this.parser = new WebmParser({ ...limits, frames: true });
  }

  get bytesRead(): number {
    return this.parser.bytesRead;
  }

  push(bytes: Uint8Array): WebmDemuxEvent[] {
    const out: WebmDemuxEvent[] = [];
    for (const e of this.parser.push(bytes)) {
      if (e.kind === 'tracks') {
        const tracks = this.tracksOf(e.tracks);
        if (tracks.video?.codec === AVC) this.waiting = { tracks, held: [], seen: 0 };
        else out.push({ kind: 'tracks', tracks });
      } else if (e.kind === 'frame') {
        const track = this.numbers.get(e.track);
        if (!track) continue;
        const timestamp = Math.round(e.time * 1000);
        const frame: MediaFrame = { track, key: track === 'audio' || e.keyframe, timestamp, duration: e.duration === undefined ? 0 : Math.round(e.duration * 1000), data: e.data };
        if (this.waiting) this.resolve(frame, out);
        else out.push({ kind: 'frame', frame });
      }
    }
    return out;
  }

  /** A frame while the H.264 codec string is unknown: a keyframe's SPS tells it (then the tracks and the held frames go out); others are held. */
  private resolve(frame: MediaFrame, out: WebmDemuxEvent[]): void {
    const waiting = this.waiting!;
    const video = waiting.tracks.video!;
    const sets = frame.track === 'video' && frame.key ? findParameterSets(frame.data) : null;
    if (!sets) {
      // A picture before the first keyframe cannot be decoded anyway; sound waits.
      if (frame.track === 'audio') waiting.held.push(frame);
      if (++waiting.seen > MAX_HELD_FRAMES) throw new WebmError('WEBM_MALFORMED', `H.264 without parameter sets (SPS, PPS) in its first ${MAX_HELD_FRAMES} frames, nor a CodecPrivate`, this.parser.bytesRead);
      return;
    }
    this.waiting = null;
    out.push({ kind: 'tracks', tracks: { ...waiting.tracks, video: { ...video, codec: avcCodecOf(sets.sps[0]!, this.parser.bytesRead) } } });
    for (const held of waiting.held) out.push({ kind: 'frame', frame: held });
    out.push({ kind: 'frame', frame });
  }

  private tracksOf(list: WebmTrack[]): Tracks {
    let video: VideoTrack | null = null;
    let audio: AudioTrack | null = null;
    for (const t of list) {
      if (t.type === 'video' && !video) {
        const avc = t.codecId === AVC;
        // (H.264 with an avcC: its codec string from there; without, AVC until the first keyframe tells.)
        const codec = avc ? (t.codecPrivate ? avcCodecOf(t.codecPrivate, this.parser.bytesRead) : AVC) : VIDEO_CODECS[t.codecId];
        if (!codec) throw new WebmError('WEBM_UNSUPPORTED', `video codec ${t.codecId.slice(0, 40)} (this server takes VP8, VP9, AV1 and H.264 in WebM or Matroska)`, this.parser.bytesRead);
        if (!t.width || !t.height) throw new WebmError('WEBM_MALFORMED', `video track ${t.number} without its picture size`, this.parser.bytesRead);
        video = { kind: 'video', codec, width: t.width, height: t.height, ...(avc && t.codecPrivate ? { description: t.codecPrivate } : {}) };
        this.numbers.set(t.number, 'video');
      } else if (t.type === 'audio' && !audio) {
        if (t.codecId !== 'A_OPUS') throw new WebmError('WEBM_UNSUPPORTED', `audio codec ${t.codecId.slice(0, 40)} (this server takes Opus in WebM)`, this.parser.bytesRead);
        audio = { kind: 'audio', codec: 'opus', sampleRate: Math.round(t.sampleRate ?? 48_000), channels: t.channels ?? 1, description: t.codecPrivate };
        this.numbers.set(t.number, 'audio');
      }
    }
    if (!video && !audio) throw new WebmError('WEBM_UNSUPPORTED', 'a stream with neither video nor audio', this.parser.bytesRead);
    return { video, audio };
  }
}

/** The codec string of an avcC CodecPrivate or an SPS; a clear error when it is neither. */
function avcCodecOf(spsOrAvcC: Uint8Array, at: number): string {
  try {
    return avcCodecString(spsOrAvcC);
  } catch (err) {
    throw new WebmError('WEBM_MALFORMED', `H.264 parameter sets: ${(err as Error).message}`, at);
  }
}
