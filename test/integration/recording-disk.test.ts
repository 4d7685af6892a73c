// Recording on a real small filesystem (a tmpfs the test mounts: the test machines and CI run as
// root): retention keeps N days and a free-space floor, oldest first, never the segment being
// written; a disk that fills up mid-segment stops that camera's recording with a clear message (the
// partial segment stays playable, live view goes on) and recording resumes by itself once there is
// room again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, statfs, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Camera } from '../../src/server/core/camera.ts';
import type { Cameras } from '../../src/server/core/feature.ts';
import type { FeedSink } from '../../src/server/core/feed.ts';
import type { CoreFrame } from '../../src/server/core/camera.ts';
import { Recorder } from '../../src/server/features/recording/recorder.ts';
import { Retention } from '../../src/server/features/recording/retention.ts';
import { RecordingStore } from '../../src/server/features/recording/store.ts';
import type { MediaFrame } from '../../src/media/frames.ts';
import { loadFrames } from '../helpers/media.ts';
import { checkRecording, probe } from '../helpers/ffprobe.ts';

const MiB = 1024 * 1024;
const DAY = 24 * 3600 * 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('recordings on a small disk', { timeout: 120_000 }, () => {
  let mount: string;
  const lines: string[] = [];
  const log = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
  before(async () => {
    mount = await mkdtemp(path.join(os.tmpdir(), 'small-disk-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mount]);
  });
  after(async () => {
    // (Lazily: a failed test may have left a file open on it.)
    execFileSync('umount', ['-l', mount]);
    await rm(mount, { recursive: true, force: true });
  });

  /** A camera of the core, connected and streaming a real capture, looped, its capture times starting at `wall`: `push` more of it. */
  function streamer(camera: Camera, wall: number): { push(seconds: number): void } {
    const { tracks, frames } = loadFrames('chromium-webcodecs-h264-opus-2mbps');
    camera.connect(camera.name);
    camera.announce({ width: tracks.video!.width, height: tracks.video!.height, fps: 30, transport: 'chunks' });
    camera.startPeriod(tracks);
    const length = frames.at(-1)!.timestamp + 33_000;
    let round = 0;
    let at = 0;
    return {
      push(seconds: number) {
        const until = at + seconds * 1e6;
        while (at < until) {
          for (const f of frames) {
            const ts = f.timestamp + round * length;
            camera.push({ ...f, timestamp: ts, time: wall + ts / 1000 } as MediaFrame & { time: number });
          }
          round++;
          at = round * length;
        }
      },
    };
  }

  /** A store on `root` and a recorder of `cams`, recording all of them with sound. */
  async function recorderOn(root: string, cams: Camera[], opts: { segmentMs: number; retryMs?: number }): Promise<{ store: RecordingStore; recorder: Recorder; detach: () => void }> {
    const store = new RecordingStore(root, log);
    await store.load();
    const recorder = new Recorder({ store, shouldRecord: () => true, recordSound: () => true, log, ...opts });
    const cameras: Cameras = { all: () => cams, onCamera: () => () => undefined };
    return { store, recorder, detach: recorder.attach(cameras) };
  }

  /** Streams a second of media at a time until the camera's recording has failed (at most 40). */
  async function streamUntilFailed(camera: Camera, s: { push(seconds: number): void }): Promise<void> {
    for (let i = 0; i < 40 && camera.recording?.state !== 'failed'; i++) {
      s.push(1);
      await sleep(50);
    }
  }

  /** Waits (at most 4 s) for the camera to be recording again; its state then. */
  async function resumed(camera: Camera): Promise<string | undefined> {
    for (let i = 0; i < 40 && camera.recording?.state !== 'recording'; i++) await sleep(100);
    return camera.recording?.state;
  }

  it('keeps N days and the free-space floor, oldest first, never the segment being written', async () => {
    const root = path.join(mount, 'keep');
    const cams = ['old', 'new'].map((id, i) => new Camera(id, i + 1, id));
    const { store, recorder, detach } = await recorderOn(root, cams, { segmentMs: 2000 });
    const now = Date.now();
    // Ten days ago, and now: ~6 MB each.
    for (const [camera, wall] of [[cams[0]!, now - 10 * DAY], [cams[1]!, now - 60_000]] as const) {
      const s = streamer(camera, wall);
      s.push(20);
    }
    await sleep(500);
    const writing = store.writingOf('new');
    assert.ok(writing, 'a segment is being written');
    const before = { old: store.segments('old').length, now: store.segments('new').length };
    assert.ok(before.old >= 5 && before.now >= 5, JSON.stringify(before));
    // Keep 7 days: the old camera's go; the floor is met.
    await new Retention(store, { keepDays: 7, minFree: { bytes: MiB }, log }).run();
    assert.deepEqual(store.segments('old'), [store.writingOf('old')], 'ten-day-old segments deleted, all but the one being written');
    assert.equal(store.segments('new').length, before.now);
    // A floor above what is free: the oldest go until it is met, never the one being written.
    const fs = await statfs(root);
    const free = fs.bavail * fs.bsize;
    await new Retention(store, { keepDays: 0, minFree: { bytes: free + 3 * MiB }, log }).run();
    const left = store.segments('new');
    assert.ok(left.length < before.now, `${before.now} → ${left.length} segments`);
    assert.ok(left.includes(writing), 'the segment being written stays');
    const fs2 = await statfs(root);
    assert.ok(fs2.bavail * fs2.bsize >= free + 3 * MiB, 'the floor is met');
    // The oldest went first: what is left is the newest.
    const starts = left.map((s) => s.start);
    assert.deepEqual(starts, [...starts].sort((a, b) => a - b));
    assert.ok(lines.some((l) => /older than 7 days deleted/.test(l)) && lines.some((l) => /oldest segments? .* deleted to keep/.test(l)), lines.join('\n'));
    await recorder.close();
    detach();
  });

  it('stops recording a camera whose disk is full, keeps the partial segment playable, and resumes when there is room', async () => {
    const camera = new Camera('cam', 1, 'Porch');
    const { store, recorder, detach } = await recorderOn(path.join(mount, 'full'), [camera], { segmentMs: 60_000, retryMs: 200 });
    // A viewer that keeps watching throughout.
    let seen = 0;
    const viewer: FeedSink<CoreFrame> = { congested: () => false, choked: () => false, join: (f) => (seen += f.length), send: () => seen++, skipped: () => undefined };
    camera.attach(viewer);
    const s = streamer(camera, Date.now());
    // Leave ~3 MB: the 2 Mbit/s camera fills it within seconds of media.
    const fs = await statfs(store.root);
    const junk = path.join(mount, 'junk');
    await writeFile(junk, new Uint8Array(fs.bavail * fs.bsize - 3 * MiB));
    await streamUntilFailed(camera, s);
    assert.equal(camera.recording?.state, 'failed');
    assert.match(camera.recording?.message ?? '', /the disk is full; live view goes on, and recording resumes by itself/);
    assert.ok(lines.some((l) => /"Porch" \(cam\): recording stopped: the disk is full/.test(l)));
    const seenBefore = seen;
    s.push(2);
    assert.ok(seen > seenBefore, 'live view goes on');
    await sleep(300);
    const [partial] = store.segments('cam');
    assert.ok(partial, 'the partial segment is listed');
    checkRecording(probe(store.pathOf(partial)), true);
    // Room again: recording resumes by itself, in a new segment.
    await rm(junk);
    assert.equal(await resumed(camera), 'recording');
    s.push(3);
    await recorder.close();
    detach();
    const all = store.segments('cam');
    assert.ok(all.length >= 2, `${all.length} segments`);
    checkRecording(probe(store.pathOf(all.at(-1)!)), true);
  });

  it('stops recording on a disk that turns read-only, and resumes when it can write again', async () => {
    const root = path.join(mount, 'ro');
    const camera = new Camera('cam', 1, 'Hall');
    const { store, recorder, detach } = await recorderOn(root, [camera], { segmentMs: 2000, retryMs: 200 });
    const s = streamer(camera, Date.now());
    s.push(3);
    await sleep(200);
    // A read-only filesystem over the recordings' folder (a disk remounted read-only after errors):
    // the open segment's file goes on, the next one cannot be made. (Linux refuses to remount a
    // filesystem read-only while a file is open for writing on it; mounting over it shows the same.)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', root]);
    let over = true;
    const day = path.dirname(store.writingOf('cam')!.file);
    await mkdir(path.join(root, 'cam', day), { recursive: true });
    execFileSync('mount', ['-o', 'remount,ro', root]);
    try {
      await streamUntilFailed(camera, s);
      assert.equal(camera.recording?.state, 'failed');
      assert.match(camera.recording?.message ?? '', /the disk is read-only/);
      execFileSync('umount', [root]);
      over = false;
      assert.equal(await resumed(camera), 'recording');
      s.push(3);
      await recorder.close();
      detach();
      assert.ok(store.segments('cam').length >= 2);
      for (const seg of store.segments('cam')) checkRecording(probe(store.pathOf(seg)), true);
    } finally {
      if (over) execFileSync('umount', ['-l', root]);
    }
  });
});
