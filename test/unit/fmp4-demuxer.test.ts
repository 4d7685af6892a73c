// Tests for src/media/mp4/fmp4-demuxer.ts: real MediaRecorder MP4 captures (test/fixtures, see its
// README) fed in every way a socket might deliver them and checked against ffprobe, a hand-made
// file with every layout rule, hostile input and fuzzing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { MediaFrame, Tracks } from '../../src/media/frames.ts';
import { readBoxHeader } from '../../src/media/mp4/boxes.ts';
import { Fmp4Demuxer, Mp4Error, type Mp4Event, type Mp4Limits } from '../../src/media/mp4/fmp4-demuxer.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url);

function loadFixture(name: string): { bytes: Uint8Array; chunkSizes: number[] } {
  const bytes = new Uint8Array(readFileSync(new URL(`${name}.mp4`, FIXTURES)));
  const chunkSizes = JSON.parse(readFileSync(new URL(`${name}.chunks.json`, FIXTURES), 'utf8')) as number[];
  return { bytes, chunkSizes };
}

/** Feeds `bytes` cut at the given sizes (the rest in one last push); returns all events and the demuxer. */
function feed(bytes: Uint8Array, sizes: Iterable<number> = [], limits?: Partial<Mp4Limits>) {
  const demuxer = new Fmp4Demuxer(limits);
  const events: Mp4Event[] = [];
  let at = 0;
  for (const n of sizes) {
    for (const e of demuxer.push(bytes.subarray(at, at + n))) events.push(e);
    at += n;
  }
  if (at < bytes.length) for (const e of demuxer.push(bytes.subarray(at))) events.push(e);
  return { demuxer, events };
}

function* ones(count: number): Generator<number> {
  for (let k = 0; k < count; k++) yield 1;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function sameTracks(a: Tracks, b: Tracks): boolean {
  const v = a.video;
  const w = b.video;
  if ((v === null) !== (w === null)) return false;
  if (v !== null && w !== null) {
    if (v.codec !== w.codec || v.width !== w.width || v.height !== w.height || !sameBytes(v.description, w.description)) return false;
  }
  const x = a.audio;
  const y = b.audio;
  if ((x === null) !== (y === null)) return false;
  if (x !== null && y !== null) {
    if (x.codec !== y.codec || x.sampleRate !== y.sampleRate || x.channels !== y.channels || !sameBytes(x.description, y.description)) return false;
  }
  return true;
}

/** Cheap exact comparison for the loops that run tens of thousands of times (deepEqual is slow). */
function sameEvents(a: Mp4Event[], b: Mp4Event[]): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) {
    const x = a[k] as Mp4Event;
    const y = b[k] as Mp4Event;
    if (x.kind !== y.kind) return false;
    if (x.kind === 'tracks') {
      if (!sameTracks(x.tracks, (y as typeof x).tracks)) return false;
    } else {
      const f = x.frame;
      const g = (y as typeof x).frame;
      if (f.track !== g.track || f.key !== g.key || f.timestamp !== g.timestamp || f.duration !== g.duration || !sameBytes(f.data, g.data)) return false;
    }
  }
  return true;
}

/** Asserts two event lists are equal, with a readable diff on the first difference only. */
function assertSameEvents(got: Mp4Event[], expected: Mp4Event[], what: string): void {
  if (sameEvents(got, expected)) return;
  assert.equal(got.length, expected.length, `${what}: event count`);
  for (let k = 0; k < got.length; k++) {
    if (!sameEvents([got[k] as Mp4Event], [expected[k] as Mp4Event])) assert.deepEqual(got[k], expected[k], `${what}: event ${k}`);
  }
}

const framesOf = (events: Mp4Event[]): MediaFrame[] => events.flatMap((e) => (e.kind === 'frame' ? [e.frame] : []));
const tracksOf = (events: Mp4Event[]): Tracks[] => events.flatMap((e) => (e.kind === 'tracks' ? [e.tracks] : []));

/** Top-level boxes of a whole file (type, start, body start, end): an independent walk for the tests. */
function topLevel(bytes: Uint8Array): { type: string; start: number; bodyStart: number; end: number }[] {
  const out = [];
  for (let at = 0; at < bytes.length; ) {
    const h = readBoxHeader(bytes, at, bytes.length - at, at);
    assert.ok(h !== null && h.size > 0, `box at ${at}`);
    out.push({ type: h.type, start: at, bodyStart: at + h.headerSize, end: at + h.size });
    at += h.size;
  }
  return out;
}

// --- ffprobe, the reference ------------------------------------------------------------------------

interface ProbeStream {
  index: number;
  codec_type: string;
  codec_name: string;
  profile?: string;
  level?: number;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  time_base: string;
  extradata?: string;
}

interface ProbePacket {
  stream_index: number;
  pts: number;
  pts_time: string;
  size: string;
  pos: string;
  flags: string;
}

function ffprobe(name: string): { streams: ProbeStream[]; packets: ProbePacket[] } {
  const file = fileURLToPath(new URL(`${name}.mp4`, FIXTURES));
  const run = (args: string[]) => JSON.parse(execFileSync('ffprobe', ['-v', 'quiet', '-of', 'json', ...args, file], { encoding: 'utf8', maxBuffer: 64 << 20 }));
  return { streams: run(['-show_streams', '-show_data']).streams, packets: run(['-show_packets']).packets };
}

/** ffprobe's extradata hex dump (`00000000: 0142 c015 ...  .B..`) as bytes. */
function extradata(dump: string | undefined): Uint8Array {
  const hex = (dump ?? '')
    .split('\n')
    .filter((l) => /^[0-9a-f]{8}: /.test(l))
    .map((l) => l.slice(10, 49).replace(/\s+/g, ''))
    .join('');
  return new Uint8Array(hex.match(/../g)?.map((h) => parseInt(h, 16)) ?? []);
}

// --- Real captures --------------------------------------------------------------------------------

interface FixtureSpec {
  name: string;
  video: { codec: string; width: number; height: number };
  audio: { codec: string; sampleRate: number; channels: number } | null;
  videoFrames: number;
  audioFrames: number;
  /** Video keyframes: Chromium makes one per fragment (1 s apart), WebKit one per 0.5 s fragment. */
  keyframes: number;
  /** Every moof, including WebKit's repeated last one. */
  moofs: number;
  /** ffprobe's name for the video profile and the codec string's part that says it. */
  profile: string;
}

const SPECS: FixtureSpec[] = [
  {
    name: 'chromium-h264-opus',
    video: { codec: 'avc1.42c015', width: 320, height: 240 },
    audio: { codec: 'opus', sampleRate: 48000, channels: 1 },
    videoFrames: 120,
    audioFrames: 66,
    keyframes: 4,
    moofs: 4,
    profile: 'Constrained Baseline',
  },
  {
    name: 'chromium-vp9-opus',
    // vpcC says level 0 (unknown), which WebCodecs rejects: 320x240 fits level 2.
    video: { codec: 'vp09.00.20.08', width: 320, height: 240 },
    audio: { codec: 'opus', sampleRate: 48000, channels: 1 },
    videoFrames: 120,
    audioFrames: 66,
    keyframes: 4,
    moofs: 4,
    profile: 'Profile 0',
  },
  {
    name: 'webkit-h264-aac',
    video: { codec: 'avc1.4d402a', width: 320, height: 240 },
    audio: { codec: 'mp4a.40.2', sampleRate: 44100, channels: 1 },
    videoFrames: 114,
    audioFrames: 169,
    keyframes: 9,
    moofs: 13,
    profile: 'Main',
  },
  {
    name: 'webkit-h264',
    video: { codec: 'avc1.4d402a', width: 320, height: 240 },
    audio: null,
    videoFrames: 117,
    keyframes: 8,
    audioFrames: 0,
    moofs: 9,
    profile: 'Main',
  },
];

