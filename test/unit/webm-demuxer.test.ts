// Tests for src/media/webm/webm-demuxer.ts (and the parser's frames mode): real MediaRecorder
// captures become tracks and frames, the same however the bytes are cut, matching what ffprobe reads.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import type { MediaFrame, Tracks } from '../../src/media/frames.ts';
import { WebmDemuxer } from '../../src/media/webm/webm-demuxer.ts';
import { WebmError } from '../../src/media/webm/webm-parser.ts';
import { loadFixture } from '../helpers/server.ts';

function demux(chunks: Uint8Array[]): { tracks: Tracks[]; frames: MediaFrame[] } {
  const d = new WebmDemuxer();
  const tracks: Tracks[] = [];
  const frames: MediaFrame[] = [];
  for (const c of chunks) for (const e of d.push(c)) (e.kind === 'tracks' ? tracks.push(e.tracks) : frames.push(e.frame));
  return { tracks, frames };
}

/** ffprobe's packets of a file: stream index, pts in µs, size, keyframe. */
function probePackets(name: string): { stream: number; pts: number; size: number; key: boolean }[] {
  const file = fileURLToPath(new URL(`../fixtures/${name}.webm`, import.meta.url));
  const out = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_packets', '-of', 'json', file], { encoding: 'utf8', maxBuffer: 64 << 20 })) as { packets: { stream_index: number; pts_time: string; size: string; flags: string }[] };
  return out.packets.map((p) => ({ stream: p.stream_index, pts: Math.round(Number(p.pts_time) * 1e6), size: Number(p.size), key: p.flags.startsWith('K') }));
}

