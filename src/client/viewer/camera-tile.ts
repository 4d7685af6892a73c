// One camera in the viewer grid: its video, with its name and state over the top edge and its
// controls over the bottom one (they never take room from the picture, and never clip or wrap: a
// small tile folds its controls into a menu, by a container query in style.css); the menu also
// says how the camera streams.
import type { AudioCodecConfig, CameraInfo, Command, ServerMessage, StreamFormat, VideoCodecConfig } from '../../shared/schemas.ts';
import { MsePlayer, type PlayerOptions } from './mse-player.ts';
import { ChunkPlayer } from './chunk-player.ts';
import { LatencyMeter } from './latency-meter.ts';
import { localNow } from '../common/clock.ts';

export interface TileEvents {
  /** Ask the server to (re)join this camera's stream from its latest keyframe. */
  subscribe(cameraId: string): void;
  command(cameraId: string, command: Command): void;
  /** Ask the server for a video keyframe (the chunk decoder lost its way). */
  keyframe(cameraId: string): void;
  /** The tile was clicked: show it large (or back to the grid). */
  focus(cameraId: string): void;
}

/** What every tile shares: the player's settings and the page's idea of the server's clock. */
export interface TileContext {
  player: PlayerOptions;
  /** Offset to add to this page's clock to get the server's. */
  clockOffset(): number;
  /** False when this page must not ask for WebCodecs chunks (`?decoder=mse`). */
  chunks: boolean;
}

/** Badge texts per state. */
const STATE_TEXT: Record<string, string> = {
  connecting: 'starting',
  live: 'live',
  paused: 'paused',
  offline: 'offline',
  reconnecting: 'reconnecting',
};

/** A tile whose picture is further behind the camera than this says so ("behind 3 s") instead of "live". */
const BEHIND_MS = 1000;

/** How long a "skipped frames" note stays after the last skip. */
const SKIPPED_NOTE_MS = 5000;

