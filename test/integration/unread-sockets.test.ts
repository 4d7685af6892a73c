// Sockets that do not read (security finding 3): one rule for everything queued toward a socket,
// JSON as well as media, and a heartbeat that only the pongs it asked for satisfy. Real sockets:
// the server's Outbox over a real WebSocket pair (the client's socket paused, as a peer that never
// reads), and the real server's heartbeat against a client that answers no ping but sends pongs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo, Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { consoleLogger } from '../../src/server/log.ts';
import { Outbox, type QueueLimits } from '../../src/server/transport/ws/output.ts';
import { PROTOCOL_VERSION } from '../../src/shared/protocol.ts';
import { startTestServer } from '../helpers/server.ts';

/** Long enough that a busy machine's pause does not cut off the honest client. */
const HEARTBEAT_MS = 500;
/** A bound well above what one round below queues (~125 KB), so that a peer that reads is never near it. */
const LIMITS: QueueLimits = { queueBytes: 1024 * 1024, queueMs: 500, stalledMs: 600 };

/** A WebSocket pair on loopback: the server side's Outbox, and the client (paused: it reads nothing). */
async function pair(reads: boolean): Promise<{ outbox: Outbox; stalled: string[]; client: WebSocket; close(): Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  const stalled: string[] = [];
  const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  await new Promise((resolve, reject) => {
    client.once('open', resolve);
    client.once('error', reject);
  });
  if (!reads) (client as unknown as { _socket: Socket })._socket.pause();
  const ws = await accepted;
  const outbox = new Outbox(ws, consoleLogger(true), () => 'test peer', LIMITS, (why) => stalled.push(why));
  return {
    outbox,
    stalled,
    client,
    close: async () => {
      outbox.close();
      client.terminate();
      for (const c of wss.clients) c.terminate();
      await new Promise((resolve) => wss.close(resolve));
    },
  };
}

/** Queues `kib` KiB of JSON text, 4 KiB a message, over `ms`, flushing as the server would. */
async function queueJson(outbox: Outbox, kib: number, ms: number): Promise<void> {
  const message = JSON.stringify({ type: 'cameras', cameras: [{ name: 'x'.repeat(4000) }] });
  const rounds = Math.max(1, Math.round(ms / 20));
  const perRound = Math.ceil(kib / 4 / rounds);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < perRound; i++) outbox.push(message);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('sockets that do not read', { timeout: 30_000 }, () => {
  it('are let go when JSON alone has filled their queue for the stalled time, and at once past twice the bound', async () => {
    const slow = await pair(false);
    const reading = await pair(true);
    try {
      // 12 MiB over 2 s: more than the kernel's buffers take on loopback for a peer that reads nothing.
      await Promise.all([queueJson(slow.outbox, 12 * 1024, 2000), queueJson(reading.outbox, 12 * 1024, 2000)]);
      const deadline = Date.now() + 3000;
      while (slow.stalled.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(slow.stalled.length, 1, `the peer that reads nothing is let go once (queued ${slow.outbox.queuedBytes} bytes)`);
      assert.deepEqual(reading.stalled, [], 'a peer that reads is never let go');
    } finally {
      await Promise.all([slow.close(), reading.close()]);
    }

    // Media past twice the bound (a join's kept group overshoots), then a JSON message: not the
    // immediate rule (that is for JSON piling up); the stall rule decides, in its time.
    const joined = await pair(false);
    try {
      for (let i = 0; i < 12; i++) joined.outbox.push(new Uint8Array(1024 * 1024));
      await new Promise((resolve) => setTimeout(resolve, 50));
      joined.outbox.push(JSON.stringify({ type: 'skipped', frames: 1 }));
      assert.ok(joined.outbox.queuedBytes > 2 * LIMITS.queueBytes, `past twice the bound (${joined.outbox.queuedBytes} bytes)`);
      assert.deepEqual(joined.stalled, [], 'not let go at once for media');
    } finally {
      await joined.close();
    }

    // JSON past twice the bound: at once, no waiting for the stalled time.
    const flood = await pair(false);
    try {
      await queueJson(flood.outbox, 16 * 1024, 200);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(flood.stalled.length, 1, 'let go');
      assert.match(flood.stalled[0]!, /KiB waiting/);
    } finally {
      await flood.close();
    }
  });

  it('answer no ping but send pongs of their own: the heartbeat cuts them off all the same', async () => {
    const server = await startTestServer({ heartbeatMs: HEARTBEAT_MS });
    const open = async (autoPong: boolean): Promise<{ ws: WebSocket; closedAt: Promise<number> }> => {
      const ws = new WebSocket(server.wsUrl, { rejectUnauthorized: false, autoPong });
      const closedAt = new Promise<number>((resolve) => ws.once('close', () => resolve(Date.now())));
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, role: 'viewer' }));
      return { ws, closedAt };
    };
    const liar = await open(false);
    const honest = await open(true);
    const started = Date.now();
    const pongs = setInterval(() => liar.ws.readyState === WebSocket.OPEN && liar.ws.pong(Buffer.from('unsolicited')), 50);
    try {
      const cutAt = await Promise.race([liar.closedAt, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 5 * HEARTBEAT_MS))]);
      assert.notEqual(cutAt, -1, 'a socket that answers no ping is cut off, whatever pongs it sends');
      assert.ok(cutAt - started <= 3 * HEARTBEAT_MS, `cut off after ${cutAt - started} ms (two heartbeat periods of ${HEARTBEAT_MS} ms, and slack)`);
      assert.equal(honest.ws.readyState, WebSocket.OPEN, 'a socket that answers its pings stays');
    } finally {
      clearInterval(pongs);
      liar.ws.terminate();
      honest.ws.terminate();
      await server.stop();
    }
  });
});
