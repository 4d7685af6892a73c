// `npm run bench:fanout`: how the server fans one camera out to many viewers, against the simplest
// possible relay on the same load. Every party is its own process on loopback: the server (the
// product, or naive-relay.ts), one synthetic camera replaying a real ~2 Mbit/s WebCodecs capture in
// real time (fanout-camera.ts), and the viewers spread over a few worker processes
// (fanout-viewers.ts), each viewer its own TLS WebSocket from its own 127.0.x.y address.
// For each number of viewers: server CPU and RSS, relay delay (the camera's send stamp → a viewer's
// receive: the time in the server, plus the loopback hops and the viewer workers' own TLS and event
// loops, which share the 2 cores; the same for both relays) p50/p99, and what was dropped. Then the
// stalled scenario: a tenth of the viewers stop reading (and come back, and stop again), while the
// server's RSS is sampled every second and the healthy viewers' delay is compared with the same
// run's before the stalls began; the naive relay goes through the same as a control.
// Writes JSON and three SVG charts.
// Usage: npm run bench:fanout -- [--viewers 1,10,50,100,200,500] [--relays product,naive] [--seconds 20]
//        [--stalled-viewers 200] [--stalled-seconds 60] [--stall-ms 40000] [--workers 4]
//        [--out bench-results/fanout.json] [--chart docs/fanout.svg]; --from FILE re-draws a saved run's table and charts
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureCertificates } from '../../src/server/tls/certificates.ts';
import { lanNames } from '../../src/server/tls/lan-names.ts';
import { freePort } from '../../test/helpers/server.ts';
import { machineBusy, procTable, ROOT, round, rssMiB, startScript, startServer, treeCpu } from './bench-kit.ts';
import { BIN_MS, type CameraReport, type ViewersReport } from './fanout-report.ts';
import { lineChart } from './svg-chart.ts';

const TOKEN = `bench-${Math.random().toString(36).slice(2)}-0123456789`;
const FIXTURE = 'chromium-webcodecs-h264-opus-2mbps';
const log = (m: string): void => console.error(`[bench:fanout] ${m}`);

interface Options {
  viewers: number[];
  relays: ('product' | 'naive')[];
  seconds: number;
  warmup: number;
  stalledViewers: number;
  stalledShare: number;
  stalledSeconds: number;
  stallMs: number;
  workers: number;
  out: string;
  chart: string;
  /** Re-draw the table and charts from this saved JSON instead of measuring. */
  from: string | null;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    viewers: [1, 10, 50, 100, 200, 500],
    relays: ['product', 'naive'],
    seconds: 20,
    warmup: 3,
    stalledViewers: 200,
    stalledShare: 0.1,
    stalledSeconds: 60,
    stallMs: 40_000,
    workers: 4,
    out: 'bench-results/fanout.json',
    chart: 'docs/fanout.svg',
    from: null,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    const num = (): number => {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} must be a number`);
      return n;
    };
    if (flag === '--viewers') o.viewers = value.split(',').map(Number).filter((n) => n > 0);
    else if (flag === '--relays') o.relays = value.split(',').filter((r): r is 'product' | 'naive' => r === 'product' || r === 'naive');
    else if (flag === '--seconds') o.seconds = num();
    else if (flag === '--warmup') o.warmup = num();
    else if (flag === '--stalled-viewers') o.stalledViewers = num();
    else if (flag === '--stalled-seconds') o.stalledSeconds = num();
    else if (flag === '--stall-ms') o.stallMs = num();
    else if (flag === '--workers') o.workers = Math.max(1, num());
    else if (flag === '--out') o.out = value;
    else if (flag === '--chart') o.chart = value;
    else if (flag === '--from') o.from = value;
    else throw new Error(`unknown option ${flag}`);
  }
  return o;
}

// ---- processes ----

/** A child running one of the benchmark's scripts under tsx, with an IPC channel. */
function child(script: string, args: string[]): ChildProcess {
  const c = fork(path.join(ROOT, 'scripts/bench', script), args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], cwd: ROOT });
  return c;
}

function nextMessage<T>(c: ChildProcess, what: string, ms = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`${what}: the process exited (${code})`));
    };
    c.once('exit', onExit);
    c.once('message', (m) => {
      clearTimeout(timer);
      c.off('exit', onExit);
      resolve(m as T);
    });
  });
}

/** The naive relay, run as npm start runs the server (bundled, the same Node options, no TypeScript loader). */
async function startNaive(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  return { child: await startScript('scripts/bench/naive-relay.ts', [String(port), dataDir], /listening/), url: `wss://127.0.0.1:${port}/ws` };
}