/** A tile this far behind while its stream keeps arriving re-joins from the newest keyframe (once until it is close to live again)... */
const REJOIN_BEHIND_MS = 5000;
/** ...and at most this often. */
const REJOIN_BEHIND_SPACING_MS = 30_000;

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
  private readonly menu: HTMLDivElement;
  private readonly more: HTMLButtonElement;
  private readonly menuSound: HTMLButtonElement;
  private readonly menuToggle: HTMLButtonElement;
  private readonly menuRename: HTMLButtonElement;
  private focused = false;
  private readonly player: MsePlayer;
  private readonly chunkPlayer: ChunkPlayer;
  /** Which player the current stream uses (null: no stream yet). */
  private mode: StreamFormat | null = null;
  /** This camera's chunks could not be decoded here: ask for WebM. */
  private chunksRefused = false;
  private soundOn = false;
  /** Video frames the server dropped for this page because its network was too slow. */
  private skippedFrames = 0;
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private readonly meter: LatencyMeter;
  /** When the picture shown now was captured (this page's clock; 0: unknown), and how far behind it was, ms. */
  private lastCaptured = 0;
  private behindMs = 0;
  private behindTimer: ReturnType<typeof setInterval> | null = null;
  private info: CameraInfo;
  private lastRejoin = 0;
  private lastBehindRejoin = 0;
  /** A re-join for being behind was tried since the picture was last close to live. */
  private rejoinedWhileBehind = false;
  /** When stream data last arrived (performance.now()). */
  private lastArrival = 0;
  private rejoinTimer: ReturnType<typeof setTimeout> | null = null;
  private viewerOnline = true;

  constructor(
    info: CameraInfo,
    private readonly events: TileEvents,
    private readonly context: TileContext,
  ) {
    this.info = info;
    this.el = document.createElement('article');
    this.el.className = 'tile';
    this.el.dataset.cameraId = info.id;
    this.el.innerHTML = `
      <div class="tile-media"><video muted playsinline autoplay></video><div class="tile-note" hidden></div><div class="tile-meter" hidden></div></div>
      <div class="tile-top">
        <span class="badge"></span><span class="tile-rec" hidden>REC</span><span class="tile-name"></span>
        <button type="button" class="tile-close" aria-label="Back to all cameras" title="Back to all cameras (Esc)">✕</button>
      </div>
      <div class="tile-controls">
        <button type="button" class="tile-sound" hidden>Sound</button>
        <button type="button" class="tile-toggle"></button>
        <button type="button" class="tile-more" aria-haspopup="true" aria-expanded="false" aria-label="More" title="More">⋯</button>
      </div>
      <div class="tile-menu" role="menu" hidden>
        <p class="tile-details"></p>
        <button type="button" role="menuitem" class="menu-sound" hidden></button>
        <button type="button" role="menuitem" class="menu-toggle"></button>
        <button type="button" role="menuitem" class="menu-focus"></button>
        <button type="button" role="menuitem" class="menu-rename" hidden>Rename…</button>
        <a role="menuitem" class="menu-snapshot" download>Save a snapshot</a>
        <a role="menuitem" class="menu-recordings">Recordings</a>
      </div>`;
    this.video = this.el.querySelector('video')!;
    this.badge = this.el.querySelector('.badge')!;
    this.nameEl = this.el.querySelector('.tile-name')!;
    this.details = this.el.querySelector('.tile-details')!;
    this.note = this.el.querySelector('.tile-note')!;
    this.toggle = this.el.querySelector('.tile-toggle')!;
    this.sound = this.el.querySelector('.tile-sound')!;
    this.menu = this.el.querySelector('.tile-menu')!;
    this.more = this.el.querySelector('.tile-more')!;
    this.menuSound = this.el.querySelector('.menu-sound')!;
    this.menuToggle = this.el.querySelector('.menu-toggle')!;
    this.menuRename = this.el.querySelector('.menu-rename')!;
    const menuFocus = this.el.querySelector<HTMLButtonElement>('.menu-focus')!;
    this.more.addEventListener('click', (e) => {
      e.stopPropagation();
      this.showMenu(this.menu.hidden);
    });
    this.el.querySelector('.tile-close')!.addEventListener('click', (e) => {
      e.stopPropagation();
      this.events.focus(this.info.id);
    });
    this.menuSound.addEventListener('click', (e) => {
      e.stopPropagation();
      this.showMenu(false);
      this.sound.click();
    });
    this.menuToggle.addEventListener('click', (e) => {
      e.stopPropagation();
      this.showMenu(false);
      this.toggle.click();
    });
    menuFocus.addEventListener('click', (e) => {
      e.stopPropagation();
      this.showMenu(false);
      this.events.focus(this.info.id);
    });
    // The owner's (shown by the page, which asks for the new name: see viewer-page.ts).
    this.menuRename.addEventListener('click', (e) => {
      e.stopPropagation();
      this.showMenu(false);
      this.el.dispatchEvent(new CustomEvent('camera-rename', { detail: { cameraId: this.info.id, name: this.info.name }, bubbles: true }));
    });
    this.sound.addEventListener('click', (e) => {
      e.stopPropagation();
      // Browsers allow sound only after a click like this one.
      this.soundOn = !this.soundOn;
      this.video.muted = !this.soundOn;
      void this.chunkPlayer.audio.setAudible(this.soundOn);
      // A stream muxed for MSE carries sound only for a viewer that listens (MSE holds a stream
      // with sound far behind live), and a page without an AudioDecoder hears sound only through
      // one: ask for the stream that fits.
      if (this.mode !== 'chunks' || typeof AudioDecoder === 'undefined') this.events.subscribe(this.info.id);
      this.render();
    });
    this.player = new MsePlayer(this.video, {
      rejoin: (reason) => this.rejoin(reason),
      firstFrame: () => this.onFirstFrame(),
      unsupported: (message) => this.showNote(message),
    }, context.player);
    this.chunkPlayer = new ChunkPlayer({
      firstFrame: () => this.onFirstFrame(),
      keyframe: () => this.events.keyframe(this.info.id),
      rejoin: (reason) => this.rejoin(reason),
      unsupported: (message) => {
        // Nothing lost: the camera also records WebM for viewers like this one.
        this.chunksRefused = true;
        this.showNote(`${message} Playing the camera's WebM stream instead.`, 6000);
        this.rejoin('asking for WebM');
      },
    });
    this.chunkPlayer.canvas.hidden = true;
    this.video.after(this.chunkPlayer.canvas);
    const players = { mse: this.player, chunks: this.chunkPlayer };
    const tile = this;
    this.meter = new LatencyMeter(
      this.el,
      {
        watchFrames: (cb) => {
          const a = players.mse.watchFrames(cb);
          const b = players.chunks.watchFrames(cb);
          return () => {
            a();
            b();
          };
        },
        get lead() {
          return tile.mode !== null && tile.mode !== 'chunks' ? players.mse.lead : null;
        },
        get audioBufferMs() {
          return tile.mode === 'chunks' && tile.info.audioCodec ? players.chunks.audioStats.bufferedMs : null;
        },
      },
      this.el.querySelector('.tile-meter')!,
      context.clockOffset,
    );
    this.toggle.addEventListener('click', (e) => {
      e.stopPropagation();
      this.events.command(this.info.id, this.info.state === 'paused' ? 'resume' : 'pause');
      this.toggle.disabled = true;
    });
    this.el.querySelector('.tile-media')!.addEventListener('click', () => this.events.focus(this.info.id));
    // How far behind the camera the picture is, from the capture times of the frames shown (both
    // clocks synced with the server's): said on the tile once it is more than BEHIND_MS.
    const seen = (f: { captured: number | null }): void => {
      this.lastCaptured = f.captured ?? 0;
    };
    this.player.watchFrames(seen);
    this.chunkPlayer.watchFrames(seen);
    this.behindTimer = setInterval(() => this.checkBehind(), 1000);
    this.update(info);
  }

  get id(): string {
    return this.info.id;
  }

  get name(): string {
    return this.info.name;
  }

  /** The camera's picture shape, width / height (null until it says). */
  get aspect(): number | null {
    return this.info.width && this.info.height ? this.info.width / this.info.height : null;
  }

  /** Whether to ask the server for this camera's WebCodecs chunks (else its WebM). */
  get acceptsChunks(): boolean {
    // Without an AudioDecoder (Safari before 26) a camera's sound is heard through a stream the
    // server muxes: chunks while nobody listens, that stream once people do.
    const sound = this.info.audioCodec === null || !this.soundOn || typeof AudioDecoder !== 'undefined';
    return this.context.chunks && !this.chunksRefused && typeof VideoDecoder !== 'undefined' && sound;
  }

  /** New camera-list entry for this camera. */
  update(info: CameraInfo): void {
    const wasOffline = this.info.state === 'offline';
    const codecChanged = info.videoCodec !== null && info.videoCodec !== this.info.videoCodec;
    this.info = info;
    // A camera that now sends another codec may be one this browser decodes: try its chunks again.
    if (codecChanged && this.chunksRefused) {
      this.chunksRefused = false;
      this.rejoin('the camera changed its codec');
    }
    this.render();
    if (info.state === 'offline' && !wasOffline) this.stopPlayers();
  }

  /** The viewer's own connection went down or came back. */
  setViewerOnline(online: boolean): void {
    this.viewerOnline = online;
    this.resetBehind();
    this.render();
  }

  /** A new stream starts on this camera (the server's `stream` message). */
  startStream(m: Extract<ServerMessage, { type: 'stream' }>): void {
    delete this.el.dataset.playing;
    this.resetBehind();
    this.meter.reset();
    this.mode = m.format;
    this.el.dataset.format = m.format;
    this.render();
    this.video.hidden = m.format === 'chunks';
    this.chunkPlayer.canvas.hidden = m.format !== 'chunks';
    if (m.format === 'chunks') {
      this.player.teardown();
      // (How many frames of the camera's kept group came with the join: for tests and people debugging.)
      this.el.dataset.kept = String(m.kept ?? 0);
      this.chunkPlayer.start(m.video ?? null, m.audio ?? null, m.kept ?? 0, m.keyframesOnRequest ?? true);
      this.statsTimer ??= setInterval(() => this.showAudioStats(), 1000);
    } else {
      this.chunkPlayer.teardown();
      this.player.start(m.mime ?? '');
    }
  }

  /**
   * The server dropped `frames` video frames for this page (it did not take them as fast as they
   * came: its network, or a busy device); what
   * follows starts at a keyframe. Counted on the tile, so people see why the picture jumped.
   */
  skipped(frames: number): void {
    this.skippedFrames += frames;
    this.el.dataset.framesSkipped = String(this.skippedFrames);
    if (this.mode === 'chunks') this.chunkPlayer.skipped();
    // Said while it happens; the note goes once this page keeps up again (the menu keeps the count).
    // No cause is named: a slow network and a busy device look the same from here.
    this.showNote(`Skipped ${frames} frame${frames === 1 ? '' : 's'} to stay live`, SKIPPED_NOTE_MS);
    this.render();
  }

  /** A chunk stream's setup changed. */
  codec(video: VideoCodecConfig | undefined, audio: AudioCodecConfig | undefined): void {
    if (this.mode === 'chunks') this.chunkPlayer.codec(video, audio);
  }

  /** Stops playing until the next stream (the page is hidden). */
  suspend(): void {
    this.stopPlayers();
  }

  /** Stream bytes; `init` when they start with the init segment; `epoch`: capture time of media time 0 on this page's clock (0 = unknown). */
  append(bytes: Uint8Array, init: boolean, epoch: number): void {
    this.lastArrival = performance.now();
    if (this.mode === 'webm' || this.mode === 'mp4') this.player.append(bytes, init, epoch);
  }

  /** One encoded chunk; `captured`: its capture time on this page's clock (0 = unknown). */
  pushChunk(payload: Uint8Array, flags: number, captured: number): void {
    this.lastArrival = performance.now();
    if (this.mode === 'chunks') this.chunkPlayer.push(payload, flags, captured);
  }

  /** Offers the owner's actions (Rename…) in the menu, or not. */
  showOwnerActions(on: boolean): void {
    this.menuRename.hidden = !on;
  }

  /** Shows or hides the latency overlay. */
  showMeter(on: boolean): void {
    this.meter.show(on);
  }

  /** The server would not let this page watch the camera (a limit): says why, until the next stream. */
  refused(message: string): void {
    this.stopPlayers();
    this.showNote(message);
  }

  /** The answer to a pause/resume command. */
  commandResult(ok: boolean, error: string | undefined): void {
    this.toggle.disabled = false;
    if (!ok) this.showNote(`Command failed: ${error ?? 'unknown error'}`, 4000);
  }

  destroy(): void {
    this.showMenu(false);
    if (this.behindTimer) clearInterval(this.behindTimer);
    if (this.rejoinTimer) clearTimeout(this.rejoinTimer);
    if (this.noteTimer) clearTimeout(this.noteTimer);
    this.meter.show(false);
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.player.destroy();
    this.chunkPlayer.destroy();
    this.el.remove();
  }

  /** Shown as the large view (a close button) or in the grid. */
  setFocused(focused: boolean): void {
    this.focused = focused;
    this.el.classList.toggle('is-focused', focused);
    this.render();
  }

  /** Opens or closes the tile's menu; a press anywhere else, or Esc, closes it. */
  showMenu(open: boolean): void {
    if (open === !this.menu.hidden) return;
    this.menu.hidden = !open;
    this.more.setAttribute('aria-expanded', String(open));
    if (open) {
      document.addEventListener('pointerdown', this.outside, true);
      document.addEventListener('keydown', this.escape, true);
      this.menu.querySelector<HTMLElement>('[role="menuitem"]:not([hidden])')?.focus();
    } else {
      document.removeEventListener('pointerdown', this.outside, true);
      document.removeEventListener('keydown', this.escape, true);
      if (this.menu.contains(document.activeElement)) this.more.focus();
    }
  }

  private readonly outside = (e: Event): void => {
    // (A press on ⋯ itself is left to its click, which closes the menu.)
    if (this.menu.contains(e.target as Node) || this.more.contains(e.target as Node)) return;
    this.showMenu(false);
  };

  /** Esc closes the menu; ↑ ↓ Home End move between its items (as menus do for keyboard and screen-reader users). */
  private readonly escape = (e: KeyboardEvent): void => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      this.showMenu(false);
      return;
    }
    // (Only while the focus is in this menu: a key meant for something else is left alone.)
    const items = [...this.menu.querySelectorAll<HTMLElement>('[role="menuitem"]:not([hidden])')];
    const at = items.indexOf(document.activeElement as HTMLButtonElement);
    if (at < 0 || items.length === 0) return;
    const next = e.key === 'ArrowDown' ? (at + 1) % items.length : e.key === 'ArrowUp' ? (at - 1 + items.length) % items.length : e.key === 'Home' ? 0 : e.key === 'End' ? items.length - 1 : null;
    if (next === null) return;
    e.preventDefault();
    items[next]?.focus();
  };

  /** Turns its sound on or off, as its Sound button does (after a click on the page: browsers allow sound only then). */
  listen(on: boolean): void {
    if (on !== this.soundOn) this.sound.click();
  }

  /** Whether people listen to this camera (its Sound button is on). */
  get listening(): boolean {
    return this.soundOn;
  }

  /** The page asked the server for this camera's stream (the first time: what a first picture waited for). */
  subscribed(): void {
    this.el.dataset.subscribedMs ??= String(Math.round(performance.now()));
  }

  private onFirstFrame(): void {
    this.el.dataset.playing = '1';
    // When the first picture appeared, ms after navigation: for people debugging and for tests.
    this.el.dataset.firstFrameMs = String(Math.round(performance.now()));
    this.showNote('');
  }

  private stopPlayers(): void {
    this.player.teardown();
    this.chunkPlayer.teardown();
    delete this.el.dataset.playing;
    this.resetBehind();
  }

  /** A new stream, or none: how far behind the last one was no longer says anything. */
  private resetBehind(): void {
    this.lastCaptured = 0;
    this.behindMs = 0;
    delete this.el.dataset.behindMs;
  }

  /** The audio path's figures, on the tile for tests and people debugging. */
  private showAudioStats(): void {
    if (this.mode !== 'chunks') return;
    const a = this.chunkPlayer.audioStats;
    const d = this.el.dataset;
    d.audioDecoded = String(a.decoded);
    d.audioLevel = a.level.toFixed(4);
    d.audioBufferMs = String(Math.round(a.bufferedMs));
    d.audioUnderruns = String(a.underruns);
    d.audioAudible = a.audible ? '1' : '0';
    d.framesDrawn = String(this.chunkPlayer.framesDrawn);
    d.framesDropped = String(this.chunkPlayer.counts.dropped);
    d.framesReplaced = String(this.chunkPlayer.counts.replaced);
  }

  /** Whether the picture is behind the camera by more than BEHIND_MS, now (a frozen picture counts as behind too). */
  private checkBehind(): void {
    const playing = this.el.dataset.playing !== undefined && this.info.state === 'live' && this.lastCaptured > 0;
    // (Less the wait for the next frame of a slow camera: one at 1 fps is not "behind" between frames.)
    const frameGap = this.info.fps ? 1000 / this.info.fps : 0;
    const behind = playing ? Math.max(0, localNow() - this.lastCaptured - frameGap) : 0;
    const was = this.behindMs > BEHIND_MS;
    this.behindMs = behind;
    if (behind > BEHIND_MS) this.el.dataset.behindMs = String(Math.round(behind));
    else delete this.el.dataset.behindMs;
    if (was || behind > BEHIND_MS) this.render();
    // Far behind while the stream keeps coming: this page fell behind (a busy machine, a hidden
    // tab), and catching up by playing faster would take long. Re-join from the newest keyframe,
    // at most every REJOIN_BEHIND_SPACING_MS (a camera whose clock is off stays "behind" honestly).
    // Once per time behind: if the re-join did not help (the camera's own clock is late), the tile
    // says so and waits until it has been under BEHIND_MS again.
    const arriving = performance.now() - this.lastArrival < 1000;
    if (behind <= BEHIND_MS) this.rejoinedWhileBehind = false;
    else if (behind > REJOIN_BEHIND_MS && arriving && !this.rejoinedWhileBehind && Date.now() - this.lastBehindRejoin > REJOIN_BEHIND_SPACING_MS) {
      this.rejoinedWhileBehind = true;
      this.lastBehindRejoin = Date.now();
      this.rejoin(`${(behind / 1000).toFixed(1)} s behind the camera`);
    }
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
    const rec = this.el.querySelector<HTMLElement>('.tile-rec')!;
    const recording = this.info.recording;
    rec.hidden = recording === null;
    rec.classList.toggle('is-failed', recording?.state === 'failed');
    rec.textContent = recording?.state === 'failed' ? 'REC stopped' : 'REC';
    rec.title = recording?.state === 'failed' ? (recording.message ?? 'recording stopped') : 'This camera is being recorded';
    const id = encodeURIComponent(this.info.id);
    const snapshot = this.el.querySelector<HTMLAnchorElement>('.menu-snapshot')!;
    snapshot.href = `/api/cameras/${id}/snapshot.jpg`;
    snapshot.download = `${this.info.name} ${new Date().toISOString().slice(0, 19).replace('T', ' ').replaceAll(':', '-')}.jpg`;
    snapshot.hidden = this.info.state !== 'live' && this.info.state !== 'paused';
    this.el.querySelector<HTMLAnchorElement>('.menu-recordings')!.href = `/recordings?camera=${id}`;
    this.el.dataset.state = state;
    const behind = state === 'live' && this.behindMs > BEHIND_MS;
    this.badge.textContent = behind ? `behind ${Math.round(this.behindMs / 1000)} s` : (STATE_TEXT[state] ?? state);
    this.badge.classList.toggle('is-behind', behind);
    this.nameEl.textContent = this.info.name;
    this.el.title = this.info.name;
    this.el.setAttribute('aria-label', `${this.info.name}: ${STATE_TEXT[state] ?? state}`);
    const size = this.info.width && this.info.height ? `${this.info.width}×${this.info.height}` : '';
    // How this tile gets the camera: its WebCodecs chunks, or WebM (the camera's own, or its fallback).
    const video = this.info.videoCodec?.startsWith('avc1') ? 'H.264' : (this.info.videoCodec?.toUpperCase() ?? '');
    const how = this.info.state !== 'live' || this.mode === null ? '' : this.mode === 'chunks' ? `WebCodecs ${video}`.trim() : this.mode === 'mp4' ? 'MP4' : 'WebM';
    const fps = this.info.fps ? `${this.info.fps} fps` : '';
    const skipped = this.skippedFrames > 0 ? `${this.skippedFrames} frames skipped so far (slow network)` : '';
    this.details.textContent = [size, fps, how, skipped].filter(Boolean).join(' · ') || 'Not streaming';
    const canToggle = (this.info.state === 'live' || this.info.state === 'paused') && this.viewerOnline;
    const toggleText = this.info.state === 'paused' ? 'Resume' : 'Pause';
    this.toggle.textContent = toggleText;
    this.toggle.hidden = !canToggle;
    this.menuToggle.textContent = `${toggleText} the camera`;
    this.menuToggle.hidden = !canToggle;
    const hasAudio = this.info.audioCodec !== null && this.info.state === 'live';
    this.sound.hidden = !hasAudio;
    this.sound.textContent = this.soundOn ? 'Sound on' : 'Sound off';
    this.sound.setAttribute('aria-pressed', String(this.soundOn));
    this.menuSound.hidden = !hasAudio;
    this.menuSound.textContent = this.soundOn ? 'Turn sound off' : 'Turn sound on';
    this.el.querySelector<HTMLButtonElement>('.menu-focus')!.textContent = this.focused ? 'Back to all cameras' : 'Large view';
  }

  private noteTimer: ReturnType<typeof setTimeout> | null = null;
  private showNote(text: string, clearAfterMs = 0): void {
    this.note.textContent = text;
    this.note.hidden = text === '';
    if (this.noteTimer) clearTimeout(this.noteTimer);
    this.noteTimer = clearAfterMs > 0 ? setTimeout(() => this.showNote(''), clearAfterMs) : null;
  }
}
