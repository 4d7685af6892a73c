// Tests for src/media/mp4/fmp4-writer.ts: real frames (the WebCodecs captures of test/fixtures,
// and the samples of its MP4 recordings) muxed live, then read back by ffprobe/ffmpeg (Debian's,
// /usr/bin) and by a small box walker; joins at every key unit; edge cases; codecs it refuses.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { loadFrames } from '../helpers/media.ts';
import { concatBytes } from '../../src/media/bytes.ts';
import type { AudioTrack, MediaFrame, Tracks, VideoTrack } from '../../src/media/frames.ts';
import { Fmp4Writer, type Fmp4WriterOptions, type Fmp4Unit } from '../../src/media/mp4/fmp4-writer.ts';
import { durationPatches } from '../../src/media/mp4/fmp4-file.ts';
import { opusPacketSamples } from '../../src/media/opus.ts';
import { buildAvcC, findParameterSets, joinAvc, nalType, splitAnnexB } from '../../src/media/h264.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'fmp4-writer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface ProbeStream {
  index: number;
  codec_type: string;
  codec_name: string;
  codec_tag_string: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  extradata?: string;
}
interface Probe {
  streams: ProbeStream[];
  packets: { stream_index: number; pts_time: string; duration: string; flags: string; size: string; pos: string }[];
}

let fileCount = 0;
function writeTemp(bytes: Uint8Array): string {
  const file = join(dir, `out-${++fileCount}.mp4`);
  writeFileSync(file, bytes);
  return file;
}

function ffprobeFile(file: string, data = false): Probe {
  const args = ['-v', 'error', '-show_streams', '-show_packets', ...(data ? ['-show_data'] : []), '-of', 'json', file];
  const run = spawnSync('/usr/bin/ffprobe', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stderr, '', 'ffprobe reported errors');
  return JSON.parse(run.stdout) as Probe;
}

const ffprobe = (bytes: Uint8Array): Probe => ffprobeFile(writeTemp(bytes));

/**
 * Decodes every frame with ffmpeg; returns what it printed at level error (nothing = clean). The
 * frames go to the null output with the file's own timestamps and time base: by default ffmpeg
 * re-times them to a frame rate it guesses from the durations, which the live muxer writes a
 * little long on purpose (see durationOf), and then complains of its own clashing timestamps.
 */
function ffmpegDecodeErrors(bytes: Uint8Array): string {
  const args = ['-nostdin', '-v', 'error', '-i', writeTemp(bytes), '-fps_mode', 'passthrough', '-enc_time_base', '-1', '-f', 'null', '-'];
  const run = spawnSync('/usr/bin/ffmpeg', args, { encoding: 'utf8' });
  return `${run.status === 0 ? '' : `exit ${run.status}\n`}${run.stderr}`;
}

