// Streams a MediaStream to the server with WebCodecs: each camera frame goes through a VideoEncoder
// configured for live use, the microphone through an Opus AudioEncoder, and every encoded chunk is
// sent at once in its own binary frame, stamped with its capture time. The decoders' setup goes as
// a `codec` message before the first chunk of each track and whenever it changes. Frames are
// skipped, never queued, while the encoder or the socket is behind. One instance per stream.
import { FLAG_AUDIO, FLAG_KEY, FRAME_KIND_CHUNK, encodeFrame } from '../../shared/protocol.ts';
import type { CameraMessage } from '../../shared/schemas.ts';
import { localNow } from '../common/clock.ts';
import { readAudioData, readVideoFrames, type FrameReader, type VideoReadMethod } from './media-frames.ts';
import { SendLog } from '../../shared/send-log.ts';

/** Which video codec to use: H.264 where this browser can encode it, else VP8 (`auto`), or one of them. */
export type CodecChoice = 'auto' | 'h264' | 'vp8';

export interface WebCodecsSettings {
  codec: CodecChoice;
  /** Target video bitrate, bits per second. */
  videoBitsPerSecond: number;
  /** Frames per second sent at most. */
  fps: number;
  /** A keyframe at least this often (a safety net; viewers ask for one when they need it). */
  keyframeIntervalMs: number;
  /** Report an encoder too slow for live use (see `slow`); off when the link named the codec. */
  judgeSpeed: boolean;
  /** Forces how frames are read (for tests). */
  readMethod?: VideoReadMethod | undefined;
}

/** Periodic keyframe spacing when the link does not set one. */
export const DEFAULT_CHUNK_KEYFRAME_INTERVAL_MS = 2000;
/** Frames waiting in the encoder beyond which new ones are skipped (MEDIA-NOTES). */
const MAX_ENCODE_QUEUE = 2;
/** Bytes waiting in the socket beyond which video frames are skipped (about 0.25 s at 2 Mbit/s; audio keeps flowing). */
const MAX_SOCKET_BACKLOG = 64 * 1024;
/** Capture times kept for frames inside the encoder, at most. */
const MAX_IN_FLIGHT = 64;
/**
 * An encoder whose output comes this much later than its input is too slow for live use (Firefox's
 * H.264 encoder holds ~1.7 s of frames whatever the latency mode, while reporting an empty queue):
 * judged on the median of the frames after the first few.
 */
const SLOW_ENCODER_MS = 250;
const SLOW_JUDGE_AFTER = 10;
const SLOW_JUDGE_FRAMES = 30;

/**
 * WebKit's VideoEncoder fails ("Encoding failed", on the first frame) on VideoFrames made from a
 * <video>, and encodes those made from a canvas. Learnt once per page from the first failure, when
 * the encoder has given nothing yet: later streams (after a reconnect) read through a canvas from the
 * start. No browser is told apart by name, and one whose encoder takes the <video>'s frames (Firefox)
 * never pays for the copy.
 */
let videoElementFramesRefused = false;
let mediaStackPrimed = false;

/**
 * Call before the page's first WebCodecs call. In WebKitGTK 2.50 a page process whose first media
 * call was a WebCodecs one (e.g. VideoEncoder.isConfigSupported) crashed now and then; asking
 * MediaSource a question first (which sets up WebKit's media engine) avoided it. Synchronous, cheap
 * and harmless in every browser; does its work once per page.
 */
export function primeMediaStack(): void {
  if (mediaStackPrimed) return;
  mediaStackPrimed = true;
  try {
    if (typeof MediaSource !== 'undefined') MediaSource.isTypeSupported('video/mp4');
  } catch {
    // Nothing to prime.
  }
}

/** True when this browser can encode video with WebCodecs. */
export function webCodecsAvailable(): boolean {
  return typeof VideoEncoder !== 'undefined' && typeof VideoFrame !== 'undefined' && typeof EncodedVideoChunk !== 'undefined';
}

/** A default bitrate for a picture size (bits per second). */
export function defaultBitrate(width: number, height: number): number {
  const pixels = width * height;
  return pixels <= 640 * 480 ? 1_200_000 : pixels <= 1280 * 720 ? 2_500_000 : 4_000_000;
}

/** H.264 Constrained Baseline at a level that fits the picture (3.1 up to 720p30, else 4.0). */
function h264Codec(width: number, height: number): string {
  return width * height <= 1280 * 720 ? 'avc1.42e01f' : 'avc1.42e028';
}

