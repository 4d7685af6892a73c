// A viewer page's one connection to the server, shared by every player on the page: the camera
// list, each camera's stream and codec messages, its binary frames (by channel), commands and their
// answers. Players (CameraTile, inside <webcam-player>) register here; the page never opens a
// socket per camera. A page nobody looks at stops its streams after a grace period and re-joins
// from the latest keyframe when shown again.
import { ServerSocket, helloFor, type SocketState } from '../common/socket.ts';
import { FLAG_INIT, FRAME_KIND_CHUNK, decodeFrame } from '../../shared/protocol.ts';
import type { CameraInfo, Command, ServerMessage, ViewerMessage } from '../../shared/schemas.ts';
import type { CameraTile, TileContext, TileEvents } from './camera-tile.ts';
import type { PlayerOptions } from './mse-player.ts';

/** A hidden page keeps its streams this long before it lets them go. */
const HIDDEN_GRACE_MS = 10_000;

export class ViewerConnection {
  readonly socket: ServerSocket<ViewerMessage>;
  /** The cameras as the server last listed them. */
  cameras: CameraInfo[] = [];
  /** What every player on the page shares (its settings, this page's idea of the server's clock). */
  readonly context: TileContext;
  private readonly tiles = new Map<string, CameraTile>();
  private readonly byChannel = new Map<number, CameraTile>();
  private readonly pendingCommands = new Map<string, string>();
  /** Offline cameras this page stays subscribed to while no player shows them (they come back by themselves). */
  private readonly waitingFor = new Set<string>();
  private nextRequest = 1;
  private suspended = false;
  private hiddenTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly listListeners = new Set<(cameras: CameraInfo[]) => void>();
  private readonly stateListeners = new Set<(state: SocketState, detail: string) => void>();
  private started = false;

  /** `url`, `accessUrl`: the socket's, and where to ask after a refused upgrade (the embed page's carry its key). */
  constructor(options: { player: PlayerOptions; chunks: boolean }, url?: string, accessUrl?: string) {
    this.context = { player: options.player, chunks: options.chunks, clockOffset: () => this.socket.clock.offset };
    this.socket = new ServerSocket<ViewerMessage>(
      () => helloFor('viewer'),
      {
        welcome: () => {
          for (const cameraId of this.pendingCommands.values()) this.tiles.get(cameraId)?.commandResult(false, 'the connection to the server was lost');
          this.pendingCommands.clear();
          for (const t of this.tiles.values()) {
            t.setViewerOnline(true);
            this.subscribe(t.id);
          }
          for (const l of this.stateListeners) l('open', 'connected');
        },
        message: (m) => this.onMessage(m),
        binary: (data) => this.onBinary(data),
        state: (state, detail) => {
          if (state === 'open') return;
          for (const t of this.tiles.values()) t.setViewerOnline(false);
          for (const l of this.stateListeners) l(state, detail);
        },
      },
      [],
      undefined,
      url,
      accessUrl,
    );
    document.addEventListener('visibilitychange', () => this.onVisibility());
  }

  /** Opens the connection (once). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.socket.start();
  }

  /** Calls `fn` with every camera list from now on (`cameras` holds the last one); returns what stops it. */
  onCameras(fn: (cameras: CameraInfo[]) => void): () => void {
    this.listListeners.add(fn);
    return () => this.listListeners.delete(fn);
  }

