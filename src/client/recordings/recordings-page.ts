// The Recordings place: per camera a timeline (a day down to a minute, gaps visible, thumbnails
// while hovering, a layer for event markers), playback from any point of it (the segment that holds
// that time, played from there; the next one follows), 1×-8×, frame by frame when paused, a range
// to download, and what is recorded and how much room it takes. The owner switches recording per
// camera here. It reads /api/recordings and /api/cameras/<id>/recordings (src/server/recordings/).
import { dropCredentialsFromAddress, fetchAccess } from '../common/access.ts';
import { h, post } from '../common/dom.ts';
import { label, pan, ticks, timeAt, xOf, zoom, type View } from './timeline.ts';

dropCredentialsFromAddress();

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const ui = {
  status: $('status'),
  camera: $<HTMLSelectElement>('camera'),
  player: $<HTMLVideoElement>('player'),
  playerEmpty: $('player-empty'),
  playerTime: $('player-time'),
  play: $<HTMLButtonElement>('play'),
  stepBack: $<HTMLButtonElement>('step-back'),
  stepFwd: $<HTMLButtonElement>('step-fwd'),
  speed: $<HTMLSelectElement>('speed'),
  live: $<HTMLAnchorElement>('live'),
  markStart: $<HTMLButtonElement>('mark-start'),
  markEnd: $<HTMLButtonElement>('mark-end'),
  download: $<HTMLAnchorElement>('download'),
  timeline: $('timeline'),
  spans: $('spans'),
  selection: $('selection'),
  head: $('head'),
  ticks: $('ticks'),
  hover: $('hover'),
  hoverImg: $<HTMLImageElement>('hover-img'),
  hoverTime: $('hover-time'),
  rangeLabel: $('range-label'),
  spaceText: $('space-text'),
  switches: $('switches'),
};

interface SegmentInfo {
  seq: number;
  start: number;
  end: number;
  format: 'mp4' | 'webm';
}
interface Listing {
  spans: { start: number; end: number }[];
  segments: SegmentInfo[];
  thumbnails: number[];
}
interface Overview {
  cameras: { id: string; name: string; record: boolean; sound: boolean; recording: { state: string; message?: string } | null; bytes: number; bytesPerDay: number | null }[];
  disk: { size: number; free: number; floor: number };
  used: number;
  daysFit: number | null;
  keepDays: number;
}

/** Assumed frame interval for stepping (the recordings are live cameras' frames, ~30 fps). */
const FRAME_S = 1 / 30;
let owner = false;
let cameraId = '';
let view: View = { from: Date.now() - 3600_000, to: Date.now() + 5 * 60_000 };
let listing: Listing = { spans: [], segments: [], thumbnails: [] };
/** The cameras as the overview last listed them. */
let overviewCameras: Overview['cameras'] = [];
/** The segment playing and where its time 0 is on the wall clock. */
let playing: SegmentInfo | null = null;
let marks: { start: number | null; end: number | null } = { start: null, end: null };
/** The segment's load in progress: its listeners go when it has started or another load begins. */
let loading: AbortController | null = null;

function say(text: string, kind: 'info' | 'error' = 'info'): void {
  ui.status.textContent = text;
  ui.status.dataset.kind = kind;
  ui.status.hidden = text === '';
}

