// The SourceBuffer queue: one operation at a time, queued appends joined into one, in order.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SourceBufferQueue } from '../../src/client/viewer/sourcebuffer-queue.ts';

/** Just enough of a SourceBuffer: busy after each call until finish() fires updateend. */
class FakeSourceBuffer {
  updating = false;
  readonly calls: string[] = [];
  private listener: (() => void) | null = null;
  addEventListener(_type: string, fn: () => void): void {
    this.listener = fn;
  }
  removeEventListener(): void {
    this.listener = null;
  }
  appendBuffer(data: Uint8Array): void {
    if (this.updating) throw new Error('InvalidStateError');
    this.updating = true;
    this.calls.push(`append ${[...data].join(',')}`);
  }
  remove(start: number, end: number): void {
    if (this.updating) throw new Error('InvalidStateError');
    this.updating = true;
    this.calls.push(`remove ${start}-${end}`);
  }
  finish(): void {
    this.updating = false;
    this.listener?.();
  }
}

function queue(batch: boolean): { sb: FakeSourceBuffer; q: SourceBufferQueue } {
  const sb = new FakeSourceBuffer();
  const q = new SourceBufferQueue(sb as unknown as SourceBuffer, () => 0, (m) => assert.fail(m), batch);
  return { sb, q };
}

describe('SourceBuffer queue', () => {
  it('joins the appends that waited while the buffer was busy, in order, and never joins across a remove', () => {
    const { sb, q } = queue(true);
    q.append(Uint8Array.of(1));
    q.append(Uint8Array.of(2));
    q.append(Uint8Array.of(3, 4));
    q.remove(0, 1);
    q.append(Uint8Array.of(5));
    q.append(Uint8Array.of(6));
    assert.equal(q.pendingBytes, 5, 'the first append went straight in');
    for (let i = 0; i < 3; i++) sb.finish();
    assert.deepEqual(sb.calls, ['append 1', 'append 2,3,4', 'remove 0-1', 'append 5,6']);
    assert.equal(q.pendingBytes, 0);
  });
  it('one append per chunk when batching is off', () => {
    const { sb, q } = queue(false);
    for (const b of [1, 2, 3]) q.append(Uint8Array.of(b));
    sb.finish();
    sb.finish();
    assert.deepEqual(sb.calls, ['append 1', 'append 2', 'append 3']);
  });
});
