// The viewer's audio jitter buffer: decoded blocks go in with their capture timestamps, fixed-size
// render quanta come out. Pure (no DOM, no WebAudio) so it is unit-tested in Node; the playback
// worklet owns one. It keeps a small, bounded lead: silence until the target is buffered, silence
// and a re-prime on underrun, oldest samples dropped after a burst or when more than needed has
// stood in the buffer for a while, silence put in for lost packets.

/** Tunables, in milliseconds. */
export interface JitterConfig {
  /** Audio to hold before playing (and after an underrun): the lead over arrival jitter. */
  targetMs: number;
  /** Above target + this, drop the oldest samples down to the target (after a burst). */
  maxExcessMs: number;
  /** Longest gap between blocks filled with silence; a longer one is left to underrun and re-prime. */
  maxGapFillMs: number;
  /** A timestamp this far past the previous block's end, or this far before it, starts a new stream. */
  resetJumpMs: number;
  /** Hard bound on what the buffer holds. */
  capacityMs: number;
}

/** Defaults: 40 ms covers the jitter of 20 ms Opus packets over a LAN WebSocket. */
export const DEFAULT_JITTER: JitterConfig = {
  targetMs: 40,
  maxExcessMs: 80,
  maxGapFillMs: 200,
  resetJumpMs: 1000,
  capacityMs: 1000,
};

/** A block starting more than this many block durations after the previous block's start is a gap. */
const GAP_BLOCKS = 1.5;
/** A timestamp going backwards by more than this is a new stream, even short of `resetJumpMs`. */
const MAX_BACKWARDS_MS = 200;
/** Window over which a lead that never dropped below the target counts as standing, and is trimmed. */
const STANDING_WINDOW_MS = 1000;
/** Window of the output level. */
const LEVEL_WINDOW_MS = 250;

/** What the buffer has done so far. */
export interface JitterStats {
  bufferedMs: number;
  underruns: number;
  droppedMs: number;
  gapsFilledMs: number;
  /** RMS of the last ~250 ms of output, 0..1. */
  level: number;
}

/** RMS level of planar samples over windows of ~250 ms; the value is that of the last full window. */
export class LevelMeter {
  private sum = 0;
  private samples = 0;
  private frames = 0;
  private value = 0;
  private readonly windowFrames: number;

  constructor(readonly sampleRate: number) {
    this.windowFrames = Math.max(1, Math.round((sampleRate * LEVEL_WINDOW_MS) / 1000));
  }

  /** Adds the first `frames` samples of each channel. */
  add(channels: readonly Float32Array[], frames: number): void {
    for (const ch of channels) {
      const n = Math.min(frames, ch.length);
      for (let i = 0; i < n; i++) {
        const x = ch[i]!;
        this.sum += x * x;
      }
      this.samples += n;
    }
    this.frames += frames;
    if (this.frames >= this.windowFrames) {
      this.value = this.samples > 0 ? Math.min(1, Math.sqrt(this.sum / this.samples)) : 0;
      this.sum = 0;
      this.samples = 0;
      this.frames = 0;
    }
  }

  /** 0..1. */
  get level(): number {
    return this.value;
  }

  reset(): void {
    this.sum = 0;
    this.samples = 0;
    this.frames = 0;
    this.value = 0;
  }
}

/** A bounded ring of planar float samples with the playout policies above. */
export class JitterBuffer {
  private config: JitterConfig;
  private ring: Float32Array[] = [];
  private capacity: number;
  private readPos = 0;
  private size = 0;
  private primed = false;
  /** Where the previous block ended, in µs of its stream; null before the first block. */
  private expectedUs: number | null = null;
  private underruns = 0;
  private droppedFrames = 0;
  private filledFrames = 0;
  /** Silence played with the buffer empty since the last block: time a gap before the next block has already taken. */
  private emptyFrames = 0;
  private lastBlockFrames = 0;
  /** Least left after any pull in the current standing window, and the window's length so far. */
  private lowest = Infinity;
  private watched = 0;
  private readonly meter: LevelMeter;

  constructor(
    readonly sampleRate: number,
    config: Partial<JitterConfig> = {},
  ) {
    this.config = sanitize({ ...DEFAULT_JITTER, ...config });
    this.capacity = this.frames(this.config.capacityMs);
    this.meter = new LevelMeter(sampleRate);
  }

  /** Changes tunables; a new capacity empties the buffer. */
  configure(config: Partial<JitterConfig>): void {
    this.config = sanitize({ ...this.config, ...config });
    const capacity = this.frames(this.config.capacityMs);
    if (capacity !== this.capacity) {
      this.capacity = capacity;
      this.ring = [];
      this.reset();
    }
  }

  /** Forgets the stream: empty, priming again, timestamps unknown. Counters are kept. */
  reset(): void {
    this.readPos = 0;
    this.size = 0;
    this.primed = false;
    this.expectedUs = null;
    this.emptyFrames = 0;
    this.lowest = Infinity;
    this.watched = 0;
  }

