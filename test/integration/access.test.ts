// Access control on the real server: every HTTP route (read from the route table, so a new route
// cannot be forgotten) and the WebSocket endpoint × every kind of credential; rotation; the lock-out
// after failed attempts; --token and --no-auth.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AccessKeys, COOKIE_NAME, rotateSecretFile, type Role } from '../../src/server/access.ts';
import type { Route } from '../../src/server/routes.ts';
import { PROTOCOL_VERSION } from '../../src/shared/protocol.ts';
import http from 'node:http';
import { fetchRaw } from '../helpers/http.ts';
import { TEST_TOKEN, TestClient, cameraHello, startTestServer, type TestServer } from '../helpers/server.ts';

/** One way of presenting (or not) a credential, and the role it should grant. */
interface Credential {
  name: string;
  query?: string;
  cookie?: string;
  grants: Role | 'none';
}

const keyOf = (link: string): string => new URL(link).searchParams.get('key') ?? '';

/** The `name=value` of the session cookie a response sets. */
function cookieFrom(headers: Record<string, unknown>): string {
  const set = headers['set-cookie'];
  const line = (Array.isArray(set) ? set : []).map(String).find((c) => c.startsWith(`${COOKIE_NAME}=`));
  assert.ok(line, `a ${COOKIE_NAME} cookie is set (got ${JSON.stringify(set)})`);
  return line.split(';')[0]!;
}

/** Opens a link (path + ?key=) and returns the cookie it sets. */
async function cookieForLink(server: TestServer, path: string, key: string): Promise<string> {
  const r = await fetchRaw(`${server.url}${path}?key=${key}`);
  assert.equal(r.status, 200);
  return cookieFrom(r.headers);
}

/** What a credential should get from a route (a POST route is sent a JSON body it refuses: 400 once let in). */
function expectedStatus(route: Route, grants: Credential['grants'], cookieOnly = false): number {
  const ok = route.method === 'POST' ? 400 : 200;
  if (route.access === 'public') return ok;
  // A framed page (the embed page) goes by the key in its address alone, never by a cookie.
  if (grants === 'none' || (route.framed && cookieOnly)) return 401;
  if (route.access === 'member' || route.access === grants || grants === 'owner') return ok;
  return 403;
}

/** Asks a route as the pages would: GET, or a same-origin JSON POST (`null`, which no route takes). */
function ask(route: Route, url: string, headers: Record<string, string> = {}): ReturnType<typeof fetchRaw> {
  return route.method === 'POST'
    ? fetchRaw(url, { method: 'POST', body: 'null', headers: { ...headers, 'Content-Type': 'application/json', 'Sec-Fetch-Site': 'same-origin' } })
    : fetchRaw(url, { headers });
}

function withQuery(url: string, query: string | undefined): string {
  return query ? `${url}${url.includes('?') ? '&' : '?'}${query}` : url;
}

/** Opens a socket with a credential and says hello in a role: 'welcome', 'refused <status>' or 'closed <code>'. */
async function wsOutcome(server: TestServer, cred: Pick<Credential, 'query' | 'cookie'>, role: Role, extraHeaders: Record<string, string> = {}, localAddress?: string): Promise<string> {
  const headers: Record<string, string> = { ...extraHeaders, ...(cred.cookie ? { Cookie: cred.cookie } : {}) };
  const c = new TestClient(withQuery(server.wsBare, cred.query), headers, localAddress);
  try {
    await c.until(() => c.ws.readyState === c.ws.OPEN || c.closed, 'open or refusal');
    const early = c.closed as { code: number } | null;
    if (c.refused !== null) return `refused ${c.refused}`;
    if (early) return `closed ${early.code}`;
    c.send(role === 'camera' ? cameraHello('matrix-cam', 'Matrix') : { type: 'hello', protocol: PROTOCOL_VERSION, role });
    await c.until(() => c.messages.some((m) => m.type === 'welcome') || c.closed, 'welcome or close');
    return c.closed ? `closed ${c.closed.code}` : 'welcome';
  } finally {
    c.close();
  }
}

