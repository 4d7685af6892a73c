// AudioWorklet processor ('wsw-playback') that plays one tile's decoded audio from a jitter buffer.
// Blocks come in over the node's port (transferred arrays: without COOP/COEP headers there is no
// SharedArrayBuffer); stats go back about every 250 ms. Loaded with audioWorklet.addModule().
import { JitterBuffer, type JitterConfig, type JitterStats } from './jitter-buffer.ts';

// The AudioWorkletGlobalScope, which TypeScript's DOM lib does not describe: just what is used here.
declare abstract class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, processor: new () => AudioWorkletProcessor): void;
declare const sampleRate: number;

/** Messages to the processor. */
export type PlaybackCommand =
  /** One decoded block: planar samples at the context's rate, captured at `timestamp` (µs). */
  | { channels: Float32Array[]; timestamp: number; type?: undefined }
  /** A new stream: empty the buffer. */
  | { type: 'reset' }
  | ({ type: 'config' } & Partial<JitterConfig>)
  /** The node is gone: let the processor end. */
  | { type: 'close' };

/** Messages from the processor. */
export type PlaybackReport = { type: 'stats' } & JitterStats;

/** Stats are posted after this much output. */
const STATS_EVERY_S = 0.25;

class PlaybackProcessor extends AudioWorkletProcessor {
  private readonly buffer = new JitterBuffer(sampleRate);
  private sinceStats = 0;
  private open = true;

  constructor() {
    super();
    this.port.onmessage = (e: MessageEvent<PlaybackCommand>) => this.onCommand(e.data);
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const out = outputs[0];
    if (out && out.length > 0) {
      this.buffer.pull(out);
      this.sinceStats += out[0]!.length;
    }
    if (this.sinceStats >= sampleRate * STATS_EVERY_S) {
      this.sinceStats = 0;
      const report: PlaybackReport = { type: 'stats', ...this.buffer.stats };
      this.port.postMessage(report);
    }
    return this.open;
  }

  private onCommand(m: PlaybackCommand): void {
    switch (m.type) {
      case undefined:
        if (Array.isArray(m.channels) && m.channels.every((c) => c instanceof Float32Array) && Number.isFinite(m.timestamp)) {
          this.buffer.push(m.channels, m.timestamp);
        }
        break;
      case 'reset':
        this.buffer.reset();
        break;
      case 'config':
        this.buffer.configure(m);
        break;
      case 'close':
        this.open = false;
        this.port.close();
        break;
    }
  }
}

registerProcessor('wsw-playback', PlaybackProcessor);
