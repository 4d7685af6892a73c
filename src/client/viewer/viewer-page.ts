// The viewer page: the cameras that are on, in a grid arranged for the window (layout.ts) that
// reflows as cameras come and go, the offline ones in a compact row under it, a large view on
// click, full screen, and `/?camera=<id or name>` for one camera filling the window with no chrome.
// Each camera is a <webcam-player> (webcam-player.ts); they share the page's one connection.
import { dropCredentialsFromAddress, fetchAccess } from '../common/access.ts';
import { post } from '../common/dom.ts';
import type { CameraInfo } from '../../shared/schemas.ts';
import type { CameraTile } from './camera-tile.ts';
import { ViewerConnection } from './connection.ts';
import { arrange, layoutChoice, LAYOUT_CHOICES, type LayoutChoice } from './layout.ts';
import { liveEdgeFromParams } from './live-edge.ts';
import { askNewName, askToForgetHere, tellOwner } from './owner-dialog.ts';
import { WebcamPlayer, findCamera, usePlayerConnection } from './webcam-player.ts';

dropCredentialsFromAddress();

const grid = document.getElementById('grid') as HTMLElement;
const empty = document.getElementById('empty') as HTMLElement;
const conn = document.getElementById('conn') as HTMLElement;
const main = document.getElementById('main') as HTMLElement;
const offline = document.getElementById('offline') as HTMLDetailsElement;
const offlineList = document.getElementById('offline-list') as HTMLUListElement;
const layoutSelect = document.getElementById('layout') as HTMLSelectElement;
const fullscreenButton = document.getElementById('fullscreen') as HTMLButtonElement;
const params = new URLSearchParams(location.search);
/** `?camera=` : the one camera to show (id or name), or null for the grid. */
const solo = params.get('camera');

/** The grid's players, by camera id (each holds its tile once its camera is listed). */
const players = new Map<string, WebcamPlayer>();
/** This page's device is the owner's (known once /api/access answers). */
let owner = false;
/** Cameras listened to when their tile went (offline): their sound is turned back on with them. */
const listening = new Set<string>();
let focused: string | null = null;

/** The tiles on the page now. */
function tiles(): CameraTile[] {
  return [...players.values()].flatMap((p) => (p.tile ? [p.tile] : []));
}

if (solo !== null) document.body.classList.add('solo');

// Player settings; links may override them for measuring (see docs/latency.md).
const liveEdge = liveEdgeFromParams(params);
for (const w of liveEdge.warnings) console.warn(w);
const connection = new ViewerConnection({
  player: { liveEdge: liveEdge.config, lowDelay: params.get('lowdelay') !== '0', batchAppends: params.get('batch') !== '0' },
  // `?decoder=mse`: always the WebM stream (for comparing, or a browser whose WebCodecs misbehaves).
  chunks: params.get('decoder') !== 'mse',
});
usePlayerConnection(connection);

// The latency overlay: a button and the L key toggle it; `?meter=1|0` sets it for this visit.
const METER_KEY = 'websocket-webcam.meter';
const meterButton = document.getElementById('meter') as HTMLButtonElement;
const meterParam = params.get('meter');
let meterOn = meterParam !== null ? meterParam === '1' : localStorage.getItem(METER_KEY) === '1';
function setMeter(on: boolean, save: boolean): void {
  meterOn = on;
  if (save) localStorage.setItem(METER_KEY, on ? '1' : '0');
  meterButton.setAttribute('aria-pressed', String(on));
  for (const t of tiles()) t.showMeter(on);
}
meterButton.addEventListener('click', () => setMeter(!meterOn, true));

connection.onState((state, detail) => {
  if (state === 'open') {
    setConn('live', 'connected');
    return;
  }
  setConn(state, state === 'reconnecting' ? 'reconnecting…' : state === 'closed' ? `disconnected: ${detail}` : 'connecting…');
  if (state === 'closed') {
    // For good (e.g. access withdrawn): no frozen pictures, just why.
    reconcile([]);
    empty.textContent = `Disconnected: ${detail}`;
  }
});
connection.onCameras((cameras) => reconcile(cameras));

function setConn(state: string, text: string): void {
  conn.dataset.state = state;
  conn.textContent = text;
}

/**
 * The cameras on the page: every one, or the one a wall link names, by its id or else by its name,
 * compared as the server compares names (which it keeps unique: "kitchen" finds "Kitchen" and no other).
 */
function onPage(cameras: CameraInfo[]): CameraInfo[] {
  if (solo === null) return cameras;
  const one = findCamera(cameras, solo);
  return one ? [one] : [];
}

