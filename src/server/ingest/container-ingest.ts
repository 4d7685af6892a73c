// Ingest of a MediaRecorder camera: its container bytes (WebM, or fragmented MP4 from Safari and
// WebKit) demuxed into the period's tracks and frames. The recorder's media time is the period's
// timeline; each chunk says when its media time 0 was captured.
import type { MediaFrame, Tracks } from '../../media/frames.ts';
import { Fmp4Demuxer } from '../../media/mp4/fmp4-demuxer.ts';
import { WebmDemuxer } from '../../media/webm/webm-demuxer.ts';
import type { Camera } from '../core/camera.ts';

/** A demuxer of one container: bytes in, tracks and frames out; throws its own coded error on bad input. */
export interface Demuxer {
  push(bytes: Uint8Array): ({ kind: 'tracks'; tracks: Tracks } | { kind: 'frame'; frame: MediaFrame })[];
}

/** One MediaRecorder stream of a camera connection, from its `stream` message to the next. */
export class ContainerIngest {
  private started = false;
  /** The previous frame's timestamp on each track (µs). */
  private readonly last = { video: -1, audio: -1 };

  constructor(
    private readonly camera: Camera,
    private readonly demuxer: Demuxer,
  ) {}

  /** A WebM stream. */
  static webm(camera: Camera): ContainerIngest {
    return new ContainerIngest(camera, new WebmDemuxer());
  }

  /** A fragmented MP4 stream (Safari, WebKit, Chromium's `video/mp4`). */
  static mp4(camera: Camera): ContainerIngest {
    return new ContainerIngest(camera, new Fmp4Demuxer());
  }

  /** The next bytes; `time`: the capture time of the stream's media time 0 on the server's clock (ms; 0 = unknown). Returns how many frames they held. */
  push(bytes: Uint8Array, time: number): number {
    const events = this.demuxer.push(bytes);
    for (const e of events) {
      if (e.kind === 'tracks') {
        // The first Tracks, or a new moov with other tracks: a new period.
        if (!this.started || this.camera.differs(e.tracks)) this.camera.startPeriod(e.tracks);
        this.started = true;
      } else if (this.started) {
        const f = e.frame;
        // Muxers need times that go forward on each track and are not negative: a recorder's
        // odd timestamp is moved just after the previous frame rather than stopping the muxed forms.
        const last = this.last[f.track];
        const timestamp = Math.max(0, f.timestamp <= last ? last + 1 : f.timestamp);
        this.last[f.track] = timestamp;
        this.camera.push({ ...f, timestamp, time: time > 0 ? time + timestamp / 1000 : 0 });
      }
    }
    return events.length;
  }
}
