// The live-edge policy: how far behind the newest buffered media playback may be, and what to do
// about it. Pure, so it is unit-tested; the player applies its decisions.

/** Tunables of the policy, in seconds. */
export interface LiveEdgeConfig {
  /** Lead over the live edge to aim for. */
  target: number;
  /** Above target + this, play a little faster to catch up (people do not notice 10%). */
  catchUpAbove: number;
  catchUpRate: number;
  /** Above this lead, play clearly faster: still smooth, and the decoder keeps its place. */
  fastCatchUpAbove: number;
  fastCatchUpRate: number;
  /** Above this lead for `jumpAfter` (a moment, not a blip), jump straight to the live edge: the watchdog. */
  jumpAbove: number;
  jumpAfter: number;
  /** A gap between ticks longer than this means the page was hidden or stalled: jump. */
  stallGap: number;
  /**
   * No jump this soon after the previous seek ended: a seek into a long group of pictures decodes
   * from its keyframe, and if it took long, jumping again would only start the same wait over.
   */
  seekCooldown: number;
  /** Playback that has not moved for this long while media is buffered ahead is stuck (a gap, a stall): jump. */
  stuckAfter: number;
}

/** Defaults, from the latency benchmark (docs/latency.md has what each one bought). */
export const DEFAULT_LIVE_EDGE: LiveEdgeConfig = {
  target: 0.1,
  catchUpAbove: 0.05,
  catchUpRate: 1.1,
  fastCatchUpAbove: 0.4,
  fastCatchUpRate: 1.5,
  jumpAbove: 0.8,
  jumpAfter: 0.3,
  stallGap: 1.0,
  seekCooldown: 1.0,
  stuckAfter: 1.0,
};

/**
 * The policy with overrides from a viewer link, for measuring: `lead` (target, s), `catchup`
 * (gentle rate), `jump` (watchdog threshold, s). Bad values are ignored with a warning.
 */
export function liveEdgeFromParams(params: URLSearchParams, base: LiveEdgeConfig = DEFAULT_LIVE_EDGE): { config: LiveEdgeConfig; warnings: string[] } {
  const config = { ...base };
  const warnings: string[] = [];
  const read = (name: string, min: number, max: number, apply: (v: number) => void): void => {
    const raw = params.get(name);
    if (raw === null) return;
    const v = Number(raw);
    if (raw.trim() !== '' && Number.isFinite(v) && v >= min && v <= max) apply(v);
    else warnings.push(`${name} must be a number from ${min} to ${max}; ignored.`);
  };
  read('lead', 0.02, 2, (v) => (config.target = v));
  read('catchup', 1, 2, (v) => (config.catchUpRate = v));
  read('jump', 0.2, 30, (v) => (config.jumpAbove = v));
  if (config.jumpAbove < config.target + 0.2 - 1e-9) {
    warnings.push(`jump must be at least lead + 0.2 s; using ${(config.target + 0.2).toFixed(2)}.`);
    config.jumpAbove = config.target + 0.2;
  }
  // Fast catch-up starts well above the target, and never above the jump.
  config.fastCatchUpAbove = Math.min(Math.max(config.fastCatchUpAbove, config.target + 0.3), config.jumpAbove);
  return { config, warnings };
}

/** What the player sees at one tick. */
export interface LiveEdgeInput {
  currentTime: number;
  /** Buffered ranges as [start, end] pairs, in order. */
  ranges: [number, number][];
  /** Seconds since the previous tick. */
  sinceLastTick: number;
  /** Current playback rate (catch-up goes on until the lead is back at target). */
  rate: number;
  /** No picture of this stream has been shown yet. */
  firstPicture: boolean;
  /** Seconds since the last seek ended (Infinity if none). */
  sinceSeek: number;
  /** Seconds since playback last moved forward by itself (seeks do not count). */
  stalledFor: number;
  /** Seconds the lead has been above `jumpAbove` without a break (0 when it is not). */
  behindFor: number;
  /**
   * The media that piled up during a stall is still being appended (optional, false when absent):
   * the buffered end is not the live edge yet, and a jump now would land in old media and then
   * hold off the real jump for the seek cooldown.
   */
  arriving?: boolean;
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
  const [start, end] = last;
  const inRange = input.ranges.some(([s, e]) => input.currentTime >= s && input.currentTime <= e);
  if (input.firstPicture && !inRange) {
    // The newest range starts at a keyframe: showing it needs one decoded frame, so a picture
    // appears at once; catching up to live comes after.
    return { seekTo: start, rate: 1 };
  }
  const liveTarget = Math.max(start, end - config.target);
  const lead = end - input.currentTime;
  if (!inRange || lead < 0) return { seekTo: liveTarget, rate: 1 };
  if (input.arriving) return { seekTo: null, rate: input.rate };
  // Stuck with media ahead (at a gap between ranges, or a decoder that lost its place): move on.
  const stuck = input.stalledFor > config.stuckAfter && input.sinceSeek > config.stuckAfter;
  if (stuck && lead > config.target + config.catchUpAbove) return { seekTo: liveTarget, rate: 1 };
  const behind = (lead > config.jumpAbove && input.behindFor >= config.jumpAfter) || (input.sinceLastTick > config.stallGap && lead > config.target + config.catchUpAbove);
  if (behind && input.sinceSeek >= config.seekCooldown) return { seekTo: liveTarget, rate: 1 };
  if (lead > config.fastCatchUpAbove) return { seekTo: null, rate: config.fastCatchUpRate };
  const catchingUp = input.rate > 1 && lead > config.target;
  if (catchingUp || lead > config.target + config.catchUpAbove) return { seekTo: null, rate: config.catchUpRate };
  return { seekTo: null, rate: 1 };
}
