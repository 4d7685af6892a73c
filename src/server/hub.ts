// The cameras the server knows, by id, each with its viewers; the viewer connections; and the
// camera list pushed to every viewer when it changes. A camera id is held by the device that
// registered it (the registry checks its secret); names are unique among the cameras listed.
import { Camera, DEFAULT_MAX_RETAINED_BYTES } from './core/camera.ts';
import type { Cameras } from './core/feature.ts';
import { CameraRegistry, MAX_RECORDS } from './core/registry.ts';
import type { RetentionPool } from './core/retention.ts';
import { nameKey } from '../shared/text.ts';
import { makeMuxer } from './live/muxers.ts';
import type { ViewerSink } from './live/viewer-sink.ts';
import { DEFAULT_MAX_VIEWERS_PER_CAMERA, LiveViewers } from './live/viewers.ts';
import { CLOSE_CODES, ProtocolError } from '../shared/protocol.ts';
import type { CameraInfo, Command, ServerMessage } from '../shared/schemas.ts';

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
  /** The share of memory what is kept of this camera is charged to (its client address's). */
  readonly retention?: RetentionPool | null;
}

/** One camera and its viewers. */
export interface Channel {
  readonly camera: Camera;
  readonly viewers: LiveViewers;
}

/** Cameras by id, their connections, viewers, and list broadcasting. */
export class Hub implements Cameras {
  private readonly channels = new Map<string, Channel>();
  private readonly cameraListeners = new Set<(camera: Camera) => void>();
  private readonly links = new Map<Channel, CameraLink>();
  private readonly viewerLinks = new Set<ViewerSink>();
  /** New cameras that asked for an offline camera's name, by their id (the owner may let them take its place). */
  private readonly adoptionsAsked = new Map<string, { newId: string; oldId: string; at: number }>();
  /** What each camera connection was last told: whether it is wanted. */
  private readonly wanted = new Map<Channel, boolean>();
  private listDirty = false;
  private listSentAt = 0;
  private readonly sweepTimer: NodeJS.Timeout;

  constructor(
    private readonly offlineKeepMs = OFFLINE_KEEP_MS,
    private readonly maxCameras = DEFAULT_MAX_CAMERAS,
    private readonly maxViewersPerCamera = DEFAULT_MAX_VIEWERS_PER_CAMERA,
    /** The cameras known across restarts: told when each is seen; those seen lately are listed (offline) at start. */
    private readonly registry: CameraRegistry = CameraRegistry.inMemory({ warn: () => undefined, error: () => undefined }),
  ) {
    this.sweepTimer = setInterval(() => this.sweep(), 30_000);
    this.sweepTimer.unref();
    // After a restart, the cameras that were about a moment ago are listed offline (viewers show
    // them in their offline row and stay subscribed) until they come back, or are forgotten as any
    // offline camera.
    const now = Date.now();
    for (const r of registry.all()) {
      if (now - r.lastSeen > offlineKeepMs || this.channels.size >= maxCameras) continue;
      // (Names kept by an older version may repeat: the later ones are numbered.)
      this.create(r.id, this.uniqueName(r.name, r.id), r.lastSeen);
    }
  }

  /** The camera list as viewers see it. */
  list(): CameraInfo[] {
    return [...this.channels.values()].map((c) => info(c, this.registry.get(c.camera.id)?.order ?? null));
  }

  /** The channel of a camera id, if known. */
  get(cameraId: string): Channel | undefined {
    return this.channels.get(cameraId);
  }

  all(): Iterable<Camera> {
    return [...this.channels.values()].map((c) => c.camera);
  }

  onCamera(fn: (camera: Camera) => void): () => void {
    this.cameraListeners.add(fn);
    return () => this.cameraListeners.delete(fn);
  }

  /** The live connection of a channel's camera, if any. */
  cameraOf(channel: Channel): CameraLink | undefined {
    return this.links.get(channel);
  }

  /**
   * A camera said hello with its device's `secret`: returns its channel, replacing an older
   * connection of the same device. Its name is `name`, or numbered ("Kitchen 2") when another listed
   * camera has that name: the camera's `name` then differs from the one asked for.
   */
  attachCamera(cameraId: string, name: string, secret: string, link: CameraLink): Channel {
    let channel = this.channels.get(cameraId);
    if (!channel && this.channels.size >= this.maxCameras && !this.forgetOldestOffline()) {
      throw new ProtocolError('LIMIT', `this server already has ${this.maxCameras} cameras`);
    }
    // A name the owner gave stands over the one the page keeps asking for.
    const record = this.registry.get(cameraId);
    const unique = this.uniqueName(record?.named ? record.name : name, cameraId);
    const claim = this.registry.claim(cameraId, secret, unique);
    if (claim === 'taken') throw new ProtocolError('CAMERA_TAKEN', 'this camera id belongs to another device: the page takes a new one');
    if (claim === 'full') throw new ProtocolError('LIMIT', `this server remembers ${MAX_RECORDS} cameras, each seen within 30 days (cameras.json in the data dir)`);
    if (!record) this.offerAdoption(cameraId, name);
    channel ??= this.create(cameraId, unique);
    const old = this.links.get(channel);
    if (old) old.close(CLOSE_CODES.REPLACED, 'replaced by a newer connection of the same camera');
    this.links.set(channel, link);
    channel.camera.connect(unique, link.retention ?? null);
    this.registry.seen(cameraId, unique);
    this.wanted.delete(channel);
    this.sendWanted(channel);
    if (channel.camera.recording?.state === 'recording') link.sendJson({ type: 'recording', recording: true });
    return channel;
  }

