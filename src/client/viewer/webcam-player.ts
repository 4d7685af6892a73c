// <webcam-player camera="Kitchen">: one camera's live picture and sound, with its name, state and
// controls over it. The grid, the large view and the one-camera view are made of these; the embed
// page (/embed) is one alone, for a Home Assistant card or an OBS browser source. `camera` is a
// camera's id, or its name (compared as the server compares names). Every player on a page shares
// the page's one connection (connection.ts).
import { nameKey } from '../../shared/text.ts';
import type { CameraInfo } from '../../shared/schemas.ts';
import { CameraTile } from './camera-tile.ts';
import type { ViewerConnection } from './connection.ts';

/** The connection players on this page use (set by the page). */
let pageConnection: ViewerConnection | null = null;
/** Players in the page before it set the connection (in its HTML): they start once it does. */
const waitingPlayers = new Set<WebcamPlayer>();

export function usePlayerConnection(connection: ViewerConnection): void {
  pageConnection = connection;
  for (const p of waitingPlayers) if (p.isConnected) p.connectedCallback();
  waitingPlayers.clear();
}

/** The camera `wanted` names: by id first, else by name. */
export function findCamera(cameras: readonly CameraInfo[], wanted: string): CameraInfo | undefined {
  return cameras.find((c) => c.id === wanted) ?? cameras.find((c) => nameKey(c.name) === nameKey(wanted));
}

export class WebcamPlayer extends HTMLElement {
  /** The camera's tile while the camera is listed (null: waiting for it). */
  tile: CameraTile | null = null;
  private stopListening: (() => void) | null = null;
  private readonly waiting = document.createElement('p');

  static get observedAttributes(): string[] {
    return ['camera'];
  }

  connectedCallback(): void {
    const connection = pageConnection;
    if (!connection) {
      waitingPlayers.add(this);
      return;
    }
    this.waiting.className = 'player-waiting';
    this.stopListening ??= connection.onCameras((cameras) => this.sync(cameras));
    this.sync(connection.cameras);
    connection.start();
  }

  disconnectedCallback(): void {
    waitingPlayers.delete(this);
    // Moved within the page (the grid re-orders its players): it is connected again before this
    // runs, and keeps playing. Only a player that left the page lets its camera go.
    queueMicrotask(() => {
      if (this.isConnected) return;
      this.stopListening?.();
      this.stopListening = null;
      this.drop();
    });
  }

  attributeChangedCallback(): void {
    if (!this.isConnected || !pageConnection) return;
    this.drop();
    this.sync(pageConnection.cameras);
  }

  /** A click on the picture: the page decides (the grid shows it large). */
  private focusCamera(cameraId: string): void {
    this.dispatchEvent(new CustomEvent('player-focus', { detail: { cameraId }, bubbles: true }));
  }

  private sync(cameras: readonly CameraInfo[]): void {
    const connection = pageConnection!;
    const wanted = this.getAttribute('camera') ?? '';
    const info = findCamera(cameras, wanted);
    if (this.tile && info?.id !== this.tile.id) this.drop();
    if (!info) {
      this.waiting.textContent = `Waiting for camera “${wanted}”…`;
      if (!this.waiting.isConnected) this.append(this.waiting);
      return;
    }
    this.waiting.remove();
    if (this.tile) {
      this.tile.update(info);
      return;
    }
    this.tile = new CameraTile(info, connection.tileEvents((id) => this.focusCamera(id)), connection.context);
    this.append(this.tile.el);
    connection.add(this.tile);
  }

  private drop(): void {
    if (!this.tile) return;
    pageConnection?.remove(this.tile);
    this.tile.destroy();
    this.tile.el.remove();
    this.tile = null;
  }
}

if (!customElements.get('webcam-player')) customElements.define('webcam-player', WebcamPlayer);