/** The encoder setup for this browser, or null when it can encode none of the codecs asked for. */
export async function chooseVideoConfig(choice: CodecChoice, width: number, height: number, fps: number, bitrate: number): Promise<VideoEncoderConfig | null> {
  // The camera page's first WebCodecs call.
  primeMediaStack();
  const base = { width, height, bitrate, framerate: fps, latencyMode: 'realtime', hardwareAcceleration: 'no-preference' } as const;
  const candidates: VideoEncoderConfig[] = [];
  // Annex B keeps SPS/PPS in every keyframe, so any keyframe can start a decoder (no `description`).
  if (choice !== 'vp8') candidates.push({ ...base, codec: h264Codec(width, height), avc: { format: 'annexb' } });
  if (choice !== 'h264') candidates.push({ ...base, codec: 'vp8' });
  for (const config of candidates) {
    try {
      const { supported } = await VideoEncoder.isConfigSupported(config);
      if (supported) return config;
    } catch {
      // Not this one.
    }
  }
  return null;
}

/** The Opus setup for an audio track, or null when this browser cannot encode it. */
async function chooseAudioConfig(track: MediaStreamTrack): Promise<AudioEncoderConfig | null> {
  if (typeof AudioEncoder === 'undefined' || typeof AudioData === 'undefined') return null;
  const s = track.getSettings();
  const config: AudioEncoderConfig = { codec: 'opus', sampleRate: s.sampleRate ?? 48_000, numberOfChannels: Math.min(2, s.channelCount ?? 1), bitrate: 64_000 };
  try {
    return (await AudioEncoder.isConfigSupported(config)).supported ? config : null;
  } catch {
    return null;
  }
}

export interface WebCodecsEvents {
  /** Bytes handed to the socket, for the bitrate display. */
  sent(bytes: number): void;
  /** The stream cannot go on (an encoder failed); the page falls back to MediaRecorder. */
  failed(message: string): void;
  /** The video encoder holds frames far too long for live use (median delay, ms): the page tries another codec. */
  slow(codec: string, delayMs: number): void;
  /** A note for people (e.g. no audio encoder). */
  note(message: string): void;
}

/** What the page's socket offers this stream. */
export interface ChunkSocket {
  /** Sends a binary frame; false when the socket is gone. */
  sendBinary(frame: Uint8Array): boolean;
  sendJson(message: CameraMessage): void;
  readonly bufferedAmount: number;
}

/** Counters for the status line and tests. */
export interface ChunkStats {
  /** Video frames encoded and sent, and skipped because the encoder or the socket was behind. */
  encoded: number;
  skipped: number;
}

function base64(bytes: AllowSharedBufferSource | undefined): string | undefined {
  if (!bytes) return undefined;
  const u8 = ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
  let s = '';
  for (const b of u8) s += String.fromCharCode(b);
  return btoa(s);
}

/** One WebCodecs stream over the socket. */
export class WebCodecsStream {
  readonly stats: ChunkStats = { encoded: 0, skipped: 0 };
  /** Encoder delays of the first frames, to tell a codec too slow for live use. */
  private delays: number[] = [];
  private video: VideoEncoder | null = null;
  private audio: AudioEncoder | null = null;
  private videoReader: FrameReader | null = null;
  private audioReader: FrameReader | null = null;
  private seq = 0;
  /** Outputs of the current video encoder (before the page has a setup to announce too). */
  private videoOutputs = 0;
  private stopped = false;
  private paused = false;
  /** Nobody watches: frames are not encoded at all (a stream nobody needs costs nothing). */
  private idle = false;
  private wantKey = true;
  private lastKeyAt = -Infinity;
  private lastFrameAt = -Infinity;
  /** Capture time (this page's clock, ms) by frame timestamp (µs), for frames inside the encoder. */
  private readonly captured = new Map<number, number>();
  /** The audio clock anchored on this page's clock: [AudioData timestamp µs, capture time ms]. */
  private audioAnchor: [number, number] | null = null;
  /** The decoder setup last announced per track (as JSON), '' before the first. */
  private readonly announced = { video: '', audio: '' };
  private readonly sendLog = new SendLog();

  private constructor(
    private readonly media: MediaStream,
    private readonly socket: ChunkSocket,
    private readonly events: Partial<WebCodecsEvents>,
    private readonly settings: WebCodecsSettings,
    readonly videoConfig: VideoEncoderConfig,
    private audioConfig: AudioEncoderConfig | null,
  ) {}

  /** Negotiates codecs; null when this browser cannot encode the video (use MediaRecorder). */
  static async create(media: MediaStream, socket: ChunkSocket, events: Partial<WebCodecsEvents>, settings: WebCodecsSettings): Promise<WebCodecsStream | null> {
    const track = media.getVideoTracks()[0];
    if (!track || !webCodecsAvailable()) return null;
    const s = track.getSettings();
    const width = even(s.width ?? 1280);
    const height = even(s.height ?? 720);
    const videoConfig = await chooseVideoConfig(settings.codec, width, height, settings.fps, settings.videoBitsPerSecond);
    if (!videoConfig) return null;
    const audioTrack = media.getAudioTracks()[0];
    const audioConfig = audioTrack ? await chooseAudioConfig(audioTrack) : null;
    const stream = new WebCodecsStream(media, socket, events, settings, videoConfig, audioConfig);
    if (audioTrack && !audioConfig) events.note?.('This browser cannot encode Opus audio with WebCodecs: the stream has no sound.');
    return stream;
  }

