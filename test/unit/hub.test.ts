// The hub's limits: how many cameras it keeps, and what it forgets.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Hub, type CameraLink } from '../../src/server/hub.ts';
import { CameraRegistry } from '../../src/server/core/registry.ts';
import type { ServerMessage } from '../../src/shared/schemas.ts';
import { ProtocolError } from '../../src/shared/protocol.ts';

const secretOf = (id: string): string => `device-secret-of-${id}`;
const link = (): CameraLink => ({ sendJson: () => undefined, close: () => undefined, request: () => undefined });

describe('Hub', () => {
  it('forgets a camera that never streamed as soon as it leaves', () => {
    const hub = new Hub();
    try {
      const l = link();
      const ch = hub.attachCamera('never', 'N', secretOf('never'), l);
      hub.detachCamera(ch, l);
      assert.equal(hub.get('never'), undefined);
      const l2 = link();
      const streamed = hub.attachCamera('streamed', 'S', secretOf('streamed'), l2);
      streamed.camera.announce({ transport: 'webm', width: null, height: null, fps: null });
      hub.detachCamera(streamed, l2);
      assert.equal(hub.get('streamed')?.camera.state, 'offline', 'a camera that streamed is kept, shown offline');
    } finally {
      hub.close();
    }
  });

  it('keeps at most maxCameras, making room by forgetting the longest-offline one', () => {
    const hub = new Hub(60_000, 3);
    try {
      const links = ['a', 'b', 'c'].map((id) => {
        const l = link();
        hub.attachCamera(id, id, secretOf(id), l).camera.announce({ transport: 'webm', width: null, height: null, fps: null });
        return l;
      });
      assert.throws(() => hub.attachCamera('d', 'd', secretOf('d'), link()), (e: unknown) => e instanceof ProtocolError && e.code === 'LIMIT' && e.closeCode === 4429);
      hub.detachCamera(hub.get('b')!, links[1]!);
      hub.attachCamera('d', 'd', secretOf('d'), link());
      assert.deepEqual(hub.list().map((c) => c.id).sort(), ['a', 'c', 'd']);
      // A camera coming back to its own channel is never refused.
      hub.attachCamera('a', 'a', secretOf('a'), link());
    } finally {
      hub.close();
    }
  });

  it('never lets another device take a camera’s id: the real camera stays connected, the impostor is refused', () => {
    const hub = new Hub();
    try {
      const closed: number[] = [];
      const real: CameraLink = { ...link(), close: (code) => void closed.push(code) };
      const ch = hub.attachCamera('kitchen', 'Kitchen', secretOf('kitchen'), real);
      assert.throws(
        () => hub.attachCamera('kitchen', 'Kitchen', 'an-impostor-secret', link()),
        (e: unknown) => e instanceof ProtocolError && e.code === 'CAMERA_TAKEN' && e.closeCode === 4423,
      );
      assert.deepEqual(closed, [], 'the real camera was not closed');
      assert.equal(hub.cameraOf(ch), real);
      // The same device (its secret) replaces its own older connection, as a reload does.
      const again = link();
      hub.attachCamera('kitchen', 'Kitchen', secretOf('kitchen'), again);
      assert.deepEqual(closed, [4409]);
      assert.equal(hub.cameraOf(ch), again);
    } finally {
      hub.close();
    }
  });

  it('gives every listed camera a name of its own: a second “Kitchen”, however written, is numbered', () => {
    const hub = new Hub();
    try {
      const named = (id: string, name: string): string => hub.attachCamera(id, name, secretOf(id), link()).camera.name;
      assert.equal(named('a', 'Kitchen'), 'Kitchen');
      assert.equal(named('b', 'kitchen'), 'kitchen 2');
      assert.equal(named('c', 'Ｋｉｔ\u200bｃｈｅｎ'), 'Ｋｉｔ\u200bｃｈｅｎ 3');
      assert.equal(named('a', 'Kitchen'), 'Kitchen', 'a camera coming back keeps its name');
      assert.equal(named('d', 'Hall'), 'Hall');
      // A rename to a name another camera has is numbered too; to its own name, not.
      assert.equal(hub.rename(hub.get('d')!, 'KITCHEN'), 'KITCHEN 4');
      assert.equal(hub.rename(hub.get('a')!, 'kitchen'), 'kitchen');
      // Long names keep within 64 characters.
      assert.equal(named('e', 'x'.repeat(64)), 'x'.repeat(64));
      assert.equal(named('f', 'X'.repeat(64)), `${'X'.repeat(62)} 2`);
      const keys = hub.list().map((c) => c.name.normalize('NFKC').replace(/\u200b/g, '').toLowerCase());
      assert.equal(new Set(keys).size, keys.length);
    } finally {
      hub.close();
    }
  });

  it('asks the owner about a new camera named as one it remembers, listed or not (days later), and lets it take that camera\'s place only while it is on', () => {
    const registry = CameraRegistry.inMemory({ warn: () => undefined, error: () => undefined });
    registry.claim('porch-old', secretOf('porch-old'), 'Porch', Date.now() - 3 * 24 * 3600 * 1000);
    const hub = new Hub(10 * 60 * 1000, 100, 10, registry);
    try {
      assert.equal(hub.get('porch-old'), undefined, 'offline for days: not listed');
      const told: ServerMessage[] = [];
      let closedWith = 0;
      const l: CameraLink = { sendJson: (m) => told.push(m), close: (code) => (closedWith = code), request: () => undefined };
      const ch = hub.attachCamera('porch-new', 'porch', secretOf('porch-new'), l);
      assert.deepEqual(hub.adoptions().map((a) => [a.id, a.earlierId, a.earlierName, a.on]), [['porch-new', 'porch-old', 'Porch', true]]);
      hub.detachCamera(ch, l);
      hub.attachCamera('porch-new', 'porch', secretOf('porch-new'), l).camera.announce({ transport: 'webm', width: null, height: null, fps: null });
      hub.detachCamera(hub.get('porch-new')!, l);
      assert.match(String((hub.adopt('porch-new') as { error?: string }).error), /not on right now/, 'its page must be there to be told');
      const l2: CameraLink = { sendJson: (m) => told.push(m), close: (code) => (closedWith = code), request: () => undefined };
      hub.attachCamera('porch-new', 'porch', secretOf('porch-new'), l2);
      assert.deepEqual(hub.adopt('porch-new'), { ok: true });
      assert.deepEqual(told.at(-1), { type: 'adopted', cameraId: 'porch-old', name: 'Porch' });
      assert.equal(closedWith, 4410);
      assert.equal(hub.get('porch-new'), undefined);
      assert.equal(registry.claim('porch-old', secretOf('porch-new'), 'Porch'), 'ok', 'the new device holds the old id');
      assert.equal(registry.claim('porch-old', secretOf('porch-old'), 'Porch'), 'taken', 'the old secret does not');
      assert.deepEqual(hub.forgetByOwner('porch-old'), { ok: true }, 'a camera the registry keeps can be forgotten, listed or not');
      assert.equal(registry.get('porch-old'), undefined);
    } finally {
      hub.close();
    }
  });
});