/** Brings the tiles in line with the camera list: the cameras that are on get tiles, the others a place in the offline row. */
function reconcile(cameras: CameraInfo[]): void {
  // The owner's order (Settings), then by name.
  const byOrder = (a: CameraInfo, b: CameraInfo): number => (a.order ?? Infinity) - (b.order ?? Infinity) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
  const list = onPage(cameras).sort(byOrder);
  // A wall link keeps its one camera whatever its state; the grid shows only cameras that are on.
  const shown = solo === null ? list.filter((c) => c.state !== 'offline') : list;
  const seen = new Set(shown.map((c) => c.id));
  for (const [id, player] of players) {
    if (seen.has(id)) continue;
    if (focused === id) toggleFocus(id);
    // Its sound comes back on with it (a baby monitor must not go quiet after a Wi-Fi drop).
    if (player.tile?.listening) listening.add(id);
    else listening.delete(id);
    // (Its player stays subscribed to a camera still listed: see ViewerConnection.remove.)
    player.remove();
    players.delete(id);
    if (!list.some((c) => c.id === id)) listening.delete(id);
  }
  shown.forEach((info, i) => {
    let player = players.get(info.id);
    if (!player) {
      player = document.createElement('webcam-player') as WebcamPlayer;
      player.setAttribute('camera', info.id);
      players.set(info.id, player);
      grid.append(player);
      player.tile?.showMeter(meterOn);
      player.tile?.showOwnerActions(owner);
      if (listening.has(info.id)) player.tile?.listen(true);
    }
    // In the list's order (moved only when out of place).
    if (grid.children[i] !== player) grid.insertBefore(player, grid.children[i] ?? null);
  });
  showOffline(solo === null ? list.filter((c) => c.state === 'offline') : []);
  grid.dataset.count = String(players.size);
  empty.hidden = players.size > 0;
  const offlineCount = solo === null ? list.length - shown.length : 0;
  empty.textContent =
    solo !== null ? `Waiting for camera “${solo}”…`
    : offlineCount > 0 ? `No camera is on right now (${offlineCount} offline, below).`
    : 'No cameras yet. Open the camera page on a phone and press Start.';
  layout();
}

/** The offline row: each camera and since when, the most recently seen first; for the owner, a way to forget each. */
let offlineShown: CameraInfo[] = [];
function showOffline(cameras: CameraInfo[]): void {
  offlineShown = cameras;
  offline.hidden = cameras.length === 0;
  offline.querySelector('summary')!.textContent = `Offline · ${cameras.length}`;
  const items = [...cameras]
    .sort((a, b) => (b.offlineSince ?? 0) - (a.offlineSince ?? 0))
    .map((c) => {
      const li = document.createElement('li');
      const name = document.createElement('b');
      name.textContent = c.name;
      // (The name and since when shorten with "…"; the owner's ✕ stays whole.)
      const what = document.createElement('span');
      what.className = 'offline-what';
      what.append(name, c.offlineSince ? ` · since ${sinceText(c.offlineSince)}` : '');
      li.append(what);
      li.title = c.offlineSince ? `${c.name}: offline since ${new Date(c.offlineSince).toLocaleString()}` : c.name;
      if (owner) {
        const forget = document.createElement('button');
        forget.type = 'button';
        forget.className = 'offline-forget';
        forget.textContent = '✕';
        forget.title = `Forget ${c.name}…`;
        forget.setAttribute('aria-label', `Forget ${c.name}`);
        forget.addEventListener('click', () => void forgetCamera(c));
        li.append(forget);
      }
      return li;
    });
  offlineList.replaceChildren(...items);
}

/** "14:02" today, "3 Dec 14:02" before. */
function sinceText(ms: number): string {
  const at = new Date(ms);
  const time = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return at.toDateString() === new Date().toDateString() ? time : `${at.toLocaleDateString([], { day: 'numeric', month: 'short' })} ${time}`;
}

// ---- layout: the tiles as large as the window allows ----
const LAYOUT_KEY = 'websocket-webcam.layout';
const OFFLINE_OPEN_KEY = 'websocket-webcam.offlineOpen';
const GAP = 8;
/** Tiles narrower than this (very many cameras) become rows that scroll; on a narrow screen (a phone held upright), every tile is full-width. */
const MIN_TILE_WIDTH = 200;
const NARROW = 600;
let layoutMode: LayoutChoice = layoutChoice(params.get('layout') ?? localStorage.getItem(LAYOUT_KEY));
layoutSelect.value = layoutMode;
layoutSelect.addEventListener('change', () => setLayout(layoutChoice(layoutSelect.value)));
function setLayout(choice: LayoutChoice): void {
  layoutMode = choice;
  layoutSelect.value = choice;
  localStorage.setItem(LAYOUT_KEY, choice);
  layout();
}
offline.open = localStorage.getItem(OFFLINE_OPEN_KEY) !== '0';
offline.addEventListener('toggle', () => {
  localStorage.setItem(OFFLINE_OPEN_KEY, offline.open ? '1' : '0');
  layout();
});