/** Bytes from ffprobe's hexdump (`-show_data`). */
function hexdumpBytes(dump: string): Uint8Array {
  const hex = dump
    .split('\n')
    .map((line) => line.slice(10, 50).replace(/\s/g, ''))
    .join('');
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/**
 * The samples of an MP4 fixture (a browser's MediaRecorder) as the media form, read with ffprobe:
 * each packet's bytes sliced from the file at its position, its pts and keyframe flag; the codec
 * setup from the streams' extradata (avcC, AudioSpecificConfig, OpusHead).
 */
function loadMp4(name: string): { tracks: Tracks; frames: MediaFrame[] } {
  const file = fileURLToPath(new URL(`${name}.mp4`, FIXTURES));
  const bytes = new Uint8Array(readFileSync(file));
  const streams = ffprobeFile(file, true).streams;
  const packets = ffprobeFile(file).packets;
  const tracks: Tracks = { video: null, audio: null };
  const kinds = new Map<number, 'video' | 'audio'>();
  for (const s of streams) {
    const extradata = s.extradata === undefined ? undefined : hexdumpBytes(s.extradata);
    const description = extradata !== undefined && extradata.length > 0 ? extradata : undefined;
    if (s.codec_type === 'video') {
      const codec = s.codec_name === 'h264' ? `avc1.${Buffer.from(description!.subarray(1, 4)).toString('hex')}` : 'vp09.00.10.08';
      tracks.video = { kind: 'video', codec, width: s.width!, height: s.height!, description: s.codec_name === 'h264' ? description : undefined };
    } else {
      const codec = s.codec_name === 'aac' ? 'mp4a.40.2' : 'opus';
      tracks.audio = { kind: 'audio', codec, sampleRate: Number(s.sample_rate), channels: s.channels!, description };
    }
    kinds.set(s.index, s.codec_type as 'video' | 'audio');
  }
  // WebKit's last chunk repeats a moof (see the fixtures README): ffmpeg reads its samples twice,
  // the first time at wrong positions. A packet that goes back in time replaces those it overlaps.
  const byTrack = { video: [] as MediaFrame[], audio: [] as MediaFrame[] };
  for (const p of packets) {
    const track = kinds.get(p.stream_index)!;
    const at = Number(p.pos);
    const frame = { track, key: track === 'audio' || p.flags.startsWith('K'), timestamp: Math.round(Number(p.pts_time) * 1e6), duration: 0, data: bytes.subarray(at, at + Number(p.size)) };
    const list = byTrack[track];
    while (list.length > 0 && list[list.length - 1]!.timestamp >= frame.timestamp) list.pop();
    list.push(frame);
  }
  const frames = [...byTrack.video, ...byTrack.audio].sort((a, b) => a.timestamp - b.timestamp);
  return { tracks, frames };
}

function mux(tracks: Tracks, frames: MediaFrame[], options: Fmp4WriterOptions = {}): { writer: Fmp4Writer; init: Uint8Array; units: Fmp4Unit[]; kept: MediaFrame[] } {
  const writer = new Fmp4Writer(tracks, options);
  const units: Fmp4Unit[] = [];
  const kept: MediaFrame[] = [];
  for (const f of frames) {
    const unit = writer.push(f);
    if (unit === null) continue;
    units.push(unit);
    kept.push(f);
  }
  const init = writer.init();
  assert.ok(init !== null, 'an init once frames have come');
  return { writer, init, units, kept };
}

const whole = (init: Uint8Array, units: Fmp4Unit[]): Uint8Array => concatBytes([init, ...units.map((u) => u.bytes)]);

/** Asserts ffprobe sees, per track, the frames' count, pts (within the track's timescale), keyframe flags and (optionally) sizes. */
function assertProbeMatches(probe: Probe, frames: MediaFrame[], checkSizes = true): void {
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
    const tick = kind === 'video' ? 1 / 90000 : 1 / Number(stream.sample_rate);
    packets.forEach((p, k) => {
      const f = expected[k]!;
      assert.ok(Math.abs(Number(p.pts_time) - f.timestamp / 1e6) <= tick + 1e-6, `${kind} #${k} pts ${p.pts_time} vs ${f.timestamp} µs`);
      assert.equal(p.flags.startsWith('K'), f.key, `${kind} #${k} keyframe flag`);
      if (checkSizes) assert.equal(Number(p.size), f.data.length, `${kind} #${k} size`);
    });
  }
}

/** The boxes of a unit: [type, start, size] at the top level, and the moof's fields this muxer writes. */
function readFragment(bytes: Uint8Array): { sequence: number; trackId: number; decodeTime: bigint; duration: number; size: number; flags: number; data: Uint8Array } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const moofSize = v.getUint32(0);
  assert.equal(String.fromCharCode(...bytes.subarray(4, 8)), 'moof');
  assert.equal(String.fromCharCode(...bytes.subarray(moofSize + 4, moofSize + 8)), 'mdat');
  assert.equal(v.getUint32(moofSize), bytes.length - moofSize, 'the mdat runs to the end of the unit');
  const find = (type: string): number => {
    const at = Buffer.from(bytes.subarray(0, moofSize)).indexOf(type);
    assert.ok(at > 0, type);
    return at + 4;
  };
  const tfhd = find('tfhd');
  assert.equal(v.getUint32(tfhd) & 0xffffff, 0x020000, 'default-base-is-moof');
  const tfdt = find('tfdt');
  assert.equal(bytes[tfdt], 1, 'tfdt version 1');
  const trun = find('trun');
  assert.equal(v.getUint32(trun + 4), 1, 'one sample');
  const dataOffset = v.getInt32(trun + 8);
  const size = v.getUint32(trun + 16);
  return {
    sequence: v.getUint32(find('mfhd') + 4),
    trackId: v.getUint32(tfhd + 4),
    decodeTime: v.getBigUint64(tfdt + 4),
    duration: v.getUint32(trun + 12),
    size,
    flags: v.getUint32(trun + 20),
    data: bytes.subarray(dataOffset, dataOffset + size),
  };
}

