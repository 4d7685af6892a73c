// Liveness: every socket is pinged each period with a payload of its own; one that has not answered
// the previous ping with that payload is cut off (a phone that lost its network leaves no close
// behind). Pongs nobody asked for, or with another payload, count for nothing: a client cannot keep
// a socket it never reads alive by sending them.
import { randomBytes } from 'node:crypto';
import type { WebSocket, WebSocketServer } from 'ws';

export class Heartbeat {
  /** Per socket: the payload of the ping still unanswered, or null when the last one was answered. */
  private readonly waiting = new WeakMap<WebSocket, Buffer | null>();
  private readonly timer: NodeJS.Timeout;

  /** `onTick` runs each period too (housekeeping that shares the timer). */
  constructor(wss: WebSocketServer, periodMs: number, onTick: () => void) {
    this.timer = setInterval(() => {
      onTick();
      for (const ws of wss.clients) {
        if (this.waiting.get(ws)) {
          ws.terminate();
          continue;
        }
        const payload = randomBytes(8);
        this.waiting.set(ws, payload);
        ws.ping(payload);
      }
    }, periodMs);
    this.timer.unref();
  }

  /** Starts watching a new socket. */
  watch(ws: WebSocket): void {
    this.waiting.set(ws, null);
    ws.on('pong', (data) => {
      const asked = this.waiting.get(ws);
      if (asked && data.equals(asked)) this.waiting.set(ws, null);
    });
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
