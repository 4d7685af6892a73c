// A WebSocket to the server that says hello, reconnects by itself with backoff, and hands out
// typed messages. Used by both pages.
import { CLOSE_CODES, PROTOCOL_VERSION, WS_PATH } from '../../shared/protocol.ts';
import { FINAL_CLOSE_CODES } from '../../shared/errors.ts';
import type { CameraMessage, Hello, ServerMessage, ViewerMessage } from '../../shared/schemas.ts';
import { fetchAccess } from './access.ts';
import { ServerClock } from './clock.ts';

/** Connection states shown to people. */
export type SocketState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface SocketEvents {
  /** The server accepted our hello. */
  welcome(message: Extract<ServerMessage, { type: 'welcome' }>): void;
  message(message: ServerMessage): void;
  binary(data: ArrayBuffer): void;
  /** `code`: the close code when the server ended it ('closed', 'reconnecting'). */
  state(state: SocketState, detail: string, code?: number): void;
  /** The clock estimate changed (see ServerClock). */
  clock(offset: number, rtt: number): void;
}

/** Backoff after the n-th failed attempt: 0.5 s doubling to `maxMs` (10 s), with jitter, never past `maxMs`. */
export function backoffMs(attempt: number, maxMs = 10_000): number {
  const base = 500 * 2 ** Math.min(attempt, 5);
  // At the cap the jitter goes below it, so pages that lost the server together do not all come back at once.
  return Math.round(base < maxMs ? Math.min(maxMs, base * (0.75 + Math.random() * 0.5)) : maxMs * (0.75 + Math.random() * 0.25));
}


/** The page's connection to the server; `Out`: the messages its role sends (checked against the schemas' types). */
export class ServerSocket<Out extends CameraMessage | ViewerMessage> {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  /** When the waiting retry happens, and the earliest it may (ms since 1970). */
  private retryAt = 0;
  private retryFloorAt = 0;
  private stopped = false;
  state: SocketState = 'connecting';
  /** The server's clock, synced while the socket is open. */
  readonly clock = new ServerClock(
    (sent) => {
      if (!this.open) return false;
      this.ws!.send(JSON.stringify({ type: 'clock', sent }));
      return true;
    },
    (e) => {
      // For the pages' overlays and for people debugging: how well this page knows the server's clock.
      document.body.dataset.clockOffsetMs = e.offset.toFixed(1);
      document.body.dataset.clockRttMs = e.rtt.toFixed(1);
      this.events.clock?.(e.offset, e.rtt);
    },
  );