/** Over the whole file, the split-in-two test also cuts at every STRIDE-th offset. */
const SPLIT_STRIDE = 97;

for (const spec of SPECS) {
  // (The WebKit captures come from another script: scripts/capture-webkit-fixtures.ts.)
  describe(`fixture ${spec.name}`, () => {
    const { bytes, chunkSizes } = loadFixture(spec.name);
    const whole = feed(bytes);
    const frames = framesOf(whole.events);
    const video = frames.filter((f) => f.track === 'video');
    const audio = frames.filter((f) => f.track === 'audio');
    const boxes = topLevel(bytes);

    it('finds the tracks as captured, once, before any frame', () => {
      const tracks = tracksOf(whole.events);
      assert.equal(tracks.length, 1);
      assert.equal(whole.events[0]?.kind, 'tracks');
      const t = tracks[0] as Tracks;
      assert.ok(t.video);
      assert.deepEqual({ codec: t.video.codec, width: t.video.width, height: t.video.height }, spec.video);
      if (spec.video.codec.startsWith('avc1')) {
        // The avcC record itself: version 1, then the profile, compatibility and level of the codec string.
        const d = t.video.description;
        assert.ok(d);
        assert.equal(d[0], 1);
        assert.equal(spec.video.codec, `avc1.${[...d.subarray(1, 4)].map((b) => b.toString(16).padStart(2, '0')).join('')}`);
      } else {
        assert.equal(t.video.description, undefined);
      }
      if (spec.audio === null) {
        assert.equal(t.audio, null);
      } else {
        assert.ok(t.audio);
        assert.deepEqual({ codec: t.audio.codec, sampleRate: t.audio.sampleRate, channels: t.audio.channels }, spec.audio);
        assert.ok(t.audio.description);
      }
      assert.deepEqual(whole.demuxer.tracks, t);
      assert.equal(whole.demuxer.bytesRead, bytes.length);
    });

    it('finds every frame, keyframes where expected, timestamps rising per track', () => {
      assert.equal(boxes.filter((b) => b.type === 'moof').length, spec.moofs);
      assert.equal(video.length, spec.videoFrames);
      assert.equal(audio.length, spec.audioFrames);
      assert.equal(video[0]?.key, true, 'the first frame is a keyframe');
      assert.equal(video.filter((f) => f.key).length, spec.keyframes);
      assert.ok(audio.every((f) => f.key), 'every audio packet is a key');
      for (const list of [video, audio]) {
        for (let k = 1; k < list.length; k++) {
          const [a, b] = [list[k - 1] as MediaFrame, list[k] as MediaFrame];
          assert.ok(b.timestamp > a.timestamp, `${b.track} ${k}: ${b.timestamp} after ${a.timestamp}`);
        }
        for (const f of list) assert.ok(f.data.length > 0 && f.duration > 0 && Number.isInteger(f.timestamp));
      }
      // ~4 s of recording.
      assert.ok((video.at(-1)?.timestamp ?? 0) > 3_500_000);
      // A duration reaches the next frame's time, except (Chromium) at the end of a fragment: its
      // last sample's duration is a guess (video 33.3 ms, Opus 21 ms for 60 ms packets), written
      // before the next frame exists; the next fragment's tfdt has the real time.
      const fragmentOf = new Map<MediaFrame, number>();
      const demuxer = new Fmp4Demuxer();
      boxes.forEach((b, k) => {
        for (const e of demuxer.push(bytes.subarray(b.start, b.end))) if (e.kind === 'frame') fragmentOf.set(e.frame, k);
      });
      const byFragment = [...fragmentOf.keys()];
      for (const list of [video, audio]) {
        for (let k = 1; k < list.length; k++) {
          const [a, b] = [list[k - 1] as MediaFrame, list[k] as MediaFrame];
          if (Math.abs(b.timestamp - a.timestamp - a.duration) <= 1) continue;
          assert.ok(spec.name.startsWith('chromium'), `${a.track} ${k - 1}: duration ${a.duration}, next at +${b.timestamp - a.timestamp}`);
          const [fa, fb] = [byFragment.find((f) => f.timestamp === a.timestamp && f.track === a.track), byFragment.find((f) => f.timestamp === b.timestamp && f.track === b.track)];
          assert.notEqual(fragmentOf.get(fa as MediaFrame), fragmentOf.get(fb as MediaFrame), `${a.track} ${k - 1}: a wrong duration inside a fragment`);
        }
      }
      // AVC form: each frame is NAL units behind 4-byte lengths that add up to the frame.
      if (spec.video.codec.startsWith('avc1')) {
        for (const f of video) {
          let at = 0;
          while (at < f.data.length) at += 4 + new DataView(f.data.buffer, f.data.byteOffset + at, 4).getUint32(0);
          assert.equal(at, f.data.length);
        }
      }
      // Frames interleave by decode time within a fragment, so audio and video come close together.
      assert.ok(whole.events.slice(1, 40).some((e) => e.kind === 'frame' && e.frame.track === (spec.audio ? 'audio' : 'video')));
    });

    it('matches ffprobe: codecs, descriptions, sizes, bytes, keyframes, timestamps', () => {
      const probe = ffprobe(spec.name);
      const t = tracksOf(whole.events)[0] as Tracks;
      // WebKit writes its last moof twice (moof moof mdat); ffprobe indexes the first one's samples
      // too, at the same times, reading them from the bytes that start at the second moof. Of two
      // packets with the same time, the real one is the later in the file.
      const last = new Map<string, ProbePacket>();
      for (const p of probe.packets) {
        const key = `${p.stream_index} ${p.pts}`;
        if (Number(p.pos) > Number(last.get(key)?.pos ?? -1)) last.set(key, p);
      }
      const real = probe.packets.filter((p) => last.get(`${p.stream_index} ${p.pts}`) === p);
      assert.equal(real.length < probe.packets.length, spec.name.startsWith('webkit'), 'only WebKit repeats a moof');
      for (const [kind, ours] of [['video', video], ['audio', audio]] as const) {
        const stream = probe.streams.find((s) => s.codec_type === kind);
        if (ours.length === 0) {
          assert.equal(stream, undefined);
          continue;
        }
        assert.ok(stream);
        if (kind === 'video') {
          assert.ok(t.video);
          assert.equal(stream.codec_name, t.video.codec.startsWith('avc1') ? 'h264' : 'vp9');
          assert.equal(stream.profile, spec.profile);
          assert.equal(stream.width, t.video.width);
          assert.equal(stream.height, t.video.height);
          if (stream.codec_name === 'h264') {
            assert.equal(stream.level, parseInt(t.video.codec.slice(9, 11), 16), 'level');
            assert.deepEqual(t.video.description, extradata(stream.extradata), 'avcC');
          }
        } else {
          assert.ok(t.audio);
          assert.equal(stream.codec_name, t.audio.codec === 'opus' ? 'opus' : 'aac');
          if (stream.codec_name === 'aac') assert.equal(stream.profile, 'LC');
          assert.equal(Number(stream.sample_rate), t.audio.sampleRate);
          assert.equal(stream.channels, t.audio.channels);
          // ffmpeg too turns dOps into an OpusHead, and keeps AAC's AudioSpecificConfig.
          assert.deepEqual(t.audio.description, extradata(stream.extradata), 'description');
        }
        const [num, den] = stream.time_base.split('/').map(Number) as [number, number];
        const theirs = real.filter((p) => p.stream_index === stream.index);
        assert.equal(ours.length, theirs.length, `${kind} packets`);
        for (let k = 0; k < ours.length; k++) {
          const f = ours[k] as MediaFrame;
          const p = theirs[k] as ProbePacket;
          const where = `${kind} ${k}`;
          assert.equal(f.data.length, Number(p.size), `${where} size`);
          assert.ok(sameBytes(f.data, bytes.subarray(Number(p.pos), Number(p.pos) + Number(p.size))), `${where} bytes`);
          assert.equal(f.key, p.flags.includes('K'), `${where} key`);
          assert.equal(f.timestamp, Math.round((p.pts * num * 1e6) / den), `${where} timestamp from pts`);
          assert.ok(Math.abs(f.timestamp - Number(p.pts_time) * 1e6) <= 1, `${where}: ${f.timestamp} µs vs pts_time ${p.pts_time}`);
          // (ffprobe's duration_time is a frame-rate guess, not trun's duration: not compared.)
        }
      }
    });

    it('gives the same events fed whole, in the recorded chunks, and one byte at a time', () => {
      assert.equal(
        chunkSizes.reduce((a, b) => a + b, 0),
        bytes.length,
      );
      assertSameEvents(feed(bytes, chunkSizes).events, whole.events, 'recorded chunks');
      const bytewise = feed(bytes, ones(bytes.length));
      assertSameEvents(bytewise.events, whole.events, 'byte by byte');
      assert.equal(bytewise.demuxer.bytesRead, bytes.length);
    });

    // The prefix ends after the first fragment of each track: the moov, moofs, mdats and frames of
    // every track, with every box boundary and header split every possible way.
    const prefixLength = (() => {
      for (const m of boxes.filter((b) => b.type === 'mdat')) {
        const kinds = new Set(framesOf(feed(bytes.subarray(0, m.end)).events).map((f) => f.track));
        if (kinds.size === (spec.audio ? 2 : 1)) return m.end;
      }
      return bytes.length;
    })();

    it(`gives the same events split in two at every offset of a prefix (${prefixLength} bytes)`, () => {
      const prefix = bytes.subarray(0, prefixLength);
      const expected = feed(prefix).events;
      assert.ok(framesOf(expected).length > 10);
      for (let cut = 0; cut <= prefix.length; cut++) {
        const got = feed(prefix, [cut]).events;
        if (!sameEvents(got, expected)) assertSameEvents(got, expected, `split at ${cut}`);
      }
    });

    it(`gives the same events split in two at every ${SPLIT_STRIDE}th offset of the whole file`, () => {
      for (let cut = 1; cut < bytes.length; cut += SPLIT_STRIDE) {
        const got = feed(bytes, [cut]).events;
        if (!sameEvents(got, whole.events)) assertSameEvents(got, whole.events, `split at ${cut}`);
      }
    });

    it('gives the same events for random chunkings (property)', () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 200 }), (sizes) => sameEvents(feed(bytes, sizes).events, whole.events)),
        { numRuns: 40, seed: 42 },
      );
    });

    it('waits, without an error, when the stream stops anywhere (need more bytes)', () => {
      for (const b of boxes) {
        for (const cut of [b.start + 1, b.start + 7, b.bodyStart, b.bodyStart + 1, b.end - 1]) {
          if (cut > bytes.length) continue;
          const { events, demuxer } = feed(bytes.subarray(0, cut));
          assert.equal(demuxer.bytesRead, cut);
          assert.ok(events.length <= whole.events.length);
        }
      }
    });

    it('throws Mp4Error, never anything else, on corrupted copies (fuzz)', () => {
      const t0 = performance.now();
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
          fc.integer({ min: 1, max: 4096 }),
          (edits, chunk) => {
            const copy = bytes.slice();
            for (const [at, value] of edits) copy[at] = value;
            const demuxer = new Fmp4Demuxer();
            try {
              for (let at = 0; at < copy.length; at += chunk) {
                for (const e of demuxer.push(copy.subarray(at, at + chunk))) {
                  if (e.kind === 'frame') assert.ok(e.frame.data.length > 0 && Number.isFinite(e.frame.timestamp));
                }
              }
            } catch (error) {
              if (!(error instanceof Mp4Error)) throw error;
              assert.ok(error.offset >= 0 && error.offset <= copy.length, `offset ${error.offset}`);
            }
          },
        ),
        { numRuns: 200, seed: 7 },
      );
      assert.ok(performance.now() - t0 < 20_000);
    });

    it('corrupted box headers in the first 4 kB (fuzz, targeted)', () => {
      // Flips aimed at sizes and types: the bytes that steer the parser.
      const heads = boxes.slice(0, 6).flatMap((b) => [b.start, b.start + 3, b.start + 4]).filter((at) => at < 4096);
      fc.assert(
        fc.property(fc.constantFrom(...heads), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 64 }), (at, value, chunk) => {
          const copy = bytes.slice(0, 24 * 1024);
          copy[at] = value;
          const demuxer = new Fmp4Demuxer();
          try {
            for (let p = 0; p < copy.length; p += chunk) demuxer.push(copy.subarray(p, p + chunk));
          } catch (error) {
            if (!(error instanceof Mp4Error)) throw error;
          }
        }),
        { numRuns: 150, seed: 3 },
      );
    });
  });
}

