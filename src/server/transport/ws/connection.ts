// One WebSocket, from hello to close: the hello handshake picks its session (camera or viewer),
// control messages are counted against the client's budget, and any error closes only this
// connection, with the catalog's close code and a message saying what was wrong.
import { WebSocket, type RawData } from 'ws';
import { ERRORS, ProtocolError, type ErrorCode } from '../../../shared/errors.ts';
import { MAX_TEXT_BYTES, PROTOCOL_VERSION } from '../../../shared/protocol.ts';
import { helloSchema, parseMessage, type ServerMessage } from '../../../shared/schemas.ts';
import { Mp4Error } from '../../../media/mp4/errors.ts';
import { WebmError } from '../../../media/webm/webm-parser.ts';
import type { Role } from '../../access.ts';
import type { Hub } from '../../hub.ts';
import type { Logger } from '../../log.ts';
import { CameraSession } from './camera-session.ts';
import type { ConnectionOptions } from './options.ts';
import { Outbox } from './output.ts';
import type { Budgets, Peer, Session } from './session.ts';
import { ViewerSession } from './viewer-session.ts';

/** How long a peer has to answer a close frame before its socket is cut. */
const CLOSE_GRACE_MS = 2000;

export class Connection implements Peer {
  readonly outbox: Outbox;
  label: string;
  private session: Session | null = null;
  private readonly helloTimer: NodeJS.Timeout;
  private failed = false;

  constructor(
    private readonly ws: WebSocket,
    readonly address: string,
    private readonly roles: ReadonlySet<Role>,
    private readonly hub: Hub,
    readonly log: Logger,
    readonly opts: ConnectionOptions,
    readonly budgets: Budgets,
    /** Told the camera id once this connection said hello as a camera. */
    private readonly onCamera: (cameraId: string) => void = () => undefined,
  ) {
    this.label = `client ${address}`;
    this.outbox = new Outbox(ws, log, () => this.label, { queueBytes: opts.viewerQueueBytes, queueMs: opts.viewerQueueMs, stalledMs: opts.stalledViewerMs }, (why) =>
      // Stuck (a sleeping tablet, a dead Wi-Fi) or not reading on purpose: its page reconnects by itself once it can.
      this.fail(new ProtocolError('TOO_SLOW', `this ${this.session?.role ?? 'client'} does not read what is sent to it (${why}); it reconnects by itself when the network allows`)),
    );
    this.helloTimer = setTimeout(() => this.fail(new ProtocolError('HELLO_TIMEOUT', `no hello within ${opts.helloTimeoutMs} ms`)), opts.helloTimeoutMs);
    ws.on('message', (data, isBinary) => {
      if (this.failed) return;
      try {
        this.onMessage(data, isBinary);
      } catch (err) {
        this.fail(err);
      }
    });
    ws.on('close', (code, reason) => {
      clearTimeout(this.helloTimer);
      this.outbox.close();
      this.session?.closed(code, reason.toString());
    });
    ws.on('error', (err) => {
      // ws reports oversized messages here (and then closes with 1009).
      this.log.warn(`${this.label}: ${err.message}`);
    });
  }

  /** The camera this connection streams as, once it said hello as one. */
  get cameraId(): string | null {
    return this.session?.cameraId ?? null;
  }

  /** This connection's role and what it has queued for its peer. */
  queue(): { role: 'hello' | 'camera' | 'viewer'; bytes: number } {
    return { role: this.session?.role ?? 'hello', bytes: this.outbox.queuedBytes };
  }

  sendJson(message: ServerMessage): void {
    this.outbox.push(JSON.stringify(message));
  }

  answerClock(sent: number): void {
    this.outbox.sendNow(JSON.stringify({ type: 'clock', sent, server: performance.timeOrigin + performance.now() } satisfies ServerMessage));
  }

  spend(): void {
    if (!this.budgets.control()) throw new ProtocolError('LIMIT', `more than ${this.opts.messagesPerSecond} control messages per second from this address`);
  }

