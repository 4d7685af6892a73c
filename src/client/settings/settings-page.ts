// The Settings place: for the owner, a pairing code to add a camera (or a viewer), the cameras (order,
// rename, forget), the devices that hold access (revoke), and the shared links with QR codes
// (renew). Everyone else is told whose place this is. It talks to /api/settings and its POSTs
// (src/server/settings/api.ts); nothing here is kept in the browser.
import { dropCredentialsFromAddress, fetchAccess } from '../common/access.ts';
import type { CameraInfo } from '../../shared/schemas.ts';
import { joinedWith, type SettingsView } from '../../shared/settings.ts';
import { h, post } from '../common/dom.ts';
import { askToForget } from '../common/camera-actions.ts';

dropCredentialsFromAddress();

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const status = $('status');

function say(text: string, kind: 'info' | 'error' = 'info'): void {
  status.textContent = text;
  status.dataset.kind = kind;
  status.hidden = text === '';
}

/** "just now", "5 min ago", "yesterday 14:02", a date. */
function ago(ms: number): string {
  const s = (Date.now() - ms) / 1000;
  if (s < 90) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  const d = new Date(ms);
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (s < 20 * 3600) return `today ${time}`;
  if (s < 44 * 3600) return `yesterday ${time}`;
  return d.toLocaleDateString();
}

let view: SettingsView | null = null;
let cameras: CameraInfo[] = [];
let addressIndex = 0;

async function load(): Promise<void> {
  const access = await fetchAccess().catch(() => null);
  if (!access || 'refused' in access) {
    say(access ? access.refused : 'The server cannot be reached.', 'error');
    return;
  }
  if (!access.roles.includes('owner')) {
    say('');
    $('not-owner').hidden = false;
    return;
  }
  await refresh();
  for (const id of ['add', 'cameras', 'devices', 'links']) $(id).hidden = false;
  say('');
  // Devices come and go, cameras come back: kept current while in view (not while a name is being edited).
  setInterval(() => {
    if (document.visibilityState === 'visible' && !document.querySelector('form.rename')) void refresh().catch(() => undefined);
  }, REFRESH_MS);
}

const REFRESH_MS = 10_000;

/** Reads the settings and the cameras again and draws them. */
async function refresh(): Promise<void> {
  const [settingsRes, camerasRes] = await Promise.all([fetch('/api/settings', { cache: 'no-store' }), fetch('/api/cameras', { cache: 'no-store' })]);
  if (!settingsRes.ok) throw new Error(`settings: HTTP ${settingsRes.status}`);
  view = (await settingsRes.json()) as SettingsView;
  cameras = ((await camerasRes.json()) as { cameras: CameraInfo[] }).cameras;
  drawAdoptions();
  drawCameras();
  drawDevices();
  drawLinks();
}

// ---- A camera came back? ----
/** New cameras that say they are an offline one: the same phone in a new browser profile can prove nothing, so the owner decides. */
function drawAdoptions(): void {
  if (!view) return;
  $('adoptions').hidden = view.adoptions.length === 0;
  $('adoption-list').replaceChildren(
    ...view.adoptions.map((a) => {
      const replace = h('button', { type: 'button', className: 'primary', textContent: `It is ${a.earlierName}: replace`, disabled: !a.on, title: a.on ? '' : 'Possible while the new camera is on: its page is told its new place' });
      replace.addEventListener('click', () => void act('Replacing', () => post('/api/cameras/adopt', { id: a.id })));
      const keep = h('button', { type: 'button', textContent: 'Keep both' });
      keep.addEventListener('click', () => void act('Keeping both', () => post('/api/cameras/keep-both', { id: a.id })));
      const since = a.earlierOfflineSince ? `, offline since ${ago(a.earlierOfflineSince)}` : '';
      const text = `A new device says it is “${a.earlierName}”${since}. It shows as “${a.name}” for now${a.on ? '' : ' (not on right now)'}. If it is the same phone (a new browser profile, or its data was cleared), it can take the old camera's place: its name, place in the grid and recordings.`;
      return h('li', { dataset: { id: a.id } }, h('span', { className: 'adoption-text', textContent: text }), h('span', { className: 'row-actions' }, replace, keep));
    }),
  );
}

