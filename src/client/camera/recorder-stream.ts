// Streams a MediaStream to the server with MediaRecorder: WebM chunks, in order, each in a binary
// frame with a sequence number. One instance per stream; a reconnect starts a new one.
import { FRAME_KIND_MEDIA, encodeFrame } from '../../shared/protocol.ts';

/** WebM types in order of preference; MSE in every browser plays these. */
const TYPES_AV = ['video/webm;codecs=vp8,opus', 'video/webm;codecs=vp9,opus', 'video/webm'];
const TYPES_V = ['video/webm;codecs=vp8', 'video/webm;codecs=vp9', 'video/webm'];

/** How often MediaRecorder hands over a chunk, ms (a hint to the browser). */
export const TIMESLICE_MS = 100;
/** Asked-for keyframe spacing, so late joiners start quickly (honoured by Chrome). */
export const KEYFRAME_INTERVAL_MS = 1000;

/** Thrown when this browser cannot record anything the viewers can play. */
export class UnsupportedRecorderError extends Error {
  override name = 'UnsupportedRecorderError';
}

/** The WebM type to record, or an error that says what to do instead. */
export function chooseMimeType(withAudio: boolean): string {
  if (typeof MediaRecorder === 'undefined') throw new UnsupportedRecorderError('This browser has no MediaRecorder: use a current Chrome, Firefox or Safari (18.4 or later).');
  const found = (withAudio ? TYPES_AV : TYPES_V).find((t) => MediaRecorder.isTypeSupported(t));
  if (found) return found;
  if (MediaRecorder.isTypeSupported('video/mp4')) {
    throw new UnsupportedRecorderError('This browser records only MP4, which this server does not stream yet. Update Safari to 18.4 or later (it records WebM), or use Chrome or Firefox.');
  }
  throw new UnsupportedRecorderError('This browser cannot record WebM video: use a current Chrome, Firefox or Safari (18.4 or later).');
}

export interface RecorderStreamEvents {
  /** Bytes handed to the socket, for the bitrate display. */
  sent(bytes: number): void;
  error(message: string): void;
}

/** One MediaRecorder stream over the socket. */
export class RecorderStream {
  private recorder: MediaRecorder;
  private seq = 0;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  readonly mimeType: string;

  constructor(
    stream: MediaStream,
    private readonly send: (frame: Uint8Array) => boolean,
    private readonly events: Partial<RecorderStreamEvents>,
    videoBitsPerSecond = 2_500_000,
  ) {
    this.mimeType = chooseMimeType(stream.getAudioTracks().length > 0);
    // videoKeyFrameIntervalDuration is a Chrome extension; other browsers ignore it.
    const options = { mimeType: this.mimeType, videoBitsPerSecond, audioBitsPerSecond: 64_000, videoKeyFrameIntervalDuration: KEYFRAME_INTERVAL_MS } as MediaRecorderOptions;
    this.recorder = new MediaRecorder(stream, options);
    this.recorder.ondataavailable = (e) => this.onData(e.data);
    this.recorder.onerror = (e) => this.events.error?.(`recorder error: ${(e as ErrorEvent).message ?? 'unknown'}`);
  }

  /** Starts recording. */
  start(): void {
    this.recorder.start(TIMESLICE_MS);
  }

  /** Pauses recording (viewers keep the last picture). */
  pause(): void {
    if (this.recorder.state === 'recording') this.recorder.pause();
  }

  resume(): void {
    if (this.recorder.state === 'paused') this.recorder.resume();
  }

  get paused(): boolean {
    return this.recorder.state === 'paused';
  }

  /** Stops recording and sending for good. */
  stop(): void {
    this.stopped = true;
    this.recorder.ondataavailable = null;
    if (this.recorder.state !== 'inactive') this.recorder.stop();
  }

  private onData(blob: Blob): void {
    if (blob.size === 0 || this.stopped) return;
    // One promise chain keeps chunks in order even though arrayBuffer() resolves asynchronously.
    this.chain = this.chain
      .then(async () => {
        const bytes = new Uint8Array(await blob.arrayBuffer());
        if (this.stopped) return;
        const frame = encodeFrame({ kind: FRAME_KIND_MEDIA, flags: 0, channel: 0, seq: this.seq }, bytes);
        if (!this.send(frame)) {
          // The socket is gone; the stream cannot continue without a gap.
          this.stop();
          return;
        }
        this.seq++;
        this.events.sent?.(bytes.byteLength);
      })
      .catch((err: unknown) => this.events.error?.(`could not read a recorded chunk: ${String(err)}`));
  }
}
