// The owner's Settings on the real server: only the owner gets them; changes come as JSON POSTs from
// this server's pages only; a pairing link adds one device once; a revoked device is refused at once
// while the others keep streaming; renewing the links leaves the devices in; cameras are renamed,
// forgotten and ordered.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { COOKIE_NAME } from '../../src/server/access.ts';
import { CLOSE_CODES, PROTOCOL_VERSION } from '../../src/shared/protocol.ts';
import type { SettingsView } from '../../src/shared/settings.ts';
import { fetchRaw, type RawResponse } from '../helpers/http.ts';
import { TestClient, cameraHello, loadChunkFixture, replayChunks, secretFor, startTestServer, type Received, type TestServer } from '../helpers/server.ts';

const keyOf = (link: string): string => new URL(link).searchParams.get('key') ?? '';

function cookieFrom(r: RawResponse): string {
  const line = (r.headers['set-cookie'] ?? []).find((c) => c.startsWith(`${COOKIE_NAME}=`));
  assert.ok(line, `a cookie is set (status ${r.status})`);
  return line.split(';')[0]!;
}

describe('settings: the owner manages links, devices and cameras', () => {
  let server: TestServer;
  let owner: string;
  let viewer: string;
  let cameraDevice: string;
  let cameraDevice2: string;
  let fixture: { stream: Parameters<typeof replayStream>[1]; frames: Received[] };

  /** A POST as the viewer page would send it. */
  const post = (path: string, body: unknown, cookie = owner, headers: Record<string, string> = {}): Promise<RawResponse> =>
    fetchRaw(`${server.url}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'Content-Type': 'application/json', 'Sec-Fetch-Site': 'same-origin', Cookie: cookie, ...headers } });
  const settings = async (cookie = owner): Promise<SettingsView> => {
    const r = await fetchRaw(`${server.url}/api/settings`, { headers: { Cookie: cookie } });
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body) as SettingsView;
  };
  /** A page opened with a link: the cookie of the device it makes. */
  const join = async (link: string, userAgent = 'Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile Safari/537.36'): Promise<string> => {
    const u = new URL(link);
    return cookieFrom(await fetchRaw(`${server.url}${u.pathname}${u.search}`, { headers: { 'User-Agent': userAgent } }));
  };
  /** A camera device's socket, streaming the fixture as `id`. */
  async function streamingCamera(cookie: string, id: string, name: string): Promise<{ client: TestClient; stop(): void }> {
    const client = new TestClient(server.wsBare, { Cookie: cookie });
    await client.opened();
    client.send(cameraHello(id, name));
    await client.message('welcome');
    return { client, stop: replayStream(client, fixture.stream, fixture.frames) };
  }

  before(async () => {
    server = await startTestServer({}, { token: null });
    fixture = await loadChunkFixture('chromium-webcodecs-h264-opus');
    owner = await join(server.links[0]!.owner, 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0');
    viewer = await join(server.links[0]!.viewer);
    cameraDevice = await join(server.links[0]!.camera);
    cameraDevice2 = await join(server.links[0]!.camera);
  });
  after(async () => server.stop());

  it('shows the owner the links with QR codes and the devices; nobody else', async () => {
    const view = await settings();
    assert.equal(view.links[0]!.owner, server.links[0]!.owner);
    assert.match(view.qr.camera, /^data:image\/svg\+xml;base64,/);
    assert.ok(view.qr.setup, 'the setup page has a QR code too');
    const you = view.devices.find((d) => d.you)!;
    assert.deepEqual([you.label, you.roles, you.via], ['Firefox on Linux', ['camera', 'viewer', 'owner'], 'owner link']);
    assert.deepEqual(view.devices.map((d) => d.via).sort(), ['camera link', 'camera link', 'owner link', 'viewer link']);
    for (const cookie of [viewer, cameraDevice]) assert.equal((await fetchRaw(`${server.url}/api/settings`, { headers: { Cookie: cookie } })).status, 403);
    assert.equal((await fetchRaw(`${server.url}/api/settings`)).status, 401);
    const access = JSON.parse((await fetchRaw(`${server.url}/api/access`, { headers: { Cookie: owner } })).body) as { roles: string[] };
    assert.ok(access.roles.includes('owner'), 'the page learns it may show owner actions');
  });

  it('takes changes only as JSON from its own pages, from the owner, within bounds', async () => {
    const good = { role: 'camera' };
    assert.equal((await post('/api/pairings', good, viewer)).status, 403, 'a viewer');
    assert.equal((await post('/api/pairings', good, cameraDevice)).status, 403, 'a camera');
    assert.equal((await post('/api/pairings', good, '')).status, 401, 'nobody');
    assert.equal((await post('/api/pairings', good, owner, { 'Sec-Fetch-Site': 'cross-site' })).status, 403, 'another site');
    assert.equal((await post('/api/pairings', good, owner, { 'Sec-Fetch-Site': 'same-site' })).status, 403, 'another port or subdomain');
    assert.equal((await post('/api/pairings', good, owner, { Origin: 'https://evil.example' })).status, 403, 'another origin');
    assert.equal((await post('/api/pairings', good, owner, { 'Content-Type': 'text/plain' })).status, 415, 'a form or a no-cors fetch');
    assert.equal((await post('/api/pairings', '{"role":', owner)).status, 400);
    assert.equal((await post('/api/pairings', { role: 'owner' }, owner)).status, 400, 'no pairing link for the owner');
    assert.equal((await post('/api/pairings', 'x'.repeat(20_000), owner)).status, 413);
    assert.equal((await fetchRaw(`${server.url}/api/pairings`, { headers: { Cookie: owner } })).status, 405);
    assert.equal((await post('/api/pairings', good)).status, 200);
  });

  it('a pairing link adds one device, once', async () => {
    const r = await post('/api/pairings', { role: 'camera' });
    const { link: setupLink, qr, expires } = JSON.parse(r.body) as { link: string; qr: string; expires: number };
    // Through the setup page (a new phone may not trust the certificate yet), the code in the fragment.
    const code = /^http:\/\/127\.0\.0\.1:\d+\/#pair=([A-Za-z0-9_-]{22})$/.exec(setupLink)?.[1];
    assert.ok(code, setupLink);
    const link = `${server.url}/camera?pair=${code}`;
    assert.match(qr, /^data:image\/svg\+xml/);
    assert.ok(expires > Date.now() + 14 * 60_000);
    const cookie = await join(link, 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1');
    assert.equal((await fetchRaw(`${server.url}/camera`, { headers: { Cookie: cookie } })).status, 200);
    const again = new URL(link);
    assert.equal((await fetchRaw(`${server.url}${again.pathname}${again.search}`)).status, 401, 'used up');
    const paired = (await settings()).devices.find((d) => d.via === 'pairing link')!;
    assert.deepEqual([paired.label, paired.roles], ['Safari on iPhone', ['camera']]);
  });

  it('a revoked device is refused at once while the others keep streaming', async () => {
    const other = await join(server.links[0]!.camera);
    const a = await streamingCamera(cameraDevice, 'revoke-a', 'Porch');
    const b = await streamingCamera(other, 'revoke-b', 'Garage');
    const watcher = new TestClient(server.wsBare, { Cookie: viewer });
    try {
      await watcher.opened();
      watcher.send({ type: 'hello', protocol: PROTOCOL_VERSION, role: 'viewer' });
      await watcher.message('welcome');
      watcher.send({ type: 'subscribe', cameraId: 'revoke-b', chunks: true });
      const view = await settings();
      const target = view.devices.find((d) => d.camera === 'Porch')!;
      assert.ok(target.online, 'shown as connected, streaming as Porch');
      const revokedAt = Date.now();
      assert.equal((await post('/api/devices/revoke', { id: target.id })).status, 200);
      const closed = await a.client.closedWith();
      assert.equal(closed.code, CLOSE_CODES.UNAUTHORIZED);
      assert.ok(Date.now() - revokedAt < 1000, `closed ${Date.now() - revokedAt} ms after the revoke`);
      const page = await fetchRaw(`${server.url}/camera`, { headers: { Cookie: cameraDevice } });
      assert.equal(page.status, 401);
      assert.match(page.body, /withdrawn by their owner/);
      const reconnect = new TestClient(server.wsBare, { Cookie: cameraDevice });
      await reconnect.until(() => reconnect.closed, 'refusal');
      assert.equal(reconnect.refused, 401);
      const before = watcher.frames.length;
      await watcher.until(() => watcher.frames.length > before + 15, 'frames of the other camera');
      assert.equal(b.client.closed, null, 'the other camera streams on');
      assert.equal((await post('/api/devices/revoke', { id: target.id })).status, 404, 'gone already');
    } finally {
      a.stop();
      b.stop();
      a.client.close();
      b.client.close();
      watcher.close();
    }
  });

  it('renaming, ordering and forgetting cameras', async () => {
    const one = await streamingCamera(owner, 'named-1', 'Kitchen');
    const two = await streamingCamera(owner, 'named-2', 'Hall');
    try {
      assert.equal((await post('/api/cameras/rename', { id: 'named-1', name: 'Hall' })).status, 409, 'a name another camera has');
      assert.equal((await post('/api/cameras/rename', { id: 'nope', name: 'X' })).status, 409);
      assert.equal((await post('/api/cameras/rename', { id: 'named-1', name: 'Front door' })).status, 200);
      const told = await one.client.message('name', (m) => m.name === 'Front door');
      assert.equal(told.setBy, 'owner', 'its page keeps the name');
      assert.equal(server.hub.get('named-1')!.camera.name, 'Front door');
      assert.equal((await post('/api/cameras/order', { ids: ['named-2', 'named-1'] })).status, 200);
      const order = Object.fromEntries(server.hub.list().map((c) => [c.id, c.order]));
      assert.deepEqual([order['named-2'], order['named-1']], [0, 1]);
      assert.equal((await post('/api/cameras/forget', { id: 'named-2' })).status, 409, 'not while it is on');
      two.stop();
      two.client.close();
      await two.client.closedWith();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((await post('/api/cameras/forget', { id: 'named-2' })).status, 200);
      assert.equal(server.hub.get('named-2'), undefined);
      // Its page comes back with the name it keeps asking for: the owner's name stands.
      one.stop();
      one.client.close();
      await one.client.closedWith();
      const back = new TestClient(server.wsBare, { Cookie: owner });
      await back.opened();
      back.send(cameraHello('named-1', 'Kitchen'));
      const welcome = await back.message('welcome');
      assert.deepEqual([welcome.name, welcome.setBy], ['Front door', 'owner']);
      back.close();
    } finally {
      one.stop();
      two.stop();
      one.client.close();
      two.client.close();
    }
  });

  it('a new device that says it is an offline camera takes its place once the owner says so', async () => {
    const earlier = await streamingCamera(owner, 'attic-old', 'Attic');
    await earlier.client.until(() => server.hub.get('attic-old')?.camera.hasStreamed, 'streamed');
    earlier.stop();
    earlier.client.close();
    await earlier.client.closedWith();
    await new Promise((r) => setTimeout(r, 100));
    // The same phone in a new browser profile: a new id and secret, the same name.
    const again = new TestClient(server.wsBare, { Cookie: cameraDevice2 });
    try {
      await again.opened();
      again.send(cameraHello('attic-new', 'Attic'));
      assert.equal((await again.message('welcome')).name, 'Attic 2');
      const asked = (await settings()).adoptions;
      assert.deepEqual(asked.map((a) => [a.id, a.name, a.on, a.earlierId, a.earlierName]), [['attic-new', 'Attic 2', true, 'attic-old', 'Attic']]);
      assert.equal((await post('/api/cameras/adopt', { id: 'attic-new' }, viewer)).status, 403, 'the owner decides');
      assert.equal((await post('/api/cameras/adopt', { id: 'attic-new' })).status, 200);
      assert.deepEqual(await again.message('adopted'), { type: 'adopted', cameraId: 'attic-old', name: 'Attic' });
      assert.equal((await again.closedWith()).code, CLOSE_CODES.ADOPTED);
      assert.equal(server.hub.get('attic-new'), undefined, 'the new camera is gone');
      assert.deepEqual((await settings()).adoptions, []);
      // Its page comes back as the earlier camera, with its own secret; the earlier secret no longer holds it.
      const back = new TestClient(server.wsBare, { Cookie: cameraDevice2 });
      await back.opened();
      back.send(cameraHello('attic-old', 'Attic', secretFor('attic-new')));
      assert.equal((await back.message('welcome')).name, 'Attic');
      back.close();
      await back.closedWith();
      const stale = new TestClient(server.wsBare, { Cookie: owner });
      await stale.opened();
      stale.send(cameraHello('attic-old', 'Attic'));
      assert.equal((await stale.closedWith()).code, CLOSE_CODES.CAMERA_TAKEN);
      // Keep both: the question goes, and both stay.
      const other = new TestClient(server.wsBare, { Cookie: cameraDevice2 });
      await other.opened();
      other.send(cameraHello('attic-third', 'attic'));
      await other.message('welcome');
      assert.deepEqual((await settings()).adoptions.map((a) => a.id), ['attic-third']);
      assert.equal((await post('/api/cameras/keep-both', { id: 'attic-third' })).status, 200);
      assert.deepEqual((await settings()).adoptions, []);
      other.close();
    } finally {
      again.close();
    }
  });

  it('renewing the links: new links, old ones refused, devices stay in', async () => {
    const before = server.links[0]!;
    const socketWithLink = new TestClient(`${server.wsBare}?key=${keyOf(before.viewer)}`);
    const socketOfDevice = new TestClient(server.wsBare, { Cookie: viewer });
    try {
      for (const c of [socketWithLink, socketOfDevice]) {
        await c.opened();
        c.send({ type: 'hello', protocol: PROTOCOL_VERSION, role: 'viewer' });
        await c.message('welcome');
      }
      const r = await post('/api/links/renew', {});
      assert.equal(r.status, 200);
      const { links } = JSON.parse(r.body) as { links: { viewer: string }[] };
      assert.notEqual(keyOf(links[0]!.viewer), keyOf(before.viewer));
      assert.equal((await socketWithLink.closedWith()).code, CLOSE_CODES.UNAUTHORIZED, 'what got in with the old link goes');
      assert.equal((await fetchRaw(`${server.url}/?key=${keyOf(before.viewer)}`)).status, 401);
      assert.equal((await fetchRaw(`${server.url}/`, { headers: { Cookie: viewer } })).status, 200, 'a device stays');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(socketOfDevice.closed, null, "and so do its sockets");
      assert.equal((await fetchRaw(`${server.url}/api/settings`, { headers: { Cookie: owner } })).status, 200);
    } finally {
      socketWithLink.close();
      socketOfDevice.close();
    }
  });
});

function replayStream(camera: TestClient, stream: Awaited<ReturnType<typeof loadChunkFixture>>['stream'], frames: Received[]): () => void {
  camera.send({ type: 'clock-offset', offset: 0, rtt: 1 });
  camera.send({ type: 'stream', format: 'chunks', width: stream.video?.width ?? null, height: stream.video?.height ?? null, fps: 30, audio: Boolean(stream.audio) });
  camera.send({ type: 'codec', video: stream.video, audio: stream.audio });
  return replayChunks(camera, frames);
}
