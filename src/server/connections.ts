// WebSocket connections: the hello handshake, then camera or viewer behaviour. Any protocol
// violation closes only the offending connection, with an error message and a documented close code.
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { Mp4Error } from '../media/mp4/errors.ts';
import { WebmError } from '../media/webm/webm-parser.ts';
import { CLOSE_CODES, FRAME_KIND_CHUNK, MAX_BINARY_BYTES, MAX_TEXT_BYTES, MAX_TIME, PROTOCOL_VERSION, ProtocolError, WS_PATH, decodeFrame } from '../shared/protocol.ts';
import { cameraMessageSchema, helloSchema, parseMessage, viewerMessageSchema, type CameraMessage, type Command, type ServerMessage, type ViewerMessage } from '../shared/schemas.ts';
import type { AccessControl, Role } from './access.ts';
import type { Channel, CameraLink, Hub } from './hub.ts';
import { ChunkIngest } from './ingest/chunk-ingest.ts';
import { ContainerIngest } from './ingest/container-ingest.ts';
import type { ViewerSink } from './live/viewer-sink.ts';
import type { Logger } from './log.ts';
import { MessageBudget, normalizeAddress } from './rate-limit.ts';
import { SendLog } from '../shared/send-log.ts';
import { presented, refusalFor, requestUrl } from './routes.ts';

/** Tunables of the WebSocket layer. */
export interface ConnectionOptions {
  helloTimeoutMs: number;
  heartbeatMs: number;
  commandTimeoutMs: number;
  /** A viewer with more than this queued, or whose oldest queued frame is older than viewerQueueMs, has its video dropped up to a keyframe. */
  viewerQueueBytes: number;
  viewerQueueMs: number;
  /** A viewer whose queue stays full this long is disconnected (it reconnects by itself). */
  stalledViewerMs: number;
  /** Largest binary message, bytes (at most MAX_BINARY_BYTES); larger closes the socket with 1009. */
  maxBinaryBytes: number;
  /** Control (text) messages a client address may send per second on average, and in a burst. */
  messagesPerSecond: number;
  messageBurst: number;
  /** Open WebSockets per client address. */
  maxConnectionsPerAddress: number;
  /** Commands waiting for one camera's answer. */
  maxPendingCommands: number;
}

/**
 * Keyframe requests from one address, per second and at once, that cost nothing else. A tile asks
 * at most once a second (the server heeds one a second per viewer anyway), so this is a page of 20
 * tiles asking without a pause, or 200 asking at once. More are ignored and spend the control
 * budget instead, so a flood is closed like any other.
 */
const KEYFRAME_REQUESTS_PER_SECOND = 20;
const KEYFRAME_REQUEST_BURST = 200;

const DEFAULTS: ConnectionOptions = {
  helloTimeoutMs: 10_000,
  heartbeatMs: 15_000,
  commandTimeoutMs: 5_000,
  viewerQueueBytes: 8 * 1024 * 1024,
  viewerQueueMs: 1000,
  stalledViewerMs: 15_000,
  maxBinaryBytes: MAX_BINARY_BYTES,
  // A viewer page subscribing to 50 cameras at once sends 50 messages; people send a few a minute.
  messagesPerSecond: 50,
  messageBurst: 200,
  maxConnectionsPerAddress: 64,
  maxPendingCommands: 32,
};

/** The WebSocket side of a server. */
export interface WebSockets {
  /** Closes every connection with `code` (e.g. after the access links were renewed). */
  closeAll(code: number, reason: string): void;
  /** What each open connection has queued for its peer, bytes (viewers: their queue; for tests and diagnostics). */
  queues(): { role: 'hello' | 'camera' | 'viewer'; bytes: number }[];
  close(): void;
}

/**
 * Accepts WebSocket upgrades on WS_PATH of `server` and runs the protocol against `hub`. The upgrade
 * needs a credential (the session cookie; scripts may use ?token= or ?key=) and, from a browser, this
 * server's own Origin; the hello's role must be one the credential grants.
 */
