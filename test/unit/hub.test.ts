// The hub's limits: how many cameras it keeps, and what it forgets.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Hub, type CameraLink } from '../../src/server/hub.ts';
import { ProtocolError } from '../../src/shared/protocol.ts';

const link = (): CameraLink => ({ sendJson: () => undefined, close: () => undefined, request: () => undefined });

describe('Hub', () => {
  it('forgets a camera that never streamed as soon as it leaves', () => {
    const hub = new Hub();
    try {
      const l = link();
      const ch = hub.attachCamera('never', 'N', l);
      hub.detachCamera(ch, l);
      assert.equal(hub.get('never'), undefined);
      const l2 = link();
      const streamed = hub.attachCamera('streamed', 'S', l2);
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
        hub.attachCamera(id, id, l).camera.announce({ transport: 'webm', width: null, height: null, fps: null });
        return l;
      });
      assert.throws(() => hub.attachCamera('d', 'd', link()), (e: unknown) => e instanceof ProtocolError && e.code === 'LIMIT' && e.closeCode === 4429);
      hub.detachCamera(hub.get('b')!, links[1]!);
      hub.attachCamera('d', 'd', link());
      assert.deepEqual(hub.list().map((c) => c.id).sort(), ['a', 'c', 'd']);
      // A camera coming back to its own channel is never refused.
      hub.attachCamera('a', 'a', link());
    } finally {
      hub.close();
    }
  });
});
