// Tells a chunk that arrived late: one whose delay (arrival minus capture) is well above the
// stream's usual delay, the smallest of the recent past. The usual delay holds the clocks' offset
// error and the network's floor, so nothing here depends on the clocks agreeing. Pure.

/** The usual delay is the smallest seen over this window, ms. */
export const BASELINE_WINDOW_MS = 10_000;
/** A chunk this much later than usual is late, ms. */
export const LATE_MS = 300;
/** Delays kept at most (30 fps for 10 s, with room). */
const MAX_KEPT = 600;

export class ArrivalDelay {
  private delays: [number, number][] = [];

  constructor(
    private readonly lateMs = LATE_MS,
    private readonly windowMs = BASELINE_WINDOW_MS,
  ) {}

  /** Notes a chunk that arrived at `now` after `delay` ms; true when it is late. */
  late(now: number, delay: number): boolean {
    this.delays.push([now, delay]);
    while (this.delays.length > 0 && now - this.delays[0]![0] > this.windowMs) this.delays.shift();
    if (this.delays.length > MAX_KEPT) this.delays.shift();
    let usual = Infinity;
    for (const [, d] of this.delays) usual = Math.min(usual, d);
    return delay - usual > this.lateMs;
  }

  /** Forgets the past: the next chunk's delay is the usual one (a new stream, or the delay really changed). */
  reset(): void {
    this.delays = [];
  }
}
