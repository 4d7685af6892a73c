// Every SourceBuffer operation goes through this one queue: appending or removing while the buffer
// is updating throws, and a full buffer (QuotaExceededError) must free old media and retry.

type Op = { kind: 'append'; data: Uint8Array; done: (() => void) | undefined } | { kind: 'remove'; start: number; end: number };

/** Serialises appends and removes on one SourceBuffer. */
export class SourceBufferQueue {
  private readonly ops: Op[] = [];
  private queuedBytes = 0;
  private destroyed = false;
  /** The append the SourceBuffer is working on, whose `done` runs at its updateend. */
  private inFlight: (() => void) | undefined;
  private readonly onUpdateEnd = (): void => {
    const done = this.inFlight;
    this.inFlight = undefined;
    done?.();
    this.next();
  };

  constructor(
    private readonly sb: SourceBuffer,
    /** Current playback position, for freeing space on QuotaExceededError. */
    private readonly currentTime: () => number,
    private readonly onError: (message: string) => void,
  ) {
    sb.addEventListener('updateend', this.onUpdateEnd);
  }

  /** Bytes waiting to be appended. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** Queues an append; `done` runs once the SourceBuffer has taken it (buffered ranges include it). */
  append(data: Uint8Array, done?: () => void): void {
    this.ops.push({ kind: 'append', data, done });
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
    try {
      if (op.kind === 'append') {
        this.sb.appendBuffer(op.data as Uint8Array<ArrayBuffer>);
        this.inFlight = op.done;
      } else this.sb.remove(op.start, op.end);
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
