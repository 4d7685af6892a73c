// Dependency-free SVG line charts for benchmark results (e.g. latency over time per configuration).
// The output is a self-contained SVG document (no fonts, CSS or scripts to fetch) on its own white
// background, so it reads the same in a README on GitHub in light or dark mode.

/** One line of the chart: [x, y] points, drawn in x order. Non-finite points are skipped. */
export interface ChartSeries {
  name: string;
  points: [number, number][];
  /** Any SVG colour; defaults to the next colour of the palette. */
  color?: string;
}

/** A dashed vertical line at `x` with a label (e.g. "stall injected"). */
export interface ChartMarker {
  x: number;
  label: string;
}

/** A shaded x range with a label (e.g. the 2 s of an injected stall). */
export interface ChartBand {
  from: number;
  to: number;
  label: string;
}

/** What to draw and how. */
export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  markers?: ChartMarker[];
  bands?: ChartBand[];
  /** Pixels; default 900. */
  width?: number;
  /** Pixels; default 420. */
  height?: number;
  /** Bottom of the y axis; default 0 (or lower if the data goes below 0; with logY, a nice value under the data). */
  yMin?: number;
  /** Top of the y axis; default a nice round value over the data. Points beyond it are drawn on the edge, with a note. */
  yMax?: number;
  /** Logarithmic y axis (yMin must then be > 0; points <= 0 are drawn on the bottom edge). */
  logY?: boolean;
  /** A line breaks where consecutive x values are further apart than this times the median spacing (default 5; Infinity: never, for points measured at uneven x). */
  gapFactor?: number;
}

/** The default colours, in order: Okabe–Ito hues (told apart by most colour-blind readers), darkened where faint on white. */
export const CHART_PALETTE: readonly string[] = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000', '#8c6d1f'];

const FONT = 'Helvetica, Arial, sans-serif';
const TEXT = '#222';
const MUTED = '#666';
const GRID = '#e5e5e5';
/** A line breaks where consecutive x values are further apart than this times the series' median spacing. */
const GAP_FACTOR = 5;

/** `s` safe inside SVG text and attribute values (also drops characters XML does not allow at all). */
export function escapeXml(s: string): string {
  return String(s)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A step of 1, 2 or 5 × 10^k near `span / count`. */
export function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const f = raw / pow;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * pow;
}

/** Multiples of `step` within [lo, hi] (with a little tolerance for rounding). */
export function linearTicks(lo: number, hi: number, step: number): number[] {
  const eps = 1e-9;
  const out: number[] = [];
  for (let i = Math.ceil(lo / step - eps); i <= Math.floor(hi / step + eps); i++) out.push(cleanNumber(i * step));
  return out;
}

/** Rounds away binary noise such as 0.30000000000000004. */
function cleanNumber(v: number): number {
  return v === 0 ? 0 : Number(v.toPrecision(12));
}

/** A tick value as text, without float noise or exponents for everyday magnitudes. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e15 || a < 1e-6) return v.toExponential().replace('e+', 'e');
  return String(cleanNumber(v));
}

/** A coordinate rounded to 0.1 px, as short text. */
function px(v: number): string {
  const r = Math.round(v * 10) / 10;
  return r === 0 ? '0' : String(r);
}