describe('Fmp4Writer: real H.264 (Annex B) + Opus frames', () => {
  const { tracks, frames } = loadFrames('chromium-webcodecs-h264-opus', 0);
  const { writer, init, units, kept } = mux(tracks, frames);
  const file = whole(init, units);

  it('says its MSE type', () => {
    assert.equal(writer.mimeType, 'video/mp4; codecs="avc1.42e01f,opus"');
  });

  it('has no init, and drops frames, until the first keyframe with SPS/PPS', () => {
    const w = new Fmp4Writer(tracks);
    assert.equal(w.init(), null);
    const audio = frames.find((f) => f.track === 'audio')!;
    const delta = frames.find((f) => f.track === 'video' && !f.key)!;
    assert.equal(w.push(audio), null);
    assert.equal(w.push(delta), null);
    assert.equal(w.init(), null);
    const key = frames.find((f) => f.track === 'video' && f.key)!;
    const unit = w.push(key);
    assert.ok(unit !== null && unit.key);
    assert.deepEqual(w.init(), init);
    assert.equal(w.init(), w.init(), 'the same bytes every call');
  });

  it('is read back by ffprobe with every packet, pts, keyframe flag, codec and size', () => {
    const probe = ffprobe(file);
    const video = probe.streams.find((s) => s.codec_type === 'video');
    const audio = probe.streams.find((s) => s.codec_type === 'audio');
    assert.deepEqual([video?.codec_name, video?.codec_tag_string, video?.width, video?.height], ['h264', 'avc1', 640, 480]);
    assert.deepEqual([audio?.codec_name, audio?.codec_tag_string, audio?.sample_rate, audio?.channels], ['opus', 'Opus', '48000', 2]);
    // Sizes differ from the Annex B input (start codes → lengths, SPS/PPS moved to the avcC).
    assert.equal(kept.length, frames.length - frames.findIndex((f) => f.track === 'video' && f.key));
    assertProbeMatches(probe, kept, false);
  });

  it('decodes without an error in ffmpeg', () => {
    assert.equal(ffmpegDecodeErrors(file), '');
  });

  it('writes one moof + mdat per frame at once: sequence numbers, track, decode time, duration, flags, AVC data', () => {
    units.forEach((u, k) => {
      const f = kept[k]!;
      const frag = readFragment(u.bytes);
      assert.equal(frag.sequence, k + 1);
      assert.equal(frag.trackId, f.track === 'video' ? 1 : 2);
      const timescale = f.track === 'video' ? 90000 : 48000;
      assert.equal(frag.decodeTime, BigInt(Math.round((f.timestamp * timescale) / 1e6)));
      assert.equal(frag.flags, f.key ? 0x02000000 : 0x01010000);
      assert.equal(u.key, f.track === 'video' && f.key);
      if (f.track === 'audio') {
        assert.equal(frag.duration, opusPacketSamples(f.data), 'Opus: the packet TOC says');
        assert.deepEqual(frag.data, f.data);
      } else {
        // AVC form, no start codes, no parameter sets (in the avcC), the slices as they were.
        const slices = splitAnnexB(f.data).filter((n) => nalType(n) !== 7 && nalType(n) !== 8);
        assert.deepEqual(frag.data, joinAvc(slices));
        assert.ok(frag.duration > 2000 && frag.duration < 20000, `video duration ${frag.duration}`);
      }
    });
  });

  it('builds the avcC from the first keyframe (ffprobe reads it as extradata)', () => {
    const probe = ffprobeFile(writeTemp(file), true);
    const extradata = hexdumpBytes(probe.streams.find((s) => s.codec_type === 'video')!.extradata!);
    const sets = findParameterSets(frames.find((f) => f.track === 'video' && f.key)!.data)!;
    assert.deepEqual(extradata, buildAvcC(sets.sps, sets.pps));
  });

  it('joins at every key unit: init + bytes from there decode cleanly', () => {
    const keys = units.flatMap((u, k) => (u.key ? [k] : []));
    assert.equal(keys.length, 3);
    for (const k of keys) {
      const joined = whole(init, units.slice(k));
      assert.equal(ffmpegDecodeErrors(joined), '', `join at unit ${k}`);
      assertProbeMatches(ffprobe(joined), kept.slice(k), false);
    }
  });

  it('gives the same file from AVC frames with an avcC description', () => {
    const first = frames.find((f) => f.track === 'video' && f.key)!;
    const sets = findParameterSets(first.data)!;
    const avcTrack: VideoTrack = { ...tracks.video!, description: buildAvcC(sets.sps, sets.pps) };
    const avcFrames = kept.map((f) => (f.track === 'video' ? { ...f, data: joinAvc(splitAnnexB(f.data).filter((n) => nalType(n) !== 7 && nalType(n) !== 8)) } : f));
    const again = mux({ video: avcTrack, audio: tracks.audio }, avcFrames);
    assert.equal(again.writer.mimeType, writer.mimeType);
    assert.deepEqual(whole(again.init, again.units), file);
  });
});