  constructor(
    private readonly hello: () => Hello,
    private readonly events: Partial<SocketEvents>,
    /** Close codes that end it for good on this page besides the catalog's (a camera replaced by another tab). */
    private readonly finalCodes: readonly number[] = [],
    /** The longest wait between two attempts, now (a camera page in view retries at least every 3 s). */
    private readonly maxRetryMs: () => number = () => 10_000,
    private readonly url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${WS_PATH}`,
    /** Where to ask whether this page is still let in after a refused upgrade (the embed page adds its key). */
    private readonly accessUrl = '/api/access',
  ) {}

  /** Opens the connection (and keeps it open until stop()). */
  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Closes for good; no more reconnects. */
  stop(): void {
    this.stopped = true;
    this.clock.stop();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.ws?.close(1000, 'bye');
    this.ws = null;
    this.setState('closed', 'stopped');
  }

  /** True when messages can be sent. */
  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN && this.state === 'open';
  }

  /** Bytes queued in the browser, not yet sent. */
  get bufferedAmount(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  sendJson(message: Out): void {
    if (this.open) this.ws!.send(JSON.stringify(message));
  }

  sendBinary(data: Uint8Array): void {
    if (this.open) this.ws!.send(data);
  }

  private connect(): void {
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting', '');
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      ws.send(JSON.stringify(this.hello()));
    };
    ws.onmessage = (e: MessageEvent<string | ArrayBuffer>) => {
      if (ws !== this.ws) return;
      if (typeof e.data !== 'string') {
        this.events.binary?.(e.data);
        return;
      }
      // The server is trusted (it validates what it relays); only the shape is checked here.
      const msg = safeJson(e.data) as ServerMessage | null;
      if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') return;
      if (msg.type === 'welcome') {
        this.attempt = 0;
        this.setState('open', '');
        this.clock.start();
        this.events.welcome?.(msg);
      } else if (msg.type === 'clock') {
        this.clock.answer(msg.sent, msg.server);
      } else {
        this.events.message?.(msg);
      }
    };
    ws.onclose = (e) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.clock.stop();
      if (this.stopped) return;
      if (e.code === CLOSE_CODES.PROTOCOL_VERSION && reloadForNewServer()) {
        this.setState('closed', 'the server was updated: reloading this page');
        return;
      }
      if (FINAL_CLOSE_CODES.has(e.code) || this.finalCodes.includes(e.code)) {
        this.setState('closed', e.reason || `closed (${e.code})`, e.code);
        return;
      }
      if (!opened) {
        // A refused upgrade looks like any network failure from here: ask whether we are still let in.
        void fetchAccess(this.accessUrl).then(
          (access) => {
            if (this.stopped || this.ws) return;
            if (!('refused' in access)) this.retry(e.reason || 'connection lost');
            else if (access.retryAfterMs !== null) this.retry(access.refused, access.retryAfterMs);
            else this.setState('closed', access.refused);
          },
          () => {
            if (!this.stopped && !this.ws) this.retry('server unreachable');
          },
        );
        return;
      }
      this.retry(e.reason || 'connection lost');
    };
  }

  private retry(why: string, atLeastMs = 0): void {
    const delay = Math.max(atLeastMs, backoffMs(this.attempt++, this.maxRetryMs()));
    this.setState('reconnecting', `${why}; retrying in ${(delay / 1000).toFixed(1)} s`);
    this.retryFloorAt = Date.now() + atLeastMs;
    this.armRetry(Date.now() + delay);
  }

  private armRetry(at: number): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryAt = at;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.connect();
    }, at - Date.now());
  }

  /**
   * The longest wait may have shrunk (the page came into view): a retry waiting longer than that
   * now is brought forward (never before a wait the server asked for, e.g. a lock-out).
   */
  reschedule(): void {
    if (!this.retryTimer || this.stopped) return;
    const at = Math.max(this.retryFloorAt, Date.now() + Math.min(this.maxRetryMs(), this.retryAt - Date.now()));
    if (at < this.retryAt) this.armRetry(at);
  }

  private setState(state: SocketState, detail: string, code?: number): void {
    this.state = state;
    this.events.state?.(state, detail, code);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The hello message for this protocol version. */
export function helloFor(role: 'viewer'): Hello;
export function helloFor(role: 'camera', device: { id: string; secret: string }, name: string): Hello;
export function helloFor(role: 'camera' | 'viewer', device?: { id: string; secret: string }, name?: string): Hello {
  return role === 'camera'
    ? { type: 'hello', protocol: PROTOCOL_VERSION, role, cameraId: device!.id, secret: device!.secret, name: name! }
    : { type: 'hello', protocol: PROTOCOL_VERSION, role };
}

/**
 * The server speaks another protocol version: it was updated while this page stayed open (a camera
 * left running for weeks). Reloading brings the page that matches it. Not twice within a minute
 * (a page that still does not match says so instead of reloading for ever). True when it reloads.
 */
function reloadForNewServer(): boolean {
  const KEY = 'websocket-webcam:reloaded-for-protocol';
  try {
    const last = Number(sessionStorage.getItem(KEY) ?? 0);
    if (Date.now() - last < 60_000) return false;
    sessionStorage.setItem(KEY, String(Date.now()));
  } catch {
    return false;
  }
  setTimeout(() => location.reload(), 1000);
  return true;
}
