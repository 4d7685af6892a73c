// The real server on a free port, real WebSocket clients, real captured MediaRecorder output:
// publish, late join, back channel, disconnects.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebmParser } from '../../src/media/webm/webm-parser.ts';
import { FLAG_AUDIO, FLAG_INIT, FLAG_KEY, FRAME_KIND_CHUNK, FRAME_KIND_MEDIA, encodeFrame } from '../../src/shared/protocol.ts';
import { concat, connectCamera, connectChunkCamera, connectViewer, loadChunkFixture, loadFixture, startTestServer, type TestClient } from '../helpers/server.ts';

type Server = Awaited<ReturnType<typeof startTestServer>>;
const STREAM = { type: 'stream', mime: 'video/webm;codecs=vp8,opus', width: 320, height: 240, fps: 30, audio: true } as const;

function sendChunks(camera: TestClient, chunks: Uint8Array[], firstSeq: number): void {
  chunks.forEach((c, i) => camera.sendBinary(encodeFrame({ kind: FRAME_KIND_MEDIA, flags: 0, channel: 0, seq: firstSeq + i }, c)));
}

describe('relay', () => {
  let server: Server;
  let fixture: Awaited<ReturnType<typeof loadFixture>>;
  before(async () => {
    server = await startTestServer({ commandTimeoutMs: 300 });
    fixture = await loadFixture('chromium-vp8-opus');
  });
  after(async () => {
    await server.stop();
  });

  it('gives a viewer that joins mid-stream the init segment, then data from the cluster of the latest keyframe', async () => {
    const camera = await connectCamera(server.wsUrl, 'cam-late', 'Late');
    camera.send(STREAM);
    const half = Math.floor(fixture.chunks.length * 0.6);
    sendChunks(camera, fixture.chunks.slice(0, half), 0);
    const sentBefore = concat(fixture.chunks.slice(0, half));

    const viewer = await connectViewer(server.wsUrl);
    const list = await viewer.until(() => viewer.messages.find((m) => m.type === 'cameras' && m.cameras.some((c) => c.id === 'cam-late' && c.state === 'live')), 'camera live in the list');
    assert.ok(list);
    viewer.send({ type: 'subscribe', cameraId: 'cam-late' });
    const stream = await viewer.message('stream');
    assert.equal(stream.mime, STREAM.mime);
    await viewer.until(() => viewer.frames.length >= 2, 'init and keyframe frames');

    const [init, key] = viewer.frames;
    assert.equal(init!.header.flags, FLAG_INIT);
    assert.equal(key!.header.flags, FLAG_KEY);
    const reference = new WebmParser();
    const events = reference.push(fixture.bytes);
    assert.deepEqual(init!.payload, fixture.bytes.subarray(0, reference.initLength!));
    // The joiner's data starts at a Cluster whose first video block is a keyframe: the latest one sent.
    assert.deepEqual([...key!.payload.subarray(0, 4)], [0x1f, 0x43, 0xb6, 0x75]);
    const videoTrack = reference.tracks!.find((t) => t.type === 'video')!.number;
    const keyClusters = events.filter((e) => e.kind === 'block' && e.keyframe && e.track === videoTrack && e.offset < sentBefore.byteLength).map((e) => (e.kind === 'block' ? e.cluster : -1));
    const latest = keyClusters[keyClusters.length - 1]!;
    assert.deepEqual(key!.payload, fixture.bytes.subarray(latest, sentBefore.byteLength));

    // The rest of the stream follows byte for byte, and init + what the viewer got is valid WebM.
    sendChunks(camera, fixture.chunks.slice(half), half);
    const total = fixture.bytes.byteLength - latest;
    await viewer.until(() => viewer.frames.slice(1).reduce((n, f) => n + f.payload.byteLength, 0) >= total, 'the rest of the stream');
    const got = concat(viewer.frames.map((f) => f.payload));
    assert.deepEqual(got, concat([fixture.bytes.subarray(0, reference.initLength!), fixture.bytes.subarray(latest)]));
    const check = new WebmParser().push(got);
    const firstVideo = check.find((e) => e.kind === 'block' && e.track === videoTrack);
    assert.ok(firstVideo && firstVideo.kind === 'block' && firstVideo.keyframe, 'first video block after init is a keyframe');
    camera.close();
    viewer.close();
  });

  it('gives a viewer that was there first the whole stream from byte 0', async () => {
    const viewer = await connectViewer(server.wsUrl);
    const camera = await connectCamera(server.wsUrl, 'cam-early', 'Early');
    await viewer.message('cameras', (m) => m.cameras.some((c) => c.id === 'cam-early'));
    viewer.send({ type: 'subscribe', cameraId: 'cam-early' });
    await camera.message('viewers', (m) => m.count === 1);
    camera.send(STREAM);
    sendChunks(camera, fixture.chunks, 0);
    await viewer.until(() => viewer.frames.reduce((n, f) => n + f.payload.byteLength, 0) >= fixture.bytes.byteLength, 'whole stream');
    assert.deepEqual(concat(viewer.frames.map((f) => f.payload)), fixture.bytes);
    camera.close();
    viewer.close();
  });

  it('carries pause and resume from a viewer to the camera and the acknowledgement back', async () => {
    const camera = await connectCamera(server.wsUrl, 'cam-cmd', 'Commands');
    camera.send(STREAM);
    const viewer = await connectViewer(server.wsUrl);
    viewer.send({ type: 'command', cameraId: 'cam-cmd', command: 'pause', requestId: 'r1' });
    const cmd = await camera.message('command');
    assert.equal(cmd.command, 'pause');
    camera.send({ type: 'ack', requestId: cmd.requestId, ok: true, state: 'paused' });
    const result = await viewer.message('command-result', (m) => m.requestId === 'r1');
    assert.deepEqual({ ok: result.ok, state: result.state, cameraId: result.cameraId }, { ok: true, state: 'paused', cameraId: 'cam-cmd' });
    await viewer.message('cameras', (m) => m.cameras.some((c) => c.id === 'cam-cmd' && c.state === 'paused'));

    // A camera that never answers: the viewer hears so after the timeout.
    viewer.send({ type: 'command', cameraId: 'cam-cmd', command: 'resume', requestId: 'r2' });
    const late = await viewer.message('command-result', (m) => m.requestId === 'r2');
    assert.equal(late.ok, false);
    assert.match(late.error ?? '', /did not answer/);
    // Unknown camera: an answer, not a disconnect.
    viewer.send({ type: 'command', cameraId: 'nobody', command: 'pause', requestId: 'r3' });
    assert.equal((await viewer.message('command-result', (m) => m.requestId === 'r3')).ok, false);
    assert.equal(viewer.closed, null);
    camera.close();
    viewer.close();
  });

  it('shows viewers when a camera goes offline and when it comes back, and counts viewers', async () => {
    const viewer = await connectViewer(server.wsUrl);
    const camera = await connectCamera(server.wsUrl, 'cam-off', 'Door');
    viewer.send({ type: 'subscribe', cameraId: 'cam-off' });
    await viewer.message('cameras', (m) => m.cameras.some((c) => c.id === 'cam-off' && c.viewers === 1));
    camera.close();
    await viewer.message('cameras', (m) => m.cameras.some((c) => c.id === 'cam-off' && c.state === 'offline'));
    const again = await connectCamera(server.wsUrl, 'cam-off', 'Door');
    assert.equal((await again.message('viewers')).count, 1, 'the subscription outlives the camera connection');
    again.send(STREAM);
    // Viewers are told a stream starts once its init segment and first keyframe are in.
    fixture.chunks.forEach((c, seq) => again.sendBinary(encodeFrame({ kind: FRAME_KIND_MEDIA, flags: 0, channel: 0, seq }, c)));
    await viewer.until(() => viewer.messages.filter((m) => m.type === 'stream').length === 1, 'stream start after reconnect');
    again.close();
    viewer.close();
  });

  it('closes the older connection when the same camera connects again', async () => {
    const first = await connectCamera(server.wsUrl, 'cam-dup', 'Dup');
    const second = await connectCamera(server.wsUrl, 'cam-dup', 'Dup');
    assert.equal((await first.closedWith()).code, 4409);
    assert.equal(second.closed, null);
    second.close();
  });

  it('relays a WebCodecs camera’s chunks to a decoding viewer, and its WebM fallback to one that cannot decode them', async () => {
    const { stream, frames } = await loadChunkFixture('chromium-webcodecs-h264-opus');
    const camera = await connectChunkCamera(server.wsUrl, 'cam-chunks', 'Chunks', stream, 5);
    const decoder = await connectViewer(server.wsUrl);
    await decoder.message('cameras', (m) => m.cameras.some((c) => c.id === 'cam-chunks' && c.videoCodec === 'avc1.42e01f' && c.audioCodec === 'opus' && c.format === 'chunks'));
    decoder.send({ type: 'subscribe', cameraId: 'cam-chunks', chunks: true });
    await camera.message('viewers', (m) => m.count === 1);
    const start = 1_764_000_000_000;
    frames.forEach((f, seq) => camera.sendBinary(encodeFrame({ kind: FRAME_KIND_CHUNK, flags: f.header.flags, channel: 0, seq, time: start + seq }, f.payload)));
    const started = await decoder.message('stream');
    assert.deepEqual([started.format, started.video, started.audio], ['chunks', stream.video, stream.audio]);
    await decoder.until(() => decoder.frames.length >= frames.length, 'every chunk');
    assert.deepEqual(
      decoder.frames.map((f) => [f.header.kind, f.header.flags, f.header.time]),
      frames.map((f, seq) => [FRAME_KIND_CHUNK, f.header.flags, start + seq + 5]),
      'kinds, flags, and capture times on the server’s clock',
    );
    assert.deepEqual(decoder.frames.map((f) => f.payload), frames.map((f) => f.payload));

    // A decoder that lost its way asks for a keyframe; the camera is asked.
    decoder.send({ type: 'keyframe', cameraId: 'cam-chunks' });
    await camera.message('keyframe');

    // A viewer that cannot decode the chunks: the camera is asked for its WebM fallback, which then flows to that viewer only.
    const plain = await connectViewer(server.wsUrl);
    plain.send({ type: 'subscribe', cameraId: 'cam-chunks' });
    await camera.message('recorder', (m) => m.on);
    camera.send({ ...STREAM, fallback: true });
    sendChunks(camera, fixture.chunks, 0);
    await plain.until(() => plain.frames.length >= 2, 'the fallback’s init and keyframe');
    assert.equal((await plain.message('stream')).format, 'webm');
    assert.ok(plain.frames.every((f) => f.header.kind === FRAME_KIND_MEDIA));
    assert.ok(decoder.frames.every((f) => f.header.kind === FRAME_KIND_CHUNK), 'the decoding viewer gets no WebM');
    plain.close();
    await camera.message('recorder', (m) => !m.on);

    // A camera that cannot record the fallback (a browser that records only MP4) says so: the viewer
    // waiting for it is told why on that camera, and stays connected; so is one that comes later.
    const waiting = await connectViewer(server.wsUrl);
    waiting.send({ type: 'subscribe', cameraId: 'cam-chunks' });
    await camera.message('recorder', (m) => m.on && camera.messages.filter((x) => x.type === 'recorder').length >= 3);
    camera.send({ type: 'fallback-failed', reason: 'This browser records only MP4.' });
    const told = await waiting.message('error', (m) => m.code === 'NO_FORMAT');
    assert.equal(told.cameraId, 'cam-chunks');
    assert.match(told.message, /cannot decode.*“This browser records only MP4.”/);
    const later = await connectViewer(server.wsUrl);
    later.send({ type: 'subscribe', cameraId: 'cam-chunks' });
    await later.message('error', (m) => m.code === 'NO_FORMAT');
    assert.equal(waiting.closed, null);
    assert.equal(camera.closed, null);
    assert.equal(decoder.closed, null);
    waiting.close();
    later.close();
    assert.ok(frames.some((f) => (f.header.flags & FLAG_AUDIO) !== 0));
    decoder.close();
    camera.close();
  });
});