/** Runs an owner's action: its message, then everything drawn again (or the server's words). */
async function act(what: string, run: () => Promise<unknown>): Promise<void> {
  say(`${what}…`);
  try {
    await run();
    await refresh();
    say('');
  } catch (err) {
    say(`${what} failed: ${(err as Error).message}`, 'error');
  }
}

// ---- Add a camera ----
async function showPairing(role: 'camera' | 'viewer'): Promise<void> {
  try {
    const { link, qr, expires } = await post<{ link: string; qr: string; expires: number }>('/api/pairings', { role });
    $<HTMLImageElement>('pairing-qr').src = qr;
    $('pairing-what').textContent = role === 'camera' ? 'A new camera:' : 'A new viewer:';
    const a = $<HTMLAnchorElement>('pairing-link');
    a.href = link;
    a.textContent = link;
    $('pairing-until').textContent = `works once, until ${new Date(expires).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
    $('pairing').hidden = false;
    say('');
  } catch (err) {
    say(`No pairing code: ${(err as Error).message}`, 'error');
  }
}
$('pair-camera').addEventListener('click', () => void showPairing('camera'));
$('pair-viewer').addEventListener('click', () => void showPairing('viewer'));

// ---- Cameras ----
function ordered(): CameraInfo[] {
  return [...cameras].sort((a, b) => (a.order ?? Infinity) - (b.order ?? Infinity) || a.name.localeCompare(b.name));
}

function drawCameras(): void {
  const list = ordered();
  const items = list.map((c, i) => {
    const on = c.state !== 'offline';
    const name = h('span', { className: 'camera-name', textContent: c.name, title: c.name });
    const state = h('span', { className: 'muted', textContent: on ? (c.state === 'paused' ? 'paused' : 'on') : c.offlineSince ? `offline since ${ago(c.offlineSince)}` : 'offline' });
    const move = (to: number): void => {
      const ids = list.map((x) => x.id);
      ids.splice(i, 1);
      ids.splice(to, 0, c.id);
      void act('Moving', () => post('/api/cameras/order', { ids }));
    };
    const up = h('button', { type: 'button', textContent: '↑', title: `Move ${c.name} up`, disabled: i === 0 });
    up.setAttribute('aria-label', `Move ${c.name} up`);
    up.addEventListener('click', () => move(i - 1));
    const down = h('button', { type: 'button', textContent: '↓', title: `Move ${c.name} down`, disabled: i === list.length - 1 });
    down.setAttribute('aria-label', `Move ${c.name} down`);
    down.addEventListener('click', () => move(i + 1));
    const rename = h('button', { type: 'button', textContent: 'Rename' });
    rename.setAttribute('aria-label', `Rename ${c.name}`);
    const forget = h('button', { type: 'button', textContent: 'Forget', disabled: on, title: on ? 'Only an offline camera can be forgotten' : `Forget ${c.name}` });
    forget.setAttribute('aria-label', `Forget ${c.name}`);
    forget.addEventListener('click', () => {
      const body = askToForget(c);
      if (body) void act('Forgetting', () => post('/api/cameras/forget', body));
    });
    const li = h('li', { dataset: { id: c.id, state: c.state } }, name, state, h('span', { className: 'row-actions' }, up, down, rename, forget));
    rename.addEventListener('click', () => editName(li, c));
    return li;
  });
  $('camera-list').replaceChildren(...(items.length ? items : [h('li', { className: 'muted', textContent: 'No camera yet: add one above.' })]));
}

/** Turns a camera's row into a name field with Save and Cancel. */
function editName(li: HTMLLIElement, c: CameraInfo): void {
  const input = h('input', { type: 'text', value: c.name, maxLength: 64, required: true });
  input.setAttribute('aria-label', `New name for ${c.name}`);
  const save = h('button', { type: 'submit', textContent: 'Save', className: 'primary' });
  const cancel = h('button', { type: 'button', textContent: 'Cancel' });
  const form = h('form', { className: 'rename' }, input, save, cancel);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const name = input.value.trim();
    if (name === '' || name === c.name) return drawCameras();
    void act('Renaming', () => post('/api/cameras/rename', { id: c.id, name }));
  });
  cancel.addEventListener('click', () => drawCameras());
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') drawCameras();
  });
  li.replaceChildren(form);
  input.select();
}

// ---- Devices ----
const ROLE_WORDS: Record<string, string> = { owner: 'owner', viewer: 'viewer', camera: 'camera' };

function drawDevices(): void {
  if (!view) return;
  const items = view.devices.map((d) => {
    const roles = d.roles.includes('owner') ? 'owner' : d.roles.map((r) => ROLE_WORDS[r] ?? r).join(' + ');
    const seen = d.online ? 'connected now' : `last seen ${ago(d.lastSeen)}`;
    const revoke = h('button', { type: 'button', textContent: 'Revoke', className: 'danger' });
    revoke.setAttribute('aria-label', `Revoke ${d.label}`);
    revoke.addEventListener('click', () => {
      const sure = d.you ? confirm('Revoke this device, the one you are using? You will need the owner link again.') : confirm(`Revoke “${d.label}”? Its connections close now; it needs a new link to come back.`);
      if (sure) void act('Revoking', () => post('/api/devices/revoke', { id: d.id }));
    });
    return h(
      'li',
      { dataset: { id: d.id, online: String(d.online) } },
      h('span', { className: 'device-name', textContent: d.label, title: d.label }, d.you ? h('span', { className: 'tag', textContent: 'this device' }) : null),
      h('span', { className: 'muted', textContent: `${roles} · ${seen} · joined ${ago(d.created)} ${joinedWith(d.via)} · ${d.address}` }),
      h('span', { className: 'row-actions' }, revoke),
    );
  });
  $('device-list').replaceChildren(...(items.length ? items : [h('li', { className: 'muted', textContent: 'No device has joined yet.' })]));
}

// ---- Links ----
function drawLinks(): void {
  if (!view) return;
  const select = $<HTMLSelectElement>('address');
  $('address-choice').hidden = view.links.length < 2;
  select.replaceChildren(...view.links.map((l, i) => h('option', { value: String(i), textContent: l.address, selected: i === addressIndex })));
  const links = view.links[addressIndex] ?? view.links[0];
  if (!links) {
    $('link-cards').replaceChildren(h('p', { className: 'muted', textContent: 'The server has no address others can reach.' }));
    return;
  }
  // QR codes come for the first address; for another one only the links.
  const qr = addressIndex === 0 ? view.qr : null;
  const card = (title: string, about: string, link: string | null, image: string | null | undefined): HTMLElement | null => {
    if (!link) return null;
    const copy = h('button', { type: 'button', textContent: 'Copy' });
    copy.setAttribute('aria-label', `Copy the ${title.toLowerCase()}`);
    copy.addEventListener('click', () => {
      void navigator.clipboard.writeText(link).then(
        () => (copy.textContent = 'Copied'),
        () => say('Copying was refused by the browser: select the link instead.', 'error'),
      );
      setTimeout(() => (copy.textContent = 'Copy'), 2000);
    });
    return h(
      'figure',
      { className: 'link-card' },
      image ? h('img', { src: image, alt: `QR code of the ${title.toLowerCase()}` }) : null,
      h('figcaption', {}, h('strong', { textContent: title }), h('span', { className: 'muted', textContent: about }), h('a', { className: 'link-text', href: link, textContent: link }), copy),
    );
  };
  $('link-cards').replaceChildren(
    ...[
      card('Setup page', 'For a new phone: the one-time certificate step, then its camera.', links.helper, qr?.setup),
      card('Camera link', 'Opens this page as a camera.', links.camera, qr?.camera),
      card('Viewer link', 'Watches every camera.', links.viewer, qr?.viewer),
    ].filter((c): c is HTMLElement => c !== null),
  );
  const renew = $<HTMLButtonElement>('renew');
  renew.disabled = !view.renewable;
  $('renew-note').textContent = view.renewable ? 'Every shared link stops working; devices that already joined stay in.' : 'The links are made from --token: change it to renew them.';
}
$<HTMLSelectElement>('address').addEventListener('change', (e) => {
  addressIndex = Number((e.target as HTMLSelectElement).value);
  drawLinks();
});
$('renew').addEventListener('click', () => {
  if (confirm('Renew the links? Every camera, viewer and owner link shared so far stops working (devices that already joined stay in). Keep the new owner link: the server prints it too.')) {
    void act('Renewing the links', () => post('/api/links/renew', {}));
  }
});

void load().catch((err: unknown) => say(`Settings could not be loaded: ${(err as Error).message}`, 'error'));
