// The real server on a free port, real WebSocket clients, real captured MediaRecorder output:
// publish, late join, back channel, disconnects.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MediaFrame } from '../../src/media/frames.ts';
import { WebmDemuxer } from '../../src/media/webm/webm-demuxer.ts';
import { WebmParser } from '../../src/media/webm/webm-parser.ts';
import { FLAG_AUDIO, FLAG_INIT, FLAG_KEY, FRAME_KIND_CHUNK, FRAME_KIND_MEDIA, encodeFrame } from '../../src/shared/protocol.ts';
import { cameraTimes, concat, connectCamera, connectChunkCamera, connectViewer, loadChunkFixture, loadFixture, startTestServer, type TestClient } from '../helpers/server.ts';

type Server = Awaited<ReturnType<typeof startTestServer>>;
const STREAM = { type: 'stream', mime: 'video/webm;codecs=vp8,opus', width: 320, height: 240, fps: 30, audio: true } as const;

/** The video frames in a WebM stream, in order. */
function videoFrames(bytes: Uint8Array): MediaFrame[] {
  return new WebmDemuxer().push(bytes).flatMap((e) => (e.kind === 'frame' && e.frame.track === 'video' ? [e.frame] : []));
}

function sendChunks(camera: TestClient, chunks: Uint8Array[], firstSeq: number): void {
  chunks.forEach((c, i) => camera.sendBinary(encodeFrame({ kind: FRAME_KIND_MEDIA, flags: 0, channel: 0, seq: firstSeq + i }, c)));
}

