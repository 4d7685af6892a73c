// Streams a MediaStream to the server with MediaRecorder: WebM (or fragmented MP4) chunks, in order, each in a binary
// frame with a sequence number and the capture time of the stream's media time 0, from which
// viewers know when each frame was captured. One instance per stream; a reconnect starts a new one.
// Where the browser records WebM, picture and sound go in two recorders (the sound's frames flagged
// AUDIO), pulled every 10 ms: in one recorder each video frame waits for the next Opus packet
// (53 ms p50, 85 ms p99 on Chromium: MEDIA-NOTES); apart, a frame leaves ~17 ms (VP8) after it was
// painted. The server puts the two on one timeline from each recorder's start.
// When the network falls behind, what it cannot take is dropped, not queued (cluster-skipper.ts):
// the rest of the Cluster being sent goes, then nothing up to a Cluster with a video keyframe.
import { FLAG_AUDIO, FRAME_KIND_MEDIA, FRESH_KEYFRAME_MS, encodeFrame } from '../../shared/protocol.ts';
import { localNow } from '../common/clock.ts';
import { SendLog } from '../../shared/send-log.ts';
import { ClusterSkipper } from '../../media/webm/cluster-skipper.ts';

/** Media waiting in the socket longer than this means the network is behind: drop rather than queue. */
export const MAX_BACKLOG_MS = 500;
/** …and once dropping, go on only when the socket holds less than this (about 0.2 s at 2.5 Mbit/s). */
export const RESUME_BACKLOG_BYTES = 64 * 1024;

/**
 * Types in order of preference: WebM (every browser but Safari before 18.4), else fragmented MP4
 * (Safari 14.5–18.3 and WebKit record only that; the server reads both and serves every viewer).
 */
const TYPES_AV = ['video/webm;codecs=vp8,opus', 'video/webm;codecs=vp9,opus', 'video/webm', 'video/mp4;codecs=avc1,mp4a.40.2', 'video/mp4'];
/**
 * A picture alone: H.264 in Matroska first where offered (Chromium: a frame leaves the recorder 6 ms
 * after it was painted, p50, against 17 for VP8, at a fifth of VP8's CPU; the server reads it into
 * frames and serves every viewer, so no viewer ever sees Matroska).
 */
const TYPES_V = ['video/x-matroska;codecs=avc1', 'video/webm;codecs=vp8', 'video/webm;codecs=vp9', 'video/webm', 'video/mp4;codecs=avc1', 'video/mp4'];

/** The sound's own recorder, where picture and sound are recorded apart. */
const AUDIO_TYPE = 'audio/webm;codecs=opus';

/** How often MediaRecorder hands over a chunk, ms (a hint to the browser); see docs/latency.md. */
export const DEFAULT_TIMESLICE_MS = 20;
/** Two recorders are pulled (`requestData()`) this often, ms: a timeslice always costs a frame. */
export const PULL_MS = 10;
/** Asked-for keyframe spacing, so late joiners and jumps to live start quickly (honoured by Chrome). */
export const DEFAULT_KEYFRAME_INTERVAL_MS = 1000;

/** Thrown when this browser cannot record anything the viewers can play. */
export class UnsupportedRecorderError extends Error {
  override name = 'UnsupportedRecorderError';
}

/** The type to record, or an error that says what to do instead. `codec`: the picture's codec asked for (`vp8`: not H.264 in Matroska). */
export function chooseMimeType(withAudio: boolean, codec: 'auto' | 'h264' | 'vp8' = 'auto'): string {
  if (typeof MediaRecorder === 'undefined') throw new UnsupportedRecorderError('This browser has no MediaRecorder: use a current Chrome, Firefox or Safari (14.5 or later).');
  const types = (withAudio ? TYPES_AV : TYPES_V).filter((t) => codec !== 'vp8' || !t.startsWith('video/x-matroska'));
  const found = types.find((t) => MediaRecorder.isTypeSupported(t));
  if (found) return found;
  throw new UnsupportedRecorderError('This browser cannot record WebM or MP4 video: use a current Chrome, Firefox or Safari (14.5 or later).');
}

/** The type of a separate sound recorder beside a WebM picture (`videoType`), or null where the two go in one recorder. */
export function splitAudioType(videoType: string, withAudio: boolean): string | null {
  return withAudio && containerOf(videoType) === 'webm' && MediaRecorder.isTypeSupported(AUDIO_TYPE) ? AUDIO_TYPE : null;
}

/** The stream `format` of a recorded type. */
export function containerOf(mimeType: string): 'webm' | 'mp4' {
  return mimeType.startsWith('video/mp4') || mimeType.startsWith('audio/mp4') ? 'mp4' : 'webm';
}

