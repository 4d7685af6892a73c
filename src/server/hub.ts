// The registry of camera channels and viewers: who is online, who watches what, and the camera list
// pushed to every viewer when it changes.
import { Channel, DEFAULT_MAX_RETAINED_BYTES, DEFAULT_MAX_VIEWERS_PER_CAMERA, type ViewerSink } from './channel.ts';
import { CLOSE_CODES, ProtocolError, type CameraInfo, type Command, type ServerMessage } from '../shared/protocol.ts';

/** How long an offline camera stays in the list (so viewers can show "offline" and it can come back). */
export const OFFLINE_KEEP_MS = 10 * 60 * 1000;
const MAX_CHANNELS = 0xffff;
/** The camera list goes out at most this often. */
const LIST_INTERVAL_MS = 100;
/** Cameras (online, or offline and remembered) at most. */
export const DEFAULT_MAX_CAMERAS = 100;

/** A camera connection as the hub sees it. */
export interface CameraLink {
  sendJson(message: ServerMessage): void;
  /** Closes the connection with a WebSocket close code and reason. */
  close(code: number, reason: string): void;
  /** Forwards a viewer's command; the viewer gets a command-result (the camera's ack or a timeout). */
  request(command: Command, viewer: ViewerSink, viewerRequestId: string): void;
}

/** Channels by camera id, viewers, and list broadcasting. */
export class Hub {
  private readonly channels = new Map<string, Channel>();
  private readonly cameras = new Map<Channel, CameraLink>();
  private readonly viewers = new Set<ViewerSink>();
  private listDirty = false;
  private listSentAt = 0;
  private readonly sweepTimer: NodeJS.Timeout;

  constructor(
    private readonly offlineKeepMs = OFFLINE_KEEP_MS,
    private readonly maxCameras = DEFAULT_MAX_CAMERAS,
    private readonly maxViewersPerCamera = DEFAULT_MAX_VIEWERS_PER_CAMERA,
  ) {
    this.sweepTimer = setInterval(() => this.sweep(), 30_000);
    this.sweepTimer.unref();
  }

  /** The camera list as viewers see it. */
  list(): CameraInfo[] {
    return [...this.channels.values()].map((c) => c.info());
  }

  /** The channel of a camera id, if known. */
  get(cameraId: string): Channel | undefined {
    return this.channels.get(cameraId);
  }

  /** The live connection of a channel's camera, if any. */
  cameraOf(channel: Channel): CameraLink | undefined {
    return this.cameras.get(channel);
  }

  /** A camera said hello: returns its channel, replacing an older connection with the same id. */
  attachCamera(cameraId: string, name: string, link: CameraLink): Channel {
    let channel = this.channels.get(cameraId);
    if (!channel) {
      if (this.channels.size >= this.maxCameras && !this.forgetOldestOffline()) {
        throw new ProtocolError('LIMIT', `this server already has ${this.maxCameras} cameras`);
      }
      channel = new Channel(cameraId, this.freeNumber(), name, DEFAULT_MAX_RETAINED_BYTES, this.maxViewersPerCamera);
      this.channels.set(cameraId, channel);
    }
    const old = this.cameras.get(channel);
    if (old) old.close(CLOSE_CODES.REPLACED, 'replaced by a newer connection of the same camera');
    this.cameras.set(channel, link);
    channel.camera = link;
    channel.name = name;
    channel.state = 'connecting';
    channel.offlineSince = null;
    channel.endStream();
    link.sendJson({ type: 'viewers', count: channel.viewerCount });
    this.changed();
    return channel;
  }

  /** A camera connection ended (only acts if it is still the current one). */
  detachCamera(channel: Channel, link: CameraLink): void {
    if (this.cameras.get(channel) !== link) return;
    this.cameras.delete(channel);
    channel.camera = null;
    channel.endStream();
    channel.state = 'offline';
    channel.offlineSince = Date.now();
    // A camera that never streamed leaves nothing worth showing.
    if (!channel.hasStreamed && channel.viewerCount === 0) this.channels.delete(channel.id);
    this.changed();
  }

  /** Registers a viewer connection; it gets the camera list now and on every change. */
  addViewer(sink: ViewerSink): void {
    this.viewers.add(sink);
    sink.sendJson({ type: 'cameras', cameras: this.list() });
  }

  /** Forgets a viewer and its subscriptions. */
  removeViewer(sink: ViewerSink): void {
    this.viewers.delete(sink);
    for (const channel of this.channels.values()) if (channel.unsubscribe(sink)) this.viewersChanged(channel);
  }

  /** A viewer's subscription count on a channel changed: tell the camera and everyone. */
  viewersChanged(channel: Channel): void {
    this.cameras.get(channel)?.sendJson({ type: 'viewers', count: channel.viewerCount });
    this.changed();
  }

  /** Marks the list as changed; viewers get it soon, at most every LIST_INTERVAL_MS (however busy the cameras are). */
  changed(): void {
    if (this.listDirty) return;
    this.listDirty = true;
    const send = (): void => {
      this.listDirty = false;
      this.listSentAt = Date.now();
      const message: ServerMessage = { type: 'cameras', cameras: this.list() };
      for (const v of this.viewers) v.sendJson(message);
    };
    const wait = this.listSentAt + LIST_INTERVAL_MS - Date.now();
    if (wait <= 0) setImmediate(send);
    else setTimeout(send, wait).unref();
  }

  /** Stops timers and closes every camera connection. */
  close(): void {
    clearInterval(this.sweepTimer);
    for (const link of this.cameras.values()) link.close(CLOSE_CODES.SHUTDOWN, 'server shutting down');
  }

  private sweep(now = Date.now()): void {
    let removed = false;
    for (const [id, channel] of this.channels) {
      if (channel.offlineSince !== null && now - channel.offlineSince > this.offlineKeepMs && channel.viewerCount === 0) {
        this.channels.delete(id);
        removed = true;
      }
    }
    if (removed) this.changed();
  }

  /** Makes room: forgets the camera that has been offline longest with nobody watching. */
  private forgetOldestOffline(): boolean {
    let oldest: Channel | null = null;
    for (const c of this.channels.values()) {
      if (c.offlineSince !== null && c.viewerCount === 0 && (!oldest || c.offlineSince < oldest.offlineSince!)) oldest = c;
    }
    if (!oldest) return false;
    this.channels.delete(oldest.id);
    return true;
  }

  private freeNumber(): number {
    const used = new Set([...this.channels.values()].map((c) => c.number));
    for (let n = 1; n <= MAX_CHANNELS; n++) if (!used.has(n)) return n;
    throw new Error('no free channel number');
  }
}
