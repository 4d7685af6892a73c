// Raw frames of the camera's tracks for the WebCodecs encoders: VideoFrames and AudioData read with
// MediaStreamTrackProcessor where the browser has it on the page (Chrome), else rebuilt from what
// every browser has (Firefox, Safari): a hidden <video> for pictures (through a canvas where the
// encoder refuses the <video>'s own frames: WebKit), an AudioWorklet for sound.
import type { CaptureBlock, CaptureOptions } from './audio-capture-worklet.ts';

/**
 * How frames are read from the track: a MediaStreamTrackProcessor; `new VideoFrame(video)` from a
 * hidden <video>; or that <video> drawn on a canvas first, `new VideoFrame(canvas)` (a copy of every
 * picture, ~20 ms at 640x480 on a slow machine: only where the encoder refuses the <video>'s frames).
 */
export type VideoReadMethod = 'track-processor' | 'video-element' | 'canvas';
export type AudioReadMethod = 'track-processor' | 'worklet';

/** A running reader; stop() ends it (idempotent) and leaves the track to its owner. */
export interface FrameReader {
  readonly method: VideoReadMethod | AudioReadMethod;
  stop(): void;
}

/** URL of the worklet module (bundled from audio-capture-worklet.ts) and the processor's name in it. */
const WORKLET_URL = '/assets/audio-capture-worklet.js';
const WORKLET_NAME = 'wsw-capture';
/** How far the worklet's audio may fall behind the page's clock before its timestamps jump to catch up, µs. */
const MAX_AUDIO_LAG_US = 40_000;
/** Frame rate assumed when the track does not say (the timer that stands in for requestVideoFrameCallback). */
const DEFAULT_FPS = 30;

// MediaStreamTrackProcessor (https://w3c.github.io/mediacapture-transform/) is not in TypeScript's DOM lib.
interface TrackProcessor<T> {
  readonly readable: ReadableStream<T>;
}
type TrackProcessorConstructor = new <T>(init: { track: MediaStreamTrack }) => TrackProcessor<T>;

function trackProcessorClass(): TrackProcessorConstructor | undefined {
  return (globalThis as { MediaStreamTrackProcessor?: TrackProcessorConstructor }).MediaStreamTrackProcessor;
}

/**
 * Calls onFrame with every new VideoFrame of a video track; the callee owns the frame and must close() it.
 * MediaStreamTrackProcessor where the page has it (Chrome; Safari 18 has it in workers only); elsewhere (Firefox, Safari) a hidden muted <video> playing the track and
 * requestVideoFrameCallback + new VideoFrame(video, {timestamp}) (timestamps in µs, increasing).
 * Timestamps are on the page's clock (performance.now(), in µs) whatever the method, like readAudioData's.
 * `prefer` forces a method (for tests/measuring: 'video-element' must work in Chromium too); 'canvas'
 * is for WebKit, whose VideoEncoder fails ("Encoding failed") on frames made from a <video>, while
 * it encodes frames made from a canvas: the stream switches to it when that happens.
 */
export function readVideoFrames(track: MediaStreamTrack, onFrame: (frame: VideoFrame) => void, prefer?: VideoReadMethod): FrameReader {
  if (prefer !== 'video-element' && prefer !== 'canvas') {
    const reader = readWithProcessor(track, onPageClock(onFrame), prefer === 'track-processor');
    if (reader) return reader;
  }
  return readFromVideoElement(track, onFrame, prefer === 'canvas');
}

/**
 * Calls onData with the audio of an audio track as AudioData (the callee closes it), in blocks of ~10-20 ms.
 * MediaStreamTrackProcessor where it exists; elsewhere an AudioContext (at the track's sample rate where possible) + MediaStreamAudioSourceNode
 * + an AudioWorkletNode ('wsw-capture', from /assets/audio-capture-worklet.js) that posts Float32Array blocks (transferred) which become
 * new AudioData({format: 'f32-planar', sampleRate, numberOfFrames, numberOfChannels, timestamp, data}).
 * Returns a promise because addModule is async. Timestamps in µs, increasing, continuous (the worklet's jump forward only where the
 * context lost time, so that they stay on the page's clock). Timestamps are on the page's clock (performance.now(), in µs) whatever
 * the method, like readVideoFrames'.
 */
export async function readAudioData(track: MediaStreamTrack, onData: (data: AudioData) => void, prefer?: AudioReadMethod): Promise<FrameReader> {
  if (prefer !== 'worklet') {
    const reader = readWithProcessor(track, onData, prefer === 'track-processor');
    if (reader) return reader;
  }
  return readWithWorklet(track, onData);
}