  /** The connection's state, for the page to show. */
  onState(fn: (state: SocketState, detail: string) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  /** What a player's tile does through this connection; `focus`: what a click on its picture does. */
  tileEvents(focus: (cameraId: string) => void): TileEvents {
    return {
      subscribe: (cameraId) => this.subscribe(cameraId),
      command: (cameraId, command) => this.command(cameraId, command),
      keyframe: (cameraId) => this.socket.sendJson({ type: 'keyframe', cameraId }),
      focus,
    };
  }

  /** A player on the page: it gets its camera's messages and frames, and is subscribed. */
  add(tile: CameraTile): void {
    this.tiles.set(tile.id, tile);
    this.waitingFor.delete(tile.id);
    const info = this.cameras.find((c) => c.id === tile.id);
    if (info) this.byChannel.set(info.channel, tile);
    this.subscribe(tile.id);
  }

  /**
   * A player left the page. A camera that went offline stays subscribed: the server keeps it listed
   * while someone is, and its stream comes back by itself (the grid shows it again then). Any other
   * is let go, so nothing streams to a page that shows it nowhere.
   */
  remove(tile: CameraTile): void {
    if (this.tiles.get(tile.id) !== tile) return;
    this.tiles.delete(tile.id);
    for (const [ch, t] of this.byChannel) if (t === tile) this.byChannel.delete(ch);
    if (this.cameras.find((c) => c.id === tile.id)?.state !== 'offline') this.socket.sendJson({ type: 'unsubscribe', cameraId: tile.id });
    else this.waitingFor.add(tile.id);
  }

  subscribe(cameraId: string): void {
    if (this.suspended) return;
    // A page that can decode WebCodecs gets every camera's chunks; otherwise a stream the server muxes.
    const tile = this.tiles.get(cameraId);
    tile?.subscribed();
    this.socket.sendJson({ type: 'subscribe', cameraId, chunks: tile?.acceptsChunks ?? false, audio: tile?.listening ?? false });
  }

  command(cameraId: string, cmd: Command): void {
    const requestId = String(this.nextRequest++);
    this.pendingCommands.set(requestId, cameraId);
    this.socket.sendJson({ type: 'command', cameraId, command: cmd, requestId });
  }

  private onMessage(m: ServerMessage): void {
    switch (m.type) {
      case 'cameras':
        // An offline camera this page stayed subscribed to, gone from the list now: let go.
        for (const id of this.waitingFor) {
          if (m.cameras.some((c) => c.id === id)) continue;
          this.waitingFor.delete(id);
          if (!this.tiles.has(id)) this.socket.sendJson({ type: 'unsubscribe', cameraId: id });
        }
        this.cameras = m.cameras;
        for (const c of m.cameras) {
          const tile = this.tiles.get(c.id);
          if (tile) this.byChannel.set(c.channel, tile);
        }
        for (const l of this.listListeners) l(m.cameras);
        return;
      case 'stream':
        this.tiles.get(m.cameraId)?.startStream(m);
        return;
      case 'codec':
        this.tiles.get(m.cameraId)?.codec(m.video, m.audio);
        return;
      case 'skipped':
        this.tiles.get(m.cameraId)?.skipped(m.frames);
        return;
      case 'command-result': {
        const cameraId = this.pendingCommands.get(m.requestId);
        this.pendingCommands.delete(m.requestId);
        if (cameraId) this.tiles.get(cameraId)?.commandResult(m.ok, m.error);
        return;
      }
      case 'error':
        console.warn(`server: ${m.code}: ${m.message}`);
        // About one camera (it has as many viewers as the server allows; it streams nothing this
        // browser plays): say so on its tile.
        if (m.cameraId && (m.code === 'VIEWERS_FULL' || m.code === 'NO_FORMAT')) this.tiles.get(m.cameraId)?.refused(m.message);
        return;
      default:
        return;
    }
  }

  private onBinary(data: ArrayBuffer): void {
    let frame;
    try {
      frame = decodeFrame(new Uint8Array(data));
    } catch (err) {
      console.warn(`ignored a binary message: ${(err as Error).message}`);
      return;
    }
    const { kind, flags, time, channel } = frame.header;
    // Capture times come on the server's clock: turn them into this page's.
    // Until this page's clock is synced, capture times are unknown here.
    const local = time > 0 && this.socket.clock.current !== null ? time - this.socket.clock.offset : 0;
    const tile = this.byChannel.get(channel);
    if (kind === FRAME_KIND_CHUNK) tile?.pushChunk(frame.payload, flags, local);
    else tile?.append(frame.payload, (flags & FLAG_INIT) !== 0, local);
  }

  /** A page nobody looks at (hidden tab, sleeping tablet) costs neither the camera nor the network. */
  private onVisibility(): void {
    if (document.visibilityState === 'hidden') {
      this.hiddenTimer ??= setTimeout(() => {
        this.hiddenTimer = null;
        this.suspended = true;
        for (const t of this.tiles.values()) {
          t.suspend();
          this.socket.sendJson({ type: 'unsubscribe', cameraId: t.id });
        }
      }, HIDDEN_GRACE_MS);
      return;
    }
    if (this.hiddenTimer) clearTimeout(this.hiddenTimer);
    this.hiddenTimer = null;
    if (!this.suspended) return;
    this.suspended = false;
    for (const t of this.tiles.values()) this.subscribe(t.id);
  }
}
