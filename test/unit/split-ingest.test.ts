// A MediaRecorder camera that records picture and sound in two recorders: the server reads both
// WebM streams and puts their frames on one timeline. Real media: the picture and the sound of a
// Chromium capture, written as two WebM streams (as the two recorders would) and cut into pieces.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MediaFrame } from '../../src/media/frames.ts';
import { WebmDemuxer } from '../../src/media/webm/webm-demuxer.ts';
import { WebmWriter } from '../../src/media/webm/webm-writer.ts';
import { Camera, type CoreFrame } from '../../src/server/core/camera.ts';
import type { FeedSink } from '../../src/server/core/feed.ts';
import { SplitIngest } from '../../src/server/ingest/split-ingest.ts';
import { concat, loadFixture } from '../helpers/server.ts';

/** The capture's tracks and frames, and each track written alone as WebM, in pieces of ~`piece` bytes. */
async function twoRecorders(piece = 700): Promise<{ video: Uint8Array[]; audio: Uint8Array[]; frames: MediaFrame[] }> {
  const { bytes } = await loadFixture('chromium-vp8-opus');
  const events = new WebmDemuxer().push(bytes);
  const tracks = events.find((e) => e.kind === 'tracks')!.tracks;
  const frames = events.flatMap((e) => (e.kind === 'frame' ? [e.frame] : []));
  const write = (track: 'video' | 'audio'): Uint8Array[] => {
    const writer = new WebmWriter(track === 'video' ? { video: tracks.video, audio: null } : { video: null, audio: tracks.audio });
    const all = concat([writer.init(), ...frames.filter((f) => f.track === track).map((f) => writer.push(f).bytes)]);
    const out: Uint8Array[] = [];
    for (let at = 0; at < all.byteLength; at += piece) out.push(all.subarray(at, at + piece));
    return out;
  };
  return { video: write('video'), audio: write('audio'), frames };
}

function collect(camera: Camera): CoreFrame[] {
  const got: CoreFrame[] = [];
  const sink: FeedSink<CoreFrame> = { congested: () => false, choked: () => false, join: (items) => got.push(...items), send: (f) => got.push(f), skipped: () => undefined };
  camera.attach(sink);
  camera.on('frame', () => undefined);
  return got;
}

describe('SplitIngest (picture and sound from two recorders)', () => {
  it('starts one period with both tracks and puts each recorder’s frames on one timeline, from when each started', async () => {
    const { video, audio, frames } = await twoRecorders();
    const camera = new Camera('c', 1, 'C');
    const periods: unknown[] = [];
    camera.on('tracks', (t) => periods.push(t));
    const all: CoreFrame[] = [];
    camera.on('frame', (f) => all.push(f));
    collect(camera);
    const ingest = new SplitIngest(camera);
    // The sound recorder started 7 ms after the picture's (camera clock); the server's clock is 1000 ms ahead.
    const epoch = { video: 1_700_000_000_000, audio: 1_700_000_000_007 };
    // The two streams' pieces interleaved as two recorders would hand them over.
    for (let i = 0; i < Math.max(video.length, audio.length); i++) {
      if (video[i]) ingest.push('video', video[i]!, epoch.video, epoch.video + 1000);
      if (audio[i]) ingest.push('audio', audio[i]!, epoch.audio, epoch.audio + 1000);
    }
    assert.equal(periods.length, 1, 'one period');
    const tracks = periods[0] as { video: { codec: string }; audio: { codec: string } };
    assert.deepEqual([tracks.video.codec, tracks.audio.codec], ['vp8', 'opus']);
    const byTrack = (list: { track: string }[], t: string): number => list.filter((f) => f.track === t).length;
    assert.equal(byTrack(all, 'video'), byTrack(frames, 'video'), 'every picture');
    assert.equal(byTrack(all, 'audio'), byTrack(frames, 'audio'), 'every sound packet');
    assert.ok(all.find((f) => f.track === 'video')!.key, 'the first picture is a keyframe (held while the sound was set up)');
    // Each track's times: its recorder's own, moved by when that recorder started (+1 s of headroom).
    const firstOf = (list: { track: string; timestamp: number }[], t: string): number => list.find((f) => f.track === t)!.timestamp;
    assert.equal(firstOf(all, 'video') - firstOf(frames, 'video'), 1_000_000);
    assert.equal(firstOf(all, 'audio') - firstOf(frames, 'audio'), 1_007_000);
    const v = all.find((f) => f.track === 'video')!;
    const source = frames.find((f) => f.track === 'video')!;
    assert.equal(v.time, epoch.video + 1000 + source.timestamp / 1000, 'capture time on the server’s clock');
  });

  it('starts without sound when the sound recorder says nothing for a second of video, and adds it as a new period when it comes', async () => {
    const { video, audio } = await twoRecorders();
    const camera = new Camera('c', 1, 'C');
    const periods: ({ audio: unknown } | null)[] = [];
    camera.on('tracks', (t) => periods.push(t));
    const got = collect(camera);
    const ingest = new SplitIngest(camera);
    for (const p of video) ingest.push('video', p, 1000, 0);
    assert.equal(periods.length, 1);
    assert.equal(periods[0]!.audio, null);
    assert.ok(got.length > 0 && got[0]!.key);
    for (const p of audio) ingest.push('audio', p, 1000, 0);
    assert.equal(periods.length, 2, 'a new period once the sound is set up');
    assert.notEqual(periods[1]!.audio, null);
  });
});