function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
    setTimeout(() => c.kill('SIGKILL'), 5000).unref();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- one run ----

interface Run {
  relay: 'product' | 'naive';
  /** Which window of its run ('' when the run had one). */
  phase: string;
  viewers: number;
  stalled: number;
  seconds: number;
  /** Server process CPU, % of one core. */
  serverCpu: number;
  /** Whole machine busy, 0–1. */
  machineBusy: number;
  rssMiB: { start: number; end: number; max: number; slopeMiBPerMin: number };
  rssSeries: [number, number][];
  /** Healthy viewers' relay delay, ms. */
  delay: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  framesReceived: number;
  mbpsPerViewer: number;
  dropped: { frames: number; bytes: number };
  skippedFrames: number;
  closes: Record<string, number>;
  errors: Record<string, number>;
  healthyConnected: number;
  camera: CameraReport;
}

/** One measured window of a run; `stall` starts the stalled viewers' stalls `settle` seconds before it. */
interface Phase {
  label: string;
  seconds: number;
  stall?: { settle: number };
}

async function run(opts: Options, dataDir: string, relay: 'product' | 'naive', viewers: number, stalled: number, phases: Phase[]): Promise<Run[]> {
  const server = relay === 'product' ? await startServer(dataDir, TOKEN, ['--max-viewers', '1000']) : await startNaive(dataDir);
  const url = relay === 'product' ? `${server.url.replace('https:', 'wss:')}/ws?token=${TOKEN}` : server.url;
  const cameraId = randomUUID();
  const kids: ChildProcess[] = [];
  try {
    const camera = child('fanout-camera.ts', [url, cameraId, FIXTURE]);
    kids.push(camera);
    await sleep(1500);
    // Viewers (stalled ones spread evenly) over the worker processes.
    const k = Math.min(opts.workers, viewers);
    const workers: ChildProcess[] = [];
    let first = 0;
    for (let w = 0; w < k; w++) {
      const n = Math.floor(viewers / k) + (w < viewers % k ? 1 : 0);
      const s = Math.floor(stalled / k) + (w < stalled % k ? 1 : 0);
      const worker = child('fanout-viewers.ts', [url, cameraId, FIXTURE, String(n + s), String(s), String(first), String(opts.stallMs)]);
      first += n + s;
      workers.push(worker);
      kids.push(worker);
    }
    await Promise.all(workers.map((w) => nextMessage(w, 'viewers to connect', 120_000)));
    await sleep(opts.warmup * 1000);
    const pid = server.child.pid!;
    const runs: Run[] = [];
    for (const phase of phases) {
      if (phase.stall) {
        for (const w of workers) w.send('stall');
        await sleep(phase.stall.settle * 1000);
      }
      const rssSeries: [number, number][] = [];
      for (const w of workers) w.send('start');
      const t0 = performance.now();
      const cpu0 = treeCpu(pid, procTable());
      const busy0 = machineBusy();
      const sampler = setInterval(() => rssSeries.push([round((performance.now() - t0) / 1000, 1)!, rssMiB(pid) ?? NaN]), 1000);
      rssSeries.push([0, rssMiB(pid) ?? NaN]);
      await sleep(phase.seconds * 1000);
      clearInterval(sampler);
      const elapsed = (performance.now() - t0) / 1000;
      const cpu1 = treeCpu(pid, procTable());
      const busy1 = machineBusy();
      rssSeries.push([round(elapsed, 1)!, rssMiB(pid) ?? NaN]);
      const reports = await Promise.all(
        workers.map((w) => {
          const r = nextMessage<ViewersReport>(w, 'a viewers report');
          w.send('stop');
          return r;
        }),
      );
      const cameraReport = nextMessage<CameraReport>(camera, 'the camera report');
      camera.send('report');
      const busy = (busy1.busy - busy0.busy) / Math.max(1, busy1.total - busy0.total);
      runs.push(summarize(relay, phase.label, viewers, stalled, elapsed, ((cpu1 - cpu0) / elapsed) * 100, busy, rssSeries, reports, await cameraReport));
    }
    return runs;
  } finally {
    for (const kid of kids) if (kid.connected) kid.send('close');
    await Promise.all(kids.map(stop));
    await stop(server.child);
  }
}

