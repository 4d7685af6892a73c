// One camera in the viewer grid: its video, name, state badge and pause/resume control.
import type { CameraInfo, Command } from '../../shared/protocol.ts';
import { MsePlayer, type PlayerOptions } from './mse-player.ts';
import { LatencyMeter } from './latency-meter.ts';

export interface TileEvents {
  /** Ask the server to (re)join this camera's stream from its latest keyframe. */
  subscribe(cameraId: string): void;
  command(cameraId: string, command: Command): void;
  /** The tile was clicked: show it large (or back to the grid). */
  focus(cameraId: string): void;
}

/** What every tile shares: the player's settings and the page's idea of the server's clock. */
export interface TileContext {
  player: PlayerOptions;
  /** Offset to add to this page's clock to get the server's. */
  clockOffset(): number;
}

/** Badge texts per state. */
const STATE_TEXT: Record<string, string> = {
  connecting: 'starting',
  live: 'live',
  paused: 'paused',
  offline: 'offline',
  reconnecting: 'reconnecting',
};

/** Minimum spacing of re-joins, so a broken stream cannot make a storm of them. */
const REJOIN_SPACING_MS = 2000;

/** A camera's tile; destroy() releases its player. */
export class CameraTile {
  readonly el: HTMLElement;
  private readonly video: HTMLVideoElement;
  private readonly badge: HTMLSpanElement;
  private readonly nameEl: HTMLSpanElement;
  private readonly details: HTMLSpanElement;
  private readonly note: HTMLDivElement;
  private readonly toggle: HTMLButtonElement;
  private readonly sound: HTMLButtonElement;
  private readonly player: MsePlayer;
  private readonly meter: LatencyMeter;
  private info: CameraInfo;
  private lastRejoin = 0;
  private rejoinTimer: ReturnType<typeof setTimeout> | null = null;
  private viewerOnline = true;

  constructor(
    info: CameraInfo,
    private readonly events: TileEvents,
    context: TileContext,
  ) {
    this.info = info;
    this.el = document.createElement('article');
    this.el.className = 'tile';
    this.el.dataset.cameraId = info.id;
    this.el.innerHTML = `
      <div class="tile-media"><video muted playsinline autoplay></video><div class="tile-note" hidden></div><div class="tile-meter" hidden></div></div>
      <div class="tile-bar">
        <span class="badge"></span><span class="tile-name"></span><span class="tile-details"></span>
        <button type="button" class="tile-sound" hidden>Sound</button>
        <button type="button" class="tile-toggle"></button>
      </div>`;
    this.video = this.el.querySelector('video')!;
    this.badge = this.el.querySelector('.badge')!;
    this.nameEl = this.el.querySelector('.tile-name')!;
    this.details = this.el.querySelector('.tile-details')!;
    this.note = this.el.querySelector('.tile-note')!;
    this.toggle = this.el.querySelector('.tile-toggle')!;
    this.sound = this.el.querySelector('.tile-sound')!;
    this.sound.addEventListener('click', (e) => {
      e.stopPropagation();
      // Browsers allow sound only after a click like this one.
      this.video.muted = !this.video.muted;
      this.render();
    });
    this.player = new MsePlayer(this.video, {
      rejoin: (reason) => this.rejoin(reason),
      firstFrame: () => {
        this.el.dataset.playing = '1';
        // When the first picture appeared, ms after navigation: for people debugging and for tests.
        this.el.dataset.firstFrameMs = String(Math.round(performance.now()));
        this.showNote('');
      },
      unsupported: (message) => this.showNote(message),
    }, context.player);
    this.meter = new LatencyMeter(this.el, this.player, this.el.querySelector('.tile-meter')!, context.clockOffset);
    this.toggle.addEventListener('click', (e) => {
      e.stopPropagation();
      this.events.command(this.info.id, this.info.state === 'paused' ? 'resume' : 'pause');
      this.toggle.disabled = true;
    });
    this.el.querySelector('.tile-media')!.addEventListener('click', () => this.events.focus(this.info.id));
    this.update(info);
  }

  get id(): string {
    return this.info.id;
  }

  get name(): string {
    return this.info.name;
  }

  /** New camera-list entry for this camera. */
  update(info: CameraInfo): void {
    const wasOffline = this.info.state === 'offline';
    this.info = info;
    this.render();
    if (info.state === 'offline' && !wasOffline) {
      this.player.teardown();
      delete this.el.dataset.playing;
    }
  }

  /** The viewer's own connection went down or came back. */
  setViewerOnline(online: boolean): void {
    this.viewerOnline = online;
    this.render();
  }

  /** A new stream starts on this camera. */
  startStream(mime: string): void {
    delete this.el.dataset.playing;
    this.meter.reset();
    this.player.start(mime);
  }

  /** Stops playing until the next stream (the page is hidden). */
  suspend(): void {
    this.player.teardown();
    delete this.el.dataset.playing;
  }

  /** Stream bytes; `init` when they start with the init segment; `epoch`: capture time of media time 0 on this page's clock (0 = unknown). */
  append(bytes: Uint8Array, init: boolean, epoch: number): void {
    this.player.append(bytes, init, epoch);
  }

  /** Shows or hides the latency overlay. */
  showMeter(on: boolean): void {
    this.meter.show(on);
  }

  /** The answer to a pause/resume command. */
  commandResult(ok: boolean, error: string | undefined): void {
    this.toggle.disabled = false;
    if (!ok) this.showNote(`Command failed: ${error ?? 'unknown error'}`, 4000);
  }

  destroy(): void {
    if (this.rejoinTimer) clearTimeout(this.rejoinTimer);
    if (this.noteTimer) clearTimeout(this.noteTimer);
    this.meter.show(false);
    this.player.destroy();
    this.el.remove();
  }

  private rejoin(reason: string): void {
    console.warn(`camera ${this.info.name}: re-joining (${reason})`);
    const wait = Math.max(0, this.lastRejoin + REJOIN_SPACING_MS - Date.now());
    if (this.rejoinTimer) return;
    this.rejoinTimer = setTimeout(() => {
      this.rejoinTimer = null;
      this.lastRejoin = Date.now();
      this.events.subscribe(this.info.id);
    }, wait);
  }

  private render(): void {
    const state = this.viewerOnline ? this.info.state : 'reconnecting';
    this.el.dataset.state = state;
    this.badge.textContent = STATE_TEXT[state] ?? state;
    this.nameEl.textContent = this.info.name;
    this.el.title = this.info.name;
    const size = this.info.width && this.info.height ? `${this.info.width}×${this.info.height}` : '';
    const watchers = `${this.info.viewers} watching`;
    this.details.textContent = [size, watchers].filter(Boolean).join(' · ');
    this.toggle.textContent = this.info.state === 'paused' ? 'Resume' : 'Pause';
    this.toggle.hidden = !(this.info.state === 'live' || this.info.state === 'paused') || !this.viewerOnline;
    this.sound.hidden = !this.info.mime?.includes('opus') || this.info.state !== 'live';
    this.sound.textContent = this.video.muted ? 'Sound off' : 'Sound on';
    this.sound.setAttribute('aria-pressed', String(!this.video.muted));
  }

  private noteTimer: ReturnType<typeof setTimeout> | null = null;
  private showNote(text: string, clearAfterMs = 0): void {
    this.note.textContent = text;
    this.note.hidden = text === '';
    if (this.noteTimer) clearTimeout(this.noteTimer);
    this.noteTimer = clearAfterMs > 0 ? setTimeout(() => this.showNote(''), clearAfterMs) : null;
  }
}
