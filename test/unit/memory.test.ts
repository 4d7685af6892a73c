// What the network leaves behind is collected while much is read and once more when it quietens
// (memory.ts), only where Node lets the server ask (--expose-gc, as npm start runs it).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryReclaimer } from '../../src/server/memory.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('memory reclaimer', () => {
  it('asks for a collection after every so many bytes read, and once more when the traffic has quietened', async () => {
    const asked: unknown[] = [];
    const reclaimer = new MemoryReclaimer({ everyBytes: 1000, checkMs: 40 }, (o: unknown) => asked.push(o));
    try {
      assert.ok(reclaimer.active);
      reclaimer.received(600);
      assert.equal(asked.length, 0);
      reclaimer.received(600);
      assert.deepEqual(asked, [{ type: 'major', execution: 'async', flavor: 'regular' }], 'past everyBytes, at once, as a task of its own');
      reclaimer.received(999);
      assert.equal(asked.length, 1);
      await sleep(100);
      assert.deepEqual(asked[1], { type: 'major', execution: 'async', flavor: 'last-resort' }, 'once more when quiet, giving back empty pages');
      await sleep(100);
      assert.equal(asked.length, 2, 'and no more');
    } finally {
      reclaimer.stop();
    }
  });

  it('does nothing where Node does not let it ask', () => {
    const reclaimer = new MemoryReclaimer({ everyBytes: 1, checkMs: 10 }, undefined);
    assert.equal(reclaimer.active, false);
    reclaimer.received(1e9);
    reclaimer.stop();
  });
});