describe('Fmp4Writer: real H.264 (avcC, Main) + AAC samples from WebKit', () => {
  it('round-trips through ffprobe and ffmpeg, from the start and from every key unit', () => {
    const { tracks, frames } = loadMp4('webkit-h264-aac');
    const { writer, init, units, kept } = mux(tracks, frames);
    assert.equal(kept.length, frames.length);
    assert.equal(writer.mimeType, 'video/mp4; codecs="avc1.4d402a,mp4a.40.2"');
    const file = whole(init, units);
    const probe = ffprobe(file);
    const audio = probe.streams.find((s) => s.codec_type === 'audio');
    assert.deepEqual([audio?.codec_name, audio?.codec_tag_string, audio?.sample_rate, audio?.channels], ['aac', 'mp4a', '44100', 1]);
    assert.deepEqual(probe.streams.filter((s) => s.codec_type === 'video').map((s) => [s.codec_name, s.width, s.height]), [['h264', 320, 240]]);
    assertProbeMatches(probe, frames);
    assert.equal(ffmpegDecodeErrors(file), '');
    const keys = units.flatMap((u, k) => (u.key ? [k] : []));
    assert.ok(keys.length >= 7, `${keys.length} keyframes`);
    for (const k of keys.slice(0, 3)) assert.equal(ffmpegDecodeErrors(whole(init, units.slice(k))), '', `join at unit ${k}`);
    // AAC durations: no frame duration, so the gap to the previous frame (1024 samples), the first one the default.
    const durations = units.filter((_, k) => kept[k]!.track === 'audio').map((u) => readFragment(u.bytes).duration);
    assert.deepEqual([...new Set(durations)], [1024]);
  });

  it('builds the same AudioSpecificConfig when AAC comes without one', () => {
    const { tracks, frames } = loadMp4('webkit-h264-aac');
    const audio = tracks.audio!;
    const bare: AudioTrack = { ...audio, description: undefined };
    const audioFrames = frames.filter((f) => f.track === 'audio');
    const withOne = mux({ video: null, audio }, audioFrames);
    const without = mux({ video: null, audio: bare }, audioFrames);
    assert.deepEqual(without.init, withOne.init);
    assert.deepEqual([...audio.description!], [0x12, 0x08]);
    assert.equal(without.writer.mimeType, 'audio/mp4; codecs="mp4a.40.2"');
  });
});

describe('Fmp4Writer: real VP9 + Opus samples from Chromium', () => {
  it('round-trips through ffprobe and ffmpeg as vp09 + vpcC', () => {
    const { tracks, frames } = loadMp4('chromium-vp9-opus');
    const { writer, init, units } = mux(tracks, frames);
    assert.equal(writer.mimeType, 'video/mp4; codecs="vp09.00.10.08,opus"');
    const file = whole(init, units);
    const probe = ffprobe(file);
    const video = probe.streams.find((s) => s.codec_type === 'video');
    assert.deepEqual([video?.codec_name, video?.codec_tag_string, video?.width, video?.height], ['vp9', 'vp09', 320, 240]);
    assert.deepEqual(probe.streams.filter((s) => s.codec_type === 'audio').map((s) => [s.codec_name, s.sample_rate, s.channels]), [['opus', '48000', 1]]);
    assertProbeMatches(probe, frames);
    assert.equal(ffmpegDecodeErrors(file), '');
    const last = units.map((u) => u.key).lastIndexOf(true);
    assert.ok(last > 0);
    assert.equal(ffmpegDecodeErrors(whole(init, units.slice(last))), '');
  });
});

