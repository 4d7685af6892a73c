// The recorder as a consumer of the core: real captured media (WebCodecs H.264 + Opus, VP8 + Opus)
// pushed through a camera of the core, written to segments on disk, read back by ffprobe; exports
// stitched from them; files cut off as a crash leaves them, made whole again at the next start.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Camera } from '../../src/server/core/camera.ts';
import type { Cameras } from '../../src/server/core/feature.ts';
import { exportRange } from '../../src/server/features/recording/export.ts';
import { Recorder } from '../../src/server/features/recording/recorder.ts';
import { RecordingStore } from '../../src/server/features/recording/store.ts';
import { segmentPath } from '../../src/server/features/recording/layout.ts';
import { segmentWriter } from '../../src/server/features/recording/segment-writer.ts';
import type { MediaFrame, Tracks } from '../../src/media/frames.ts';
import { loadFrames } from '../helpers/media.ts';
import { FIXTURES } from '../helpers/server.ts';
import { Fmp4Demuxer } from '../../src/media/mp4/fmp4-demuxer.ts';
import { readFileSync } from 'node:fs';
import { checkRecording, probe } from '../helpers/ffprobe.ts';
import { readMp4 } from '../../src/server/features/recording/segment-reader.ts';
import { durationPatches } from '../../src/media/mp4/fmp4-file.ts';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const WALL = Date.UTC(2026, 11, 5, 10, 0, 0);

/** A MediaRecorder capture (fragmented MP4) as the media form, read by the server's own demuxer. */
function demuxed(file: string): { tracks: Tracks; frames: MediaFrame[] } {
  const d = new Fmp4Demuxer();
  let tracks: Tracks | null = null;
  const frames: MediaFrame[] = [];
  for (const e of d.push(new Uint8Array(readFileSync(path.join(FIXTURES, file))))) {
    if (e.kind === 'tracks') tracks = e.tracks;
    else frames.push(e.frame);
  }
  // In one timeline order, as a camera's frames reach the core.
  return { tracks: tracks!, frames: frames.sort((a, b) => a.timestamp - b.timestamp) };
}

/**
 * How long an MP4 recording says it is in its header, ms: mvhd's duration and mehd's
 * fragment_duration (what a player reads before it has the whole file), or null for a WebM.
 */
async function headerDurations(file: string): Promise<number[] | null> {
  if (!file.endsWith('.mp4')) return null;
  const { init } = await readMp4(file);
  const at = durationPatches(init, 0).map((p) => p.at);
  assert.equal(at.length, 2, 'an mvhd and an mehd');
  return at.map((a) => new DataView(init.buffer, init.byteOffset).getUint32(a));
}

