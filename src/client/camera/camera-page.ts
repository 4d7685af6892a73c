// The camera page: pick a lens and settings, capture, stream to the server, keep the screen awake,
// reconnect by itself, and obey pause/resume from viewers.
import { dropCredentialsFromAddress, fetchAccess } from '../common/access.ts';
import { ServerSocket, helloFor, type SocketState } from '../common/socket.ts';
import { CLOSE_CODES, FRAME_KIND_SNAPSHOT, encodeFrame } from '../../shared/protocol.ts';
import type { CameraMessage, ServerMessage } from '../../shared/schemas.ts';
import { RecorderStream, UnsupportedRecorderError, chooseMimeType, containerOf } from './recorder-stream.ts';
import { DEFAULT_CHUNK_KEYFRAME_INTERVAL_MS, WebCodecsStream, defaultBitrate, webCodecsAvailable } from './webcodecs-stream.ts';
import { WakeLock } from './wake-lock.ts';
import { defaultCameraName, readCameraOptions, type CameraOptions } from './options.ts';
import { startTestPattern, type TestPattern } from './test-pattern.ts';
import { localNow } from '../common/clock.ts';
import { takeSnapshot } from './snapshot.ts';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const ui = {
  conn: $<HTMLSpanElement>('conn'),
  preview: $<HTMLVideoElement>('preview'),
  previewEmpty: $<HTMLDivElement>('preview-empty'),
  stats: $<HTMLDetailsElement>('stats'),
  resume: $<HTMLButtonElement>('resume'),
  screenOffButton: $<HTMLButtonElement>('screen-off-button'),
  screenOff: $<HTMLDivElement>('screen-off'),
  statState: $<HTMLSpanElement>('stat-state'),
  statBitrate: $<HTMLSpanElement>('stat-bitrate'),
  statViewers: $<HTMLSpanElement>('stat-viewers'),
  rec: $<HTMLSpanElement>('rec'),
  statBacklog: $<HTMLSpanElement>('stat-backlog'),
  statTransport: $<HTMLSpanElement>('stat-transport'),
  form: $<HTMLFormElement>('settings'),
  name: $<HTMLInputElement>('name'),
  lens: $<HTMLSelectElement>('lens'),
  resolution: $<HTMLSelectElement>('resolution'),
  fps: $<HTMLSelectElement>('fps'),
  audio: $<HTMLInputElement>('audio'),
  start: $<HTMLButtonElement>('start'),
  stop: $<HTMLButtonElement>('stop'),
  message: $<HTMLParagraphElement>('message'),
};

const ID_KEY = 'websocket-webcam.cameraId';
const SECRET_KEY = 'websocket-webcam.cameraSecret';
const SETTINGS_KEY = 'websocket-webcam.camera';
const RESOLUTIONS: Record<string, [number, number]> = { '480': [640, 480], '720': [1280, 720], '1080': [1920, 1080] };
const STATS_MS = 500;

/**
 * The camera's stable id and its device's secret, kept in localStorage. The server holds the id for
 * the device that first presented it with its secret (so nobody else with the camera link can take
 * this camera's place).
 */
function identity(): { id: string; secret: string } {
  let id = localStorage.getItem(ID_KEY);
  let secret = localStorage.getItem(SECRET_KEY);
  if (!id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
    id = crypto.randomUUID();
    localStorage.setItem(ID_KEY, id);
  }
  if (!secret || !/^[A-Za-z0-9_-]{16,128}$/.test(secret)) {
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    secret = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    localStorage.setItem(SECRET_KEY, secret);
  }
  return { id, secret };
}

/** Another device holds this page's camera id: the next hello is a new camera. */
function newIdentity(): void {
  localStorage.removeItem(ID_KEY);
  localStorage.removeItem(SECRET_KEY);
}

function showMessage(text: string, kind: 'info' | 'error' = 'info'): void {
  ui.message.hidden = text === '';
  ui.message.textContent = text;
  ui.message.dataset.kind = kind;
}

/** The longest wait between two attempts to reach the server while the page is in view. */
const VISIBLE_RETRY_MS = 3000;