describe('relay', () => {
  let server: Server;
  let fixture: Awaited<ReturnType<typeof loadFixture>> & { offsets: { offset: number; key: boolean; index: number }[] };
  before(async () => {
    server = await startTestServer({ commandTimeoutMs: 300 });
    const loaded = await loadFixture('chromium-vp8-opus');
    // Where each video block starts in the stream (its index among the video frames, and whether it is a keyframe).
    const parser = new WebmParser();
    const events = parser.push(loaded.bytes);
    const video = parser.tracks!.find((t) => t.type === 'video')!.number;
    const offsets = events.flatMap((e) => (e.kind === 'block' && e.track === video ? [{ offset: e.offset, key: e.keyframe }] : [])).map((o, index) => ({ ...o, index }));
    fixture = { ...loaded, offsets };
  });
  after(async () => {
    await server.stop();
  });

  it('gives a viewer without WebCodecs that joins mid-stream a WebM the server muxes: init, then the frames from the latest keyframe', async () => {
    const camera = await connectCamera(server.wsUrl, 'cam-late', 'Late');
    camera.send(STREAM);
    const half = Math.floor(fixture.chunks.length * 0.6);
    sendChunks(camera, fixture.chunks.slice(0, half), 0);
    const sentBefore = concat(fixture.chunks.slice(0, half)).byteLength;

    const viewer = await connectViewer(server.wsUrl);
    const list = await viewer.until(() => viewer.messages.find((m) => m.type === 'cameras' && m.cameras.some((c) => c.id === 'cam-late' && c.state === 'live')), 'camera live in the list');
    assert.ok(list);
    viewer.send({ type: 'subscribe', cameraId: 'cam-late' });
    const stream = await viewer.message('stream');
    assert.deepEqual([stream.format, stream.mime], ['webm', 'video/webm; codecs="vp8,opus"']);
    await viewer.until(() => viewer.frames.length >= 2, 'init and keyframe frames');
    const [init, key] = viewer.frames;
    assert.equal(init!.header.flags, FLAG_INIT);
    assert.equal(key!.header.flags, FLAG_KEY);
    assert.deepEqual([...init!.payload.subarray(0, 4)], [0x1a, 0x45, 0xdf, 0xa3], 'the init segment starts with the EBML header');
    assert.deepEqual([...key!.payload.subarray(0, 4)], [0x1f, 0x43, 0xb6, 0x75], 'the joiner’s media starts at a Cluster');

    // From the latest keyframe sent before the join on, every video frame follows, unchanged.
    const sent = videoFrames(fixture.bytes);
    const keyAt = fixture.offsets.filter((o) => o.key && o.offset < sentBefore).at(-1)!.index;
    sendChunks(camera, fixture.chunks.slice(half), half);
    const expected = sent.slice(keyAt);
    await viewer.until(() => videoFrames(concat(viewer.frames.map((f) => f.payload))).length >= expected.length, 'the rest of the stream');
    const got = videoFrames(concat(viewer.frames.map((f) => f.payload)));
    assert.ok(got[0]!.key, 'the first video frame is a keyframe');
    assert.deepEqual(got.map((f) => f.data), expected.map((f) => f.data));
    camera.close();
    viewer.close();
  });

  it('gives a viewer that was there first every frame of the stream', async () => {
    const viewer = await connectViewer(server.wsUrl);
    const camera = await connectCamera(server.wsUrl, 'cam-early', 'Early');
    await viewer.message('cameras', (m) => m.cameras.some((c) => c.id === 'cam-early'));
    viewer.send({ type: 'subscribe', cameraId: 'cam-early' });
    await camera.message('wanted', (m) => m.wanted);
    camera.send(STREAM);
    sendChunks(camera, fixture.chunks, 0);
    const sent = videoFrames(fixture.bytes);
    await viewer.until(() => videoFrames(concat(viewer.frames.map((f) => f.payload))).length >= sent.length, 'whole stream');
    assert.deepEqual(videoFrames(concat(viewer.frames.map((f) => f.payload))).map((f) => f.data), sent.map((f) => f.data));
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
    assert.equal((await again.message('wanted')).wanted, true, 'the subscription outlives the camera connection');
    again.send(STREAM);
    // Viewers are told a stream starts once its init segment and first keyframe are in.
    fixture.chunks.forEach((c, seq) => again.sendBinary(encodeFrame({ kind: FRAME_KIND_MEDIA, flags: 0, channel: 0, seq }, c)));
    await viewer.until(() => viewer.messages.filter((m) => m.type === 'stream').length === 1, 'stream start after reconnect');
    again.close();
    viewer.close();
  });

  it('tells a camera only whether it is wanted, never how many watch (security finding 4: a camera link is shared with phones)', async () => {
    const camera = await connectCamera(server.wsUrl, 'cam-count', 'Count');
    const viewers = await Promise.all([connectViewer(server.wsUrl), connectViewer(server.wsUrl), connectViewer(server.wsUrl)]);
    for (const v of viewers) v.send({ type: 'subscribe', cameraId: 'cam-count', chunks: true });
    await viewers[0]!.message('cameras', (m) => m.cameras.some((c) => c.id === 'cam-count' && c.viewers === 3));
    for (const v of viewers.slice(1)) v.send({ type: 'unsubscribe', cameraId: 'cam-count' });
    await viewers[0]!.message('cameras', (m) => m.cameras.some((c) => c.id === 'cam-count' && c.viewers === 1));
    await camera.message('wanted', (m) => m.wanted);
    const said = JSON.stringify(camera.messages);
    assert.doesNotMatch(said, /"viewers"|"count"/, `what the camera was told: ${said.slice(0, 300)}`);
    assert.deepEqual([...new Set(camera.messages.map((m) => m.type))].sort(), ['wanted', 'welcome']);
    for (const c of [camera, ...viewers]) c.close();
  });

  it('closes the older connection when the same camera connects again', async () => {
    const first = await connectCamera(server.wsUrl, 'cam-dup', 'Dup');
    const second = await connectCamera(server.wsUrl, 'cam-dup', 'Dup');
    assert.equal((await first.closedWith()).code, 4409);
    assert.equal(second.closed, null);
    second.close();
  });

  it('relays a WebCodecs camera’s chunks to a decoding viewer, and muxes fragmented MP4 for one that cannot decode them, from the same stream', async () => {
    const { stream, frames } = await loadChunkFixture('chromium-webcodecs-h264-opus');
    const camera = await connectChunkCamera(server.wsUrl, 'cam-chunks', 'Chunks', stream, 5);
    const decoder = await connectViewer(server.wsUrl);
    await decoder.message('cameras', (m) => m.cameras.some((c) => c.id === 'cam-chunks' && c.videoCodec === 'avc1.42e01f' && c.audioCodec === 'opus' && c.format === 'chunks'));
    decoder.send({ type: 'subscribe', cameraId: 'cam-chunks', chunks: true });
    await camera.message('wanted', (m) => m.wanted);
    // The capture times the camera stamped (on its clock; the server adds the offset it reported, 5 ms).
    const times = cameraTimes(frames);
    frames.forEach((f, seq) => camera.sendBinary(encodeFrame({ kind: FRAME_KIND_CHUNK, flags: f.header.flags, channel: 0, seq, time: times[seq]! }, f.payload)));
    const started = await decoder.message('stream');
    assert.deepEqual([started.format, started.video, started.audio], ['chunks', stream.video, stream.audio]);
    await decoder.until(() => decoder.frames.length >= frames.length, 'every chunk');
    assert.deepEqual(
      decoder.frames.map((f) => [f.header.kind, f.header.flags, f.header.time]),
      frames.map((f, seq) => [FRAME_KIND_CHUNK, f.header.flags, times[seq]! + 5]),
      'kinds, flags, and capture times on the server’s clock',
    );
    assert.deepEqual(decoder.frames.map((f) => f.payload), frames.map((f) => f.payload));

    // A decoder that lost its way asks for a keyframe; the camera is asked.
    decoder.send({ type: 'keyframe', cameraId: 'cam-chunks' });
    await camera.message('keyframe');

    // A viewer that cannot decode the chunks gets fragmented MP4 that the server muxes from them.
    const plain = await connectViewer(server.wsUrl);
    plain.send({ type: 'subscribe', cameraId: 'cam-chunks' });
    await camera.until(() => server.hub.get('cam-chunks')?.viewers.count === 2 || null, 'two viewers');
    const more = frames.slice(0, 60);
    const base = frames.length;
    const after = times.at(-1)! + 33 - times[0]!;
    more.forEach((f, i) => camera.sendBinary(encodeFrame({ kind: FRAME_KIND_CHUNK, flags: f.header.flags, channel: 0, seq: base + i, time: times[i]! + after }, f.payload)));
    const muxed = await plain.message('stream');
    assert.deepEqual([muxed.format, muxed.mime], ['mp4', 'video/mp4; codecs="avc1.42e01f,opus"']);
    await plain.until(() => plain.frames.length >= 10, 'the init segment and fragments');
    assert.equal(plain.frames[0]!.header.flags, FLAG_INIT);
    assert.equal(new TextDecoder().decode(plain.frames[0]!.payload.subarray(4, 8)), 'ftyp');
    assert.ok(plain.frames.every((f) => f.header.kind === FRAME_KIND_MEDIA));
    assert.ok(decoder.frames.every((f) => f.header.kind === FRAME_KIND_CHUNK), 'the decoding viewer gets no MP4');
    assert.equal(camera.messages.filter((m) => (m as { type: string }).type === 'recorder').length, 0, 'the camera is never asked for a second stream');
    assert.equal(plain.closed, null);
    assert.equal(camera.closed, null);
    assert.ok(frames.some((f) => (f.header.flags & FLAG_AUDIO) !== 0));
    plain.close();
    decoder.close();
    camera.close();
  });
});
