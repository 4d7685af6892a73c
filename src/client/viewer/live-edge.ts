// The live-edge policy: how far behind the newest buffered media playback may be, and what to do
// about it. Pure, so it is unit-tested; the player applies its decisions.

/** Tunables of the policy, in seconds. */
export interface LiveEdgeConfig {
  /** Lead over the live edge to aim for. */
  target: number;
  /** Above target + this, play faster to catch up. */
  catchUpAbove: number;
  /** Catch-up playback rate (gentle: people do not notice 10%). */
  catchUpRate: number;
  /** Above this lead, jump straight to the live edge. */
  jumpAbove: number;
  /** A gap between ticks longer than this means the page was hidden or stalled: jump. */
  stallGap: number;
}

export const DEFAULT_LIVE_EDGE: LiveEdgeConfig = { target: 0.3, catchUpAbove: 0.2, catchUpRate: 1.1, jumpAbove: 1.5, stallGap: 1.0 };

/** What the player sees at one tick. */
export interface LiveEdgeInput {
  currentTime: number;
  /** Buffered ranges as [start, end] pairs, in order. */
  ranges: [number, number][];
  /** Seconds since the previous tick. */
  sinceLastTick: number;
  /** Current playback rate (catch-up goes on until the lead is back at target). */
  rate: number;
}

/** What to do: seek somewhere, and the playback rate. */
export interface LiveEdgeDecision {
  seekTo: number | null;
  rate: number;
}

/** Decides a seek and playback rate that keep playback close to the live edge. */
export function decideLiveEdge(input: LiveEdgeInput, config: LiveEdgeConfig = DEFAULT_LIVE_EDGE): LiveEdgeDecision {
  const last = input.ranges[input.ranges.length - 1];
  if (!last) return { seekTo: null, rate: 1 };
  const [, end] = last;
  const liveTarget = Math.max(last[0], end - config.target);
  const inRange = input.ranges.some(([s, e]) => input.currentTime >= s && input.currentTime <= e);
  const lead = end - input.currentTime;
  if (!inRange || lead > config.jumpAbove || lead < 0 || (input.sinceLastTick > config.stallGap && lead > config.target + config.catchUpAbove)) {
    return { seekTo: liveTarget, rate: 1 };
  }
  const catchingUp = input.rate > 1 && lead > config.target;
  if (catchingUp || lead > config.target + config.catchUpAbove) return { seekTo: null, rate: config.catchUpRate };
  return { seekTo: null, rate: 1 };
}
