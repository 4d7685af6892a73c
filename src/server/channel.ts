// One camera's channel: what viewers see of it, and its streams. A camera streams either WebM
// (MediaRecorder) or WebCodecs chunks; a chunk camera also runs a WebM stream, when asked, for the
// viewers that cannot decode its chunks. Each viewer is routed to the stream it can play.
import { ProtocolError, type AudioCodecConfig, type CameraInfo, type CameraState, type ServerMessage, type StreamFormat, type VideoCodecConfig } from '../shared/protocol.ts';
import { ChunkRelay } from './chunk-relay.ts';
import { WebmRelay } from './webm-relay.ts';

/** Where a channel sends things for one viewer (a viewer connection, or a test double). */
export interface ViewerSink {
  sendJson(message: ServerMessage): void;
  sendBinary(frame: Uint8Array): void;
  /** True when the viewer's queue is full (in bytes or in age): its video is dropped up to a keyframe. */
  congested(): boolean;
  /** True when even sound should not be queued for it any more. */
  choked(): boolean;
}

/** Description of the stream a camera announced. */
export interface StreamInfo {
  /** The WebM stream's type; chunk streams have none (their codecs come with `codec` messages). */
  mime?: string | undefined;
  width: number | null;
  height: number | null;
  fps: number | null;
}

/** Bytes kept for late joiners before giving up on the current group of pictures. */
export const DEFAULT_MAX_RETAINED_BYTES = 32 * 1024 * 1024;
/** Viewers of one camera at most (the server's --max-viewers). */
export const DEFAULT_MAX_VIEWERS_PER_CAMERA = 1000;

/** Per camera: state shown to viewers, its streams, and the viewer list. */
export class Channel {
  name: string;
  state: CameraState = 'connecting';
  stream: StreamInfo | null = null;
  /** What the camera streams, null when nothing. */
  format: StreamFormat | null = null;
  /** True once the camera started a stream (a channel that never did is forgotten when its camera leaves). */
  hasStreamed = false;
  /** When the camera went offline (ms since epoch), for expiring old entries. */
  offlineSince: number | null = null;
  /** The camera's connection while it is online: asked for keyframes and for the WebM fallback. */
  camera: { sendJson(message: ServerMessage): void } | null = null;

  private seqOut = 0;
  private readonly webm: WebmRelay;
  private readonly chunks: ChunkRelay;
  /** Subscribed viewers, and whether each can decode chunks. */
  private readonly viewers = new Map<ViewerSink, boolean>();
  /** Whether the camera was asked to run its WebM fallback. */
  private recorderOn = false;
  /** Why the camera cannot run its WebM fallback (this stream), or null. */
  private fallbackFailed: string | null = null;

  constructor(
    readonly id: string,
    readonly number: number,
    name: string,
    maxRetainedBytes = DEFAULT_MAX_RETAINED_BYTES,
    /** Viewers at most; subscribe() refuses more. */
    readonly maxViewers = DEFAULT_MAX_VIEWERS_PER_CAMERA,
  ) {
    this.name = name;
    const nextSeq = (): number => this.seqOut++;
    this.webm = new WebmRelay(id, number, nextSeq, maxRetainedBytes, (width, height) => {
      if (this.stream && this.format === 'webm') Object.assign(this.stream, { width, height });
    });
    this.chunks = new ChunkRelay(id, number, nextSeq, maxRetainedBytes, () => this.camera?.sendJson({ type: 'keyframe' }));
  }

  /** Number of subscribed viewers. */
  get viewerCount(): number {
    return this.viewers.size;
  }

  /** What viewers see of this camera. */
  info(): CameraInfo {
    const chunks = this.format === 'chunks';
    return {
      id: this.id,
      channel: this.number,
      name: this.name,
      state: this.state,
      // A chunk camera's WebM is its fallback: named only while it runs.
      mime: chunks && !this.recorderOn ? null : this.webm.mime,
      width: this.stream?.width ?? null,
      height: this.stream?.height ?? null,
      fps: this.stream?.fps ?? null,
      viewers: this.viewers.size,
      format: this.format,
      videoCodec: chunks ? (this.chunks.video?.codec ?? null) : null,
      audioCodec: chunks ? (this.chunks.audio?.codec ?? null) : null,
    };
  }

  /**
   * The camera starts a WebM stream: its main stream (every viewer starts over), or, with
   * `fallback`, the one a chunk camera runs when asked (its WebM viewers start over).
   */
  startStream(info: StreamInfo & { mime: string }, fallback = false): void {
    if (fallback) {
      if (this.format !== 'chunks') throw new ProtocolError('WRONG_ORDER', 'a fallback WebM stream without a chunk stream');
      this.webm.start(info.mime);
      return;
    }
    this.format = 'webm';
    this.stream = { ...info };
    this.hasStreamed = true;
    this.chunks.end();
    // (A camera that turned from chunks to WebM has no fallback to run any more.)
    this.recorderOn = false;
    this.webm.start(info.mime);
    for (const sink of this.viewers.keys()) this.route(sink);
  }