/** `rounds` plays of a fixture back to back (each a little over 2.5 s), as one stream. */
function looped(name: string, rounds: number): { tracks: Tracks; frames: MediaFrame[] } {
  const { tracks, frames } = name.endsWith('.mp4') ? demuxed(name) : loadFrames(name);
  const length = frames.at(-1)!.timestamp + 40_000;
  const out: MediaFrame[] = [];
  for (let r = 0; r < rounds; r++) for (const f of frames) out.push({ ...f, timestamp: f.timestamp + r * length });
  return { tracks, frames: out };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'rec-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A store in this test's folder and a recorder attached to one camera of the core, "cam-1". */
async function recorderFor(opts: { segmentMs?: number; sound?: boolean } = {}): Promise<{ store: RecordingStore; recorder: Recorder; camera: Camera; detach: () => void }> {
  const store = new RecordingStore(path.join(dir, 'recordings'), quiet);
  await store.load();
  const recorder = new Recorder({ store, shouldRecord: () => true, recordSound: () => opts.sound ?? true, log: quiet, segmentMs: opts.segmentMs ?? 2000 });
  const camera = new Camera('cam-1', 1, 'Porch');
  const cameras: Cameras = { all: () => [camera], onCamera: () => () => undefined };
  return { store, recorder, camera, detach: recorder.attach(cameras) };
}

/** Records a stream through a camera of the core; returns the store (reloaded from disk). */
async function record(name: string, rounds: number, opts: { segmentMs?: number; sound?: boolean } = {}): Promise<{ store: RecordingStore; frames: MediaFrame[] }> {
  const { recorder, camera, detach } = await recorderFor(opts);
  const { tracks, frames } = looped(name, rounds);
  camera.connect('Porch');
  camera.announce({ width: tracks.video!.width, height: tracks.video!.height, fps: 30, transport: 'chunks' });
  camera.startPeriod(tracks);
  assert.equal(camera.wanted, true, 'the recorder wants the camera');
  assert.equal(camera.recording?.state, 'recording');
  for (const f of frames) camera.push({ ...f, time: WALL + f.timestamp / 1000 });
  await recorder.close();
  detach();
  const reloaded = new RecordingStore(path.join(dir, 'recordings'), quiet);
  await reloaded.load();
  return { store: reloaded, frames };
}

for (const [fixture, format] of [
  ['chromium-webcodecs-h264-opus', 'mp4'],
  ['chromium-webcodecs-vp8-opus', 'webm'],
  // Safari's MediaRecorder: H.264 + AAC; Chromium's MediaRecorder in MP4: VP9 + Opus.
  ['webkit-h264-aac.mp4', 'mp4'],
  ['chromium-vp9-opus.mp4', 'webm'],
] as const) {
  describe(`recording ${fixture}`, () => {
    it(`writes ${format} segments cut at keyframes that ffprobe reads whole, with sound, and lists them by media time`, async () => {
      const { store, frames } = await record(fixture, 4);
      const segments = store.segments('cam-1');
      assert.ok(segments.length >= 3, `${segments.length} segments`);
      let total = 0;
      for (const s of segments) {
        assert.equal(s.format, format);
        assert.match(s.file, /^2026-12-05\/10-00-\d\d\.\d{3}Z_\d{6}\.(mp4|webm)$/);
        const p = probe(store.pathOf(s));
        const { seconds } = checkRecording(p, true);
        assert.ok(Math.abs(seconds - (s.end - s.start) / 1000) < 0.1, `${s.file}: ffprobe ${seconds.toFixed(3)} s, listed ${(s.end - s.start) / 1000} s`);
        total += seconds;
        assert.equal(s.bytes, (await stat(store.pathOf(s))).size);
        // An MP4 says how long it is in its header: a player seeks in it before it has it all.
        const said = await headerDurations(store.pathOf(s));
        if (said) for (const ms of said) assert.ok(Math.abs(ms - (s.end - s.start)) <= 1, `${s.file}: its header says ${ms} ms, listed ${s.end - s.start} ms`);
      }
      const media = (frames.at(-1)!.timestamp - frames[0]!.timestamp) / 1e6;
      assert.ok(Math.abs(total - media) < 0.3, `segments hold ${total.toFixed(2)} s of ${media.toFixed(2)} s`);
      // One span: each segment starts where the last ended.
      const spans = store.spans('cam-1');
      assert.equal(spans.length, 1, JSON.stringify(spans));
      assert.ok(Math.abs(spans[0]!.start - WALL) < 50);
    });

    it('exports a range stitched from several segments into one file that starts at a keyframe', async () => {
      const { store } = await record(fixture, 4);
      const [from, to] = [WALL + 1500, WALL + 7000];
      const result = await exportRange(store, 'cam-1', from, to);
      assert.ok(result.ok, JSON.stringify(result));
      try {
        assert.ok(result.start <= from && result.start > from - 1500, `starts at the keyframe before: ${result.start - WALL}`);
        const p = probe(result.file);
        const { seconds } = checkRecording(p, true);
        assert.ok(Math.abs(seconds - (to - result.start) / 1000) < 0.2, `${seconds.toFixed(2)} s for ${(to - result.start) / 1000} s`);
        assert.equal(p.format.format_name.includes(format === 'mp4' ? 'mp4' : 'webm'), true, p.format.format_name);
        const said = await headerDurations(result.file);
        if (said) for (const ms of said) assert.ok(Math.abs(ms / 1000 - seconds) < 0.1, `its header says ${ms} ms, ffprobe ${seconds.toFixed(3)} s`);
      } finally {
        result.release();
      }
    });

    it('makes a segment a crash cut off whole again at the next start, listed with its real media end', async () => {
      // As a crash leaves a segment: written as it is while recording (never finished), and cut in
      // the middle of its last write.
      const { tracks, frames } = looped(fixture, 2);
      const writer = segmentWriter(format, tracks, new Date(WALL));
      const parts: Uint8Array[] = [];
      for (const f of frames) parts.push(writer.add(f) ?? new Uint8Array(0));
      parts.push(writer.flush() ?? new Uint8Array(0));
      const bytes = Buffer.concat(parts);
      const written = writer.writtenUs / 1000;
      const root = path.join(dir, 'recordings');
      const file = path.join(root, 'cam-1', segmentPath({ start: WALL, seq: 1, format }));
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, bytes.subarray(0, bytes.length - 3000));
      if (format === 'mp4') assert.deepEqual(await headerDurations(file), [0, 0]);
      const store = new RecordingStore(root, quiet);
      await store.load();
      const [r] = store.segments('cam-1');
      assert.ok(r, 'listed');
      const { seconds } = checkRecording(probe(store.pathOf(r)), true);
      assert.ok(Math.abs(seconds - (r.end - r.start) / 1000) < 0.1, `listed ${(r.end - r.start) / 1000} s, plays ${seconds.toFixed(2)} s`);
      const lost = written - (r.end - r.start);
      assert.ok(lost >= 0 && lost < 700, `lost ${lost} ms of the ${written} ms written`);
      // Its header said "unknown" (0) while it was written; made whole, it says how long it is.
      if (format === 'mp4') {
        const said = (await headerDurations(store.pathOf(r)))!;
        for (const ms of said) assert.ok(Math.abs(ms - (r.end - r.start)) <= 1, `its header says ${ms} ms, listed ${r.end - r.start} ms`);
      }
      // Made whole once: the next start reads it from the index as it is.
      const again = new RecordingStore(root, quiet);
      await again.load();
      assert.deepEqual(again.segments('cam-1'), store.segments('cam-1'));
    });
  });
}

