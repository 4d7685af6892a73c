// A live WebM stream (a camera's MediaRecorder) as the project's one media form: tracks with what a
// decoder needs, and frames with their timestamps. Built on the incremental parser (frames mode).
// Codec IDs: https://www.matroska.org/technical/codec_specs.html
// Pure code: no Node or DOM imports.
import type { AudioTrack, MediaFrame, Tracks, VideoTrack } from '../frames.ts';
import { WebmError } from './errors.ts';
import { WebmParser, type WebmLimits, type WebmTrack } from './webm-parser.ts';

/** What the demuxer found, in stream order. */
export type WebmDemuxEvent = { kind: 'tracks'; tracks: Tracks } | { kind: 'frame'; frame: MediaFrame };

/** WebCodecs codec strings of the video codecs a browser records in WebM (profile and level unknown: the common ones). */
const VIDEO_CODECS: Record<string, string> = { V_VP8: 'vp8', V_VP9: 'vp09.00.10.08', V_AV1: 'av01.0.04M.08' };

/** Incremental WebM demuxer: push bytes as they arrive, get tracks and frames. Throws WebmError. */
export class WebmDemuxer {
  private readonly parser: WebmParser;
  /** Track numbers in blocks → which of ours; tracks of other kinds are left out. */
  private readonly numbers = new Map<number, 'video' | 'audio'>();

  constructor(limits?: Partial<Omit<WebmLimits, 'frames'>>) {
    this.parser = new WebmParser({ ...limits, frames: true });
  }

  get bytesRead(): number {
    return this.parser.bytesRead;
  }

  push(bytes: Uint8Array): WebmDemuxEvent[] {
    const out: WebmDemuxEvent[] = [];
    for (const e of this.parser.push(bytes)) {
      if (e.kind === 'tracks') out.push({ kind: 'tracks', tracks: this.tracksOf(e.tracks) });
      else if (e.kind === 'frame') {
        const track = this.numbers.get(e.track);
        if (!track) continue;
        const timestamp = Math.round(e.time * 1000);
        out.push({ kind: 'frame', frame: { track, key: track === 'audio' || e.keyframe, timestamp, duration: e.duration === undefined ? 0 : Math.round(e.duration * 1000), data: e.data } });
      }
    }
    return out;
  }

  private tracksOf(list: WebmTrack[]): Tracks {
    let video: VideoTrack | null = null;
    let audio: AudioTrack | null = null;
    for (const t of list) {
      if (t.type === 'video' && !video) {
        const codec = VIDEO_CODECS[t.codecId];
        if (!codec) throw new WebmError('WEBM_UNSUPPORTED', `video codec ${t.codecId.slice(0, 40)} (this server takes VP8, VP9 and AV1 in WebM)`, this.parser.bytesRead);
        if (!t.width || !t.height) throw new WebmError('WEBM_MALFORMED', `video track ${t.number} without its picture size`, this.parser.bytesRead);
        video = { kind: 'video', codec, width: t.width, height: t.height };
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
