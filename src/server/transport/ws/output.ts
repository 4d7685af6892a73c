// What a connection has to send, and when it is written. Output is written once per turn of the
// event loop, after the turn's reads (setImmediate runs after the poll phase): whatever cameras sent
// that is already here is read, checked and queued first, and only then is it written to viewers,
// each connection's messages in the order they were queued. Frames that have arrived do not wait
// behind each other's fan-out to hundreds of viewers (one arriving during the writing waits for
// that turn's writing to end); and what waits here counts in each viewer's queue (its age, its
// bytes), so slow turns make viewers skip rather than fall behind.
import { WebSocket } from 'ws';
import { SendLog } from '../../../shared/send-log.ts';
import type { Logger } from '../../log.ts';

/**
 * A list that is filled and emptied over and over without giving its memory back (emptying an
 * array by its length would, and it would be grown again the next turn: a frame goes to every
 * viewer, so that would be garbage made hundreds of times a turn). Emptied to `undefined`, so it
 * holds on to nothing; past `KEEP_CAPACITY` (a burst) its memory is let go.
 */
class ReusedList<T> {
  private items: (T | undefined)[] = [];
  length = 0;

  push(item: T): void {
    this.items[this.length++] = item;
  }

  /**
   * Calls `f` with each item in order and empties the list (all of it, even if `f` throws). `f`
   * must not push into this list (the lists take turns so that it never does).
   */
  drain(f: (item: T) => void): void {
    const n = this.length;
    this.length = 0;
    let i = 0;
    try {
      for (; i < n; i++) {
        const item = this.items[i] as T;
        this.items[i] = undefined;
        f(item);
      }
    } finally {
      for (; i < n; i++) this.items[i] = undefined;
      if (this.items.length > KEEP_CAPACITY) this.items = [];
    }
  }
}
const KEEP_CAPACITY = 1024;
const ignore = (): void => undefined;

// Two lists taking turns: what is queued while one is written out goes to the other.
let withOutput = new ReusedList<Outbox>();
let flushing = new ReusedList<Outbox>();
const flushOne = (outbox: Outbox): void => {
  try {
    outbox.flush();
  } catch {
    // (flush() catches and closes for its own connection. Should it ever throw anyway, the rest of
    // the turn's outboxes must still be written: they are in no other list.)
  }
};

function flushAll(): void {
  const batch = withOutput;
  withOutput = flushing;
  flushing = batch;
  batch.drain(flushOne);
}

function scheduleFlush(outbox: Outbox): void {
  if (withOutput.length === 0) setImmediate(flushAll);
  withOutput.push(outbox);
}

/** The bound on what waits for one socket, and how long it may stay over it. */
export interface QueueLimits {
  /** Past this many bytes (or with binary messages older than `queueMs`), the queue is full. */
  queueBytes: number;
  queueMs: number;
  /** Full this long: the peer is not reading (a sleeping tablet, a dead Wi-Fi, or on purpose). */
  stalledMs: number;
}

/**
 * One socket's outgoing messages: queued, written at the end of the turn, and measured (bytes,
 * age). One rule for every socket and every kind of message (media, JSON): a queue full for
 * `stalledMs`, or past twice its bound at any time, means the peer does not read, and `stalled`
 * is called (the connection is let go).
 */
export class Outbox {
  /** Binary frames handed to the socket, to tell how long the oldest still queued has waited. */
  private readonly sent = new SendLog();
  /** Messages not yet handed to the socket, and their bytes. */
  private messages = new ReusedList<string | Uint8Array>();
  /** The list being written out, the next turn's queue. */
  private spare = new ReusedList<string | Uint8Array>();
  private bytes = 0;
  /** In the list of outboxes to flush at the end of this turn. */
  private scheduled = false;
  /** Set while the queue is full: when it fires, the queue had better not be full any more. */
  private stallTimer: NodeJS.Timeout | null = null;
  private gaveUp = false;
  /** JSON queued since the queue was last seen full (what the immediate rule counts). */
  private jsonWhileFull = 0;
  private readonly write = (m: string | Uint8Array): void => this.ws.send(m);

