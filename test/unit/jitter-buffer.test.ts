// The audio jitter buffer: priming, underruns, bursts, lost packets, new streams, bounds, level.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JitterBuffer, LevelMeter } from '../../src/client/viewer/jitter-buffer.ts';

const RATE = 48000;
/** 20 ms Opus packets and 128-frame render quanta, as in the browser. */
const BLOCK = 960;
const BLOCK_US = 20_000;
const QUANTUM = 128;

/** A mono block whose every sample is `value`. */
const block = (value = 0.5, frames = BLOCK): Float32Array[] => [new Float32Array(frames).fill(value)];

/** Pulls one quantum (stereo, like the worklet's output) and returns it. */
function pull(jb: JitterBuffer, frames = QUANTUM): Float32Array[] {
  const out = [new Float32Array(frames), new Float32Array(frames)];
  jb.pull(out);
  return out;
}

/** Frames each buffer is owed by the clock beyond whole quanta already pulled. */
const owed = new WeakMap<JitterBuffer, number>();

/** Plays `ms` in real time (whole quanta, the remainder carried over); returns the frames that were not silent. */
function play(jb: JitterBuffer, ms: number): number {
  let due = (owed.get(jb) ?? 0) + (ms * RATE) / 1000;
  let sound = 0;
  for (; due >= QUANTUM; due -= QUANTUM) sound += pull(jb)[0]!.filter((x) => x !== 0).length;
  owed.set(jb, due);
  return sound;
}