/** The page's one state, in plain words (the pill); `data-state` for styles and tests. */
function setConn(state: string, text: string): void {
  ui.conn.dataset.state = state;
  ui.conn.textContent = text;
  document.body.dataset.state = state;
  ui.resume.hidden = state !== 'paused';
  ui.screenOffButton.hidden = state !== 'live' && state !== 'paused';
  // Details are only true while streaming.
  if (state !== 'live' && state !== 'paused') ui.stats.hidden = true;
}

/**
 * "Screen off": a black screen over everything for a phone left on a shelf (less light, less power
 * on an OLED screen); the camera keeps streaming and the screen stays awake underneath (Wake Lock).
 * A tap, or any key, wakes it.
 */
function screenOff(on: boolean): void {
  ui.screenOff.hidden = !on;
  document.body.classList.toggle('screen-is-off', on);
  if (on) {
    ui.preview.pause();
    ui.screenOff.focus();
    // The hint fades after a few seconds: a truly black screen.
    ui.screenOff.dataset.hint = '1';
    setTimeout(() => delete ui.screenOff.dataset.hint, 4000);
  } else {
    void ui.preview.play().catch(() => undefined);
    ui.screenOffButton.focus();
  }
}

/** Capture + socket + recorder, from Start to Stop. */
class CameraSession {
  private media: MediaStream | null = null;
  private pattern: TestPattern | null = null;
  private socket: ServerSocket<CameraMessage> | null = null;
  /** The MediaRecorder stream, when the camera streams with MediaRecorder (never beside `chunks`). */
  private recorder: RecorderStream | null = null;
  private chunks: WebCodecsStream | null = null;
  /** WebCodecs failed in this session: MediaRecorder from now on. */
  private recorderOnly = false;
  /** Codecs found too slow for live use in this session. */
  private readonly slowCodecs = new Set<string>();
  private streamGeneration = 0;
  private readonly wakeLock = new WakeLock();
  private bytesThisSecond = 0;
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private paused = false;
  /** Says so while the server shows this camera under another name than the one asked for (another camera has it). */
  private nameNote = '';
  /** The earlier camera the owner just gave this device (its page reconnects as it). */
  private adoptedAs: string | null = null;
  /** Whether the server says anyone wants the media; null until it says. */
  private wanted: boolean | null = null;

  constructor(private options: CameraOptions) {}

  async start(): Promise<void> {
    if (!window.isSecureContext) {
      throw new Error('The camera needs a secure (HTTPS) page. Open the https:// camera link the server printed (see its setup page to trust it once).');
    }
    // Fail before asking for the camera: MediaRecorder is needed unless WebCodecs does it all.
    if (this.options.transport === 'mediarecorder' || !webCodecsAvailable()) chooseMimeType(this.options.audio);
    setConn('starting', 'Starting the camera…');
    this.media = await this.capture(this.options);
    ui.preview.srcObject = this.media;
    ui.previewEmpty.hidden = true;
    if (this.options.source !== 'test') await fillLenses(this.options.deviceId);
    void this.wakeLock.acquire();
    this.socket = new ServerSocket<CameraMessage>(() => helloFor('camera', identity(), this.options.name), {
      welcome: (m) => {
        this.named(m.name, m.setBy);
        void this.startStreams();
      },
      message: (m) => this.onMessage(m),
      state: (s, detail, code) => this.onSocketState(s, detail, code),
      // Capture times are stamped on this page's clock; the server turns them into its own with this.
      clock: (offset, rtt) => this.socket?.sendJson({ type: 'clock-offset', offset, rtt }),
    // Another tab or window of this browser opened this camera since (its storage holds the same
    // camera): that one streams, this one stops instead of taking it back, over and over.
    // A phone on a shelf, in view, is back at most 3 s after the server is (hidden: 10 s, for its battery).
    }, [CLOSE_CODES.REPLACED], () => (document.visibilityState === 'visible' ? VISIBLE_RETRY_MS : 10_000));
    this.socket.start();
    this.statsTimer = setInterval(() => this.showStats(), STATS_MS);
  }

  stop(): void {
    this.stopStreams();
    this.socket?.stop();
    this.socket = null;
    for (const t of this.media?.getTracks() ?? []) t.stop();
    this.media = null;
    this.pattern?.stop();
    this.pattern = null;
    ui.preview.srcObject = null;
    ui.previewEmpty.hidden = false;
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = null;
    void this.wakeLock.release();
    screenOff(false);
    setConn('idle', 'Stopped');
  }

