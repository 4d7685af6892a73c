// The registry of known cameras: kept in the data dir across restarts, written atomically, bounded,
// and a damaged file set aside rather than trusted or crashing the server.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CameraRegistry, FORGET_AFTER_MS, MAX_RECORDS } from '../../src/server/core/registry.ts';
import { Hub } from '../../src/server/hub.ts';

const quiet = { warned: [] as string[], warn(m: string) { this.warned.push(m); }, error() {} };

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wsw-registry-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('CameraRegistry', () => {
  it('keeps each camera’s name and when it was first and last seen, across a restart', () =>
    withDir(async (dir) => {
      const a = await CameraRegistry.load(dir, quiet);
      a.claim('kitchen', 'kitchen-device-secret', 'Kitchen', 1000);
      a.claim('hall', 'hall-device-secret', 'Hall', 2000);
      a.seen('kitchen', 'Kitchen window', 3000);
      a.seen('unclaimed', 'Nobody registered me', 3000);
      await a.flush();
      const b = await CameraRegistry.load(dir, quiet);
      assert.deepEqual(
        b.all().map(({ secret, ...rest }) => rest),
        [
          { id: 'kitchen', name: 'Kitchen window', firstSeen: 1000, lastSeen: 3000 },
          { id: 'hall', name: 'Hall', firstSeen: 2000, lastSeen: 2000 },
        ],
      );
      assert.deepEqual(await readdir(dir), ['cameras.json'], 'no temporary file left');
    }));

  it('sets a damaged file aside with a warning and starts empty; refuses hostile entries', () =>
    withDir(async (dir) => {
      for (const bad of ['{not json', JSON.stringify({ version: 1, cameras: [{ id: '../../etc', name: 'x', firstSeen: 0, lastSeen: 0 }] }), JSON.stringify({ version: 1, cameras: [{ id: 'a', name: 'evil\u001b[2J', firstSeen: 0, lastSeen: 0 }] })]) {
        await writeFile(path.join(dir, 'cameras.json'), bad);
        quiet.warned = [];
        const r = await CameraRegistry.load(dir, quiet);
        assert.deepEqual(r.all(), []);
        assert.match(quiet.warned[0] ?? '', /damaged: set aside/);
        assert.ok((await readdir(dir)).some((f) => f.startsWith('cameras.json.damaged-')));
        assert.ok(!(await readdir(dir)).includes('cameras.json'));
      }
    }));

  it('reads names an older version kept with characters it no longer takes (C1, bidi), cleaned of them', () =>
    withDir(async (dir) => {
      await writeFile(path.join(dir, 'cameras.json'), JSON.stringify({ version: 1, cameras: [{ id: 'a', name: 'Kitchen\u009b\u202e', firstSeen: 1, lastSeen: 2 }, { id: 'b', name: 'Hall', firstSeen: 1, lastSeen: 2 }] }));
      quiet.warned = [];
      const r = await CameraRegistry.load(dir, quiet);
      assert.deepEqual(r.all().map((c) => c.name).sort(), ['Hall', 'Kitchen']);
      assert.deepEqual(quiet.warned, []);
    }));

  it('holds an id for the device that registered it: its secret is kept hashed, checked on every claim, and survives a restart', () =>
    withDir(async (dir) => {
      const a = await CameraRegistry.load(dir, quiet);
      assert.equal(a.claim('kitchen', 'the-real-phone-secret', 'Kitchen'), 'ok');
      assert.equal(a.claim('kitchen', 'the-real-phone-secret', 'Kitchen'), 'ok', 'the same device comes back');
      assert.equal(a.claim('kitchen', 'an-impostor-s-secret', 'Kitchen'), 'taken');
      await a.flush();
      const text = await readFile(path.join(dir, 'cameras.json'), 'utf8');
      assert.ok(!text.includes('the-real-phone-secret'), 'the secret itself is not written down');
      const b = await CameraRegistry.load(dir, quiet);
      assert.equal(b.claim('kitchen', 'an-impostor-s-secret', 'Kitchen'), 'taken');
      assert.equal(b.claim('kitchen', 'the-real-phone-secret', 'Kitchen'), 'ok');
    }));

  it('lets the first device claim a camera an older version kept without a secret', () =>
    withDir(async (dir) => {
      await writeFile(path.join(dir, 'cameras.json'), JSON.stringify({ version: 1, cameras: [{ id: 'old', name: 'Old', firstSeen: 1, lastSeen: 2 }] }));
      const r = await CameraRegistry.load(dir, quiet);
      assert.equal(r.claim('old', 'first-device-secret', 'Old'), 'ok');
      assert.equal(r.claim('old', 'second-device-secret', 'Old'), 'taken');
    }));

  it('keeps at most MAX_RECORDS cameras: one unseen for FORGET_AFTER_MS makes room, else a new camera is refused', () =>
    withDir(async (dir) => {
      const r = await CameraRegistry.load(dir, quiet);
      const now = 10 * FORGET_AFTER_MS;
      for (let i = 0; i < MAX_RECORDS; i++) assert.equal(r.claim(`c${i}`, `secret-of-camera-${i}`, `C ${i}`, now - FORGET_AFTER_MS + i), 'ok');
      // Nobody can make the registry forget a camera seen lately (and then claim its id).
      assert.equal(r.claim('new', 'secret-of-the-new-one', 'New', now - 1), 'full');
      assert.equal(r.get('c0')?.name, 'C 0');
      assert.equal(r.claim('c0', 'secret-of-camera-0', 'C 0', now), 'ok', 'a known camera is never refused');
      r.seen('c0', 'C 0', now);
      // c1 is now the one unseen longest, FORGET_AFTER_MS ago: it makes room.
      assert.equal(r.claim('new', 'secret-of-the-new-one', 'New', now + 1), 'ok');
      assert.equal(r.get('c1'), undefined);
      assert.equal(r.all().length, MAX_RECORDS);
      await r.flush();
      assert.equal((JSON.parse(await readFile(path.join(dir, 'cameras.json'), 'utf8')) as { cameras: unknown[] }).cameras.length, MAX_RECORDS);
    }));

  it('lets the hub list the cameras seen lately as offline after a restart, and tells it whenever one is seen', () =>
    withDir(async (dir) => {
      const r = await CameraRegistry.load(dir, quiet);
      r.claim('recent', 'recent-device-secret', 'Recent', Date.now() - 60_000);
      r.claim('old', 'old-device-secret', 'Old', Date.now() - 60 * 60_000);
      const hub = new Hub(10 * 60_000, 100, 1000, r);
      assert.deepEqual(hub.list().map((c) => [c.id, c.name, c.state]), [['recent', 'Recent', 'offline']]);
      const link = { sendJson: () => undefined, close: () => undefined, request: () => undefined };
      const before = r.get('recent')!.lastSeen;
      hub.attachCamera('recent', 'Recent porch', 'recent-device-secret', link);
      assert.equal(r.get('recent')!.name, 'Recent porch');
      assert.ok(r.get('recent')!.lastSeen > before);
      hub.attachCamera('new', 'New', 'new-device-secret', link);
      assert.equal(r.get('new')?.name, 'New');
      hub.close();
    }));
});
