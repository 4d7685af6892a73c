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
  private canvas: HTMLCanvasElement | null = null;
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
    this.estimates = [];
    this.measured = [];
    this.canvas = null;
    for (const k of ['latencyEstimateMs', 'latencyMeasuredMs', 'leadMs']) delete this.tile.dataset[k];
  }

  private arm(): void {
    // Without requestVideoFrameCallback (old browsers) only the buffer is shown.
    if (this.on && this.video.requestVideoFrameCallback) this.handle = this.video.requestVideoFrameCallback((_now, meta) => this.onFrame(meta));
  }

  private onFrame(meta: { mediaTime: number; width: number; height: number }): void {
    this.handle = null;
    if (!this.on) return;
    const now = localNow();
    const captured = this.player.captureTimeAt(meta.mediaTime);
    if (captured !== null) push(this.estimates, now - captured);
    const painted = this.readCode(meta.width || this.video.videoWidth, meta.height || this.video.videoHeight);
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
    this.canvas ??= document.createElement('canvas');
    const c = this.canvas;
    if (c.width !== region.width || c.height !== region.height) {
      c.width = region.width;
      c.height = region.height;
    }
    const ctx = c.getContext('2d', { willReadFrequently: true });
    if (!ctx) return null;
    // The whole frame at its own size, clipped to the region that holds the code.
    ctx.drawImage(this.video, 0, 0, width, height);
    return readTimeCode(ctx.getImageData(0, 0, region.width, region.height), width, height);
  }

  private render(): void {
    const estimate = median(this.estimates);
    const measured = localNow() - this.lastCodeAt < CODE_STALE_MS ? median(this.measured) : null;
    const lead = this.player.lead;
    const lines: string[] = [];
    lines.push(estimate === null ? 'latency: waiting for timed media' : `latency ≈ ${Math.round(estimate)} ms`);
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
