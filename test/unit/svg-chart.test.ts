// The benchmark chart writer: well-formed, escaped, nice ticks, gaps, thinning that keeps spikes, small output.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { escapeXml, lineChart, niceStep, splitSegments, thinToPixels, type LineChartOptions } from '../../scripts/bench/svg-chart.ts';

const base = (extra: Partial<LineChartOptions> = {}): LineChartOptions => ({
  title: 'Glass-to-glass latency',
  xLabel: 'time (s)',
  yLabel: 'latency (ms)',
  series: [
    { name: 'MediaRecorder → MSE', points: Array.from({ length: 120 }, (_, i) => [i * 0.5, 300 + 40 * Math.sin(i / 7)] as [number, number]) },
    { name: 'WebRTC', points: Array.from({ length: 120 }, (_, i) => [i * 0.5, 120 + 15 * Math.cos(i / 5)] as [number, number]) },
  ],
  markers: [{ x: 20, label: 'stall injected' }],
  bands: [{ from: 20, to: 22, label: '2 s stall' }],
  ...extra,
});

/** Throws unless every opening tag has its closing tag, properly nested. */
function assertBalanced(svg: string): void {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([A-Za-z][\w:.-]*)\b[^<>]*?(\/?)>/g)) {
    const [, close, name, selfClose] = m;
    if (selfClose) continue;
    if (close) assert.equal(stack.pop(), name, `closing </${name}> at ${m.index}`);
    else stack.push(name!);
  }
  assert.deepEqual(stack, [], 'unclosed tags');
  // Nothing but tags may contain a raw '<'; every '&' starts an entity.
  assert.equal(svg.replace(/<\/?[A-Za-z][^<>]*>/g, '').includes('<'), false, 'stray <');
  assert.equal(/&(?!amp;|lt;|gt;|quot;|#\d+;)/.test(svg), false, 'bare &');
}

/** The numbers of the tick labels of one axis. */
const ticks = (svg: string, axis: 'x' | 'y') => [...svg.matchAll(new RegExp(`class="tick-${axis}"[^>]*>([^<]*)<`, 'g'))].map((m) => Number(m[1]));

/** The `d` of each series' line. */
const seriesPaths = (svg: string) => [...svg.matchAll(/<path d="([^"]*)" fill="none" stroke="[^"]*" stroke-width="1.6"/g)].map((m) => m[1]!);

/** Whether `v` is 1, 2 or 5 × 10^k. */
const isNice = (v: number) => {
  const m = v / 10 ** Math.floor(Math.log10(v) + 1e-9);
  return [1, 2, 5, 10].some((n) => Math.abs(m - n) < 1e-6);
};

