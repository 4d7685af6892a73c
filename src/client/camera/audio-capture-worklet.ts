// AudioWorklet processor ('wsw-capture') that hands the microphone's samples to the camera page:
// the audio thread gets 128 frames at a time, which it gathers into ~20 ms blocks (960 frames at
// 48 kHz: one Opus frame) and posts, with the block's frame position, to media-frames.ts.

// The AudioWorkletGlobalScope, which TypeScript's DOM lib does not describe.
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, processor: new (options: AudioWorkletNodeOptions) => AudioWorkletProcessor): void;
declare const sampleRate: number;

/** What the page passes as `processorOptions`. */
export interface CaptureOptions {
  /** Channels per block (the node's input is mixed to this many). */
  channels: number;
}

/** One block of samples, posted to the page (its buffer transferred). */
export interface CaptureBlock {
  /** Position of the block's first frame: frames this processor was given before it. */
  frame: number;
  /** Frames per channel. */
  frames: number;
  /** Planar samples: channel c is `data.subarray(c * frames, (c + 1) * frames)`. */
  data: Float32Array<ArrayBuffer>;
}

/** Frames per block: 20 ms at the context's rate. */
const BLOCK_FRAMES = Math.round(sampleRate / 50);

class CaptureProcessor extends AudioWorkletProcessor {
  private readonly channels: number;
  private block: Float32Array<ArrayBuffer>;
  private filled = 0;
  private blockStart = 0;
  /**
   * Frames seen so far. Not `currentFrame`, which Chrome leaves at 0 in the first call (the
   * context has been running for a while then) and which would put a false gap after it.
   */
  private position = 0;

  constructor(options: AudioWorkletNodeOptions) {
    super();
    this.channels = (options.processorOptions as CaptureOptions).channels;
    this.block = new Float32Array(this.channels * BLOCK_FRAMES);
  }

  process(inputs: Float32Array[][]): boolean {
    // No channels at all when nothing active feeds the input: that time passes as silence, so
    // that frame positions stay continuous. Quanta are 128 frames (the spec's render quantum).
    const input = inputs[0] ?? [];
    const quantum = input[0]?.length ?? 128;
    let done = 0;
    while (done < quantum) {
      if (this.filled === 0) this.blockStart = this.position + done;
      const n = Math.min(quantum - done, BLOCK_FRAMES - this.filled);
      for (let c = 0; c < this.channels; c++) {
        const samples = input[c];
        const at = c * BLOCK_FRAMES + this.filled;
        if (samples) this.block.set(samples.subarray(done, done + n), at);
        else this.block.fill(0, at, at + n);
      }
      this.filled += n;
      done += n;
      if (this.filled === BLOCK_FRAMES) this.post();
    }
    this.position += quantum;
    // Runs as long as the node exists: the page ends it by closing the context.
    return true;
  }

  private post(): void {
    const message: CaptureBlock = { frame: this.blockStart, frames: BLOCK_FRAMES, data: this.block };
    this.port.postMessage(message, [this.block.buffer]);
    this.block = new Float32Array(this.channels * BLOCK_FRAMES);
    this.filled = 0;
  }
}

registerProcessor('wsw-capture', CaptureProcessor);