describe('WebmDemuxer', () => {
  for (const name of ['chromium-vp8-opus', 'chromium-vp8', 'firefox-vp8-opus']) {
    it(`reads ${name} into the frames ffprobe sees, however the bytes are cut`, async () => {
      const { bytes, chunks } = await loadFixture(name);
      const whole = demux([bytes]);
      assert.equal(whole.tracks.length, 1);
      const tracks = whole.tracks[0]!;
      assert.deepEqual({ codec: tracks.video?.codec, width: tracks.video?.width, height: tracks.video?.height }, { codec: 'vp8', width: 320, height: 240 });
      if (name.endsWith('opus')) {
        assert.equal(tracks.audio?.codec, 'opus');
        assert.ok([44_100, 48_000].includes(tracks.audio!.sampleRate), 'the sample rate the file declares (Firefox says 44.1 kHz)');
        assert.ok(tracks.audio!.channels >= 1);
        assert.equal(new TextDecoder().decode(tracks.audio!.description!.subarray(0, 8)), 'OpusHead', 'the OpusHead is the decoder’s description');
      } else assert.equal(tracks.audio, null);

      const packets = probePackets(name);
      assert.equal(whole.frames.length, packets.length, 'one frame per packet');
      // ffprobe's streams are numbered in the file's track order; the video is the one with the keyframe sizes.
      const videoStream = packets.find((p) => p.size === whole.frames.find((f) => f.track === 'video')!.data.byteLength)!.stream;
      const video = whole.frames.filter((f) => f.track === 'video');
      const probedVideo = packets.filter((p) => p.stream === videoStream).sort((a, b) => a.pts - b.pts);
      assert.deepEqual(video.map((f) => [f.timestamp, f.data.byteLength, f.key]), probedVideo.map((p) => [p.pts, p.size, p.key]), 'video: the same times, sizes and keyframes');
      const audio = whole.frames.filter((f) => f.track === 'audio');
      const probedAudio = packets.filter((p) => p.stream !== videoStream).sort((a, b) => a.pts - b.pts);
      assert.deepEqual(audio.map((f) => f.data.byteLength), probedAudio.map((p) => p.size), 'audio: the same packets');
      // (ffprobe moves Opus by the codec delay Firefox declares: the spacing is what must match.)
      const shift = audio.map((f, i) => f.timestamp - probedAudio[i]!.pts);
      assert.ok(shift.every((d) => Math.abs(d - shift[0]!) <= 1000), 'audio: the same spacing');
      const videoKeys = whole.frames.filter((f) => f.track === 'video' && f.key).map((f) => f.timestamp);
      assert.ok(videoKeys.length >= 1 && videoKeys[0]! <= 1000, 'the first video frame is a keyframe');
      assert.ok(whole.frames.filter((f) => f.track === 'audio').every((f) => f.key), 'every audio frame is a place to start');
      for (const track of ['video', 'audio'] as const) {
        const times = whole.frames.filter((f) => f.track === track).map((f) => f.timestamp);
        assert.ok(times.every((t, i) => i === 0 || t >= times[i - 1]!), `${track} times never go back`);
      }

      const same = (got: { tracks: Tracks[]; frames: MediaFrame[] }, how: string): void => {
        assert.deepEqual(got.tracks, whole.tracks, how);
        assert.equal(got.frames.length, whole.frames.length, how);
        for (let i = 0; i < got.frames.length; i++) assert.deepEqual(got.frames[i], whole.frames[i], `${how}: frame ${i}`);
      };
      same(demux(chunks), 'in the real chunks');
      const odd: Uint8Array[] = [];
      for (let at = 0, n = 1; at < bytes.length; at += n, n = (n * 7 + 3) % 997) odd.push(bytes.subarray(at, at + n));
      same(demux(odd), 'in odd sizes');
    });
  }

  it('reads H.264 in Matroska without a CodecPrivate (Chromium’s picture recorder): tracks once the first keyframe’s SPS gives the codec, every frame in Annex B', async () => {
    const { bytes, chunks } = await loadFixture('chromium-h264-matroska');
    const whole = new WebmDemuxer().push(bytes);
    const d = new WebmDemuxer();
    const pieces = chunks.flatMap((c) => d.push(c));
    assert.deepEqual(pieces.map((e) => e.kind), whole.map((e) => e.kind), 'the same in the recorder’s pieces as whole');
    assert.equal(whole[0]?.kind, 'tracks', 'the tracks first');
    const tracks = (whole[0] as { tracks: Tracks }).tracks;
    assert.match(tracks.video!.codec, /^avc1\.[0-9a-f]{6}$/);
    assert.deepEqual([tracks.video!.width, tracks.video!.height, tracks.video!.description, tracks.audio], [320, 240, undefined, null]);
    const frames = whole.flatMap((e) => (e.kind === 'frame' ? [e.frame] : []));
    assert.equal(frames.length, 75, 'every block');
    assert.ok(frames[0]!.key, 'from the first keyframe');
    assert.deepEqual(frames.filter((f) => f.key).map((f) => Math.round(f.timestamp / 1000)), [0, 1018, 2051]);
    assert.ok(frames.every((f) => f.data[0] === 0 && f.data[1] === 0 && (f.data[2] === 1 || (f.data[2] === 0 && f.data[3] === 1))), 'Annex B start codes');
  });

  it('refuses laced blocks and codecs it cannot carry, with a clear error', () => {
    // EBML header, Segment (unknown size), Tracks with one video track of codec V_THEORA.
    const codec = new TextEncoder().encode('V_THEORA');
    const entry = [0xd7, 0x81, 0x01, 0x83, 0x81, 0x01, 0x86, 0x80 | codec.length, ...codec, 0xe0, 0x86, 0xb0, 0x81, 0x10, 0xba, 0x81, 0x10];
    const tracks = [0x16, 0x54, 0xae, 0x6b, 0x80 | (entry.length + 2), 0xae, 0x80 | entry.length, ...entry];
    const head = [0x1a, 0x45, 0xdf, 0xa3, 0x80, 0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    const d = new WebmDemuxer();
    assert.throws(
      () => d.push(new Uint8Array([...head, ...tracks])),
      (e: unknown) => e instanceof WebmError && e.code === 'WEBM_UNSUPPORTED' && /V_THEORA/.test(e.message),
    );
  });
});
