// What one client address may use, shared by all its sockets (one leaked link can open up to the
// per-address socket limit): media work per second, counted as the bytes arrive and as the
// messages and frames they hold are handled; bytes of messages begun and not yet finished (each
// socket may be half-way through a 4 MiB message); and memory kept for its cameras' joiners.
// An address over its work budget has its sockets left unread until it is out of debt: the server
// does no more work for it, and what it sends waits in its own buffers (a real camera's page sees
// its bufferedAmount grow and skips, as on a slow network). An address with too many bytes of
// unfinished messages loses the socket holding the most of them.
import { RetentionPool } from '../../core/retention.ts';
import type { ConnectionOptions } from './options.ts';

/** What media work costs, in units: each binary message, each frame it held, and each 16 KiB that arrives. */
export const MEDIA_WORK = { message: 1, frame: 1, bytesPerUnit: 16 * 1024 } as const;

/** A socket as the share pauses it. */
export interface Pausable {
  pause(): void;
  resume(): void;
}

/** One socket's bytes: as they arrived, and as whole frames of the WebSocket protocol were read from them. */
interface Member {
  arrived: number;
  read: number;
  /** A whole message was read since the last chunk arrived (see arrived()). */
  ended: boolean;
  /** Its first bytes (the hello) have been read: from now on it waits while the address is in debt. */
  started: boolean;
  /** Being closed for holding too much: not resumed, not counted, never picked again. */
  dropped: boolean;
}

export type ShareOptions = Pick<ConnectionOptions, 'mediaWorkPerSecond' | 'mediaWorkBurst' | 'retainedBytesPerAddress' | 'unfinishedBytesPerAddress'>;

export class AddressShare {
  readonly retention: RetentionPool;
  private readonly members = new Map<Pausable, Member>();
  private tokens: number;
  private at = performance.now();
  private resumeTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly opts: ShareOptions,
    retainedTotal: RetentionPool,
  ) {
    this.tokens = opts.mediaWorkBurst;
    this.retention = new RetentionPool(opts.retainedBytesPerAddress, retainedTotal);
  }

  get size(): number {
    return this.members.size;
  }

  /**
   * A new socket of this address. It is read even while the address is in debt until its first
   * bytes arrive (its hello is answered; it does not wait out a hello timeout), then waits too.
   */
  add(socket: Pausable): void {
    this.members.set(socket, { arrived: 0, read: 0, ended: false, started: false, dropped: false });
  }

  remove(socket: Pausable): void {
    this.members.delete(socket);
    if (this.members.size === 0 && this.resumeTimer) {
      clearTimeout(this.resumeTimer);
      this.resumeTimer = null;
    }
  }

  /**
   * Bytes arrived on one of its sockets (after the WebSocket layer read what it could of them).
   * Returns a socket to close when the address now holds more unfinished messages than it may: the
   * one holding the most.
   */
  arrived(socket: Pausable, bytes: number): Pausable | null {
    const member = this.members.get(socket);
    if (member) {
      member.arrived += bytes;
      member.started = true;
      // A message ended in this chunk: what is unfinished now lies in this chunk. (A fragmented
      // message is read as one, so the headers of its other frames would otherwise count for good;
      // this way a socket's count is off by at most one chunk, whatever went by.)
      if (member.ended) member.read = Math.max(member.read, member.arrived - bytes);
      member.ended = false;
    }
    // (Already in debt: this socket, new since, waits too. Going into debt now pauses them all.)
    if (this.resumeTimer && member && !member.dropped) socket.pause();
    this.spend(bytes / MEDIA_WORK.bytesPerUnit);
    return this.overLimit();
  }

  /**
   * A whole message (`message`), or a ping or pong, of `payload` bytes was read from a socket
   * (before the chunk that held its end is counted). Only a message's end re-sets the count: a
   * ping may come between the pieces of a message, which is still being kept.
   */
  read(socket: Pausable, payload: number, message = true): void {
    const member = this.members.get(socket);
    if (!member) return;
    member.read += payload + frameHeaderBytes(payload);
    if (message) member.ended = true;
  }

  /** Bytes of messages begun and not finished, on all its sockets still counted. */
  get unfinished(): number {
    let n = 0;
    for (const m of this.members.values()) if (!m.dropped) n += Math.max(0, m.arrived - m.read);
    return n;
  }

  /** A media message was handled, holding `frames` frames. */
  handled(frames: number): void {
    this.spend(MEDIA_WORK.message + frames * MEDIA_WORK.frame);
  }

  private overLimit(): Pausable | null {
    if (this.unfinished <= this.opts.unfinishedBytesPerAddress) return null;
    let worst: [Pausable, Member] | null = null;
    for (const entry of this.members) {
      const m = entry[1];
      if (!m.dropped && (!worst || m.arrived - m.read > worst[1].arrived - worst[1].read)) worst = entry;
    }
    if (!worst) return null;
    worst[1].dropped = true;
    worst[0].pause();
    return worst[0];
  }

  private spend(units: number): void {
    const now = performance.now();
    this.tokens = Math.min(this.opts.mediaWorkBurst, this.tokens + ((now - this.at) / 1000) * this.opts.mediaWorkPerSecond) - units;
    this.at = now;
    if (this.tokens >= 0 || this.resumeTimer) return;
    for (const [s, m] of this.members) if (m.started) s.pause();
    const wait = Math.ceil((-this.tokens / this.opts.mediaWorkPerSecond) * 1000);
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = null;
      for (const [s, m] of this.members) if (!m.dropped) s.resume();
    }, wait);
  }
}

/** A client's frame header: 2 bytes, the extended length (2 or 8), and the 4-byte mask every client frame carries. */
function frameHeaderBytes(payload: number): number {
  return 2 + (payload > 65_535 ? 8 : payload > 125 ? 2 : 0) + 4;
}
