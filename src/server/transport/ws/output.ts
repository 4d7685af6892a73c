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

const withOutput = new Set<Outbox>();
let flushScheduled = false;

function scheduleFlush(outbox: Outbox): void {
  withOutput.add(outbox);
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(() => {
    flushScheduled = false;
    const batch = [...withOutput];
    withOutput.clear();
    // (flush() cannot throw: it catches for its own connection, so the others are written.)
    for (const outbox of batch) outbox.flush();
  });
}

/** One socket's outgoing messages: queued, written at the end of the turn, and measured (bytes, age). */
export class Outbox {
  /** Binary frames handed to the socket, to tell how long the oldest still queued has waited. */
  private readonly sent = new SendLog();
  /** Messages not yet handed to the socket, and their bytes. */
  private messages: (string | Uint8Array)[] = [];
  private bytes = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly log: Logger,
    private readonly label: () => string,
  ) {}

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Queues a text or binary message (dropped once the socket is no longer open). */
  push(message: string | Uint8Array): void {
    if (!this.open) return;
    this.messages.push(message);
    // (A string's length: close enough to its bytes for a queue limit.)
    this.bytes += typeof message === 'string' ? message.length : message.byteLength;
    if (typeof message !== 'string') this.sent.add(performance.now(), message.byteLength);
    scheduleFlush(this);
  }

  /** Writes at once, ahead of what is queued (clock sync: an answer that waited would skew the estimate). */
  sendNow(text: string): void {
    if (this.open) this.ws.send(text);
  }

  /** Hands what is queued to the socket. */
  flush(): void {
    const out = this.messages;
    if (out.length === 0) return;
    this.messages = [];
    this.bytes = 0;
    if (!this.open) return;
    try {
      for (const m of out) this.ws.send(m);
    } catch (err) {
      this.log.error(`${this.label()}: could not write`, err);
      this.ws.terminate();
    }
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
