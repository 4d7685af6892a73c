// The WebSocket side of a server: upgrades on WS_PATH are admitted (admission.ts), each socket
// becomes a Connection (connection.ts) whose hello makes it a camera or a viewer session, and a
// heartbeat lets go of peers that went silent. Any protocol violation closes only the offending
// connection, with an error message and the close code of the error catalog (shared/errors.ts).
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { CLOSE_CODES, ProtocolError } from '../../../shared/errors.ts';
import { MAX_BINARY_BYTES } from '../../../shared/protocol.ts';
import type { AccessControl } from '../../access.ts';
import type { Hub } from '../../hub.ts';
import type { Logger } from '../../log.ts';
import { RetentionPool } from '../../core/retention.ts';
import { MessageBudget } from '../../rate-limit.ts';
import { AddressShare } from './address-share.ts';
import { Admission, type Admitted } from './admission.ts';
import { Connection } from './connection.ts';
import { Heartbeat } from './heartbeat.ts';
import { DEFAULT_CONNECTION_OPTIONS, KEYFRAME_REQUEST_BURST, KEYFRAME_REQUESTS_PER_SECOND, type ConnectionOptions } from './options.ts';

export type { ConnectionOptions } from './options.ts';

/** The WebSocket side of a server. */
export interface WebSockets {
  /** Closes every connection with `code`; `which` picks some (e.g. those that got in with a link, after the links were renewed). */
  closeAll(code: number, reason: string, which?: (admitted: Admitted) => boolean): void;
  /** The devices with a socket open now, and the camera ids they stream as. */
  online(): Map<string, string[]>;
  /** What each open connection has queued for its peer, bytes (viewers: their queue; for tests and diagnostics). */
  queues(): { role: 'hello' | 'camera' | 'viewer'; bytes: number }[];
  close(): void;
}

/**
 * Accepts WebSocket upgrades on WS_PATH of `server` and runs the protocol against `hub`. The upgrade
 * needs a credential (the session cookie; scripts may use ?token= or ?key=) and, from a browser, this
 * server's own Origin; the hello's role must be one the credential grants.
 */
export function attachWebSockets(
  server: HttpServer,
  hub: Hub,
  log: Logger,
  access: AccessControl,
  /** A socket's upgrade carried a valid credential (it no longer counts as a stranger's). */
  onAdmitted: (socket: Socket) => void,
  options: Partial<ConnectionOptions> = {},
  /** Told of every byte read from a socket (memory.ts collects what they leave behind). */
  received: (bytes: number) => void = () => undefined,
): WebSockets {
  const opts = { ...DEFAULT_CONNECTION_OPTIONS, ...options };
  const maxPayload = Math.min(opts.maxBinaryBytes, MAX_BINARY_BYTES);
  // (At least one largest message, with room for the headers of its frames when a browser sends it in pieces.)
  const unfinishedBytesPerAddress = Math.max(opts.unfinishedBytesPerAddress, maxPayload + 64 * 1024);
  const wss = new WebSocketServer({ noServer: true, maxPayload, perMessageDeflate: false });
  const admission = new Admission(access, log, opts.maxConnectionsPerAddress);
  const connections = new Map<WebSocket, Connection>();
  const admittedAs = new Map<Connection, Admitted>();
  const budget = new MessageBudget(opts.messagesPerSecond, opts.messageBurst);
  // A viewer page's keyframe requests have a budget of their own: a page whose tiles all lost a
  // picture at once (a network hiccup) must not spend what its clicks and subscriptions need.
  const keyframeBudget = new MessageBudget(KEYFRAME_REQUESTS_PER_SECOND, KEYFRAME_REQUEST_BURST);
  // Media work and memory kept for joiners, per address: one link opening many sockets gets one share.
  const retainedTotal = new RetentionPool(opts.retainedBytesTotal);
  const shares = new Map<string, AddressShare>();
  const heartbeat = new Heartbeat(wss, opts.heartbeatMs, () => {
    budget.prune();
    keyframeBudget.prune();
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Node hands the socket over without its error handler: a peer resetting now must not crash us.
    socket.on('error', () => undefined);
    const admitted = admission.check(req, socket);
    if (!admitted) return;
    const { client } = admitted;
    onAdmitted(req.socket);
    wss.handleUpgrade(req, socket, head, (ws) => {
      admission.opened(client);
      heartbeat.watch(ws);
      const share = shares.get(client) ?? new AddressShare({ ...opts, unfinishedBytesPerAddress }, retainedTotal);
      shares.set(client, share);
      // (Bytes that came with the upgrade request are handed to the socket again: they arrive below too.)
      share.add(ws);
      // Bytes count as they arrive, before a message is whole: a 4 MiB message is paid for as it comes,
      // and what an address holds half-way is bounded. (The WebSocket layer reads each chunk first.)
      const arrived = (chunk: Buffer): void => {
        received(chunk.byteLength);
        const drop = share.arrived(ws, chunk.byteLength);
        if (drop) connections.get(drop as WebSocket)?.fail(new ProtocolError('LIMIT', `more than ${(unfinishedBytesPerAddress / 1024 / 1024).toFixed(1)} MiB of messages begun and not finished from this address; this socket held the most`), 0);
      };
      socket.on('data', arrived);
      ws.on('message', (data: RawData) => share.read(ws, byteLength(data)));
      const control = (data: Buffer): void => share.read(ws, data.byteLength, false);
      ws.on('ping', control);
      ws.on('pong', control);
      const budgets = {
        control: () => budget.take(client),
        keyframe: () => keyframeBudget.take(client),
        media: (frames: number) => share.handled(frames),
        retention: share.retention,
      };
      const device = admitted.device;
      const connection = new Connection(ws, admitted.address, admitted.roles, hub, log, opts, budgets, (cameraId) => {
        if (device) access.devices.streamsAs(device, cameraId);
      });
      connections.set(ws, connection);
      admittedAs.set(connection, admitted);
      ws.once('close', () => {
        socket.off('data', arrived);
        connections.delete(ws);
        admittedAs.delete(connection);
        admission.closed(client);
        share.remove(ws);
        // (What its cameras kept was given back when their streams ended.)
        if (share.size === 0) shares.delete(client);
      });
    });
  };
  server.on('upgrade', onUpgrade);

  return {
    closeAll(code, reason, which = () => true) {
      for (const [c, admitted] of admittedAs) if (which(admitted)) c.revoke(code, reason);
    },
    online() {
      const devices = new Map<string, string[]>();
      for (const [c, admitted] of admittedAs) {
        if (!admitted.device) continue;
        const cameras = devices.get(admitted.device) ?? [];
        const camera = c.cameraId;
        if (camera && !cameras.includes(camera)) cameras.push(camera);
        devices.set(admitted.device, cameras);
      }
      return devices;
    },
    queues() {
      return [...connections.values()].map((c) => c.queue());
    },
    close() {
      heartbeat.stop();
      server.off('upgrade', onUpgrade);
      for (const c of connections.values()) c.flush();
      for (const ws of wss.clients) ws.close(CLOSE_CODES.SHUTDOWN, 'server shutting down');
      wss.close();
    },
  };
}

function byteLength(data: RawData): number {
  return Array.isArray(data) ? data.reduce((n, b) => n + b.byteLength, 0) : data.byteLength;
}
