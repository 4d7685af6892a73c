// What one client address may use, shared by all its sockets (one leaked link can open up to the
// per-address socket limit): media work per second, counted as the bytes arrive and as the
// messages and frames they hold are handled, and memory kept for its cameras' joiners. An address
// over its work budget has every one of its sockets left unread until it is out of debt: the
// server does no more work for it, and what it sends waits in its own buffers (a real camera's page
// sees its bufferedAmount grow and skips, as on a slow network).
import { RetentionPool } from '../../core/retention.ts';
import type { ConnectionOptions } from './options.ts';

/** What media work costs, in units: each binary message, each frame it held, and each 16 KiB that arrives. */
export const MEDIA_WORK = { message: 1, frame: 1, bytesPerUnit: 16 * 1024 } as const;

/** A socket as the share pauses it. */
export interface Pausable {
  pause(): void;
  resume(): void;
}

export class AddressShare {
  readonly retention: RetentionPool;
  private readonly sockets = new Set<Pausable>();
  private tokens: number;
  private at = performance.now();
  private resumeTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly opts: Pick<ConnectionOptions, 'mediaWorkPerSecond' | 'mediaWorkBurst' | 'retainedBytesPerAddress'>,
    retainedTotal: RetentionPool,
  ) {
    this.tokens = opts.mediaWorkBurst;
    this.retention = new RetentionPool(opts.retainedBytesPerAddress, retainedTotal);
  }

  get size(): number {
    return this.sockets.size;
  }

  add(socket: Pausable): void {
    this.sockets.add(socket);
    if (this.resumeTimer) socket.pause();
  }

  remove(socket: Pausable): void {
    this.sockets.delete(socket);
    if (this.sockets.size === 0 && this.resumeTimer) {
      clearTimeout(this.resumeTimer);
      this.resumeTimer = null;
    }
  }

  /** Bytes arrived on one of its sockets. */
  arrived(bytes: number): void {
    this.spend(bytes / MEDIA_WORK.bytesPerUnit);
  }

  /** A media message was handled, holding `frames` frames. */
  handled(frames: number): void {
    this.spend(MEDIA_WORK.message + frames * MEDIA_WORK.frame);
  }

  private spend(units: number): void {
    const now = performance.now();
    this.tokens = Math.min(this.opts.mediaWorkBurst, this.tokens + ((now - this.at) / 1000) * this.opts.mediaWorkPerSecond) - units;
    this.at = now;
    if (this.tokens >= 0 || this.resumeTimer) return;
    for (const s of this.sockets) s.pause();
    const wait = Math.ceil((-this.tokens / this.opts.mediaWorkPerSecond) * 1000);
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = null;
      for (const s of this.sockets) s.resume();
    }, wait);
  }
}