describe('jitter buffer', () => {
  it('primes: silence until the target (40 ms) is buffered, then plays', () => {
    const jb = new JitterBuffer(RATE);
    jb.push(block(), 0);
    assert.equal(jb.stats.bufferedMs, 20);
    assert.equal(play(jb, 10), 0, 'silent while priming');
    assert.equal(jb.stats.bufferedMs, 20, 'nothing consumed while priming');
    jb.push(block(), BLOCK_US);
    const out = pull(jb);
    assert.ok(out[0]!.every((x) => x === 0.5) && out[1]!.every((x) => x === 0.5), 'mono goes to both output channels');
    assert.equal(jb.stats.underruns, 0);
  });

  it('flows steadily with blocks arriving in real time, with no underruns and a bounded lead', () => {
    const jb = new JitterBuffer(RATE);
    let maxMs = 0;
    for (let i = 0; i < 500; i++) {
      jb.push(block(), i * BLOCK_US);
      maxMs = Math.max(maxMs, jb.stats.bufferedMs);
      play(jb, 20);
    }
    assert.equal(jb.stats.underruns, 0);
    assert.equal(jb.stats.droppedMs, 0);
    assert.equal(jb.stats.gapsFilledMs, 0);
    assert.ok(maxMs <= 40 + 20, `lead stays near the target (max ${maxMs} ms)`);
  });

  it('on underrun: plays what it has, silence for the rest, counts it, re-primes to the target', () => {
    const jb = new JitterBuffer(RATE);
    jb.push(block(), 0);
    jb.push(block(), BLOCK_US);
    jb.pull([new Float32Array(2 * BLOCK)]);
    assert.equal(jb.stats.underruns, 0, 'exactly empty is not an underrun yet');
    jb.push(block(0.5, 120), 2 * BLOCK_US); // 2.5 ms
    const out = [new Float32Array(BLOCK)];
    jb.pull(out);
    assert.equal(out[0]!.filter((x) => x !== 0).length, 120, 'the 120 buffered frames, then silence');
    assert.equal(jb.stats.underruns, 1);
    jb.push(block(), 2 * BLOCK_US + 2500);
    assert.equal(play(jb, 5), 0, 'priming again: 20 ms is below the target');
    assert.equal(jb.stats.underruns, 1, 'silence while priming is not another underrun');
    jb.push(block(), 3 * BLOCK_US + 2500);
    assert.equal(jb.stats.gapsFilledMs, 0);
    assert.ok(play(jb, 5) > 0, 'plays once the target is back');
  });

  it('after a burst (a stalled tab catching up), drops the oldest samples down to the target', () => {
    const jb = new JitterBuffer(RATE);
    for (let i = 0; i < 25; i++) jb.push(block(i / 100), i * BLOCK_US);
    const { bufferedMs, droppedMs } = jb.stats;
    assert.ok(bufferedMs <= 40 + 80, `bounded by target + excess (${bufferedMs} ms)`);
    assert.equal(droppedMs + bufferedMs, 25 * 20, 'everything pushed is either buffered or counted as dropped');
    const out = [new Float32Array(1)];
    jb.pull(out);
    assert.ok(Math.abs(out[0]![0]! - (25 - bufferedMs / 20) / 100) < 1e-6, 'the newest blocks are kept');
  });

  it('fills lost packets with silence so the audio stays in time', () => {
    const jb = new JitterBuffer(RATE);
    jb.push(block(), 0);
    jb.push(block(), BLOCK_US);
    jb.push(block(), 4 * BLOCK_US); // two packets lost
    assert.equal(jb.stats.gapsFilledMs, 40);
    assert.equal(jb.stats.bufferedMs, 100);
    const out = [new Float32Array(5 * BLOCK)];
    jb.pull(out);
    const at = (ms: number): number => out[0]![(ms * RATE) / 1000]!;
    assert.deepEqual([at(10), at(30), at(50), at(70), at(90)], [0.5, 0.5, 0, 0, 0.5]);
  });

  it('counts silence already played on the underrun a gap caused, so the lead stays what it was', () => {
    const jb = new JitterBuffer(RATE);
    const leads: number[] = [];
    for (let i = 0; i < 30; i++) {
      if (i < 15 || i >= 18) {
        jb.push(block(), i * BLOCK_US); // packets 15 to 17 lost, the rest on time
        leads.push(jb.stats.bufferedMs);
      }
      play(jb, 20);
    }
    assert.equal(jb.stats.underruns, 1, 'a lead of ~40 ms cannot ride out 60 ms of nothing');
    assert.ok(jb.stats.gapsFilledMs > 0 && jb.stats.gapsFilledMs < 60, `only the part not yet played is filled (${jb.stats.gapsFilledMs} ms)`);
    const before = leads[14]!;
    const after = leads[leads.length - 1]!;
    assert.ok(Math.abs(after - before) <= 128 / 48, `lead ${before} ms before, ${after} ms after`);
  });

  it('trims a lead that stood above the target for a whole second (after a burst below the excess)', () => {
    const jb = new JitterBuffer(RATE);
    let next = 0;
    const leads: number[] = [];
    for (let step = 0; step < 120; step++) {
      for (let k = step === 20 ? 4 : 1; k > 0; k--) jb.push(block(), next++ * BLOCK_US);
      leads.push(jb.stats.bufferedMs);
      play(jb, 20);
    }
    assert.ok(leads[21]! >= 90 && leads[21]! <= 40 + 80, `three blocks early: a lead of ${leads[21]} ms, below the excess`);
    assert.ok(leads[119]! <= 40 + 128 / 48, `back near the target later (${leads[119]} ms)`);
    assert.equal(jb.stats.underruns, 0, 'without an underrun');
    assert.ok(Math.abs(jb.stats.droppedMs - 60) <= 128 / 48, `what was dropped: ${jb.stats.droppedMs} ms`);
  });

  it('does not take timestamp jitter for a gap, nor fill a long gap (underrun and re-prime cover that)', () => {
    const jb = new JitterBuffer(RATE);
    jb.push(block(), 0);
    jb.push(block(), BLOCK_US + 5000);
    jb.push(block(), 2 * BLOCK_US + 2000);
    assert.equal(jb.stats.gapsFilledMs, 0);
    jb.push(block(), 3 * BLOCK_US + 500_000);
    assert.equal(jb.stats.gapsFilledMs, 0);
    assert.equal(jb.stats.bufferedMs, 80);
  });

  it('starts over when the timestamps go back a lot or jump far ahead (a new stream)', () => {
    for (const next of [-5_000_000, 2 * BLOCK_US + 1_500_000]) {
      const jb = new JitterBuffer(RATE);
      jb.push(block(), 0);
      jb.push(block(), BLOCK_US);
      jb.pull([new Float32Array(QUANTUM)]);
      jb.push(block(0.25), next);
      assert.equal(jb.stats.bufferedMs, 20, `only the new block is left (next ${next} µs)`);
      assert.equal(jb.stats.gapsFilledMs, 0);
      assert.equal(play(jb, 5), 0, 'and it primes again');
      jb.push(block(0.25), next + BLOCK_US);
      assert.equal(jb.stats.gapsFilledMs, 0, 'timing follows the new stream');
      assert.equal(pull(jb)[0]![0], 0.25);
    }
  });

  it('never holds more than its capacity, whatever the settings and block sizes', () => {
    const jb = new JitterBuffer(RATE, { targetMs: 5000, maxExcessMs: 5000, capacityMs: 300 });
    jb.push(block(0.5, RATE), 0); // one 1 s block
    assert.equal(jb.stats.bufferedMs, 300);
    assert.equal(jb.stats.droppedMs, 700);
    for (let i = 0; i < 20; i++) jb.push(block(), 1_000_000 + i * BLOCK_US);
    assert.ok(jb.stats.bufferedMs <= 300);
    assert.equal(play(jb, 400), 300 * 48, 'a target above the capacity is clamped, so it still plays');
  });

  it('keeps planar channels apart across the ring wrap', () => {
    const jb = new JitterBuffer(RATE, { capacityMs: 50, targetMs: 0, maxExcessMs: 50 });
    for (let i = 0; i < 7; i++) {
      jb.push([new Float32Array(BLOCK).fill(i), new Float32Array(BLOCK).fill(-i)], i * BLOCK_US);
      const out = [new Float32Array(BLOCK), new Float32Array(BLOCK)];
      jb.pull(out);
      assert.ok(out[0]!.every((x) => x === i) && out[1]!.every((x) => x === -i), `block ${i}`);
    }
  });

  it('measures the RMS level of its output over ~250 ms', () => {
    const jb = new JitterBuffer(RATE);
    assert.equal(jb.stats.level, 0);
    for (let i = 0; i < 30; i++) {
      const sine = new Float32Array(BLOCK).map((_, n) => 0.5 * Math.sin((2 * Math.PI * 440 * (i * BLOCK + n)) / RATE));
      jb.push([sine], i * BLOCK_US);
      play(jb, 20);
    }
    assert.ok(Math.abs(jb.stats.level - 0.5 / Math.SQRT2) < 0.01, `sine of amplitude 0.5 (level ${jb.stats.level})`);
    play(jb, 600);
    assert.equal(jb.stats.level, 0, 'silence after the stream stops');
  });

  it('level meter: a full window of a constant gives that constant, clamped to 1', () => {
    const meter = new LevelMeter(1000);
    meter.add([new Float32Array(200).fill(0.3)], 200);
    assert.equal(meter.level, 0, 'no full window yet');
    meter.add([new Float32Array(50).fill(0.3)], 50);
    assert.ok(Math.abs(meter.level - 0.3) < 1e-6);
    meter.add([new Float32Array(250).fill(4)], 250);
    assert.equal(meter.level, 1);
  });
});
