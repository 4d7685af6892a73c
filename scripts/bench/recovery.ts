// Recovery after a stall, from the latency of each shown frame: when was the viewer back where it
// was, and for a whole second? Pure, so it is unit-tested; the latency benchmark uses it.

/** Latency samples: [wall ms, latency ms] per shown frame, in time order. */
export type Samples = readonly (readonly [number, number, ...number[]])[];

export interface Recovery {
  /** Where it was: the upper quartile of the 250 ms medians over the 3 s before the stall, ms. */
  baselineMs: number | null;
  /** Highest latency after the stall, ms. */
  peakMs: number | null;
  /** From the end of the stall until a whole second of 250 ms medians within 20 ms of the baseline; null: not within the window. */
  recoverMs: number | null;
}

export const BIN_MS = 250;
const BEFORE_MS = 3000;
const WITHIN_MS = 20;
/** Good bins in a row that count as back to normal (1 s). */
const RUN = 4;

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

/** Medians of consecutive bins from `from` to `to` (null for a bin with no frame: a frozen picture). */
function binMedians(samples: Samples, from: number, to: number): (number | null)[] {
  const out: (number | null)[] = [];
  for (let t = from; t + BIN_MS <= to; t += BIN_MS) out.push(median(samples.filter(([u]) => u >= t && u < t + BIN_MS).map((s) => s[1])));
  return out;
}

/**
 * Latency wanders by a frame or two even when nothing happens, so "where it was" is the upper
 * quartile of the 250 ms medians before the stall; a bin after it is behind when its median is more
 * than 20 ms above that, or when no frame was shown in it. Recovered: the start of the first run of
 * four bins (1 s) none of which is behind.
 */
export function recovery(samples: Samples, stallStart: number, stallEnd: number, windowEnd: number): Recovery {
  const before = binMedians(samples, stallStart - BEFORE_MS, stallStart).filter((m): m is number => m !== null).sort((a, b) => a - b);
  const baseline = before.length > 0 ? before[Math.floor((before.length - 1) * 0.75)]! : null;
  const after = samples.filter(([t]) => t >= stallEnd).map((s) => s[1]);
  const peakMs = after.length > 0 ? Math.max(...after) : null;
  if (baseline === null) return { baselineMs: null, peakMs, recoverMs: null };
  const bins = binMedians(samples, stallEnd, windowEnd);
  let good = 0;
  for (let i = 0; i < bins.length; i++) {
    const m = bins[i]!;
    good = m !== null && m <= baseline + WITHIN_MS ? good + 1 : 0;
    if (good === RUN) return { baselineMs: baseline, peakMs, recoverMs: (i - RUN + 1) * BIN_MS };
  }
  return { baselineMs: baseline, peakMs, recoverMs: null };
}
