// One tile's sound for the WebCodecs transport: Opus chunks → AudioDecoder → the playback worklet
// (audio-playback-worklet.ts), through the page's one shared AudioContext.
//
// A/V sync: video is drawn as soon as it is decoded; audio is kept close to it by the small jitter
// buffer in the worklet (target ~40 ms, bounded), never by delaying video.
import type { PlaybackCommand, PlaybackReport } from './audio-playback-worklet.ts';
import { LevelMeter, type JitterStats } from './jitter-buffer.ts';

/** What a tile shows about its sound. */
export interface AudioStats {
  bufferedMs: number;
  underruns: number;
  droppedMs: number;
  gapsFilledMs: number;
  /** RMS, 0..1: of what is played when audible, of what is decoded when not. */
  level: number;
  /** Chunks decoded, muted or not. */
  decoded: number;
  /** Sound is on for this tile and the page's AudioContext is running. */
  audible: boolean;
}

/** A stream's audio, as announced by the camera. */
export interface AudioConfig {
  codec: string;
  sampleRate: number;
  numberOfChannels: number;
  description?: Uint8Array;
}

const WORKLET_URL = '/assets/audio-playback-worklet.js';
/** Registered by the worklet module. */
const PROCESSOR = 'wsw-playback';
const CONTEXT_RATE = 48000;
/** Chunks kept while no decoder is configured yet (~320 ms of 20 ms packets); older ones are dropped. */
const MAX_PENDING = 16;
/** More chunks than this waiting in the decoder: new ones are dropped (the jitter buffer fills the gap). */
const MAX_DECODE_QUEUE = 25;
/** Capture times of chunks inside the decoder, kept at most. */
const MAX_IN_FLIGHT = 64;
/** After a decoder error, decode() waits this long before re-creating it, so a broken stream cannot spin. */
const RETRY_AFTER_MS = 1000;
/** With nothing decoded for this long, the level of a muted tile reads 0. */
const LEVEL_STALE_MS = 500;

const NO_STATS: JitterStats = { bufferedMs: 0, underruns: 0, droppedMs: 0, gapsFilledMs: 0, level: 0 };

// The page's one AudioContext, shared by every tile, and the loading of the worklet into it.
let pageContext: AudioContext | null = null;
let workletLoaded: Promise<void> | null = null;

/** The page's AudioContext, created or resumed now: call it inside the click that asked for sound. */
function sharedContext(): AudioContext {
  if (!pageContext || pageContext.state === 'closed') {
    pageContext = new AudioContext({ sampleRate: CONTEXT_RATE, latencyHint: 'interactive' });
    workletLoaded = null;
  }
  if (pageContext.state !== 'running') pageContext.resume().catch(() => undefined);
  return pageContext;
}

