// Liveness: every socket is pinged each period; one that has not answered the previous ping is cut
// off (a phone that lost its network leaves no close behind).
import type { WebSocket, WebSocketServer } from 'ws';

export class Heartbeat {
  private readonly alive = new WeakMap<WebSocket, boolean>();
  private readonly timer: NodeJS.Timeout;

  /** `onTick` runs each period too (housekeeping that shares the timer). */
  constructor(wss: WebSocketServer, periodMs: number, onTick: () => void) {
    this.timer = setInterval(() => {
      onTick();
      for (const ws of wss.clients) {
        if (!this.alive.get(ws)) {
          ws.terminate();
          continue;
        }
        this.alive.set(ws, false);
        ws.ping();
      }
    }, periodMs);
    this.timer.unref();
  }

  /** Starts watching a new socket. */
  watch(ws: WebSocket): void {
    this.alive.set(ws, true);
    ws.on('pong', () => this.alive.set(ws, true));
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
