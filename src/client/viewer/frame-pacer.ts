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
/**
 * No chunk for this long (or for 2.5 times the longest of the recent gaps, for a recorder that
 * hands over its frames seldom): the page, the network or the server stalled, and what piled up is
 * no measure of the camera's bursts.
 */
export const STALL_GAP_MS = 700;
export const STALL_GAP_FACTOR = 2.5;
/** After a stall, stop waiting for the decoder to get through the pile after this long (a decoder that never catches up). */
export const MAX_DRAIN_MS = 1000;
/** After a stall, a frame this much later than frames were before it still came behind the pile. */
const SETTLED_SLACK_MS = 50;

/** Chooses, at each animation frame, which of the waiting frames to show. */
export class FramePacer {
  /** [when it was decoded, how late it was: decoded − captured], ms, for the window. */
  private lateness: [number, number][] = [];
  private base = Infinity;
  private delayMs = 0;
  /** Frames captured before this (this page's clock, ms) came late because of a stall: not measured. */
  private stallEndedAt = -Infinity;
  /** Since a stall, while what piled up is still coming through (the frames behind it come late too): since when, or null. */
  private drainingSince: number | null = null;
  /** How late frames were shown before the stall (its quickest frames' lateness plus the delay), ms. */
  private usualLate = Infinity;

  /**
   * Nothing arrived for STALL_GAP_MS or more until `now` (a blocked page, a frozen network or
   * server). What piled up comes at once, up to seconds late, and the frames behind it wait for
   * the decoder (or the server) to get through it: measured, they would set the delay to the most
   * for the whole window (seconds behind live for no reason). Instead the window starts afresh
   * after the pile: with the first frame decoded with nothing much queued behind it, no later than
   * usual (+ SETTLED_SLACK_MS), or after MAX_DRAIN_MS; the frames captured before are not
   * measured. Until then the frames wait; then they are dropped but for the newest due one.
   */
  stalled(now: number): void {
    // (Stalled again while still waiting: how late frames were before the first stall still holds.)
    const usual = Number.isFinite(this.base) ? this.base + this.delayMs : this.usualLate;
    this.reset();
    this.usualLate = usual;
    this.stallEndedAt = now;
    this.drainingSince = now;
  }

  /**
   * A frame was decoded at `now` (this page's clock); it was captured at `captured`; `queued`:
   * chunks still waiting in the decoder.
   */
  decoded(captured: number, now: number, queued = 0): void {
    if (this.drainingSince !== null) {
      const settled = queued <= 1 && now - captured <= this.usualLate + SETTLED_SLACK_MS;
      if (!settled && now - this.drainingSince < MAX_DRAIN_MS) return;
      this.drainingSince = null;
      if (!settled) {
        // Waited long enough: measured again from the frames captured from now on.
        this.stallEndedAt = now;
        return;
      }
      // Through: this frame is as late as they come now; the ones captured before it came behind the pile.
      this.stallEndedAt = captured;
    }
    if (captured < this.stallEndedAt) return;
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
    this.stallEndedAt = -Infinity;
    this.drainingSince = null;
    this.usualLate = Infinity;
    this.lateness = [];
    this.base = Infinity;
    this.delayMs = 0;
  }
}