describe('real captures: limits, periods, speed', () => {
  const { bytes, chunkSizes } = loadFixture('chromium-h264-opus');
  const whole = feed(bytes);

  it('enforces every limit on real input', () => {
    expectError('MP4_LIMIT', [bytes], { maxMoovBytes: 1000 }, /moov of 1176 bytes, over maxMoovBytes/);
    expectError('MP4_LIMIT', [bytes], { maxMoofBytes: 500 }, /moof of 540 bytes, over maxMoofBytes/);
    expectError('MP4_LIMIT', [bytes], { maxMdatBytes: 10_000 }, /mdat of \d+ bytes, over maxMdatBytes/);
    expectError('MP4_LIMIT', [bytes], { maxSamplesPerFragment: 40 }, /maxSamplesPerFragment \(40\)/);
    expectError('MP4_LIMIT', [bytes], { maxTracks: 1 }, /maxTracks/);
    // moov > trak > mdia > minf > stbl > stsd > avc1 > avcC: 8 levels.
    expectError('MP4_LIMIT', [bytes], { maxDepth: 7 }, /'avc1' box nests its children deeper than maxDepth \(7\)/);
    assert.doesNotThrow(() => feed(bytes, [], { maxDepth: 8 }));
  });

  it('stays failed after a throw', () => {
    const demuxer = new Fmp4Demuxer({ maxMdatBytes: 1000 });
    let first: unknown;
    try {
      demuxer.push(bytes);
    } catch (error) {
      first = error;
    }
    assert.ok(first instanceof Mp4Error);
    assert.throws(() => demuxer.push(bytes.subarray(0, 1)), (e) => e === first);
    assert.throws(() => demuxer.push(new Uint8Array(0)), (e) => e === first);
  });

  it('a second moov with the same tracks is not a new period; with other tracks it is', () => {
    const init = bytes.subarray(0, topLevel(bytes).find((b) => b.type === 'moof')?.start);
    const again = feed(concat(bytes, init, bytes.subarray(init.length)));
    assert.equal(tracksOf(again.events).length, 1);
    assert.equal(framesOf(again.events).length, 2 * framesOf(whole.events).length);
    // A camera switching codec: the VP9 recording after the H.264 one.
    const vp9 = loadFixture('chromium-vp9-opus').bytes;
    const both = feed(concat(bytes, vp9));
    const periods = tracksOf(both.events);
    assert.deepEqual(
      periods.map((t) => t.video?.codec),
      ['avc1.42c015', 'vp09.00.20.08'],
    );
    const second = both.events.findIndex((e, k) => k > 0 && e.kind === 'tracks');
    assert.equal(framesOf(both.events.slice(0, second)).length, 186);
    assert.equal(framesOf(both.events.slice(second)).length, 186);
    assert.equal(framesOf(both.events.slice(second))[0]?.timestamp, 0, 'the new period starts at its own time 0');
  });

  it('keeps no media it has emitted, and holds only what a fragment needs', () => {
    // Feed up to the middle of the first mdat: nothing is emitted yet; the rest completes it.
    const boxes = topLevel(bytes);
    const mdat = boxes.find((b) => b.type === 'mdat');
    assert.ok(mdat);
    const demuxer = new Fmp4Demuxer();
    const mid = (mdat.bodyStart + mdat.end) >> 1;
    assert.deepEqual(
      demuxer.push(bytes.subarray(0, mid)).map((e) => e.kind),
      ['tracks'],
    );
    const out = demuxer.push(bytes.subarray(mid, mdat.end));
    // The whole first fragment (31 video frames, 17 Opus packets) at once, and nothing else.
    assert.ok(out.every((e) => e.kind === 'frame'));
    assert.equal(out.length, 48);
    assertSameEvents(out, whole.events.slice(1, 49), 'first fragment');
    // Each frame has its own buffer (not a view of the caller's chunk or of a shared mdat buffer).
    for (const e of out) if (e.kind === 'frame') assert.equal(e.frame.data.byteLength, e.frame.data.buffer.byteLength);
  });

  it('is fast enough for a Raspberry Pi (real file, recorded chunks, 200 times)', () => {
    const chunks: Uint8Array[] = [];
    let at = 0;
    for (const n of chunkSizes) chunks.push(bytes.subarray(at, (at += n)));
    const t0 = performance.now();
    for (let run = 0; run < 200; run++) {
      const demuxer = new Fmp4Demuxer();
      for (const chunk of chunks) demuxer.push(chunk);
    }
    const ms = performance.now() - t0;
    // ~15 MB of media in 200 × 5 pushes; a generous bound that still catches per-byte work.
    assert.ok(ms < 2000, `${ms.toFixed(0)} ms`);
  });
});