const mb = (bytes: number): string => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${Math.round(bytes / 1e6)} MB`);

async function loadOverview(): Promise<void> {
  const res = await fetch('/api/recordings', { cache: 'no-store' });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const o = (await res.json()) as Overview;
  overviewCameras = o.cameras;
  const fit = o.daysFit === null ? '' : ` At today's rate about ${o.daysFit} day${o.daysFit === 1 ? '' : 's'} fit${o.keepDays > 0 ? ` (kept: ${o.keepDays} days)` : ''}.`;
  ui.spaceText.textContent = `Recordings take ${mb(o.used)}; ${mb(o.disk.free)} of ${mb(o.disk.size)} free (${mb(o.disk.floor)} always kept free).${fit}`;
  const selected = cameraId || new URL(location.href).searchParams.get('camera') || o.cameras[0]?.id || '';
  ui.camera.replaceChildren(...o.cameras.map((c) => h('option', { value: c.id, textContent: c.name, selected: c.id === selected })));
  ui.switches.replaceChildren(
    ...o.cameras.map((c) => {
      const state = c.recording?.state === 'failed' ? `not recording: ${c.recording.message ?? ''}` : c.recording ? 'recording now' : c.record ? 'recorded when it streams' : 'not recorded';
      const box = h('input', { type: 'checkbox', checked: c.record, disabled: !owner, title: owner ? 'Record this camera' : 'Only the owner switches recording' });
      const sound = h('input', { type: 'checkbox', checked: c.sound, disabled: !owner || !c.record, title: 'Record its sound too' });
      const change = (body: object) =>
        post('/api/cameras/record', { id: c.id, ...body }).then(
          // (An empty timeline says again why: recording may be on now.)
          () => loadOverview().then(() => listing.spans.length === 0 && cameraId === c.id && say(nothingRecorded())),
          (err: Error) => say(err.message, 'error'),
        );
      box.addEventListener('change', () => void change({ record: box.checked }));
      sound.addEventListener('change', () => void change({ sound: sound.checked }));
      return h(
        'li',
        { className: 'camera-row' },
        h('label', { className: 'switch' }, box, ` ${c.name}`),
        h('label', { className: 'switch' }, sound, ' sound'),
        h('span', { className: `camera-meta${c.recording?.state === 'failed' ? ' is-failed' : ''}` }, `${state} · ${mb(c.bytes)}${c.bytesPerDay ? ` · ${mb(c.bytesPerDay)} a day` : ''}`),
      );
    }),
  );
  if (cameraId !== ui.camera.value) {
    cameraId = ui.camera.value;
    await loadListing();
  }
}

async function loadListing(): Promise<void> {
  if (!cameraId) {
    say('No camera has been seen yet.');
    return;
  }
  const from = Math.floor(Date.now() - 7 * 24 * 3600_000);
  const res = await fetch(`/api/cameras/${encodeURIComponent(cameraId)}/recordings?from=${from}&to=${Date.now() + 60_000}`, { cache: 'no-store' });
  const body = (await res.json()) as Listing & { error?: string };
  if (!res.ok) return say(body.error ?? `HTTP ${res.status}`, 'error');
  listing = body;
  // Opened on a camera whose latest recording is not in view: show the hour that ends with it.
  const latest = listing.spans.at(-1);
  if (latest && latest.end < view.from) view = { from: latest.end - 3600_000, to: latest.end + 5 * 60_000 };
  ui.live.href = `/?camera=${encodeURIComponent(cameraId)}`;
  say(listing.spans.length === 0 ? nothingRecorded() : '');
  draw();
}

/** Why the timeline is empty, and what to do about it. */
function nothingRecorded(): string {
  const c = overviewCameras.find((x) => x.id === cameraId);
  if (c && !c.record) return `Nothing recorded: recording is off for “${c.name}”. ${owner ? 'Switch it on under “What is recorded” below.' : 'The owner can switch it on.'}`;
  return 'Nothing recorded for this camera in the last 7 days.';
}

/** Draws the spans, ticks, selection and playhead for the current view. */
function draw(): void {
  const width = ui.timeline.clientWidth;
  const span = view.to - view.from;
  // (The time the timeline shows, ms, for tools and tests.)
  ui.timeline.dataset.from = String(Math.round(view.from));
  ui.timeline.dataset.to = String(Math.round(view.to));
  ui.rangeLabel.textContent = `${new Date(view.from).toLocaleDateString()} ${label(view.from, span)} – ${label(view.to, span)}`;
  ui.spans.replaceChildren(
    ...listing.spans
      .filter((s) => s.end > view.from && s.start < view.to)
      .map((s) => {
        const x0 = Math.max(0, xOf(view, s.start, width));
        const x1 = Math.min(width, xOf(view, s.end, width));
        return placed(h('div', { className: 'timeline-span' }), x0, Math.max(1, x1 - x0));
      }),
  );
  ui.ticks.replaceChildren(...ticks(view, width).map((t) => placed(h('span', { className: 'tick', textContent: label(t, span) }), xOf(view, t, width))));
  const { start, end } = marks;
  ui.selection.hidden = start === null || end === null;
  if (start !== null && end !== null) placed(ui.selection, xOf(view, start, width), Math.max(2, xOf(view, end, width) - xOf(view, start, width)));
  drawHead();
}

