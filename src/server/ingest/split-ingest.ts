// Ingest of a MediaRecorder camera that records its picture and its sound in two recorders, each a
// WebM stream of its own. In one recorder, Opus holds every video frame back until the next sound
// packet (WebM interleaves by time, Opus packets are 60 ms): 53 ms p50 / 85 ms p99 before anything
// else (MEDIA-NOTES). Two recorders hand each frame over as soon as it is encoded; this puts their
// frames on one timeline again, from when each recorder's media time 0 was captured.
import type { AudioTrack, MediaFrame, Tracks, VideoTrack } from '../../media/frames.ts';
import { WebmDemuxer } from '../../media/webm/webm-demuxer.ts';
import type { Camera, CoreFrame } from '../core/camera.ts';

/** The period starts without sound when the sound recorder has not said what it records after this much video (µs). */
const AUDIO_SETUP_WAIT_US = 1_000_000;
/** Media time 0 is this long (ms) before the first recorder's: the other may have started a little earlier. */
const TIMELINE_HEADROOM_MS = 1000;
/** Frames held while the period waits for both tracks' setup, at most (about a second of video and sound). */
const MAX_PENDING_FRAMES = 200;

type Track = 'video' | 'audio';

/** One split MediaRecorder stream of a camera connection, from its `stream` message to the next. */
export class SplitIngest {
  private readonly demuxers: Record<Track, WebmDemuxer> = { video: new WebmDemuxer(), audio: new WebmDemuxer() };
  private video: VideoTrack | null = null;
  private audio: AudioTrack | null = null;
  private started = false;
  /** Camera-clock capture time (ms) of the timeline's 0; null before the first media. */
  private origin: number | null = null;
  /** The previous frame's time on the timeline, per track (µs). */
  private readonly last: Record<Track, number> = { video: -1, audio: -1 };
  /** Frames that came before the period could start, in order. */
  private pending: { frame: MediaFrame; track: Track; epoch: number; time: number }[] = [];
  private firstVideo: number | null = null;

  constructor(private readonly camera: Camera) {}

  /**
   * The next bytes of one recorder. `epoch`: the capture time of that recorder's media time 0 on
   * the camera's clock (ms; 0 = unknown); `time`: the same on the server's clock (0 = unknown).
   * Returns how many frames the bytes held.
   */
  push(track: Track, bytes: Uint8Array, epoch: number, time: number): number {
    if (epoch > 0) this.origin ??= epoch - TIMELINE_HEADROOM_MS;
    const events = this.demuxers[track].push(bytes);
    for (const e of events) {
      if (e.kind === 'tracks') {
        // Each recorder's Tracks name its own track only.
        if (track === 'video' && e.tracks.video) this.video = e.tracks.video;
        if (track === 'audio' && e.tracks.audio) this.audio = e.tracks.audio;
        if (this.started) this.startPeriodIfChanged();
        else if (this.video && this.audio) this.start();
      } else if (e.frame.track === track) {
        if (this.started) this.take(e.frame, track, epoch, time);
        else this.hold(e.frame, track, epoch, time);
      }
    }
    return events.length;
  }

  /** A frame before the period can start: kept (the first keyframe must not be lost), until the sound's setup is given up on. */
  private hold(frame: MediaFrame, track: Track, epoch: number, time: number): void {
    this.pending.push({ frame, track, epoch, time });
    if (track === 'video') this.firstVideo ??= frame.timestamp;
    const waited = track === 'video' && this.firstVideo !== null && frame.timestamp - this.firstVideo >= AUDIO_SETUP_WAIT_US;
    if (this.video && (waited || this.pending.length >= MAX_PENDING_FRAMES)) this.start();
    else if (this.pending.length > MAX_PENDING_FRAMES) this.pending.shift();
  }

  private start(): void {
    this.startPeriodIfChanged();
    const held = this.pending;
    this.pending = [];
    for (const p of held) if (p.track === 'video' || this.audio) this.take(p.frame, p.track, p.epoch, p.time);
  }

  private startPeriodIfChanged(): void {
    const tracks: Tracks = { video: this.video, audio: this.audio };
    if (!this.started || this.camera.differs(tracks)) this.camera.startPeriod(tracks);
    this.started = true;
  }

  /** A frame on the common timeline. */
  private take(frame: MediaFrame, track: Track, epoch: number, time: number): void {
    const origin = this.origin ?? 0;
    // A recorder whose start is unknown (0) is taken as starting with the timeline's headroom.
    const offset = Math.round(((epoch > 0 ? epoch : origin + TIMELINE_HEADROOM_MS) - origin) * 1000);
    // Muxers need times that go forward on each track and are not negative.
    const last = this.last[track];
    const timestamp = Math.max(0, frame.timestamp + offset <= last ? last + 1 : frame.timestamp + offset);
    this.last[track] = timestamp;
    const core: CoreFrame = { ...frame, timestamp, time: time > 0 ? time + frame.timestamp / 1000 : 0 };
    this.camera.push(core);
  }
}