// --- Hand-made files: box builders -----------------------------------------------------------------

function cat(...parts: ArrayLike<number>[]): number[] {
  const out: number[] = [];
  for (const p of parts) for (let k = 0; k < p.length; k++) out.push(p[k] as number);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

const u16 = (n: number): number[] => [(n >>> 8) & 255, n & 255];
const u24 = (n: number): number[] => [(n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const u32 = (n: number): number[] => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const u64 = (n: number): number[] => [...u32(Math.floor(n / 2 ** 32)), ...u32(n % 2 ** 32)];
const zeros = (n: number): number[] => new Array<number>(n).fill(0);
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

function box(type: string, ...body: ArrayLike<number>[]): number[] {
  const b = cat(...body);
  return [...u32(8 + b.length), ...ascii(type), ...b];
}

function full(type: string, version: number, flags: number, ...body: ArrayLike<number>[]): number[] {
  return box(type, [version], u24(flags), ...body);
}

const FTYP = box('ftyp', ascii('isom'), u32(0x200), ascii('isomiso6mp41'));
const AVCC_BODY = [1, 0x64, 0x00, 0x1f, 0xff, 0xe1, ...u16(4), 0x67, 0x64, 0x00, 0x1f, 0x01, ...u16(2), 0x68, 0xee];
const AVCC = box('avcC', AVCC_BODY);
const DOPS = box('dOps', [0, 2], u16(312), u32(48000), u16(0), [0]);

function tkhd(id: number, width = 0, height = 0): number[] {
  return full('tkhd', 0, 3, zeros(8), u32(id), zeros(8), zeros(8), zeros(8), zeros(36), u32(width * 65536), u32(height * 65536));
}

function visualEntry(type: string, width: number, height: number, ...children: number[][]): number[] {
  return box(type, zeros(6), u16(1), zeros(16), u16(width), u16(height), u32(0x480000), u32(0x480000), zeros(4), u16(1), zeros(32), u16(0x18), u16(0xffff), ...children);
}

function audioEntry(type: string, channels: number, rate: number, ...children: number[][]): number[] {
  return box(type, zeros(6), u16(1), zeros(8), u16(channels), u16(16), zeros(4), u32(rate * 65536), ...children);
}

function trak(id: number, handler: string, timescale: number, entry: number[], width = 0, height = 0): number[] {
  const mdhd = full('mdhd', 0, 0, zeros(8), u32(timescale), u32(0), u16(0x55c4), u16(0));
  const hdlr = full('hdlr', 0, 0, u32(0), ascii(handler), zeros(12), [0]);
  const stsd = full('stsd', 0, 0, u32(1), entry);
  return box('trak', tkhd(id, width, height), box('mdia', mdhd, hdlr, box('minf', box('stbl', stsd))));
}

/** trex: default sample description 1, then duration, size, flags. */
function trex(id: number, duration = 0, size = 0, flags = 0): number[] {
  return full('trex', 0, 0, u32(id), u32(1), u32(duration), u32(size), u32(flags));
}

const VIDEO_TRAK = trak(1, 'vide', 90000, visualEntry('avc1', 640, 480, AVCC), 640, 480);
const AUDIO_TRAK = trak(2, 'soun', 48000, audioEntry('Opus', 2, 48000, DOPS));
const TEXT_TRAK = trak(3, 'text', 1000, box('tx3g', zeros(8)));
/** Video: default duration 3000 (1/30 s at 90 kHz), samples non-sync unless said otherwise. */
const NON_SYNC = 0x01010000;
const MVEX = box('mvex', trex(1, 3000, 0, NON_SYNC), trex(2), trex(3));
const MOOV = box('moov', full('mvhd', 0, 0, zeros(96)), VIDEO_TRAK, AUDIO_TRAK, TEXT_TRAK, MVEX);
const INIT = cat(FTYP, MOOV);

/** A trun: `fields` per sample, in the order duration, size, flags, composition offset (those `flags` select). */
function trun(version: number, flags: number, count: number, head: number[], fields: number[][]): number[] {
  return full('trun', version, flags, u32(count), head, ...fields.map((f) => f.flatMap((v) => u32(v >>> 0))));
}

/** A moof whose data offsets depend on its own size: `build(moofSize)` is called until the size is stable. */
function moofOf(build: (moofSize: number) => number[]): number[] {
  let size = 0;
  for (;;) {
    const moof = build(size);
    if (moof.length === size) return moof;
    size = moof.length;
  }
}

// Fragment 1: video (B-frames, negative v1 composition offsets, default-base-is-moof), then a
// text traf and an audio traf with implicit bases (each right after the previous traf's data).
const VIDEO_1 = [[0xa1, 0xa1, 0xa1, 0xa1, 0xa1], [0xb2, 0xb2, 0xb2], [0xc3, 0xc3], [0xd4]];
const TEXT_1 = [0xee, 0xee, 0xee];
const AUDIO_1 = [[0x01, 0x01, 0x01, 0x01], [0x02, 0x02, 0x02, 0x02], [0x03, 0x03, 0x03, 0x03]];
const FREE = box('free', [1, 2, 3]);
const FRAGMENT_1 = (() => {
  const data = cat(...VIDEO_1, TEXT_1, ...AUDIO_1);
  const moof = moofOf((moofSize) =>
    box(
      'moof',
      full('mfhd', 0, 0, u32(1)),
      box(
        'traf',
        full('tfhd', 0, 0x20000, u32(1)), // default-base-is-moof; duration and flags from trex
        full('tfdt', 1, 0, u64(90000)), // 1 s
        // data offset, first-sample-flags (0 = sync), size, composition offset
        trun(1, 0x1 | 0x4 | 0x200 | 0x800, 4, [...u32(moofSize + FREE.length + 8), ...u32(0)], [
          [5, 0],
          [3, 6000],
          [2, -3000],
          [1, -3000],
        ]),
      ),
      box('traf', full('tfhd', 0, 0x10, u32(3), u32(3)), trun(0, 0, 1, [], [])), // text: default size 3
      box('traf', full('tfhd', 0, 0x8 | 0x10, u32(2), u32(960), u32(4)), trun(0, 0, 3, [], [])), // audio: 20 ms, 4 bytes, no tfdt
    ),
  );
  return cat(moof, FREE, box('mdat', data));
})();

// Fragment 2: a styp and sidx first; video with an absolute base-data-offset and no tfdt (continues
// at 1 s + 4 frames), in two truns (the second without a data offset: right after the first);
// audio with default-base-is-moof, a tfdt, and per-sample durations; the mdat has trailing bytes.
const VIDEO_2 = [[0xe5, 0xe5], [0xf6, 0xf6, 0xf6]];
const AUDIO_2 = [[0x04, 0x04], [0x05, 0x05, 0x05]];
const PRELUDE_2 = cat(box('styp', ascii('msdh'), u32(0), ascii('msdh')), full('sidx', 0, 0, zeros(24)));
function fragment2(at: number): number[] {
  const moof = moofOf((moofSize) => {
    const mdatBody = at + PRELUDE_2.length + moofSize + 8;
    return box(
      'moof',
      full('mfhd', 0, 0, u32(2)),
      box(
        'traf',
        full('tfhd', 0, 0x1, u32(1), u64(mdatBody)), // base-data-offset: the mdat body, absolute
        trun(0, 0x1 | 0x4 | 0x200, 1, [...u32(0), ...u32(0)], [[2]]), // a keyframe
        trun(0, 0x200, 1, [], [[3]]), // continues right after
      ),
      box(
        'traf',
        full('tfhd', 0, 0x20000, u32(2)),
        full('tfdt', 0, 0, u32(4800)), // 100 ms
        trun(0, 0x1 | 0x100 | 0x200, 2, u32(mdatBody - at - PRELUDE_2.length + 5), [
          [960, 2],
          [1920, 3],
        ]),
      ),
    );
  });
  return cat(PRELUDE_2, moof, box('mdat', ...VIDEO_2, ...AUDIO_2, [0x99, 0x99]));
}
const MINIMAL = new Uint8Array(cat(INIT, FRAGMENT_1, fragment2(INIT.length + FRAGMENT_1.length)));

const frame = (track: 'video' | 'audio', key: boolean, timestamp: number, duration: number, data: number[]): Mp4Event => ({
  kind: 'frame',
  frame: { track, key, timestamp, duration, data: new Uint8Array(data) },
});

const MINIMAL_EVENTS: Mp4Event[] = [
  {
    kind: 'tracks',
    tracks: {
      video: { kind: 'video', codec: 'avc1.64001f', width: 640, height: 480, description: new Uint8Array(AVCC_BODY) },
      audio: {
        kind: 'audio',
        codec: 'opus',
        sampleRate: 48000,
        channels: 2,
        // OpusHead: magic, version 1, 2 channels, pre-skip 312 and 48000 little-endian, gain 0, family 0.
        description: new Uint8Array([...ascii('OpusHead'), 1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0]),
      },
    },
  },
  // Fragment 1, by decode time: audio from 0, then video from 1 s (decode order; presentation
  // times I 0, P +3 frames, B +1, B +2).
  frame('audio', true, 0, 20000, AUDIO_1[0] as number[]),
  frame('audio', true, 20000, 20000, AUDIO_1[1] as number[]),
  frame('audio', true, 40000, 20000, AUDIO_1[2] as number[]),
  frame('video', true, 1_000_000, 33333, VIDEO_1[0] as number[]),
  frame('video', false, 1_100_000, 33333, VIDEO_1[1] as number[]),
  frame('video', false, 1_033_333, 33333, VIDEO_1[2] as number[]),
  frame('video', false, 1_066_667, 33333, VIDEO_1[3] as number[]),
  // Fragment 2.
  frame('audio', true, 100_000, 20000, AUDIO_2[0] as number[]),
  frame('audio', true, 120_000, 40000, AUDIO_2[1] as number[]),
  frame('video', true, 1_133_333, 33333, VIDEO_2[0] as number[]),
  frame('video', false, 1_166_667, 33333, VIDEO_2[1] as number[]),
];

describe('hand-made fragmented MP4', () => {
  it('parses to the expected events, whatever the chunking', () => {
    assertSameEvents(feed(MINIMAL).events, MINIMAL_EVENTS, 'whole');
    assert.deepEqual(feed(MINIMAL).events, MINIMAL_EVENTS);
    assertSameEvents(feed(MINIMAL, ones(MINIMAL.length)).events, MINIMAL_EVENTS, 'byte by byte');
    for (let cut = 0; cut <= MINIMAL.length; cut++) assertSameEvents(feed(MINIMAL, [cut]).events, MINIMAL_EVENTS, `cut ${cut}`);
    assert.equal(feed(MINIMAL).demuxer.bytesRead, MINIMAL.length);
  });

  it('emits a fragment as soon as its last sample is in, before the mdat ends', () => {
    const demuxer = new Fmp4Demuxer();
    const end = MINIMAL.length - 2; // the mdat's 2 trailing bytes are not a sample
    assert.equal(framesOf(demuxer.push(MINIMAL.subarray(0, end - 1))).length, 7);
    assert.equal(framesOf(demuxer.push(MINIMAL.subarray(end - 1, end))).length, 4);
    assert.deepEqual(demuxer.push(MINIMAL.subarray(end)), []);
  });

  it('reads 64-bit box sizes, uuid boxes and size-0 terminators inside a box', () => {
    const large = (type: string, ...body: number[][]) => {
      const b = cat(...body);
      return [...u32(1), ...ascii(type), ...u64(16 + b.length), ...b];
    };
    const uuid = [...u32(8 + 16 + 3), ...ascii('uuid'), ...zeros(16), 1, 2, 3];
    const moov = box('moov', VIDEO_TRAK, MVEX.slice(), box('udta', zeros(4)) /* a 4-byte terminator */);
    const mdat = large('mdat', [7]);
    const moof = moofOf((size) => box('moof', box('traf', full('tfhd', 0, 0x20000, u32(1)), trun(0, 0x1 | 0x4 | 0x200, 1, [...u32(size + 16), ...u32(0)], [[1]]))));
    const { events } = feed(new Uint8Array(cat(large('ftyp', ascii('isom')), uuid, moov, moof, mdat)));
    assert.deepEqual(
      framesOf(events).map((f) => [...f.data]),
      [[7]],
    );
  });

  it('tolerates WebKit: ftyp twice, a moof with no mdat of its own, a traf without tfdt', () => {
    const f1 = FRAGMENT_1;
    const moofEnd = readBoxHeader(new Uint8Array(f1), 0, f1.length, 0)?.size ?? 0;
    // The repeated moof's samples would point into the moof after it; it is superseded.
    const input = new Uint8Array(cat(FTYP, FTYP, MOOV, f1.slice(0, moofEnd), f1));
    assertSameEvents(feed(input).events, MINIMAL_EVENTS.slice(0, 8), 'repeated moof');
  });

  it('uses the moof start when a later traf data offset only makes sense relative to it', () => {
    // The audio traf has no base flag and a moof-relative data offset: by the letter of §8.8.7.1
    // its base is the end of the video data, which puts it past the mdat.
    const data = cat([9, 9], [8]);
    const moof = moofOf((size) =>
      box(
        'moof',
        box('traf', full('tfhd', 0, 0, u32(1)), trun(0, 0x1 | 0x4 | 0x200, 1, [...u32(size + 8), ...u32(0)], [[2]])),
        box('traf', full('tfhd', 0, 0x8, u32(2), u32(960)), trun(0, 0x1 | 0x200, 1, u32(size + 8 + 2), [[1]])),
      ),
    );
    const { events } = feed(new Uint8Array(cat(INIT, moof, box('mdat', data))));
    assert.deepEqual(
      framesOf(events).map((f) => [f.track, ...f.data]),
      [
        ['video', 9, 9],
        ['audio', 8],
      ],
    );
  });

  it('ignores tracks of other kinds, and a second video track', () => {
    const second = trak(4, 'vide', 90000, visualEntry('hvc1', 640, 480)); // not even parsed
    const moov = box('moov', VIDEO_TRAK, second, TEXT_TRAK, box('mvex', trex(1), trex(3), trex(4)));
    const moof = moofOf((size) => box('moof', box('traf', full('tfhd', 0, 0x20000, u32(4)), trun(0, 0x1 | 0x200, 1, u32(size + 8), [[1]]))));
    const { events } = feed(new Uint8Array(cat(FTYP, moov, moof, box('mdat', [1]))));
    assert.equal(tracksOf(events)[0]?.audio, null);
    assert.equal(tracksOf(events)[0]?.video?.codec, 'avc1.64001f');
    assert.equal(framesOf(events).length, 0);
  });

  it('reads AAC (esds), QuickTime v1 sound entries, avc3, and takes the size from tkhd when the entry says 0', () => {
    const asc = [0x12, 0x10]; // AAC LC, 44.1 kHz, mono
    const esds = full('esds', 0, 0, [0x03, 0x80, 0x80, 0x80, 25], u16(1), [0x00], [0x04, 17, 0x40, 0x15], zeros(11), [0x05, 2], asc, [0x06, 1, 2]);
    const qtV1 = box('mp4a', zeros(6), u16(1), u16(1), zeros(6), u16(1), u16(16), zeros(4), u32(44100 * 65536), zeros(16), esds);
    const moov = box('moov', trak(1, 'vide', 90000, visualEntry('avc3', 0, 0, AVCC), 320, 180), trak(2, 'soun', 44100, qtV1), box('mvex', trex(1), trex(2)));
    const [tracks] = tracksOf(feed(new Uint8Array(cat(FTYP, moov))).events);
    assert.deepEqual(tracks?.audio, { kind: 'audio', codec: 'mp4a.40.2', sampleRate: 44100, channels: 1, description: new Uint8Array(asc) });
    assert.deepEqual([tracks?.video?.codec, tracks?.video?.width, tracks?.video?.height], ['avc1.64001f', 320, 180]);
  });
});

// --- Hostile and malformed input --------------------------------------------------------------------

/** Expects `code` both when the input is fed whole and one byte at a time, at the same offset. */
function expectError(code: Mp4Error['code'], parts: ArrayLike<number>[], limits?: Partial<Mp4Limits>, message?: RegExp): Mp4Error {
  const input = parts.length === 1 && parts[0] instanceof Uint8Array ? parts[0] : new Uint8Array(cat(...parts));
  const errors: Mp4Error[] = [];
  for (const sizes of [[], ones(input.length)]) {
    try {
      feed(input, sizes, limits);
    } catch (error) {
      if (!(error instanceof Mp4Error)) throw error;
      errors.push(error);
      continue;
    }
    assert.fail(`no error for ${code}${message ? ` ${message}` : ''}`);
  }
  const [whole, bytewise] = errors as [Mp4Error, Mp4Error];
  assert.equal(whole.code, code, whole.message);
  if (message) assert.match(whole.message, message);
  assert.equal(bytewise.code, code, bytewise.message);
  assert.equal(bytewise.message, whole.message);
  assert.equal(bytewise.offset, whole.offset);
  return whole;
}

/** A one-traf moof for track 1 (default-base-is-moof) whose single trun is `run(moofSize)`, and its mdat. */
function oneRun(run: (moofSize: number) => number[], mdat: number[] = box('mdat', [1, 2, 3, 4])): number[] {
  return cat(
    moofOf((size) => box('moof', box('traf', full('tfhd', 0, 0x20000, u32(1)), run(size)))),
    mdat,
  );
}

describe('malformed and hostile input', () => {
  it('the builders make a valid stream', () => {
    const { events } = feed(new Uint8Array(cat(INIT, oneRun((s) => trun(0, 0x1 | 0x200, 1, u32(s + 8), [[4]])))));
    assert.deepEqual(
      events.map((e) => e.kind),
      ['tracks', 'frame'],
    );
  });

  it('garbage: not an MP4 stream', () => {
    expectError('MP4_MALFORMED', [ascii('GET / HTTP/1.1\r\nHost: x\r\n\r\n')], undefined, /does not start with an MP4 box.*'\/ HT'/);
    expectError('MP4_MALFORMED', [[0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81]], undefined, /not an MP4 box type/); // WebM
    expectError('MP4_MALFORMED', [zeros(8)], undefined, /not an MP4 box type: '\\x00/);
    const random = new Uint8Array(4096);
    for (let k = 0; k < random.length; k++) random[k] = (k * 2654435761) >>> 24;
    expectError('MP4_MALFORMED', [random]);
  });

  it('garbage after a valid init segment throws Mp4Error or waits, never anything else (fuzz)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 2000 }), fc.integer({ min: 1, max: 64 }), (junk, chunk) => {
        const input = new Uint8Array(cat(INIT, junk));
        const demuxer = new Fmp4Demuxer();
        try {
          for (let at = 0; at < input.length; at += chunk) demuxer.push(input.subarray(at, at + chunk));
        } catch (error) {
          if (!(error instanceof Mp4Error)) throw error;
        }
      }),
      { numRuns: 300, seed: 1 },
    );
  });

  it('random well-formed box trees under moov and moof throw Mp4Error or parse (fuzz)', () => {
    const types = ['trak', 'mdia', 'minf', 'stbl', 'stsd', 'tkhd', 'mdhd', 'hdlr', 'mvex', 'trex', 'traf', 'tfhd', 'trun', 'tfdt', 'avc1', 'avcC', 'free'];
    const tree: fc.Memo<number[]> = fc.memo((n) =>
      n <= 1
        ? fc.tuple(fc.constantFrom(...types), fc.uint8Array({ maxLength: 40 })).map(([t, b]) => box(t, b))
        : fc.tuple(fc.constantFrom(...types), fc.array(tree(n - 1), { maxLength: 4 })).map(([t, kids]) => box(t, ...kids)),
    );
    fc.assert(
      fc.property(tree(5), tree(4), (a, b) => {
        for (const input of [cat(FTYP, box('moov', a)), cat(INIT, box('moof', b), box('mdat', zeros(64)))]) {
          try {
            feed(new Uint8Array(input));
          } catch (error) {
            if (!(error instanceof Mp4Error)) throw error;
          }
        }
      }),
      { numRuns: 300, seed: 5 },
    );
  });

  it('box sizes: 0, below the header, 64-bit below 16, past the parent', () => {
    expectError('MP4_UNSUPPORTED', [u32(0), ascii('ftyp')], undefined, /'ftyp' box of size 0/);
    expectError('MP4_UNSUPPORTED', [INIT, u32(0), ascii('mdat')], undefined, /size 0 \(runs to the end of the stream\)/);
    for (const size of [2, 4, 7]) expectError('MP4_MALFORMED', [u32(size), ascii('ftyp')], undefined, new RegExp(`size of ${size} bytes, smaller than its 8-byte header`));
    expectError('MP4_MALFORMED', [u32(1), ascii('ftyp'), u64(15)], undefined, /smaller than its 16-byte header/);
    expectError('MP4_MALFORMED', [u32(20), ascii('uuid'), zeros(16)], undefined, /smaller than its 24-byte header/);
    const trakInside = VIDEO_TRAK.slice();
    trakInside.splice(0, 4, ...u32(VIDEO_TRAK.length + 100));
    expectError('MP4_MALFORMED', [FTYP, box('moov', trakInside)], undefined, /'trak' box of \d+ bytes overflows its parent 'moov'/);
    expectError('MP4_MALFORMED', [FTYP, box('moov', [0, 0, 0])], undefined, /box header runs past the end of its parent 'moov'/);
  });

  it('huge declared sizes break limits at once, before any body arrives', () => {
    expectError('MP4_LIMIT', [u32(0xffffffff), ascii('free')], undefined, /'free' box of \d+ bytes, over maxMdatBytes/);
    expectError('MP4_LIMIT', [FTYP, u32(0x40000000), ascii('moov')], undefined, /moov of \d+ bytes, over maxMoovBytes/);
    expectError('MP4_LIMIT', [INIT, u32(0x7fffffff), ascii('moof')], undefined, /maxMoofBytes/);
    expectError('MP4_LIMIT', [INIT, u32(0x7fffffff), ascii('mdat')], undefined, /maxMdatBytes/);
    expectError('MP4_LIMIT', [INIT, u32(1), ascii('mdat'), u64(2 ** 62)], undefined, /beyond 2\^53/);
    expectError('MP4_LIMIT', [INIT, u32(1), ascii('mdat'), u64(2 ** 40)], undefined, /maxMdatBytes/);
    // A hostile client cannot make the demuxer allocate a big moov without sending it.
    const demuxer = new Fmp4Demuxer({ maxMoovBytes: 64 });
    assert.throws(() => demuxer.push(new Uint8Array(cat(FTYP, u32(100), ascii('moov')))), /maxMoovBytes/);
  });

  it('deep nesting: maxDepth, and a depth bomb fails fast without recursion', () => {
    expectError('MP4_LIMIT', [INIT], { maxDepth: 7 }, /'avc1' box nests its children deeper than maxDepth/);
    // 100,000 traks nested in one another inside a moov of ~800 kB: only the outer one is read.
    const depth = 100_000;
    const leaf = tkhd(9);
    const inner: number[] = [];
    for (let k = 0; k < depth; k++) inner.push(...u32(leaf.length + 8 * (depth - k)), ...ascii('trak'));
    inner.push(...leaf);
    const t0 = performance.now();
    expectError('MP4_MALFORMED', [FTYP, box('moov', inner, MVEX)], undefined, /trak without a tkhd/);
    assert.ok(performance.now() - t0 < 3000);
  });

  it('a trun claiming 10^9 samples, or more than it holds', () => {
    expectError('MP4_LIMIT', [INIT, oneRun(() => trun(0, 0x200, 1e9, [], []))], undefined, /maxSamplesPerFragment/);
    expectError('MP4_LIMIT', [INIT, oneRun(() => trun(0, 0, 1e9, [], []))], undefined, /maxSamplesPerFragment/);
    expectError('MP4_MALFORMED', [INIT, oneRun(() => trun(0, 0x200, 100, [], [[1], [2]]))], undefined, /trun claims 100 samples of 4 bytes but holds 8/);
    // Within the limit, samples of default size 0 are nothing to emit.
    assert.equal(framesOf(feed(new Uint8Array(cat(INIT, oneRun(() => trun(0, 0, 20_000, [], []))))).events).length, 0);
  });

  it('data offsets outside the mdat, negative, or overlapping', () => {
    // The mdat body holds 4 bytes; a 5-byte sample runs past it.
    expectError('MP4_MALFORMED', [INIT, oneRun((s) => trun(0, 0x1 | 0x200, 1, u32(s + 8), [[5]]))], undefined, /trun data at \d+\.\.\d+ lies outside the mdat body/);
    expectError('MP4_MALFORMED', [INIT, oneRun(() => trun(0, 0x1 | 0x200, 1, u32(-100), [[1]]))], undefined, /outside the mdat/);
    expectError('MP4_MALFORMED', [INIT, oneRun(() => trun(0, 0x1 | 0x200, 1, u32(0x7fffffff), [[1]]))], undefined, /outside the mdat/);
    // Data in the moof itself (no data offset: the base, i.e. the moof's first byte).
    expectError('MP4_MALFORMED', [INIT, oneRun(() => trun(0, 0x200, 1, [], [[1]]))], undefined, /outside the mdat/);
    const overlap = moofOf((s) =>
      box('moof', box('traf', full('tfhd', 0, 0x20000, u32(1)), trun(0, 0x1 | 0x200, 1, u32(s + 8), [[3]]), trun(0, 0x1 | 0x200, 1, u32(s + 9), [[2]]))),
    );
    expectError('MP4_MALFORMED', [INIT, overlap, box('mdat', [1, 2, 3, 4])], undefined, /two samples overlap/);
  });

  it('codecs and layouts we cannot handle: MP4_UNSUPPORTED naming them', () => {
    const video = (entry: number[]) => [FTYP, box('moov', trak(1, 'vide', 90000, entry), box('mvex', trex(1)))];
    const audio = (entry: number[]) => [FTYP, box('moov', trak(1, 'soun', 48000, entry), box('mvex', trex(1)))];
    expectError('MP4_UNSUPPORTED', video(visualEntry('hvc1', 640, 480, box('hvcC', zeros(23)))), undefined, /video codec 'hvc1' is not supported/);
    expectError('MP4_UNSUPPORTED', video(visualEntry('av01', 640, 480)), undefined, /'av01'/);
    expectError('MP4_UNSUPPORTED', video(visualEntry('encv', 640, 480)), undefined, /encrypted video track/);
    expectError('MP4_UNSUPPORTED', audio(audioEntry('ac-3', 2, 48000)), undefined, /audio codec 'ac-3' is not supported/);
    expectError('MP4_UNSUPPORTED', audio(audioEntry('enca', 2, 48000)), undefined, /encrypted audio track/);
    const mp3 = full('esds', 0, 0, [0x03, 20], u16(1), [0], [0x04, 15, 0x6b, 0x15], zeros(11), [0x05, 0]);
    expectError('MP4_UNSUPPORTED', audio(audioEntry('mp4a', 2, 48000, mp3)), undefined, /objectTypeIndication 0x6b/);
    // A plain (non-fragmented) MP4: mdat first, or a moov without mvex.
    expectError('MP4_UNSUPPORTED', [FTYP, box('mdat', [1, 2, 3]), MOOV], undefined, /mdat before moov: a non-fragmented MP4/);
    expectError('MP4_UNSUPPORTED', [FTYP, box('moov', VIDEO_TRAK)], undefined, /moov without mvex/);
    expectError('MP4_UNSUPPORTED', [FTYP, box('moov', TEXT_TRAK, box('mvex', trex(3)))], undefined, /no video or audio track/);
  });

  it('broken codec configurations', () => {
    const video = (...children: number[][]) => [FTYP, box('moov', trak(1, 'vide', 90000, visualEntry('avc1', 640, 480, ...children)), box('mvex', trex(1)))];
    expectError('MP4_MALFORMED', video(), undefined, /'avc1' sample entry without its 'avcC' box/);
    expectError('MP4_MALFORMED', video(box('avcC', [2, 0x64, 0, 0x1f, 0xff, 0xe0, 0])), undefined, /configurationVersion 2/);
    expectError('MP4_MALFORMED', video(box('avcC', [1, 0x64, 0, 0x1f, 0xfe, 0xe0, 0])), undefined, /3 bytes/);
    expectError('MP4_MALFORMED', video(box('avcC', [1, 0x64, 0, 0x1f, 0xff, 0xe1, ...u16(200), 0x67])), undefined, /'avcC' box of \d+ body bytes is too short for its sequenceParameterSetNALUnit/);
    const vp9 = (vpcC: number[]) => [FTYP, box('moov', trak(1, 'vide', 90000, visualEntry('vp09', 640, 480, vpcC)), box('mvex', trex(1)))];
    expectError('MP4_MALFORMED', vp9(full('vpcC', 1, 0, [0, 10, 0x90])), undefined, /bit depth 9/);
    expectError('MP4_MALFORMED', vp9(full('vpcC', 1, 0, [0])), undefined, /too short for its level/);
    const [tracks] = tracksOf(feed(new Uint8Array(cat(...vp9(full('vpcC', 1, 0, [2, 41, 0xa0, 1, 1, 1, 0, 0]))))).events);
    assert.equal(tracks?.video?.codec, 'vp09.02.41.10');
    const opus = (dOps: number[]) => [FTYP, box('moov', trak(1, 'soun', 48000, audioEntry('Opus', 2, 48000, dOps)), box('mvex', trex(1)))];
    expectError('MP4_MALFORMED', opus(box('dOps', [0, 0, 0, 0])), undefined, /OutputChannelCount 0/);
    expectError('MP4_MALFORMED', opus(box('dOps', [0, 2, 1, 56, 0, 0, 187, 128, 0, 0, 1, 1])), undefined, /ChannelMappingTable/);
    expectError('MP4_UNSUPPORTED', opus(box('dOps', [1, 2])), undefined, /dOps version 1/);
    // Family 1, 3 channels: stream count, coupled count and the mapping follow in the OpusHead too.
    const [surround] = tracksOf(feed(new Uint8Array(cat(...opus(box('dOps', [0, 3, 0, 0, 0, 0, 0xbb, 0x80, 0, 0, 1, 2, 1, 0, 2, 1]))))).events);
    assert.deepEqual([...(surround?.audio?.description ?? [])].slice(8), [1, 3, 0, 0, 0x80, 0xbb, 0, 0, 0, 0, 1, 2, 1, 0, 2, 1]);
    const aac = (esds: number[]) => [FTYP, box('moov', trak(1, 'soun', 48000, audioEntry('mp4a', 2, 48000, esds)), box('mvex', trex(1)))];
    expectError('MP4_MALFORMED', aac(full('esds', 0, 0, [0x04, 1, 0])), undefined, /expected ES_Descriptor/);
    expectError('MP4_MALFORMED', aac(full('esds', 0, 0, [0x03, 0xff, 0xff, 0xff, 0xff, 0x7f])), undefined, /longer than 4 bytes/);
    expectError('MP4_MALFORMED', aac(full('esds', 0, 0, [0x03, 100, 0, 1])), undefined, /too short for its ES_Descriptor/);
  });

  it('structure out of order, or missing', () => {
    expectError('MP4_MALFORMED', [FTYP, oneRun(() => trun(0, 0, 0, [], []))], undefined, /moof before moov/);
    expectError('MP4_MALFORMED', [INIT, box('moof', box('traf', full('tfhd', 0, 0, u32(7)))), box('mdat', [])], undefined, /traf for track 7, which moov does not declare/);
    expectError('MP4_MALFORMED', [INIT, box('moof', box('traf', full('tfdt', 0, 0, u32(0))))], undefined, /traf without a tfhd/);
    expectError('MP4_MALFORMED', [INIT, box('moof'), MOOV], undefined, /moov between a moof and its mdat/);
    expectError('MP4_MALFORMED', [FTYP, box('moov', box('trak', tkhd(1)), MVEX)], undefined, /track 1 has no mdhd/);
    expectError('MP4_MALFORMED', [FTYP, box('moov', VIDEO_TRAK, VIDEO_TRAK, MVEX)], undefined, /two traks with track_ID 1/);
    const noStsd = box('trak', tkhd(1), box('mdia', full('mdhd', 0, 0, zeros(8), u32(90000), zeros(8)), full('hdlr', 0, 0, u32(0), ascii('vide'), zeros(13))));
    expectError('MP4_MALFORMED', [FTYP, box('moov', noStsd, MVEX)], undefined, /track 1 has no stsd/);
    const zeroScale = trak(1, 'vide', 0, visualEntry('avc1', 640, 480, AVCC));
    expectError('MP4_MALFORMED', [FTYP, box('moov', zeroScale, MVEX)], undefined, /timescale of 0/);
    expectError('MP4_LIMIT', [FTYP, box('moov', ...[1, 2, 3].map((id) => trak(id, 'text', 1000, box('tx3g'))), MVEX)], { maxTracks: 2 }, /more than maxTracks \(2\)/);
  });

  it('an mdat no moof points into is skipped; an empty moof is fine', () => {
    const { events } = feed(new Uint8Array(cat(INIT, box('mdat', [1, 2, 3]), box('moof'), box('mdat', [4]), oneRun((s) => trun(0, 0x1 | 0x200, 1, u32(s + 8), [[4]])))));
    assert.deepEqual(
      events.map((e) => e.kind),
      ['tracks', 'frame'],
    );
  });
});

