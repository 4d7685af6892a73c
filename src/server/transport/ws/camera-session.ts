// A camera's connection after its hello: its control messages, its media (into the ingest that its
// "stream" message chose), and viewers' commands sent to it and answered.
import { ProtocolError } from '../../../shared/errors.ts';
import { FLAG_AUDIO, FRAME_KIND_CHUNK, FRAME_KIND_SNAPSHOT, MAX_TIME, PROTOCOL_VERSION, decodeFrame } from '../../../shared/protocol.ts';

/** A snapshot's bytes at most. */
const MAX_SNAPSHOT_BYTES = 2 * 1024 * 1024;
import { cameraMessageSchema, parseMessage, type CameraMessage, type Command, type ServerMessage } from '../../../shared/schemas.ts';
import type { CameraLink, Channel, Hub } from '../../hub.ts';
import { ChunkIngest } from '../../ingest/chunk-ingest.ts';
import { ContainerIngest } from '../../ingest/container-ingest.ts';
import { SplitIngest } from '../../ingest/split-ingest.ts';
import type { ViewerSink } from '../../live/viewer-sink.ts';
import type { RetentionPool } from '../../core/retention.ts';
import type { Peer, Session } from './session.ts';

interface PendingCommand {
  viewer: ViewerSink;
  viewerRequestId: string;
  timer: NodeJS.Timeout;
}

export class CameraSession implements Session, CameraLink {
  readonly role = 'camera';
  private readonly channel: Channel;
  /** The camera's current stream, as its ingest: chunks, a MediaRecorder's container bytes, or two recorders' (picture, sound). */
  private ingest: ChunkIngest | ContainerIngest | SplitIngest | null = null;
  /** The next sequence number of the camera's binary frames. */
  private expectedSeq = 0;
  /** The camera's clock offset to ours (ours = its + offset), as it last reported; null until it does. */
  private clockOffset: number | null = null;
  private readonly pending = new Map<string, PendingCommand>();
  private nextRequest = 1;

  constructor(
    private readonly peer: Peer,
    private readonly hub: Hub,
    cameraId: string,
    name: string,
    secret: string,
  ) {
    this.labelAs(name, cameraId);
    this.channel = hub.attachCamera(cameraId, name, secret, this);
    // (The name it got: numbered when another camera has the one asked for.)
    this.labelAs(this.channel.camera.name, cameraId);
    this.sendJson({ type: 'welcome', protocol: PROTOCOL_VERSION, role: 'camera', channel: this.channel.camera.number, name: this.channel.camera.name, ...(hub.namedByOwner(cameraId) ? { setBy: 'owner' as const } : {}) });
  }

  /** The camera it streams as. */
  get cameraId(): string {
    return this.channel.camera.id;
  }

  /** How the log names this connection. */
  private labelAs(name: string, cameraId: string): void {
    this.peer.label = `camera "${name}" (${cameraId}) from ${this.peer.address}`;
  }

  // ---- CameraLink ----
  get retention(): RetentionPool {
    return this.peer.budgets.retention;
  }

  sendJson(message: ServerMessage): void {
    this.peer.sendJson(message);
  }

  close(code: number, reason: string): void {
    this.peer.close(code, reason);
  }

  /** Sends a command to this camera; the viewer gets the camera's answer or a timeout. */
  request(command: Command, viewer: ViewerSink, viewerRequestId: string): void {
    if (this.pending.size >= this.peer.opts.maxPendingCommands) {
      viewer.sendJson({ type: 'command-result', requestId: viewerRequestId, cameraId: this.channel.camera.id, ok: false, error: 'the camera has too many commands waiting; try again' });
      return;
    }
    const id = String(this.nextRequest++);
    const timer = setTimeout(() => this.settle(id, { ok: false, error: 'the camera did not answer in time' }), this.peer.opts.commandTimeoutMs);
    this.pending.set(id, { viewer, viewerRequestId, timer });
    this.sendJson({ type: 'command', requestId: id, command });
  }

  // ---- Session ----
  onText(text: string): void {
    this.peer.spend();
    this.onMessage(parseMessage(cameraMessageSchema, text));
  }

