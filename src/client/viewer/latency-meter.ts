// The latency overlay of one tile: the glass-to-glass estimate (capture → shown) from the capture
// times the chunks carry, the player's own buffer, and, when the camera films the test pattern,
// the true latency read from the time code in each shown frame. Runs only while shown.
import { localNow } from '../common/clock.ts';
import { codeAge, codeRegion, readTimeCode } from '../common/time-code.ts';
import type { MsePlayer } from './mse-player.ts';

/** Frames the shown figures are the median of. */
const WINDOW = 15;
const RENDER_MS = 250;
/** A time code read longer ago than this is no longer shown. */
const CODE_STALE_MS = 2000;
/** No frame for this long: the figures are old (a paused camera, a re-join); say so and re-arm. */
const FRAMES_STALE_MS = 1000;
/** After this many frames in a row without a readable code (not the test pattern), look only once a second. */
const UNREADABLE_RUN = 30;

type FrameVideo = HTMLVideoElement & {
  requestVideoFrameCallback?: (cb: (now: number, meta: { mediaTime: number; width: number; height: number }) => void) => number;
  cancelVideoFrameCallback?: (handle: number) => void;
};

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Per-tile meter; show(true) starts it. */
export class LatencyMeter {
  private on = false;
  private handle: number | null = null;
  private renderTimer: ReturnType<typeof setInterval> | null = null;
  private estimates: number[] = [];
  private measured: number[] = [];
  private lastCodeAt = -Infinity;
  private lastFrameAt = -Infinity;
  private unreadable = 0;
  private lastTryAt = -Infinity;
  private codeCtx: CanvasRenderingContext2D | null = null;
  private readonly video: FrameVideo;

  constructor(
    private readonly tile: HTMLElement,
    private readonly player: MsePlayer,
    private readonly el: HTMLElement,
    private readonly clockOffset: () => number,
  ) {
    this.video = player.video as FrameVideo;
  }

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
    if (this.handle !== null) this.video.cancelVideoFrameCallback?.(this.handle);
    this.handle = null;
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
    // Without requestVideoFrameCallback (old browsers) only the buffer is shown.
    if (this.on && this.video.requestVideoFrameCallback) this.handle = this.video.requestVideoFrameCallback((_now, meta) => this.onFrame(meta));
  }

  private onFrame(meta: { mediaTime: number; width: number; height: number }): void {
    this.handle = null;
    if (!this.on) return;
    const now = localNow();
    this.lastFrameAt = now;
    const captured = this.player.captureTimeAt(meta.mediaTime);
    if (captured !== null) push(this.estimates, now - captured);
    // Reading costs a copy of the frame: a stream that is not the test pattern is tried once a second.
    const tryCode = this.unreadable < UNREADABLE_RUN || now - this.lastTryAt > 1000;
    const painted = tryCode ? this.readCode(meta.width || this.video.videoWidth, meta.height || this.video.videoHeight) : null;
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
    this.arm();
  }

  /** The time code in the frame being shown, or null (not the test pattern, or unreadable). */
  private readCode(width: number, height: number): number | null {
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
    ctx.drawImage(this.video, 0, 0, width, height);
    return readTimeCode(ctx.getImageData(0, 0, region.width, region.height), width, height);
  }

  private render(): void {
    const now = localNow();
    const fresh = now - this.lastFrameAt < FRAMES_STALE_MS;
    if (!fresh) {
      // A re-started stream can drop a pending callback: ask again.
      if (this.handle !== null) this.video.cancelVideoFrameCallback?.(this.handle);
      this.arm();
    }
    const estimate = fresh ? median(this.estimates) : null;
    const measured = now - this.lastCodeAt < CODE_STALE_MS ? median(this.measured) : null;
    const lead = this.player.lead;
    const lines: string[] = [];
    if (!fresh) lines.push('latency: no new frames');
    else lines.push(estimate === null ? 'latency: waiting for timed media' : `latency ≈ ${Math.round(estimate)} ms`);
    if (measured !== null) lines.push(`test pattern: ${Math.round(measured)} ms`);
    if (lead !== null) lines.push(`buffer ${Math.round(lead * 1000)} ms`);
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