  constructor(
    private readonly ws: WebSocket,
    private readonly log: Logger,
    private readonly label: () => string,
    private readonly limits: QueueLimits,
    private readonly stalled: (why: string) => void,
  ) {}

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Queues a text or binary message (dropped once the socket is no longer open). */
  push(message: string | Uint8Array): void {
    if (!this.open) return;
    if (!this.scheduled) {
      this.scheduled = true;
      scheduleFlush(this);
    }
    this.messages.push(message);
    // (A string's length: close enough to its bytes for a queue limit.)
    this.bytes += typeof message === 'string' ? message.length : message.byteLength;
    if (typeof message !== 'string') {
      this.sent.add(performance.now(), message.byteLength);
      return;
    }
    // Nothing else bounds JSON (media is bounded by the outputs, which skip and then stop queueing):
    // a peer past twice the bound, with more than a bound's worth of JSON queued since it was full,
    // is let go at once. (Not for JSON after media: a join's kept group may overshoot the bound.)
    if (this.stallTimer) this.jsonWhileFull += message.length;
    const queued = this.queuedBytes;
    if (queued > 2 * this.limits.queueBytes && this.jsonWhileFull > this.limits.queueBytes) this.giveUp(`${Math.round(queued / 1024)} KiB waiting for it`);
    else this.full();
  }

  /** Whether the queue is full (media for this peer should skip to a keyframe), starting the stall clock when it is, stopping it when not. */
  full(): boolean {
    const full = this.queuedBytes > this.limits.queueBytes || this.ageMs() > this.limits.queueMs;
    if (!full) {
      if (this.stallTimer) clearTimeout(this.stallTimer);
      this.stallTimer = null;
      this.jsonWhileFull = 0;
    } else {
      this.stallTimer ??= setTimeout(() => this.checkStalled(), this.limits.stalledMs).unref();
    }
    return full;
  }

  /** Past the hard bound: not even sound is queued any more. */
  choked(): boolean {
    return this.queuedBytes > 2 * this.limits.queueBytes;
  }

  /** The queue has been full since the timer was set: if it still is, the peer does not read. */
  private checkStalled(): void {
    this.stallTimer = null;
    const queued = this.queuedBytes;
    if (queued > this.limits.queueBytes || this.ageMs() > this.limits.queueMs) this.giveUp(`full for ${Math.round(this.limits.stalledMs / 1000)} s`);
  }

  private giveUp(why: string): void {
    if (this.gaveUp) return;
    this.gaveUp = true;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = null;
    this.stalled(why);
  }

  /** The connection ended: no timer outlives it. */
  close(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = null;
  }

  /** Writes at once, ahead of what is queued (clock sync: an answer that waited would skew the estimate). */
  sendNow(text: string): void {
    if (this.open) this.ws.send(text);
  }

  /** Hands what is queued to the socket. */
  flush(): void {
    this.scheduled = false;
    const out = this.messages;
    if (out.length === 0) return;
    this.messages = this.spare;
    this.spare = out;
    this.bytes = 0;
    if (!this.open) {
      out.drain(ignore);
      return;
    }
    try {
      out.drain(this.write);
    } catch (err) {
      this.log.error(`${this.label()}: could not write`, err);
      this.ws.terminate();
      return;
    }
    // (A queue that has emptied stops the stall clock, whatever it holds.)
    if (this.stallTimer) this.full();
  }

  /** Bytes queued for the peer: not yet handed over, and in the socket. */
  get queuedBytes(): number {
    return this.bytes + this.ws.bufferedAmount;
  }

  /** How long the oldest binary message still queued for the peer has waited, ms. */
  ageMs(): number {
    const oldest = this.sent.oldest(this.queuedBytes);
    return oldest === null ? 0 : performance.now() - oldest;
  }
}
