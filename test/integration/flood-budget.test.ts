// One camera link, from one address at its socket limit, floods the server with every kind of
// valid but costly input the protocol allows (one-byte WebM pieces, empty chunks, 4 MiB messages of
// the smallest blocks, control messages, the largest JSON, a socket that never reads) while a
// healthy camera streams to a viewer from another address. The server's memory stays bounded and
// comes back, its event loop keeps turning, and the healthy viewer does not notice.
// (`npm run bench:flood` runs the same for 60 s and reports the figures.)
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BACK_WITHIN_MIB, FLOOD_KINDS, runFloodRig } from '../helpers/flood-rig.ts';

describe('a flood from one camera link', { timeout: 180_000 }, () => {
  it('keeps the server within its memory and event-loop bounds, and a healthy viewer at full rate', async (t) => {
    const r = await runFloodRig({ seconds: 20, sockets: 64, kinds: [...FLOOD_KINDS], settleSeconds: 30, baselineSeconds: 4, log: (l) => t.diagnostic(l) });
    t.diagnostic(`flood: ${r.flood.connections} sockets, ${r.flood.messages} messages, ${(r.flood.bytes / 1e6).toFixed(0)} MB; closes ${JSON.stringify(r.flood.closes)}`);
    t.diagnostic(`RSS ${r.rssMiB.before.toFixed(1)} → peak ${r.rssMiB.peak.toFixed(1)} MiB (+${r.rssMiB.growth.toFixed(1)}), back within ${BACK_WITHIN_MIB} MiB after ${r.rssMiB.backAfterMs ?? 'never'} ms`);
    t.diagnostic(`event loop: p50 ${r.loopMs.p50.toFixed(1)}, p99 ${r.loopMs.p99.toFixed(1)}, max ${r.loopMs.max.toFixed(1)} ms`);
    t.diagnostic(`viewer: ${r.viewer.baselineFps.toFixed(1)} fps before, ${r.viewer.floodFps.toFixed(1)} during; longest gap beyond the camera's own ${r.viewer.maxGapMs.toFixed(0)} ms (${r.viewer.baselineMaxGapMs.toFixed(0)} before), as arrived ${r.viewer.maxRawGapMs.toFixed(0)} ms`);
    assert.ok(r.flood.messages > 100_000 && r.flood.bytes > 100e6, 'the flood got going');
    assert.ok(r.rssMiB.growth <= 64, `RSS grew ${r.rssMiB.growth.toFixed(1)} MiB`);
    // (Whether RSS comes back within 30 s is reported, not asserted: it does in some runs and not in
    // others, as V8 shrinks its heap when it chooses; see docs/security.md.)
    // (The timer that measures runs every 10 ms: its p50 is ~10 ms of no delay at all.)
    assert.ok(r.loopMs.p99 <= 50, `event-loop p99 ${r.loopMs.p99.toFixed(1)} ms`);
    assert.ok(r.loopMs.max <= 200, `event-loop max ${r.loopMs.max.toFixed(1)} ms`);
    assert.ok(r.viewer.ratio >= 0.9, `viewer at ${r.viewer.ratio.toFixed(2)}× its frame rate`);
    assert.ok(r.viewer.maxGapMs <= 200, `viewer gap ${r.viewer.maxGapMs.toFixed(0)} ms`);
    assert.ok(!r.healthyClosed, 'the healthy camera and viewer stayed connected');
  });
});
