// What the network leaves behind is collected while much is read and once more when it quietens
// (memory.ts), only where Node lets the server ask (--expose-gc, as npm start runs it).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { MemoryReclaimer, TRIM_AFTER_MS, nativeTrim } from '../../src/server/memory.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('memory reclaimer', () => {
  it('asks for a collection after every so many bytes read, and once more when the traffic has quietened', async () => {
    const asked: unknown[] = [];
    let trimmed = 0;
    const reclaimer = new MemoryReclaimer({ everyBytes: 1000, checkMs: 40 }, (o: unknown) => asked.push(o), async () => void trimmed++);
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
      assert.equal(trimmed, 0, 'the C heap is trimmed only once the collection has run');
      await sleep(100);
      assert.equal(asked.length, 2, 'and no more');
      await sleep(TRIM_AFTER_MS);
      assert.equal(trimmed, 1, 'then the C heap gives its free pages back, once');
    } finally {
      reclaimer.stop();
    }
  });

  it('gives the C heap\'s free pages back to the system (glibc\'s malloc_trim, through koffi)', () => {
    assert.ok(nativeTrim(), 'this machine runs glibc, and koffi has a binary for it');
    // In a Node of its own: 200 MB of small buffers, freed and collected, stay in the heap until trimmed.
    const script = `
      const { nativeTrim } = await import(${JSON.stringify(new URL('../../src/server/memory.ts', import.meta.url).href)});
      let blocks = Array.from({ length: 200000 }, () => Buffer.allocUnsafeSlow(1000));
      blocks = null;
      gc();
      await new Promise((r) => setTimeout(r, 200));
      gc();
      const mib = () => Math.round(process.memoryUsage().rss / 1048576);
      const collected = mib();
      // (On a thread of its own: the event loop goes on meanwhile.)
      await nativeTrim()();
      console.log(JSON.stringify({ collected, trimmed: mib() }));`;
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    const { collected, trimmed } = JSON.parse(out) as { collected: number; trimmed: number };
    assert.ok(collected - trimmed > 100, `RSS ${collected} MiB after the collection, ${trimmed} MiB after the trim`);
  });

  it('does nothing where Node does not let it ask', () => {
    const reclaimer = new MemoryReclaimer({ everyBytes: 1, checkMs: 10 }, undefined);
    assert.equal(reclaimer.active, false);
    reclaimer.received(1e9);
    reclaimer.stop();
  });
});
