// Ingest of a WebCodecs camera: its `codec` messages become the period's tracks, its chunks become
// frames on the period's media timeline (from their capture times on the camera's clock).
import type { AudioTrack, Tracks, VideoTrack } from '../../media/frames.ts';
import { opusPacketDuration } from '../../media/opus.ts';
import { FLAG_AUDIO, FLAG_KEY, ProtocolError } from '../../shared/protocol.ts';
import type { AudioCodecConfig, VideoCodecConfig } from '../../shared/schemas.ts';
import type { Camera } from '../core/camera.ts';

/**
 * A camera that announced sound gets this long (of its video, ms) for its audio setup to come
 * before the period starts without it (an audio encoder that failed must not keep the picture away).
 */
const AUDIO_SETUP_WAIT_MS = 1000;
/**
 * Media time 0 is this long (ms) before the period's first frame: sound captured a little before the
 * first picture still has a place on the timeline (muxers take no negative times).
 */
const TIMELINE_HEADROOM_MS = 1000;
/** A frame more than this far (µs) behind the previous one of its track means the camera's clock stepped back: the timeline moves on instead. */
const CLOCK_STEP_US = 1_000_000;
/**
 * Sound is timed by its own samples: each Opus packet starts where the one before ended, as long as
 * that stays this close (µs) to its capture stamp (a camera's audio clock is re-anchored now and
 * then, which makes the stamps jump by tens of ms; MSE turns such jumps into gaps and overlaps).
 * A stamp later than that (packets lost, a pause) starts it again from the stamp; sound never goes back.
 */
const AUDIO_RESYNC_US = 150_000;

/** One chunk stream of a camera connection, from its `stream` message to the next. */
export class ChunkIngest {
  private video: VideoTrack | null = null;
  private audio: AudioTrack | null = null;
  /** A period has started (the tracks it needs are set up). */
  private started = false;
  /** The camera-clock capture time (ms) of the media timeline's 0; null before the first frame. */
  private origin: number | null = null;
  /** Camera-clock time of the first video chunk that had to wait for the audio setup. */
  private waitingSince: number | null = null;
  /** The media time (µs) of each track's previous frame. */
  private readonly last = { video: -Infinity, audio: -Infinity };
  /** The camera-clock capture time of the previous chunk. */
  private lastStamp: number | null = null;
  /** Where the next audio packet starts on the timeline (µs), when the previous one's length was known. */
  private nextAudio: number | null = null;

  constructor(
    private readonly camera: Camera,
    /** The camera said its stream has sound. */
    private readonly expectAudio: boolean,
  ) {}

  /** New decoder setup for a track (before its first chunk and whenever it changes). */
  codec(update: { video?: VideoCodecConfig | undefined; audio?: AudioCodecConfig | undefined }): void {
    if (!update.video && !update.audio) throw new ProtocolError('BAD_MESSAGE', 'a "codec" message names a video or an audio codec');
    if (update.video) this.video = { kind: 'video', codec: update.video.codec, width: update.video.width, height: update.video.height, description: bytes(update.video.description) };
    if (update.audio) this.audio = { kind: 'audio', codec: update.audio.codec, sampleRate: update.audio.sampleRate, channels: update.audio.channels, description: bytes(update.audio.description) };
    // The first period starts once every announced track is set up; a change later is a new period
    // (viewers start their decoders over).
    if (this.started || (this.video && (this.audio || !this.expectAudio))) this.startPeriodIfChanged();
  }

  /**
   * One chunk. `cameraTime`: its capture time on the camera's clock (ms); `time`: the same on the
   * server's clock (0 = unknown). Throws ProtocolError for a chunk of a track without a setup.
   */
  push(payload: Uint8Array, flags: number, cameraTime: number, time: number): void {
    const track = (flags & FLAG_AUDIO) !== 0 ? 'audio' : 'video';
    if (!(track === 'audio' ? this.audio : this.video)) throw new ProtocolError('WRONG_ORDER', `an ${track} chunk before its codec`);
    // A camera page always stamps its chunks; one that does not (0) is taken as captured with the
    // chunk before it (or dropped, when it is the first), so it cannot move the timeline by decades.
    if (cameraTime <= 0) cameraTime = this.lastStamp ?? 0;
    if (cameraTime <= 0) return;
    this.lastStamp = cameraTime;
    if (!this.started && !this.startWithoutAudio(track, cameraTime)) return;
    this.origin ??= cameraTime - TIMELINE_HEADROOM_MS;
    const origin = this.origin;
    let at = Math.round((cameraTime - origin) * 1000);
    const last = this.last[track];
    if (at <= last) {
      // A muxer needs times that go forward. A small step back (a camera re-anchoring its audio
      // clock, jitter) is moved just after the previous frame; a big one is the camera's clock
      // stepping back, and the whole timeline moves on by as much.
      if (last - at > CLOCK_STEP_US) this.origin = origin - (last - at) / 1000;
      at = last + 1;
    }
    let duration = 0;
    if (track === 'audio' && this.audio?.codec === 'opus') {
      duration = opusPacketDuration(payload);
      if (this.nextAudio !== null && at - this.nextAudio <= AUDIO_RESYNC_US) at = Math.max(this.nextAudio, last + 1);
      this.nextAudio = duration > 0 ? at + duration : null;
    }
    if (at < 0) return;
    this.last[track] = at;
    this.camera.push({ track, key: track === 'audio' || (flags & FLAG_KEY) !== 0, timestamp: at, duration, data: payload, time });
  }

  /** A camera that announced sound but has not set it up after a while starts without it; false while it waits. */
  private startWithoutAudio(track: 'video' | 'audio', cameraTime: number): boolean {
    if (track === 'video') this.waitingSince ??= cameraTime;
    if (this.waitingSince === null || cameraTime - this.waitingSince < AUDIO_SETUP_WAIT_MS) return false;
    this.startPeriodIfChanged();
    return true;
  }

  private startPeriodIfChanged(): void {
    const tracks: Tracks = { video: this.video, audio: this.audio };
    if (!this.started || this.camera.differs(tracks)) this.camera.startPeriod(tracks);
    this.started = true;
  }
}

function bytes(base64: string | undefined): Uint8Array | undefined {
  return base64 === undefined ? undefined : new Uint8Array(Buffer.from(base64, 'base64'));
}
