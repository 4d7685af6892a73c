// The timeline's arithmetic: a window of wall time [from, to) drawn across a width, zoomed from a
// day to a minute around a point, and ticks at round times. Pure: no DOM.

export const MIN_SPAN_MS = 60_000;
export const MAX_SPAN_MS = 24 * 3600_000;

export interface View {
  from: number;
  to: number;
}

/** Where a time falls across `width` (may be outside 0..width). */
export function xOf(view: View, time: number, width: number): number {
  return ((time - view.from) / (view.to - view.from)) * width;
}

export function timeAt(view: View, x: number, width: number): number {
  return view.from + (x / Math.max(1, width)) * (view.to - view.from);
}

/** A view `span` long with `center` at the same place it was (clamped to a minute..a day). */
export function zoom(view: View, span: number, center: number): View {
  const s = Math.min(MAX_SPAN_MS, Math.max(MIN_SPAN_MS, span));
  const share = (center - view.from) / (view.to - view.from);
  const from = center - share * s;
  return { from, to: from + s };
}

/** Moves the view by a share of its span (negative: earlier). */
export function pan(view: View, share: number): View {
  const d = (view.to - view.from) * share;
  return { from: view.from + d, to: view.to + d };
}

const STEPS = [10_000, 30_000, 60_000, 5 * 60_000, 10 * 60_000, 30 * 60_000, 3600_000, 3 * 3600_000, 6 * 3600_000];

/** Round times to label, about one per `minPx` pixels. */
export function ticks(view: View, width: number, minPx = 90): number[] {
  const span = view.to - view.from;
  const step = STEPS.find((s) => (s / span) * width >= minPx) ?? 12 * 3600_000;
  // Local time's round marks: offset by the time zone so that hours fall on the hour here.
  const offset = new Date(view.from).getTimezoneOffset() * 60_000;
  const out: number[] = [];
  for (let t = Math.ceil((view.from - offset) / step) * step + offset; t < view.to; t += step) out.push(t);
  return out;
}

/** `14:05`, or `14:05:30` when the view is short. */
export function label(time: number, span: number): string {
  return new Date(time).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', ...(span <= 30 * 60_000 ? { second: '2-digit' } : {}) });
}