// --- Bounded memory on long and hostile streams ------------------------------------------------------

describe('memory', () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const heapAfterGc = (): number => {
    gc();
    gc();
    return process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  };
  const MiB = 1024 * 1024;

  it('stays flat over 64 MiB of a real stream (its fragments repeated), fed in 4 kB pieces', (t) => {
    const { bytes } = loadFixture('chromium-h264-opus');
    const firstMoof = topLevel(bytes).find((b) => b.type === 'moof')?.start ?? 0;
    const fragments = bytes.subarray(firstMoof);
    const demuxer = new Fmp4Demuxer();
    demuxer.push(bytes);
    const before = heapAfterGc();
    let fed = 0;
    let frames = 0;
    while (fed < 64 * MiB) {
      for (let at = 0; at < fragments.length; at += 4096) frames += demuxer.push(fragments.subarray(at, at + 4096)).length;
      fed += fragments.length;
    }
    const growth = heapAfterGc() - before;
    t.diagnostic(`heap growth: ${(growth / MiB).toFixed(2)} MiB after ${(fed / MiB).toFixed(0)} MiB of stream, ${frames} frames`);
    assert.ok(growth < 2 * MiB, `heap grew ${growth} bytes over a long stream`);
  });

  it('a moof claiming a 15 MiB sample allocates only as its bytes arrive, and keeps nothing after', () => {
    const size = 15 * MiB;
    const moof = moofOf((s) => box('moof', box('traf', full('tfhd', 0, 0x20000, u32(1)), trun(0, 0x1 | 0x4 | 0x200, 1, [...u32(s + 8), ...u32(0)], [[size]]))));
    const demuxer = new Fmp4Demuxer();
    const before = heapAfterGc();
    demuxer.push(new Uint8Array(cat(INIT, moof, u32(size + 8), ascii('mdat'))));
    const waiting = heapAfterGc() - before;
    assert.ok(waiting < MiB, `${waiting} bytes held before any media arrived`);
    const piece = new Uint8Array(64 * 1024).fill(7);
    let out: Mp4Event[] = [];
    for (let left = size; left > 0; left -= piece.length) out = demuxer.push(piece.subarray(0, Math.min(piece.length, left)));
    assert.equal(framesOf(out)[0]?.data.length, size);
    out = [];
    const after = heapAfterGc() - before;
    assert.ok(after < MiB, `${after} bytes held after the frame was emitted and dropped`);
  });
});