describe('Fmp4Writer: edge cases', () => {
  const { tracks, frames } = loadFrames('chromium-webcodecs-h264-opus', 0);
  const videoFrames = frames.filter((f) => f.track === 'video');
  const audioFrames = frames.filter((f) => f.track === 'audio');

  it('audio only: audio/mp4, every fragment a key unit, decodes from anywhere', () => {
    const { writer, init, units } = mux({ video: null, audio: tracks.audio }, audioFrames);
    assert.equal(writer.mimeType, 'audio/mp4; codecs="opus"');
    assert.ok(units.every((u) => u.key));
    assert.ok(units.every((u) => readFragment(u.bytes).trackId === 1));
    const file = whole(init, units);
    assertProbeMatches(ffprobe(file), audioFrames);
    assert.equal(ffmpegDecodeErrors(file), '');
    assert.equal(ffmpegDecodeErrors(whole(init, units.slice(77))), '');
  });

  it('a live stream\'s init says nothing of its length; a file\'s has an mehd, 0 until its duration is filled in, and reads whole', () => {
    const { init: liveInit, units: liveUnits, kept } = mux(tracks, frames);
    const { init: fileInit, units: fileUnits } = mux(tracks, frames, { file: true });
    assert.deepEqual(durationPatches(liveInit, 5_000_000), [], 'no mehd in a live stream');
    assert.equal(fileInit.length, liveInit.length + 16, 'a 16-byte mehd');
    const patches = durationPatches(fileInit, 3_210_400);
    assert.equal(patches.length, 2);
    for (const p of patches) assert.equal(new DataView(fileInit.buffer, fileInit.byteOffset).getUint32(p.at), 0, 'unknown until filled in');
    const filled = whole(fileInit, fileUnits);
    for (const p of patches) filled.set(p.bytes, p.at);
    for (const p of patches) assert.equal(new DataView(filled.buffer).getUint32(p.at), 3210, 'ms');
    // The file is read whole, every frame as written, as the live stream is.
    assertProbeMatches(ffprobe(filled), kept, false);
    assertProbeMatches(ffprobe(whole(liveInit, liveUnits)), kept, false);
  });

  it('video only: video/mp4, key units at the keyframes', () => {
    const { writer, init, units, kept } = mux({ video: tracks.video, audio: null }, videoFrames);
    assert.equal(writer.mimeType, 'video/mp4; codecs="avc1.42e01f"');
    assert.deepEqual(units.map((u) => u.key), kept.map((f) => f.key));
    const file = whole(init, units);
    assertProbeMatches(ffprobe(file), kept, false);
    assert.equal(ffmpegDecodeErrors(file), '');
  });

  it('timestamps not starting at 0 (a day in: past 2^32 ticks at 90 kHz)', () => {
    const shifted = frames.map((f) => ({ ...f, timestamp: f.timestamp + 86_400_000_000 }));
    const { init, units, kept } = mux(tracks, shifted);
    assert.ok(readFragment(units[0]!.bytes).decodeTime > 2n ** 32n);
    assertProbeMatches(ffprobe(whole(init, units)), kept, false);
  });

  it('a gap in time: the decode times jump, the durations stay those of a frame', () => {
    const cut = frames.findIndex((f) => f.timestamp > 1_500_000 && f.track === 'video');
    const gapped = frames.map((f, k) => (k >= cut ? { ...f, timestamp: f.timestamp + 40_000_000 } : f));
    const { init, units, kept } = mux(tracks, gapped);
    const file = whole(init, units);
    assertProbeMatches(ffprobe(file), kept, false);
    assert.equal(ffmpegDecodeErrors(file), '');
    const after = readFragment(units[kept.indexOf(gapped[cut]!)]!.bytes);
    assert.ok(after.duration < 9000, `duration after the gap ${after.duration}`);
  });

  it('a frame bigger than 64 KiB', () => {
    const key = videoFrames[0]!;
    // A real keyframe followed by a filler NAL unit (type 12) of 200 kB: still a valid access unit.
    const filler = new Uint8Array(200_000).fill(0xff);
    filler[0] = 12;
    filler[filler.length - 1] = 0x80;
    const big = concatBytes([key.data, new Uint8Array([0, 0, 0, 1]), filler]);
    const list: MediaFrame[] = [{ ...key, data: big }, ...videoFrames.slice(1, 5)];
    const { init, units, kept } = mux({ video: tracks.video, audio: null }, list);
    const file = whole(init, units);
    const probe = ffprobe(file);
    assertProbeMatches(probe, kept, false);
    assert.ok(Number(probe.packets[0]!.size) > 200_000);
    assert.equal(ffmpegDecodeErrors(file), '');
  });

  it('Opus without a description gets a dOps from its rate and channels', () => {
    const bare: AudioTrack = { kind: 'audio', codec: 'opus', sampleRate: 48000, channels: 2 };
    const { init, units } = mux({ video: null, audio: bare }, audioFrames);
    const dops = Buffer.from(init).indexOf('dOps');
    assert.deepEqual([...init.subarray(dops + 4, dops + 15)], [0, 2, 0, 0, 0, 0, 0xbb, 0x80, 0, 0, 0]);
    assert.equal(ffmpegDecodeErrors(whole(init, units)), '');
  });

  it('uses the frame duration when it has one, else a guess never under 1.5 frame intervals', () => {
    const w = new Fmp4Writer({ video: tracks.video, audio: null });
    const [first, second] = videoFrames;
    const a = w.push({ ...first!, duration: 40_000 })!;
    assert.equal(readFragment(a.bytes).duration, 3600);
    const w2 = new Fmp4Writer({ video: tracks.video, audio: null });
    assert.equal(readFragment(w2.push(first!)!.bytes).duration, 4500, '1.5 × 1/30 s');
    const gap = Math.round((second!.timestamp * 9) / 100) - Math.round((first!.timestamp * 9) / 100);
    assert.equal(readFragment(w2.push(second!)!.bytes).duration, Math.round(Math.max(gap, 1.5 * gap)));
  });

  it('a skipped frame or uneven timestamps never make a gap MSE takes as a discontinuity', () => {
    // MSE drops everything up to the next keyframe when a decode time is more than twice the
    // previous frame's duration past it. A camera at 30 fps that skips a frame, then MediaRecorder's
    // uneven timestamps (21 ms, then 46 ms):
    const times = [0, 33_333, 66_667, 100_000, 166_667, 200_000, 221_000, 267_000, 288_000, 334_000, 355_000, 401_000, 500_000];
    const w = new Fmp4Writer({ video: tracks.video, audio: null });
    let previous: { time: number; duration: number } | null = null;
    times.forEach((t, k) => {
      const frag = readFragment(w.push({ ...videoFrames[k]!, timestamp: t, duration: 0 })!.bytes);
      const time = Number(frag.decodeTime);
      if (previous !== null) assert.ok(time - previous.time <= 2 * previous.duration, `frame at ${t} µs: ${time - previous.time} ticks after one of ${previous.duration}`);
      previous = { time, duration: frag.duration };
    });
  });

  it('drops access unit delimiters and keeps parameter sets that differ from the avcC', () => {
    const w = new Fmp4Writer({ video: tracks.video, audio: null });
    const key = videoFrames[0]!;
    w.push(key);
    const sets = findParameterSets(key.data)!;
    const otherPps = Uint8Array.from(sets.pps[0]!);
    otherPps[otherPps.length - 1]! ^= 1;
    const slices = splitAnnexB(key.data).filter((n) => nalType(n) === 5);
    const aud = new Uint8Array([0x09, 0xf0]);
    const input = concatBytes([new Uint8Array([0, 0, 0, 1]), aud, new Uint8Array([0, 0, 1]), sets.sps[0]!, new Uint8Array([0, 0, 1]), otherPps, new Uint8Array([0, 0, 0, 1]), slices[0]!]);
    const unit = w.push({ ...key, timestamp: key.timestamp + 33_333, data: input })!;
    assert.deepEqual(readFragment(unit.bytes).data, joinAvc([otherPps, slices[0]!]));
  });
});

