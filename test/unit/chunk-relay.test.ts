// A camera channel carrying WebCodecs chunks, fed with a real stream from Chromium: joiners start
// at a keyframe (the fresh one kept, else the next one, asked for at once), viewers that cannot
// decode chunks get the camera's WebM fallback exactly while they watch, slow viewers re-join at a
// keyframe, and the order of messages is enforced.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Channel, type ViewerSink } from '../../src/server/channel.ts';
import { ChunkRelay, KEYFRAME_WAIT_MS } from '../../src/server/chunk-relay.ts';
import { FRESH_KEYFRAME_MS } from '../../src/shared/protocol.ts';
import { FLAG_AUDIO, FLAG_KEY, FRAME_KIND_CHUNK, FRAME_KIND_MEDIA, ProtocolError, decodeFrame, type FrameHeader, type ServerMessage } from '../../src/shared/protocol.ts';
import { loadChunkFixture, loadFixture, type Received } from '../helpers/server.ts';

class Sink implements ViewerSink {
  json: ServerMessage[] = [];
  frames: { header: Required<FrameHeader>; payload: Uint8Array }[] = [];
  busy = false;
  sendJson(m: ServerMessage): void {
    this.json.push(m);
  }
  sendBinary(frame: Uint8Array): void {
    const { header, payload } = decodeFrame(frame);
    this.frames.push({ header, payload: payload.slice() });
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

describe('chunk streams', async () => {
  const { stream, frames } = await loadChunkFixture('chromium-webcodecs-h264-opus');
  const video = stream.video!;
  const audio = stream.audio!;
  const keyAt = frames.flatMap((f, i) => (isKey(f) ? [i] : []));
  const webm = await loadFixture('chromium-vp8-opus');

  /** A channel with a chunk stream started and a camera that records what it is asked. */
  function chunkChannel(): { ch: Channel; asked: ServerMessage[] } {
    const ch = new Channel('c', 1, 'C');
    const asked: ServerMessage[] = [];
    ch.camera = { sendJson: (m) => asked.push(m) };
    ch.startChunkStream({ width: 640, height: 480, fps: 30 });
    ch.setCodec({ video, audio });
    return { ch, asked };
  }
  const push = (ch: Channel, list: Received[]): void => {
    for (const f of list) ch.pushChunk(f.payload, f.header.flags, f.header.time ?? 0);
  };

  it('starts a viewer subscribed from the beginning at the first keyframe, with the decoders’ setup', () => {
    assert.ok(keyAt.length >= 2 && isKey(frames[0]!), 'the fixture starts at a keyframe and has more');
    const { ch } = chunkChannel();
    const sink = new Sink();
    ch.subscribe(sink, true);
    push(ch, frames);
    const started = sink.json.find((m) => m.type === 'stream');
    assert.deepEqual(started, { type: 'stream', cameraId: 'c', channel: 1, format: 'chunks', video, audio });
    assert.equal(sink.frames.length, frames.length, 'every chunk, audio and video');
    assert.deepEqual(
      sink.frames.map((f) => f.payload),
      frames.map((f) => f.payload),
    );
    assert.deepEqual(ch.info().format, 'chunks');
    assert.deepEqual([ch.info().videoCodec, ch.info().audioCodec], ['avc1.42e01f', 'opus']);
  });

  it('starts a late joiner at once from a fresh keyframe, else at the next one, asked for at once', () => {
    let now = 0;
    const asked: string[] = [];
    const relay = new ChunkRelay('c', 1, () => 0, 1 << 25, () => asked.push('keyframe'), () => now);
    relay.start();
    relay.setCodec({ video, audio });
    const second = keyAt[1]!;
    for (const f of frames.slice(0, second + 3)) relay.push(f.payload, f.header.flags, 0);
    // Three frames after a keyframe: fresh enough to decode at once.
    now += FRESH_KEYFRAME_MS / 2;
    const quick = new Sink();
    relay.add(quick);
    assert.equal(quick.json[0]?.type, 'stream');
    assert.deepEqual(
      quick.frames.map((f) => f.payload),
      frames.slice(second, second + 3).filter((f) => !isAudio(f)).map((f) => f.payload),
      'the kept video from the latest keyframe (audio flows from now on)',
    );
    assert.equal(asked.length, 0, 'no keyframe needed');
    // Much later in the group: the joiner waits for a new keyframe, which the camera is asked for.
    now += FRESH_KEYFRAME_MS * 2;
    const late = new Sink();
    relay.add(late);
    const another = new Sink();
    relay.add(another);
    assert.equal(late.frames.length, 0);
    assert.deepEqual(asked, ['keyframe'], 'asked once for both joiners');
    const third = keyAt[2]!;
    for (const f of frames.slice(second + 3, third + 2)) relay.push(f.payload, f.header.flags, 0);
    for (const s of [late, another]) {
      const firstVideo = s.video()[0]!;
      assert.ok((firstVideo.header.flags & FLAG_KEY) !== 0, 'the first video chunk a joiner gets is a keyframe');
      assert.deepEqual(firstVideo.payload, frames[third]!.payload);
    }
    relay.end();
  });

  it('starts a waiting joiner from the kept keyframe when the camera does not send a new one', async () => {
    const relay = new ChunkRelay('c', 1, () => 0, 1 << 25, () => undefined);
    relay.start();
    relay.setCodec({ video, audio });
    for (const f of frames.slice(0, keyAt[1]! + 10)) relay.push(f.payload, f.header.flags, 0);
    await new Promise((resolve) => setTimeout(resolve, FRESH_KEYFRAME_MS + 10));
    const sink = new Sink();
    relay.add(sink);
    assert.equal(sink.frames.length, 0);
    await new Promise((resolve) => setTimeout(resolve, KEYFRAME_WAIT_MS + 100));
    assert.equal(sink.json[0]?.type, 'stream');
    assert.deepEqual(sink.video()[0]!.payload, frames[keyAt[1]!]!.payload);
    assert.equal(sink.frames.length, frames.slice(keyAt[1]!, keyAt[1]! + 10).filter((f) => !isAudio(f)).length, 'the kept video from that keyframe');
    relay.end();
  });

  it('asks the camera for its WebM fallback exactly while a viewer that cannot decode chunks watches', () => {
    const { ch, asked } = chunkChannel();
    const decoder = new Sink();
    const plain = new Sink();
    ch.subscribe(decoder, true);
    ch.subscribe(plain, false);
    assert.deepEqual(asked.filter((m) => m.type === 'recorder'), [{ type: 'recorder', on: true }]);
    // The camera starts the fallback: its WebM goes to the plain viewer only; chunks to the other.
    ch.startStream({ mime: 'video/webm;codecs=vp8,opus', width: 320, height: 240, fps: 30 }, true);
    for (const c of webm.chunks) ch.pushMedia(c);
    push(ch, frames);
    assert.ok(plain.frames.length > 0 && plain.frames.every((f) => f.header.kind === FRAME_KIND_MEDIA));
    assert.equal(plain.json.find((m) => m.type === 'stream')?.format, 'webm');
    assert.ok(decoder.frames.every((f) => f.header.kind === FRAME_KIND_CHUNK));
    assert.equal(decoder.frames.length, frames.length);
    assert.equal(ch.info().format, 'chunks', 'the fallback does not change what the camera is');
    ch.unsubscribe(plain);
    assert.deepEqual(asked.filter((m) => m.type === 'recorder').at(-1), { type: 'recorder', on: false });
    // Old WebM still in flight after "off" is taken quietly; nobody joins it.
    ch.pushMedia(webm.chunks[0]!.subarray(0, 0));
    const again = new Sink();
    ch.subscribe(again, false);
    assert.deepEqual(asked.filter((m) => m.type === 'recorder').at(-1), { type: 'recorder', on: true });
    assert.equal(again.frames.length, 0, 'waits for the camera’s new WebM stream');
  });

  it('drops a congested viewer’s video up to the next keyframe it can take, tells it how much it missed, and leaves the others alone', () => {
    const { ch, asked } = chunkChannel();
    const slow = new Sink();
    const fast = new Sink();
    ch.subscribe(slow, true);
    ch.subscribe(fast, true);
    push(ch, frames.slice(0, 10));
    slow.busy = true;
    push(ch, frames.slice(10, keyAt[1]!));
    const during = slow.frames.length;
    slow.busy = false;
    push(ch, frames.slice(keyAt[1]!));
    assert.equal(fast.frames.length, frames.length, 'the other viewer gets everything');
    assert.equal(during, 10, 'nothing queued for the slow viewer while it was congested');
    const resumed = slow.frames.slice(during);
    const firstVideo = resumed.find((f) => !isAudio(f))!;
    assert.ok((firstVideo.header.flags & FLAG_KEY) !== 0, 'it re-joins at a keyframe');
    assert.ok(asked.some((m) => m.type === 'keyframe'), 'and the camera was asked for one as soon as it could read');
    const told = slow.json.find((m) => m.type === 'skipped');
    const missed = frames.slice(10, keyAt[1]!).filter((f) => !isAudio(f)).length;
    assert.deepEqual(told, { type: 'skipped', cameraId: 'c', channel: 1, frames: missed });
    assert.equal(slow.json.filter((m) => m.type === 'stream').length, 1, 'it goes on without starting over');
  });

  it('tells in-step viewers of a new setup and makes joiners wait for the keyframe that follows it', () => {
    const { ch } = chunkChannel();
    const sink = new Sink();
    ch.subscribe(sink, true);
    push(ch, frames.slice(0, 5));
    const vp8 = { codec: 'vp8', width: 320, height: 240 };
    ch.setCodec({ video: vp8 });
    assert.deepEqual(sink.json.at(-1), { type: 'codec', cameraId: 'c', channel: 1, video: vp8 });
    const joiner = new Sink();
    ch.subscribe(joiner, true);
    push(ch, frames.slice(5, 8).filter((f) => !isKey(f)));
    assert.equal(joiner.json.length, 0, 'no keyframe with the new setup yet');
  });

  it('keeps every viewer playing when the camera turns from chunks to WebM (its encoder failed)', () => {
    const { ch, asked } = chunkChannel();
    const plain = new Sink();
    ch.subscribe(plain, false);
    ch.startStream({ mime: 'video/webm;codecs=vp8,opus', width: 320, height: 240, fps: 30 }, true);
    // The camera gives up on WebCodecs: its WebM is now its main stream.
    ch.startStream({ mime: 'video/webm;codecs=vp8,opus', width: 320, height: 240, fps: 30 });
    const decoder = new Sink();
    ch.subscribe(decoder, true);
    const half = Math.floor(webm.chunks.length / 2);
    for (const c of webm.chunks.slice(0, half)) ch.pushMedia(c);
    const another = new Sink();
    ch.subscribe(another, false);
    for (const c of webm.chunks.slice(half)) ch.pushMedia(c);
    for (const s of [plain, decoder, another]) {
      assert.equal(s.json.filter((m) => m.type === 'stream').at(-1)?.format, 'webm');
      assert.ok(s.frames.filter((f) => f.header.kind === FRAME_KIND_MEDIA).length >= 2, 'WebM flows to every viewer');
    }
    assert.equal(ch.info().format, 'webm');
    assert.deepEqual(asked.filter((m) => m.type === 'recorder'), [{ type: 'recorder', on: true }], 'no fallback asked of a WebM camera');
  });

  it('heeds a viewer’s keyframe requests at most once a second, and asks the camera at most every 250 ms', () => {
    let now = 0;
    let asked = 0;
    const relay = new ChunkRelay('c', 1, () => 0, 1 << 25, () => asked++, () => now);
    relay.start();
    relay.setCodec({ video, audio });
    const sink = new Sink();
    relay.add(sink);
    assert.equal(asked, 1, 'a joiner with nothing kept asks');
    for (const f of frames.slice(0, keyAt[1]!)) relay.push(f.payload, f.header.flags, 0);
    asked = 0;
    for (let t = 0; t < 3000; t += 20) {
      now = 1000 + t;
      relay.keyframeWanted(sink);
      // Every request brings its keyframe quickly.
      relay.push(frames[0]!.payload, FLAG_KEY, 0);
    }
    assert.equal(asked, 3, `${asked} keyframes asked for in 3 s of requests every 20 ms`);
    relay.end();
  });

  it('refuses chunks and codecs out of order', () => {
    const ch = new Channel('c', 1, 'C');
    const wrongOrder = (fn: () => void): void => assert.throws(fn, (e: unknown) => e instanceof ProtocolError && e.code === 'WRONG_ORDER');
    wrongOrder(() => ch.setCodec({ video }));
    wrongOrder(() => ch.pushChunk(frames[0]!.payload, FLAG_KEY, 0));
    wrongOrder(() => ch.startStream({ mime: 'video/webm', width: null, height: null, fps: null }, true));
    ch.startChunkStream({ width: null, height: null, fps: null });
    wrongOrder(() => ch.pushChunk(frames[0]!.payload, FLAG_KEY, 0));
    ch.setCodec({ video });
    wrongOrder(() => ch.pushChunk(new Uint8Array(10), FLAG_KEY | FLAG_AUDIO, 0));
  });
});