  /** Starts this connection's stream: WebCodecs where it can, else MediaRecorder. */
  private async startStreams(): Promise<void> {
    this.stopStreams();
    const generation = ++this.streamGeneration;
    const media = this.media;
    const socket = this.socket;
    if (!media || !socket) return;
    // A codec found too slow is not tried again (when the link did not name one).
    const codec = this.options.codec !== 'auto' ? this.options.codec : this.slowCodecs.has('h264') ? 'vp8' : this.slowCodecs.has('vp8') ? 'h264' : 'auto';
    if (this.options.transport !== 'mediarecorder' && !this.recorderOnly && this.slowCodecs.size < 2) {
      const settings = media.getVideoTracks()[0]?.getSettings();
      const chunks = await WebCodecsStream.create(
        media,
        {
          sendBinary: (frame) => {
            if (!socket.open) return false;
            socket.sendBinary(frame);
            return true;
          },
          sendJson: (m) => socket.sendJson(m),
          get bufferedAmount() {
            return socket.bufferedAmount;
          },
        },
        {
          sent: (n) => (this.bytesThisSecond += n),
          note: (m) => showMessage(m),
          slow: (codec, ms) => {
            // Another codec, or MediaRecorder, on the same connection.
            this.slowCodecs.add(codec.startsWith('avc1') ? 'h264' : 'vp8');
            showMessage(`This browser's ${codec.startsWith('avc1') ? 'H.264' : codec} encoder holds frames for ${Math.round(ms)} ms: switching to a faster way.`);
            void this.startStreams();
          },
          failed: (m) => {
            // Nothing lost: the same connection goes on with MediaRecorder.
            this.recorderOnly = true;
            showMessage(`WebCodecs stopped (${m}); streaming with MediaRecorder instead.`, 'error');
            void this.startStreams();
          },
        },
        {
          codec,
          // A codec the link names is kept, however slow.
          judgeSpeed: this.options.codec === 'auto',
          videoBitsPerSecond: this.options.bitrateKbps !== null ? this.options.bitrateKbps * 1000 : defaultBitrate(settings?.width ?? 1280, settings?.height ?? 720),
          fps: this.options.fps,
          keyframeIntervalMs: this.options.keyframeIntervalMs ?? DEFAULT_CHUNK_KEYFRAME_INTERVAL_MS,
        },
      );
      if (generation !== this.streamGeneration || socket !== this.socket) {
        chunks?.stop();
        return;
      }
      if (chunks) {
        this.chunks = chunks;
        // Paused before the first frame is read, if a viewer paused this camera; idle if nobody watches.
        if (this.paused) chunks.pause();
        chunks.setIdle(this.wanted === false);
        await chunks.start();
        if (generation !== this.streamGeneration) return;
        if (this.paused) socket.sendJson({ type: 'state', state: 'paused' });
        this.showLive();
        return;
      }
      if (this.options.transport === 'webcodecs') showMessage('This browser cannot encode video with WebCodecs: streaming with MediaRecorder.');
    }
    this.startRecorder();
  }

  private stopStreams(): void {
    this.streamGeneration++;
    this.chunks?.stop();
    this.chunks = null;
    this.recorder?.stop();
    this.recorder = null;
  }

  /** Starts a MediaRecorder stream (WebM, or fragmented MP4 where the browser records only that). */
  private startRecorder(): void {
    this.recorder?.stop();
    const media = this.media;
    const socket = this.socket;
    if (!media || !socket) return;
    const settings = media.getVideoTracks()[0]?.getSettings();
    let recorder: RecorderStream;
    try {
      recorder = new RecorderStream(
        media,
        (frame) => {
          if (!socket.open) return false;
          socket.sendBinary(frame);
          return true;
        },
        () => socket.bufferedAmount,
        { sent: (n) => (this.bytesThisSecond += n), error: (m) => showMessage(m, 'error') },
        {
          codec: this.options.codec,
          ...(this.options.timesliceMs !== null ? { timesliceMs: this.options.timesliceMs } : {}),
          ...(this.options.keyframeIntervalMs !== null ? { keyframeIntervalMs: this.options.keyframeIntervalMs } : {}),
        },
      );
    } catch (err) {
      showMessage((err as Error).message, 'error');
      return;
    }
    socket.sendJson({
      type: 'stream',
      format: containerOf(recorder.mimeType),
      mime: recorder.mimeType,
      ...(recorder.audioMimeType ? { audioMime: recorder.audioMimeType } : {}),
      width: settings?.width ?? null,
      height: settings?.height ?? null,
      fps: settings?.frameRate ? Math.round(settings.frameRate) : null,
      audio: media.getAudioTracks().length > 0,
    });
    recorder.start();
    this.recorder = recorder;
    if (this.paused) {
      recorder.pause();
      socket.sendJson({ type: 'state', state: 'paused' });
    }
    this.showLive();
  }

