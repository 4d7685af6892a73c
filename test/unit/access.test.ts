// The access secret and what is derived from it; the failed-attempt limiter; the message budget.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AccessControl, AccessKeys, COOKIE_NAME, readCookie, rotateSecretFile } from '../../src/server/access.ts';
import { DeviceBook } from '../../src/server/devices.ts';
import { FailureLimiter, MessageBudget } from '../../src/server/rate-limit.ts';

const none = { key: null, token: null, cookieHeader: undefined };
const quiet = { warn: () => undefined, error: () => undefined };
/** A page opened with a link (which makes the browser a device). */
const page = { remember: true, userAgent: 'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36' };
const cookieOf = (r: ReturnType<AccessControl['authenticate']>): string => (r.kind === 'ok' && r.setCookie ? r.setCookie.split(';')[0]! : assert.fail(`no cookie set: ${JSON.stringify(r)}`));

describe('AccessKeys', () => {
  const keys = new AccessKeys('a-secret-for-tests');

  it('derives distinct, URL-safe link keys per role, and recognises only them', () => {
    const camera = keys.linkKey('camera');
    const viewer = keys.linkKey('viewer');
    const owner = keys.linkKey('owner');
    assert.equal(new Set([camera, viewer, owner]).size, 3);
    for (const k of [camera, viewer, owner]) assert.match(k, /^[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(keys.rolesOfKey(camera), ['camera']);
    assert.deepEqual(keys.rolesOfKey(viewer), ['viewer']);
    assert.deepEqual(keys.rolesOfKey(owner), ['camera', 'viewer', 'owner'], 'the owner may do everything');
    for (const bad of ['', camera.slice(1), `${camera}x`, camera.toUpperCase(), 'a-secret-for-tests']) assert.equal(keys.rolesOfKey(bad), null, bad);
  });

  it('the secret itself is the full-access token', () => {
    assert.deepEqual(keys.rolesOfToken('a-secret-for-tests'), ['camera', 'viewer', 'owner']);
    assert.equal(keys.rolesOfToken('a-secret-for-test'), null);
    assert.equal(keys.rolesOfToken(keys.linkKey('viewer')), null);
  });

  it("an older version's cookies carry their roles and cannot be altered or carried to another secret", () => {
    for (const roles of [['camera'], ['viewer'], ['camera', 'viewer']] as const) assert.deepEqual(keys.rolesOfCookie(keys.cookieValue(roles)), roles);
    const viewerCookie = keys.cookieValue(['viewer']);
    assert.equal(keys.rolesOfCookie(viewerCookie.replace(/^v\./, 'cv.')), null, 'a viewer cannot promote itself');
    assert.equal(new AccessKeys('another-secret').rolesOfCookie(viewerCookie), null);
    for (const bad of ['', '.', 'cv', 'x.abc', `cv.${'A'.repeat(32)}`]) assert.equal(keys.rolesOfCookie(bad), null, bad);
  });
});

describe('readCookie', () => {
  it('finds a cookie among others and ignores look-alikes', () => {
    assert.equal(readCookie(`a=1; ${COOKIE_NAME}=v.xyz; b=2`, COOKIE_NAME), 'v.xyz');
    assert.equal(readCookie(`x${COOKIE_NAME}=v.xyz`, COOKIE_NAME), null);
    assert.equal(readCookie(undefined, COOKIE_NAME), null);
    assert.equal(readCookie('garbage;;;==', COOKIE_NAME), null);
  });
});

describe('AccessControl', () => {
  it('creates the secret once, readable by the owner only, and keeps it across starts', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wsw-access-'));
    try {
      const first = await AccessControl.load({ dataDir: dir, token: undefined, open: false });
      assert.equal(first.created, true);
      assert.equal((await stat(path.join(dir, 'access.json'))).mode & 0o777, 0o600);
      const again = await AccessControl.load({ dataDir: dir, token: undefined, open: false });
      assert.equal(again.created, false);
      assert.equal(again.access.linkKey('camera'), first.access.linkKey('camera'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rotation (in process, or by the command writing the file) changes every link and tells listeners; devices stay unless the command says --revoke-devices', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wsw-access-'));
    try {
      const { access } = await AccessControl.load({ dataDir: dir, token: undefined, open: false });
      let rotations = 0;
      access.onRotate(() => rotations++);
      const oldKey = access.linkKey('viewer');
      const device = cookieOf(access.authenticate({ ...none, ...page, address: '1.2.3.4', key: oldKey }));
      const pairing = access.pairings.create('camera').code;
      await access.rotate();
      assert.notEqual(access.linkKey('viewer'), oldKey);
      assert.equal(access.authenticate({ ...none, address: '1.2.3.4', key: oldKey }).kind, 'refused');
      assert.equal(access.authenticate({ ...none, ...page, address: '1.2.3.4', pair: pairing }).kind, 'refused', 'waiting pairing links go too');
      assert.equal(access.authenticate({ ...none, address: '1.2.3.4', cookieHeader: device }).kind, 'ok', 'the device stays');
      const beforeFile = access.linkKey('viewer');
      assert.equal(await access.reload(), false, 'nothing changed on disk');
      await rotateSecretFile(dir);
      assert.equal(await access.reload(), true);
      assert.notEqual(access.linkKey('viewer'), beforeFile);
      assert.equal(rotations, 2);
      await access.devices.flush();
      const restarted = await AccessControl.load({ dataDir: dir, token: undefined, open: false });
      assert.equal(restarted.access.authenticate({ ...none, address: '1.2.3.4', cookieHeader: device }).kind, 'ok', 'devices are kept across a restart');
      assert.equal((await stat(path.join(dir, 'devices.json'))).mode & 0o777, 0o600);
      await rotateSecretFile(dir, true);
      assert.equal(await access.reload(), true);
      assert.equal(access.authenticate({ ...none, address: '1.2.3.4', cookieHeader: device }).kind, 'refused', '--revoke-devices');
      assert.equal(access.devices.size, 0);
      // A device that joined in the very millisecond the command ran goes too.
      cookieOf(access.authenticate({ ...none, ...page, address: '1.2.3.4', key: access.linkKey('viewer') }));
      const joined = access.devices.all()[0]!.created;
      assert.equal(access.devices.revokeJoinedBefore(joined), 1);
      assert.equal(access.devices.size, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a damaged secret file with a message saying what to do', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wsw-access-'));
    try {
      await writeFile(path.join(dir, 'access.json'), '{"secret": 12');
      await assert.rejects(AccessControl.load({ dataDir: dir, token: undefined, open: false }), /damaged; delete it/);
      assert.equal(await readFile(path.join(dir, 'access.json'), 'utf8'), '{"secret": 12', 'left as it was');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a page opened with a link makes a device with a cookie of its own; another link adds roles to it; a wrong link is refused', async () => {
    const devices = DeviceBook.inMemory(quiet);
    const { access } = await AccessControl.load({ dataDir: '/nonexistent', token: 'fixed-token-123', open: false, devices });
    const viaCamera = access.authenticate({ ...none, ...page, address: 'a', key: access.linkKey('camera') });
    assert.ok(viaCamera.kind === 'ok' && viaCamera.credential === 'device' && viaCamera.device !== null);
    const cookie = cookieOf(viaCamera);
    assert.match(cookie, /^__Host-webcam=d1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(devices.all().map((d) => [d.label, d.roles, d.via]), [['Chrome on Android', ['camera'], 'camera link']]);
    const both = access.authenticate({ ...none, ...page, address: 'a', key: access.linkKey('viewer'), cookieHeader: cookie });
    assert.ok(both.kind === 'ok' && both.roles.size === 2 && both.setCookie === null, 'the same device, with both roles, and its cookie as it was');
    assert.equal(devices.size, 1);
    assert.deepEqual(devices.all()[0]!.roles, ['camera', 'viewer']);
    const cookieOnly = access.authenticate({ ...none, address: 'a', cookieHeader: cookie });
    assert.ok(cookieOnly.kind === 'ok' && cookieOnly.setCookie === null && cookieOnly.roles.has('viewer'), 'a cookie alone sets nothing');
    const wrongLink = access.authenticate({ ...none, address: 'a', key: 'nope' });
    assert.ok(wrongLink.kind === 'refused' && wrongLink.invalid === 'link');
    const notAPage = access.authenticate({ ...none, address: 'b', key: access.linkKey('viewer') });
    assert.ok(notAPage.kind === 'ok' && notAPage.setCookie === null && notAPage.credential === 'link', 'a script or socket with a link makes no device');
    assert.equal(devices.size, 1);
    await assert.rejects(access.rotate(), /--token/);
  });

  it('a revoked device is refused (its cookie cleared, not counted as a guess); the others keep their access', async () => {
    const devices = DeviceBook.inMemory(quiet);
    const { access } = await AccessControl.load({ dataDir: '/nonexistent', token: 'fixed-token-123', open: false, devices, rateLimit: { maxFailures: 1 } });
    const one = access.authenticate({ ...none, ...page, address: 'a', key: access.linkKey('camera') });
    const two = access.authenticate({ ...none, ...page, address: 'a', key: access.linkKey('camera') });
    assert.ok(one.kind === 'ok' && two.kind === 'ok' && one.device !== two.device, 'two browsers, two devices');
    const revoked: string[] = [];
    devices.onRevoke((d) => revoked.push(d.id));
    assert.ok(devices.revoke(one.device!));
    assert.deepEqual(revoked, [one.device]);
    for (let i = 0; i < 3; i++) {
      const again = access.authenticate({ ...none, address: 'a', cookieHeader: cookieOf(one) });
      assert.ok(again.kind === 'refused' && again.invalid === 'cookie' && again.clearCookie !== null);
    }
    assert.equal(access.authenticate({ ...none, address: 'a', cookieHeader: cookieOf(two) }).kind, 'ok', 'not locked out by it, and the other device is in');
  });

  it("an older version's cookie still works, and becomes a device when a page loads", async () => {
    const devices = DeviceBook.inMemory(quiet);
    const { access } = await AccessControl.load({ dataDir: '/nonexistent', token: 'fixed-token-123', open: false, devices });
    const old = `${COOKIE_NAME}=${new AccessKeys('fixed-token-123').cookieValue(['camera'])}`;
    const socket = access.authenticate({ ...none, address: 'a', cookieHeader: old });
    assert.ok(socket.kind === 'ok' && socket.credential === 'older cookie' && socket.setCookie === null);
    const loaded = access.authenticate({ ...none, ...page, address: 'a', cookieHeader: old });
    assert.ok(loaded.kind === 'ok' && loaded.credential === 'device');
    assert.match(cookieOf(loaded), /=d1\./);
    assert.deepEqual(devices.all().map((d) => [d.roles, d.via]), [[['camera'], 'earlier cookie']]);
  });

  it('a pairing link adds one device, once, within its time', async () => {
    const devices = DeviceBook.inMemory(quiet);
    const { access } = await AccessControl.load({ dataDir: '/nonexistent', token: 'fixed-token-123', open: false, devices });
    const { code } = access.pairings.create('camera');
    const first = access.authenticate({ ...none, ...page, address: 'a', pair: code });
    assert.ok(first.kind === 'ok' && first.roles.has('camera') && !first.roles.has('viewer'));
    assert.deepEqual(devices.all().map((d) => d.via), ['pairing link']);
    const second = access.authenticate({ ...none, ...page, address: 'b', pair: code });
    assert.ok(second.kind === 'refused' && second.invalid === 'link', 'used up');
  });

  it('bounds the devices one address can add', async () => {
    const devices = DeviceBook.inMemory(quiet);
    const { access } = await AccessControl.load({ dataDir: '/nonexistent', token: 'fixed-token-123', open: false, devices });
    let refused: ReturnType<AccessControl['authenticate']> | null = null;
    for (let i = 0; i < 40 && !refused; i++) {
      const r = access.authenticate({ ...none, ...page, address: '10.1.1.1', key: access.linkKey('viewer') });
      if (r.kind !== 'ok') refused = r;
    }
    assert.deepEqual(refused, { kind: 'no-room', why: 'too-many-new' });
    assert.equal(devices.size, 30);
    assert.equal(access.authenticate({ ...none, ...page, address: '10.1.1.2', key: access.linkKey('viewer') }).kind, 'ok', 'another address is not held back');
    assert.equal(access.authenticate({ ...none, ...page, address: '10.1.1.1', key: access.linkKey('owner') }).kind, 'ok', "nor the owner's own devices");
  });

  it('locks an address out after too many failures: the token is not checked meanwhile, a right link or cookie still gets in', async () => {
    const { access } = await AccessControl.load({ dataDir: '/nonexistent', token: 'fixed-token-123', open: false, rateLimit: { maxFailures: 2 }, devices: DeviceBook.inMemory(quiet) });
    for (let i = 0; i < 3; i++) assert.equal(access.authenticate({ ...none, address: '::ffff:10.0.0.9', key: `bad${i}` }).kind, 'refused');
    assert.equal(access.authenticate({ ...none, address: '10.0.0.9', token: 'fixed-token-123' }).kind, 'limited', 'IPv4-mapped and plain are one client');
    assert.equal(access.authenticate({ ...none, address: '10.0.0.9', key: 'bad-again' }).kind, 'limited');
    assert.equal(access.authenticate({ ...none, address: '10.0.0.10', token: 'fixed-token-123' }).kind, 'ok');
    assert.deepEqual(access.authenticate({ ...none, address: '10.0.0.9' }), { kind: 'refused', invalid: null, clearCookie: null }, 'no credential: plain 401');
    // A right link (128 bits nobody guesses) gets in: whoever caused the lock-out (perhaps a page on
    // another site sending wrong links from this device's browser) cannot keep the device out.
    const link = access.authenticate({ ...none, ...page, address: '10.0.0.9', key: access.linkKey('viewer') });
    assert.equal(link.kind, 'ok');
    assert.equal(access.authenticate({ ...none, address: '10.0.0.9', cookieHeader: cookieOf(link) }).kind, 'ok');
  });

  it('a device that opens a link that no longer works is let in as itself, not counted', async () => {
    const { access } = await AccessControl.load({ dataDir: '/nonexistent', token: 'fixed-token-123', open: false, rateLimit: { maxFailures: 1 }, devices: DeviceBook.inMemory(quiet) });
    const device = cookieOf(access.authenticate({ ...none, ...page, address: 'a', key: access.linkKey('camera') }));
    for (let i = 0; i < 5; i++) {
      const r = access.authenticate({ ...none, ...page, address: 'a', key: 'the-old-key-AAAAAAAAAA', cookieHeader: device });
      assert.ok(r.kind === 'ok' && r.credential === 'device' && r.roles.has('camera'), JSON.stringify(r));
    }
    assert.equal(access.limiter.retryAfterMs('a'), 0, 'not locked out');
    // A wrong --token is always counted, device or not: it is the guessable secret.
    assert.equal(access.authenticate({ ...none, address: 'a', token: 'guess-0000000000', cookieHeader: device }).kind, 'refused');
    assert.equal(access.authenticate({ ...none, address: 'a', token: 'guess-0000000001', cookieHeader: device }).kind, 'refused');
    assert.ok(access.limiter.retryAfterMs('a') > 0, 'locked out after two wrong tokens (maxFailures 1)');
  });

  it('a pairing code is not used up when no device could be added; an older cookie still works then', async () => {
    const devices = DeviceBook.inMemory(quiet);
    const { access } = await AccessControl.load({ dataDir: '/nonexistent', token: 'fixed-token-123', open: false, devices });
    for (let i = 0; i < 30; i++) access.authenticate({ ...none, ...page, address: '10.2.2.2', key: access.linkKey('viewer') });
    const { code } = access.pairings.create('camera');
    assert.deepEqual(access.authenticate({ ...none, ...page, address: '10.2.2.2', pair: code }), { kind: 'no-room', why: 'too-many-new' });
    assert.equal(access.authenticate({ ...none, ...page, address: '10.2.2.3', pair: code }).kind, 'ok', 'the code still works, from elsewhere');
    const old = `${COOKIE_NAME}=${new AccessKeys('fixed-token-123').cookieValue(['viewer'])}`;
    const r = access.authenticate({ ...none, ...page, address: '10.2.2.2', cookieHeader: old });
    assert.ok(r.kind === 'ok' && r.credential === 'older cookie' && r.setCookie === null);
  });
});

describe('FailureLimiter', () => {
  it('allows maxFailures per window, then locks out for lockoutMs', () => {
    let now = 0;
    const l = new FailureLimiter({ maxFailures: 3, windowMs: 1000, lockoutMs: 5000, maxTracked: 100 }, () => now);
    for (let i = 0; i < 3; i++) assert.equal(l.fail('a'), false);
    assert.equal(l.retryAfterMs('a'), 0);
    assert.equal(l.fail('a'), true);
    assert.equal(l.retryAfterMs('a'), 5000);
    now = 4999;
    assert.equal(l.retryAfterMs('a'), 1);
    now = 5000;
    assert.equal(l.retryAfterMs('a'), 0);
    // Failures spread out over windows never lock.
    for (let i = 0; i < 20; i++) {
      now += 400;
      assert.equal(l.fail('b'), false);
    }
  });

  it('remembers a bounded number of addresses', () => {
    let now = 0;
    const l = new FailureLimiter({ maxFailures: 3, windowMs: 1000, lockoutMs: 5000, maxTracked: 50 }, () => now);
    for (let i = 0; i < 10_000; i++) {
      now++;
      l.fail(`10.0.${i >> 8}.${i & 255}`);
    }
    assert.ok(l.size <= 51, `${l.size} addresses remembered`);
  });

  it('does not lift a lock-out when many other addresses fail', () => {
    let now = 0;
    const l = new FailureLimiter({ maxFailures: 1, windowMs: 1000, lockoutMs: 60_000, maxTracked: 20 }, () => now);
    l.fail('guesser');
    l.fail('guesser');
    for (let i = 0; i < 1000; i++) {
      now++;
      l.fail(`other-${i}`);
    }
    assert.ok(l.retryAfterMs('guesser') > 0);
  });
});

describe('MessageBudget', () => {
  it('allows a burst, then the average rate, per address', () => {
    let now = 0;
    const b = new MessageBudget(10, 20, () => now);
    for (let i = 0; i < 20; i++) assert.equal(b.take('a'), true);
    assert.equal(b.take('a'), false);
    assert.equal(b.take('b'), true, 'another address has its own budget');
    now = 100;
    assert.equal(b.take('a'), true, 'one message per 100 ms comes back');
    assert.equal(b.take('a'), false);
    now = 100_000;
    b.prune();
    assert.equal(b.size, 0, 'refilled buckets are forgotten');
  });
});