// The pacing of a bursty camera's frames (src/client/viewer/frame-pacer.ts): shown at their capture
// time plus a steady delay that follows how late the bursts come, never more than MAX_DELAY_MS.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FramePacer, MAX_DELAY_MS } from '../../src/client/viewer/frame-pacer.ts';

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
});