/** Loads the playback worklet into the shared context once; a failed load is tried again next time. */
function loadWorklet(context: AudioContext): Promise<void> {
  if (!workletLoaded) {
    const loading = context.audioWorklet.addModule(WORKLET_URL);
    workletLoaded = loading;
    loading.catch(() => {
      if (workletLoaded === loading) workletLoaded = null;
    });
  }
  return workletLoaded;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Linear resampling of one block, for a decoder whose output rate is not the context's. */
function resample(input: Float32Array, from: number, to: number): Float32Array {
  const out = new Float32Array(Math.round((input.length * to) / from));
  const step = from / to;
  for (let i = 0; i < out.length; i++) {
    const x = i * step;
    const j = Math.floor(x);
    const a = input[j] ?? 0;
    out[i] = a + ((input[j + 1] ?? a) - a) * (x - j);
  }
  return out;
}

/** Decodes and plays one tile's audio; close() frees it. */
export class AudioOutput {
  private decoder: AudioDecoder | null = null;
  private config: AudioDecoderConfig | null = null;
  /** Bumped by every configure(), so only the latest one applies. */
  private generation = 0;
  private configuring = false;
  private pending: { data: Uint8Array; timestampUs: number }[] = [];
  /**
   * Capture times of the chunks in the decoder, oldest first: the decoder's own output timestamps
   * run on from the first one by sample count and so hide lost packets (see MEDIA-NOTES).
   */
  private timestamps: number[] = [];
  private failedAt = -Infinity;
  private node: AudioWorkletNode | null = null;
  private audible = false;
  private closed = false;
  private played: JitterStats = NO_STATS;
  /** Level of decoded audio, while it is not being played. */
  private meter: LevelMeter | null = null;
  private decoded = 0;
  private lastDecodedAt = -Infinity;

  constructor(private readonly onError: (message: string) => void = () => undefined) {}

  /** New stream's audio config; resolves false (and says why via onError) when this browser cannot decode it. */
  async configure(config: AudioConfig): Promise<boolean> {
    if (this.closed) return false;
    const generation = ++this.generation;
    this.configuring = true;
    const decoderConfig: AudioDecoderConfig = {
      codec: config.codec,
      sampleRate: config.sampleRate,
      numberOfChannels: config.numberOfChannels,
      ...(config.description ? { description: config.description.slice() } : {}),
    };
    let why = '';
    if (typeof AudioDecoder === 'undefined') {
      why = 'This browser cannot decode audio (no WebCodecs AudioDecoder): no sound.';
    } else {
      try {
        const support = await AudioDecoder.isConfigSupported(decoderConfig);
        if (!support.supported) why = `This browser cannot decode ${config.codec} audio: no sound.`;
      } catch (err) {
        why = `Bad audio config (${message(err)}): no sound.`;
      }
    }
    // A later configure() took over while this one waited: it decides.
    if (generation !== this.generation || this.closed) return why === '';
    this.configuring = false;
    this.timestamps = [];
    this.post({ type: 'reset' });
    this.meter?.reset();
    if (why !== '') {
      this.config = null;
      this.pending = [];
      if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
      this.decoder = null;
      this.onError(why);
      return false;
    }
    this.config = decoderConfig;
    if (!this.openDecoder()) return false;
    for (const chunk of this.pending.splice(0)) this.decode(chunk.data, chunk.timestampUs);
    return true;
  }

  /** One encoded chunk; timestampUs: its capture time in µs (increasing), used for gap detection. */
  decode(data: Uint8Array, timestampUs: number): void {
    if (this.closed || !Number.isFinite(timestampUs)) return;
    if (this.configuring || !this.config) {
      this.pending.push({ data: data.slice(), timestampUs });
      if (this.pending.length > MAX_PENDING) this.pending.shift();
      return;
    }
    if (!this.decoder || this.decoder.state === 'closed') {
      if (performance.now() - this.failedAt < RETRY_AFTER_MS || !this.openDecoder()) return;
    }
    const decoder = this.decoder!;
    if (decoder.decodeQueueSize > MAX_DECODE_QUEUE) return;
    try {
      decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: timestampUs, data }));
      this.timestamps.push(timestampUs);
      if (this.timestamps.length > MAX_IN_FLIGHT) this.timestamps.shift();
    } catch (err) {
      this.onError(`Audio decode failed: ${message(err)}`);
    }
  }

  /**
   * Sound on/off for this tile. Call the first `true` from a click: browsers start sound only then.
   * Off disconnects the tile and empties its buffer; decoding goes on (for stats and the level).
   */
  async setAudible(on: boolean): Promise<void> {
    if (this.closed) return;
    this.audible = on;
    if (!on) {
      this.node?.disconnect();
      this.post({ type: 'reset' });
      this.meter?.reset();
      return;
    }
    let context: AudioContext;
    try {
      context = sharedContext();
    } catch (err) {
      this.onError(`Cannot play sound: ${message(err)}`);
      return;
    }
    if (this.node && this.node.context !== context) this.dropNode();
    if (!this.node) {
      try {
        await loadWorklet(context);
      } catch (err) {
        this.onError(`Cannot load the audio player: ${message(err)}`);
        return;
      }
      if (this.closed || !this.audible || this.node) return;
      this.node = new AudioWorkletNode(context, PROCESSOR, { numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [2] });
      this.node.port.onmessage = (e: MessageEvent<PlaybackReport>) => {
        if (e.data.type === 'stats') this.played = e.data;
      };
    }
    this.node.connect(context.destination);
  }

  get stats(): AudioStats {
    const playing = this.playing;
    const fresh = performance.now() - this.lastDecodedAt < LEVEL_STALE_MS;
    return {
      bufferedMs: playing ? this.played.bufferedMs : 0,
      underruns: this.played.underruns,
      droppedMs: this.played.droppedMs,
      gapsFilledMs: this.played.gapsFilledMs,
      level: playing ? this.played.level : fresh ? (this.meter?.level ?? 0) : 0,
      decoded: this.decoded,
      audible: playing,
    };
  }

  /** A new stream: flush the decoder and the buffer. */
  reset(): void {
    if (this.closed) return;
    this.pending = [];
    this.timestamps = [];
    if (this.decoder?.state === 'configured') this.openDecoder();
    this.post({ type: 'reset' });
    this.meter?.reset();
  }

  /** Frees everything (AudioDecoder closed, node disconnected, every AudioData closed). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    this.timestamps = [];
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
    this.decoder = null;
    this.dropNode();
  }

  /** Sound is on, and the shared context is running (a context still waiting for a click is not). */
  private get playing(): boolean {
    return this.audible && this.node !== null && this.node.context.state === 'running';
  }

  /** (Re)configures the decoder with the last config, creating it if it is gone; false if that failed. */
  private openDecoder(): boolean {
    if (!this.config) return false;
    try {
      if (this.decoder && this.decoder.state !== 'closed') {
        this.decoder.reset();
      } else {
        const decoder: AudioDecoder = new AudioDecoder({
          output: (data) => this.onDecoded(decoder, data),
          error: (err) => this.onDecoderError(decoder, err),
        });
        this.decoder = decoder;
      }
      this.timestamps = [];
      this.decoder.configure(this.config);
      return true;
    } catch (err) {
      this.failedAt = performance.now();
      this.onError(`Cannot start the audio decoder: ${message(err)}`);
      return false;
    }
  }

  private onDecoded(decoder: AudioDecoder, data: AudioData): void {
    const frames = data.numberOfFrames;
    const rate = data.sampleRate;
    const decoderTimestamp = data.timestamp;
    const channels: Float32Array[] = [];
    try {
      if (decoder !== this.decoder || this.closed) return;
      for (let c = 0; c < data.numberOfChannels; c++) {
        const plane = new Float32Array(frames);
        data.copyTo(plane, { planeIndex: c, format: 'f32-planar' });
        channels.push(plane);
      }
    } catch (err) {
      this.onError(`Cannot read decoded audio: ${message(err)}`);
      return;
    } finally {
      data.close();
    }
    const timestampUs = this.timestamps.shift() ?? decoderTimestamp;
    this.decoded++;
    this.lastDecodedAt = performance.now();
    // Not heard (yet): the level is measured here instead of in the worklet.
    if (!this.playing) {
      if (this.meter?.sampleRate !== rate) this.meter = new LevelMeter(rate);
      this.meter.add(channels, frames);
    }
    if (this.audible && this.node) {
      const to = this.node.context.sampleRate;
      const block = rate === to ? channels : channels.map((ch) => resample(ch, rate, to));
      this.post({ channels: block, timestamp: timestampUs }, block.map((ch) => ch.buffer));
    }
  }

  /** The decoder has closed itself; the next decode() (after a pause) or configure() makes a new one. */
  private onDecoderError(decoder: AudioDecoder, err: DOMException): void {
    if (decoder !== this.decoder || this.closed) return;
    this.failedAt = performance.now();
    this.timestamps = [];
    this.onError(`Audio decoder failed: ${err.message}`);
  }

  private post(command: PlaybackCommand, transfer: Transferable[] = []): void {
    this.node?.port.postMessage(command, transfer);
  }

  /** Detaches this tile's node and lets its processor end. */
  private dropNode(): void {
    if (!this.node) return;
    this.node.disconnect();
    this.post({ type: 'close' });
    this.node.port.onmessage = null;
    this.node = null;
  }
}
