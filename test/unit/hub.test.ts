// The hub's limits: how many cameras it keeps, and what it forgets.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Hub, type CameraLink } from '../../src/server/hub.ts';
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
});