  private showLive(): void {
    this.showState();
    this.showPill();
    ui.stats.hidden = false;
    showMessage(this.nameNote);
  }

  /** Live, Live — nobody watching, or Paused by a viewer. */
  private showPill(): void {
    setConn(this.paused ? 'paused' : 'live', this.paused ? 'Paused by a viewer' : this.wanted === false ? 'Live — nobody watching' : 'Live');
  }

  /** The person at the phone resumes a camera a viewer paused. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.recorder?.resume();
    this.chunks?.resume();
    this.socket?.sendJson({ type: 'state', state: 'live' });
    this.showLive();
  }

  /** The stream's state in the status line: paused, idle (nobody watches: nothing is encoded) or live. */
  private showState(): void {
    const idle = !this.paused && (this.chunks?.idling ?? false);
    ui.statState.textContent = this.paused ? 'paused' : idle ? 'idle' : 'live';
    ui.stats.dataset.idle = idle ? '1' : '0';
  }

  private onMessage(m: ServerMessage): void {
    if (m.type === 'wanted') {
      ui.statViewers.textContent = m.wanted ? 'watched' : 'nobody watching';
      this.wanted = m.wanted;
      // Nobody wants the media: the WebCodecs encoders rest (phone battery, Wi-Fi) until someone does.
      this.chunks?.setIdle(!m.wanted);
      this.showState();
      if (document.body.dataset.state === 'live') this.showPill();
    } else if (m.type === 'snapshot') {
      const socket = this.socket;
      void takeSnapshot(ui.preview, m.width).then((jpeg) => {
        if (jpeg) socket?.sendBinary(encodeFrame({ kind: FRAME_KIND_SNAPSHOT, flags: 0, channel: 0, seq: m.seq, time: localNow() }, jpeg));
      });
    } else if (m.type === 'recording') {
      ui.rec.hidden = !m.recording;
    } else if (m.type === 'keyframe') {
      this.chunks?.requestKeyframe();
    } else if (m.type === 'command') {
      this.paused = m.command === 'pause';
      if (this.paused) {
        this.recorder?.pause();
        this.chunks?.pause();
      } else {
        this.recorder?.resume();
        this.chunks?.resume();
      }
      this.socket?.sendJson({ type: 'ack', requestId: m.requestId, ok: true, state: this.paused ? 'paused' : 'live' });
      this.showLive();
    } else if (m.type === 'adopted') {
      // The owner said this device is that earlier camera: from now on its id (the secret stays this page's).
      localStorage.setItem(ID_KEY, m.cameraId);
      this.adoptedAs = m.name;
    } else if (m.type === 'name') {
      this.named(m.name, m.setBy);
    } else if (m.type === 'error') {
      if (m.code === 'CAMERA_TAKEN') newIdentity();
      showMessage(`Server: ${m.message}`, 'error');
    }
  }

  /**
   * The server says the name this camera has: another camera has the one asked for when they differ,
   * unless the owner named it (`setBy`), which this page then keeps as its own.
   */
  private named(name: string | undefined, setBy?: 'owner'): void {
    if (name === undefined) return;
    document.body.dataset.cameraName = name;
    if (setBy === 'owner' && name !== this.options.name) {
      this.options = { ...this.options, name };
      ui.name.value = name;
      saveSettings();
    }
    this.nameNote = name === this.options.name ? '' : `Another camera is called “${this.options.name}”: this one shows as “${name}”. Pick another name to change it.`;
    showMessage(this.nameNote);
  }

