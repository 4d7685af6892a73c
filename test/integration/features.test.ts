// A feature attaches to the core without any transport code knowing it: the frame counter (the
// template for the recorder and the integrations) is handed to the real server, counts a real
// camera's frames as a consumer of its own, makes the camera wanted with nobody watching, and lets
// go when detached, while the camera streams on.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FLAG_AUDIO, FLAG_KEY, FRAME_KIND_CHUNK, encodeFrame } from '../../src/shared/protocol.ts';
import { FrameCounter } from '../../src/server/features/frame-counter/frame-counter.ts';
import { cameraTimes, connectChunkCamera, connectViewer, loadChunkFixture, startTestServer } from '../helpers/server.ts';

type Server = Awaited<ReturnType<typeof startTestServer>>;

describe('a feature attached to the core', () => {
  let server: Server;
  const counter = new FrameCounter();
  before(async () => {
    server = await startTestServer({}, { features: [counter] });
  });
  after(async () => {
    await server.stop();
  });

  it('counts a camera’s frames from a keyframe on, makes it wanted with nobody watching, and lets go when detached', async () => {
    const { stream, frames } = await loadChunkFixture('chromium-webcodecs-h264-opus');
    const camera = await connectChunkCamera(server.wsUrl, 'counted', 'Counted', stream);
    // No viewer: the counter alone wants the camera's media.
    assert.equal((await camera.message('wanted')).wanted, true);
    const times = cameraTimes(frames);
    const send = (from: number, to: number): void => {
      for (let seq = from; seq < to; seq++) camera.sendBinary(encodeFrame({ kind: FRAME_KIND_CHUNK, flags: frames[seq]!.header.flags, channel: 0, seq, time: times[seq]! }, frames[seq]!.payload));
    };
    const half = Math.floor(frames.length / 2);
    send(0, half);
    const count = (): ReturnType<FrameCounter['count']> => counter.count('counted');
    await camera.until(() => (count()?.video ?? 0) + (count()?.audio ?? 0) >= half || null, 'every frame counted');
    const video = frames.slice(0, half).filter((f) => (f.header.flags & FLAG_AUDIO) === 0);
    assert.deepEqual(
      { video: count()!.video, audio: count()!.audio, keyframes: count()!.keyframes, joins: count()!.joins, skipped: count()!.skipped },
      { video: video.length, audio: half - video.length, keyframes: video.filter((f) => (f.header.flags & FLAG_KEY) !== 0).length, joins: 1, skipped: 0 },
    );
    assert.equal(count()!.bytes, frames.slice(0, half).reduce((n, f) => n + f.payload.byteLength, 0));

    // A viewer comes and goes; the camera stays wanted throughout (the counter still wants it).
    const viewer = await connectViewer(server.wsUrl);
    viewer.send({ type: 'subscribe', cameraId: 'counted', chunks: true });
    await camera.until(() => server.hub.get('counted')?.viewers.count === 1 || null, 'a viewer');
    viewer.close();
    await camera.until(() => server.hub.get('counted')?.viewers.count === 0 || null, 'the viewer gone');

    // A second feature attached mid-stream joins at a keyframe: the camera is asked for one, and
    // (the test camera does not answer) after a moment it starts from the latest kept.
    const late = new FrameCounter();
    const detach = late.attach(server.hub);
    const quarter = half + Math.floor((frames.length - half) / 2);
    send(half, quarter);
    await camera.until(() => (count()?.video ?? 0) + (count()?.audio ?? 0) >= quarter || null, 'the next frames counted');
    await camera.message('keyframe');
    await camera.until(() => late.count('counted')?.joins === 1 || null, 'the late feature joined');
    const lateCount = late.count('counted')!;
    assert.ok(lateCount.video > 0 && lateCount.video < count()!.video, 'from the latest keyframe, not from the start');
    detach();
    const atDetach = { ...lateCount };
    send(quarter, frames.length);
    await camera.until(() => count()!.video + count()!.audio >= frames.length || null, 'the rest counted by the first');
    assert.deepEqual(late.count('counted'), atDetach, 'nothing counted after detaching');
    assert.ok(server.hub.get('counted')!.camera.wanted, 'still wanted: the first feature is attached');
    assert.deepEqual(camera.messages.filter((m) => m.type === 'wanted').map((m) => m.wanted), [true], 'wanted all along, said once');
  });
});
