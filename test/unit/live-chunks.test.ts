// A WebCodecs camera through the core to its chunk viewers, fed with a real stream from Chromium:
// joiners start at a keyframe (the fresh one kept, else the next one, asked for at once), slow
// viewers skip to a keyframe, a change of codec is a new period, and chunks out of order are refused.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Camera } from '../../src/server/core/camera.ts';
import { KEYFRAME_WAIT_MS } from '../../src/server/core/feed.ts';
import { ChunkIngest } from '../../src/server/ingest/chunk-ingest.ts';
import { makeMuxer } from '../../src/server/live/muxers.ts';
import type { ViewerSink } from '../../src/server/live/viewer-sink.ts';
import { LiveViewers } from '../../src/server/live/viewers.ts';
import { FLAG_AUDIO, FLAG_KEY, FRAME_KIND_CHUNK, FRESH_KEYFRAME_MS, ProtocolError, decodeFrame, type FrameHeader } from '../../src/shared/protocol.ts';
import type { ServerMessage } from '../../src/shared/schemas.ts';
import { loadChunkFixture, type Received } from '../helpers/server.ts';

class Sink implements ViewerSink {
  json: ServerMessage[] = [];
  frames: { header: Required<FrameHeader>; payload: Uint8Array }[] = [];
  busy = false;
  sendJson(m: ServerMessage): void {
    this.json.push(m);
  }
  sendBinary(frame: Uint8Array): void {
    const { header, payload } = decodeFrame(frame);
    this.frames.push({ header, payload: new Uint8Array(payload) }); // (a copy, as a plain Uint8Array: the server sends Buffers)
  }
  congested(): boolean {
    return this.busy;
  }
  choked(): boolean {
    return this.busy;
  }
  video(): { header: Required<FrameHeader>; payload: Uint8Array }[] {
    return this.frames.filter((f) => f.header.kind === FRAME_KIND_CHUNK && (f.header.flags & FLAG_AUDIO) === 0);
  }
}

const isKey = (f: Received): boolean => (f.header.flags & (FLAG_KEY | FLAG_AUDIO)) === FLAG_KEY;
const isAudio = (f: Received): boolean => (f.header.flags & FLAG_AUDIO) !== 0;