describe('Fmp4Writer: bad input', () => {
  const opus: AudioTrack = { kind: 'audio', codec: 'opus', sampleRate: 48000, channels: 2 };
  const video = (codec: string): VideoTrack => ({ kind: 'video', codec, width: 640, height: 480 });

  it('refuses VP8 and AV1, naming the codec and the format', () => {
    assert.throws(() => new Fmp4Writer({ video: video('vp8'), audio: opus }), { message: /fragmented MP4 here cannot carry video codec "vp8".*WebM/ });
    assert.throws(() => new Fmp4Writer({ video: video('av01.0.04M.08'), audio: null }), { message: /fragmented MP4 here cannot carry video codec "av01\.0\.04M\.08"/ });
  });

  it('refuses audio codecs other than Opus and AAC', () => {
    assert.throws(() => new Fmp4Writer({ video: null, audio: { ...opus, codec: 'flac' } }), { message: /fragmented MP4 here cannot carry audio codec "flac"/ });
  });

  it('refuses a broken avcC, a stream without tracks, frames of a missing track, negative timestamps', () => {
    assert.throws(() => new Fmp4Writer({ video: { ...video('avc1.42e01f'), description: new Uint8Array([2, 0, 0]) }, audio: null }), /not a valid avcC/);
    assert.throws(() => new Fmp4Writer({ video: null, audio: null }), /needs a video or an audio track/);
    const w = new Fmp4Writer({ video: null, audio: opus });
    assert.throws(() => w.push({ track: 'video', key: true, timestamp: 0, duration: 0, data: new Uint8Array(1) }), /no video track/);
    assert.throws(() => w.push({ track: 'audio', key: true, timestamp: -1, duration: 0, data: new Uint8Array(1) }), RangeError);
  });
});