/** Puts an element at `left` (and `width`) pixels, through the CSS object model (the pages' CSP allows no style attributes). */
function placed<E extends HTMLElement>(el: E, left: number, width?: number): E {
  el.style.left = `${left}px`;
  if (width !== undefined) el.style.width = `${width}px`;
  return el;
}

function now(): number | null {
  return playing ? playing.start + ui.player.currentTime * 1000 : null;
}

function drawHead(): void {
  const t = now();
  const x = t === null ? -1 : xOf(view, t, ui.timeline.clientWidth);
  ui.head.hidden = x < 0 || x > ui.timeline.clientWidth;
  if (t !== null) ui.head.style.left = `${x}px`;
  ui.playerTime.textContent = t === null ? '' : new Date(t).toLocaleString([], { dateStyle: 'medium', timeStyle: 'medium' });
  // (The wall time shown, in ms, for tools and tests.)
  ui.playerTime.dataset.time = t === null ? '' : String(Math.round(t));
  ui.play.textContent = ui.player.paused ? '▶' : '❚❚';
  ui.play.setAttribute('aria-label', ui.player.paused ? 'Play' : 'Pause');
}

/** Plays from wall time `t`: the segment holding it (or the next one after a gap), from there. */
function playAt(t: number): void {
  const segment = listing.segments.find((s) => s.start <= t && t < s.end) ?? listing.segments.find((s) => s.start > t);
  if (!segment) return say('Nothing was recorded after that time.');
  say('');
  const offset = Math.max(0, (t - segment.start) / 1000);
  ui.playerEmpty.hidden = true;
  if (playing?.seq !== segment.seq) {
    playing = segment;
    ui.player.src = `/api/cameras/${encodeURIComponent(cameraId)}/segment?seq=${segment.seq}`;
  }
  startAt(offset);
}

/**
 * Plays the segment loaded from `offset` s, once the player knows the file reaches that far: a
 * segment still being written has no duration in its header, and Firefox then takes what has
 * arrived for the whole file (a seek past it would stop there, or end the file and go on to the
 * next). Should the whole file have come and still end before `offset` (the listing counts bytes
 * on their way to the disk), it plays from as near as the file goes.
 */
function startAt(offset: number): void {
  loading?.abort();
  const load = new AbortController();
  loading = load;
  const p = ui.player;
  const start = (settle = false): void => {
    if (p.readyState === 0) return;
    // (NaN and Infinity are not less.)
    if (p.duration < offset && !(settle && p.networkState === HTMLMediaElement.NETWORK_IDLE)) {
      if (!p.paused) p.pause(); // (not on into 'ended' while it waits)
      return;
    }
    load.abort();
    p.currentTime = Math.min(offset, p.duration);
    p.playbackRate = Number(ui.speed.value);
    void p.play().catch(() => undefined);
  };
  start();
  p.addEventListener('loadedmetadata', () => start(), { signal: load.signal });
  p.addEventListener('durationchange', () => start(), { signal: load.signal });
  // The download stopped: all of the file that there is has come.
  p.addEventListener('suspend', () => start(true), { signal: load.signal });
}

ui.player.addEventListener('timeupdate', drawHead);
// (Some engines fire timeupdate seldom, WebKitGTK not at all here: the playhead moves on a timer too.)
setInterval(() => {
  if (!ui.player.paused) drawHead();
}, 250);
ui.player.addEventListener('play', drawHead);
ui.player.addEventListener('pause', drawHead);
ui.player.addEventListener('seeked', drawHead);
ui.player.addEventListener('ended', () => {
  // The next segment, if the recording goes on.
  const next = playing ? listing.segments.find((s) => s.seq > playing!.seq) : undefined;
  if (next) playAt(next.start);
});
ui.player.addEventListener('error', () => say('This part of the recording cannot be played (it may have been deleted to make room).', 'error'));
ui.play.addEventListener('click', () => {
  if (!playing) return;
  if (ui.player.paused) void ui.player.play();
  else ui.player.pause();
});
const step = (frames: number): void => {
  if (!playing) return;
  ui.player.pause();
  ui.player.currentTime = Math.max(0, ui.player.currentTime + frames * FRAME_S);
};
ui.stepBack.addEventListener('click', () => step(-1));
ui.stepFwd.addEventListener('click', () => step(1));
ui.speed.addEventListener('change', () => (ui.player.playbackRate = Number(ui.speed.value)));
ui.markStart.addEventListener('click', () => setMark('start'));
ui.markEnd.addEventListener('click', () => setMark('end'));