  private onSocketState(state: SocketState, detail: string, code?: number): void {
    if (state === 'open') return; // welcome follows
    this.stopStreams();
    if (state === 'reconnecting' && code === CLOSE_CODES.ADOPTED && this.adoptedAs !== null) {
      setConn('reconnecting', 'Reconnecting…');
      showMessage(`The owner made this device “${this.adoptedAs}” again: it comes back as that camera.`);
      this.adoptedAs = null;
      return;
    }
    if (state === 'reconnecting') setConn('reconnecting', 'Reconnecting…');
    else if (state === 'connecting') setConn('connecting', 'Connecting…');
    else if (state === 'closed' && code === CLOSE_CODES.REPLACED) {
      // (Only if this is still the page's session: a newer one of this page is not stopped for it.)
      if (session !== this) {
        this.stop();
        return;
      }
      stop();
      setConn('elsewhere', 'Streaming in another tab');
      showMessage('This camera is streaming from another tab or window of this browser. Press Start to stream from here instead.');
    } else if (state === 'closed' && detail !== 'stopped') {
      setConn('error', 'Disconnected');
      showMessage(`The server closed the connection: ${detail}`, 'error');
      // Reconnecting cannot help (e.g. the link was withdrawn): let go of the camera and show Start again.
      stop();
    }
    if (detail && state === 'reconnecting') showMessage(`Lost the server (${detail}).`);
  }

  /** The page came into view or went out of it: a waiting reconnect follows the new longest wait. */
  reschedule(): void {
    this.socket?.reschedule();
  }

  /** Renames the camera while it runs. */
  rename(name: string): void {
    this.options = { ...this.options, name };
    this.socket?.sendJson({ type: 'name', name });
  }

  /** Changes settings while running: new capture, same socket. */
  async restartCapture(options: CameraOptions): Promise<void> {
    this.options = options;
    const old = this.media;
    const oldPattern = this.pattern;
    this.media = await this.capture(options);
    ui.preview.srcObject = this.media;
    for (const t of old?.getTracks() ?? []) t.stop();
    if (oldPattern !== this.pattern) oldPattern?.stop();
    if (this.socket?.open) {
      this.socket.sendJson({ type: 'name', name: options.name });
      await this.startStreams();
    }
  }

  /** Bitrate and backlog, twice a second. */
  private showStats(): void {
    ui.statBitrate.textContent = `${Math.round((this.bytesThisSecond * 8) / 1000 / (STATS_MS / 1000))} kbit/s`;
    this.bytesThisSecond = 0;
    const buffered = this.socket?.bufferedAmount ?? 0;
    const backlog = (this.chunks ?? this.recorder)?.backlog(buffered) ?? { bytes: 0, ms: 0 };
    const transport = this.chunks ? `WebCodecs ${this.chunks.description}` : this.recorder ? `MediaRecorder ${recordedCodecs(this.recorder.mimeType, this.recorder.audioMimeType)}` : '';
    ui.statTransport.textContent = transport;
    ui.stats.dataset.transport = this.chunks ? 'webcodecs' : this.recorder ? 'mediarecorder' : '';
    // Encoding pipelines running: one at most, whatever the viewers (the server makes every form from it).
    ui.stats.dataset.encoders = String((this.chunks ? 1 : 0) + (this.recorder ? 1 : 0));
    // Frames the network could not take, dropped rather than queued (the main stream's).
    const skipped = this.chunks ? this.chunks.stats.skipped : (this.recorder?.dropped.frames ?? 0);
    ui.stats.dataset.skipped = String(skipped);
    // Media recorded but not yet on the network: it adds to every viewer's latency.
    ui.statBacklog.textContent = `backlog ${Math.round(backlog.ms)} ms${skipped > 0 ? ` · ${skipped} frames dropped` : ''}`;
    ui.statBacklog.title = `${Math.round(backlog.bytes / 1024)} KB recorded but not yet sent${skipped > 0 ? `; ${skipped} frames were dropped because the network could not take them` : ""}`;
    ui.statBacklog.dataset.level = backlog.ms > 500 ? 'high' : backlog.ms > 150 ? 'some' : 'low';
    ui.stats.dataset.backlogMs = String(Math.round(backlog.ms));
  }

