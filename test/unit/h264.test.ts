// Tests for src/media/h264.ts: Annex B ↔ AVC on made-up and real streams (Chromium's WebCodecs
// H.264 fixture, libx264 through Debian's ffmpeg), and the avcC records it builds compared byte for
// byte with ffmpeg's.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  annexBToAvc,
  avcCodecString,
  avcToAnnexB,
  buildAvcC,
  findParameterSets,
  joinAnnexB,
  joinAvc,
  nalType,
  parseAvcC,
  parseSps,
  splitAnnexB,
  splitAvc,
} from '../../src/media/h264.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'h264-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const bytes = (...list: number[]): Uint8Array => Uint8Array.from(list);

/** The video frames of a `.frames` fixture (u32 length, 16-byte header, payload), in order. */
function videoFrames(name: string): { key: boolean; data: Uint8Array }[] {
  const buf = new Uint8Array(readFileSync(new URL(`${name}.frames`, FIXTURES)));
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: { key: boolean; data: Uint8Array }[] = [];
  for (let at = 0; at < buf.length; ) {
    const length = view.getUint32(at);
    const flags = buf[at + 5]!;
    if ((flags & 4) === 0) out.push({ key: (flags & 2) !== 0, data: buf.subarray(at + 20, at + 4 + length) });
    at += 4 + length;
  }
  return out;
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** The avcC ffmpeg writes when it puts an Annex B file into MP4 (its `extradata`). */
function ffmpegAvcC(annexBFile: string): Uint8Array {
  const mp4 = `${annexBFile}.mp4`;
  run('/usr/bin/ffmpeg', ['-nostdin', '-v', 'error', '-f', 'h264', '-i', annexBFile, '-c', 'copy', '-y', mp4]);
  const probe = JSON.parse(run('/usr/bin/ffprobe', ['-v', 'error', '-show_streams', '-show_data', '-of', 'json', mp4])) as { streams: { extradata: string }[] };
  const hex = probe.streams[0]!.extradata.split('\n').map((l) => l.slice(10, 50).replace(/\s/g, '')).join('');
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** An Annex B stream of 3 frames made by libx264 with the given profile and pixel format. */
function x264(profile: string, pixFmt: string): string {
  const file = join(dir, `${profile}.h264`);
  run('/usr/bin/ffmpeg', ['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10', '-frames:v', '3', '-c:v', 'libx264', '-profile:v', profile, '-pix_fmt', pixFmt, '-bf', '0', '-f', 'h264', '-y', file]);
  return file;
}

describe('splitAnnexB / joinAnnexB', () => {
  it('splits at 3- and 4-byte start codes, drops trailing zeros and bytes before the first start code', () => {
    const stream = bytes(0xaa, 0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 0, 1, 0x65, 4, 5, 0);
    assert.deepEqual(
      splitAnnexB(stream).map((u) => [...u]),
      [
        [0x67, 1, 2],
        [0x68, 3],
        [0x65, 4, 5],
      ],
    );
  });

  it('keeps emulation-prevented bytes inside a unit', () => {
    assert.deepEqual(
      splitAnnexB(bytes(0, 0, 1, 0x65, 0, 0, 3, 1, 7)).map((u) => [...u]),
      [[0x65, 0, 0, 3, 1, 7]],
    );
  });

  it('finds nothing in bytes without a start code', () => {
    assert.deepEqual(splitAnnexB(bytes()), []);
    assert.deepEqual(splitAnnexB(bytes(1, 2, 3, 0, 0)), []);
    assert.deepEqual(splitAnnexB(bytes(0, 0, 1)), []);
  });

  it('round-trips any NAL units (fast-check)', () => {
    // A NAL unit never holds 00 00 00/01/02/03 (emulation prevention) and never ends with 00.
    const nal = fc
      .uint8Array({ minLength: 1, maxLength: 40 })
      .map((u) => {
        const out: number[] = [];
        for (const b of u) {
          if (out.length >= 2 && out[out.length - 1] === 0 && out[out.length - 2] === 0 && b <= 3) out.push(3);
          out.push(b);
        }
        if (out[out.length - 1] === 0) out.push(0x80);
        return Uint8Array.from(out);
      });
    fc.assert(
      fc.property(fc.array(nal, { maxLength: 8 }), (units) => {
        const annexB = joinAnnexB(units);
        assert.deepEqual(splitAnnexB(annexB), units);
        const avc = annexBToAvc(annexB);
        assert.deepEqual(splitAvc(avc), units);
        assert.deepEqual(avcToAnnexB(avc), annexB);
      }),
    );
  });
});

describe('splitAvc / joinAvc', () => {
  it('reads 1-, 2- and 4-byte lengths', () => {
    assert.deepEqual(splitAvc(bytes(2, 0x67, 1, 1, 0x68), 1).map((u) => [...u]), [[0x67, 1], [0x68]]);
    assert.deepEqual(splitAvc(bytes(0, 1, 0x65), 2).map((u) => [...u]), [[0x65]]);
    assert.deepEqual([...joinAvc([bytes(0x65, 9)])], [0, 0, 0, 2, 0x65, 9]);
  });

  it('throws on a length running past the end, or a bad length size', () => {
    assert.throws(() => splitAvc(bytes(0, 0, 0, 5, 0x65)), /runs past the end/);
    assert.throws(() => splitAvc(bytes(0, 0)), /truncated NAL length/);
    assert.throws(() => splitAvc(bytes(1, 0x65), 3), /NAL length size 3/);
  });
});

describe('real streams', () => {
  const frames = videoFrames('chromium-webcodecs-h264-opus');

  it('finds the SPS and PPS in every Chromium keyframe, none in the delta frames', () => {
    for (const f of frames) {
      const sets = findParameterSets(f.data);
      assert.equal(sets !== null, f.key);
      if (sets !== null) {
        assert.deepEqual([sets.sps.length, sets.pps.length], [1, 1]);
        assert.equal(nalType(sets.sps[0]!), 7);
        assert.equal(nalType(sets.pps[0]!), 8);
      }
    }
  });

  it('converts every Chromium frame to AVC and back without a change of NAL units', () => {
    for (const f of frames) {
      const units = splitAnnexB(f.data);
      assert.ok(units.length >= 1);
      const avc = annexBToAvc(f.data);
      assert.deepEqual(splitAvc(avc), units);
      assert.deepEqual(splitAnnexB(avcToAnnexB(avc)), units);
    }
  });

  it('builds the avcC ffmpeg builds, and the codec string, for Chromium (Constrained Baseline)', () => {
    const first = frames[0]!;
    const sets = findParameterSets(first.data)!;
    const avcC = buildAvcC(sets.sps, sets.pps);
    const file = join(dir, 'chromium.h264');
    writeFileSync(file, Buffer.concat(frames.map((f) => Buffer.from(f.data))));
    // Chromium ends its PPS with a trailing_zero_8bits byte (68 ce 3c 80 | 00 | 00 00 00 01); ffmpeg
    // keeps that zero in the avcC, this code drops it (H.264 §7.4.1: a NAL unit never ends with 00).
    const theirs = parseAvcC(ffmpegAvcC(file));
    const trim = (u: Uint8Array): Uint8Array => u.subarray(0, u.length - (u[u.length - 1] === 0 ? 1 : 0));
    const ours = parseAvcC(avcC);
    assert.deepEqual(ours, { ...theirs, sps: theirs.sps.map(trim), pps: theirs.pps.map(trim) });
    assert.deepEqual([...theirs.pps[0]!], [...sets.pps[0]!, 0]);
    assert.equal(avcCodecString(sets.sps[0]!), 'avc1.42c01e');
    assert.equal(avcCodecString(avcC), 'avc1.42c01e');
    assert.deepEqual(parseSps(sets.sps[0]!), { profile: 0x42, constraints: 0xc0, level: 0x1e, chromaFormat: 1, bitDepthLuma: 8, bitDepthChroma: 8 });
  });

  for (const [profile, pixFmt, ext] of [
    ['high', 'yuv420p', [0xfd, 0xf8, 0xf8, 0]],
    ['high422', 'yuv422p10le', [0xfe, 0xfa, 0xfa, 0]],
    ['main', 'yuv420p', []],
  ] as const) {
    it(`builds the avcC ffmpeg builds for libx264 ${profile} ${pixFmt}`, () => {
      const file = x264(profile, pixFmt);
      const sets = findParameterSets(new Uint8Array(readFileSync(file)))!;
      const avcC = buildAvcC(sets.sps, sets.pps);
      assert.deepEqual(avcC, ffmpegAvcC(file));
      assert.deepEqual([...avcC.subarray(avcC.length - ext.length)], ext.length === 0 ? [] : [...ext]);
      const parsed = parseAvcC(avcC);
      assert.equal(parsed.lengthSize, 4);
      assert.deepEqual(parsed.sps, sets.sps);
      assert.deepEqual(parsed.pps, sets.pps);
    });
  }

  const webkit = fileURLToPath(new URL('webkit-h264.mp4', FIXTURES));
  it('reads WebKit\'s avcC and builds the same one from its SPS/PPS', () => {
    const probe = JSON.parse(run('/usr/bin/ffprobe', ['-v', 'error', '-show_streams', '-show_data', '-of', 'json', webkit])) as { streams: { extradata: string }[] };
    const hex = probe.streams[0]!.extradata.split('\n').map((l) => l.slice(10, 50).replace(/\s/g, '')).join('');
    const theirs = Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
    const parsed = parseAvcC(theirs);
    assert.deepEqual(buildAvcC(parsed.sps, parsed.pps), theirs);
    assert.equal(avcCodecString(theirs), 'avc1.4d402a');
  });
});

describe('parseSps / parseAvcC / avcCodecString', () => {
  it('reads a High SPS through emulation prevention bytes', () => {
    // profile 100, level 40, then (the trailing 00 00 03 is emulation prevention, skipped):
    // seq_parameter_set_id = ue(0) '1'; chroma_format_idc = ue(3) '00100' + separate_colour_plane '0';
    // bit_depth_luma_minus8 = ue(0) '1'; bit_depth_chroma_minus8 = ue(4) '00101'.
    // Bits: 1 00100 0 1 00101 → 10010001 00101xxx.
    const sps = bytes(0x67, 100, 0, 40, 0b10010001, 0b00101000, 0, 0, 3, 0, 1);
    assert.deepEqual(parseSps(sps), { profile: 100, constraints: 0, level: 40, chromaFormat: 3, bitDepthLuma: 8, bitDepthChroma: 12 });
  });

  it('throws clear errors on what is not an SPS or an avcC', () => {
    assert.throws(() => parseSps(bytes(0x68, 1, 2, 3)), /not an SPS/);
    assert.throws(() => parseSps(bytes(0x67, 100, 0, 40)), /SPS ends early/);
    assert.throws(() => parseAvcC(bytes(0, 1, 2, 3, 4, 5, 6)), /configurationVersion 0/);
    assert.throws(() => parseAvcC(bytes(1, 0x42, 0, 0x1e, 0xff, 0xe1, 0, 9, 0x67)), /truncated/);
    assert.throws(() => avcCodecString(bytes(0x65, 1, 2, 3)), /SPS NAL unit or an avcC/);
    assert.throws(() => buildAvcC([], [bytes(0x68)]), /at least one SPS and one PPS/);
  });

  it('says the codec string with lowercase hex', () => {
    assert.equal(avcCodecString(bytes(0x67, 0x64, 0x00, 0x28, 0xac)), 'avc1.640028');
    assert.equal(avcCodecString(bytes(0x27, 0x4d, 0x40, 0x1f)), 'avc1.4d401f'); // nal_ref_idc 1
  });
});