describe('a chunk camera and its chunk viewers', async () => {
  const { stream, frames } = await loadChunkFixture('chromium-webcodecs-h264-opus');
  const video = stream.video!;
  const audio = stream.audio!;
  const keyAt = frames.flatMap((f, i) => (isKey(f) ? [i] : []));

  /** A camera streaming chunks, its viewers, and the keyframe requests it got. */
  function chunkCamera(now?: () => number): { camera: Camera; ingest: ChunkIngest; viewers: LiveViewers; asked: () => number; push: (list: Received[]) => void } {
    const camera = new Camera('c', 1, 'C', 1 << 25, now);
    let asked = 0;
    camera.on('keyframe', () => asked++);
    camera.announce({ transport: 'chunks', width: null, height: null, fps: null });
    const ingest = new ChunkIngest(camera, true);
    ingest.codec({ video, audio });
    const viewers = new LiveViewers(camera, makeMuxer);
    const push = (list: Received[]): void => {
      for (const f of list) ingest.push(f.payload, f.header.flags, f.header.time ?? 0, f.header.time ?? 0);
    };
    return { camera, ingest, viewers, asked: () => asked, push };
  }

  it('starts a viewer subscribed from the beginning at the first keyframe, with the decoders’ setup', () => {
    assert.ok(keyAt.length >= 2 && isKey(frames[0]!), 'the fixture starts at a keyframe and has more');
    const { camera, viewers, push } = chunkCamera();
    const sink = new Sink();
    viewers.subscribe(sink, true);
    push(frames);
    const started = sink.json.find((m) => m.type === 'stream');
    assert.deepEqual(started, { type: 'stream', cameraId: 'c', channel: 1, format: 'chunks', video, audio, kept: 1, keyframesOnRequest: true });
    assert.equal(sink.frames.length, frames.length, 'every chunk, audio and video');
    assert.deepEqual(
      sink.frames.map((f) => f.payload),
      frames.map((f) => f.payload),
    );
    assert.deepEqual(
      sink.frames.map((f) => f.header.flags),
      frames.map((f) => f.header.flags),
    );
    assert.deepEqual([camera.tracks?.video?.codec, camera.tracks?.audio?.codec], ['avc1.42e01f', 'opus']);
  });

  it('starts a late joiner at once from a fresh keyframe, else at the next one, asked for at once', () => {
    let now = 0;
    const { viewers, asked, push } = chunkCamera(() => now);
    const second = keyAt[1]!;
    push(frames.slice(0, second + 3));
    // Three frames after a keyframe: fresh enough to decode at once.
    now += FRESH_KEYFRAME_MS / 2;
    const quick = new Sink();
    viewers.subscribe(quick, true);
    assert.equal(quick.json[0]?.type, 'stream');
    assert.deepEqual(
      quick.frames.map((f) => f.payload),
      frames.slice(second, second + 3).filter((f) => !isAudio(f)).map((f) => f.payload),
      'the kept video from the latest keyframe (audio flows from now on)',
    );
    assert.equal(asked(), 0, 'no keyframe needed');
    // Much later in the group: the joiner waits for a new keyframe, which the camera is asked for.
    now += FRESH_KEYFRAME_MS * 2;
    const late = new Sink();
    viewers.subscribe(late, true);
    const another = new Sink();
    viewers.subscribe(another, true);
    assert.equal(late.frames.length, 0);
    assert.equal(asked(), 1, 'asked once for both joiners');
    const third = keyAt[2]!;
    push(frames.slice(second + 3, third + 2));
    for (const s of [late, another]) {
      const firstVideo = s.video()[0]!;
      assert.ok((firstVideo.header.flags & FLAG_KEY) !== 0, 'the first video chunk a joiner gets is a keyframe');
      assert.deepEqual(firstVideo.payload, frames[third]!.payload);
    }
  });

  it('starts a waiting joiner from the kept keyframe when the camera does not send a new one', async () => {
    const { viewers, push } = chunkCamera();
    push(frames.slice(0, keyAt[1]! + 10));
    await new Promise((resolve) => setTimeout(resolve, FRESH_KEYFRAME_MS + 10));
    const sink = new Sink();
    viewers.subscribe(sink, true);
    assert.equal(sink.frames.length, 0);
    await new Promise((resolve) => setTimeout(resolve, KEYFRAME_WAIT_MS + 100));
    assert.equal(sink.json[0]?.type, 'stream');
    assert.deepEqual(sink.video()[0]!.payload, frames[keyAt[1]!]!.payload);
    assert.equal(sink.frames.length, frames.slice(keyAt[1]!, keyAt[1]! + 10).filter((f) => !isAudio(f)).length, 'the kept video from that keyframe');
  });

  it('starts a waiting joiner from the kept keyframe in time even while frames keep coming', async () => {
    const { viewers, push } = chunkCamera();
    push(frames.slice(0, keyAt[1]! + 10));
    await new Promise((resolve) => setTimeout(resolve, FRESH_KEYFRAME_MS + 10));
    const sink = new Sink();
    viewers.subscribe(sink, true);
    // More frames, none of them a keyframe, while the joiner waits for the one asked for.
    push(frames.slice(keyAt[1]! + 10, keyAt[1]! + 14));
    await new Promise((resolve) => setTimeout(resolve, KEYFRAME_WAIT_MS / 2));
    push(frames.slice(keyAt[1]! + 14, keyAt[1]! + 18));
    await new Promise((resolve) => setTimeout(resolve, KEYFRAME_WAIT_MS / 2 + 100));
    assert.ok(sink.video().length > 0, 'it started without waiting for the camera’s next keyframe');
    assert.deepEqual(sink.video()[0]!.payload, frames[keyAt[1]!]!.payload);
  });

  it('drops a congested viewer’s video up to the next keyframe it can take, tells it how much it missed, and leaves the others alone', () => {
    let now = 0;
    const { viewers, asked, push } = chunkCamera(() => now);
    const slow = new Sink();
    const fast = new Sink();
    viewers.subscribe(slow, true);
    viewers.subscribe(fast, true);
    push(frames.slice(0, 10));
    slow.busy = true;
    push(frames.slice(10, keyAt[1]! - 5));
    const during = slow.frames.length;
    // It reads again a little before the next keyframe (a second later): the camera is asked for one at once.
    now += 1000;
    slow.busy = false;
    const before = asked();
    push(frames.slice(keyAt[1]! - 5, keyAt[1]!));
    assert.equal(asked(), before + 1, 'the camera was asked for a keyframe as soon as it could read');
    push(frames.slice(keyAt[1]!));
    assert.equal(fast.frames.length, frames.length, 'the other viewer gets everything');
    assert.equal(during, 10, 'nothing queued for the slow viewer while it was congested');
    const resumed = slow.frames.slice(during).filter((f) => f.header.kind === FRAME_KIND_CHUNK);
    const firstVideo = resumed.find((f) => (f.header.flags & FLAG_AUDIO) === 0)!;
    assert.ok((firstVideo.header.flags & FLAG_KEY) !== 0, 'it re-joins at a keyframe');
    const told = slow.json.find((m) => m.type === 'skipped');
    const missed = frames.slice(10, keyAt[1]!).filter((f) => !isAudio(f)).length;
    assert.deepEqual(told, { type: 'skipped', cameraId: 'c', channel: 1, frames: missed });
    assert.equal(slow.json.filter((m) => m.type === 'stream').length, 1, 'it goes on without starting over');
  });

  it('makes a new setup a new period: in-step viewers start over at the keyframe that follows it', () => {
    const { camera, ingest, viewers, push } = chunkCamera();
    const sink = new Sink();
    viewers.subscribe(sink, true);
    push(frames.slice(0, 5));
    let periods = 0;
    camera.on('tracks', () => periods++);
    const vp8 = { codec: 'vp8', width: 320, height: 240 };
    ingest.codec({ video: vp8 });
    assert.equal(periods, 1);
    assert.equal(camera.tracks?.video?.codec, 'vp8');
    const before = sink.frames.length;
    push(frames.slice(5, keyAt[1]!).filter((f) => !isKey(f)));
    assert.equal(sink.video().length, before - frames.slice(0, 5).filter(isAudio).length, 'no video with the new setup before its keyframe');
    push([frames[keyAt[1]!]!]);
    assert.deepEqual(sink.json.filter((m) => m.type === 'stream').at(-1), { type: 'stream', cameraId: 'c', channel: 1, format: 'chunks', video: vp8, audio, kept: 1, keyframesOnRequest: true });
    // The same setup again is no new period.
    ingest.codec({ video: vp8 });
    assert.equal(periods, 1);
  });

  it('heeds a viewer’s keyframe requests at most once a second, and asks the camera at most every 250 ms', () => {
    let now = 0;
    const { viewers, asked, push } = chunkCamera(() => now);
    const sink = new Sink();
    viewers.subscribe(sink, true);
    push(frames.slice(0, keyAt[1]!));
    const before = asked();
    for (let t = 0; t < 3000; t += 20) {
      now = 1000 + t;
      viewers.keyframeWanted(sink);
      // Every request brings its keyframe quickly.
      push([frames[0]!]);
    }
    assert.equal(asked() - before, 3, `${asked() - before} keyframes asked for in 3 s of requests every 20 ms`);
  });

  it('refuses a chunk of a track before its codec', () => {
    const camera = new Camera('c', 1, 'C');
    const ingest = new ChunkIngest(camera, true);
    const wrongOrder = (fn: () => void): void => assert.throws(fn, (e: unknown) => e instanceof ProtocolError && e.code === 'WRONG_ORDER');
    wrongOrder(() => ingest.push(frames[0]!.payload, FLAG_KEY, 1, 1));
    ingest.codec({ video });
    wrongOrder(() => ingest.push(new Uint8Array(10), FLAG_KEY | FLAG_AUDIO, 1, 1));
  });
  it('lets viewers watch a camera that sends only sound (a MediaRecorder recording audio only)', () => {
    const camera = new Camera('c', 1, 'C');
    camera.announce({ transport: 'mp4', width: null, height: null, fps: null });
    const viewers = new LiveViewers(camera, makeMuxer);
    let asked = 0;
    camera.on('keyframe', () => asked++);
    const sink = new Sink();
    viewers.subscribe(sink, true);
    camera.startPeriod({ video: null, audio: { kind: 'audio', codec: audio.codec, sampleRate: audio.sampleRate, channels: audio.channels } });
    const sound = frames.filter(isAudio).slice(0, 20);
    sound.forEach((f, i) => camera.push({ track: 'audio', key: true, timestamp: i * 20_000, duration: 20_000, data: f.payload, time: 0 }));
    assert.equal(sink.json.find((m) => m.type === 'stream')?.type, 'stream', 'it joined');
    assert.equal(sink.frames.length, sound.length, 'every packet');
    assert.equal(asked, 0, 'no keyframe requests');
  });

  it('asks the camera for a keyframe for one viewer at most once a second, however often its queue fills and drains', () => {
    let now = 0;
    const { viewers, asked, push } = chunkCamera(() => now);
    const flaky = new Sink();
    viewers.subscribe(flaky, true);
    push(frames.slice(0, 5));
    const before = asked();
    // Its queue is full and empty by turns, 10 times a second, for 3 s, with no keyframe coming.
    const deltas = frames.filter((f) => !isKey(f) && !isAudio(f));
    for (let k = 0; k < 30; k++) {
      now += 100;
      flaky.busy = k % 2 === 0;
      push([deltas[k % deltas.length]!]);
    }
    assert.ok(asked() - before <= 3, `${asked() - before} keyframes asked for in 3 s`);
  });

  it('takes a chunk without a capture time as captured with the one before', () => {
    const { camera, ingest } = chunkCamera();
    const got: number[] = [];
    camera.on('frame', (f) => got.push(f.timestamp));
    ingest.push(frames[0]!.payload, frames[0]!.header.flags, 5_000, 0);
    ingest.push(frames[1]!.payload, frames[1]!.header.flags, 0, 0);
    assert.equal(got.length, 2);
    assert.ok(got[1]! - got[0]! >= 0 && got[1]! - got[0]! < 1000, `the timeline stays put: ${got.join(', ')}`);
  });
});