  /** The camera, or the test pattern (painting the server's time once the clock is synced). */
  private async capture(o: CameraOptions): Promise<MediaStream> {
    if (o.source !== 'test') return capture(o);
    const [width, height] = RESOLUTIONS[String(o.resolution)] ?? [1280, 720];
    this.pattern = startTestPattern(width, height, o.fps, o.audio, () => this.socket?.clock.now() ?? localNow());
    return this.pattern.stream;
  }
}

async function capture(o: CameraOptions): Promise<MediaStream> {
  const [width, height] = RESOLUTIONS[String(o.resolution)] ?? [1280, 720];
  const video: MediaTrackConstraints = { width: { ideal: width }, height: { ideal: height }, frameRate: { ideal: o.fps } };
  if (o.deviceId) video.deviceId = { exact: o.deviceId };
  else video.facingMode = { ideal: 'environment' };
  try {
    return await navigator.mediaDevices.getUserMedia({ video, audio: o.audio ? { echoCancellation: false, noiseSuppression: false } : false });
  } catch (err) {
    const e = err as DOMException;
    if (e.name === 'NotAllowedError') throw new Error('Camera access was refused. Allow the camera for this site in the browser settings, then press Start again.');
    if (e.name === 'NotFoundError' || e.name === 'OverconstrainedError') throw new Error('No camera matches the chosen lens. Pick another lens.');
    if (e.name === 'NotReadableError') throw new Error('The camera is in use by another app. Close it and press Start again.');
    throw new Error(`Could not open the camera: ${e.message}`);
  }
}

async function fillLenses(selected: string): Promise<void> {
  const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput');
  ui.lens.replaceChildren(new Option('Default camera', ''));
  devices.forEach((d, i) => ui.lens.add(new Option(d.label || `Camera ${i + 1}`, d.deviceId, false, d.deviceId === selected)));
}

function formOptions(): CameraOptions {
  return {
    name: ui.name.value.trim() || 'Camera',
    deviceId: ui.lens.value,
    resolution: Number(ui.resolution.value),
    fps: Number(ui.fps.value),
    audio: ui.audio.checked,
    transport: linkOptions.transport,
    codec: linkOptions.codec,
    bitrateKbps: linkOptions.bitrateKbps,
    source: linkOptions.source,
    timesliceMs: linkOptions.timesliceMs,
    keyframeIntervalMs: linkOptions.keyframeIntervalMs,
  };
}

function fillForm(o: CameraOptions): void {
  ui.name.value = o.name;
  ui.resolution.value = String(o.resolution);
  ui.fps.value = String(o.fps);
  ui.audio.checked = o.audio;
  if (o.deviceId) ui.lens.add(new Option('Saved camera', o.deviceId, true, true));
}

let session: CameraSession | null = null;
/** What only the link sets (not the form): the transport, codec and bitrate, the source and the recorder's timing. */
type LinkOptions = Pick<CameraOptions, 'transport' | 'codec' | 'bitrateKbps' | 'source' | 'timesliceMs' | 'keyframeIntervalMs'>;
let linkOptions: LinkOptions = { transport: 'auto', codec: 'auto', bitrateKbps: null, source: 'camera', timesliceMs: null, keyframeIntervalMs: null };

/** The form's settings, saved for the next visit. */
function saveSettings(): CameraOptions {
  const options = formOptions();
  localStorage.setItem(SETTINGS_KEY, JSON.stringify(options));
  return options;
}

async function start(): Promise<void> {
  const options = saveSettings();
  ui.start.disabled = true;
  showMessage('');
  const s = new CameraSession(options);
  session = s;
  try {
    await s.start();
    ui.start.hidden = true;
    ui.stop.hidden = false;
  } catch (err) {
    s.stop();
    session = null;
    setConn('error', err instanceof UnsupportedRecorderError ? 'Unsupported browser' : 'Not started');
    showMessage((err as Error).message, 'error');
  } finally {
    ui.start.disabled = false;
  }
}

function stop(): void {
  session?.stop();
  session = null;
  ui.start.hidden = false;
  ui.stop.hidden = true;
}