/** Hands `item` to the consumer; if the consumer throws, closes it (never leak a frame) and reports the error. */
function deliver<T extends VideoFrame | AudioData>(item: T, consume: (item: T) => void): void {
  try {
    consume(item);
  } catch (err) {
    item.close();
    reportError(err);
  }
}

/**
 * Moves frames onto the page's clock, keeping their spacing: Chrome stamps the processor's video
 * frames with its own monotonic clock (time since the machine booted), its audio with the page's.
 */
function onPageClock(onFrame: (frame: VideoFrame) => void): (frame: VideoFrame) => void {
  let offset: number | null = null;
  let last = -1;
  return (frame) => {
    offset ??= frame.timestamp - performance.now() * 1000;
    const timestamp = Math.max(Math.round(frame.timestamp - offset), last + 1);
    last = timestamp;
    // A new frame over the same picture: nothing is copied.
    const moved = new VideoFrame(frame, { timestamp });
    frame.close();
    deliver(moved, onFrame);
  };
}

/** A read loop over a MediaStreamTrackProcessor; null when the browser has none (or refuses this track) and none was demanded. */
function readWithProcessor<T extends VideoFrame | AudioData>(track: MediaStreamTrack, consume: (item: T) => void, required: boolean): FrameReader | null {
  const Processor = trackProcessorClass();
  let reader: ReadableStreamDefaultReader<T>;
  try {
    if (!Processor) throw new Error('This browser has no MediaStreamTrackProcessor.');
    // A processor may refuse a track (Safari's, in workers for now, reads video only): the fallback takes it then.
    reader = new Processor<T>({ track }).readable.getReader();
  } catch (err) {
    if (required) throw err;
    return null;
  }
  let stopped = false;
  const loop = async (): Promise<void> => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (stopped) value.close();
      else deliver(value, consume);
    }
  };
  // The read fails only when the stream errors (the track's source broke): nothing more to read then.
  loop().catch(() => undefined);
  return {
    method: 'track-processor',
    stop: () => {
      if (stopped) return;
      stopped = true;
      void reader.cancel().catch(() => undefined);
    },
  };
}

/**
 * Frames taken from a hidden <video> playing the track, on each requestVideoFrameCallback; while
 * the page is hidden (where browsers stop calling it back) or where it is missing, on a timer at
 * the track's frame rate, which the browser may slow down and which can repeat a frame.
 * `viaCanvas`: each picture is drawn on a canvas of the video's size and the frame made from that.
 */
function readFromVideoElement(track: MediaStreamTrack, onFrame: (frame: VideoFrame) => void, viaCanvas: boolean): FrameReader {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.setAttribute('aria-hidden', 'true');
  // Rendered (some browsers skip callbacks of videos that are not) but neither seen nor in the way.
  Object.assign(video.style, { position: 'fixed', left: '0', top: '0', width: '1px', height: '1px', opacity: '0', pointerEvents: 'none' });
  video.srcObject = new MediaStream([track]);
  document.body.append(video);
  // play(), not autoplay: Chrome pauses muted autoplaying videos it deems out of view.
  void video.play().catch(() => undefined);

  const intervalMs = 1000 / (track.getSettings().frameRate || DEFAULT_FPS);
  const hasCallback = 'requestVideoFrameCallback' in video;
  let stopped = false;
  let callbackId: number | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let lastTimestamp = -1;
  // Never in the page: only its pixels are used. No alpha: a camera has none, and encoders need none.
  const canvas = viaCanvas ? document.createElement('canvas') : null;
  const context = canvas?.getContext('2d', { alpha: false }) ?? null;
  if (viaCanvas && !context) throw new Error('This browser has no 2D canvas to copy camera frames through.');

  const take = (): void => {
    if (video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA || video.videoWidth === 0) return;
    // The page's clock, µs, strictly increasing (encoders refuse repeated timestamps).
    const timestamp = Math.max(Math.round(performance.now() * 1000), lastTimestamp + 1);
    let frame: VideoFrame;
    try {
      if (canvas && context) {
        const { videoWidth: width, videoHeight: height } = video;
        // (Resizing clears it; only when the picture's size changes, e.g. a phone turned.)
        if (canvas.width !== width || canvas.height !== height) Object.assign(canvas, { width, height });
        context.drawImage(video, 0, 0, width, height);
        frame = new VideoFrame(canvas, { timestamp });
      } else {
        frame = new VideoFrame(video, { timestamp });
      }
    } catch {
      return; // No picture yet (the stream is starting or its size changing): the next one will do.
    }
    lastTimestamp = timestamp;
    deliver(frame, onFrame);
  };
  const onVideoFrame = (): void => {
    callbackId = video.requestVideoFrameCallback(onVideoFrame);
    take();
  };
  const onTimer = (): void => {
    timer = setTimeout(onTimer, intervalMs);
    take();
  };
  const schedule = (): void => {
    if (callbackId !== null) video.cancelVideoFrameCallback(callbackId);
    if (timer !== null) clearTimeout(timer);
    callbackId = timer = null;
    if (stopped) return;
    if (hasCallback && document.visibilityState === 'visible') callbackId = video.requestVideoFrameCallback(onVideoFrame);
    else timer = setTimeout(onTimer, intervalMs);
  };
  document.addEventListener('visibilitychange', schedule);
  schedule();

  return {
    method: viaCanvas ? 'canvas' : 'video-element',
    stop: () => {
      if (stopped) return;
      stopped = true;
      schedule();
      document.removeEventListener('visibilitychange', schedule);
      video.pause();
      video.srcObject = null;
      video.remove();
      // Let go of the copy's pixels at once.
      if (canvas) canvas.width = canvas.height = 0;
    },
  };
}