function summarize(relay: 'product' | 'naive', phase: string, viewers: number, stalled: number, seconds: number, serverCpu: number, busy: number, rssSeries: [number, number][], reports: ViewersReport[], camera: CameraReport): Run {
  const hist = new Map<number, number>();
  for (const r of reports) for (const [bin, n] of r.delays) hist.set(bin, (hist.get(bin) ?? 0) + n);
  const bins = [...hist.entries()].sort((a, b) => a[0] - b[0]);
  const total = bins.reduce((s, [, n]) => s + n, 0);
  const pct = (p: number): number | null => {
    if (total === 0) return null;
    const want = Math.ceil((p / 100) * total);
    let seen = 0;
    for (const [bin, n] of bins) if ((seen += n) >= want) return round(bin * BIN_MS, 1);
    return null;
  };
  const sum = (f: (r: ViewersReport) => number): number => reports.reduce((s, r) => s + f(r), 0);
  const merge = (f: (r: ViewersReport) => Record<string, number>): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const r of reports) for (const [k, v] of Object.entries(f(r))) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  const rss = rssSeries.map(([, m]) => m).filter(Number.isFinite);
  return {
    relay,
    phase,
    viewers,
    stalled,
    seconds: round(seconds, 1)!,
    serverCpu: round(serverCpu, 1)!,
    machineBusy: round(busy, 2)!,
    rssMiB: { start: rss[0] ?? NaN, end: rss[rss.length - 1] ?? NaN, max: Math.max(...rss), slopeMiBPerMin: round(slope(rssSeries) * 60, 2)! },
    rssSeries,
    delay: { p50: pct(50), p95: pct(95), p99: pct(99), max: pct(100) },
    framesReceived: total,
    mbpsPerViewer: round((sum((r) => r.bytes) * 8) / seconds / 1e6 / Math.max(1, viewers), 2)!,
    dropped: { frames: sum((r) => r.droppedFrames), bytes: sum((r) => r.droppedBytes) },
    skippedFrames: sum((r) => r.skippedFrames),
    closes: merge((r) => r.closes),
    errors: merge((r) => r.errors),
    healthyConnected: sum((r) => r.healthyConnected),
    camera,
  };
}

/** Least-squares slope of [x, y] points (y per x unit). */
function slope(points: [number, number][]): number {
  const p = points.filter(([, y]) => Number.isFinite(y));
  if (p.length < 2) return 0;
  const mx = p.reduce((s, [x]) => s + x, 0) / p.length;
  const my = p.reduce((s, [, y]) => s + y, 0) / p.length;
  const num = p.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = p.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

// ---- output ----

const fmt = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '-' : String(v));

function table(runs: Run[]): string {
  const naive = (r: Run): Run | undefined => runs.find((n) => n.relay === 'naive' && n.viewers === r.viewers && n.stalled === r.stalled && n.phase === r.phase);
  const lines = [
    '| relay | viewers | stalled | server CPU % (× naive) | RSS MiB start → end (max) | delay p50 ms | p95 | p99 | max | Mbit/s per viewer | dropped frames (MB) | camera backlog max KiB | machine busy |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of runs) {
    const ref = r.relay === 'product' ? naive(r) : undefined;
    const ratio = ref && ref.serverCpu > 0 ? ` (${(r.serverCpu / ref.serverCpu).toFixed(2)}×)` : '';
    lines.push(
      `| ${r.relay}${r.phase ? ` (${r.phase})` : ''} | ${r.viewers} | ${r.stalled} | ${r.serverCpu}${ratio} | ${r.rssMiB.start} → ${r.rssMiB.end} (${r.rssMiB.max}) | ${fmt(r.delay.p50)} | ${fmt(r.delay.p95)} | ${fmt(r.delay.p99)} | ${fmt(r.delay.max)} | ${r.mbpsPerViewer} | ${r.dropped.frames} (${(r.dropped.bytes / 1e6).toFixed(1)}) | ${Math.round(r.camera.maxBacklogBytes / 1024)} | ${Math.round(r.machineBusy * 100)}% |`,
    );
  }
  return lines.join('\n');
}