function main(): void {
  dropCredentialsFromAddress();
  // A reload while the server is down shows this page again (from the service worker's copy), which
  // waits and comes back by itself. Browsers refuse it while the certificate is not trusted.
  if ('serviceWorker' in navigator) void navigator.serviceWorker.register('/service-worker.js').catch((err: unknown) => console.info(`no service worker: ${String(err)}`));
  void showOnlyWhatThisDeviceMayOpen();
  const { options, autostart, warnings, errors, named } = readCameraOptions(new URLSearchParams(location.search), localStorage.getItem(SETTINGS_KEY));
  if (!named) options.name = defaultCameraName(navigator.userAgent, null, navigator.maxTouchPoints);
  fillForm(options);
  // Chrome on Android tells the model when asked (a moment later): a better name, unless one was typed meanwhile.
  if (!named) {
    void modelName().then((model) => {
      if (model === null || session || ui.name.value !== options.name) return;
      ui.name.value = defaultCameraName(navigator.userAgent, model, navigator.maxTouchPoints);
    });
  }
  linkOptions = {
    transport: options.transport,
    codec: options.codec,
    bitrateKbps: options.bitrateKbps,
    source: options.source,
    timesliceMs: options.timesliceMs,
    keyframeIntervalMs: options.keyframeIntervalMs,
  };
  if (options.source === 'test') ui.lens.replaceChildren(new Option('Test pattern (time code)', ''));
  if (errors.length > 0) {
    setConn('error', 'Bad link');
    showMessage(errors.join(' '), 'error');
    return;
  }
  if (warnings.length > 0) showMessage(warnings.join(' '));
  ui.form.addEventListener('submit', (e) => {
    e.preventDefault();
    // (Enter in the name field while streaming submits too: a running camera is not started twice.)
    if (session) return;
    void start();
  });
  ui.stop.addEventListener('click', stop);
  // A phone picked up (its page in view again) tries the server within 3 s, not after a hidden page's 10 s.
  document.addEventListener('visibilitychange', () => session?.reschedule());
  ui.resume.addEventListener('click', () => session?.resume());
  ui.screenOffButton.addEventListener('click', () => screenOff(true));
  ui.screenOff.addEventListener('click', () => screenOff(false));
  ui.screenOff.addEventListener('keydown', () => screenOff(false));
  for (const el of [ui.lens, ui.resolution, ui.fps, ui.audio]) {
    el.addEventListener('change', () => {
      session?.restartCapture(saveSettings()).catch((err: unknown) => showMessage((err as Error).message, 'error'));
    });
  }
  ui.name.addEventListener('change', () => session?.rename(saveSettings().name));
  if (autostart) void start();
}

/** The device's model, where the browser tells it (User-Agent Client Hints), else null. */
async function modelName(): Promise<string | null> {
  const hints = (navigator as Navigator & { userAgentData?: { getHighEntropyValues(keys: string[]): Promise<{ model?: string }> } }).userAgentData;
  if (!hints) return null;
  try {
    const { model } = await hints.getHighEntropyValues(['model']);
    return model?.trim() || null;
  } catch {
    return null;
  }
}

/** A camera link may not watch: the brand is then not a link to the viewer. */
async function showOnlyWhatThisDeviceMayOpen(): Promise<void> {
  const access = await fetchAccess().catch(() => null);
  if (access && 'roles' in access && !access.roles.includes('viewer')) document.querySelector('.brand')?.removeAttribute('href');
}

main();

/** What a MediaRecorder stream records, for people: `H.264 + Opus` (a type's codecs, and the sound recorder's). */
function recordedCodecs(mimeType: string, audioMimeType: string | null): string {
  const names: Record<string, string> = { avc1: 'H.264', vp8: 'VP8', vp9: 'VP9', av01: 'AV1', opus: 'Opus', 'mp4a.40.2': 'AAC', mp4a: 'AAC' };
  const codecs = [mimeType, audioMimeType ?? '']
    .flatMap((t) => /codecs=([^;]+)/.exec(t)?.[1]?.split(',') ?? [])
    .map((c) => names[c.trim().toLowerCase().split('.')[0] === 'avc1' ? 'avc1' : c.trim().toLowerCase()] ?? c.trim());
  return codecs.length > 0 ? codecs.join(' + ') : (/\/(\w+)/.exec(mimeType)?.[1]?.toUpperCase() ?? mimeType);
}
