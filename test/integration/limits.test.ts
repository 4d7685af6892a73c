// The server's limits (--max-cameras, --max-viewers, --max-message-bytes) on the real server with
// real WebSocket clients: going over one is a clear error for that client alone; everyone else
// carries on.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FRAME_KIND_MEDIA, encodeFrame } from '../../src/shared/protocol.ts';
import { TestClient, cameraHello, connectCamera, connectViewer, loadFixture, startTestServer, type TestServer } from '../helpers/server.ts';

const STREAM = { type: 'stream', mime: 'video/webm;codecs=vp8,opus', width: 320, height: 240, fps: 30, audio: true };
const media = (seq: number, bytes: Uint8Array) => encodeFrame({ kind: FRAME_KIND_MEDIA, flags: 0, channel: 0, seq }, bytes);

describe('limits', () => {
  let server: TestServer;
  const clients: TestClient[] = [];
  before(async () => {
    server = await startTestServer({}, { limits: { maxCameras: 2, maxViewersPerCamera: 2, maxMessageBytes: 64 * 1024 } });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.stop();
  });
  const track = <T extends TestClient>(c: T): T => {
    clients.push(c);
    return c;
  };

  it('a camera beyond --max-viewers refuses the next viewer with a clear error, and the others keep watching', async () => {
    const { chunks } = await loadFixture('chromium-vp8-opus');
    const camera = track(await connectCamera(server.wsUrl, 'popular', 'Popular'));
    camera.send(STREAM);
    const [a, b, c] = [track(await connectViewer(server.wsUrl)), track(await connectViewer(server.wsUrl)), track(await connectViewer(server.wsUrl))];
    for (const v of [a, b, c]) v.send({ type: 'subscribe', cameraId: 'popular' });
    const refused = await c.message('error');
    assert.deepEqual([refused.code, refused.cameraId], ['VIEWERS_FULL', 'popular']);
    assert.match(refused.message, /already has 2 viewers.*--max-viewers/);
    chunks.forEach((bytes, seq) => camera.sendBinary(media(seq, bytes)));
    for (const v of [a, b]) await v.until(() => v.frames.length >= 2, 'media at a viewer within the limit');
    assert.equal(c.frames.length, 0);
    assert.equal(c.closed, null, 'the refused viewer stays connected');
    const viewers = (): number => server.hub.get('popular')?.viewers.count ?? -1;
    assert.equal(viewers(), 2);
    // When one leaves, there is room again.
    a.close();
    await camera.until(() => viewers() === 1 || null, 'one viewer left');
    c.send({ type: 'subscribe', cameraId: 'popular' });
    await c.until(() => c.frames.length >= 1 || null, 'media at the viewer that was refused before');
    assert.equal(viewers(), 2);
    // The camera learns whether it is wanted, never how many watch.
    assert.deepEqual(camera.messages.filter((m) => m.type === 'wanted').map((m) => m.wanted), [false, true]);
    assert.ok(camera.messages.every((m) => !('count' in m) && !('viewers' in m)));
  });

  it('a media message over --max-message-bytes closes that camera with 1009', async () => {
    const camera = track(await connectCamera(server.wsUrl, 'big', 'Big'));
    camera.send(STREAM);
    camera.sendBinary(media(0, new Uint8Array(64 * 1024)));
    assert.equal((await camera.closedWith()).code, 1009);
  });

  it('a camera beyond --max-cameras is refused with 4429', async () => {
    // 'popular' is online; 'big' is offline with nobody watching, so it is forgotten to make room for
    // 'third'; then both cameras the server keeps are online, and 'fourth' is one too many.
    const third = track(await connectCamera(server.wsUrl, 'third', 'Third'));
    const fourth = new TestClient(server.wsUrl);
    track(fourth);
    await fourth.opened();
    fourth.send(cameraHello('fourth', 'Fourth'));
    const closed = await fourth.closedWith();
    assert.equal(closed.code, 4429);
    assert.match(fourth.messages.find((m) => m.type === 'error')?.message ?? '', /already has 2 cameras/);
    assert.equal(third.closed, null);
  });

  it('keyframe requests have a budget of their own: a burst of them leaves room for clicks; a flood still closes only that viewer', async () => {
    // (After the tests above: 'popular' is online.)
    const page = track(await connectViewer(server.wsUrl));
    const other = track(await connectViewer(server.wsUrl));
    // A grid whose 150 tiles all lost their picture at once: more than the 200-message control burst
    // would leave for anything else (this file's clients share one address and its budget)...
    for (let i = 0; i < 150; i++) page.send({ type: 'keyframe', cameraId: 'popular' });
    for (let i = 0; i < 60; i++) page.send({ type: 'subscribe', cameraId: 'nobody' });
    // ...yet the page's own messages all got answers, and it is still connected.
    await page.until(() => (page.messages.filter((m) => m.type === 'error' && m.code === 'UNKNOWN_CAMERA').length >= 60 ? true : null), '60 answers');
    assert.equal(page.closed, null);
    // A flood of them is a flood: beyond their budget they spend the control budget, and that
    // connection is closed with LIMIT; the other viewer stays.
    for (let i = 0; i < 400; i++) page.send({ type: 'keyframe', cameraId: 'popular' });
    const closed = await page.closedWith();
    assert.equal(closed.code, 4429);
    assert.match((await page.message('error', (m) => m.code === 'LIMIT')).message, /control messages per second/);
    assert.equal(other.closed, null);
    // (The budget is per address, which the two share: a moment later it has room again.)
    await new Promise((resolve) => setTimeout(resolve, 1000));
    other.send({ type: 'subscribe', cameraId: 'nobody' });
    await other.message('error', (m) => m.code === 'UNKNOWN_CAMERA');
    assert.equal(other.closed, null);
  });
});