describe('access: every route and the WebSocket × every credential', () => {
  let server: TestServer;
  let creds: Credential[];

  before(async () => {
    // A secret kept in the data dir (not --token), so it can be rotated.
    server = await startTestServer({}, { token: null });
    const link = server.links[0]!;
    const oldSecret = (JSON.parse(await readFile(path.join(server.dataDir, 'access.json'), 'utf8')) as { secret: string }).secret;
    const olderVersion = new AccessKeys(oldSecret);
    const old = {
      cameraKey: keyOf(link.camera),
      viewerKey: keyOf(link.viewer),
      ownerKey: keyOf(link.owner),
      cameraCookie: await cookieForLink(server, '/camera', keyOf(link.camera)),
      viewerCookie: await cookieForLink(server, '/', keyOf(link.viewer)),
    };
    const revoked = await cookieForLink(server, '/', keyOf(link.viewer));
    server.access.devices.revoke(/d1\.([^.]+)\./.exec(revoked)![1]!);
    await server.rotateLinks();
    const now = server.links[0]!;
    assert.notEqual(keyOf(now.camera), old.cameraKey, 'rotation makes new keys');
    const cameraKey = keyOf(now.camera);
    const viewerKey = keyOf(now.viewer);
    const ownerKey = keyOf(now.owner);
    creds = [
      { name: 'no credential', grants: 'none' },
      { name: 'wrong link key', query: 'key=AAAAAAAAAAAAAAAAAAAAAA', grants: 'none' },
      { name: 'wrong token', query: 'token=not-the-secret', grants: 'none' },
      { name: 'forged cookie', cookie: `${COOKIE_NAME}=cv.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`, grants: 'none' },
      { name: 'forged device cookie', cookie: `${COOKIE_NAME}=d1.AAAAAAAAAAAAAAAA.${'A'.repeat(43)}`, grants: 'none' },
      { name: 'revoked device cookie', cookie: revoked, grants: 'none' },
      { name: 'camera link', query: `key=${cameraKey}`, grants: 'camera' },
      { name: 'camera cookie', cookie: await cookieForLink(server, '/camera', cameraKey), grants: 'camera' },
      { name: 'viewer link', query: `key=${viewerKey}`, grants: 'viewer' },
      { name: 'viewer cookie', cookie: await cookieForLink(server, '/', viewerKey), grants: 'viewer' },
      { name: 'owner link', query: `key=${ownerKey}`, grants: 'owner' },
      { name: 'owner cookie', cookie: await cookieForLink(server, '/', ownerKey), grants: 'owner' },
      { name: 'camera link after rotation', query: `key=${old.cameraKey}`, grants: 'none' },
      { name: 'viewer link after rotation', query: `key=${old.viewerKey}`, grants: 'none' },
      { name: 'owner link after rotation', query: `key=${old.ownerKey}`, grants: 'none' },
      // Devices keep their access when the links are renewed.
      { name: 'camera device after rotation', cookie: old.cameraCookie, grants: 'camera' },
      { name: 'viewer device after rotation', cookie: old.viewerCookie, grants: 'viewer' },
      // An older version's cookies (roles and a MAC of the secret) go with the secret.
      { name: 'older cookie of the secret before', cookie: `${COOKIE_NAME}=${olderVersion.cookieValue(['camera', 'viewer'])}`, grants: 'none' },
    ];
  });
  after(async () => server.stop());

  it('only the CA, the stylesheet, the icon, the manifest, the trust check and the code of the setup and embed pages are public', () => {
    const open = server.routes.https.filter((r) => r.access === 'public').map((r) => r.path);
    // (Code only, nothing secret: the embed page's requests in another site's frame carry no cookie.)
    const code = ['/assets/audio-playback-worklet.js', '/assets/audio-playback-worklet.js.map', '/assets/embed.js', '/assets/embed.js.map', '/assets/setup.js', '/assets/setup.js.map'];
    assert.deepEqual(open.sort(), [...code, '/assets/style.css', '/ca.crt', '/favicon.ico', '/manifest.webmanifest', '/trust-check']);
    assert.ok(server.routes.https.length >= 10, 'pages, bundles, source maps and APIs are all in the table');
  });

  it('every HTTPS route answers every credential with the right status', async (t) => {
    const wrong: string[] = [];
    let checked = 0;
    for (const route of server.routes.https) {
      for (const cred of creds) {
        const r = await ask(route, withQuery(`${server.url}${pathOf(route)}`, cred.query), cred.cookie ? { Cookie: cred.cookie } : {});
        const want = passed(route, expectedStatus(route, cred.grants, cred.query === undefined));
        checked++;
        if (r.status !== want) wrong.push(`${route.path} (${route.access}) with ${cred.name}: ${r.status}, expected ${want}`);
        else if (want === 401 && route.page && !/Invitation needed/.test(r.body)) wrong.push(`${route.path} with ${cred.name}: 401 without the explanation page`);
        if (r.headers['x-content-type-options'] !== 'nosniff') wrong.push(`${route.path}: no security headers on ${r.status}`);
      }
    }
    t.diagnostic(`${server.routes.https.length} routes × ${creds.length} credentials = ${checked} requests`);
    assert.deepEqual(wrong, []);
  });

  it('the WebSocket refuses the upgrade without a valid credential, and a hello in a role the credential does not grant', async (t) => {
    const wrong: string[] = [];
    for (const cred of creds) {
      for (const role of ['camera', 'viewer'] as const) {
        const got = await wsOutcome(server, cred, role);
        const want = cred.grants === 'none' ? 'refused 401' : cred.grants === role || cred.grants === 'owner' ? 'welcome' : 'closed 4403';
        if (got !== want) wrong.push(`${cred.name} as ${role}: ${got}, expected ${want}`);
      }
    }
    t.diagnostic(`${creds.length} credentials × 2 roles`);
    assert.deepEqual(wrong, []);
  });

  it('the WebSocket refuses pages of another origin, even with a valid cookie', async () => {
    const viewer = creds.find((c) => c.name === 'viewer cookie')!;
    assert.equal(await wsOutcome(server, viewer, 'viewer', { Origin: 'https://evil.example' }), 'refused 403');
    assert.equal(await wsOutcome(server, viewer, 'viewer', { Origin: `https://127.0.0.1:${server.httpsPort + 1}` }), 'refused 403');
    assert.equal(await wsOutcome(server, viewer, 'viewer', { Origin: 'null' }), 'refused 403');
    assert.equal(await wsOutcome(server, viewer, 'viewer', { Origin: `https://127.0.0.1:${server.httpsPort}` }), 'welcome');
  });

  it("opening a link makes the browser a device: a Secure, HttpOnly, SameSite=Strict host-only cookie of its own, which a second link adds roles to", async () => {
    const r = await fetchRaw(`${server.url}/camera?key=${keyOf(server.links[0]!.camera)}`);
    const set = (r.headers['set-cookie'] ?? []).join('\n');
    assert.match(set, new RegExp(`^${COOKIE_NAME}=d1\\.[A-Za-z0-9_-]{16}\\.[A-Za-z0-9_-]{43}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=\\d+$`));
    assert.doesNotMatch(set, /Domain=/i);
    // The same device then opens a viewer link: the same cookie now grants both.
    const cookie = cookieFrom(r.headers);
    const both = await fetchRaw(`${server.url}/?key=${keyOf(server.links[0]!.viewer)}`, { headers: { Cookie: cookie } });
    assert.equal(both.status, 200);
    assert.equal(both.headers['set-cookie'], undefined, 'no new cookie');
    for (const path of ['/', '/camera', '/api/cameras']) assert.equal((await fetchRaw(`${server.url}${path}`, { headers: { Cookie: cookie } })).status, 200, path);
    assert.deepEqual(JSON.parse((await fetchRaw(`${server.url}/api/access`, { headers: { Cookie: cookie } })).body), { roles: ['camera', 'viewer'] });
  });

  it("a revoked device's cookie, or an older version's after the links were renewed, is cleared, with a page saying why", async () => {
    for (const name of ['revoked device cookie', 'older cookie of the secret before']) {
      const stale = creds.find((c) => c.name === name)!;
      const r = await fetchRaw(`${server.url}/`, { headers: { Cookie: stale.cookie! } });
      assert.equal(r.status, 401, name);
      assert.match(r.body, /withdrawn by their owner/);
      assert.match(String(r.headers['set-cookie']), new RegExp(`^${COOKIE_NAME}=; .*Max-Age=0`));
    }
    assert.match((await fetchRaw(`${server.url}/?key=AAAAAAAAAAAAAAAAAAAAAA`)).body, /This link does not work/);
  });

  it('another site may link here, but not load resources or guess keys through them (fetch metadata)', async () => {
    const viewerCookie = creds.find((c) => c.name === 'viewer cookie')!.cookie!;
    const subresource = { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'no-cors', 'Sec-Fetch-Dest': 'image' };
    for (const path of ['/?key=guess', '/api/cameras', '/assets/viewer.js']) {
      const r = await fetchRaw(`${server.url}${path}`, { headers: { ...subresource, Cookie: viewerCookie }, localAddress: '127.0.0.9' });
      assert.equal(r.status, 403, path);
    }
    const framed = await fetchRaw(`${server.url}/`, { headers: { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'iframe', Cookie: viewerCookie } });
    assert.equal(framed.status, 403, 'not in another site\'s frame');
    const linked = await fetchRaw(`${server.url}/?key=${keyOf(server.links[0]!.viewer)}`, { headers: { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'document' } });
    assert.equal(linked.status, 200, 'a link from another site works');
    assert.equal((await fetchRaw(`${server.url}/`, { headers: { 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Mode': 'cors', Cookie: viewerCookie } })).status, 200);
    assert.equal(server.access.limiter.retryAfterMs('127.0.0.9'), 0, 'refused cross-site requests are not counted');
  });

  it('the setup page carries no key; an older setup link with the key in its query gets the camera link, checked', async () => {
    const base = `http://127.0.0.1:${server.httpPort}/`;
    const cameraKey = keyOf(server.links[0]!.camera);
    assert.equal(server.links[0]!.helper, `${base}#key=${cameraKey}`, 'new setup links keep the key in the fragment');
    const plain = await fetch(base);
    assert.equal(plain.status, 200);
    const plainPage = await plain.text();
    assert.ok(!plainPage.includes(cameraKey) && !plainPage.includes(keyOf(server.links[0]!.viewer)), 'no key in the page');
    assert.match(plainPage, /ca\.crt/);
    assert.match(plain.headers.get('content-security-policy') ?? '', /script-src 'self'; connect-src https:/);
    const script = await fetch(`${base}setup.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /javascript/);
    const older = await (await fetch(`${base}?key=${cameraKey}`)).text();
    assert.ok(older.includes(`href="https://127.0.0.1:${server.httpsPort}/camera?key=${cameraKey}"`), 'the camera link, with its key');
    const viewerKeyPage = await (await fetch(`${base}?key=${keyOf(server.links[0]!.viewer)}`)).text();
    assert.ok(!viewerKeyPage.includes(cameraKey), 'a viewer key does not reveal the camera link');
    const wrong = await fetch(`${base}?key=nope`);
    assert.equal(wrong.status, 401);
    assert.match(await wrong.text(), /does not work/);
    // The setup page asks the HTTPS origin whether this device trusts it (another origin: CORS).
    const check = await fetchRaw(`${server.url}/trust-check`, { headers: { Origin: base.slice(0, -1) } });
    assert.equal(check.status, 200);
    assert.equal(check.headers['access-control-allow-origin'], '*');
  });

  it('rotation closes connections made with a link (4401), not those of devices; `npm run rotate-links` reaches a running server, and with --revoke-devices the devices go too', async () => {
    const before = keyOf(server.links[0]!.viewer);
    const open = async (cred: Pick<Credential, 'query' | 'cookie'>): Promise<TestClient> => {
      const c = new TestClient(withQuery(server.wsBare, cred.query), cred.cookie ? { Cookie: cred.cookie } : {});
      await c.opened();
      c.send({ type: 'hello', protocol: PROTOCOL_VERSION, role: 'viewer' });
      await c.message('welcome');
      return c;
    };
    const device = await open({ cookie: creds.find((c) => c.name === 'viewer cookie')!.cookie! });
    const withLink = await open({ query: `key=${before}` });
    // What the rotate-links command does: a new secret in the data dir, picked up by the running server.
    await rotateSecretFile(server.dataDir);
    const closed = await withLink.closedWith(8000);
    assert.equal(closed.code, 4401);
    assert.match(closed.reason, /renewed/);
    assert.equal(device.closed, null, "a device's socket stays");
    assert.notEqual(keyOf(server.links[0]!.viewer), before);
    assert.equal((await fetchRaw(`${server.url}/?key=${before}`)).status, 401);
    assert.equal((await fetchRaw(server.links[0]!.viewer)).status, 200);
    await rotateSecretFile(server.dataDir, true);
    assert.equal((await device.closedWith(8000)).code, 4401, '--revoke-devices');
    assert.equal(server.access.devices.size, 0);
  });
});

describe('access: rotation revokes at once', () => {
  it('a revoked camera and viewer leave the hub without waiting for their peers to answer the close', async () => {
    const server = await startTestServer({}, { token: null });
    try {
      const camera = new TestClient(withQuery(server.wsBare, `key=${keyOf(server.links[0]!.camera)}`));
      await camera.opened();
      camera.send(cameraHello('rot-cam', 'R'));
      camera.send({ type: 'stream', mime: 'video/webm;codecs=vp8', width: null, height: null, fps: null, audio: false });
      const viewer = new TestClient(withQuery(server.wsBare, `key=${keyOf(server.links[0]!.viewer)}`));
      await viewer.opened();
      viewer.send({ type: 'hello', protocol: PROTOCOL_VERSION, role: 'viewer' });
      viewer.send({ type: 'subscribe', cameraId: 'rot-cam' });
      await camera.message('wanted', (m) => m.wanted);
      await server.rotateLinks();
      // Synchronously after the rotation, before any close frame went back and forth.
      assert.equal(server.hub.get('rot-cam')?.viewers.count, 0);
      assert.equal(server.hub.get('rot-cam')?.camera.state, 'offline');
      assert.equal((await camera.closedWith()).code, 4401);
      assert.equal((await viewer.closedWith()).code, 4401);
    } finally {
      await server.stop();
    }
  });
});

describe('access: failed attempts are rate-limited per address', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({}, { rateLimit: { maxFailures: 3, windowMs: 60_000, lockoutMs: 60_000 } });
  });
  after(async () => server.stop());

  it('locks out the guessing address, and only it', async () => {
    const guesser = '127.0.0.2';
    for (let i = 0; i < 4; i++) assert.equal((await fetchRaw(`${server.url}/?key=guess${i}`, { localAddress: guesser })).status, 401, `guess ${i}`);
    const locked = await fetchRaw(`${server.url}/?key=guess5`, { localAddress: guesser });
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers['retry-after']) > 50, 'Retry-After in seconds');
    assert.match(locked.body, /Too many attempts/);
    // While locked out nothing is checked, not even the right token, so guessing cannot go on.
    assert.equal((await fetchRaw(server.page('/'), { localAddress: guesser })).status, 429);
    assert.equal(await wsOutcome(server, { query: `token=${TEST_TOKEN}` }, 'viewer', {}, guesser), 'refused 429');
    // A right link (132 bits nobody guesses) still gets in: whoever caused the lock-out, perhaps a
    // page on another site sending wrong links from this device's browser, cannot keep it out.
    assert.equal((await fetchRaw(server.links[0]!.viewer, { localAddress: guesser })).status, 200);
    assert.equal((await fetchRaw(`${server.url}/?key=guess6`, { localAddress: guesser })).status, 429, 'a wrong one is still not checked');
    // Everyone else is unaffected.
    assert.equal((await fetchRaw(server.page('/'))).status, 200);
    assert.equal(await wsOutcome(server, { query: `token=${TEST_TOKEN}` }, 'viewer'), 'welcome');
  });
  it('never counts a cookie it did not issue as a wrong guess (security finding 6)', async () => {
    // Another HTTPS service on this host (or another instance on another port) can set a cookie of
    // the same name: cookies are not bound to a port.
    const device = '127.0.0.5';
    for (let i = 0; i < 8; i++) {
      const r = await fetchRaw(`${server.url}/`, { localAddress: device, headers: { Cookie: `__Host-webcam=cv.forged${i}` } });
      assert.equal(r.status, 401, `attempt ${i}`);
      assert.match(String(r.headers['set-cookie'] ?? ''), /__Host-webcam=;/, 'the foreign cookie is cleared');
    }
    assert.equal((await fetchRaw(server.page('/'), { localAddress: device })).status, 200, 'not locked out');
  });

  it('counts wrong keys on the plain-HTTP helper against the helper only (security finding 5)', async () => {
    // A page on any site can send a browser to http://server:port/?key=x with <img> tags, and plain
    // HTTP carries no Sec-Fetch-* to tell: that must not lock the device out of its cameras.
    const device = '127.0.0.4';
    const helper = (key: string) => `http://127.0.0.1:${server.httpPort}/?key=${key}`;
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await new Promise<number>((resolve, reject) => {
        http.get(helper(`x${i}`), { localAddress: device }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject);
      });
      statuses.push(r);
    }
    assert.deepEqual(statuses.slice(0, 4), [401, 401, 401, 401]);
    assert.equal(statuses.at(-1), 429, `the helper locks itself for this device: ${statuses.join(' ')}`);
    // The HTTPS side is not locked for it: a link works, a wrong key there is still a plain refusal.
    assert.equal((await fetchRaw(server.page('/'), { localAddress: device })).status, 200);
    assert.equal((await fetchRaw(`${server.url}/?key=guess`, { localAddress: device })).status, 401);
    assert.equal(await wsOutcome(server, { query: `token=${TEST_TOKEN}` }, 'viewer', {}, device), 'welcome');
  });
});

describe('access: sockets per address are limited', () => {
  it('refuses the upgrade past the limit, counts only sockets that opened, and frees a slot on close', async () => {
    const server = await startTestServer({ maxConnectionsPerAddress: 3 });
    try {
      // Broken handshakes (no Sec-WebSocket-Key) never count.
      for (let i = 0; i < 5; i++) {
        const r = await fetchRaw(server.wsUrl.replace('wss:', 'https:'), { headers: { Connection: 'Upgrade', Upgrade: 'websocket' } });
        assert.equal(r.status, 400);
      }
      const open: TestClient[] = [];
      for (let i = 0; i < 3; i++) {
        const c = new TestClient(server.wsUrl);
        await c.opened();
        open.push(c);
      }
      const extra = new TestClient(server.wsUrl);
      await extra.until(() => extra.closed, 'refusal');
      assert.equal(extra.refused, 429);
      assert.equal(await wsOutcome(server, { query: `token=${TEST_TOKEN}` }, 'viewer', {}, '127.0.0.3'), 'welcome', 'another address is not affected');
      open[0]!.close();
      await open[0]!.closedWith();
      await new Promise((r) => setTimeout(r, 50));
      const again = new TestClient(server.wsUrl);
      await again.opened();
      for (const c of [...open, again]) c.close();
    } finally {
      await server.stop();
    }
  });
});

describe('access: --token and --no-auth', () => {
  it("?token= gives the owner's access and makes the browser a device; links cannot be rotated in-process", async () => {
    const server = await startTestServer();
    try {
      const r = await fetchRaw(server.page('/camera?autostart=1&name=X'));
      assert.equal(r.status, 200);
      const cookie = cookieFrom(r.headers);
      assert.match(cookie, /=d1\./);
      for (const path of ['/', '/camera', '/api/cameras', '/api/access', '/api/settings']) assert.equal((await fetchRaw(`${server.url}${path}`, { headers: { Cookie: cookie } })).status, 200, path);
      assert.deepEqual(JSON.parse((await fetchRaw(`${server.url}/api/access`, { headers: { Cookie: cookie } })).body), { roles: ['camera', 'viewer', 'owner'] });
      await assert.rejects(server.rotateLinks(), /--token/);
    } finally {
      await server.stop();
    }
  });

  it('--no-auth (loopback only) lets everything in', async () => {
    const server = await startTestServer({}, { noAuth: true });
    try {
      for (const route of server.routes.https) assert.equal((await ask(route, `${server.url}${pathOf(route)}`)).status, passed(route, route.method === 'POST' ? 400 : 200), route.path);
      assert.equal(await wsOutcome(server, {}, 'camera'), 'welcome');
      assert.equal(await wsOutcome(server, {}, 'viewer'), 'welcome');
      assert.ok(!server.links[0]!.camera.includes('key='), 'links carry no key');
    } finally {
      await server.stop();
    }
  });
});

/** A route's path to ask: a camera's routes (`:id`) for a camera this server does not know. */
function pathOf(route: Route): string {
  return route.path.replace(':id', 'no-such-camera');
}

/** What a request let in gets: 200 (400 for an empty POST), but a camera's route 404, naming the camera it does not know. */
function passed(route: Route, status: number): number {
  return status === 200 && route.path.includes(':id') ? 404 : status;
}