/** Rough width of `s` in a sans-serif font of `size` px (for layout only; errs wide). */
function textWidth(s: string, size: number): number {
  let w = 0;
  for (const ch of s) w += /[il.,:;'|!1 ]/.test(ch) ? 0.32 : /[MWmw@]/.test(ch) ? 0.85 : /[A-Z]/.test(ch) ? 0.68 : 0.56;
  return w * size;
}

/** The median of positive differences between consecutive xs (Infinity if there are none). */
function medianSpacing(xs: number[]): number {
  const d: number[] = [];
  for (let i = 1; i < xs.length; i++) {
    const g = xs[i]! - xs[i - 1]!;
    if (g > 0) d.push(g);
  }
  if (d.length === 0) return Infinity;
  d.sort((a, b) => a - b);
  return d[Math.floor((d.length - 1) / 2)]!;
}

/**
 * The finite points of a series, in x order, split where the x spacing jumps beyond
 * GAP_FACTOR × the median spacing (so missing data shows as a gap, not as a straight line).
 */
export function splitSegments(points: readonly (readonly [number, number])[], gapFactor = GAP_FACTOR): [number, number][][] {
  const pts = points.filter((p): p is [number, number] => Number.isFinite(p[0]) && Number.isFinite(p[1])).map((p) => [p[0], p[1]] as [number, number]);
  pts.sort((a, b) => a[0] - b[0]);
  if (pts.length === 0) return [];
  const limit = gapFactor * medianSpacing(pts.map((p) => p[0]));
  const segments: [number, number][][] = [[pts[0]!]];
  for (let i = 1; i < pts.length; i++) {
    if (pts[i]![0] - pts[i - 1]![0] > limit) segments.push([]);
    segments[segments.length - 1]!.push(pts[i]!);
  }
  return segments;
}

/**
 * Pixel points thinned to at most two per pixel column: the lowest and the highest of each column,
 * in their original order, so spikes survive. Input must be in x order.
 */
export function thinToPixels(pts: readonly (readonly [number, number])[]): [number, number][] {
  const out: [number, number][] = [];
  let i = 0;
  while (i < pts.length) {
    const col = Math.floor(pts[i]![0]);
    let j = i;
    let lo = i;
    let hi = i;
    while (j < pts.length && Math.floor(pts[j]![0]) === col) {
      if (pts[j]![1] < pts[lo]![1]) lo = j;
      if (pts[j]![1] > pts[hi]![1]) hi = j;
      j++;
    }
    if (j - i <= 2) for (let k = i; k < j; k++) out.push([pts[k]![0], pts[k]![1]]);
    else for (const k of lo === hi ? [lo] : lo < hi ? [lo, hi] : [hi, lo]) out.push([pts[k]![0], pts[k]![1]]);
    i = j;
  }
  return out;
}

/** A scale from data to pixels, with its ticks. */
interface Axis {
  lo: number;
  hi: number;
  ticks: number[];
  toPx(v: number): number;
}

function linearAxis(lo: number, hi: number, p0: number, p1: number, ticks: number[]): Axis {
  return { lo, hi, ticks, toPx: (v) => p0 + ((v - lo) / (hi - lo)) * (p1 - p0) };
}

/** The largest m × 10^k (m in 1, 2, 5) at most v (v > 0). */
function logFloor(v: number): number {
  const pow = 10 ** Math.floor(Math.log10(v));
  const m = v / pow;
  return cleanNumber((m >= 5 ? 5 : m >= 2 ? 2 : 1) * pow);
}

/** The smallest m × 10^k (m in 1, 2, 5) at least v (v > 0). */
function logCeil(v: number): number {
  const pow = 10 ** Math.floor(Math.log10(v));
  const m = v / pow;
  return cleanNumber((m <= 1 + 1e-9 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * pow);
}

/** Ticks of a log axis: 1, 2, 5 × 10^k over a few decades, powers of ten over more. */
function logTicks(lo: number, hi: number): number[] {
  const k0 = Math.floor(Math.log10(lo));
  const k1 = Math.ceil(Math.log10(hi));
  const mults = k1 - k0 <= 3 ? [1, 2, 5] : [1];
  const out: number[] = [];
  for (let k = k0; k <= k1; k++) for (const m of mults) {
    const v = cleanNumber(m * 10 ** k);
    if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
  }
  return out;
}

/** A label to place along the top of the plot (marker or band). */
interface TopLabel {
  x: number;
  text: string;
}

/** An SVG document (string) of the series as lines, with title, legend, axes, markers and bands. */
export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 900;
  const height = options.height ?? 420;
  if (!(width > 0 && height > 0 && Number.isFinite(width) && Number.isFinite(height))) throw new RangeError('lineChart: width and height must be positive');
  const logY = options.logY === true;
  if (options.yMin !== undefined && options.yMax !== undefined && !(options.yMin < options.yMax)) throw new RangeError('lineChart: yMin must be below yMax');
  if (logY && options.yMin !== undefined && !(options.yMin > 0)) throw new RangeError('lineChart: yMin must be > 0 with logY');
  const markers = (options.markers ?? []).filter((m) => Number.isFinite(m.x));
  const bands = (options.bands ?? []).filter((b) => Number.isFinite(b.from) && Number.isFinite(b.to)).map((b) => ({ ...b, from: Math.min(b.from, b.to), to: Math.max(b.from, b.to) }));
  const series = options.series.map((s, i) => ({
    name: s.name,
    color: s.color ?? CHART_PALETTE[i % CHART_PALETTE.length]!,
    segments: splitSegments(s.points, options.gapFactor),
  }));

  // Data extents.
  let xMin = Infinity;
  let xMax = -Infinity;
  let yDataMin = Infinity;
  let yDataMax = -Infinity;
  let yPosMin = Infinity;
  for (const s of series) for (const seg of s.segments) for (const [x, y] of seg) {
    xMin = Math.min(xMin, x);
    xMax = Math.max(xMax, x);
    yDataMin = Math.min(yDataMin, y);
    yDataMax = Math.max(yDataMax, y);
    if (y > 0) yPosMin = Math.min(yPosMin, y);
  }
  const hasData = xMin <= xMax;
  for (const m of markers) [xMin, xMax] = [Math.min(xMin, m.x), Math.max(xMax, m.x)];
  for (const b of bands) [xMin, xMax] = [Math.min(xMin, b.from), Math.max(xMax, b.to)];
  if (!(xMin <= xMax)) [xMin, xMax] = [0, 1];
  if (xMin === xMax) [xMin, xMax] = [xMin - 1, xMax + 1];

  // Layout, top to bottom: title, legend rows, (clip note), plot, x ticks, x label.
  const titleSize = 16;
  const fontSize = 12;
  const pad = 12;
  const titleY = pad + titleSize;
  const legendItems = series.map((s) => ({ ...s, w: 24 + textWidth(s.name, fontSize) }));
  const legendRows: { x: number; item: (typeof legendItems)[number] }[][] = [];
  {
    const left = pad + 10;
    const right = width - pad;
    let x = left;
    for (const item of legendItems) {
      if (legendRows.length === 0 || (x + item.w > right && x > left)) {
        legendRows.push([]);
        x = left;
      }
      legendRows[legendRows.length - 1]!.push({ x, item });
      x += item.w + 20;
    }
  }
  const legendTop = titleY + 10;
  const legendRowH = 18;
  const legendBottom = legendTop + legendRows.length * legendRowH;

  // The y axis first (its tick labels set the left margin), with the plot's vertical extent.
  const plotBottom = height - 48;
  const noteH = 14;
  // Whether clipping happens depends on the y range only, so the range is settled before the layout needs it.
  let yLo: number;
  let yHi: number;
  let yTicks: number[];
  const yCount = Math.max(2, Math.round((plotBottom - legendBottom - noteH) / 55));
  if (logY) {
    yLo = options.yMin ?? (yPosMin < Infinity ? logFloor(yPosMin) : 1);
    yHi = options.yMax ?? (yDataMax > 0 ? logCeil(yDataMax) : yLo * 10);
    if (!(yHi > yLo)) yHi = logCeil(yLo * 10);
    yTicks = logTicks(yLo, yHi);
  } else {
    const dataLo = yDataMin < Infinity ? Math.min(0, yDataMin) : 0;
    const dataHi = yDataMax > -Infinity ? yDataMax : 1;
    const lo0 = options.yMin ?? dataLo;
    const hi0 = options.yMax ?? (dataHi > lo0 ? dataHi : lo0 + 1);
    const step = niceStep(hi0 - lo0, yCount);
    yLo = options.yMin ?? Math.floor(lo0 / step + 1e-9) * step;
    yHi = options.yMax ?? Math.ceil(hi0 / step - 1e-9) * step;
    if (!(yHi > yLo)) yHi = yLo + step;
    yTicks = linearTicks(yLo, yHi, niceStep(yHi - yLo, yCount));
  }
  const clippedAbove = hasData && yDataMax > yHi * (1 + 1e-12);
  const clippedBelow = hasData && (logY ? yDataMin < yLo || yPosMin === Infinity : yDataMin < yLo - Math.abs(yLo) * 1e-12);
  const plotTop = legendBottom + (clippedAbove || clippedBelow ? noteH + 4 : 6);
  const yLabelX = pad + 4;
  const plotLeft = Math.ceil(yLabelX + 14 + Math.max(...yTicks.map((t) => textWidth(formatTick(t), fontSize)), 10) + 10);
  const plotRight = width - pad - 8;
  const yAxis: Axis = logY
    ? { lo: yLo, hi: yHi, ticks: yTicks, toPx: (v) => plotBottom + ((Math.log10(v) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo))) * (plotTop - plotBottom) }
    : linearAxis(yLo, yHi, plotBottom, plotTop, yTicks);
  const yPx = (v: number) => (logY && !(v > 0) ? plotBottom : Math.min(plotBottom, Math.max(plotTop, yAxis.toPx(v))));

  // The x axis: extended to round values when that costs little, else the data's own extent.
  const xStep = niceStep(xMax - xMin, Math.max(2, Math.round((plotRight - plotLeft) / 80)));
  const niceLo = Math.floor(xMin / xStep + 1e-9) * xStep;
  const niceHi = Math.ceil(xMax / xStep - 1e-9) * xStep;
  const [xLo, xHi] = niceHi - niceLo <= 1.15 * (xMax - xMin) ? [niceLo, niceHi] : [xMin, xMax];
  const xAxis = linearAxis(xLo, xHi, plotLeft, plotRight, linearTicks(xLo, xHi, xStep));

  const out: string[] = [];
  const t = (x: number, y: number, text: string, attrs = '') => `<text x="${px(x)}" y="${px(y)}"${attrs}>${escapeXml(text)}</text>`;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" font-size="${fontSize}" fill="${TEXT}" role="img" aria-label="${escapeXml(options.title)}">`,
    `<title>${escapeXml(options.title)}</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
  );

  // Bands, under everything else.
  for (const b of bands) {
    const x0 = xAxis.toPx(b.from);
    const x1 = xAxis.toPx(b.to);
    out.push(`<rect x="${px(x0)}" y="${px(plotTop)}" width="${px(Math.max(1, x1 - x0))}" height="${px(plotBottom - plotTop)}" fill="#f0b429" fill-opacity="0.18"/>`);
  }

  // Grid, ticks and tick labels.
  const grid: string[] = [];
  const tickMarks: string[] = [];
  for (const v of yAxis.ticks) {
    const y = px(yAxis.toPx(v));
    grid.push(`M${px(plotLeft)} ${y}H${px(plotRight)}`);
    tickMarks.push(`M${px(plotLeft - 4)} ${y}h4`);
    out.push(t(plotLeft - 7, yAxis.toPx(v) + 4, formatTick(v), ' class="tick-y" text-anchor="end"'));
  }
  for (const v of xAxis.ticks) {
    const x = px(xAxis.toPx(v));
    grid.push(`M${x} ${px(plotTop)}V${px(plotBottom)}`);
    tickMarks.push(`M${x} ${px(plotBottom)}v4`);
    out.push(t(xAxis.toPx(v), plotBottom + 17, formatTick(v), ' class="tick-x" text-anchor="middle"'));
  }
  grid.push(`M${px(plotLeft)} ${px(plotTop)}H${px(plotRight)}V${px(plotBottom)}`); // a light frame: where clipping happens
  out.push(`<path d="${grid.join('')}" stroke="${GRID}" stroke-width="1" fill="none"/>`);
  out.push(`<path d="${tickMarks.join('')}M${px(plotLeft)} ${px(plotTop)}V${px(plotBottom)}H${px(plotRight)}" stroke="${MUTED}" stroke-width="1" fill="none"/>`);

  // Axis labels and title.
  out.push(t((plotLeft + plotRight) / 2, height - 10, options.xLabel, ' text-anchor="middle" font-size="13"'));
  out.push(t(yLabelX, (plotTop + plotBottom) / 2, options.yLabel, ` text-anchor="middle" font-size="13" dy="0.7em" transform="rotate(-90 ${px(yLabelX)} ${px((plotTop + plotBottom) / 2)})"`));
  out.push(t(width / 2, titleY, options.title, ` text-anchor="middle" font-size="${titleSize}" font-weight="bold"`));

  // Series.
  for (const s of series) {
    const d: string[] = [];
    for (const seg of s.segments) {
      const pix = thinToPixels(seg.map(([x, y]) => [xAxis.toPx(x), yPx(y)] as [number, number]));
      let last = '';
      let n = 0;
      for (const [x, y] of pix) {
        const here = `${px(x)} ${px(y)}`;
        if (here === last) continue;
        d.push(`${n === 0 ? 'M' : 'L'}${here}`);
        last = here;
        n++;
      }
      if (n === 1) d.push('h0'); // a lone point: a dot, thanks to the round cap
    }
    if (d.length > 0) out.push(`<path d="${d.join('')}" fill="none" stroke="${escapeXml(s.color)}" stroke-width="1.6" stroke-linejoin="round" stroke-linecap="round"/>`);
  }

  // Markers and the labels of markers and bands, stacked in rows where they would overlap.
  const topLabels: TopLabel[] = [...bands.map((b) => ({ x: xAxis.toPx(b.from), text: b.label })), ...markers.map((m) => ({ x: xAxis.toPx(m.x), text: m.label }))];
  for (const m of markers) {
    const x = px(xAxis.toPx(m.x));
    out.push(`<path d="M${x} ${px(plotTop)}V${px(plotBottom)}" stroke="#444" stroke-width="1" stroke-dasharray="4 3" fill="none"/>`);
  }
  topLabels.sort((a, b) => a.x - b.x);
  for (let i = topLabels.length - 1; i >= 0; i--) if (topLabels[i]!.text.trim() === '') topLabels.splice(i, 1);
  const rowEnds: number[] = [];
  for (const l of topLabels) {
    const w = textWidth(l.text, 11);
    const toRight = l.x + 4 + w <= plotRight;
    const start = toRight ? l.x + 4 : l.x - 4 - w;
    let row = rowEnds.findIndex((end) => end + 6 <= start);
    if (row === -1) row = rowEnds.length;
    rowEnds[row] = start + w;
    const y = plotTop + 14 + row * 14;
    out.push(t(toRight ? l.x + 4 : l.x - 4, y, l.text, ` font-size="11" fill="#333" text-anchor="${toRight ? 'start' : 'end'}" stroke="#fff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"`));
  }

  // Legend.
  legendRows.forEach((row, r) => {
    const y = legendTop + r * legendRowH + legendRowH / 2;
    for (const { x, item } of row) {
      out.push(`<path d="M${px(x)} ${px(y)}h16" stroke="${escapeXml(item.color)}" stroke-width="3" stroke-linecap="round"/>`);
      out.push(t(x + 22, y + 4, item.name, ' class="legend"'));
    }
  });

  // Notes: clipping, no data.
  const notes: string[] = [];
  if (clippedAbove) notes.push(`clipped above ${formatTick(yHi)}`);
  if (clippedBelow) notes.push(`clipped below ${formatTick(yLo)}`);
  if (notes.length > 0) out.push(t(plotRight, plotTop - 5, notes.join(', '), ` class="note" text-anchor="end" font-size="11" font-style="italic" fill="${MUTED}"`));
  if (!hasData) out.push(t((plotLeft + plotRight) / 2, (plotTop + plotBottom) / 2, 'no data', ` text-anchor="middle" fill="${MUTED}"`));

  out.push('</svg>');
  return out.join('\n') + '\n';
}
