// Clock sync with the server over the page's socket, NTP-style: repeated round trips, the one that
// waited least in queues wins. Pages then speak of times on the server's clock, so a capture time
// stamped by a phone can be compared with the moment a laptop shows the frame.
import { estimateClock, type ClockEstimate, type ClockSample } from '../../shared/protocol.ts';

/** Round trips kept; the estimate uses the best of them. */
const KEEP_SAMPLES = 8;
/** First rounds quickly after (re)connecting, then one every few seconds. */
const FIRST_ROUNDS = 5;
const FIRST_SPACING_MS = 150;
const SPACING_MS = 5000;

/** This page's clock: ms since the epoch, sub-millisecond, monotonic within the page. */
export function localNow(): number {
  return performance.timeOrigin + performance.now();
}

/** The page's estimate of the server's clock. */
export class ServerClock {
  private samples: ClockSample[] = [];
  private estimate: ClockEstimate | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private rounds = 0;

  constructor(
    /** Sends a clock request; false when the socket is not open. */
    private readonly send: (sent: number) => boolean,
    /** Called when the offset changed by a millisecond or more (and on the first estimate). */
    private readonly changed: (estimate: ClockEstimate) => void = () => undefined,
  ) {}

  /** Offset to add to this page's clock to get the server's (0 until the first round trip). */
  get offset(): number {
    return this.estimate?.offset ?? 0;
  }

  /** The current estimate, or null before the first round trip. */
  get current(): ClockEstimate | null {
    return this.estimate;
  }

  /** Now on the server's clock, as far as this page knows. */
  now(): number {
    return localNow() + this.offset;
  }

  /** Starts (or restarts, after a reconnect) the rounds. */
  start(): void {
    this.stop();
    // A new connection may take another path, and a new server connection knows no offset yet.
    this.samples = [];
    this.estimate = null;
    this.rounds = 0;
    this.round();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The server's answer to one of our requests. */
  answer(sent: number, server: number): void {
    this.samples.push({ sent, server, received: localNow() });
    if (this.samples.length > KEEP_SAMPLES) this.samples.shift();
    const next = estimateClock(this.samples);
    if (!next) return;
    const before = this.estimate;
    this.estimate = next;
    if (!before || Math.abs(before.offset - next.offset) >= 1) this.changed(next);
  }

  private round(): void {
    this.send(localNow());
    this.rounds++;
    this.timer = setTimeout(() => this.round(), this.rounds < FIRST_ROUNDS ? FIRST_SPACING_MS : SPACING_MS);
  }
}