describe('Fmp4Writer: codec strings', () => {
  it('says the avcC\'s codec string when the track has no full one (Annex B: once the first keyframe came)', () => {
    const { frames } = loadFrames('chromium-webcodecs-h264-opus', 0);
    const w = new Fmp4Writer({ video: { kind: 'video', codec: 'avc1', width: 640, height: 480 }, audio: null });
    w.push(frames.find((f) => f.track === 'video' && f.key)!);
    assert.equal(w.mimeType, 'video/mp4; codecs="avc1.42c01e"');
    const avc3 = new Fmp4Writer({ video: { kind: 'video', codec: 'avc3.64001f', width: 640, height: 480 }, audio: null });
    assert.equal(avc3.mimeType, 'video/mp4; codecs="avc1.64001f"');
    const vp9 = new Fmp4Writer({ video: { kind: 'video', codec: 'vp9', width: 640, height: 480 }, audio: null });
    assert.equal(vp9.mimeType, 'video/mp4; codecs="vp09.00.31.08"');
  });
});

describe('Fmp4Writer: read back by the project\'s fMP4 demuxer', () => {
  it('gives back the tracks and every frame (time, key, AVC data) of the real H.264 + Opus stream', async () => {
    const { Fmp4Demuxer } = await import('../../src/media/mp4/fmp4-demuxer.ts');
    const { tracks, frames } = loadFrames('chromium-webcodecs-h264-opus', 0);
    const { init, units, kept } = mux(tracks, frames);
    const demuxer = new Fmp4Demuxer();
    const events = [init, ...units.map((u) => u.bytes)].flatMap((b) => demuxer.push(b));
    const found = events.flatMap((e) => (e.kind === 'tracks' ? [] : [e.frame]));
    const got = events.find((e) => e.kind === 'tracks');
    assert.ok(got !== undefined && got.kind === 'tracks');
    assert.deepEqual([got.tracks.video?.codec, got.tracks.video?.width, got.tracks.video?.height], ['avc1.42c01e', 640, 480]);
    assert.ok(got.tracks.video?.description !== undefined, 'an avcC');
    assert.deepEqual([got.tracks.audio?.codec, got.tracks.audio?.sampleRate, got.tracks.audio?.channels], ['opus', 48000, 2]);
    assert.equal(found.length, kept.length);
    found.forEach((f, k) => {
      const e = kept[k]!;
      assert.equal(f.track, e.track);
      assert.equal(f.key, e.key);
      assert.ok(Math.abs(f.timestamp - e.timestamp) <= 12, `#${k} ${f.timestamp} vs ${e.timestamp}`);
      const expected = e.track === 'audio' ? e.data : joinAvc(splitAnnexB(e.data).filter((n) => nalType(n) !== 7 && nalType(n) !== 8));
      assert.deepEqual(f.data, expected);
    });
  });
});
