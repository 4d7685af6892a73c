// The benchmark's recovery measure: back within 20 ms of where it was, for a whole second.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { recovery } from '../../scripts/bench/recovery.ts';

/** 30 fps frames from `from` to `to` ms with latency given by `f(t)`. */
function frames(from: number, to: number, f: (t: number) => number): [number, number][] {
  const out: [number, number][] = [];
  for (let t = from; t < to; t += 1000 / 30) out.push([t, f(t)]);
  return out;
}

describe('stall recovery', () => {
  it('counts the frozen picture and the catch-up as behind, then a whole good second', () => {
    // 150 ms before; frozen 5–7 s; after it 2 s behind, catching up at 1 s/s until 8.9 s; then 150 ms.
    const s = [...frames(0, 5000, () => 150), ...frames(7000, 15000, (t) => Math.max(150, 2000 - (t - 7000)))];
    const r = recovery(s, 5000, 7000, 15000);
    assert.equal(r.baselineMs, 150);
    assert.equal(r.peakMs, 2000);
    // Back within 20 ms at 8.83 s: the bin from 8.75 s has most of its frames there.
    assert.equal(r.recoverMs, 1750);
  });
  it('takes the normal wander before the stall as where it was', () => {
    const wander = (t: number): number => (Math.floor(t / 1000) % 2 === 0 ? 135 : 150);
    const s = [...frames(0, 5000, wander), ...frames(7000, 12000, (t) => (t < 7500 ? 900 : wander(t) + 10))];
    assert.equal(recovery(s, 5000, 7000, 12000).recoverMs, 500);
  });
  it('no frames after the stall, or never back: null', () => {
    assert.equal(recovery(frames(0, 5000, () => 100), 5000, 7000, 12000).recoverMs, null);
    const s = [...frames(0, 5000, () => 100), ...frames(7000, 12000, () => 400)];
    assert.equal(recovery(s, 5000, 7000, 12000).recoverMs, null);
  });
  it('a dip in the middle of catching up is not a recovery', () => {
    const s = [...frames(0, 5000, () => 100), ...frames(7000, 12000, (t) => (t >= 7500 && t < 8000 ? 100 : t < 9000 ? 800 : 100))];
    assert.equal(recovery(s, 5000, 7000, 12000).recoverMs, 2000);
  });
});