describe('recording without sound', () => {
  it('writes no audio track when the camera’s sound switch is off', async () => {
    const { store } = await record('chromium-webcodecs-h264-opus', 1, { sound: false });
    const [s] = store.segments('cam-1');
    checkRecording(probe(store.pathOf(s!)), false);
  });
});

describe('the index', () => {
  it('is rebuilt from the files when damaged, and files it lists that are gone are dropped', async () => {
    const { store } = await record('chromium-webcodecs-h264-opus', 3);
    const before = store.segments('cam-1').map((s) => [s.seq, s.start, s.end]);
    const index = path.join(store.root, 'cam-1', 'index.ndjson');
    await writeFile(index, '{"seq": 1, "file": "../../etc/passwd"\nnot json\n');
    const again = new RecordingStore(store.root, quiet);
    await again.load();
    const after = again.segments('cam-1').map((s) => [s.seq, s.start, s.end]);
    assert.deepEqual(after.map((a) => a.slice(0, 2)), before.map((b) => b.slice(0, 2)));
    for (let i = 0; i < after.length; i++) assert.ok(Math.abs(after[i]![2]! - before[i]![2]!) <= 40, `segment ${i}: end ${after[i]![2]} vs ${before[i]![2]}`);
    assert.ok((await readdir(path.join(store.root, 'cam-1'))).includes('index.ndjson'));
  });
});

describe('a change of the camera’s stream', () => {
  it('starts a new segment (a new format for a new codec), and an export across it names the parts', async () => {
    const { store, recorder, camera, detach } = await recorderFor({ segmentMs: 60_000 });
    camera.connect('Porch');
    camera.announce({ width: 640, height: 480, fps: 30, transport: 'chunks' });
    let wall = WALL;
    for (const name of ['chromium-webcodecs-h264-opus', 'chromium-webcodecs-vp8-opus']) {
      const { tracks, frames } = looped(name, 2);
      // (As Firefox falling back from H.264 to VP8: a new period, its media time from 0 again.)
      camera.startPeriod(tracks);
      for (const f of frames) camera.push({ ...f, time: wall + f.timestamp / 1000 });
      wall += frames.at(-1)!.timestamp / 1000 + 100;
    }
    await recorder.close();
    detach();
    const segments = store.segments('cam-1');
    assert.deepEqual(segments.map((s) => s.format), ['mp4', 'webm']);
    for (const s of segments) checkRecording(probe(store.pathOf(s)), true);
    const across = await exportRange(store, 'cam-1', WALL, wall);
    assert.equal(across.ok, false);
    if (across.ok) return;
    assert.equal(across.status, 409);
    assert.match(across.error, /stream changed/);
    assert.equal(across.parts?.length, 2);
    // Each part on its own is one file.
    const first = await exportRange(store, 'cam-1', across.parts![0]!.start, across.parts![0]!.end);
    assert.ok(first.ok);
    if (first.ok) first.release();
  });
});

describe('a clock that jumps', () => {
  it('never overwrites or mis-orders segments when the wall clock goes back between two streams', async () => {
    const { store, recorder, camera, detach } = await recorderFor({ segmentMs: 60_000 });
    const { tracks, frames } = looped('chromium-webcodecs-h264-opus', 1);
    // The same second twice: a Raspberry Pi's clock before NTP set it, then set back.
    for (const wall of [WALL, WALL, WALL - 3600_000]) {
      camera.connect('Porch');
      camera.announce({ width: 640, height: 480, fps: 30, transport: 'chunks' });
      camera.startPeriod(tracks);
      for (const f of frames) camera.push({ ...f, time: wall + f.timestamp / 1000 });
      camera.disconnect();
    }
    await recorder.close();
    detach();
    const again = new RecordingStore(store.root, quiet);
    await again.load();
    const segments = again.segments('cam-1');
    assert.deepEqual(segments.map((s) => s.seq), [1, 2, 3], 'in the order they were recorded');
    assert.equal(new Set(segments.map((s) => s.file)).size, 3, 'three files');
    [WALL, WALL, WALL - 3600_000].forEach((w, i) => assert.ok(Math.abs(segments[i]!.start - w) < 100, `segment ${i + 1} starts at ${segments[i]!.start - w} ms from its stream's start`));
    assert.equal(again.spans('cam-1').length, 2, 'the hour before, and the two streams of the same second as one span');
    for (const s of segments) checkRecording(probe(again.pathOf(s)), true);
  });
});
