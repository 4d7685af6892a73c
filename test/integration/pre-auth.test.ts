// Connections that show no credential (security finding 9): idle TCP sockets from one address, and
// from everyone, are capped; past a cap new ones are closed at once, while a camera and its viewer
// that are already in keep streaming, and the address can connect again once its sockets are gone.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { fetchRaw } from '../helpers/http.ts';
import { TEST_TOKEN, healthyStream, startTestServer } from '../helpers/server.ts';

const PER_ADDRESS = 6;
const TOTAL = 10;

/** Opens `n` TCP connections from `from` that send nothing; says which were closed by the server within `ms`. */
async function idleSockets(port: number, from: string, n: number, ms = 500): Promise<{ sockets: net.Socket[]; closed: number }> {
  const sockets: net.Socket[] = [];
  let closed = 0;
  for (let i = 0; i < n; i++) {
    const s = net.connect({ host: '127.0.0.1', port, localAddress: from });
    s.on('error', () => undefined);
    s.on('close', () => closed++);
    sockets.push(s);
    await new Promise((resolve) => s.once('connect', resolve));
  }
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { sockets, closed };
}

describe('connections without a credential', { timeout: 30_000 }, () => {
  it('are capped per address and in all, closed at once past a cap; streams already in go on, devices let in before still get in', async () => {
    const server = await startTestServer({}, { preAuth: { perAddress: PER_ADDRESS, total: TOTAL } });
    const { viewer, stop } = await healthyStream(server.wsUrl, 'in', 'Already in');
    const open: net.Socket[] = [];
    try {
      // The camera and viewer showed a credential: they do not count. From one address, the cap.
      const a = await idleSockets(server.httpsPort, '127.0.0.77', PER_ADDRESS + 3);
      open.push(...a.sockets);
      assert.equal(a.closed, 3, `from one address: ${PER_ADDRESS} kept, the rest closed at once (${a.closed} closed)`);
      // From another address, up to the total.
      const b = await idleSockets(server.httpsPort, '127.0.0.78', PER_ADDRESS);
      open.push(...b.sockets);
      assert.equal(b.closed, PER_ADDRESS - (TOTAL - PER_ADDRESS), `in all: ${TOTAL} kept (${b.closed} of the second address's closed)`);
      const framesBefore = viewer.frames.length;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.ok(viewer.frames.length - framesBefore >= 20, `the viewer already in kept getting frames (${viewer.frames.length - framesBefore} in 1 s)`);
      // While all the room is taken, an address that has been let in before (the camera's) still is;
      // one never seen is not.
      const known = await fetchRaw(`${server.url}/api/cameras?token=${TEST_TOKEN}`, { localAddress: '127.0.0.1' }).then((r) => r.status, () => 0);
      assert.equal(known, 200, 'a device of the house gets in past the total');
      const stranger = await fetchRaw(`${server.url}/api/cameras?token=${TEST_TOKEN}`, { localAddress: '127.0.0.79' }).then((r) => r.status, () => 0);
      assert.equal(stranger, 0, 'a new address is closed at once');
      // Once the idle sockets are gone, the address is let in again.
      for (const s of open) s.destroy();
      let status = 0;
      for (const deadline = Date.now() + 3000; status !== 200 && Date.now() < deadline; ) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        status = await fetchRaw(`${server.url}/api/cameras?token=${TEST_TOKEN}`, { localAddress: '127.0.0.77' }).then((r) => r.status, () => 0);
      }
      assert.equal(status, 200);
    } finally {
      stop();
      for (const s of open) s.destroy();
      await server.stop();
    }
  });
});