  /** A short name of what is sent, e.g. "H.264 + Opus". */
  get description(): string {
    const video = this.videoConfig.codec.startsWith('avc1') ? 'H.264' : this.videoConfig.codec.toUpperCase();
    return this.audioConfig ? `${video} + Opus` : video;
  }

  /** Announces the stream and starts encoding. */
  async start(): Promise<void> {
    const { width, height } = this.videoConfig;
    this.socket.sendJson({ type: 'stream', format: 'chunks', width, height, fps: this.settings.fps, audio: this.audioConfig !== null });
    this.openVideoEncoder();
    this.readVideo(this.settings.readMethod ?? (videoElementFramesRefused ? 'canvas' : undefined));
    const audioTrack = this.media.getAudioTracks()[0];
    if (this.audioConfig && audioTrack) {
      this.audio = new AudioEncoder({
        output: (chunk, meta) => this.onAudio(chunk, meta),
        error: (e) => this.fail(`audio encoder: ${e.message}`),
      });
      try {
        const reader = await readAudioData(audioTrack, (data) => this.onAudioData(data));
        if (this.stopped) reader.stop();
        else this.audioReader = reader;
      } catch (err) {
        this.events.note?.(`Sound could not be captured: ${(err as Error).message}`);
      }
    }
  }

  private openVideoEncoder(): void {
    this.videoOutputs = 0;
    const encoder: VideoEncoder = new VideoEncoder({
      output: (chunk, meta) => this.onVideo(chunk, meta),
      // (Not one replaced meanwhile.)
      error: (e) => {
        if (encoder === this.video) this.onVideoError(e);
      },
    });
    encoder.configure(this.videoConfig);
    this.video = encoder;
  }

  private readVideo(method: VideoReadMethod | undefined): void {
    this.videoReader?.stop();
    this.videoReader = readVideoFrames(this.media.getVideoTracks()[0]!, (frame) => this.onFrame(frame), method);
  }

  /**
   * An encoder that fails before its first output on frames made from a <video> (WebKit) gets a new
   * encoder and frames through a canvas (see videoElementFramesRefused); any other failure ends the stream.
   */
  private onVideoError(e: DOMException): void {
    if (this.stopped) return;
    let message = e.message;
    if (this.videoOutputs === 0 && this.videoReader?.method === 'video-element' && this.settings.readMethod === undefined) {
      videoElementFramesRefused = true;
      if (this.video && this.video.state !== 'closed') this.video.close();
      this.captured.clear();
      this.wantKey = true;
      try {
        this.openVideoEncoder();
        this.readVideo('canvas');
        return;
      } catch (err) {
        message += `; through a canvas: ${(err as Error).message}`;
      }
    }
    this.fail(`video encoder: ${message}`);
  }

  /** Makes the next frame a keyframe (a viewer joins or lost one). */
  requestKeyframe(): void {
    this.wantKey = true;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wantKey = true;
  }

  /** Idles the encoders while nobody watches; the first frame after is a keyframe, for the viewer who came. */
  setIdle(idle: boolean): void {
    if (this.idle && !idle) this.wantKey = true;
    this.idle = idle;
  }

  get idling(): boolean {
    return this.idle;
  }

  /** Stops reading and encoding for good. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.videoReader?.stop();
    this.audioReader?.stop();
    for (const codec of [this.video, this.audio]) {
      if (codec && codec.state !== 'closed') codec.close();
    }
    this.captured.clear();
  }

  /** What is encoded but not yet on the network, given how many bytes the socket still holds. */
  backlog(socketBuffered: number): { bytes: number; ms: number } {
    const oldest = this.sendLog.oldest(socketBuffered);
    return { bytes: socketBuffered, ms: oldest === null ? 0 : Math.max(0, localNow() - oldest) };
  }

  private onFrame(frame: VideoFrame): void {
    const encoder = this.video;
    const now = localNow();
    try {
      if (this.stopped || this.paused || this.idle || !encoder || encoder.state !== 'configured') return;
      // Not faster than asked (a source may give more frames than the setting), with room for the
      // jitter of a source at the rate asked.
      if (now - this.lastFrameAt < (1000 / this.settings.fps) * 0.75) return;
      // Behind: skip this frame rather than queue it (the encoder's references stay intact).
      if (encoder.encodeQueueSize > MAX_ENCODE_QUEUE || this.socket.bufferedAmount > MAX_SOCKET_BACKLOG) {
        this.stats.skipped++;
        return;
      }
      this.lastFrameAt = now;
      const keyFrame = this.wantKey || now - this.lastKeyAt >= this.settings.keyframeIntervalMs;
      if (keyFrame) {
        this.wantKey = false;
        this.lastKeyAt = now;
      }
      this.captured.set(frame.timestamp, now);
      if (this.captured.size > MAX_IN_FLIGHT) this.captured.delete(this.captured.keys().next().value!);
      encoder.encode(frame, { keyFrame });
    } finally {
      frame.close();
    }
  }