export interface RecorderStreamEvents {
  /** Bytes handed to the socket, for the bitrate display. */
  sent(bytes: number): void;
  error(message: string): void;
}

export interface RecorderSettings {
  /** The picture's codec: `auto` (H.264 where offered in Matroska, else VP8), or `vp8`. */
  codec: 'auto' | 'h264' | 'vp8';
  videoBitsPerSecond: number;
  timesliceMs: number;
  keyframeIntervalMs: number;
}

const DEFAULT_SETTINGS: RecorderSettings = { codec: 'auto', videoBitsPerSecond: 2_500_000, timesliceMs: DEFAULT_TIMESLICE_MS, keyframeIntervalMs: DEFAULT_KEYFRAME_INTERVAL_MS };

/** What the camera has recorded but the network has not taken yet. */
export interface Backlog {
  /** Bytes waiting in the socket plus chunks still being read from the recorder. */
  bytes: number;
  /** Age of the oldest media not yet sent, ms (0 when nothing waits). */
  ms: number;
}

/** One MediaRecorder of the stream, with when its media time 0 was captured. */
class Recording {
  readonly recorder: MediaRecorder;
  /** When media time 0 was captured (this page's clock): recording start, moved on by pauses. */
  epoch = 0;
  private pausedAt: number | null = null;
  /** Its chunks in order (arrayBuffer() resolves asynchronously). */
  chain: Promise<void> = Promise.resolve();

  constructor(
    stream: MediaStream,
    options: MediaRecorderOptions,
    /** The sound-only recorder (its frames are flagged AUDIO; it is never dropped from). */
    readonly audio: boolean,
  ) {
    this.recorder = new MediaRecorder(stream, options);
  }

  start(timesliceMs?: number): void {
    // The first frame recorded (timestamp 0) is the first one captured after this.
    this.epoch = localNow();
    this.recorder.start(timesliceMs);
  }

  pause(): void {
    if (this.recorder.state !== 'recording') return;
    this.recorder.pause();
    this.pausedAt = localNow();
  }

  resume(): void {
    if (this.recorder.state !== 'paused') return;
    this.recorder.resume();
    // Timestamps leave out the time spent paused: media time 0 moves on by as much.
    if (this.pausedAt !== null) this.epoch += localNow() - this.pausedAt;
    this.pausedAt = null;
  }

  stop(): void {
    this.recorder.ondataavailable = null;
    if (this.recorder.state !== 'inactive') this.recorder.stop();
  }
}

/** One MediaRecorder stream over the socket (picture and sound in one recorder, or in two). */
export class RecorderStream {
  /** The picture's recorder (with the sound, unless it has its own), then the sound's. */
  private readonly recordings: Recording[];
  private seq = 0;
  private stopped = false;
  private pullTimer: ReturnType<typeof setInterval> | null = null;
  /** Chunks handed over by the recorder but not yet given to the socket: [time, bytes]. */
  private reading: [number, number][] = [];
  /** Chunks given to the socket, by when they were given. */
  private readonly sendLog = new SendLog();
  private readonly skipper = new ClusterSkipper(FRESH_KEYFRAME_MS);
  readonly mimeType: string;
  /** The sound's own recorder's type; null when the sound (if any) is in the picture's recorder. */
  readonly audioMimeType: string | null;
  /** It records fragmented MP4 (else WebM). */
  private readonly mp4: boolean;
  readonly settings: RecorderSettings;

  constructor(
    stream: MediaStream,
    private readonly send: (frame: Uint8Array) => boolean,
    /** Bytes the socket still holds. */
    private readonly socketBuffered: () => number,
    private readonly events: Partial<RecorderStreamEvents>,
    settings: Partial<RecorderSettings> = {},
  ) {
    this.settings = { ...DEFAULT_SETTINGS, ...settings };
    const withAudio = stream.getAudioTracks().length > 0;
    const together = chooseMimeType(withAudio, this.settings.codec);
    const videoOnly = withAudio && containerOf(together) === 'webm' ? chooseMimeType(false, this.settings.codec) : together;
    this.audioMimeType = withAudio ? splitAudioType(videoOnly, withAudio) : null;
    this.mimeType = this.audioMimeType ? videoOnly : together;
    this.mp4 = containerOf(this.mimeType) === 'mp4';
    // videoKeyFrameIntervalDuration is a Chrome extension; other browsers ignore it.
    const options = {
      mimeType: this.mimeType,
      videoBitsPerSecond: this.settings.videoBitsPerSecond,
      audioBitsPerSecond: 64_000,
      videoKeyFrameIntervalDuration: this.settings.keyframeIntervalMs,
    } as MediaRecorderOptions;
    const picture = this.audioMimeType ? new MediaStream(stream.getVideoTracks()) : stream;
    this.recordings = [new Recording(picture, options, false)];
    if (this.audioMimeType) this.recordings.push(new Recording(new MediaStream(stream.getAudioTracks()), { mimeType: this.audioMimeType, audioBitsPerSecond: 64_000 }, true));
    for (const r of this.recordings) {
      r.recorder.ondataavailable = (e) => this.onData(r, e.data);
      r.recorder.onerror = (e) => this.events.error?.(`recorder error: ${(e as ErrorEvent).message ?? 'unknown'}`);
    }
  }