function targets(runs: Run[]): { what: string; measured: string; met: boolean }[] {
  const out: { what: string; measured: string; met: boolean }[] = [];
  const p200 = runs.find((r) => r.relay === 'product' && r.viewers === 200 && r.stalled === 0);
  const n200 = runs.find((r) => r.relay === 'naive' && r.viewers === 200 && r.stalled === 0);
  if (p200) out.push({ what: '200 viewers: relay delay p99 ≤ 50 ms', measured: `${fmt(p200.delay.p99)} ms`, met: p200.delay.p99 !== null && p200.delay.p99 <= 50 });
  if (p200 && n200) out.push({ what: `200 viewers: server CPU ≤ 1.2 × the naive relay's ${n200.serverCpu}%`, measured: `${p200.serverCpu}% (${(p200.serverCpu / n200.serverCpu).toFixed(2)}×)`, met: p200.serverCpu <= 1.2 * n200.serverCpu });
  const s = runs.find((r) => r.relay === 'product' && r.phase === 'stalling');
  const ref = runs.find((r) => r.relay === 'product' && r.phase === 'all reading');
  if (s) {
    out.push({ what: 'stalled viewers: server RSS < 150 MB', measured: `max ${s.rssMiB.max} MiB (${round((s.rssMiB.max * 2 ** 20) / 1e6, 1)} MB)`, met: (s.rssMiB.max * 2 ** 20) / 1e6 < 150 });
    const change = s.rssMiB.slopeMiBPerMin * (s.seconds / 60);
    out.push({ what: 'stalled viewers: server RSS flat (fitted change over the window < 5% of its level)', measured: `${s.rssMiB.slopeMiBPerMin} MiB/min, ${round(change, 1)} MiB over ${s.seconds} s`, met: Math.abs(change) < 0.05 * s.rssMiB.start });
  }
  if (s && ref && s.delay.p99 !== null && ref.delay.p99 !== null) {
    out.push({ what: `stalled viewers: healthy p99 within 10% of the same run's ${ref.delay.p99} ms before the stalls`, measured: `${s.delay.p99} ms (${(s.delay.p99 / ref.delay.p99).toFixed(2)}×)`, met: s.delay.p99 <= 1.1 * ref.delay.p99 });
  }
  return out;
}

function charts(runs: Run[]): { delay: string; cpu: string; stalled: string } {
  const sweep = (relay: string): Run[] => runs.filter((r) => r.relay === relay && r.stalled === 0).sort((a, b) => a.viewers - b.viewers);
  const series = (relay: string, f: (r: Run) => number | null): [number, number][] => sweep(relay).map((r) => [r.viewers, f(r) ?? NaN]);
  const s = runs.find((r) => r.stalled > 0);
  return {
    delay: lineChart({
      title: 'Relay delay of one ~2 Mbit/s camera, by number of viewers (loopback, 2 cores)',
      xLabel: 'viewers',
      yLabel: 'relay delay (ms)',
      gapFactor: Infinity,
      series: [
        { name: 'product p99', points: series('product', (r) => r.delay.p99) },
        { name: 'product p50', points: series('product', (r) => r.delay.p50) },
        { name: 'naive relay p99', points: series('naive', (r) => r.delay.p99) },
        { name: 'naive relay p50', points: series('naive', (r) => r.delay.p50) },
      ].filter((x) => x.points.length > 0),
    }),
    cpu: lineChart({
      title: 'Server CPU for one ~2 Mbit/s camera, by number of viewers',
      xLabel: 'viewers',
      yLabel: 'server CPU (% of one core)',
      gapFactor: Infinity,
      series: [
        { name: 'product', points: series('product', (r) => r.serverCpu) },
        { name: 'naive relay', points: series('naive', (r) => r.serverCpu) },
      ].filter((x) => x.points.length > 0),
    }),
    stalled: lineChart({
      title: s ? `Server RSS, ${s.viewers + s.stalled} viewers of which ${s.stalled} stall, from the end of the warm-up` : 'Server RSS',
      xLabel: 'time in the window (s)',
      yLabel: 'server RSS (MiB)',
      series: runs.filter((r) => r.stalled > 0).map((r) => ({ name: `${r.relay === 'product' ? 'product' : 'naive relay'}, ${r.phase}`, points: r.rssSeries })),
      yMin: 0,
    }),
  };
}