  /** A camera connection ended (only acts if it is still the current one). */
  detachCamera(channel: Channel, link: CameraLink): void {
    if (this.links.get(channel) !== link) return;
    this.links.delete(channel);
    channel.camera.disconnect();
    this.registry.seen(channel.camera.id, channel.camera.name);
    // A camera that never streamed leaves nothing worth showing (nor worth remembering).
    if (!channel.camera.hasStreamed && channel.viewers.count === 0) {
      this.forget(channel);
      this.registry.forget(channel.camera.id);
    }
  }

  /** A connected camera asks for a new name: returns the name it gets (numbered when another camera has it). */
  rename(channel: Channel, name: string): string {
    const unique = this.uniqueName(name, channel.camera.id);
    channel.camera.rename(unique);
    this.registry.rename(channel.camera.id, unique, 'camera');
    return unique;
  }

  /** Whether the owner gave this camera its name (its page then takes it). */
  namedByOwner(cameraId: string): boolean {
    return this.registry.get(cameraId)?.named === true;
  }

  /** The owner renames a camera (on or offline); its page, if on, is told and keeps the name. */
  renameByOwner(cameraId: string, name: string): OwnerResult {
    const channel = this.channels.get(cameraId);
    if (!channel) return { error: 'no such camera' };
    for (const c of this.channels.values()) {
      if (c !== channel && nameKey(c.camera.name) === nameKey(name)) return { error: `another camera is called “${c.camera.name}”` };
    }
    channel.camera.rename(name);
    this.registry.rename(cameraId, name, 'owner');
    this.links.get(channel)?.sendJson({ type: 'name', name, setBy: 'owner' });
    return { ok: true };
  }

  /** The owner forgets an offline camera: off the list and out of the registry (its device, if it comes back, is a new camera). */
  forgetByOwner(cameraId: string): OwnerResult {
    const channel = this.channels.get(cameraId);
    if (!channel && !this.registry.get(cameraId)) return { error: 'no such camera' };
    if (channel && this.links.has(channel)) return { error: `“${channel.camera.name}” is on: stop it on its device (or revoke the device) first` };
    if (channel) this.forget(channel);
    this.registry.forget(cameraId);
    return { ok: true };
  }

  /**
   * A new camera asked for the name of a camera that is offline: perhaps the same phone in a new
   * browser profile (or with its storage cleared), which cannot prove it. The owner is asked
   * (Settings) whether it may take that camera's place.
   */
  private offerAdoption(newId: string, name: string): void {
    const key = nameKey(name);
    // (Any camera the registry remembers, listed or not: a phone may come back days later.)
    const earlier = this.registry.all().find((r) => r.id !== newId && nameKey(r.name) === key && !this.isOn(r.id));
    if (!earlier) return;
    this.adoptionsAsked.delete(newId);
    this.adoptionsAsked.set(newId, { newId, oldId: earlier.id, at: Date.now() });
    while (this.adoptionsAsked.size > MAX_ADOPTIONS) this.adoptionsAsked.delete(this.adoptionsAsked.keys().next().value!);
  }

  /** What the owner is asked: new cameras that say they are an offline one (both still there, the earlier still offline). */
  adoptions(): Adoption[] {
    const out: Adoption[] = [];
    for (const a of this.adoptionsAsked.values()) {
      const now = this.channels.get(a.newId);
      const earlier = this.registry.get(a.oldId);
      if (!now || !earlier || this.isOn(a.oldId)) continue;
      const listed = this.channels.get(a.oldId);
      out.push({
        id: a.newId,
        name: now.camera.name,
        on: this.links.has(now),
        earlierId: a.oldId,
        earlierName: listed?.camera.name ?? earlier.name,
        earlierOfflineSince: listed?.camera.offlineSince ?? earlier.lastSeen,
        at: a.at,
      });
    }
    return out;
  }

  /** Whether a camera is connected now. */
  private isOn(cameraId: string): boolean {
    const channel = this.channels.get(cameraId);
    return channel !== undefined && this.links.has(channel);
  }