describe('svg line chart', () => {
  it('is a self-contained, balanced SVG document with title, legend and axis labels', () => {
    const svg = lineChart(base());
    assert.ok(svg.startsWith('<svg'));
    assert.match(svg, /^<svg[^>]* xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assertBalanced(svg);
    assert.ok(svg.includes('>Glass-to-glass latency</text>'));
    assert.ok(svg.includes('class="legend">MediaRecorder → MSE</text>'));
    assert.ok(svg.includes('class="legend">WebRTC</text>'));
    assert.ok(svg.includes('>time (s)</text>') && svg.includes('>latency (ms)</text>'));
    assert.ok(svg.includes('>stall injected</text>') && svg.includes('>2 s stall</text>'));
    assert.doesNotMatch(svg, /<script|<style|href=|url\(|@import/i, 'nothing fetched or run');
    assert.equal(seriesPaths(svg).length, 2, 'one path per series');
  });

  it('ticks are evenly spaced nice numbers covering the data', () => {
    for (const [lo, hi] of [[0, 59.5], [0, 0.37], [3, 1234], [0, 7]] as const) {
      const svg = lineChart(base({ series: [{ name: 's', points: [[lo, lo], [hi, hi]] }], markers: [], bands: [] }));
      for (const axis of ['x', 'y'] as const) {
        const t = ticks(svg, axis);
        assert.ok(t.length >= 3, `${axis} has ticks: ${t}`);
        const step = t[1]! - t[0]!;
        assert.ok(isNice(step), `${axis} step ${step} is nice`);
        t.forEach((v, i) => assert.ok(Math.abs(v - t[0]! - i * step) < step * 1e-6, `${axis} evenly spaced: ${t}`));
        t.forEach((v) => assert.ok(Math.abs(v / step - Math.round(v / step)) < 1e-6, `${axis} ticks are multiples of the step: ${t}`));
      }
      const y = ticks(svg, 'y');
      assert.equal(y[0], 0, 'y starts at 0 by default');
      assert.ok(y[y.length - 1]! >= hi, 'y covers the data');
    }
    for (const [span, n] of [[59.5, 10], [0.37, 6], [1234, 6], [1e-3, 3], [7e8, 4]] as const) assert.ok(isNice(niceStep(span, n)), `${span}/${n}`);
  });

  it('log scale ticks are powers of ten times 1, 2, 5', () => {
    const svg = lineChart(base({ logY: true, series: [{ name: 'a', points: [[0, 3], [1, 40], [2, 900], [3, 0]] }] }));
    assertBalanced(svg);
    const y = ticks(svg, 'y');
    assert.ok(y.length >= 3 && y.every(isNice), `${y}`);
    assert.ok(y[0]! <= 3 && y[y.length - 1]! >= 900, `${y}`);
    assert.match(svg, /clipped below/, 'a zero cannot be drawn on a log scale');
  });

  it('escapes hostile text everywhere', () => {
    const evil = '<script>alert("x")</script> & \'q\'';
    const svg = lineChart({
      title: evil, xLabel: evil, yLabel: evil,
      series: [{ name: evil, points: [[0, 1], [1, 2]], color: '"/><script>alert(1)</script>' }],
      markers: [{ x: 0.5, label: evil }], bands: [{ from: 0.2, to: 0.4, label: evil }],
    });
    assertBalanced(svg);
    assert.doesNotMatch(svg, /<script/i);
    assert.ok(svg.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;'));
    assert.equal(escapeXml('a\u0000b'), 'a\ufffdb', 'characters XML forbids are replaced');
  });

  it('draws empty and degenerate input without throwing', () => {
    for (const series of [[], [{ name: 'empty', points: [] }], [{ name: 'NaN', points: [[NaN, 1], [1, Infinity]] }], [{ name: 'one', points: [[5, 5]] }], [{ name: 'zeros', points: [[0, 0], [1, 0]] }]] as LineChartOptions['series'][]) {
      const svg = lineChart(base({ series, markers: [], bands: [] }));
      assertBalanced(svg);
      assert.ok(ticks(svg, 'y').every(Number.isFinite) && ticks(svg, 'x').every(Number.isFinite));
    }
    assert.match(lineChart(base({ series: [] })), />no data</);
    assert.match(lineChart(base({ series: [{ name: 'one', points: [[5, 5]] }] })), /h0/, 'a lone point is a dot');
    assert.throws(() => lineChart(base({ yMin: 5, yMax: 5 })), RangeError);
  });

  it('clips points above yMax to the top edge and says so', () => {
    const svg = lineChart(base({ yMax: 200 }));
    assertBalanced(svg);
    assert.match(svg, /clipped above 200</);
    const y = ticks(svg, 'y');
    assert.equal(y[y.length - 1], 200);
    assert.doesNotMatch(lineChart(base()), /clipped/);
  });

  it('skips non-finite points and breaks lines at gaps, not at regular spacing', () => {
    const pts: [number, number][] = [];
    for (let i = 0; i <= 100; i++) if (i < 40 || i > 60) pts.push([i, i % 3]);
    pts.splice(10, 0, [NaN, 1], [11, NaN]);
    const segs = splitSegments(pts);
    assert.equal(segs.length, 2);
    assert.equal(segs[0]!.length, 40);
    assert.equal(segs[1]![0]![0], 61);
    assert.equal(splitSegments([[2, 1], [0, 1], [1, 1]]).length, 1, 'sorted by x, one line');
    const svg = lineChart(base({ series: [{ name: 'gappy', points: pts }] }));
    const lines = seriesPaths(svg);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.split('M').length - 1, 2, 'two subpaths');
  });

  it('thins to two points per pixel column and keeps a spike', () => {
    const pts: [number, number][] = Array.from({ length: 1000 }, (_, i) => [i / 100, i === 537 ? 999 : 10 + (i % 7)]);
    const thin = thinToPixels(pts);
    assert.ok(thin.length <= 20, `${thin.length} points for 10 columns`);
    assert.ok(thin.some(([, y]) => y === 999), 'spike kept');
    assert.ok(thin.some(([, y]) => y === 10), 'floor kept');
    for (let i = 1; i < thin.length; i++) assert.ok(thin[i]![0] >= thin[i - 1]![0], 'x order kept');

    const spiky = Array.from({ length: 20_000 }, (_, i) => [i / 100, i === 12_345 ? 5000 : 100] as [number, number]);
    const svg = lineChart(base({ series: [{ name: 'spiky', points: spiky }], yMax: 6000, markers: [], bands: [] }));
    const top = Math.min(...[...seriesPaths(svg)[0]!.matchAll(/[ML][\d.]+ ([\d.]+)/g)].map((m) => Number(m[1])));
    const [, plotTop, plotBottom] = (/M[\d.]+ ([\d.]+)V([\d.]+)H[\d.]+" stroke="#666"/.exec(svg) ?? []).map(Number);
    assert.ok(top < plotTop! + 0.2 * (plotBottom! - plotTop!), `spike drawn near the top (${top}, plot ${plotTop}..${plotBottom})`);
  });

  it('keeps 100k points small', () => {
    const n = 100_000;
    const svg = lineChart(base({
      series: [
        { name: 'a', points: Array.from({ length: n }, (_, i) => [i / 1000, 200 + 50 * Math.sin(i / 300) + (i % 97)] as [number, number]) },
        { name: 'b', points: Array.from({ length: n }, (_, i) => [i / 1000, 80 + (i * 7919) % 61] as [number, number]) },
      ],
    }));
    assertBalanced(svg);
    assert.ok(svg.length < 200_000, `${svg.length} bytes`);
  });
});