/** Prints the table and the targets, and writes the JSON (unless re-drawing) and the charts. */
async function report(runs: Run[], opts: Options, busyBefore: number | null): Promise<void> {
  console.log('');
  console.log(table(runs));
  console.log('');
  for (const r of runs) {
    if (r.skippedFrames || Object.keys(r.closes).length || Object.keys(r.errors).length) {
      console.log(`${r.relay} × ${r.viewers}${r.stalled ? ` + ${r.stalled} stalled` : ''}${r.phase ? ` (${r.phase})` : ''}: skipped frames told ${r.skippedFrames}, closes ${JSON.stringify(r.closes)}, errors ${JSON.stringify(r.errors)}, healthy viewers receiving at the end ${r.healthyConnected}`);
    }
  }
  const t = targets(runs);
  if (t.length) {
    console.log('\nTargets:');
    for (const x of t) console.log(`  ${x.met ? 'met   ' : 'MISSED'} ${x.what}: ${x.measured}`);
  }
  if (busyBefore !== null) console.log(`machine: ${os.cpus().length} cores, ${Math.round(busyBefore * 100)}% busy before the run`);
  const out = path.resolve(opts.out);
  if (!opts.from) {
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, JSON.stringify({ when: new Date().toISOString(), cores: os.cpus().length, busyBefore: round(busyBefore, 3), fixture: FIXTURE, options: opts, table: table(runs), targets: t, runs }, null, 1));
  }
  const chart = path.resolve(opts.chart);
  await mkdir(path.dirname(chart), { recursive: true });
  const c = charts(runs);
  const base = chart.replace(/\.svg$/, '');
  await writeFile(chart, c.delay);
  await writeFile(`${base}-cpu.svg`, c.cpu);
  if (runs.some((r) => r.stalled > 0)) await writeFile(`${base}-stalled.svg`, c.stalled);
  console.log(`wrote ${opts.from ? '' : `${path.relative(process.cwd(), out)}, `}${path.relative(process.cwd(), chart)}, ${path.relative(process.cwd(), base)}-cpu.svg${runs.some((r) => r.stalled > 0) ? `, ${path.relative(process.cwd(), base)}-stalled.svg` : ''}`);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.from) {
    const saved = JSON.parse(await readFile(opts.from, 'utf8')) as { runs: Run[] };
    await report(saved.runs, opts, null);
    return;
  }
  const b0 = machineBusy();
  await sleep(1000);
  const b1 = machineBusy();
  const busyBefore = (b1.busy - b0.busy) / Math.max(1, b1.total - b0.total);
  if (busyBefore > 0.2) log(`WARNING: the machine is ${Math.round(busyBefore * 100)}% busy before the run; figures will include that contention`);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-fanout-'));
  const runs: Run[] = [];
  try {
    // The same certificate for both relays (the product would make one there itself).
    await ensureCertificates(dataDir, lanNames());
    for (const n of opts.viewers) {
      for (const relay of opts.relays) {
        const [r] = await run(opts, dataDir, relay, n, 0, [{ label: '', seconds: opts.seconds }]);
        runs.push(r!);
        log(`${relay} × ${n}: CPU ${r!.serverCpu}%, RSS ${r!.rssMiB.end} MiB, delay p50 ${fmt(r!.delay.p50)} p99 ${fmt(r!.delay.p99)} ms, ${r!.mbpsPerViewer} Mbit/s each, dropped ${r!.dropped.frames}, machine ${Math.round(r!.machineBusy * 100)}%`);
      }
    }
    if (opts.stalledViewers > 0) {
      // A tenth of the viewers stall (and come back, and stall again): the healthy ones are measured
      // first with everyone reading, then with the stalls going on (settled for a whole stall
      // cycle first), in the same run. The naive relay runs the same as a control.
      const stalled = Math.round(opts.stalledViewers * opts.stalledShare);
      const phases: Phase[] = [
        { label: 'all reading', seconds: opts.seconds },
        { label: 'stalling', seconds: opts.stalledSeconds, stall: { settle: opts.stallMs / 1000 + 5 } },
      ];
      for (const relay of opts.relays) {
        for (const r of await run(opts, dataDir, relay, opts.stalledViewers - stalled, stalled, phases)) {
          runs.push(r);
          log(`${relay}, ${stalled} of ${opts.stalledViewers} stalled, ${r.phase}: RSS ${r.rssMiB.start} → ${r.rssMiB.end} (max ${r.rssMiB.max}) MiB, healthy p50 ${fmt(r.delay.p50)} p99 ${fmt(r.delay.p99)} ms, closes ${JSON.stringify(r.closes)}`);
        }
      }
    }
    await report(runs, opts, busyBefore);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