  /**
   * The owner lets new camera `newId` take the place of the offline camera it said it was: its device
   * holds that camera's id from now on (name, order, and later its recordings, stay), and the new
   * camera is forgotten. Its page, if on, is told its id and comes back as that camera.
   */
  adopt(newId: string): OwnerResult {
    const asked = this.adoptionsAsked.get(newId);
    const now = this.channels.get(newId);
    const earlier = asked ? this.registry.get(asked.oldId) : undefined;
    if (!asked || !now || !earlier) return { error: 'nothing to adopt: the camera is gone, or the question was answered' };
    const name = this.channels.get(earlier.id)?.camera.name ?? earlier.name;
    if (this.isOn(earlier.id)) return { error: `“${name}” is on: it is not lost` };
    // Its page must be there to be told its new id (else it would come back as a new camera, and
    // the earlier one would be held by a secret no page presents).
    const link = this.links.get(now);
    if (!link) return { error: `“${now.camera.name}” is not on right now: it can take the place while it is` };
    if (!this.registry.adopt(newId, earlier.id)) return { error: 'this camera cannot be adopted' };
    this.adoptionsAsked.delete(newId);
    this.links.delete(now);
    now.camera.disconnect();
    this.forget(now);
    link.sendJson({ type: 'adopted', cameraId: earlier.id, name });
    link.close(CLOSE_CODES.ADOPTED, `this device is "${name}" again`);
    return { ok: true };
  }

  /** The owner keeps both cameras: the question goes. */
  dismissAdoption(newId: string): OwnerResult {
    return this.adoptionsAsked.delete(newId) ? { ok: true } : { error: 'no such question' };
  }

  /** The owner's order of the grid: these ids first, in this order. */
  orderByOwner(ids: readonly string[]): OwnerResult {
    const unknown = ids.find((id) => !this.channels.has(id) && !this.registry.get(id));
    if (unknown) return { error: `no such camera: ${unknown}` };
    // (Cameras not listed now keep their place: only those the owner saw are re-ordered.)
    this.registry.setOrder(ids, [...this.channels.keys()]);
    this.changed();
    return { ok: true };
  }

  /** `name`, or the first of "name 2", "name 3"... that no other listed camera has (compared by `nameKey`). */
  private uniqueName(name: string, cameraId: string): string {
    const taken = new Set<string>();
    for (const c of this.channels.values()) if (c.camera.id !== cameraId) taken.add(nameKey(c.camera.name));
    if (!taken.has(nameKey(name))) return name;
    for (let n = 2; ; n++) {
      const suffix = ` ${n}`;
      const candidate = `${name.slice(0, 64 - suffix.length).replace(/[\ud800-\udbff]$/, '').trimEnd()}${suffix}`;
      if (!taken.has(nameKey(candidate))) return candidate;
    }
  }

  /** Registers a viewer connection; it gets the camera list now and on every change. */
  addViewer(sink: ViewerSink): void {
    this.viewerLinks.add(sink);
    sink.sendJson({ type: 'cameras', cameras: this.list() });
  }

  /** Forgets a viewer and its subscriptions. */
  removeViewer(sink: ViewerSink): void {
    this.viewerLinks.delete(sink);
    for (const channel of this.channels.values()) this.unsubscribe(channel, sink);
  }

  /** A viewer watches a camera (or starts it over); false when the camera has as many viewers as allowed. */
  subscribe(channel: Channel, sink: ViewerSink, chunks: boolean, audio = true): boolean {
    if (!channel.viewers.subscribe(sink, chunks, audio)) return false;
    this.viewersChanged(channel);
    return true;
  }

  /** A viewer stops watching a camera. */
  unsubscribe(channel: Channel, sink: ViewerSink): void {
    if (channel.viewers.unsubscribe(sink)) this.viewersChanged(channel);
  }

  /** Marks the list as changed; viewers get it soon, at most every LIST_INTERVAL_MS (however busy the cameras are). */
  changed(): void {
    if (this.listDirty) return;
    this.listDirty = true;
    const send = (): void => {
      this.listDirty = false;
      this.listSentAt = Date.now();
      const message: ServerMessage = { type: 'cameras', cameras: this.list() };
      for (const v of this.viewerLinks) v.sendJson(message);
    };
    const wait = this.listSentAt + LIST_INTERVAL_MS - Date.now();
    if (wait <= 0) setImmediate(send);
    else setTimeout(send, wait).unref();
  }

  /** Stops timers and closes every camera connection. */
  close(): void {
    clearInterval(this.sweepTimer);
    for (const link of this.links.values()) link.close(CLOSE_CODES.SHUTDOWN, 'server shutting down');
  }