  /** The camera starts a chunk stream (codecs, then chunks, follow). */
  startChunkStream(info: StreamInfo): void {
    this.format = 'chunks';
    this.stream = { width: info.width, height: info.height, fps: info.fps };
    this.hasStreamed = true;
    // A fallback that was running belonged to the old stream: the camera starts it again if asked.
    this.webm.end();
    this.chunks.start();
    this.fallbackFailed = null;
    for (const sink of this.viewers.keys()) this.route(sink);
    this.recorderOn = false;
    this.updateRecorder();
  }

  /** The camera's connection ended: drop its streams (subscriptions stay for when it comes back). */
  endStream(): void {
    this.stream = null;
    this.format = null;
    this.webm.end();
    this.chunks.end();
    this.recorderOn = false;
  }

  /** True while WebM media may be pushed. */
  get streaming(): boolean {
    return this.webm.streaming;
  }

  /** True while chunks (and codecs) may be pushed. */
  get streamingChunks(): boolean {
    return this.chunks.streaming;
  }

  /**
   * Adds a viewer, or re-joins it from scratch (e.g. after a decode error). `chunks`: it can decode
   * this camera's chunks. False (and nothing changes) when the camera already has `maxViewers`.
   */
  subscribe(sink: ViewerSink, chunks = false): boolean {
    if (!this.viewers.has(sink) && this.viewers.size >= this.maxViewers) return false;
    this.viewers.set(sink, chunks);
    this.route(sink);
    this.updateRecorder();
    if (!chunks && this.format === 'chunks' && this.fallbackFailed !== null) this.tellNoFallback(sink);
    return true;
  }

  /** Removes a viewer; returns whether it was subscribed. */
  unsubscribe(sink: ViewerSink): boolean {
    const had = this.viewers.delete(sink);
    this.webm.remove(sink);
    this.chunks.remove(sink);
    if (had) this.updateRecorder();
    return had;
  }

  /**
   * The camera cannot record the WebM fallback it was asked for: the viewers waiting for it are
   * told why (not fatal: they may watch the other cameras), and so is any that subscribes later.
   */
  failFallback(reason: string): void {
    if (this.format !== 'chunks') throw new ProtocolError('WRONG_ORDER', 'a "fallback-failed" without a chunk stream');
    this.fallbackFailed = reason;
    for (const [sink, chunks] of this.viewers) if (!chunks) this.tellNoFallback(sink);
  }

  private tellNoFallback(sink: ViewerSink): void {
    const codec = this.chunks.video?.codec ?? 'its codec';
    sink.sendJson({
      type: 'error',
      code: 'NO_FORMAT',
      cameraId: this.id,
      message: `${this.name} sends ${codec} video (WebCodecs), which this browser cannot decode, and its camera cannot record another format (it says: “${this.fallbackFailed ?? ''}”). Watch it in a current Chrome, Firefox or Safari.`,
    });
  }

  /** A viewer's decoder needs a keyframe. */
  keyframeWanted(sink: ViewerSink): void {
    this.chunks.keyframeWanted(sink);
  }

  /** Feeds one chunk of the camera's WebM; `time` is the capture time of media time 0 (server clock, ms; 0 = unknown). Throws WebmError when it is malformed. */
  pushMedia(payload: Uint8Array, time = 0): void {
    this.webm.push(payload, time);
  }

  /** Decoder setup of a chunk stream's track(s). */
  setCodec(update: { video?: VideoCodecConfig | undefined; audio?: AudioCodecConfig | undefined }): void {
    this.chunks.setCodec(update);
  }

  /** One encoded chunk; `time` is its capture time (server clock, ms; 0 = unknown). */
  pushChunk(payload: Uint8Array, flags: number, time = 0): void {
    this.chunks.push(payload, flags, time);
  }

  /** Sends a viewer to the stream it can play, starting it over. */
  private route(sink: ViewerSink): void {
    if (this.format === 'chunks' && this.viewers.get(sink)) {
      this.webm.remove(sink);
      this.chunks.add(sink);
    } else {
      this.chunks.remove(sink);
      this.webm.add(sink);
    }
  }

  /** Asks a chunk camera to run its WebM fallback exactly while a viewer needs it. */
  private updateRecorder(): void {
    const need = this.format === 'chunks' && [...this.viewers.values()].some((chunks) => !chunks);
    if (need === this.recorderOn || this.format !== 'chunks') return;
    this.recorderOn = need;
    // Until the camera announces the (new) WebM stream, nobody joins what is left of an old one.
    this.webm.restarting();
    this.camera?.sendJson({ type: 'recorder', on: need });
  }
}