  private onVideo(chunk: EncodedVideoChunk, meta: EncodedVideoChunkMetadata | undefined): void {
    if (this.stopped) return;
    this.videoOutputs++;
    const config = meta?.decoderConfig;
    if (config) this.announce('video', { codec: config.codec, width: config.codedWidth ?? this.videoConfig.width, height: config.codedHeight ?? this.videoConfig.height, description: base64(config.description) });
    const now = localNow();
    const time = this.captured.get(chunk.timestamp) ?? now;
    this.captured.delete(chunk.timestamp);
    if (!this.announced.video) {
      // No setup yet (a browser that gives it late): a viewer could not decode this; start at the next keyframe.
      this.wantKey = true;
      return;
    }
    this.judgeDelay(now - time);
    this.stats.encoded++;
    this.send(chunk, chunk.type === 'key' ? FLAG_KEY : 0, time);
  }

  private judgeDelay(delay: number): void {
    if (this.stats.encoded < SLOW_JUDGE_AFTER || this.delays.length >= SLOW_JUDGE_FRAMES) return;
    this.delays.push(delay);
    if (this.delays.length < SLOW_JUDGE_FRAMES) return;
    const median = [...this.delays].sort((a, b) => a - b)[this.delays.length >> 1]!;
    if (median > SLOW_ENCODER_MS && this.settings.judgeSpeed) {
      this.stop();
      this.events.slow?.(this.videoConfig.codec, median);
    }
  }

  private onAudioData(data: AudioData): void {
    const encoder = this.audio;
    try {
      if (this.stopped || !encoder || encoder.state === 'closed' || !this.audioConfig) return;
      // Configured from the audio itself: the track's settings may not say its real rate.
      const { sampleRate, numberOfChannels } = data;
      if (encoder.state === 'unconfigured' || this.audioConfig.sampleRate !== sampleRate || this.audioConfig.numberOfChannels !== numberOfChannels) {
        this.audioConfig = { ...this.audioConfig, sampleRate, numberOfChannels };
        encoder.configure(this.audioConfig);
      }
      // The audio clock, anchored on this page's clock as each block arrives (it ends about now).
      this.audioAnchor = [data.timestamp, localNow() - data.duration / 1000];
      if (this.paused || this.idle) return;
      if (encoder.encodeQueueSize > 10) return; // far behind: drop, the viewer fills the gap
      encoder.encode(data);
    } finally {
      data.close();
    }
  }

  private onAudio(chunk: EncodedAudioChunk, meta: EncodedAudioChunkMetadata | undefined): void {
    if (this.stopped) return;
    const config = meta?.decoderConfig;
    if (config) this.announce('audio', { codec: config.codec, sampleRate: config.sampleRate, channels: config.numberOfChannels, description: base64(config.description) });
    if (!this.announced.audio) return; // (cannot happen: the first output carries the setup)
    const anchor = this.audioAnchor;
    const time = anchor ? anchor[1] + (chunk.timestamp - anchor[0]) / 1000 : localNow();
    this.send(chunk, FLAG_KEY | FLAG_AUDIO, time);
  }

  /** Sends a track's decoder setup as a `codec` message when it differs from the one last sent. */
  private announce(track: 'video' | 'audio', setup: object): void {
    const json = JSON.stringify(setup);
    if (json === this.announced[track]) return;
    this.announced[track] = json;
    this.socket.sendJson({ type: 'codec', [track]: setup });
  }

  private send(chunk: EncodedVideoChunk | EncodedAudioChunk, flags: number, time: number): void {
    const payload = new Uint8Array(chunk.byteLength);
    chunk.copyTo(payload);
    const frame = encodeFrame({ kind: FRAME_KIND_CHUNK, flags, channel: 0, seq: this.seq, time }, payload);
    if (!this.socket.sendBinary(frame)) {
      this.stop();
      return;
    }
    this.seq++;
    this.sendLog.add(time, frame.byteLength);
    this.events.sent?.(payload.byteLength);
  }

  private fail(message: string): void {
    if (this.stopped) return;
    this.stop();
    this.events.failed?.(message);
  }
}

/** Encoders want even picture sizes. */
function even(n: number): number {
  return Math.max(2, n - (n % 2));
}