export function attachWebSockets(server: HttpServer, hub: Hub, log: Logger, access: AccessControl, options: Partial<ConnectionOptions> = {}): WebSockets {
  const opts = { ...DEFAULTS, ...options };
  const wss = new WebSocketServer({ noServer: true, maxPayload: Math.min(opts.maxBinaryBytes, MAX_BINARY_BYTES), perMessageDeflate: false });
  const alive = new WeakMap<WebSocket, boolean>();
  const perAddress = new Map<string, number>();
  const connections = new Map<WebSocket, Connection>();
  const budget = new MessageBudget(opts.messagesPerSecond, opts.messageBurst);
  // A viewer page's keyframe requests have a budget of their own: a page whose tiles all lost a
  // picture at once (a network hiccup) must not spend what its clicks and subscriptions need.
  const keyframeBudget = new MessageBudget(KEYFRAME_REQUESTS_PER_SECOND, KEYFRAME_REQUEST_BURST);

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Node hands the socket over without its error handler: a peer resetting now must not crash us.
    socket.on('error', () => undefined);
    const url = requestUrl(req);
    if (!url) {
      refuseUpgrade(socket, 400, 'Bad Request', 'bad request line');
      return;
    }
    if (url.pathname !== WS_PATH) {
      refuseUpgrade(socket, 404, 'Not Found', 'no WebSocket here');
      return;
    }
    const address = req.socket.remoteAddress ?? '?';
    // A browser always sends Origin: only pages of this server may open a socket (no cross-site hijacking).
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `https://${req.headers.host ?? ''}`) {
      log.warn(`client ${address}: WebSocket refused: Origin ${origin.slice(0, 100)} is not this server`);
      refuseUpgrade(socket, 403, 'Forbidden', 'this origin may not connect');
      return;
    }
    const result = access.authenticate(presented(req, url));
    const refusal = refusalFor(result, 'member');
    if (refusal) {
      // Wrong credentials and lock-outs are logged by AccessControl.
      refuseUpgrade(socket, refusal.status, refusal.status === 429 ? 'Too Many Requests' : refusal.status === 403 ? 'Forbidden' : 'Unauthorized', refusal.text, refusal.headers);
      return;
    }
    if (result.kind !== 'ok') return;
    const roles = result.roles;
    const client = normalizeAddress(address);
    const open = perAddress.get(client) ?? 0;
    if (open >= opts.maxConnectionsPerAddress) {
      log.warn(`client ${client}: WebSocket refused: already ${open} open from this address`);
      refuseUpgrade(socket, 429, 'Too Many Requests', `too many connections from this address (limit ${opts.maxConnectionsPerAddress})`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      // Counted once the socket exists (a handshake ws rejects never gets here).
      perAddress.set(client, (perAddress.get(client) ?? 0) + 1);
      alive.set(ws, true);
      ws.on('pong', () => alive.set(ws, true));
      connections.set(ws, new Connection(ws, address, roles, hub, log, opts, { control: () => budget.take(client), keyframe: () => keyframeBudget.take(client) }));
      ws.once('close', () => {
        connections.delete(ws);
        const n = (perAddress.get(client) ?? 1) - 1;
        if (n > 0) perAddress.set(client, n);
        else perAddress.delete(client);
      });
    });
  };
  server.on('upgrade', onUpgrade);

  const heartbeat = setInterval(() => {
    budget.prune();
    keyframeBudget.prune();
    for (const ws of wss.clients) {
      if (!alive.get(ws)) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, opts.heartbeatMs);
  heartbeat.unref();

  return {
    closeAll(code, reason) {
      for (const c of connections.values()) c.revoke(code, reason);
    },
    queues() {
      return [...connections.values()].map((c) => c.queue());
    },
    close() {
      clearInterval(heartbeat);
      server.off('upgrade', onUpgrade);
      for (const c of connections.values()) c.flush();
      for (const ws of wss.clients) ws.close(CLOSE_CODES.SHUTDOWN, 'server shutting down');
      wss.close();
    },
  };
}

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
function refuseUpgrade(socket: Duplex, status: number, statusText: string, text: string, headers: Record<string, string> = {}): void {
  const body = `${text}\n`;
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(`HTTP/1.1 ${status} ${statusText.replace(/[^\x20-\x7e]/g, '')}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  // A peer that never closes its side does not keep the socket.
  const timer = setTimeout(() => socket.destroy(), 2000).unref();
  socket.once('close', () => clearTimeout(timer));
}

/**
 * Output is written once per turn of the event loop, after the turn's reads (setImmediate runs after
 * the poll phase): whatever cameras sent that is already here is read, checked and queued first,
 * and only then is it written to viewers, each connection's messages in the order they were queued.
 * Frames that have arrived do not wait behind each other's fan-out to hundreds of viewers (one
 * arriving during the writing waits for that turn's writing to end); and what waits here counts in
 * each viewer's queue (its age, its bytes), so slow turns make viewers skip rather than fall behind.
 */
const withOutput = new Set<Connection>();
let flushScheduled = false;

function scheduleFlush(c: Connection): void {
  withOutput.add(c);
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(() => {
    flushScheduled = false;
    const batch = [...withOutput];
    withOutput.clear();
    // (flush() cannot throw: it catches for its own connection, so the others are written.)
    for (const conn of batch) conn.flush();
  });
}

interface PendingCommand {
  viewer: ViewerSink;
  viewerRequestId: string;
  timer: NodeJS.Timeout;
}

/** One WebSocket, from hello to close. */
class Connection implements ViewerSink, CameraLink {
  private role: 'hello' | 'camera' | 'viewer' = 'hello';
  private channel: Channel | null = null;
  /** The camera's current stream, as its ingest: chunks, or a MediaRecorder's container bytes. */
  private ingest: ChunkIngest | ContainerIngest | null = null;
  /** The next sequence number of the camera's binary frames. */
  private expectedSeq = 0;
  /** A camera's clock offset to ours (ours = its + offset), as it last reported; null until it does. */
  private clockOffset: number | null = null;
  private readonly pending = new Map<string, PendingCommand>();
  /** Binary frames handed to the socket, to tell how long the oldest still queued has waited. */
  private readonly queued = new SendLog();
  /** Messages not yet handed to the socket (see scheduleFlush), and their bytes. */
  private outbox: (string | Uint8Array)[] = [];
  private outboxBytes = 0;
  private stallTimer: NodeJS.Timeout | null = null;
  private nextRequest = 1;
  private readonly helloTimer: NodeJS.Timeout;
  private label: string;
  private failed = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly address: string,
    private readonly roles: ReadonlySet<Role>,
    private readonly hub: Hub,
    private readonly log: Logger,
    private readonly opts: ConnectionOptions,
    /** Take one control message, or one keyframe request, from this client's budgets; false when spent. */
    private readonly budgets: { control: () => boolean; keyframe: () => boolean },
  ) {
    this.label = `client ${address}`;
    this.helloTimer = setTimeout(() => this.fail(new ProtocolError('HELLO_TIMEOUT', `no hello within ${opts.helloTimeoutMs} ms`)), opts.helloTimeoutMs);
    ws.on('message', (data, isBinary) => {
      if (this.failed) return;
      try {
        this.onMessage(data, isBinary);
      } catch (err) {
        this.fail(err);
      }
    });
    ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
    ws.on('error', (err) => {
      // ws reports oversized messages here (and then closes with 1009).
      this.log.warn(`${this.label}: ${err.message}`);
    });
  }

  // ---- ViewerSink and CameraLink ----
  sendJson(message: ServerMessage): void {
    if (this.ws.readyState === WebSocket.OPEN) this.enqueue(JSON.stringify(message));
  }

  sendBinary(frame: Uint8Array): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.enqueue(frame);
    this.queued.add(performance.now(), frame.byteLength);
  }

  private enqueue(message: string | Uint8Array): void {
    this.outbox.push(message);
    // (A string's length: close enough to its bytes for a queue limit.)
    this.outboxBytes += typeof message === 'string' ? message.length : message.byteLength;
    scheduleFlush(this);
  }

  /** Hands what is queued to the socket. */
  flush(): void {
    const out = this.outbox;
    if (out.length === 0) return;
    this.outbox = [];
    this.outboxBytes = 0;
    if (this.ws.readyState !== WebSocket.OPEN) return;
    try {
      for (const m of out) this.ws.send(m);
    } catch (err) {
      this.log.error(`${this.label}: could not write`, err);
      this.ws.terminate();
    }
  }

  /** This connection's role and what it has queued for its peer. */
  queue(): { role: 'hello' | 'camera' | 'viewer'; bytes: number } {
    return { role: this.role, bytes: this.queuedBytes };
  }

  /** Bytes queued for this peer: not yet handed over, and in the socket. */
  private get queuedBytes(): number {
    return this.outboxBytes + this.ws.bufferedAmount;
  }

  congested(): boolean {
    const full = this.queueFull();
    if (!full && this.stallTimer) {
      clearTimeout(this.stallTimer);
      this.stallTimer = null;
    } else if (full && !this.stallTimer && this.role === 'viewer') {
      this.stallTimer = setTimeout(() => this.checkStalled(), this.opts.stalledViewerMs).unref();
    }
    return full;
  }

  /** The queue has been full since the timer was set: if it still is, let this viewer go. */
  private checkStalled(): void {
    this.stallTimer = null;
    if (!this.queueFull()) return;
    // Stuck for long (a sleeping tablet, a dead Wi-Fi): its page reconnects by itself once it can.
    this.fail(new ProtocolError('TOO_SLOW', `this viewer has not kept up for ${Math.round(this.opts.stalledViewerMs / 1000)} s; it reconnects by itself when the network allows`));
  }

  private queueFull(): boolean {
    return this.queuedBytes > this.opts.viewerQueueBytes || this.queueAgeMs() > this.opts.viewerQueueMs;
  }

  choked(): boolean {
    return this.queuedBytes > 2 * this.opts.viewerQueueBytes;
  }

  /** How long the oldest binary frame still queued for this peer has waited, ms. */
  private queueAgeMs(): number {
    const oldest = this.queued.oldest(this.queuedBytes);
    return oldest === null ? 0 : performance.now() - oldest;
  }

  close(code: number, reason: string): void {
    // Replaced (or the server stops): nothing more from this connection reaches the channel.
    this.failed = true;
    this.flush();
    this.ws.close(code, reason);
  }

  /** Sends a command to this camera; `done` gets the camera's answer or a timeout. */
  request(command: Command, viewer: ViewerSink, viewerRequestId: string): void {
    if (this.pending.size >= this.opts.maxPendingCommands) {
      viewer.sendJson({ type: 'command-result', requestId: viewerRequestId, cameraId: this.channel!.camera.id, ok: false, error: 'the camera has too many commands waiting; try again' });
      return;
    }
    const id = String(this.nextRequest++);
    const timer = setTimeout(() => this.settle(id, { ok: false, error: 'the camera did not answer in time' }), this.opts.commandTimeoutMs);
    this.pending.set(id, { viewer, viewerRequestId, timer });
    this.sendJson({ type: 'command', requestId: id, command });
  }

  // ---- incoming ----
  private onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.onBinary(toBytes(data));
      return;
    }
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.byteLength, 0) : data.byteLength;
    if (size > MAX_TEXT_BYTES) throw new ProtocolError('TOO_LARGE', `text message of ${size} bytes; the limit is ${MAX_TEXT_BYTES}`);
    const text = data.toString();
    switch (this.role) {
      case 'hello':
        this.spendBudget();
        this.onHello(text);
        return;
      case 'camera':
        this.spendBudget();
        this.onCameraMessage(parseMessage(cameraMessageSchema, text));
        return;
      case 'viewer': {
        const msg = parseMessage(viewerMessageSchema, text);
        if (msg.type === 'keyframe') {
          // Over their own budget, keyframe requests are ignored, and count as control messages (a flood is closed).
          if (!this.budgets.keyframe()) {
            this.spendBudget();
            return;
          }
        } else this.spendBudget();
        this.onViewerMessage(msg);
        return;
      }
    }
  }

  /** One control message: over the budget, the connection is closed (a flood, not a person). */
  private spendBudget(): void {
    if (!this.budgets.control()) throw new ProtocolError('LIMIT', `more than ${this.opts.messagesPerSecond} control messages per second from this address`);
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
    if (hello.role === 'camera') {
      this.role = 'camera';
      this.label = `camera "${hello.name}" (${hello.cameraId}) from ${this.address}`;
      this.channel = this.hub.attachCamera(hello.cameraId, hello.name, this);
      this.sendJson({ type: 'welcome', protocol: PROTOCOL_VERSION, role: 'camera', channel: this.channel.camera.number });
      this.log.info(`${this.label} connected`);
    } else {
      this.role = 'viewer';
      this.label = `viewer from ${this.address}`;
      this.sendJson({ type: 'welcome', protocol: PROTOCOL_VERSION, role: 'viewer' });
      this.hub.addViewer(this);
      this.log.info(`${this.label} connected`);
    }
  }

  private onCameraMessage(msg: CameraMessage): void {
    const camera = this.channel!.camera;
    switch (msg.type) {
      case 'stream': {
        if (msg.fallback) throw new ProtocolError('BAD_MESSAGE', 'a fallback stream: this server muxes for viewers itself (reload the camera page)');
        const transport = msg.format === 'chunks' ? 'chunks' : msg.mime?.startsWith('video/mp4') || msg.mime?.startsWith('audio/mp4') ? 'mp4' : 'webm';
        if (msg.format !== 'chunks' && !msg.mime) throw new ProtocolError('BAD_MESSAGE', 'a "stream" of a MediaRecorder needs its mime type');
        camera.endStream();
        this.ingest = transport === 'chunks' ? new ChunkIngest(camera, msg.audio) : transport === 'mp4' ? ContainerIngest.mp4(camera) : ContainerIngest.webm(camera);
        this.expectedSeq = 0;
        camera.announce({ width: msg.width, height: msg.height, fps: msg.fps, transport, mime: msg.format === 'chunks' ? undefined : msg.mime });
        camera.setState('live');
        this.log.info(`${this.label} streams ${transport === 'chunks' ? 'WebCodecs chunks' : msg.mime} ${msg.width ?? '?'}x${msg.height ?? '?'}${msg.audio ? ' with sound' : ''}`);
        return;
      }
      case 'codec':
        if (!(this.ingest instanceof ChunkIngest)) throw new ProtocolError('WRONG_ORDER', 'a codec before a chunk "stream" message');
        this.ingest.codec(msg);
        this.log.info(`${this.label} codecs: ${[msg.video?.codec, msg.audio?.codec].filter(Boolean).join(', ')}`);
        return;
      case 'state':
        camera.setState(msg.state);
        return;
      case 'name':
        camera.rename(msg.name);
        return;
      case 'fallback-failed':
        // (Older camera pages only: the server asks for no fallback any more.)
        return;
      case 'clock':
        this.answerClock(msg.sent);
        return;
      case 'clock-offset':
        this.clockOffset = msg.offset;
        return;
      case 'ack':
        if (msg.state) camera.setState(msg.state);
        this.settle(msg.requestId, msg.ok ? { ok: true, ...(msg.state ? { state: msg.state } : {}) } : { ok: false, error: msg.error ?? 'refused' });
        return;
    }
  }

  /** Clock sync: echo the client's time with the server's, at once (not after the turn's writes, which would skew the estimate). */
  private answerClock(sent: number): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'clock', sent, server: performance.timeOrigin + performance.now() }));
  }

  private onViewerMessage(msg: ViewerMessage): void {
    if (msg.type === 'clock') {
      this.answerClock(msg.sent);
      return;
    }
    const channel = this.hub.get(msg.cameraId);
    if (!channel) {
      // Not fatal: the camera may just have gone away between the list and this message.
      if (msg.type === 'command') this.sendJson({ type: 'command-result', requestId: msg.requestId, cameraId: msg.cameraId, ok: false, error: 'unknown camera' });
      else this.sendJson({ type: 'error', code: 'UNKNOWN_CAMERA', cameraId: msg.cameraId, message: `no camera with id ${msg.cameraId}` });
      return;
    }
    switch (msg.type) {
      case 'subscribe':
        if (!this.hub.subscribe(channel, this, msg.chunks ?? false, msg.audio ?? true)) {
          // Not fatal: this viewer may watch the other cameras.
          const max = channel.viewers.maxViewers;
          this.sendJson({ type: 'error', code: 'LIMIT', cameraId: channel.camera.id, message: `${channel.camera.name} already has ${max} viewer${max === 1 ? '' : 's'}, the most this server allows (--max-viewers)` });
        }
        return;
      case 'keyframe':
        channel.viewers.keyframeWanted(this);
        return;
      case 'unsubscribe':
        this.hub.unsubscribe(channel, this);
        return;
      case 'command': {
        const camera = this.hub.cameraOf(channel);
        if (!camera) {
          this.sendJson({ type: 'command-result', requestId: msg.requestId, cameraId: msg.cameraId, ok: false, error: 'the camera is offline' });
          return;
        }
        camera.request(msg.command, this, msg.requestId);
        return;
      }
    }
  }

  private onBinary(data: Uint8Array): void {
    if (this.role !== 'camera') throw new ProtocolError('WRONG_ORDER', this.role === 'hello' ? 'binary message before hello' : 'viewers do not send media');
    const { header, payload } = decodeFrame(data);
    // Capture time on the server's clock, once the camera has told its offset; 0 = unknown (also
    // when a wild offset would put it out of range, which would make every viewer refuse the frame).
    const converted = header.time > 0 && this.clockOffset !== null ? header.time + this.clockOffset : 0;
    const time = converted > 0 && converted <= MAX_TIME ? converted : 0;
    const ingest = this.ingest;
    const chunk = header.kind === FRAME_KIND_CHUNK;
    if (!ingest) throw new ProtocolError('WRONG_ORDER', chunk ? 'a chunk before a chunk "stream" message' : 'media before a "stream" message');
    if (header.seq !== this.expectedSeq) throw new ProtocolError('BAD_MESSAGE', `${chunk ? 'chunk' : 'media chunk'} ${header.seq} out of order (expected ${this.expectedSeq})`);
    this.expectedSeq++;
    if (chunk) {
      if (!(ingest instanceof ChunkIngest)) throw new ProtocolError('WRONG_ORDER', 'a chunk in a MediaRecorder stream');
      ingest.push(payload, header.flags, header.time, time);
      return;
    }
    if (!(ingest instanceof ContainerIngest)) throw new ProtocolError('WRONG_ORDER', 'container bytes in a chunk stream');
    ingest.push(payload, time);
  }

  private settle(id: string, result: { ok: boolean; state?: 'live' | 'paused'; error?: string }): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.viewer.sendJson({ type: 'command-result', requestId: p.viewerRequestId, cameraId: this.channel!.camera.id, ...result });
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    let code: number;
    let errorCode: string;
    let message: string;
    if (err instanceof ProtocolError) {
      code = err.closeCode;
      errorCode = err.code;
      message = err.message;
    } else if (err instanceof WebmError || err instanceof Mp4Error) {
      code = CLOSE_CODES.BAD_MEDIA;
      errorCode = 'BAD_MEDIA';
      const what = err instanceof WebmError ? 'WebM' : 'MP4';
      message = err.code.endsWith('UNSUPPORTED') ? `${what} this server cannot take: ${err.message}` : `malformed ${what}: ${err.message}`;
    } else {
      this.log.error(`${this.label}: internal error`, err);
      code = 1011;
      errorCode = 'INTERNAL';
      message = 'internal server error';
    }
    this.log.warn(`${this.label}: closing (${errorCode} ${code}): ${message}`);
    this.sendJson({ type: 'error', code: errorCode, message });
    this.closeNow(code, message);
  }

  /** Ends this connection at once (access withdrawn): nothing more it sends is read. */
  revoke(code: number, reason: string): void {
    if (this.failed) return;
    this.failed = true;
    this.log.info(`${this.label}: closing (${code}): ${reason}`);
    this.closeNow(code, reason);
  }

  /** Closes, and leaves the hub now rather than when the peer answers the close. */
  private closeNow(code: number, reason: string): void {
    clearTimeout(this.helloTimer);
    if (this.stallTimer) clearTimeout(this.stallTimer);
    // What was queued (the error message last) goes before the close frame.
    this.flush();
    // A close reason is limited to 123 bytes.
    this.ws.close(code, truncateUtf8(reason, 120));
    if (this.role === 'camera' && this.channel) this.hub.detachCamera(this.channel, this);
    if (this.role === 'viewer') this.hub.removeViewer(this);
    // A peer that ignores the close frame does not keep the socket.
    const timer = setTimeout(() => this.ws.terminate(), 2000).unref();
    this.ws.once('close', () => clearTimeout(timer));
  }

  private onClose(code: number, reason: string): void {
    clearTimeout(this.helloTimer);
    if (this.stallTimer) clearTimeout(this.stallTimer);
    if (this.role === 'camera' && this.channel) {
      for (const id of [...this.pending.keys()]) this.settle(id, { ok: false, error: 'the camera disconnected' });
      this.hub.detachCamera(this.channel, this);
      this.log.info(`${this.label} disconnected (${code}${reason ? ` ${reason}` : ''})`);
    } else if (this.role === 'viewer') {
      this.hub.removeViewer(this);
      this.log.info(`${this.label} disconnected (${code})`);
    }
  }
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
