// The access secret and what is derived from it; the failed-attempt limiter; the message budget.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AccessControl, AccessKeys, COOKIE_NAME, readCookie, rotateSecretFile } from '../../src/server/access.ts';
import { FailureLimiter, MessageBudget } from '../../src/server/rate-limit.ts';

const none = { key: null, token: null, cookieHeader: undefined };

describe('AccessKeys', () => {
  const keys = new AccessKeys('a-secret-for-tests');

  it('derives distinct, URL-safe link keys per role, and recognises only them', () => {
    const camera = keys.linkKey('camera');
    const viewer = keys.linkKey('viewer');
    assert.notEqual(camera, viewer);
    for (const k of [camera, viewer]) assert.match(k, /^[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(keys.rolesOfKey(camera), ['camera']);
    assert.deepEqual(keys.rolesOfKey(viewer), ['viewer']);
    for (const bad of ['', camera.slice(1), `${camera}x`, camera.toUpperCase(), 'a-secret-for-tests']) assert.equal(keys.rolesOfKey(bad), null, bad);
  });

  it('the secret itself is the full-access token', () => {
    assert.deepEqual(keys.rolesOfToken('a-secret-for-tests'), ['camera', 'viewer']);
    assert.equal(keys.rolesOfToken('a-secret-for-test'), null);
    assert.equal(keys.rolesOfToken(keys.linkKey('viewer')), null);
  });

  it('cookies carry their roles and cannot be altered or carried to another secret', () => {
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

  it('rotation (in process, or by the command writing the file) changes every credential and tells listeners', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wsw-access-'));
    try {
      const { access } = await AccessControl.load({ dataDir: dir, token: undefined, open: false });
      let rotations = 0;
      access.onRotate(() => rotations++);
      const oldKey = access.linkKey('viewer');
      await access.rotate();
      assert.notEqual(access.linkKey('viewer'), oldKey);
      assert.equal(access.authenticate({ ...none, address: '1.2.3.4', key: oldKey }).kind, 'refused');
      const beforeFile = access.linkKey('viewer');
      assert.equal(await access.reload(), false, 'nothing changed on disk');
      await rotateSecretFile(dir);
      assert.equal(await access.reload(), true);
      assert.notEqual(access.linkKey('viewer'), beforeFile);
      assert.equal(rotations, 2);
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

  it('a link sets a cookie with the union of roles; a wrong link is refused even with a good cookie', async () => {
    const { access } = await AccessControl.load({ dataDir: '/nonexistent', token: 'fixed-token-123', open: false });
    const viaCamera = access.authenticate({ ...none, address: 'a', key: access.linkKey('camera') });
    assert.equal(viaCamera.kind, 'ok');
    const cookie = viaCamera.kind === 'ok' ? viaCamera.setCookie!.split(';')[0]! : '';
    const both = access.authenticate({ ...none, address: 'a', key: access.linkKey('viewer'), cookieHeader: cookie });
    assert.ok(both.kind === 'ok' && both.roles.size === 2 && /=cv\./.test(both.setCookie ?? ''));
    const cookieOnly = access.authenticate({ ...none, address: 'a', cookieHeader: cookie });
    assert.ok(cookieOnly.kind === 'ok' && cookieOnly.setCookie === null, 'a cookie alone sets nothing');
    const wrongLink = access.authenticate({ ...none, address: 'a', key: 'nope', cookieHeader: cookie });
    assert.ok(wrongLink.kind === 'refused' && wrongLink.invalid === 'link');
    await assert.rejects(access.rotate(), /--token/);
  });

  it('locks an address out after too many failures, without checking anything meanwhile', async () => {
    const { access } = await AccessControl.load({ dataDir: '/nonexistent', token: 'fixed-token-123', open: false, rateLimit: { maxFailures: 2 } });
    for (let i = 0; i < 3; i++) assert.equal(access.authenticate({ ...none, address: '::ffff:10.0.0.9', key: `bad${i}` }).kind, 'refused');
    assert.equal(access.authenticate({ ...none, address: '10.0.0.9', token: 'fixed-token-123' }).kind, 'limited', 'IPv4-mapped and plain are one client');
    assert.equal(access.authenticate({ ...none, address: '10.0.0.10', token: 'fixed-token-123' }).kind, 'ok');
    assert.deepEqual(access.authenticate({ ...none, address: '10.0.0.9' }), { kind: 'refused', invalid: null, clearCookie: null }, 'no credential: plain 401');
    // The device's own cookie still works while its address is locked out (another site may have caused it).
    const cookie = access.authenticate({ ...none, address: '10.0.0.10', key: access.linkKey('viewer') });
    const cookieHeader = cookie.kind === 'ok' ? cookie.setCookie!.split(';')[0]! : '';
    assert.equal(access.authenticate({ ...none, address: '10.0.0.9', cookieHeader }).kind, 'ok');
    assert.equal(access.authenticate({ ...none, address: '10.0.0.9', cookieHeader, key: access.linkKey('camera') }).kind, 'limited', 'but a link is not checked');
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
