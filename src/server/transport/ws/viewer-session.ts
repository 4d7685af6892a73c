// A viewer's connection after its hello: its subscriptions and commands, and its queue as the live
// outputs see it (full: its video skips to a keyframe; full for long: the connection lets it go).
import { ProtocolError } from '../../../shared/errors.ts';
import { PROTOCOL_VERSION } from '../../../shared/protocol.ts';
import { parseMessage, viewerMessageSchema, type ServerMessage, type ViewerMessage } from '../../../shared/schemas.ts';
import type { Hub } from '../../hub.ts';
import type { ViewerSink } from '../../live/viewer-sink.ts';
import type { Peer, Session } from './session.ts';

export class ViewerSession implements Session, ViewerSink {
  readonly role = 'viewer';

  constructor(
    private readonly peer: Peer,
    private readonly hub: Hub,
  ) {
    peer.label = `viewer from ${peer.address}`;
    this.sendJson({ type: 'welcome', protocol: PROTOCOL_VERSION, role: 'viewer' });
    hub.addViewer(this);
  }

  // ---- ViewerSink ----
  sendJson(message: ServerMessage): void {
    this.peer.sendJson(message);
  }

  sendBinary(frame: Uint8Array): void {
    this.peer.outbox.push(frame);
  }

  congested(): boolean {
    return this.peer.outbox.full();
  }

  choked(): boolean {
    return this.peer.outbox.choked();
  }

  // ---- Session ----
  onText(text: string): void {
    const msg = parseMessage(viewerMessageSchema, text);
    if (msg.type === 'keyframe') {
      // Over their own budget, keyframe requests are ignored, and count as control messages (a flood is closed).
      if (!this.peer.budgets.keyframe()) {
        this.peer.spend();
        return;
      }
    } else this.peer.spend();
    this.onMessage(msg);
  }

  onBinary(): void {
    throw new ProtocolError('WRONG_ORDER', 'viewers do not send media');
  }

  private onMessage(msg: ViewerMessage): void {
    if (msg.type === 'clock') {
      this.peer.answerClock(msg.sent);
      return;
    }
    const channel = this.hub.get(msg.cameraId);
    if (!channel) {
      // Not fatal: the camera may just have gone away between the list and this message.
      if (msg.type === 'command') this.sendJson({ type: 'command-result', requestId: msg.requestId, cameraId: msg.cameraId, ok: false, error: 'unknown camera' });
      else this.sendJson({ type: 'error', code: 'UNKNOWN_CAMERA', cameraId: msg.cameraId, message: `no camera with id ${msg.cameraId}` });
      return;
    }
    switch (msg.type) {
      case 'subscribe':
        if (!this.hub.subscribe(channel, this, msg.chunks ?? false, msg.audio ?? true)) {
          // Not fatal: this viewer may watch the other cameras.
          const max = channel.viewers.maxViewers;
          this.sendJson({ type: 'error', code: 'VIEWERS_FULL', cameraId: channel.camera.id, message: `${channel.camera.name} already has ${max} viewer${max === 1 ? '' : 's'}, the most this server allows (--max-viewers)` });
        }
        return;
      case 'keyframe':
        channel.viewers.keyframeWanted(this);
        return;
      case 'unsubscribe':
        this.hub.unsubscribe(channel, this);
        return;
      case 'command': {
        const camera = this.hub.cameraOf(channel);
        if (!camera) {
          this.sendJson({ type: 'command-result', requestId: msg.requestId, cameraId: msg.cameraId, ok: false, error: 'the camera is offline' });
          return;
        }
        camera.request(msg.command, this, msg.requestId);
        return;
      }
    }
  }

  leave(): void {
    this.hub.removeViewer(this);
  }

  closed(code: number): void {
    this.leave();
    this.peer.log.info(`${this.peer.label} disconnected (${code})`);
  }
}
