// The pacing of a bursty camera's frames (src/client/viewer/frame-pacer.ts): shown at their capture
// time plus a steady delay that follows how late the bursts come, never more than MAX_DELAY_MS.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FramePacer, MAX_DELAY_MS, MAX_DRAIN_MS, STALL_GAP_MS } from '../../src/client/viewer/frame-pacer.ts';

describe('FramePacer', () => {
  it('shows frames that came in bursts one by one, at the pace they were captured', () => {
    const pacer = new FramePacer();
    // 30 fps captured; they arrive 5 at a time, every 167 ms, 20 ms after the last of each burst.
    const shown: number[] = [];
    let waiting: number[] = [];
    for (let t = 0; t < 3000; t += 1000 / 60) {
      for (let k = 0; k < 90; k++) {
        const captured = (k * 1000) / 30;
        const arrives = Math.floor(k / 5) * 5 * (1000 / 30) + 4 * (1000 / 30) + 20;
        if (arrives > t - 1000 / 60 && arrives <= t) {
          pacer.decoded(captured, t);
          waiting.push(captured);
        }
      }
      const n = pacer.due(waiting, t);
      if (n > 0) shown.push(waiting[n - 1]!);
      waiting = waiting.slice(n);
    }
    // After the first second (the delay has learnt the bursts), nearly every frame is shown.
    const late = shown.filter((c) => c >= 1000);
    assert.ok(late.length >= 55, `${late.length} of 60 frames shown in the last two seconds`);
    assert.ok(pacer.delay > 100 && pacer.delay < 200, `delay ${pacer.delay} ms: the bursts' spread`);
  });

  it('never waits longer than MAX_DELAY_MS, and shows frames of a smooth camera at once', () => {
    const pacer = new FramePacer();
    pacer.decoded(0, 50);
    pacer.decoded(33, 2083);
    assert.equal(pacer.delay, MAX_DELAY_MS);
    const smooth = new FramePacer();
    for (let k = 0; k < 30; k++) smooth.decoded(k * 33, k * 33 + 40);
    assert.equal(smooth.delay, 0);
    assert.equal(smooth.due([29 * 33], 29 * 33 + 40), 1, 'due as soon as it is decoded');
  });

  it('after a stall, neither what piled up nor the frames decoded behind it set the delay', () => {
    const pacer = new FramePacer();
    // A smooth camera, 50 ms behind, for 3 s.
    for (let k = 0; k < 90; k++) pacer.decoded(k * 33, k * 33 + 50);
    assert.equal(pacer.delay, 0);
    // The page is blocked for 2 s: at 5000 the 61 frames captured since 2970 come at once, and the
    // decoder takes 5 ms for each; frames captured meanwhile arrive as usual but wait behind them.
    const stallEnd = 5000;
    assert.ok(stallEnd - (89 * 33 + 50) >= STALL_GAP_MS);
    pacer.stalled(stallEnd);
    const waiting: number[] = [];
    let at = stallEnd;
    const piled = Array.from({ length: 61 }, (_, k) => 2970 + k * 33);
    piled.forEach((c, k) => {
      at += 5;
      pacer.decoded(c, at, piled.length - 1 - k + 1);
      waiting.push(c);
    });
    // Behind the pile: captured at 5000 and 5033, decoded at once after it (late by the pile).
    for (const c of [5000, 5033]) {
      at += 5;
      pacer.decoded(c, at, 0);
      waiting.push(c);
    }
    assert.equal(pacer.due(waiting, at), 0, 'nothing shown until a frame captured after the decoder was through');
    // The first frame captured after that comes as usual: everything before it is due, it is shown.
    const first = Math.ceil(at / 33) * 33 + 33;
    pacer.decoded(first, first + 50, 0);
    waiting.push(first);
    assert.equal(pacer.due(waiting, first + 50), waiting.length);
    assert.equal(pacer.delay, 0, 'no delay learnt from the stall');
    // Without the stall being told, the pile holds the picture at the most delay for the window.
    const naive = new FramePacer();
    for (let k = 0; k < 90; k++) naive.decoded(k * 33, k * 33 + 50);
    piled.forEach((c, k) => naive.decoded(c, stallEnd + 5 * (k + 1)));
    naive.decoded(first, first + 50);
    assert.equal(naive.delay, MAX_DELAY_MS);
  });

  it('after a stall, a decoder that never gets through the pile is waited for MAX_DRAIN_MS at most', () => {
    const pacer = new FramePacer();
    pacer.stalled(0);
    for (let t = 0; t < MAX_DRAIN_MS; t += 33) pacer.decoded(t - 500, t, 50);
    pacer.decoded(MAX_DRAIN_MS - 500, MAX_DRAIN_MS, 50);
    pacer.decoded(MAX_DRAIN_MS + 10, MAX_DRAIN_MS + 60, 50);
    assert.equal(pacer.due([MAX_DRAIN_MS + 10], MAX_DRAIN_MS + 60), 1, 'measured again, and shown');
  });

  it('stalled again while still waiting: how late frames were before the first stall still holds', () => {
    const pacer = new FramePacer();
    for (let k = 0; k < 90; k++) pacer.decoded(k * 33, k * 33 + 50);
    pacer.stalled(5000);
    pacer.stalled(6000);
    // A pile frame decoded with nothing queued behind it, 900 ms late: still the pile, not measured.
    pacer.decoded(5100, 6000, 0);
    assert.equal(pacer.due([5100], 6000), 0);
    // Then one as late as before the stalls: measured, shown.
    pacer.decoded(6010, 6060, 0);
    assert.equal(pacer.due([5100, 6010], 6060), 2);
    assert.equal(pacer.delay, 0);
  });
});
