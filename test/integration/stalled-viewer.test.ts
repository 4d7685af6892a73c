// One viewer stops reading (a sleeping tablet, a dead Wi-Fi) while a WebCodecs camera streams to it
// and to a healthy viewer, on the real server: the healthy viewer gets every chunk, in order and
// without delay; the stalled one's queue on the server stays bounded (its video is dropped up to
// keyframes; the test reads the server's queues as it goes) and,
// stalled for longer than the limit, it is disconnected (it would reconnect by itself).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { FRAME_KIND_CHUNK, encodeFrame } from '../../src/shared/protocol.ts';
import { connectChunkCamera, connectViewer, loadChunkFixture, startTestServer, type TestServer } from '../helpers/server.ts';

const QUEUE_BYTES = 256 * 1024;
const STALLED_MS = 2000;

describe('a stalled viewer', () => {
  let server: TestServer;
  before(async () => {
    // (Its camera sends ~1200 chunks a second, far past an address's media budget, to fill queues fast.)
    server = await startTestServer({ viewerQueueBytes: QUEUE_BYTES, viewerQueueMs: 500, stalledViewerMs: STALLED_MS, mediaWorkPerSecond: 1e6, mediaWorkBurst: 1e6 });
  });
  after(async () => {
    await server.stop();
  });

  it('slows nobody else, and is let go once stalled past the limit', async (t) => {
    const { stream, frames } = await loadChunkFixture('chromium-webcodecs-h264-opus');
    const camera = await connectChunkCamera(server.wsUrl, 'busy', 'Busy', stream);
    const healthy = await connectViewer(server.wsUrl);
    const stalled = await connectViewer(server.wsUrl);
    for (const v of [healthy, stalled]) v.send({ type: 'subscribe', cameraId: 'busy', chunks: true });
    await camera.until(() => server.hub.get('busy')?.viewers.count === 2 || null, 'two viewers');
    // The stalled viewer stops reading from its socket: the kernel's buffers fill, then the server's queue.
    (stalled.ws as unknown as { _socket: Socket })._socket.pause();

    // The captured stream sent 40 times faster than real time for 6 s (~2 MB/s), so that the
    // stalled viewer's socket buffers fill and the server's queue for it is tested.
    let seq = 0;
    let sentBytes = 0;
    const sent: number[] = [];
    const delays: number[] = [];
    // The server's own queues, looked at on every round: the largest for one viewer, and for all.
    let maxViewerQueue = 0;
    let maxAllQueues = 0;
    const started = Date.now();
    while (Date.now() - started < 6000) {
      for (let i = 0; i < 60; i++) {
        const f = frames[seq % frames.length]!;
        const time = performance.timeOrigin + performance.now();
        const frame = encodeFrame({ kind: FRAME_KIND_CHUNK, flags: f.header.flags, channel: 0, seq, time }, f.payload);
        camera.sendBinary(frame);
        sentBytes += frame.byteLength;
        sent.push(time);
        seq++;
      }
      await new Promise((resolve) => setTimeout(resolve, 30));
      const queues = server.queues();
      maxViewerQueue = Math.max(maxViewerQueue, ...queues.filter((q) => q.role === 'viewer').map((q) => q.bytes));
      maxAllQueues = Math.max(maxAllQueues, queues.reduce((n, q) => n + q.bytes, 0));
      const now = performance.timeOrigin + performance.now();
      for (let i = delays.length; i < healthy.frames.length; i++) delays.push(now - (healthy.frames[i]!.header.time ?? 0));
    }
    await healthy.until(() => healthy.frames.length >= seq, 'every chunk at the healthy viewer', 5000);
    // The server lets the stalled viewer go; once the stalled page reads again it finds its socket
    // closed, and would reconnect.
    await camera.until(() => server.hub.get('busy')?.viewers.count === 1 || null, 'the stalled viewer let go', STALLED_MS + 5000);
    (stalled.ws as unknown as { _socket: Socket })._socket.resume();
    const stalledClosed = await stalled.closedWith(5000);

    assert.equal(healthy.frames.length, seq, 'the healthy viewer got every chunk');
    assert.deepEqual(healthy.frames.map((f) => f.header.time), sent, 'in order');
    assert.equal(healthy.closed, null);
    assert.equal(camera.closed, null, 'the camera goes on');
    // (Measured when this test's loop looks, every 30 ms: an upper bound of the real delay.)
    const sorted = delays.sort((a, b) => a - b);
    const p99 = sorted[Math.floor(sorted.length * 0.99)] ?? 0;
    t.diagnostic(`${seq} chunks (${(sentBytes / 2 ** 20).toFixed(1)} MiB); healthy viewer's delay (upper bound) p50 ${sorted[sorted.length >> 1]?.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms; largest queue for one viewer ${(maxViewerQueue / 1024).toFixed(0)} KiB, for all ${(maxAllQueues / 1024).toFixed(0)} KiB; stalled viewer closed with ${stalledClosed.code}`);
    // Memory is bounded: the stalled viewer's queue stops at its limit (video dropped at 256 KiB or
    // 500 ms; sound until twice the bytes), whatever the camera sends (over 6 MiB here).
    assert.ok(maxViewerQueue <= 2 * QUEUE_BYTES + 64 * 1024, `the largest viewer queue on the server was ${maxViewerQueue} bytes`);
    assert.ok(maxAllQueues <= 3 * QUEUE_BYTES, `all queues together peaked at ${maxAllQueues} bytes`);
    assert.ok(sentBytes > 10 * QUEUE_BYTES, 'while the camera sent far more');
    assert.ok(p99 < 300, `relay delay to the healthy viewer: p99 ${p99.toFixed(1)} ms over ${sorted.length} chunks`);
    assert.ok(stalledClosed.code === 1013 || stalledClosed.code === 1006, `the stalled viewer was let go (${stalledClosed.code})`);
    // (6 s of sending, the stall limit, and a close: a peer that does not read cannot answer the
    // close frame, so it is cut off 2 s later; plus slack for a busy machine.)
    assert.ok(Date.now() - started < 6000 + STALLED_MS + 2000 + 5000, `${Date.now() - started} ms in all`);
    camera.close();
    healthy.close();
  });
});
