// The latency overlay of one tile: the glass-to-glass estimate (capture → shown) from the capture
// times the chunks carry, the player's own buffer, and, when the camera films the test pattern,
// the true latency read from the time code in each shown frame. Runs only while shown.
import { localNow } from '../common/clock.ts';
import { codeAge, codeRegion, readTimeCode } from '../common/time-code.ts';
import type { ShownFrame } from './chunk-player.ts';

/** What the meter watches: the frames a tile shows, and its player's own buffer. */
export interface MeterSource {
  /** Calls `cb` for every frame shown until the returned function is called. */
  watchFrames(cb: (f: ShownFrame) => void): () => void;
  /** Seconds of video buffered ahead of what is shown, or null (none, or not known). */
  readonly lead: number | null;
  /** Audio waiting to be played, ms, or null (no such buffer). */
  readonly audioBufferMs: number | null;
}

/** Frames the shown figures are the median of. */
const WINDOW = 15;
const RENDER_MS = 250;
/** A time code read longer ago than this is no longer shown. */
const CODE_STALE_MS = 2000;
/** No frame for this long: the figures are old (a paused camera, a re-join); say so and re-arm. */
const FRAMES_STALE_MS = 1000;
/** After this many frames in a row without a readable code (not the test pattern), look only once a second. */
const UNREADABLE_RUN = 30;

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Per-tile meter; show(true) starts it. */
export class LatencyMeter {
  private on = false;
  private unwatch: (() => void) | null = null;
  private renderTimer: ReturnType<typeof setInterval> | null = null;
  private estimates: number[] = [];
  private measured: number[] = [];
  private lastCodeAt = -Infinity;
  private lastFrameAt = -Infinity;
  private unreadable = 0;
  private lastTryAt = -Infinity;
  private codeCtx: CanvasRenderingContext2D | null = null;

  constructor(
    private readonly tile: HTMLElement,
    private readonly source: MeterSource,
    private readonly el: HTMLElement,
    private readonly clockOffset: () => number,
  ) {}

  show(on: boolean): void {
    if (on === this.on) return;
    this.on = on;
    this.el.hidden = !on;
    if (on) {
      this.arm();
      this.renderTimer = setInterval(() => this.render(), RENDER_MS);
      this.render();
      return;
    }
    this.unwatch?.();
    this.unwatch = null;
    if (this.renderTimer) clearInterval(this.renderTimer);
    this.renderTimer = null;
    this.reset();
    this.codeCtx = null;
    for (const k of ['latencyEstimateMs', 'latencyMeasuredMs', 'leadMs']) delete this.tile.dataset[k];
  }

  /** Forgets the figures (a new stream starts). */
  reset(): void {
    this.estimates = [];
    this.measured = [];
    this.lastCodeAt = -Infinity;
    this.unreadable = 0;
  }

  private arm(): void {
    this.unwatch?.();
    this.unwatch = this.on ? this.source.watchFrames((f) => this.onFrame(f)) : null;
  }

  private onFrame(f: ShownFrame): void {
    const now = localNow();
    this.lastFrameAt = now;
    if (f.captured !== null) push(this.estimates, now - f.captured);
    // Reading costs a copy of the frame: a stream that is not the test pattern is tried once a second.
    const tryCode = this.unreadable < UNREADABLE_RUN || now - this.lastTryAt > 1000;
    const painted = tryCode ? this.readCode(f.image, f.width, f.height) : null;
    if (tryCode) {
      this.lastTryAt = now;
      this.unreadable = painted === null ? this.unreadable + 1 : 0;
    }
    if (painted !== null) {
      // The pattern paints the server's time (as its camera knew it); compare with ours on that clock.
      const age = codeAge(now + this.clockOffset(), painted);
      if (age !== null) {
        push(this.measured, age);
        this.lastCodeAt = now;
      }
    }
  }

  /** The time code in the frame being shown, or null (not the test pattern, or unreadable). */
  private readCode(image: CanvasImageSource, width: number, height: number): number | null {
    if (!width || !height) return null;
    const region = codeRegion(width, height);
    // Made once per overlay: this runs for every frame shown.
    this.codeCtx ??= document.createElement('canvas').getContext('2d', { willReadFrequently: true });
    const ctx = this.codeCtx;
    if (!ctx) return null;
    const c = ctx.canvas;
    if (c.width !== region.width || c.height !== region.height) {
      c.width = region.width;
      c.height = region.height;
    }
    // The whole frame at its own size, clipped to the region that holds the code.
    ctx.drawImage(image, 0, 0, width, height);
    return readTimeCode(ctx.getImageData(0, 0, region.width, region.height), width, height);
  }

  private render(): void {
    const now = localNow();
    const fresh = now - this.lastFrameAt < FRAMES_STALE_MS;
    // A re-started stream can drop a pending callback: ask again.
    if (!fresh) this.arm();
    const estimate = fresh ? median(this.estimates) : null;
    const measured = now - this.lastCodeAt < CODE_STALE_MS ? median(this.measured) : null;
    const lead = this.source.lead;
    const audio = this.source.audioBufferMs;
    const lines: string[] = [];
    if (!fresh) lines.push('latency: no new frames');
    else lines.push(estimate === null ? 'latency: waiting for timed media' : `latency ≈ ${Math.round(estimate)} ms`);
    if (measured !== null) lines.push(`test pattern: ${Math.round(measured)} ms`);
    if (lead !== null) lines.push(`buffer ${Math.round(lead * 1000)} ms`);
    if (audio !== null) lines.push(`audio buffer ${Math.round(audio)} ms`);
    this.el.textContent = lines.join('\n');
    setOrDelete(this.tile, 'latencyEstimateMs', estimate);
    setOrDelete(this.tile, 'latencyMeasuredMs', measured);
    setOrDelete(this.tile, 'leadMs', lead === null ? null : lead * 1000);
  }
}

function push(list: number[], v: number): void {
  list.push(v);
  if (list.length > WINDOW) list.shift();
}

function setOrDelete(el: HTMLElement, key: string, v: number | null): void {
  if (v === null) delete el.dataset[key];
  else el.dataset[key] = String(Math.round(v));
}