function setMark(which: 'start' | 'end'): void {
  const t = now();
  if (t === null) return say('Play the recording to the point you want first.');
  marks = { ...marks, [which]: Math.round(t) };
  if (marks.start !== null && marks.end !== null && marks.end <= marks.start) marks = which === 'start' ? { start: marks.start, end: null } : { start: null, end: marks.end };
  const { start, end } = marks;
  ui.download.hidden = start === null || end === null;
  if (start !== null && end !== null) {
    ui.download.href = `/api/cameras/${encodeURIComponent(cameraId)}/recording?start=${start}&end=${end}`;
    ui.download.textContent = `Download ${Math.round((end - start) / 1000)} s`;
  }
  draw();
}

// The timeline: click plays from there; hovering shows the nearest thumbnail; wheel zooms.
ui.timeline.addEventListener('click', (e) => {
  const t = timeAt(view, e.offsetX, ui.timeline.clientWidth);
  // (The time clicked, in ms, for tools and tests.)
  ui.timeline.dataset.clicked = String(Math.round(t));
  playAt(t);
});
ui.timeline.addEventListener('mousemove', (e) => {
  const t = timeAt(view, e.offsetX, ui.timeline.clientWidth);
  ui.hover.hidden = false;
  ui.hover.style.left = `${e.offsetX}px`;
  ui.hoverTime.textContent = label(t, 0);
  const near = listing.thumbnails.reduce<number | null>((best, x) => (best === null || Math.abs(x - t) < Math.abs(best - t) ? x : best), null);
  if (near !== null && Math.abs(near - t) < 5 * 60_000) {
    const src = `/api/cameras/${encodeURIComponent(cameraId)}/thumbnail?at=${near}`;
    if (!ui.hoverImg.src.endsWith(src)) ui.hoverImg.src = src;
    ui.hoverImg.hidden = false;
  } else {
    ui.hoverImg.hidden = true;
  }
});
ui.timeline.addEventListener('mouseleave', () => (ui.hover.hidden = true));
ui.timeline.addEventListener(
  'wheel',
  (e) => {
    e.preventDefault();
    view = zoom(view, (view.to - view.from) * (e.deltaY > 0 ? 1.5 : 1 / 1.5), timeAt(view, e.offsetX, ui.timeline.clientWidth));
    draw();
  },
  { passive: false },
);
ui.timeline.addEventListener('keydown', (e) => {
  const t = now() ?? view.to;
  if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
    e.preventDefault();
    playAt(t + (e.key === 'ArrowLeft' ? -10_000 : 10_000));
  }
});
document.addEventListener('keydown', (e) => {
  if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
  if (e.key === ',') step(-1);
  else if (e.key === '.') step(1);
});
document.querySelectorAll<HTMLButtonElement>('[data-zoom]').forEach((b) =>
  b.addEventListener('click', () => {
    view = zoom(view, Number(b.dataset.zoom), now() ?? Math.min(Date.now(), view.to));
    draw();
  }),
);
$('earlier').addEventListener('click', () => {
  view = pan(view, -0.5);
  draw();
});
$('later').addEventListener('click', () => {
  view = pan(view, 0.5);
  draw();
});
ui.camera.addEventListener('change', () => {
  cameraId = ui.camera.value;
  playing = null;
  loading?.abort();
  ui.player.removeAttribute('src');
  ui.player.load();
  ui.playerEmpty.hidden = false;
  marks = { start: null, end: null };
  ui.download.hidden = true;
  void loadListing();
});
window.addEventListener('resize', draw);

async function start(): Promise<void> {
  const access = await fetchAccess().catch(() => null);
  if (!access || 'refused' in access) return say(access ? access.refused : 'The server cannot be reached.', 'error');
  owner = access.roles.includes('owner');
  try {
    await loadOverview();
  } catch (err) {
    say(`The recordings cannot be read: ${(err as Error).message}`, 'error');
  }
  // The list grows while cameras record.
  setInterval(() => void loadListing().then(() => loadOverview()), 15_000);
}

void start();
