// Tests for src/media/webm/webm-writer.ts: the real WebCodecs frames of test/fixtures (see its
// README) muxed live, then read back by ffprobe/ffmpeg (Debian's, /usr/bin) and by the project's
// own WebM parser; joins at every key unit; edge cases; codecs WebM cannot carry.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadFrames } from '../helpers/media.ts';
import { concatBytes } from '../../src/media/bytes.ts';
import type { MediaFrame, Tracks } from '../../src/media/frames.ts';
import { WebmWriter, type WebmUnit } from '../../src/media/webm/webm-writer.ts';
import { WebmParser, type WebmEvent } from '../../src/media/webm/webm-parser.ts';

const dir = mkdtempSync(join(tmpdir(), 'webm-writer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Probe {
  streams: { index: number; codec_type: string; codec_name: string; width?: number; height?: number; sample_rate?: string; channels?: number }[];
  packets: { stream_index: number; pts_time: string; flags: string; size: string }[];
}

let fileCount = 0;
function writeTemp(bytes: Uint8Array, ext = 'webm'): string {
  const file = join(dir, `out-${++fileCount}.${ext}`);
  writeFileSync(file, bytes);
  return file;
}

function ffprobe(bytes: Uint8Array): Probe {
  const run = spawnSync('/usr/bin/ffprobe', ['-v', 'error', '-show_streams', '-show_packets', '-of', 'json', writeTemp(bytes)], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stderr, '', 'ffprobe reported errors');
  return JSON.parse(run.stdout) as Probe;
}

/** The streams ffprobe finds in an init + one made-up frame (an init alone ends too early for it; the frame is not decoded). */
function probeStreams(writer: WebmWriter, frame: MediaFrame): Probe['streams'] {
  const run = spawnSync('/usr/bin/ffprobe', ['-v', 'fatal', '-show_streams', '-of', 'json', writeTemp(concatBytes([writer.init(), writer.push(frame).bytes]))], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return (JSON.parse(run.stdout) as Probe).streams;
}

/** Decodes every frame with ffmpeg; returns what it printed at level error (nothing = clean). */
function ffmpegDecodeErrors(bytes: Uint8Array): string {
  const run = spawnSync('/usr/bin/ffmpeg', ['-nostdin', '-v', 'error', '-i', writeTemp(bytes), '-f', 'null', '-'], { encoding: 'utf8' });
  return `${run.status === 0 ? '' : `exit ${run.status}\n`}${run.stderr}`;
}

function mux(tracks: Tracks, frames: MediaFrame[], date?: Date): { writer: WebmWriter; init: Uint8Array; units: WebmUnit[] } {
  const writer = new WebmWriter(tracks, date === undefined ? {} : { date });
  return { writer, init: writer.init(), units: frames.map((f) => writer.push(f)) };
}

function whole(init: Uint8Array, units: WebmUnit[]): Uint8Array {
  return concatBytes([init, ...units.map((u) => u.bytes)]);
}

function parse(bytes: Uint8Array): WebmEvent[] {
  return new WebmParser().push(bytes);
}

/** Asserts ffprobe sees, per track, the frames' count, pts (1 ms ticks) and keyframe flags. */
function assertProbeMatches(probe: Probe, frames: MediaFrame[]): void {
  for (const kind of ['video', 'audio'] as const) {
    const expected = frames.filter((f) => f.track === kind);
    const stream = probe.streams.find((s) => s.codec_type === kind);
    if (expected.length === 0) {
      assert.equal(stream, undefined, `no ${kind} stream expected`);
      continue;
    }
    assert.ok(stream, `a ${kind} stream`);
    const packets = probe.packets.filter((p) => p.stream_index === stream.index);
    assert.equal(packets.length, expected.length, `${kind} packets`);
    packets.forEach((p, k) => {
      const f = expected[k]!;
      assert.ok(Math.abs(Number(p.pts_time) - f.timestamp / 1e6) <= 0.0005 + 1e-9, `${kind} #${k} pts ${p.pts_time} vs ${f.timestamp} µs`);
      assert.equal(p.flags.startsWith('K'), f.key, `${kind} #${k} keyframe flag`);
      assert.equal(Number(p.size), f.data.length, `${kind} #${k} size`);
    });
  }
}

describe('WebmWriter: real VP8 + Opus frames', () => {
  const { tracks, frames } = loadFrames('chromium-webcodecs-vp8-opus');
  const { writer, init, units } = mux(tracks, frames, new Date('2026-01-02T03:04:05Z'));
  const file = whole(init, units);

  it('says its MSE type', () => {
    assert.equal(writer.mimeType, 'video/webm; codecs="vp8,opus"');
  });

  it('is read back by ffprobe with every packet, pts, keyframe flag, codec and size', () => {
    const probe = ffprobe(file);
    const video = probe.streams.find((s) => s.codec_type === 'video');
    const audio = probe.streams.find((s) => s.codec_type === 'audio');
    assert.deepEqual([video?.codec_name, video?.width, video?.height], ['vp8', 640, 480]);
    assert.deepEqual([audio?.codec_name, audio?.sample_rate, audio?.channels], ['opus', '48000', 2]);
    assertProbeMatches(probe, frames);
  });

  it('decodes without an error in ffmpeg', () => {
    assert.equal(ffmpegDecodeErrors(file), '');
  });

  it('is read back by the project parser: tracks, a block per frame, Clusters only at video keyframes', () => {
    const events = parse(file);
    const tracksEvent = events.find((e) => e.kind === 'tracks');
    assert.ok(tracksEvent !== undefined && tracksEvent.kind === 'tracks');
    assert.deepEqual(
      tracksEvent.tracks.map((t) => [t.number, t.type, t.codecId, t.width, t.height]),
      [
        [1, 'video', 'V_VP8', 640, 480],
        [2, 'audio', 'A_OPUS', undefined, undefined],
      ],
    );
    const blocks = events.filter((e) => e.kind === 'block');
    assert.equal(blocks.length, frames.length);
    blocks.forEach((b, k) => {
      const f = frames[k]!;
      assert.equal(b.track, f.track === 'video' ? 1 : 2);
      assert.equal(b.keyframe, f.key);
    });
    // Clusters: at the first frame (an audio packet here) and at every video keyframe, nowhere else.
    const clusters = events.filter((e) => e.kind === 'cluster').map((e) => (e as { offset: number }).offset);
    let at = init.length;
    const expected: number[] = [];
    units.forEach((u, k) => {
      if (k === 0 || u.key) expected.push(at);
      at += u.bytes.length;
    });
    assert.deepEqual(clusters, expected);
    assert.equal(units.filter((u) => u.key).length, frames.filter((f) => f.track === 'video' && f.key).length);
    // A key unit starts with its Cluster, whose first block is the keyframe.
    for (const u of units.filter((x) => x.key)) assert.deepEqual([...u.bytes.subarray(0, 4)], [0x1f, 0x43, 0xb6, 0x75]);
  });

  it('writes a live init: unknown Segment size, no Duration, DateUTC, TimestampScale 1 ms, apps named', () => {
    const hex = Buffer.from(init).toString('hex');
    assert.ok(hex.includes('1853806701ffffffffffffff'), 'Segment of unknown size');
    assert.ok(!hex.includes('4489'), 'no Duration');
    const date = Buffer.from(init).indexOf(Buffer.from([0x44, 0x61, 0x88]));
    assert.ok(date > 0, 'DateUTC');
    const ns = new DataView(init.buffer, init.byteOffset + date + 3, 8).getBigInt64(0);
    assert.equal(Number(ns / 1_000_000n) + Date.UTC(2001, 0, 1), Date.parse('2026-01-02T03:04:05Z'));
    assert.ok(hex.includes('2ad7b1830f4240'), 'TimestampScale 1000000');
    assert.equal(Buffer.from(init).indexOf('websocket-webcam') > 0, true);
    assert.ok(Buffer.from(init).includes(Buffer.from(tracks.audio!.description!)), 'the OpusHead as CodecPrivate');
    assert.equal(writer.init(), init, 'the same bytes every call');
  });

  it('gives every frame its bytes at once: one unit per push, holding that frame', () => {
    units.forEach((u, k) => {
      const data = frames[k]!.data;
      assert.deepEqual(u.bytes.subarray(u.bytes.length - data.length), data);
    });
  });

  it('joins at every key unit: init + bytes from there decode cleanly', () => {
    const keys = units.flatMap((u, k) => (u.key ? [k] : []));
    assert.equal(keys.length, 3);
    for (const k of keys) {
      const joined = whole(init, units.slice(k));
      assert.equal(ffmpegDecodeErrors(joined), '', `join at unit ${k}`);
      const probe = ffprobe(joined);
      assertProbeMatches(probe, frames.slice(k));
    }
  });
});

describe('WebmWriter: edge cases', () => {
  const { tracks, frames } = loadFrames('chromium-webcodecs-vp8-opus');
  const videoFrames = frames.filter((f) => f.track === 'video');
  const audioFrames = frames.filter((f) => f.track === 'audio');

  it('audio only: audio/webm, a Cluster about every second, each one a key unit', () => {
    const { writer, init, units } = mux({ video: null, audio: tracks.audio }, audioFrames);
    assert.equal(writer.mimeType, 'audio/webm; codecs="opus"');
    const file = whole(init, units);
    assertProbeMatches(ffprobe(file), audioFrames);
    assert.equal(ffmpegDecodeErrors(file), '');
    const keys = units.flatMap((u, k) => (u.key ? [audioFrames[k]!.timestamp] : []));
    assert.ok(keys.length >= 2 && keys.length <= 4, `${keys.length} clusters in 2.5 s`);
    for (let k = 1; k < keys.length; k++) assert.ok(keys[k]! - keys[k - 1]! >= 1_000_000 && keys[k]! - keys[k - 1]! < 1_100_000);
    assert.equal(parse(file).filter((e) => e.kind === 'cluster').length, keys.length);
    const last = keys[keys.length - 1]!;
    assert.equal(ffmpegDecodeErrors(whole(init, units.slice(audioFrames.findIndex((f) => f.timestamp === last)))), '');
  });

  it('video only: video/webm, Clusters at the keyframes', () => {
    const { writer, init, units } = mux({ video: tracks.video, audio: null }, videoFrames);
    assert.equal(writer.mimeType, 'video/webm; codecs="vp8"');
    const file = whole(init, units);
    assertProbeMatches(ffprobe(file), videoFrames);
    assert.equal(ffmpegDecodeErrors(file), '');
    assert.deepEqual(units.map((u) => u.key), videoFrames.map((f) => f.key));
    assert.equal(parse(file).filter((e) => e.kind === 'cluster').length, 3);
  });

  it('timestamps not starting at 0', () => {
    const shifted = frames.map((f) => ({ ...f, timestamp: f.timestamp + 3_600_000_000 }));
    const { init, units } = mux(tracks, shifted);
    assertProbeMatches(ffprobe(whole(init, units)), shifted);
  });

  it('a gap in time longer than a block can span starts a new Cluster (not a key unit)', () => {
    // 40 s with no media after the first second: the int16 ms relative time cannot span it.
    const cut = frames.findIndex((f) => f.timestamp > 1_500_000 && f.track === 'video' && !f.key);
    const gapped = frames.map((f, k) => (k >= cut ? { ...f, timestamp: f.timestamp + 40_000_000 } : f));
    const { init, units } = mux(tracks, gapped);
    const file = whole(init, units);
    assertProbeMatches(ffprobe(file), gapped);
    assert.equal(units[cut]!.key, false);
    assert.deepEqual([...units[cut]!.bytes.subarray(0, 4)], [0x1f, 0x43, 0xb6, 0x75], 'a Cluster before the frame after the gap');
    const clusters = parse(file).filter((e) => e.kind === 'cluster').length;
    const firstIsKey = frames[0]!.track === 'video' && frames[0]!.key;
    assert.equal(clusters, (firstIsKey ? 0 : 1) + 3 + 1, 'the first frame, the 3 keyframes, the gap');
  });

  it('a frame bigger than 64 KiB', () => {
    const big = new Uint8Array(200_000);
    big.set(videoFrames[0]!.data); // a real keyframe, padded: the decoder is not asked here
    const list: MediaFrame[] = [{ ...videoFrames[0]!, data: big }, ...videoFrames.slice(1, 5)];
    const { init, units } = mux({ video: tracks.video, audio: null }, list);
    const file = whole(init, units);
    assertProbeMatches(ffprobe(file), list);
    const blocks = parse(file).filter((e) => e.kind === 'block');
    assert.equal(blocks.length, 5);
  });

  it('AV1 and VP9 tracks get their CodecIDs (AV1 with an av1C CodecPrivate)', () => {
    const av1 = new WebmWriter({ video: { kind: 'video', codec: 'av01.0.04M.08', width: 640, height: 480 }, audio: null });
    assert.equal(av1.mimeType, 'video/webm; codecs="av01.0.04M.08"');
    const init = Buffer.from(av1.init());
    assert.ok(init.includes('V_AV1'));
    assert.ok(init.includes(Buffer.from([0x63, 0xa2, 0x84, 0x81, 0x04, 0x0c, 0x00])), 'av1C: profile 0, level 4, 8-bit 4:2:0');
    const frame: MediaFrame = { track: 'video', key: true, timestamp: 0, duration: 0, data: new Uint8Array(10) };
    assert.deepEqual(probeStreams(av1, frame).map((x) => [x.codec_name, x.width, x.height]), [['av1', 640, 480]]);
    const vp9 = new WebmWriter({ video: { kind: 'video', codec: 'vp09.00.10.08', width: 320, height: 240 }, audio: tracks.audio });
    assert.equal(vp9.mimeType, 'video/webm; codecs="vp09.00.10.08,opus"');
    assert.deepEqual(probeStreams(vp9, frame).map((x) => x.codec_name), ['vp9', 'opus']);
  });

  it('Opus without a description gets an OpusHead made from its rate and channels', () => {
    const writer = new WebmWriter({ video: null, audio: { kind: 'audio', codec: 'opus', sampleRate: 48000, channels: 1 } });
    const init = Buffer.from(writer.init());
    const at = init.indexOf('OpusHead');
    assert.deepEqual([...init.subarray(at + 8, at + 19)], [1, 1, 0, 0, 0x80, 0xbb, 0, 0, 0, 0, 0]);
    const packet: MediaFrame = { track: 'audio', key: true, timestamp: 0, duration: 0, data: new Uint8Array([0xf8, 0xff, 0xfe]) };
    assert.deepEqual(probeStreams(writer, packet).map((x) => [x.codec_name, x.channels, x.sample_rate]), [['opus', 1, '48000']]);
  });
});

describe('WebmWriter: bad input', () => {
  const audio = { kind: 'audio' as const, codec: 'opus', sampleRate: 48000, channels: 2 };

  it('refuses H.264, naming the codec and the format', () => {
    assert.throws(() => new WebmWriter({ video: { kind: 'video', codec: 'avc1.42e01f', width: 640, height: 480 }, audio }), {
      message: /WebM cannot carry video codec "avc1\.42e01f".*fragmented MP4/,
    });
  });

  it('refuses AAC, naming the codec and the format', () => {
    assert.throws(() => new WebmWriter({ video: null, audio: { ...audio, codec: 'mp4a.40.2' } }), { message: /WebM cannot carry audio codec "mp4a\.40\.2"/ });
  });

  it('refuses a stream without tracks, and frames of a track it lacks', () => {
    assert.throws(() => new WebmWriter({ video: null, audio: null }), /needs a video or an audio track/);
    const writer = new WebmWriter({ video: null, audio });
    assert.throws(() => writer.push({ track: 'video', key: true, timestamp: 0, duration: 0, data: new Uint8Array(1) }), /no video track/);
  });
});