/** Sizes the grid's cells for the space under the bar (less the offline row) and the cameras shown. */
function layout(): void {
  if (solo !== null) return;
  const style = getComputedStyle(main);
  const width = main.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const below = offline.hidden || focused ? 0 : offline.offsetHeight + GAP;
  const height = main.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom) - below;
  const n = focused ? 1 : players.size;
  // (A phone held upright always gets full-width tiles: the layout menu is not shown there.)
  const a = arrange(focused || width < NARROW ? 'auto' : layoutMode, n, { width, height }, aspectOf(tiles().filter((t) => !focused || t.id === focused)), GAP, width < NARROW ? width : MIN_TILE_WIDTH);
  grid.style.setProperty('--cols', String(Math.min(a.cols, Math.max(1, n))));
  grid.style.setProperty('--tile-w', `${a.width}px`);
  grid.style.setProperty('--tile-h', `${a.height}px`);
}

/** The shape most of these cameras have (16:9 until they say). */
function aspectOf(shown: CameraTile[]): number {
  const aspects = shown.map((t) => t.aspect).filter((x): x is number => x !== null).sort((x, y) => x - y);
  return aspects[Math.floor(aspects.length / 2)] ?? 16 / 9;
}

new ResizeObserver(() => layout()).observe(main);

// ---- full screen ----
if (document.fullscreenEnabled) fullscreenButton.hidden = false;
fullscreenButton.addEventListener('click', () => toggleFullscreen());
function toggleFullscreen(): void {
  if (!document.fullscreenEnabled) return;
  if (document.fullscreenElement) void document.exitFullscreen();
  else void document.documentElement.requestFullscreen().catch(() => undefined);
}
document.addEventListener('fullscreenchange', () => {
  fullscreenButton.textContent = document.fullscreenElement ? 'Exit full screen' : 'Full screen';
});

function toggleFocus(cameraId: string): void {
  if (solo !== null) return;
  focused = focused === cameraId ? null : cameraId;
  document.body.classList.toggle('focused', focused !== null);
  for (const t of tiles()) t.setFocused(t.id === focused);
  layout();
}

// ---- the owner's actions: rename from a tile's menu, forget from the offline row ----
grid.addEventListener('camera-rename', (e) => {
  const { cameraId, name } = (e as CustomEvent<{ cameraId: string; name: string }>).detail;
  void (async () => {
    const wanted = await askNewName(name);
    // (The camera list that follows renames the tile.)
    if (wanted) await post('/api/cameras/rename', { id: cameraId, name: wanted }).catch((err: Error) => tellOwner(`Could not rename “${name}”: ${err.message}`));
  })();
});
async function forgetCamera(c: CameraInfo): Promise<void> {
  const body = await askToForgetHere(c);
  if (!body) return;
  await post('/api/cameras/forget', body).catch((err: Error) => tellOwner(`Could not forget “${c.name}”: ${err.message}`));
  // (Its entry, and the button that had the focus, are gone: the focus goes to the row.)
  offline.querySelector('summary')?.focus();
}

// A click on a picture (or its menu's Large view) shows it large, or back to the grid.
grid.addEventListener('player-focus', (e) => toggleFocus((e as CustomEvent<{ cameraId: string }>).detail.cameraId));

document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && focused) toggleFocus(focused);
  if (e.repeat || e.ctrlKey || e.metaKey || e.altKey || (e.target as HTMLElement | null)?.closest('input, select, textarea')) return;
  const key = e.key.toLowerCase();
  if (key === 'l') setMeter(!meterOn, true);
  if (key === 'f') toggleFullscreen();
  if (key === 'g') setLayout(LAYOUT_CHOICES[(LAYOUT_CHOICES.indexOf(layoutMode) + 1) % LAYOUT_CHOICES.length]!);
});

setMeter(meterOn, false);
connection.start();

// A viewer link may not publish: hide the way to the camera page. The owner may rename and forget cameras here.
void fetchAccess()
  .then((access) => {
    if ('roles' in access && !access.roles.includes('camera')) document.querySelector<HTMLElement>('.bar-link')?.setAttribute('hidden', '');
    if ('roles' in access && access.roles.includes('owner')) {
      owner = true;
      for (const t of tiles()) t.showOwnerActions(true);
      showOffline(offlineShown);
    }
  })
  .catch(() => undefined);
