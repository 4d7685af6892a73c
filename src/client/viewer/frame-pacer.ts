// When to show decoded frames of a camera whose frames arrive in bursts (a MediaRecorder camera:
// Firefox's hands over a few frames at a time). Drawing the newest frame at each animation frame, as
// the chunk player does for a WebCodecs camera, would show one frame of each burst; instead every
// frame is shown at its capture time plus a steady delay: how late frames arrive, at most
// MAX_DELAY_MS. Pure: no DOM, so it is unit-tested.

/** A burst later than this is not waited for: its frames are shown at once (newest first wins). */
export const MAX_DELAY_MS = 400;
/** The delay follows how late frames were over this window. */
const WINDOW_MS = 3000;
/** …taking this quantile of their lateness (a rare straggler does not set it). */
const QUANTILE = 0.9;

/** Chooses, at each animation frame, which of the waiting frames to show. */
export class FramePacer {
  /** [when it was decoded, how late it was: decoded − captured], ms, for the window. */
  private lateness: [number, number][] = [];
  private base = Infinity;
  private delayMs = 0;

  /** A frame was decoded at `now` (this page's clock); it was captured at `captured`. */
  decoded(captured: number, now: number): void {
    const late = now - captured;
    this.lateness.push([now, late]);
    while (this.lateness.length > 0 && now - this.lateness[0]![0] > WINDOW_MS) this.lateness.shift();
    const sorted = this.lateness.map(([, l]) => l).sort((a, b) => a - b);
    this.base = sorted[0] ?? late;
    const high = sorted[Math.min(sorted.length - 1, Math.floor(QUANTILE * sorted.length))] ?? late;
    // The steady delay beyond the quickest frame of the window: the bursts' spread.
    this.delayMs = Math.min(MAX_DELAY_MS, Math.max(0, high - this.base));
  }

  /** How much later than the quickest frames a frame is shown, ms. */
  get delay(): number {
    return this.delayMs;
  }

  /**
   * Of frames waiting (their capture times, oldest first), how many are due at `now`: the newest
   * due one is shown, those before it are dropped, the rest wait.
   */
  due(captured: readonly number[], now: number): number {
    const showBefore = now - this.base - this.delayMs;
    let n = 0;
    while (n < captured.length && captured[n]! <= showBefore) n++;
    return n;
  }

  reset(): void {
    this.lateness = [];
    this.base = Infinity;
    this.delayMs = 0;
  }
}
