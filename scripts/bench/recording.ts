// `npm run bench:recording`: what recording costs the server, and how fast a recording plays.
// 1. Cost: four synthetic cameras (fanout-camera.ts, each replaying a real ~2 Mbit/s WebCodecs
//    H.264 + Opus capture in real time, sound on, as the product's camera page sends it) stream to
//    the server as `npm start` runs it, once with --record (ours) and once without (the reference),
//    paired, `--runs` times; per run the server's CPU (its process tree, % of one core), its RSS at
//    the end, the bytes the cameras sent and the bytes written to the recordings folder.
// 2. Playback: a day of recordings (1440 one-minute segments: one real segment, hard-linked, with
//    an index that places them a minute apart), the Recordings place in Chromium, clicks at random
//    times of the day: how long from the click to the first frame playing.
// Usage: npm run bench:recording -- [--runs 3] [--seconds 40] [--cameras 4] [--clicks 10] [--out bench-results/recording.json]
import { fork, type ChildProcess } from 'node:child_process';
import { link, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium, newContext } from '../../test/helpers/browser.ts';
import { loadFrames } from '../../test/helpers/media.ts';
import { startTestServer } from '../../test/helpers/server.ts';
import { segmentPath } from '../../src/server/features/recording/layout.ts';
import { segmentWriter } from '../../src/server/features/recording/segment-writer.ts';
import type { CameraReport } from './fanout-report.ts';
import { median, ROOT, round, rssMiB, startServer, treeCpu } from './bench-kit.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, seconds: { type: 'string', default: '40' }, cameras: { type: 'string', default: '4' }, clicks: { type: 'string', default: '10' }, out: { type: 'string', default: 'bench-results/recording.json' }, skip: { type: 'string', default: '' } } });
const RUNS = Number(values.runs);
const SECONDS = Number(values.seconds);
const CAMERAS = Number(values.cameras);
const FIXTURE = 'chromium-webcodecs-h264-opus-2mbps';
const TOKEN = `bench-${Math.random().toString(36).slice(2)}-0123456789`;
const log = (m: string): void => console.error(`[bench:recording] ${m}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface CostRun {
  record: boolean;
  cpuPercent: number;
  rssMiB: number;
  bytesReceived: number;
  bytesWritten: number;
}

async function duBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (!e.isFile()) continue;
    total += (await stat(path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))).size;
  }
  return total;
}

function camera(url: string, id: string): ChildProcess {
  return fork(path.join(ROOT, 'scripts/bench/fanout-camera.ts'), [url, id, FIXTURE], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], cwd: ROOT });
}

function report(c: ChildProcess): Promise<CameraReport> {
  return new Promise((resolve) => {
    c.once('message', (m) => resolve(m as CameraReport));
    c.send('report');
  });
}

async function costRun(record: boolean): Promise<CostRun> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-rec-'));
  const { child, url } = await startServer(dataDir, TOKEN, record ? ['--record'] : []);
  const wss = `${url.replace('https', 'wss')}/ws?token=${TOKEN}`;
  const cams = Array.from({ length: CAMERAS }, (_, i) => camera(wss, `bench-camera-${i}`));
  try {
    await sleep(5000); // connected, streaming, settled
    const pid = child.pid!;
    const cpu0 = treeCpu(pid);
    const t0 = performance.now();
    const sent0 = (await Promise.all(cams.map(report))).reduce((n, r) => n + r.bytesSent, 0);
    const written0 = await duBytes(path.join(dataDir, 'recordings'));
    await sleep(SECONDS * 1000);
    const cpu = treeCpu(pid) - cpu0;
    const wall = (performance.now() - t0) / 1000;
    const sent = (await Promise.all(cams.map(report))).reduce((n, r) => n + r.bytesSent, 0) - sent0;
    const rss = rssMiB(pid) ?? 0;
    const written = (await duBytes(path.join(dataDir, 'recordings'))) - written0;
    return { record, cpuPercent: round((cpu / wall) * 100, 1)!, rssMiB: rss, bytesReceived: sent, bytesWritten: written };
  } finally {
    for (const c of cams) c.kill();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** A day of one-minute segments for camera `porch` in a data dir: one real segment, hard-linked 1440 times. */
async function buildDay(dataDir: string, dayStart: number): Promise<void> {
  const { tracks, frames } = loadFrames(FIXTURE);
  const loop = frames.at(-1)!.timestamp + 33_000;
  const writer = segmentWriter('mp4', tracks, new Date(dayStart));
  const parts: Uint8Array[] = [];
  for (let r = 0; r * loop < 60e6; r++) for (const f of frames) parts.push(writer.add({ ...f, timestamp: f.timestamp + r * loop }) ?? new Uint8Array(0));
  const { tail } = writer.finish();
  if (tail) parts.push(tail);
  const bytes = Buffer.concat(parts);
  const seconds = writer.writtenUs / 1e6;
  const dir = path.join(dataDir, 'recordings', 'porch');
  const master = path.join(dataDir, 'segment.mp4');
  await writeFile(master, bytes);
  const lines: string[] = [];
  for (let i = 0; i < 1440; i++) {
    const start = dayStart + i * 60_000;
    const file = segmentPath({ start, seq: i + 1, format: 'mp4' });
    await mkdir(path.join(dir, path.dirname(file)), { recursive: true });
    await link(master, path.join(dir, file));
    lines.push(JSON.stringify({ seq: i + 1, file, format: 'mp4', start, end: start + Math.round(seconds * 1000), bytes: bytes.length }));
  }
  await writeFile(path.join(dir, 'index.ndjson'), `${lines.join('\n')}\n`);
  log(`a day: 1440 segments of ${seconds.toFixed(1)} s, ${(bytes.length / 1e6).toFixed(1)} MB each (hard links)`);
}

async function playback(clicks: number): Promise<{ firstFrameMs: number[]; p50: number | null; max: number }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-day-'));
  const dayStart = Date.now() - 25 * 3600_000;
  await buildDay(dataDir, dayStart);
  // The camera is known to the server: a registry entry, as a camera that streamed yesterday.
  await writeFile(path.join(dataDir, 'cameras.json'), JSON.stringify({ version: 1, cameras: [{ id: 'porch', name: 'Porch', firstSeen: dayStart, lastSeen: dayStart + 24 * 3600_000 }] }));
  const server = await startTestServer({}, { dataDir });
  const browser = await launchChromium();
  const times: number[] = [];
  try {
    const page = await (await newContext(browser, { width: 1366, height: 657 })).newPage();
    await page.goto(server.page('/recordings?camera=porch'));
    await page.waitForSelector('.timeline-span');
    // The whole day in view.
    await page.click('[data-zoom="86400000"]');
    const box = (await page.locator('#timeline').boundingBox())!;
    for (let i = 0; i < clicks; i++) {
      const x = box.width * (0.05 + 0.9 * Math.random());
      await page.evaluate(() => (document.getElementById('player') as HTMLVideoElement).pause());
      const t0 = Date.now();
      await page.mouse.click(box.x + x, box.y + 20);
      await page.waitForFunction(
        (t) => {
          const v = document.getElementById('player') as HTMLVideoElement;
          return !v.paused && v.readyState >= 3 && Number(document.getElementById('timeline')!.dataset.clicked) === t;
        },
        await page.evaluate(() => Number(document.getElementById('timeline')!.dataset.clicked)),
        { timeout: 10_000 },
      );
      times.push(Date.now() - t0);
      await sleep(300);
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  const sorted = [...times].sort((a, b) => a - b);
  return { firstFrameMs: times, p50: median(times), max: sorted.at(-1) ?? 0 };
}

const out: Record<string, unknown> = { fixture: FIXTURE, cameras: CAMERAS, seconds: SECONDS, runs: RUNS };
async function save(): Promise<void> {
  await mkdir(path.dirname(path.resolve(values.out)), { recursive: true });
  await writeFile(path.resolve(values.out), `${JSON.stringify(out, null, 1)}\n`);
}
if (!values.skip.includes('cost')) {
  const pairs: { ours: CostRun; reference: CostRun }[] = [];
  for (let r = 0; r < RUNS; r++) {
    const ours = await costRun(true);
    const reference = await costRun(false);
    log(`run ${r + 1}: recording ${JSON.stringify(ours)}; without ${JSON.stringify(reference)}`);
    pairs.push({ ours, reference });
  }
  const m = (f: (p: { ours: CostRun; reference: CostRun }) => number) => round(median(pairs.map(f)), 2);
  out.cost = {
    pairs,
    cpuPercentMore: m((p) => p.ours.cpuPercent - p.reference.cpuPercent),
    rssMiBMore: m((p) => p.ours.rssMiB - p.reference.rssMiB),
    writtenPerReceived: m((p) => p.ours.bytesWritten / p.ours.bytesReceived),
    bytesPerHourPerCamera: m((p) => (p.ours.bytesWritten / CAMERAS) * (3600 / SECONDS)),
  };
  log(`median of ${RUNS}: ${JSON.stringify(out.cost, (k, v) => (k === 'pairs' ? undefined : v))}`);
  await save();
}
if (!values.skip.includes('playback')) {
  out.playback = await playback(Number(values.clicks));
  log(`playback: ${JSON.stringify(out.playback)}`);
}
await save();
console.log(JSON.stringify(out, (k, v) => (k === 'pairs' ? undefined : v)));
process.exit(0);
