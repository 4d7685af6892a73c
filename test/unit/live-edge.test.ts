// The live-edge policy: bounded lead, gentle catch-up, jumps, recovery after a stall.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIVE_EDGE as C, decideLiveEdge } from '../../src/client/viewer/live-edge.ts';

const at = (currentTime: number, end: number, extra: Partial<Parameters<typeof decideLiveEdge>[0]> = {}) =>
  decideLiveEdge({ currentTime, ranges: [[0, end]], sinceLastTick: 0.25, rate: 1, ...extra });

describe('live edge policy', () => {
  it('does nothing with nothing buffered', () => {
    assert.deepEqual(decideLiveEdge({ currentTime: 0, ranges: [], sinceLastTick: 0.25, rate: 1 }), { seekTo: null, rate: 1 });
  });
  it('plays at normal speed near the target lead', () => {
    assert.deepEqual(at(10, 10 + C.target), { seekTo: null, rate: 1 });
  });
  it('catches up gently when a little behind, until back at the target', () => {
    assert.deepEqual(at(10, 10 + C.target + C.catchUpAbove + 0.05), { seekTo: null, rate: C.catchUpRate });
    assert.equal(at(10, 10 + C.target + 0.1, { rate: C.catchUpRate }).rate, C.catchUpRate, 'keeps catching up above target');
    assert.equal(at(10, 10 + C.target - 0.01, { rate: C.catchUpRate }).rate, 1, 'stops at target');
  });
  it('jumps to the live edge past the threshold', () => {
    assert.deepEqual(at(10, 10 + C.jumpAbove + 0.1), { seekTo: 10 + C.jumpAbove + 0.1 - C.target, rate: 1 });
  });
  it('jumps after a stall (long gap between ticks) when behind', () => {
    assert.equal(at(10, 10 + C.target + C.catchUpAbove + 0.1, { sinceLastTick: 2 }).seekTo !== null, true);
    assert.equal(at(10, 10 + C.target, { sinceLastTick: 2 }).seekTo, null, 'not when already live');
  });
  it('seeks into the buffer when the position is outside it (late joiner: timestamps start late)', () => {
    const d = decideLiveEdge({ currentTime: 0, ranges: [[3600, 3601]], sinceLastTick: 0.25, rate: 1 });
    assert.equal(d.seekTo, 3601 - C.target);
    const gap = decideLiveEdge({ currentTime: 5.5, ranges: [[0, 5], [6, 6.2]], sinceLastTick: 0.25, rate: 1 });
    assert.equal(gap.seekTo, 6, 'never before the start of the last range');
  });
});