/** Audio through Web Audio: the track → a MediaStreamAudioSourceNode → the 'wsw-capture' worklet, whose blocks become AudioData. */
async function readWithWorklet(track: MediaStreamTrack, onData: (data: AudioData) => void): Promise<FrameReader> {
  const settings = track.getSettings();
  // Firefox cannot connect a track to a context of another rate: ask for the track's where it says.
  const context = new AudioContext(settings.sampleRate ? { sampleRate: settings.sampleRate, latencyHint: 'interactive' } : { latencyHint: 'interactive' });
  let source: MediaStreamAudioSourceNode;
  let node: AudioWorkletNode;
  try {
    await context.audioWorklet.addModule(WORKLET_URL);
    source = context.createMediaStreamSource(new MediaStream([track]));
    // Mono or stereo, which every audio encoder takes; a browser that does not say gets mono (a phone's microphone).
    const channels = Math.min(2, settings.channelCount ?? 1);
    const options: CaptureOptions = { channels };
    node = new AudioWorkletNode(context, WORKLET_NAME, {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      channelCount: channels,
      channelCountMode: 'explicit',
      channelInterpretation: 'speakers',
      processorOptions: options,
    });
  } catch (err) {
    void context.close().catch(() => undefined);
    throw err;
  }
  // Connected to the output (it writes silence there): some browsers only run nodes that lead to it.
  source.connect(node).connect(context.destination);

  const clock = new BlockClock(context.sampleRate);
  let stopped = false;
  node.port.onmessage = (e: MessageEvent<CaptureBlock>) => {
    if (stopped) return;
    const { frame, frames, data } = e.data;
    const timestamp = Math.round(clock.start(frame, frames));
    const audio = new AudioData({ format: 'f32-planar', sampleRate: context.sampleRate, numberOfFrames: frames, numberOfChannels: data.length / frames, timestamp, data });
    deliver(audio, onData);
  };
  // Started by a click on Start this runs at once; opened without one, the browser may hold it until the next tap.
  void context.resume().catch(() => undefined);

  return {
    method: 'worklet',
    stop: () => {
      if (stopped) return;
      stopped = true;
      node.port.onmessage = null;
      source.disconnect();
      node.disconnect();
      void context.close().catch(() => undefined);
    },
  };
}

/**
 * Start times (page clock, µs) of the worklet's blocks: frames counted from the first block, which
 * is put on the clock when it arrives, so they follow one another without gaps. When the count
 * falls behind the clock (the context was suspended or starved and did not count, or its device
 * clock runs slow), the next block jumps forward, so that sound stays with the pictures.
 */
class BlockClock {
  /** Page-clock µs of frame 0. */
  private base: number | null = null;
  /** The least lag (arrival minus end of block, µs) since the last check, and frames since then. */
  private leastLag = Infinity;
  private framesSinceCheck = 0;

  constructor(private readonly rate: number) {}

  /** Start of a block that has just arrived, with its position and length in frames. */
  start(frame: number, frames: number): number {
    const now = performance.now() * 1000;
    this.base ??= now - this.micros(frame + frames);
    const start = this.base + this.micros(frame);
    // Delays on the way only add lag: the least over a second is how far behind the count is.
    this.leastLag = Math.min(this.leastLag, now - (start + this.micros(frames)));
    this.framesSinceCheck += frames;
    if (this.framesSinceCheck >= this.rate) {
      if (this.leastLag > MAX_AUDIO_LAG_US) this.base += this.leastLag;
      this.leastLag = Infinity;
      this.framesSinceCheck = 0;
    }
    return start;
  }

  private micros(frames: number): number {
    return (frames / this.rate) * 1e6;
  }
}