  /** A new channel; `offlineSince`: when a camera restored from the registry was last seen. */
  private create(cameraId: string, name: string, offlineSince?: number): Channel {
    const camera = new Camera(cameraId, this.freeNumber(), name, DEFAULT_MAX_RETAINED_BYTES, undefined, offlineSince);
    const channel: Channel = { camera, viewers: new LiveViewers(camera, makeMuxer, this.maxViewersPerCamera) };
    camera.on('changed', () => {
      // (A rename while connected: the registry keeps the name.)
      if (this.links.has(channel) && this.registry.get(camera.id)?.name !== camera.name) this.registry.seen(camera.id, camera.name);
      this.changed();
    });
    camera.on('keyframe', () => this.links.get(channel)?.sendJson({ type: 'keyframe' }));
    camera.on('snapshot', (seq, width) => this.links.get(channel)?.sendJson({ type: 'snapshot', seq, width }));
    camera.on('wanted', () => this.sendWanted(channel));
    // The camera page says when it is being recorded (people in the room have a right to know).
    camera.on('recording', (status) => this.links.get(channel)?.sendJson({ type: 'recording', recording: status?.state === 'recording' }));
    this.channels.set(cameraId, channel);
    for (const fn of this.cameraListeners) {
      // A feature's fault must not keep a camera out.
      try {
        fn(camera);
      } catch (err) {
        console.error(`a feature failed on camera ${cameraId}:`, err);
      }
    }
    return channel;
  }

  private forget(channel: Channel): void {
    this.channels.delete(channel.camera.id);
    this.wanted.delete(channel);
    channel.camera.forget();
    this.changed();
  }

  /** A channel's viewer count changed: tell the camera (whether it is wanted) and everyone. */
  private viewersChanged(channel: Channel): void {
    this.sendWanted(channel);
    this.changed();
  }

  /**
   * Tells the camera whether anyone wants its media, when that changed: a consumer attached (a
   * viewer's output, a feature), or a viewer subscribed that waits for the camera's tracks.
   */
  private sendWanted(channel: Channel): void {
    const link = this.links.get(channel);
    if (!link) return;
    const wanted = channel.camera.wanted || channel.viewers.count > 0;
    if (this.wanted.get(channel) === wanted) return;
    this.wanted.set(channel, wanted);
    link.sendJson({ type: 'wanted', wanted });
  }

  private sweep(now = Date.now()): void {
    for (const channel of [...this.channels.values()]) {
      const since = channel.camera.offlineSince;
      if (since !== null && now - since > this.offlineKeepMs && channel.viewers.count === 0) this.forget(channel);
    }
  }

  /** Makes room: forgets the camera that has been offline longest with nobody watching. */
  private forgetOldestOffline(): boolean {
    let oldest: Channel | null = null;
    for (const c of this.channels.values()) {
      const since = c.camera.offlineSince;
      if (since !== null && c.viewers.count === 0 && (!oldest || since < (oldest.camera.offlineSince ?? Infinity))) oldest = c;
    }
    if (!oldest) return false;
    this.forget(oldest);
    return true;
  }

  private freeNumber(): number {
    const used = new Set([...this.channels.values()].map((c) => c.camera.number));
    for (let n = 1; n <= MAX_CHANNELS; n++) if (!used.has(n)) return n;
    throw new Error('no free channel number');
  }
}

/** Questions to the owner kept at most (the oldest go first). */
const MAX_ADOPTIONS = 20;

/** A new camera that says it is an offline one: may it take its place? */
export interface Adoption {
  /** The new camera, as it is listed now ("Kitchen 2"), and whether it is on. */
  id: string;
  name: string;
  on: boolean;
  /** The offline camera it says it is. */
  earlierId: string;
  earlierName: string;
  earlierOfflineSince: number | null;
  /** When it asked (ms since 1970). */
  at: number;
}

/** What an owner's change to the cameras came to. */
export type OwnerResult = { ok: true } | { error: string };

/** What viewers see of a camera; `order`: its place in the owner's order, if set. */
function info({ camera, viewers }: Channel, order: number | null): CameraInfo {
  const announced = camera.announced;
  const tracks = camera.tracks;
  return {
    id: camera.id,
    channel: camera.number,
    name: camera.name,
    state: camera.state,
    mime: announced?.mime ?? null,
    width: tracks?.video?.width ?? announced?.width ?? null,
    height: tracks?.video?.height ?? announced?.height ?? null,
    fps: announced?.fps ?? null,
    viewers: viewers.count,
    format: announced?.transport ?? null,
    videoCodec: tracks?.video?.codec ?? null,
    audioCodec: tracks?.audio?.codec ?? null,
    offlineSince: camera.offlineSince,
    order,
    recording: camera.recording ? { state: camera.recording.state, ...(camera.recording.message ? { message: camera.recording.message } : {}) } : null,
  };
}