  /**
   * Adds one decoded block (planar, one array per channel, all the same length, at this buffer's
   * sample rate) that was captured at `timestampUs`. A different channel count starts a new stream.
   */
  push(channels: readonly Float32Array[], timestampUs: number): void {
    const frames = channels[0]?.length ?? 0;
    if (frames === 0) return;
    if (channels.length !== this.ring.length) {
      this.ring = channels.map(() => new Float32Array(this.capacity));
      this.reset();
    }
    const durationUs = (frames / this.sampleRate) * 1e6;
    if (this.expectedUs !== null) {
      const lateMs = (timestampUs - this.expectedUs) / 1000;
      if (lateMs > this.config.resetJumpMs || -lateMs > Math.min(MAX_BACKWARDS_MS, this.config.resetJumpMs)) {
        this.reset();
      } else if (lateMs * 1000 > (GAP_BLOCKS - 1) * durationUs && lateMs <= this.config.maxGapFillMs) {
        // Lost packets: their time is played as silence, so what follows stays in time. Silence
        // already played on an underrun while waiting for this block counts towards it, and then
        // the time line is whole again: play on at once, with the lead there was before the loss.
        const silence = this.frames(lateMs) - this.emptyFrames;
        if (silence > 0) {
          this.write(null, silence);
          this.filledFrames += silence;
          if (this.emptyFrames > 0) this.primed = true;
        }
      }
    }
    this.expectedUs = timestampUs + durationUs;
    this.emptyFrames = 0;
    this.lastBlockFrames = frames;
    this.write(channels, frames);
    const above = this.frames(this.config.targetMs + this.config.maxExcessMs);
    if (this.size > above) this.drop(this.size - this.frames(this.config.targetMs));
  }

  /**
   * Fills `out` (one array per output channel, all the same length) with the next samples, or
   * silence while priming or short. Output channels beyond the stream's repeat its last channel.
   */
  pull(out: readonly Float32Array[]): void {
    const frames = out[0]?.length ?? 0;
    if (!this.primed && this.size > 0 && this.size >= this.frames(this.config.targetMs)) this.primed = true;
    const n = this.primed ? Math.min(frames, this.size) : 0;
    if (n > 0) {
      const first = Math.min(n, this.capacity - this.readPos);
      out.forEach((dst, c) => {
        const src = this.ring[Math.min(c, this.ring.length - 1)]!;
        dst.set(src.subarray(this.readPos, this.readPos + first), 0);
        if (first < n) dst.set(src.subarray(0, n - first), first);
      });
      this.readPos = (this.readPos + n) % this.capacity;
      this.size -= n;
    }
    if (n < frames) {
      for (const dst of out) dst.fill(0, n);
      if (this.primed) {
        this.underruns++;
        this.primed = false;
        this.lowest = Infinity;
        this.watched = 0;
      }
      if (this.size === 0) this.emptyFrames += frames - n;
    }
    if (this.primed) this.trimStanding(frames);
    this.meter.add(out, frames);
  }

  get stats(): JitterStats {
    return {
      bufferedMs: this.ms(this.size),
      underruns: this.underruns,
      droppedMs: this.ms(this.droppedFrames),
      gapsFilledMs: this.ms(this.filledFrames),
      level: this.meter.level,
    };
  }

  /**
   * After a burst (or a gap filled late) the lead can stay above what priming gives, up to
   * target + max excess, for good. When it has not once dipped to the target for a whole window,
   * the surplus was never needed: drop it, back to the lowest level that priming leaves.
   */
  private trimStanding(frames: number): void {
    // Measured after each pull: what is left is the margin the next block had.
    this.lowest = Math.min(this.lowest, this.size);
    this.watched += frames;
    if (this.watched < this.frames(STANDING_WINDOW_MS)) return;
    const target = this.frames(this.config.targetMs);
    const keep = Math.max(target - this.lastBlockFrames, Math.round(target / 2));
    if (this.lowest > target) this.drop(this.lowest - keep);
    this.lowest = Infinity;
    this.watched = 0;
  }

  /** Appends `frames` samples of `channels`, or silence when null; the oldest make room. */
  private write(channels: readonly Float32Array[] | null, frames: number): void {
    let skip = 0;
    if (frames > this.capacity) {
      skip = frames - this.capacity;
      this.droppedFrames += skip;
      frames = this.capacity;
    }
    if (this.size + frames > this.capacity) this.drop(this.size + frames - this.capacity);
    const writePos = (this.readPos + this.size) % this.capacity;
    const first = Math.min(frames, this.capacity - writePos);
    this.ring.forEach((dst, c) => {
      if (channels === null) {
        dst.fill(0, writePos, writePos + first);
        dst.fill(0, 0, frames - first);
        return;
      }
      const src = channels[c]!;
      dst.set(src.subarray(skip, skip + first), writePos);
      if (first < frames) dst.set(src.subarray(skip + first, skip + frames), 0);
    });
    this.size += frames;
  }

  /** Discards the oldest `frames` samples. */
  private drop(frames: number): void {
    const n = Math.min(frames, this.size);
    this.readPos = (this.readPos + n) % this.capacity;
    this.size -= n;
    this.droppedFrames += n;
  }

  private frames(ms: number): number {
    return Math.round((ms * this.sampleRate) / 1000);
  }

  private ms(frames: number): number {
    return (frames * 1000) / this.sampleRate;
  }
}

/** Keeps tunables usable: finite, non-negative, and target + excess within the capacity. */
function sanitize(c: JitterConfig): JitterConfig {
  const pick = (v: number, fallback: number): number => (Number.isFinite(v) && v >= 0 ? v : fallback);
  const capacityMs = Math.max(10, pick(c.capacityMs, DEFAULT_JITTER.capacityMs));
  const targetMs = Math.min(pick(c.targetMs, DEFAULT_JITTER.targetMs), capacityMs);
  const maxExcessMs = Math.min(pick(c.maxExcessMs, DEFAULT_JITTER.maxExcessMs), capacityMs - targetMs);
  return {
    targetMs,
    maxExcessMs,
    maxGapFillMs: Math.min(pick(c.maxGapFillMs, DEFAULT_JITTER.maxGapFillMs), capacityMs),
    resetJumpMs: pick(c.resetJumpMs, DEFAULT_JITTER.resetJumpMs),
    capacityMs,
  };
}