  flush(): void {
    this.outbox.flush();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      if (!this.session) throw new ProtocolError('WRONG_ORDER', 'binary message before hello');
      this.session.onBinary(toBytes(data));
      return;
    }
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.byteLength, 0) : data.byteLength;
    if (size > MAX_TEXT_BYTES) throw new ProtocolError('TOO_LARGE', `text message of ${size} bytes; the limit is ${MAX_TEXT_BYTES}`);
    const text = data.toString();
    if (this.session) {
      this.session.onText(text);
      return;
    }
    this.spend();
    this.onHello(text);
  }

  private onHello(text: string): void {
    const hello = parseMessage(helloSchema, text);
    if (hello.protocol !== PROTOCOL_VERSION) {
      throw new ProtocolError('PROTOCOL_VERSION', `protocol ${hello.protocol} is not supported; this server speaks ${PROTOCOL_VERSION} (reload the page)`);
    }
    if (!this.roles.has(hello.role)) {
      throw new ProtocolError('FORBIDDEN', hello.role === 'camera' ? 'this link may watch, not publish: open a camera link' : 'this link may publish, not watch: open a viewer link');
    }
    clearTimeout(this.helloTimer);
    this.session = hello.role === 'camera' ? new CameraSession(this, this.hub, hello.cameraId, hello.name, hello.secret) : new ViewerSession(this, this.hub);
    this.log.info(`${this.label} connected`);
    if (hello.role === 'camera') this.onCamera(hello.cameraId);
  }

  /**
   * Closes with the error's code and message. `graceMs`: how long the peer has to answer the close
   * before the socket is cut; 0 for one holding memory the server wants back now (what it sent
   * half-way goes with it).
   */
  fail(err: unknown, graceMs = CLOSE_GRACE_MS): void {
    if (this.failed) return;
    this.failed = true;
    const { code, message } = describe(err, (e) => this.log.error(`${this.label}: internal error`, e));
    const close = ERRORS[code].close ?? ERRORS.INTERNAL.close;
    this.log.warn(`${this.label}: closing (${code} ${close}): ${message}`);
    this.sendJson({ type: 'error', code, message });
    this.closeNow(close, message, graceMs);
  }

  close(code: number, reason: string): void {
    // Replaced (or the server stops): nothing more from this connection reaches the hub.
    this.failed = true;
    this.outbox.flush();
    this.ws.close(code, reason);
  }

  /** Ends this connection at once (access withdrawn): nothing more it sends is read. */
  revoke(code: number, reason: string): void {
    if (this.failed) return;
    this.failed = true;
    this.log.info(`${this.label}: closing (${code}): ${reason}`);
    this.closeNow(code, reason);
  }

  /** Closes, and leaves the hub now rather than when the peer answers the close. */
  private closeNow(code: number, reason: string, graceMs = CLOSE_GRACE_MS): void {
    clearTimeout(this.helloTimer);
    // What was queued (the error message last) goes before the close frame.
    this.outbox.flush();
    // A close reason is limited to 123 bytes.
    this.ws.close(code, truncateUtf8(reason, 120));
    this.session?.leave();
    // A peer that ignores the close frame does not keep the socket.
    const timer = setTimeout(() => this.ws.terminate(), graceMs).unref();
    this.ws.once('close', () => clearTimeout(timer));
  }
}

/** An error as the catalog names it, with a message for the peer; faults of our own are logged and not described. */
function describe(err: unknown, internal: (err: unknown) => void): { code: ErrorCode; message: string } {
  if (err instanceof ProtocolError) return { code: err.code, message: err.message };
  if (err instanceof WebmError || err instanceof Mp4Error) {
    const what = err instanceof WebmError ? 'WebM' : 'MP4';
    return { code: 'BAD_MEDIA', message: err.code.endsWith('UNSUPPORTED') ? `${what} this server cannot take: ${err.message}` : `malformed ${what}: ${err.message}` };
  }
  internal(err);
  return { code: 'INTERNAL', message: 'internal server error' };
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text);
  return bytes.byteLength <= maxBytes ? text : bytes.subarray(0, maxBytes).toString().replace(/\uFFFD$/, '');
}
