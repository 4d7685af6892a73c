// One camera link, from one address at its socket limit, floods the server with every kind of
// valid but costly input the protocol allows (one-byte WebM pieces, empty chunks, 4 MiB messages of
// the smallest blocks, control messages, the largest JSON, a socket that never reads) while a
// healthy camera streams to a viewer, and to a viewer grid showing every camera, from another
// address. The server's memory stays bounded and comes back, its event loop keeps turning, and the
// healthy camera's viewers do not notice. The server runs as `npm start` runs it (its Node options
// and environment, from package.json), in the bench script's process: `npm run bench:flood` runs
// the same for 60 s and reports the figures.
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BACK_WITHIN_MIB, type FloodResult } from '../helpers/flood-rig.ts';
import { npmStartArgs, npmStartEnv } from '../helpers/server.ts';

describe('a flood from one camera link', { timeout: 300_000 }, () => {
  it('keeps the server within its memory and event-loop bounds, and a healthy camera at full rate alone and in a grid of every camera', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'flood-'));
    try {
      // Memory growth and correctness hold on every run. The timing figures (event-loop turns, the
      // healthy viewer's rate and gaps) are this machine's as much as the server's: on a shared
      // two-core machine running the rest of the suite one run in a few showed a gap near 300 ms.
      // So is when memory comes back: the server gives it back once its traffic has been quiet for
      // a check (every 3 s), which a busy machine can put off. A run that misses only these is run
      // once more, and they are judged on the better of the two.
      const first = await floodRun(t, dir, 1);
      const again = timingMisses(first).length > 0 ? await floodRun(t, dir, 2) : null;
      for (const r of again ? [first, again] : [first]) {
        assert.ok(r.flood.messages > 100_000 && r.flood.bytes > 100e6, 'the flood got going');
        assert.equal(r.flood.closes['4408'], undefined, 'no socket waited out its hello timeout (sockets are read until their hello)');
        assert.ok(r.rssMiB.growth <= 64, `RSS grew ${r.rssMiB.growth.toFixed(1)} MiB`);
        assert.ok(!r.healthyClosed, 'the healthy camera and its viewers stayed connected');
      }
      const misses = timingMisses(first);
      if (again) {
        const second = timingMisses(again);
        t.diagnostic(`first run missed: ${misses.join('; ')}; second run: ${second.length ? second.join('; ') : 'none'}`);
        assert.deepEqual(misses.length <= second.length ? misses : second, []);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** One run of the flood bench (20 s of flood, up to 30 s to settle) in its own process, as `npm start` runs the server. */
async function floodRun(t: TestContext, dir: string, n: number): Promise<FloodResult> {
  const out = path.join(dir, `flood-${n}.json`);
  const nodeOptions = npmStartArgs().filter((a) => a.startsWith('--'));
  const child = spawn(process.execPath, [...nodeOptions, '--import', 'tsx', 'scripts/bench/flood.ts', '--seconds', '20', '--settle', '30', '--reference', '0', '--out', out], { env: { ...npmStartEnv(), WEBCAM_AS_NPM_START: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let lines = '';
  child.stderr.on('data', (d: Buffer) => {
    lines += d.toString();
    for (let i = lines.indexOf('\n'); i >= 0; i = lines.indexOf('\n')) {
      const line = lines.slice(0, i);
      lines = lines.slice(i + 1);
      if (!line.includes('{"flood"')) t.diagnostic(line);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, `the bench script failed: ${lines}`);
  const r = (JSON.parse(await readFile(out, 'utf8')) as { runs: FloodResult[] }).runs[0]!;
  t.diagnostic(`run ${n}: node ${nodeOptions.join(' ')}`);
  t.diagnostic(`flood: ${r.flood.connections} sockets, ${r.flood.messages} messages, ${(r.flood.bytes / 1e6).toFixed(0)} MB; closes ${JSON.stringify(r.flood.closes)}`);
  t.diagnostic(`RSS ${r.rssMiB.before.toFixed(1)} → peak ${r.rssMiB.peak.toFixed(1)} MiB (+${r.rssMiB.growth.toFixed(1)}), back within ${BACK_WITHIN_MIB} MiB after ${r.rssMiB.backAfterMs ?? 'never'} ms`);
  t.diagnostic(`event loop: p50 ${r.loopMs.p50.toFixed(1)}, p99 ${r.loopMs.p99.toFixed(1)}, max ${r.loopMs.max.toFixed(1)} ms`);
  t.diagnostic(`viewer: ${r.viewer.baselineFps.toFixed(1)} fps before, ${r.viewer.floodFps.toFixed(1)} during; longest gap beyond the camera's own ${r.viewer.maxGapMs.toFixed(0)} ms (${r.viewer.baselineMaxGapMs.toFixed(0)} before), as arrived ${r.viewer.maxRawGapMs.toFixed(0)} ms`);
  t.diagnostic(`viewer grid of ${r.grid.cameras} cameras: ${r.grid.baselineFps.toFixed(1)} fps before, ${r.grid.floodFps.toFixed(1)} during; longest gap beyond the camera's own ${r.grid.maxGapMs.toFixed(0)} ms`);
  return r;
}

/** The timing bounds (and memory coming back) a run missed (none: it met them all). The timer that measures runs every 10 ms: its p50 is ~10 ms of no delay. */
function timingMisses(r: FloodResult): string[] {
  const misses: string[] = [];
  if (r.rssMiB.backAfterMs === null) misses.push(`RSS not back within ${BACK_WITHIN_MIB} MiB of where it was 30 s after the flood (${(r.rssMiB.after - r.rssMiB.before).toFixed(1)} MiB above)`);
  if (r.loopMs.p99 > 50) misses.push(`event-loop p99 ${r.loopMs.p99.toFixed(1)} ms`);
  if (r.loopMs.max > 200) misses.push(`event-loop max ${r.loopMs.max.toFixed(1)} ms`);
  if (r.viewer.ratio < 0.9) misses.push(`viewer at ${r.viewer.ratio.toFixed(2)}× its frame rate`);
  if (r.viewer.maxGapMs > 200) misses.push(`viewer gap ${r.viewer.maxGapMs.toFixed(0)} ms`);
  if (r.grid.ratio < 0.9) misses.push(`the healthy camera in a grid of every camera at ${r.grid.ratio.toFixed(2)}× its frame rate`);
  if (r.grid.maxGapMs > 200) misses.push(`grid gap ${r.grid.maxGapMs.toFixed(0)} ms`);
  return misses;
}
