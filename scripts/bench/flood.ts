// `npm run bench:flood`: one camera link floods the server from one address at its socket limit
// with every kind of valid but costly input (test/helpers/flood-client.ts) while a healthy camera
// streams to a viewer; reports the server's memory, event-loop stalls and the viewer's frame rate.
// Each run is paired with a reference run after it: the same rig, server and camera with no flood.
// The healthy camera replays what the camera page sends with its defaults (720p, 2.5 Mbit/s, sound on).
// Options: --seconds 60 --sockets 64 --kinds tiny-webm,block-bomb,… (a kind may repeat: sockets take
// the kinds in turn; unread-viewer, with control, is security finding 3's viewers that never read) --runs 1 --settle 30
// --reference 1 (0: no reference runs) --fixture <test/fixtures capture> --out bench-results/flood.json.
// The server runs in this process, which `npm run bench:flood` starts with the Node options and
// environment of `npm start` (package.json): what users run.
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { EXTRA_FLOOD_KINDS, FLOOD_KINDS, HEALTHY_CAMERA_FIXTURE, runFloodRig, type FloodKind, type FloodResult } from '../../test/helpers/flood-rig.ts';
import { npmStartArgs, npmStartEnv } from '../../test/helpers/server.ts';
import { ROOT, median, round } from './bench-kit.ts';

// The server is measured as `npm start` runs it: this script runs again with its Node options and
// environment (package.json's start script) unless it already does.
if (process.env.WEBCAM_AS_NPM_START !== '1') {
  const options = npmStartArgs().filter((a) => a.startsWith('--'));
  const again = spawnSync(process.execPath, [...options, '--import', 'tsx', ...process.argv.slice(1)], { env: { ...npmStartEnv(), WEBCAM_AS_NPM_START: '1' }, stdio: 'inherit' });
  process.exit(again.status ?? 1);
}

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    sockets: { type: 'string', default: '64' },
    kinds: { type: 'string', default: FLOOD_KINDS.join(',') },
    runs: { type: 'string', default: '1' },
    settle: { type: 'string', default: '30' },
    reference: { type: 'string', default: '1' },
    fixture: { type: 'string', default: HEALTHY_CAMERA_FIXTURE },
    out: { type: 'string', default: path.join(ROOT, 'bench-results', 'flood.json') },
  },
});
const kinds = values.kinds.split(',') as FloodKind[];
const known: readonly FloodKind[] = [...FLOOD_KINDS, ...EXTRA_FLOOD_KINDS];
for (const k of kinds) if (!known.includes(k)) throw new Error(`unknown kind ${k} (${known.join(', ')})`);
if (values.reference !== '0' && values.reference !== '1') throw new Error(`--reference is 1 (a reference run after each run) or 0 (none), not ${values.reference}`);
const withReference = values.reference === '1';
const runs: FloodResult[] = [];
const references: FloodResult[] = [];
for (let i = 0; i < Number(values.runs); i++) {
  const rig = { seconds: Number(values.seconds), kinds, settleSeconds: Number(values.settle), baselineSeconds: 5, fixture: values.fixture };
  const r = await runFloodRig({ ...rig, sockets: Number(values.sockets), log: (l) => console.error(`[run ${i + 1}] ${l}`) });
  console.error(`[run ${i + 1}] ${JSON.stringify(r)}`);
  runs.push(r);
  if (!withReference) continue;
  const ref = await runFloodRig({ ...rig, sockets: 0, log: (l) => console.error(`[reference ${i + 1}] ${l}`) });
  console.error(`[reference ${i + 1}] ${JSON.stringify(ref)}`);
  references.push(ref);
}

/** The medians of a set of runs. */
function medians(of: FloodResult[]) {
  const m = (f: (r: FloodResult) => number | null) => round(median(of.map(f).filter((v): v is number => v !== null)), 1);
  return {
    rssGrowthMiB: m((r) => r.rssMiB.growth),
    rssBackAfterMs: m((r) => r.rssMiB.backAfterMs),
    loopP99Ms: m((r) => r.loopMs.p99),
    loopMaxMs: m((r) => r.loopMs.max),
    viewerFpsRatio: m((r) => r.viewer.ratio),
    viewerMaxGapMs: m((r) => r.viewer.maxGapMs),
    viewerMaxRawGapMs: m((r) => r.viewer.maxRawGapMs),
    gridFpsRatio: m((r) => r.grid.ratio),
    gridMaxGapMs: m((r) => r.grid.maxGapMs),
  };
}
const summary = {
  seconds: Number(values.seconds),
  sockets: Number(values.sockets),
  kinds,
  fixture: values.fixture,
  ...medians(runs),
  reference: withReference ? medians(references) : null,
  runs,
  references,
};
await mkdir(path.dirname(values.out), { recursive: true });
await writeFile(values.out, `${JSON.stringify(summary, null, 1)}\n`);
console.log(JSON.stringify({ ...summary, runs: undefined, references: undefined }));
