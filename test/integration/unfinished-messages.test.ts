// Messages begun and never finished (security findings 1 and 2, what is left of them): an address
// whose sockets each start a 4 MiB message and stop half-way holds memory the server has not handled
// yet. What an address holds unfinished is bounded on all its sockets together: past the bound the
// socket holding the most is closed with 4429 and a message saying why; its other sockets, and a
// camera streaming to a viewer from another address, go on.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_BINARY_BYTES } from '../../src/shared/protocol.ts';
import { TestClient, cameraHello, healthyStream, startTestServer } from '../helpers/server.ts';

const MiB = 1024 * 1024;

/** Starts a binary WebSocket frame of `length` bytes on a client's socket and sends only `sent` of them. */
function beginMessage(client: TestClient, length: number, sent: number): void {
  const raw = (client.ws as unknown as { _socket: { write(b: Buffer): void } })._socket;
  const header = Buffer.alloc(14);
  header[0] = 0x82; // final fragment, binary
  header[1] = 0x80 | 127; // masked, 64-bit length
  header.writeBigUInt64BE(BigInt(length), 2);
  // A zero mask: the payload goes as it is.
  raw.write(header);
  raw.write(Buffer.alloc(sent));
}

describe('messages begun and not finished', { timeout: 30_000 }, () => {
  it('are bounded per address: past the bound the socket holding the most is closed, the rest go on', async () => {
    const server = await startTestServer();
    const { viewer, stop } = await healthyStream(server.wsUrl, 'healthy', 'Healthy');
    const others: TestClient[] = [];
    try {
      // Three sockets of one address, each half-way through a largest message: 3 MiB, 3 MiB, then 2.5 MiB (8.5 MiB in all).
      for (const [i, sent] of [3 * MiB, 3.5 * MiB, 2 * MiB].entries()) {
        const c = new TestClient(server.wsUrl, {}, '127.0.0.80');
        await c.opened();
        c.send(cameraHello(`half-${i}`, `Half ${i}`));
        await c.message('welcome');
        others.push(c);
        beginMessage(c, MAX_BINARY_BYTES - 64, sent);
        await new Promise((r) => setTimeout(r, 300));
      }
      const [first, most, last] = others as [TestClient, TestClient, TestClient];
      assert.equal((await most.closedWith()).code, 4429, 'the socket holding the most is closed');
      const error = most.messages.find((m) => m.type === 'error');
      assert.match(error?.type === 'error' ? error.message : '', /more than 8\.0 MiB of messages begun and not finished from this address/);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(first.closed, null, 'the others stay');
      assert.equal(last.closed, null);
      const before = viewer.frames.length;
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(viewer.frames.length - before >= 20, `the viewer of another address kept getting frames (${viewer.frames.length - before} in 1 s)`);
    } finally {
      stop();
      for (const c of others) c.close();
      await server.stop();
    }
  });
});
