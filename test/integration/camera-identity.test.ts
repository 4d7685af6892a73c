// A camera's id is its device's, and its name is its own: whoever else holds the camera link can
// neither take a camera's place (its viewers keep the real picture) nor pass as it under its name.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FRAME_KIND_MEDIA, encodeFrame } from '../../src/shared/protocol.ts';
import { TestClient, cameraHello, connectCamera, connectViewer, loadFixture, startTestServer, type TestServer } from '../helpers/server.ts';

const STREAM = { type: 'stream', mime: 'video/webm;codecs=vp8,opus', width: 320, height: 240, fps: 30, audio: true } as const;

describe('camera identity', () => {
  let server: TestServer;
  let chunks: Uint8Array[];
  before(async () => {
    server = await startTestServer();
    chunks = (await loadFixture('chromium-vp8-opus')).chunks;
  });
  after(async () => {
    await server.stop();
  });

  it('refuses a connection with another device’s camera id: the real camera stays, its viewer keeps its picture', async () => {
    const real = await connectCamera(server.wsUrl, 'kitchen', 'Kitchen');
    real.send(STREAM);
    const half = Math.floor(chunks.length / 2);
    chunks.slice(0, half).forEach((c, i) => real.sendBinary(encodeFrame({ kind: FRAME_KIND_MEDIA, flags: 0, channel: 0, seq: i }, c)));
    const viewer = await connectViewer(server.wsUrl);
    viewer.send({ type: 'subscribe', cameraId: 'kitchen' });
    await viewer.until(() => viewer.frames.length >= 2, 'the real camera’s media');

    const impostor = new TestClient(server.wsUrl);
    await impostor.opened();
    impostor.send(cameraHello('kitchen', 'Kitchen', 'an-impostor-who-has-the-camera-link'));
    const error = await impostor.message('error');
    assert.equal(error.code, 'CAMERA_TAKEN');
    assert.equal((await impostor.closedWith()).code, 4423);
    assert.ok(!impostor.messages.some((m) => m.type === 'welcome' || m.type === 'wanted'), 'the impostor learns nothing of the camera');

    // The real camera was not touched, and its viewer gets what it sends next.
    assert.equal(real.closed, null);
    const before = viewer.frames.length;
    chunks.slice(half).forEach((c, i) => real.sendBinary(encodeFrame({ kind: FRAME_KIND_MEDIA, flags: 0, channel: 0, seq: half + i }, c)));
    await viewer.until(() => viewer.frames.length > before, 'more of the real camera’s media');
    assert.equal(viewer.closed, null);
    real.close();
    viewer.close();
  });

  it('numbers a second camera whose name is another’s however written, tells it so, and keeps viewers’ names unique', async () => {
    const first = await connectCamera(server.wsUrl, 'hall-1', 'Hall');
    const second = new TestClient(server.wsUrl);
    await second.opened();
    second.send(cameraHello('hall-2', 'ＨＡＬ\u200bＬ'));
    assert.equal((await second.message('welcome')).name, 'ＨＡＬ\u200bＬ 2');
    const viewer = await connectViewer(server.wsUrl);
    const list = await viewer.message('cameras', (m) => m.cameras.some((c) => c.id === 'hall-2'));
    assert.deepEqual(list.cameras.filter((c) => c.id.startsWith('hall-')).map((c) => [c.id, c.name]).sort(), [['hall-1', 'Hall'], ['hall-2', 'ＨＡＬ\u200bＬ 2']]);

    // A rename to the other's name is numbered too, and the camera is told the name it got.
    first.send({ type: 'name', name: 'Porch' });
    assert.equal((await first.message('name')).name, 'Porch');
    second.send({ type: 'name', name: 'porch' });
    assert.equal((await second.message('name')).name, 'porch 2');
    first.close();
    second.close();
    viewer.close();
  });
});
