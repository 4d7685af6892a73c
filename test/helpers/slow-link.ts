// A slow network between a browser and the real server: a TCP relay on loopback that passes what
// the browser sends at once and what the server answers at a set rate (TLS passes through it
// untouched). What a phone on weak Wi-Fi gets from a server across the house: a video file that is
// still arriving while it is played and seeked in.
import net from 'node:net';

export interface SlowLink {
  /** The relay's port on 127.0.0.1: use it in place of the server's. */
  port: number;
  /** Closes the relay and every connection through it. */
  close(): Promise<void>;
}

/** Tick of the rate limiter. */
const TICK_MS = 50;
/** Bytes held per connection before the server's side is paused (a bound, as every queue here has). */
const HOLD_BYTES = 256 * 1024;

/** Starts a relay to 127.0.0.1:`targetPort` that delivers the server's bytes at `bytesPerSecond` per connection. */
export async function slowLink(targetPort: number, bytesPerSecond: number): Promise<SlowLink> {
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const held: Buffer[] = [];
    let heldBytes = 0;
    let ended = false;
    const perTick = Math.max(1, Math.round((bytesPerSecond * TICK_MS) / 1000));
    const timer = setInterval(() => {
      let budget = perTick;
      // (A browser that does not read holds the rest here, within HOLD_BYTES, not in the socket.)
      while (budget > 0 && held.length > 0 && !client.writableNeedDrain) {
        const first = held[0]!;
        const part = first.subarray(0, budget);
        client.write(part);
        budget -= part.length;
        heldBytes -= part.length;
        if (part.length === first.length) held.shift();
        else held[0] = first.subarray(part.length);
      }
      if (upstream.isPaused() && heldBytes < HOLD_BYTES / 2) upstream.resume();
      if (ended && held.length === 0) {
        client.end();
        stop();
      }
    }, TICK_MS);
    timers.add(timer);
    const stop = (): void => {
      clearInterval(timer);
      timers.delete(timer);
    };
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      held.push(chunk);
      heldBytes += chunk.length;
      if (heldBytes >= HOLD_BYTES) upstream.pause();
    });
    upstream.on('end', () => (ended = true));
    const gone = (): void => {
      stop();
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', gone).on('error', gone);
    upstream.on('close', () => ended || gone()).on('error', gone);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
