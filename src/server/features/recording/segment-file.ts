// One segment's file: created exclusively (a name is never written twice), written in order as the
// bytes come (no buffering beyond the segment writer's half second), with what is queued counted so
// the recorder can tell a disk that cannot keep up. A write that fails (disk full, read-only, gone)
// stops the file: what was written whole stays (a partial write is cut back), and the error is
// reported once.
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Patch } from '../../../media/bytes.ts';

export class SegmentFile {
  /** Bytes written whole to the file. */
  written = 0;
  /** Bytes handed over and not yet written. */
  queued = 0;
  /** This file was created by this writer (a name already taken is never touched). */
  opened = false;
  private failure: Error | null = null;
  private chain: Promise<FileHandle | null>;

  constructor(
    readonly abs: string,
    private readonly onError: (err: Error) => void,
  ) {
    this.chain = (async () => {
      await mkdir(path.dirname(abs), { recursive: true, mode: 0o700 });
      const fh = await open(abs, 'wx', 0o600);
      this.opened = true;
      return fh;
    })().catch((err: unknown) => this.fail(err));
  }

  get failed(): Error | null {
    return this.failure;
  }

  write(bytes: Uint8Array | null): void {
    if (bytes === null || bytes.length === 0 || this.failure) return;
    this.queued += bytes.length;
    this.then(async (fh) => {
      try {
        await writeAll(fh, bytes, this.written);
        this.written += bytes.length;
      } catch (err) {
        // Cut back to what was written whole (truncating needs no space).
        await fh.truncate(this.written).catch(() => undefined);
        this.fail(err);
      } finally {
        this.queued -= bytes.length;
      }
    }, () => (this.queued -= bytes.length));
  }

  patch(patches: readonly Patch[]): void {
    for (const p of patches) this.then((fh) => writeAll(fh, p.bytes, p.at).catch((err: unknown) => this.fail(err)));
  }

  /** Waits until what is queued now is written (or failed). */
  async drained(): Promise<void> {
    await this.chain;
  }

  /** Closes the file once everything before is written. */
  async close(): Promise<void> {
    const fh = await this.chain;
    this.chain = Promise.resolve(null);
    await fh?.close().catch(() => undefined);
  }

  private then(step: (fh: FileHandle) => Promise<unknown>, skipped?: () => void): void {
    this.chain = this.chain.then(async (fh) => {
      if (fh === null || this.failure) skipped?.();
      else await step(fh);
      return fh;
    });
  }

  private fail(err: unknown): null {
    if (this.failure) return null;
    const failure = err instanceof Error ? err : new Error(String(err));
    this.failure = failure;
    // Outside the chain of writes: what the recorder does about it must not break the chain.
    queueMicrotask(() => {
      try {
        this.onError(failure);
      } catch (e) {
        console.error('recordings: handling a write error failed', e);
      }
    });
    return null;
  }
}

async function writeAll(fh: FileHandle, bytes: Uint8Array, at: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, at + done);
    if (bytesWritten === 0) throw new Error('the disk took no bytes');
    done += bytesWritten;
  }
}
