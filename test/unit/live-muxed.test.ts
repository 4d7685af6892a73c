// Every camera form to every viewer form through the core, fed with real captures: a viewer
// without WebCodecs gets a stream the server muxes (fMP4 for H.264, WebM for VP8), once per camera
// and form; a MediaRecorder camera's WebM becomes chunks for WebCodecs viewers; a consumer can be
// attached and detached while the camera streams; a slow muxed viewer skips to a keyframe.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Camera, type CoreFrame } from '../../src/server/core/camera.ts';
import type { FeedSink } from '../../src/server/core/feed.ts';
import { ChunkIngest } from '../../src/server/ingest/chunk-ingest.ts';
import { ContainerIngest } from '../../src/server/ingest/container-ingest.ts';
import { makeMuxer } from '../../src/server/live/muxers.ts';
import type { ViewerSink } from '../../src/server/live/viewer-sink.ts';
import { LiveViewers } from '../../src/server/live/viewers.ts';
import { WebmParser } from '../../src/media/webm/webm-parser.ts';
import { FLAG_AUDIO, FLAG_INIT, FLAG_KEY, FRAME_KIND_CHUNK, FRAME_KIND_MEDIA, decodeFrame, type FrameHeader } from '../../src/shared/protocol.ts';
import type { ServerMessage } from '../../src/shared/schemas.ts';
import { cameraTimes, concat, loadChunkFixture, loadFixture, type Received } from '../helpers/server.ts';

class Sink implements ViewerSink {
  json: ServerMessage[] = [];
  raw: Uint8Array[] = [];
  frames: { header: Required<FrameHeader>; payload: Uint8Array }[] = [];
  busy = false;
  sendJson(m: ServerMessage): void {
    this.json.push(m);
  }
  sendBinary(frame: Uint8Array): void {
    this.raw.push(frame);
    const { header, payload } = decodeFrame(frame);
    this.frames.push({ header, payload: new Uint8Array(payload) }); // (a copy: the server sends Buffers, whose slice() is a view)
  }
  congested(): boolean {
    return this.busy;
  }
  choked(): boolean {
    return this.busy;
  }
  /** The muxed stream's bytes as this viewer got them. */
  bytes(): Uint8Array {
    return concat(this.frames.filter((f) => f.header.kind === FRAME_KIND_MEDIA).map((f) => f.payload));
  }
}

function setup(): { camera: Camera; viewers: LiveViewers } {
  const camera = new Camera('c', 1, 'C');
  return { camera, viewers: new LiveViewers(camera, makeMuxer) };
}

