// The live-edge policy: bounded lead, gentle catch-up, jumps, recovery after a stall.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIVE_EDGE as C, decideLiveEdge, liveEdgeFromParams, type LiveEdgeInput } from '../../src/client/viewer/live-edge.ts';

const at = (currentTime: number, end: number, extra: Partial<LiveEdgeInput> = {}) =>
  decideLiveEdge({ currentTime, ranges: [[0, end]], sinceLastTick: 0.25, rate: 1, firstPicture: false, sinceSeek: Infinity, stalledFor: 0, behindFor: 0, ...extra });

describe('live edge policy', () => {
  it('does nothing with nothing buffered', () => {
    assert.deepEqual(at(0, 0, { ranges: [] }), { seekTo: null, rate: 1 });
  });
  it('plays at normal speed near the target lead', () => {
    assert.deepEqual(at(10, 10 + C.target), { seekTo: null, rate: 1 });
  });
  it('catches up gently when a little behind, until back at the target', () => {
    assert.deepEqual(at(10, 10 + C.target + C.catchUpAbove + 0.05), { seekTo: null, rate: C.catchUpRate });
    assert.equal(at(10, 10 + C.target + 0.1, { rate: C.catchUpRate }).rate, C.catchUpRate, 'keeps catching up above target');
    assert.equal(at(10, 10 + C.target - 0.01, { rate: C.catchUpRate }).rate, 1, 'stops at target');
  });
  it('catches up faster when further behind, short of the jump threshold', () => {
    assert.deepEqual(at(10, 10 + C.fastCatchUpAbove + 0.1), { seekTo: null, rate: C.fastCatchUpRate });
  });
  it('watchdog: jumps to the live edge once past the threshold for a moment, not on a blip', () => {
    assert.deepEqual(at(10, 10 + C.jumpAbove + 0.1, { behindFor: C.jumpAfter }), { seekTo: 10 + C.jumpAbove + 0.1 - C.target, rate: 1 });
    assert.deepEqual(at(10, 10 + C.jumpAbove + 0.1, { behindFor: C.jumpAfter / 2 }), { seekTo: null, rate: C.fastCatchUpRate }, 'a blip only speeds up');
  });
  it('does not chain jumps: right after a seek it catches up instead', () => {
    assert.deepEqual(at(10, 10 + C.jumpAbove + 0.1, { sinceSeek: C.seekCooldown / 2, behindFor: 5 }), { seekTo: null, rate: C.fastCatchUpRate });
  });
  it('takes overrides from a link, and ignores bad ones with a warning', () => {
    const { config, warnings } = liveEdgeFromParams(new URLSearchParams('lead=0.25&catchup=1.2&jump=2'));
    assert.deepEqual([config.target, config.catchUpRate, config.jumpAbove, warnings], [0.25, 1.2, 2, []]);
    const bad = liveEdgeFromParams(new URLSearchParams('lead=abc&catchup=9&jump='));
    assert.equal(bad.config.target, C.target);
    assert.equal(bad.warnings.length, 3);
    assert.equal(liveEdgeFromParams(new URLSearchParams('jump=0.3')).config.fastCatchUpAbove, 0.3, 'fast catch-up never starts above the jump');
    const late = liveEdgeFromParams(new URLSearchParams('lead=1&jump=0.5'));
    assert.equal(late.config.jumpAbove, 1.2, 'the jump stays above the lead (else it would seek again and again)');
    assert.equal(late.config.fastCatchUpAbove, 1.2, 'and fast catch-up starts above the lead');
    assert.equal(late.warnings.length, 1);
  });
  it('jumps after a stall (long gap between ticks) when behind', () => {
    assert.equal(at(10, 10 + C.target + C.catchUpAbove + 0.1, { sinceLastTick: 2 }).seekTo !== null, true);
    assert.equal(at(10, 10 + C.target, { sinceLastTick: 2 }).seekTo, null, 'not when already live');
  });
  it('after a stall, waits for the media that piled up before jumping (a jump into it would land short of live)', () => {
    const behind = { sinceLastTick: 2, behindFor: 5 };
    assert.deepEqual(at(10, 10 + C.jumpAbove + 0.5, { ...behind, arriving: true, rate: C.fastCatchUpRate }), { seekTo: null, rate: C.fastCatchUpRate });
    assert.equal(at(10, 10 + C.jumpAbove + 0.5, { ...behind, arriving: false }).seekTo, 10 + C.jumpAbove + 0.5 - C.target, 'then jumps');
    assert.equal(at(20, 10, { arriving: true }).seekTo, 10 - C.target, 'a position outside the buffer is still fixed at once');
  });
  it('moves on when playback is stuck with media ahead (a gap between ranges), a moment after any seek', () => {
    const d = at(1.2, 0, { ranges: [[0, 1.22], [1.35, 5]], stalledFor: C.stuckAfter + 0.1, sinceSeek: C.stuckAfter + 0.1 });
    assert.deepEqual(d, { seekTo: 5 - C.target, rate: 1 });
    assert.notEqual(at(1.2, 0, { ranges: [[0, 1.22], [1.35, 5]], stalledFor: 3, sinceSeek: 0.2 }).seekTo, 5 - C.target, 'a seek that just ended gets a moment');
    assert.equal(at(10, 10.1, { stalledFor: 5 }).seekTo, null, 'not when at the live edge (a paused camera)');
  });
  it('shows a late joiner’s first picture at once: seeks to the keyframe the newest range starts with', () => {
    assert.deepEqual(at(0, 0, { ranges: [[3600, 3607]], firstPicture: true }), { seekTo: 3600, rate: 1 });
  });
  it('seeks into the buffer when the position is outside it', () => {
    assert.equal(at(0, 0, { ranges: [[3600, 3601]] }).seekTo, 3601 - C.target);
    assert.equal(at(5.5, 0, { ranges: [[0, 5], [6, 6 + C.target / 2]] }).seekTo, 6, 'never before the start of the last range');
  });
});
