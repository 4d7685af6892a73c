// Telling late chunks from the stream's usual delay, whatever the clocks' offset.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ArrivalDelay, BASELINE_WINDOW_MS, LATE_MS } from '../../src/client/viewer/arrival-delay.ts';

describe('arrival delay', () => {
  it('calls nothing late in a steady stream with jitter, whatever the clocks’ offset', () => {
    for (const offset of [0, 5000, -2500]) {
      const a = new ArrivalDelay();
      for (let i = 0; i < 300; i++) assert.equal(a.late(i * 33, offset + 20 + ((i * 7) % 60)), false);
    }
  });

  it('calls the chunks that piled up behind a 2 s stall late, and the fresh ones after them not', () => {
    const a = new ArrivalDelay();
    for (let i = 0; i < 90; i++) a.late(i * 33, 25);
    // The page was blocked: 60 chunks captured during 2 s all arrive at once, then fresh ones.
    const at = 90 * 33 + 2000;
    const burst = Array.from({ length: 60 }, (_, i) => a.late(at, 2000 + 25 - i * 33));
    assert.ok(burst.slice(0, 50).every(Boolean), 'the old ones are late');
    assert.equal(burst.at(-1), false, 'the newest of the burst is not');
    assert.equal(a.late(at + 33, 25), false);
  });

  it('takes a new delay as usual once the old one has left the window, or at once after reset()', () => {
    const a = new ArrivalDelay();
    for (let i = 0; i < 30; i++) a.late(i * 33, 20);
    const moved = 20 + LATE_MS + 200;
    assert.equal(a.late(1000, moved), true);
    assert.equal(a.late(1000 + BASELINE_WINDOW_MS + 100, moved), false, 'the window forgot the old delay');
    const b = new ArrivalDelay();
    for (let i = 0; i < 30; i++) b.late(i * 33, 20);
    b.reset();
    assert.equal(b.late(1000, moved), false);
    assert.equal(b.late(1033, moved + 10), false);
  });
});