describe('muxed viewers and MediaRecorder cameras', async () => {
  const h264 = await loadChunkFixture('chromium-webcodecs-h264-opus');
  const vp8 = await loadChunkFixture('chromium-webcodecs-vp8-opus');
  const webm = await loadFixture('chromium-vp8-opus');

  const chunkCamera = (fixture: typeof h264): { camera: Camera; viewers: LiveViewers; push: (list: Received[]) => void } => {
    const { camera, viewers } = setup();
    camera.announce({ transport: 'chunks', width: null, height: null, fps: null });
    const ingest = new ChunkIngest(camera, true);
    ingest.codec({ video: fixture.stream.video!, audio: fixture.stream.audio! });
    const times = new Map(fixture.frames.map((f, i) => [f, cameraTimes(fixture.frames)[i]!]));
    return { camera, viewers, push: (list) => list.forEach((f) => ingest.push(f.payload, f.header.flags, times.get(f)!, f.header.time ?? 0)) };
  };

  it('sends an H.264 chunk camera to a viewer without WebCodecs as fragmented MP4, muxed once for all such viewers', () => {
    const { camera, viewers, push } = chunkCamera(h264);
    const asked: string[] = [];
    camera.on('keyframe', () => asked.push('keyframe'));
    const a = new Sink();
    const b = new Sink();
    const decoder = new Sink();
    viewers.subscribe(a, false);
    viewers.subscribe(b, false);
    viewers.subscribe(decoder, true);
    push(h264.frames);
    for (const s of [a, b]) {
      const stream = s.json.find((m) => m.type === 'stream');
      assert.deepEqual(stream, { type: 'stream', cameraId: 'c', channel: 1, format: 'mp4', mime: 'video/mp4; codecs="avc1.42e01f,opus"' });
      assert.equal(s.frames[0]!.header.flags, FLAG_INIT, 'the init segment first');
      assert.equal(s.frames[1]!.header.flags & FLAG_KEY, FLAG_KEY, 'then a fragment that starts at a keyframe');
      assert.equal(new TextDecoder().decode(s.frames[0]!.payload.subarray(4, 8)), 'ftyp');
      // One fragment per frame: as many as the camera sent, less any audio before the first picture.
      const fragments = s.frames.length - 1;
      assert.ok(fragments >= h264.frames.length - 3 && fragments <= h264.frames.length, `${fragments} fragments for ${h264.frames.length} frames`);
    }
    assert.equal(a.raw.length, b.raw.length);
    assert.ok(a.raw.every((f, i) => f === b.raw[i]), 'both viewers were sent the very same bytes: muxed once');
    assert.ok(decoder.frames.every((f) => f.header.kind === FRAME_KIND_CHUNK), 'the WebCodecs viewer still gets chunks');
    assert.equal(decoder.frames.length, h264.frames.length);
  });

  it('leaves the sound out of the muxed stream of a viewer that is not listening, and puts it back when it listens', () => {
    const { viewers, push } = chunkCamera(h264);
    const s = new Sink();
    viewers.subscribe(s, false, false);
    push(h264.frames.slice(0, 40));
    assert.equal(s.json.find((m) => m.type === 'stream')?.mime, 'video/mp4; codecs="avc1.42e01f"', 'picture only');
    const videoFrames = h264.frames.slice(0, 40).filter((f) => (f.header.flags & FLAG_AUDIO) === 0).length;
    assert.equal(s.frames.length - 1, videoFrames, 'one fragment per video frame, none for the sound');
    viewers.subscribe(s, false, true);
    push(h264.frames.slice(40));
    assert.equal(s.json.filter((m) => m.type === 'stream').at(-1)?.mime, 'video/mp4; codecs="avc1.42e01f,opus"', 'with sound once it listens');
  });

  it('sends a VP8 chunk camera to a viewer without WebCodecs as WebM that the parser reads whole', () => {
    const { viewers, push } = chunkCamera(vp8);
    const s = new Sink();
    viewers.subscribe(s, false);
    push(vp8.frames);
    assert.equal(s.json.find((m) => m.type === 'stream')?.mime, 'video/webm; codecs="vp8,opus"');
    const events = new WebmParser().push(s.bytes());
    const blocks = events.filter((e) => e.kind === 'block');
    assert.ok(blocks.length >= vp8.frames.length - 3, `${blocks.length} blocks`);
    const keys = vp8.frames.filter((f) => (f.header.flags & (FLAG_KEY | FLAG_AUDIO)) === FLAG_KEY).length;
    const firstInCluster = new Map<number, (typeof blocks)[number]>();
    for (const b of blocks) if (b.kind === 'block' && !firstInCluster.has(b.cluster)) firstInCluster.set(b.cluster, b);
    const keyClusters = [...firstInCluster.values()].filter((b) => b.kind === 'block' && b.keyframe && b.track === 1).length;
    assert.equal(keyClusters, keys, 'every video keyframe starts a Cluster');
  });

  it('turns a MediaRecorder camera’s WebM into chunks for WebCodecs viewers and WebM for the others', () => {
    const { camera, viewers } = setup();
    const ingest = ContainerIngest.webm(camera);
    const decoder = new Sink();
    const plain = new Sink();
    viewers.subscribe(decoder, true);
    viewers.subscribe(plain, false);
    for (const c of webm.chunks) ingest.push(c, 1_700_000_000_000);
    const stream = decoder.json.find((m) => m.type === 'stream');
    assert.equal(stream?.format, 'chunks');
    assert.equal(stream?.video?.codec, 'vp8');
    assert.equal(stream?.audio?.codec, 'opus');
    assert.ok(stream?.audio?.description, 'with the OpusHead');
    const video = decoder.frames.filter((f) => (f.header.flags & FLAG_AUDIO) === 0);
    assert.ok((video[0]!.header.flags & FLAG_KEY) !== 0, 'starting at a keyframe');
    assert.ok(video.length >= 70, `${video.length} video chunks`);
    const t0 = video[0]!.header.time;
    assert.ok(t0 >= 1_700_000_000_000 && t0 < 1_700_000_000_000 + 100, 'capture times from the chunks’ time and the frames’ timestamps');
    assert.equal(plain.json.find((m) => m.type === 'stream')?.format, 'webm');
    assert.ok(new WebmParser().push(plain.bytes()).filter((e) => e.kind === 'block').length >= 100);
  });

  it('lets a consumer attach and detach while the camera streams, and says whether the camera is wanted', () => {
    const { camera, push } = chunkCamera(h264);
    const wanted: boolean[] = [];
    camera.on('wanted', (w) => wanted.push(w));
    const got: CoreFrame[] = [];
    const consumer: FeedSink<CoreFrame> = { congested: () => false, choked: () => false, join: (items) => got.push(...items), send: (f) => got.push(f), skipped: () => undefined };
    const half = Math.floor(h264.frames.length / 2);
    push(h264.frames.slice(0, 10));
    camera.attach(consumer);
    push(h264.frames.slice(10, half));
    camera.detach(consumer);
    const before = got.length;
    push(h264.frames.slice(half));
    assert.equal(got.length, before, 'nothing after detaching');
    assert.ok(got.length > 0 && got[0]!.track === 'video' && got[0]!.key, 'it joined at a keyframe');
    assert.deepEqual(wanted, [true, false]);
  });

  it('skips a slow muxed viewer to a keyframe’s fragment without starting it over', () => {
    const { viewers, push } = chunkCamera(h264);
    const keyAt = h264.frames.flatMap((f, i) => ((f.header.flags & (FLAG_KEY | FLAG_AUDIO)) === FLAG_KEY ? [i] : []));
    const slow = new Sink();
    viewers.subscribe(slow, false);
    push(h264.frames.slice(0, 10));
    slow.busy = true;
    push(h264.frames.slice(10, keyAt[1]!));
    slow.busy = false;
    const before = slow.frames.length;
    push(h264.frames.slice(keyAt[1]!));
    const after = slow.frames.slice(before);
    assert.equal(after[0]!.header.flags & FLAG_KEY, FLAG_KEY, 'it goes on from a keyframe’s fragment');
    assert.equal(slow.json.filter((m) => m.type === 'stream').length, 1, 'without starting over');
    assert.ok((slow.json.find((m) => m.type === 'skipped') as { frames: number } | undefined)!.frames > 0, 'told how many frames it missed');
  });
});