  /** Starts recording. */
  start(): void {
    if (this.recordings.length === 1) {
      this.recordings[0]!.start(this.settings.timesliceMs);
      return;
    }
    // The timeslice too: a hidden page's timers run once a second or less, its recorders' slices do not.
    for (const r of this.recordings) r.start(this.settings.timesliceMs);
    this.pullTimer = setInterval(() => {
      for (const r of this.recordings) if (r.recorder.state === 'recording') r.recorder.requestData();
    }, PULL_MS);
  }

  /** Pauses recording (viewers keep the last picture). */
  pause(): void {
    // What was recorded up to now goes with the timestamps it has (after the pause, media time 0 moves).
    if (this.pullTimer) for (const r of this.recordings) if (r.recorder.state === 'recording') r.recorder.requestData();
    for (const r of this.recordings) r.pause();
  }

  resume(): void {
    for (const r of this.recordings) r.resume();
  }

  get paused(): boolean {
    return this.recordings[0]!.recorder.state === 'paused';
  }

  /** Stops recording and sending for good. */
  stop(): void {
    this.stopped = true;
    if (this.pullTimer) clearInterval(this.pullTimer);
    this.pullTimer = null;
    for (const r of this.recordings) r.stop();
  }

  /** Video frames dropped because the network was behind, and whether it is dropping now. */
  get dropped(): { frames: number; now: boolean } {
    return { frames: this.skipper.droppedFrames, now: this.skipper.dropping };
  }

  /** The backlog, given how many bytes the socket still holds. */
  backlog(socketBuffered: number): Backlog {
    const sent = this.sendLog.oldest(socketBuffered);
    const oldest = this.reading[0]?.[0] ?? sent;
    const readingBytes = this.reading.reduce((n, [, b]) => n + b, 0);
    return { bytes: socketBuffered + readingBytes, ms: oldest === null ? 0 : Math.max(0, localNow() - oldest) };
  }

  private onData(r: Recording, blob: Blob): void {
    if (blob.size === 0 || this.stopped) return;
    const handedOver = localNow();
    const epoch = r.epoch;
    const entry: [number, number] = [handedOver, blob.size];
    this.reading.push(entry);
    // One promise chain per recorder keeps its chunks in order even though arrayBuffer() resolves asynchronously.
    r.chain = r.chain
      .then(async () => {
        const recorded = new Uint8Array(await blob.arrayBuffer());
        this.reading.splice(this.reading.indexOf(entry), 1);
        if (this.stopped) return;
        const buffered = this.socketBuffered();
        // The socket's backlog only: a page slow to read its recorder is not a slow network.
        const waiting = this.sendLog.oldest(buffered);
        const behind = this.skipper.dropping ? buffered > RESUME_BACKLOG_BYTES : waiting !== null && localNow() - waiting > MAX_BACKLOG_MS;
        // (MP4 is sent as it comes: its fragments are whole boxes; dropping in it is not done yet.
        // The sound's own recorder is small and never dropped from.)
        const bytes = this.mp4 || r.audio ? recorded : this.skipper.push(recorded, behind);
        if (bytes.byteLength === 0) return;
        const frame = encodeFrame({ kind: FRAME_KIND_MEDIA, flags: r.audio ? FLAG_AUDIO : 0, channel: 0, seq: this.seq, time: epoch }, bytes);
        if (!this.send(frame)) {
          // The socket is gone; the stream cannot continue without a gap.
          this.stop();
          return;
        }
        this.seq++;
        // Stamped when sent, so that its age is the socket's wait alone (see `behind` above).
        this.sendLog.add(localNow(), frame.byteLength);
        this.events.sent?.(bytes.byteLength);
      })
      .catch((err: unknown) => this.events.error?.(`could not read a recorded chunk: ${String(err)}`));
  }
}