  private onMessage(msg: CameraMessage): void {
    const camera = this.channel.camera;
    switch (msg.type) {
      case 'stream': {
        if (msg.fallback) throw new ProtocolError('BAD_MESSAGE', 'a fallback stream: this server muxes for viewers itself (reload the camera page)');
        const transport = msg.format === 'chunks' ? 'chunks' : msg.mime?.startsWith('video/mp4') || msg.mime?.startsWith('audio/mp4') ? 'mp4' : 'webm';
        if (msg.format !== 'chunks' && !msg.mime) throw new ProtocolError('BAD_MESSAGE', 'a "stream" of a MediaRecorder needs its mime type');
        if (msg.audioMime && (transport !== 'webm' || !msg.audioMime.startsWith('audio/webm'))) throw new ProtocolError('BAD_MESSAGE', 'a sound recorder of its own ("audioMime") is taken beside a WebM picture, in WebM');
        camera.endStream();
        this.ingest =
          transport === 'chunks' ? new ChunkIngest(camera, msg.audio) : transport === 'mp4' ? ContainerIngest.mp4(camera) : msg.audioMime ? new SplitIngest(camera) : ContainerIngest.webm(camera);
        this.expectedSeq = 0;
        camera.announce({ width: msg.width, height: msg.height, fps: msg.fps, transport, mime: msg.format === 'chunks' ? undefined : msg.mime });
        camera.setState('live');
        const what = transport === 'chunks' ? 'WebCodecs chunks' : msg.audioMime ? `${msg.mime} + ${msg.audioMime}` : msg.mime;
        this.peer.log.info(`${this.peer.label} streams ${what} ${msg.width ?? '?'}x${msg.height ?? '?'}${msg.audio ? ' with sound' : ''}`);
        return;
      }
      case 'codec':
        if (!(this.ingest instanceof ChunkIngest)) throw new ProtocolError('WRONG_ORDER', 'a codec before a chunk "stream" message');
        this.ingest.codec(msg);
        this.peer.log.info(`${this.peer.label} codecs: ${[msg.video?.codec, msg.audio?.codec].filter(Boolean).join(', ')}`);
        return;
      case 'state':
        camera.setState(msg.state);
        return;
      case 'name': {
        const given = this.hub.rename(this.channel, msg.name);
        this.labelAs(given, camera.id);
        this.sendJson({ type: 'name', name: given });
        return;
      }
      case 'fallback-failed':
        // (Older camera pages only: the server asks for no fallback any more.)
        return;
      case 'clock':
        this.peer.answerClock(msg.sent);
        return;
      case 'clock-offset':
        this.clockOffset = msg.offset;
        return;
      case 'ack':
        if (msg.state) camera.setState(msg.state);
        this.settle(msg.requestId, msg.ok ? { ok: true, ...(msg.state ? { state: msg.state } : {}) } : { ok: false, error: msg.error ?? 'refused' });
        return;
    }
  }

  onBinary(data: Uint8Array): void {
    const { header, payload } = decodeFrame(data);
    // Capture time on the server's clock, once the camera has told its offset; 0 = unknown (also
    // when a wild offset would put it out of range, which would make every viewer refuse the frame).
    const converted = header.time > 0 && this.clockOffset !== null ? header.time + this.clockOffset : 0;
    const time = converted > 0 && converted <= MAX_TIME ? converted : 0;
    if (header.kind === FRAME_KIND_SNAPSHOT) {
      if (payload.byteLength > MAX_SNAPSHOT_BYTES) throw new ProtocolError('TOO_LARGE', `a snapshot over ${MAX_SNAPSHOT_BYTES} bytes`);
      if (!(payload[0] === 0xff && payload[1] === 0xd8 && payload[2] === 0xff)) throw new ProtocolError('BAD_MESSAGE', 'a snapshot that is not a JPEG');
      if (!this.channel.camera.snapshotTaken(header.seq, payload.slice(), Date.now())) throw new ProtocolError('WRONG_ORDER', `snapshot ${header.seq} was never asked for`);
      this.peer.budgets.media(1);
      return;
    }
    const ingest = this.ingest;
    const chunk = header.kind === FRAME_KIND_CHUNK;
    if (!ingest) throw new ProtocolError('WRONG_ORDER', chunk ? 'a chunk before a chunk "stream" message' : 'media before a "stream" message');
    if (header.seq !== this.expectedSeq) throw new ProtocolError('BAD_MESSAGE', `${chunk ? 'chunk' : 'media chunk'} ${header.seq} out of order (expected ${this.expectedSeq})`);
    this.expectedSeq++;
    this.peer.budgets.media(this.ingestBytes(ingest, chunk, header.flags, header.time, payload, time));
  }

  /** Hands a binary message's payload to the stream's ingest; returns how many frames it held. */
  private ingestBytes(ingest: ChunkIngest | ContainerIngest | SplitIngest, chunk: boolean, flags: number, cameraTime: number, payload: Uint8Array, time: number): number {
    if (chunk) {
      if (!(ingest instanceof ChunkIngest)) throw new ProtocolError('WRONG_ORDER', 'a chunk in a MediaRecorder stream');
      ingest.push(payload, flags, cameraTime, time);
      return 1;
    }
    if (ingest instanceof ChunkIngest) throw new ProtocolError('WRONG_ORDER', 'container bytes in a chunk stream');
    const audio = (flags & FLAG_AUDIO) !== 0;
    if (ingest instanceof SplitIngest) return ingest.push(audio ? 'audio' : 'video', payload, cameraTime, time);
    if (audio) throw new ProtocolError('WRONG_ORDER', 'sound of its own in a stream that did not announce it ("audioMime")');
    return ingest.push(payload, time);
  }

  leave(): void {
    this.hub.detachCamera(this.channel, this);
  }

  closed(code: number, reason: string): void {
    for (const id of [...this.pending.keys()]) this.settle(id, { ok: false, error: 'the camera disconnected' });
    this.leave();
    this.peer.log.info(`${this.peer.label} disconnected (${code}${reason ? ` ${reason}` : ''})`);
  }

  private settle(id: string, result: { ok: boolean; state?: 'live' | 'paused'; error?: string }): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.viewer.sendJson({ type: 'command-result', requestId: p.viewerRequestId, cameraId: this.channel.camera.id, ...result });
  }
}
