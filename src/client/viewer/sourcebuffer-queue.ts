// Every SourceBuffer operation goes through this one queue: appending or removing while the buffer
// is updating throws, and a full buffer (QuotaExceededError) must free old media and retry.
// Appends that queued up while the buffer was busy go in as one: after a stall, a couple of
// seconds of small chunks are taken in one step instead of one step per chunk.
import { concatBytes } from '../../media/bytes.ts';

type Op = { kind: 'append'; data: Uint8Array } | { kind: 'remove'; start: number; end: number };

/** Serialises appends and removes on one SourceBuffer. */
export class SourceBufferQueue {
  private readonly ops: Op[] = [];
  private queuedBytes = 0;
  private destroyed = false;
  private readonly onUpdateEnd = (): void => this.next();

  constructor(
    private readonly sb: SourceBuffer,
    /** Current playback position, for freeing space on QuotaExceededError. */
    private readonly currentTime: () => number,
    private readonly onError: (message: string) => void,
    /** Join queued appends into one (see the top of the file). */
    private readonly batch = true,
  ) {
    sb.addEventListener('updateend', this.onUpdateEnd);
  }

  /** Bytes waiting to be appended. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  append(data: Uint8Array): void {
    this.ops.push({ kind: 'append', data });
    this.queuedBytes += data.byteLength;
    this.next();
  }

  remove(start: number, end: number): void {
    if (end > start) this.ops.push({ kind: 'remove', start, end });
    this.next();
  }

  /** Drops queued work and detaches from the SourceBuffer. */
  destroy(): void {
    this.destroyed = true;
    this.ops.length = 0;
    this.queuedBytes = 0;
    this.sb.removeEventListener('updateend', this.onUpdateEnd);
  }

  private next(): void {
    if (this.destroyed || this.sb.updating) return;
    const op = this.ops[0];
    if (!op) return;
    if (op.kind === 'append' && this.batch && this.ops[1]?.kind === 'append') {
      let n = 1;
      while (this.ops[n]?.kind === 'append') n++;
      const parts = this.ops.splice(0, n) as Extract<Op, { kind: 'append' }>[];
      this.ops.unshift({ kind: 'append', data: concatBytes(parts.map((p) => p.data)) });
      this.next();
      return;
    }
    try {
      if (op.kind === 'append') this.sb.appendBuffer(op.data as Uint8Array<ArrayBuffer>);
      else this.sb.remove(op.start, op.end);
      this.ops.shift();
      if (op.kind === 'append') this.queuedBytes -= op.data.byteLength;
    } catch (err) {
      const e = err as DOMException;
      if (e.name === 'QuotaExceededError' && op.kind === 'append') {
        // Free everything older than a couple of seconds, then retry this append after updateend.
        const keepFrom = this.currentTime() - 2;
        const start = this.sb.buffered.length > 0 ? this.sb.buffered.start(0) : 0;
        if (keepFrom > start) {
          this.sb.remove(start, keepFrom);
          return;
        }
      }
      this.destroy();
      this.onError(`${e.name}: ${e.message}`);
    }
  }
}
