// The send log: how old the oldest data still in a socket is, from what was handed over and how
// many bytes the socket still holds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SendLog } from '../../src/shared/send-log.ts';

describe('SendLog', () => {
  it('says nothing when nothing was handed over, or all of it left', () => {
    const log = new SendLog();
    assert.equal(log.oldest(0), null);
    log.add(10, 100);
    assert.equal(log.oldest(0), null);
  });

  it('gives the time of the oldest entry with bytes still in the socket', () => {
    const log = new SendLog();
    log.add(10, 100);
    log.add(20, 50);
    log.add(30, 25);
    assert.equal(log.oldest(175), 10, 'everything still queued');
    assert.equal(log.oldest(75), 20, 'the first entry has left');
    assert.equal(log.oldest(10), 30);
    assert.equal(log.oldest(0), null);
    log.add(40, 5);
    assert.equal(log.oldest(5), 40, 'entries that left stay gone');
  });

  it('keeps its order across many entries that come and go (the ring wraps and grows)', () => {
    const log = new SendLog();
    let t = 0;
    for (let round = 0; round < 50; round++) {
      const first = t;
      const n = 1 + (round % 37);
      for (let i = 0; i < n; i++) log.add(t++, 10);
      assert.equal(log.oldest(n * 10), first);
      assert.equal(log.oldest(10), t - 1);
      assert.equal(log.oldest(0), null);
    }
  });

  it('keeps at most 1000 entries: a socket that never drains cannot grow it', () => {
    const log = new SendLog();
    for (let i = 0; i < 5000; i++) log.add(i, 1);
    assert.equal(log.oldest(5000), 4000, 'the oldest 4000 were let go');
    assert.equal(log.oldest(1), 4999);
  });
});
