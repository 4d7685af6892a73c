// Tests for src/media/webm/webm-parser.ts: real MediaRecorder captures (test/fixtures, see its
// README) fed in every way a socket might deliver them, a hand-made hex fixture, and hostile input.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { WebmError, WebmParser, type WebmEvent, type WebmLimits, type WebmTrack } from '../../src/media/webm/webm-parser.ts';
import { sizeBytes } from '../helpers/bytes.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url);

function loadFixture(name: string): { bytes: Uint8Array; chunkSizes: number[] } {
  const bytes = new Uint8Array(readFileSync(new URL(`${name}.webm`, FIXTURES)));
  const chunkSizes = JSON.parse(readFileSync(new URL(`${name}.chunks.json`, FIXTURES), 'utf8')) as number[];
  return { bytes, chunkSizes };
}

/** Feeds `bytes` cut at the given sizes (the rest in one last push); returns all events and the parser. */
function feed(bytes: Uint8Array, sizes: Iterable<number> = [], limits?: Partial<WebmLimits>) {
  const parser = new WebmParser(limits);
  const events: WebmEvent[] = [];
  let at = 0;
  for (const n of sizes) {
    for (const e of parser.push(bytes.subarray(at, at + n))) events.push(e);
    at += n;
  }
  if (at < bytes.length) for (const e of parser.push(bytes.subarray(at))) events.push(e);
  return { parser, events };
}

function* ones(count: number): Generator<number> {
  for (let k = 0; k < count; k++) yield 1;
}

/** Cheap exact comparison for the loops that run tens of thousands of times (deepEqual is slow). */
function sameEvents(a: WebmEvent[], b: WebmEvent[]): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) {
    const x = a[k] as WebmEvent;
    const y = b[k] as WebmEvent;
    if (x.kind !== y.kind) return false;
    if (x.kind === 'tracks') {
      if (JSON.stringify(x) !== JSON.stringify(y)) return false;
    } else if (x.kind === 'cluster') {
      if (x.offset !== (y as typeof x).offset) return false;
    } else if (x.kind === 'block') {
      const z = y as typeof x;
      if (x.offset !== z.offset || x.track !== z.track || x.keyframe !== z.keyframe || x.cluster !== z.cluster) return false;
    }
  }
  return true;
}

const blocksOf = (events: WebmEvent[]) => events.filter((e) => e.kind === 'block');
const clustersOf = (events: WebmEvent[]) => events.filter((e) => e.kind === 'cluster');

// --- Real captures --------------------------------------------------------------------------------

interface FixtureSpec {
  name: string;
  video: WebmTrack;
  audio?: Omit<WebmTrack, 'type'>;
  /** Chrome honours videoKeyFrameIntervalDuration (1000 ms here); Firefox ignores it. */
  keyframeEverySecond: boolean;
  /** Chrome flags every Opus block as a keyframe, Firefox none: never wait for an audio keyframe. */
  audioKeyframes?: 'all' | 'none';
}

const SPECS: FixtureSpec[] = [
  {
    name: 'chromium-vp8-opus',
    video: { number: 2, type: 'video', codecId: 'V_VP8', width: 320, height: 240 },
    audio: { number: 1, codecId: 'A_OPUS' },
    keyframeEverySecond: true,
    audioKeyframes: 'all',
  },
  {
    name: 'chromium-vp8',
    video: { number: 1, type: 'video', codecId: 'V_VP8', width: 320, height: 240 },
    keyframeEverySecond: true,
  },
  {
    name: 'firefox-vp8-opus',
    video: { number: 1, type: 'video', codecId: 'V_VP8', width: 320, height: 240 },
    audio: { number: 2, codecId: 'A_OPUS' },
    keyframeEverySecond: false,
    audioKeyframes: 'none',
  },
];

/**
 * The split-at-every-offset test runs on a prefix (every offset of the whole files would take
 * seconds): at least 16 kB and 1 kB past the second cluster, so it holds the init segment, a
 * cluster boundary and blocks of every track (the video-only capture's second cluster is at 31 kB).
 */
const MIN_SPLIT_PREFIX = 16 * 1024;
/** Over the whole file, the split-in-two test also cuts at every STRIDE-th offset. */
const SPLIT_STRIDE = 97;

for (const spec of SPECS) {
  describe(`fixture ${spec.name}`, () => {
    const { bytes, chunkSizes } = loadFixture(spec.name);
    const whole = feed(bytes);

    it('finds the tracks as captured', () => {
      const tracks = whole.parser.tracks;
      assert.ok(tracks);
      assert.deepEqual(
        tracks.find((t) => t.type === 'video'),
        spec.video,
      );
      const audio = tracks.find((t) => t.type === 'audio');
      if (spec.audio) assert.deepEqual(audio, { ...spec.audio, type: 'audio' });
      else assert.equal(audio, undefined);
      assert.equal(tracks.length, spec.audio ? 2 : 1);
      const tracksEvents = whole.events.filter((e) => e.kind === 'tracks');
      assert.equal(tracksEvents.length, 1);
      assert.equal(whole.events[0]?.kind, 'tracks', 'Tracks come before the first Cluster');
    });

    it('reports clusters at 1F 43 B6 75, initLength = first cluster, blocks at A3 inside their cluster', () => {
      const clusters = clustersOf(whole.events);
      assert.ok(clusters.length >= 2);
      for (const c of clusters) assert.deepEqual([...bytes.subarray(c.offset, c.offset + 4)], [0x1f, 0x43, 0xb6, 0x75]);
      assert.equal(whole.parser.initLength, clusters[0]?.offset);
      assert.equal(whole.parser.bytesRead, bytes.length);
      let current = -1;
      let blocks = 0;
      for (const e of whole.events) {
        if (e.kind === 'cluster') {
          assert.ok(e.offset > current);
          current = e.offset;
        } else if (e.kind === 'block') {
          assert.equal(bytes[e.offset], 0xa3, 'real MediaRecorder output uses SimpleBlocks');
          assert.equal(e.cluster, current);
          assert.ok(e.offset > current);
          blocks++;
        }
      }
      assert.ok(blocks > 50, `only ${blocks} blocks in 2.5 s`);
    });

    it('finds video keyframes where expected', () => {
      const video = blocksOf(whole.events).filter((b) => b.track === spec.video.number);
      assert.ok(video.length >= 60, `${video.length} video frames in ~2.5 s at 30 fps`);
      assert.equal(video[0]?.keyframe, true, 'the first video block is a keyframe');
      const keyIndexes = video.flatMap((b, k) => (b.keyframe ? [k] : []));
      if (spec.keyframeEverySecond) {
        // 30 fps and a keyframe every 1000 ms: about 30 frames apart, so 3 of them in 2.5 s.
        assert.equal(keyIndexes.length, 3);
        for (let k = 1; k < keyIndexes.length; k++) {
          const gap = (keyIndexes[k] as number) - (keyIndexes[k - 1] as number);
          assert.ok(gap >= 25 && gap <= 35, `keyframes ${gap} frames apart`);
        }
        // Chrome starts a new Cluster at every video keyframe.
        for (const key of video.filter((b) => b.keyframe)) {
          const first = video.find((b) => b.cluster === key.cluster);
          assert.equal(first, key, `keyframe at ${key.offset} is the first video block of its cluster`);
        }
      } else {
        assert.ok(keyIndexes.length >= 1);
      }
      if (spec.audio) {
        const audio = blocksOf(whole.events).filter((b) => b.track === spec.audio?.number);
        assert.ok(audio.length > 20);
        const keys = audio.filter((b) => b.keyframe).length;
        assert.equal(keys, spec.audioKeyframes === 'all' ? audio.length : 0);
      }
    });

    it('gives the same events fed whole, in the recorded chunks, and one byte at a time', () => {
      assert.equal(
        chunkSizes.reduce((a, b) => a + b, 0),
        bytes.length,
      );
      const recorded = feed(bytes, chunkSizes);
      assert.deepEqual(recorded.events, whole.events);
      assert.equal(recorded.parser.initLength, whole.parser.initLength);
      const bytewise = feed(bytes, ones(bytes.length));
      assert.deepEqual(bytewise.events, whole.events);
      assert.equal(bytewise.parser.bytesRead, bytes.length);
      assert.deepEqual(bytewise.parser.tracks, whole.parser.tracks);
    });

    const secondCluster = clustersOf(whole.events)[1]?.offset ?? 0;
    const prefixLength = Math.min(bytes.length, Math.max(MIN_SPLIT_PREFIX, secondCluster + 1024));

    it(`gives the same events split in two at every offset of a prefix (${prefixLength} bytes)`, () => {
      // A split anywhere in the rest is covered by the byte-at-a-time feed above and the strided
      // splits below.
      const prefix = bytes.subarray(0, prefixLength);
      const expected = feed(prefix).events;
      assert.ok(clustersOf(expected).length >= 2);
      for (const track of whole.parser.tracks ?? []) {
        assert.ok(blocksOf(expected).some((b) => b.track === track.number), `blocks of track ${track.number} in the prefix`);
      }
      for (let cut = 0; cut <= prefix.length; cut++) {
        const got = feed(prefix, [cut]).events;
        if (!sameEvents(got, expected)) assert.deepEqual(got, expected, `split at ${cut}`);
      }
    });

    it(`gives the same events split in two at every ${SPLIT_STRIDE}th offset of the whole file`, () => {
      for (let cut = 1; cut < bytes.length; cut += SPLIT_STRIDE) {
        const got = feed(bytes, [cut]).events;
        if (!sameEvents(got, whole.events)) assert.deepEqual(got, whole.events, `split at ${cut}`);
      }
    });

    it('gives the same events for random chunkings (property)', () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 200 }), (sizes) => {
          return sameEvents(feed(bytes, sizes).events, whole.events);
        }),
        { numRuns: 40, seed: 42 },
      );
    });

    it('throws WebmError, never anything else, on corrupted copies (fuzz)', () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
          fc.integer({ min: 1, max: 4096 }),
          (edits, chunk) => {
            const copy = bytes.slice(0, 24 * 1024);
            for (const [at, value] of edits) if (at < copy.length) copy[at] = value;
            const parser = new WebmParser();
            try {
              for (let at = 0; at < copy.length; at += chunk) parser.push(copy.subarray(at, at + chunk));
            } catch (error) {
              if (!(error instanceof WebmError)) throw error;
            }
          },
        ),
        { numRuns: 150, seed: 7 },
      );
    });
  });
}

describe('real captures and limits', () => {
  const { bytes } = loadFixture('chromium-vp8-opus');

  it('rejects two recordings back to back (a restarted MediaRecorder on the same stream)', () => {
    const twice = new Uint8Array(bytes.length * 2);
    twice.set(bytes);
    twice.set(bytes, bytes.length);
    expectError('WEBM_MALFORMED', [twice], undefined, /second EBML header/);
  });

  it('enforces maxInitBytes, maxDepth and maxBlockBytes on real input', () => {
    expectError('WEBM_LIMIT', [bytes], { maxInitBytes: 150 }, /maxInitBytes/);
    // Segment > Tracks > TrackEntry > Video needs 4 levels.
    expectError('WEBM_LIMIT', [bytes], { maxDepth: 3 }, /maxDepth/);
    assert.doesNotThrow(() => feed(bytes, [], { maxDepth: 4 }));
    expectError('WEBM_LIMIT', [bytes], { maxBlockBytes: 1000 }, /maxBlockBytes/);
    expectError('WEBM_LIMIT', [bytes], { maxElementBytes: 4 }, /maxElementBytes/);
  });

  it('stays unusable after a throw', () => {
    const parser = new WebmParser({ maxBlockBytes: 1000 });
    let first: unknown;
    try {
      parser.push(bytes);
    } catch (error) {
      first = error;
    }
    assert.ok(first instanceof WebmError);
    assert.throws(() => parser.push(new Uint8Array([0])), (e) => e === first);
  });

  it('is fast enough for a Raspberry Pi (real file, recorded chunks, 200 times)', () => {
    const { chunkSizes } = loadFixture('chromium-vp8-opus');
    const chunks: Uint8Array[] = [];
    let at = 0;
    for (const n of chunkSizes) chunks.push(bytes.subarray(at, (at += n)));
    const t0 = performance.now();
    for (let run = 0; run < 200; run++) {
      const parser = new WebmParser();
      for (const chunk of chunks) parser.push(chunk);
    }
    const ms = performance.now() - t0;
    // ~20 MB of media in 200 × 22 pushes; a generous bound that still catches per-byte work.
    assert.ok(ms < 2000, `${ms.toFixed(0)} ms`);
  });
});

// --- A hand-made minimal WebM (hex), every block kind -----------------------------------------------

const MINIMAL_HEX = `
  1a45dfa3 87 4282 84 7765626d        EBML header (7): DocType "webm"            @0
  18538067 01ffffffffffffff           Segment, unknown size                      @12
  1654ae6b 98                         Tracks (24)                                @24
    ae 96                             TrackEntry (22)
      d7 81 01                        TrackNumber 1
      83 81 01                        TrackType 1 = video
      86 85 565f565038                CodecID "V_VP8"
      e0 87                           Video (7)
        b0 82 0140                    PixelWidth 320
        ba 81 f0                      PixelHeight 240
  1f43b675 01ffffffffffffff           Cluster, unknown size                      @53
    e7 81 00                          Timestamp 0
    a3 85 81 0000 80 aa               SimpleBlock track 1, keyframe              @68
    a3 85 81 0021 00 bb               SimpleBlock track 1                        @75
    a0 8a                             BlockGroup (10)                            @82
      a1 85 81 0042 00 cc             Block track 1
      fb 81 ff                        ReferenceBlock -1: not a keyframe
  1f43b675 8c                         Cluster (12): ends the unknown-size one    @94
    e7 81 64                          Timestamp 100
    a0 87                             BlockGroup (7), no ReferenceBlock          @102
      a1 85 81 0000 00 dd             Block track 1
`;

/** Parses the hex column of a commented hex dump (words of hex digits before any other text). */
function hex(dump: string): Uint8Array {
  const out: number[] = [];
  for (const line of dump.split('\n')) {
    for (const word of line.trim().split(/\s+/)) {
      if (!/^([0-9a-f]{2})+$/.test(word)) break;
      for (let k = 0; k < word.length; k += 2) out.push(parseInt(word.slice(k, k + 2), 16));
    }
  }
  return new Uint8Array(out);
}

describe('hand-made minimal WebM', () => {
  const bytes = hex(MINIMAL_HEX);
  const expected: WebmEvent[] = [
    { kind: 'tracks', tracks: [{ number: 1, type: 'video', codecId: 'V_VP8', width: 320, height: 240 }] },
    { kind: 'cluster', offset: 53 },
    { kind: 'block', offset: 68, track: 1, keyframe: true, cluster: 53 },
    { kind: 'block', offset: 75, track: 1, keyframe: false, cluster: 53 },
    { kind: 'block', offset: 82, track: 1, keyframe: false, cluster: 53 },
    { kind: 'cluster', offset: 94 },
    { kind: 'block', offset: 102, track: 1, keyframe: true, cluster: 94 },
  ];

  it('parses to the expected events, whatever the chunking', () => {
    assert.equal(bytes.length, 111);
    assert.deepEqual(feed(bytes).events, expected);
    assert.deepEqual(feed(bytes, ones(bytes.length)).events, expected);
    for (let cut = 0; cut <= bytes.length; cut++) assert.deepEqual(feed(bytes, [cut]).events, expected, `cut ${cut}`);
    const { parser } = feed(bytes);
    assert.equal(parser.initLength, 53);
    assert.equal(parser.bytesRead, 111);
  });

  it('reports a SimpleBlock as soon as its flags byte arrives, not when its payload ends', () => {
    const parser = new WebmParser();
    parser.push(bytes.subarray(0, 73)); // the block at 68: a3 85 | 81 0000 then its flags byte at 73
    assert.deepEqual(parser.push(bytes.subarray(73, 74)), [expected[2]]);
  });

  it('returns no events and waits when a stream stops mid-element (e.g. in a vint)', () => {
    const parser = new WebmParser();
    assert.deepEqual(parser.push(bytes.subarray(0, 13)), []); // Segment ID's first byte
    assert.deepEqual(parser.push(new Uint8Array(0)), []);
    assert.equal(parser.bytesRead, 13);
    assert.equal(parser.tracks, null);
    assert.equal(parser.initLength, null);
  });

  it('ends an unknown-size Cluster with its known-size Segment', () => {
    const segment = el(0x18538067, TRACKS, unknown(0x1f43b675), simpleBlock(1, 0x80));
    const input = cat(EBML_HEADER, segment, el(0xec, [0, 0])); // a top-level Void after the Segment
    const { events } = feed(input);
    assert.deepEqual(
      events.map((e) => e.kind),
      ['tracks', 'cluster', 'block'],
    );
    expectError('WEBM_MALFORMED', [cat(EBML_HEADER, segment, unknown(0x1f43b675))], undefined, /Cluster .* at top level/);
  });

  it('handles a great many empty unknown-size Clusters in bounded depth', () => {
    const clusters: number[] = [];
    for (let k = 0; k < 5000; k++) clusters.push(...unknown(0x1f43b675));
    const { events, parser } = feed(cat(EBML_HEADER, SEGMENT, TRACKS, clusters, simpleBlock(1, 0)), [], { maxDepth: 3 });
    assert.equal(clustersOf(events).length, 5000);
    assert.equal(parser.initLength, EBML_HEADER.length + SEGMENT.length + TRACKS.length);
  });
});

// --- Hostile and malformed input ----------------------------------------------------------------------

/** Encodes an element ID (marker included, as written in the spec). */
function idBytes(id: number): number[] {
  const out: number[] = [];
  for (let v = id; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return out;
}


function cat(...parts: ArrayLike<number>[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) for (let k = 0; k < p.length; k++) out.push(p[k] as number);
  return new Uint8Array(out);
}

function el(id: number, ...body: ArrayLike<number>[]): number[] {
  const b = cat(...body);
  return [...idBytes(id), ...sizeBytes(b.length), ...b];
}

function unknown(id: number): number[] {
  return [...idBytes(id), 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
}

function simpleBlock(track: number, flags: number): number[] {
  return el(0xa3, [0x80 | track, 0, 0, flags, 0xaa]);
}

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const EBML_HEADER = el(0x1a45dfa3, el(0x4282, ascii('webm')));
const SEGMENT = unknown(0x18538067);
const TRACKS = el(0x1654ae6b, el(0xae, el(0xd7, [1]), el(0x83, [1]), el(0x86, ascii('V_VP8'))));
const INIT = cat(EBML_HEADER, SEGMENT, TRACKS);
const CLUSTER = unknown(0x1f43b675);

/** Expects `code` both when the input is fed whole and one byte at a time, at the same offset. */
function expectError(code: WebmError['code'], parts: ArrayLike<number>[], limits?: Partial<WebmLimits>, message?: RegExp): void {
  const input = cat(...parts);
  const errors: WebmError[] = [];
  for (const sizes of [[], ones(input.length)]) {
    try {
      feed(input, sizes, limits);
    } catch (error) {
      if (!(error instanceof WebmError)) throw error;
      errors.push(error);
      continue;
    }
    assert.fail(`no error for ${code}`);
  }
  const [whole, bytewise] = errors as [WebmError, WebmError];
  assert.equal(whole.code, code, whole.message);
  if (message) assert.match(whole.message, message);
  assert.equal(bytewise.code, code, bytewise.message);
  assert.equal(bytewise.offset, whole.offset, `${bytewise.message} vs ${whole.message}`);
}

describe('malformed input', () => {
  it('the builders make a valid stream', () => {
    const { events } = feed(cat(INIT, CLUSTER, simpleBlock(1, 0x80)));
    assert.deepEqual(
      events.map((e) => e.kind),
      ['tracks', 'cluster', 'block'],
    );
  });

  it('garbage: not starting with the EBML header ID', () => {
    expectError('WEBM_MALFORMED', [ascii('GET / HTTP/1.1\r\n')], undefined, /EBML header/);
    expectError('WEBM_MALFORMED', [[0x1a, 0x45, 0xdf, 0x00]], undefined, /EBML header/);
    expectError('WEBM_MALFORMED', [[0x00]]);
    const random = new Uint8Array(4096);
    for (let k = 0; k < random.length; k++) random[k] = (k * 2654435761) >>> 24;
    expectError('WEBM_MALFORMED', [random]);
  });

  it('garbage after a valid init segment throws WebmError or waits, never anything else (fuzz)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 2000 }), fc.integer({ min: 1, max: 64 }), (junk, chunk) => {
        const input = cat(INIT, CLUSTER, junk);
        const parser = new WebmParser();
        try {
          for (let at = 0; at < input.length; at += chunk) parser.push(input.subarray(at, at + chunk));
        } catch (error) {
          if (!(error instanceof WebmError)) throw error;
        }
      }),
      { numRuns: 300, seed: 1 },
    );
  });

  it('invalid vints: leading zero byte, ID longer than 4 bytes, size longer than 8 bytes', () => {
    expectError('WEBM_MALFORMED', [INIT, [0x00]], undefined, /leading zero/);
    expectError('WEBM_MALFORMED', [INIT, [0x08, 0x11, 0x22, 0x33, 0x44, 0x81]], undefined, /longer than 4/);
    expectError('WEBM_MALFORMED', [EBML_HEADER, [0x18, 0x53, 0x80, 0x67, 0x00, 0x01]], undefined, /element size.*leading zero/);
    expectError('WEBM_MALFORMED', [INIT, CLUSTER, [0xa3, 0x00]], undefined, /leading zero/);
    expectError('WEBM_MALFORMED', [INIT, CLUSTER, [0xff, 0x80]], undefined, /reserved element ID/);
    // A block whose track number vint starts with a zero byte.
    expectError('WEBM_MALFORMED', [INIT, CLUSTER, el(0xa3, [0x00, 0x81, 0, 0, 0])], undefined, /track number/);
  });

  it('truncated vints: a header or block header running past its known-size parent', () => {
    // The TrackEntry's last child header claims a 2-byte size vint, but the TrackEntry ends after 1.
    expectError('WEBM_MALFORMED', [EBML_HEADER, SEGMENT, el(0x1654ae6b, el(0xae, el(0xd7, [1]), [0x83, 0x40]))], undefined, /runs past the end of TrackEntry/);
    // A SimpleBlock of 3 bytes cannot hold a 1-byte track number, a 2-byte timecode and flags.
    expectError('WEBM_MALFORMED', [INIT, CLUSTER, el(0xa3, [0x81, 0, 0])], undefined, /too short/);
    // A 2-byte track number vint in a 4-byte SimpleBlock.
    expectError('WEBM_MALFORMED', [INIT, CLUSTER, el(0xa3, [0x40, 0x01, 0, 0])], undefined, /too short/);
    expectError('WEBM_MALFORMED', [INIT, CLUSTER, [0xa3, 0x80]], undefined, /empty SimpleBlock/);
  });

  it('a child bigger than its known-size parent', () => {
    const entry = el(0xae, el(0xd7, [1]));
    const tracks = [...idBytes(0x1654ae6b), ...sizeBytes(entry.length - 1), ...entry];
    expectError('WEBM_MALFORMED', [EBML_HEADER, SEGMENT, tracks], undefined, /overflows its parent Tracks/);
    const cluster = [...idBytes(0x1f43b675), ...sizeBytes(4), ...simpleBlock(1, 0)];
    expectError('WEBM_MALFORMED', [INIT, cluster], undefined, /overflows its parent Cluster/);
  });

  it('huge declared sizes break limits at once, before any payload arrives', () => {
    const huge = (id: number, size: number) => [...idBytes(id), ...sizeBytes(size)];
    expectError('WEBM_LIMIT', [INIT, CLUSTER, huge(0xa3, 2 ** 30)], undefined, /maxBlockBytes/);
    expectError('WEBM_LIMIT', [INIT, CLUSTER, huge(0xa0, 2 ** 25)], undefined, /BlockGroup.*maxBlockBytes/);
    expectError('WEBM_LIMIT', [INIT, CLUSTER, huge(0xec, 2 ** 40)], undefined, /Void.*maxBlockBytes/);
    expectError('WEBM_LIMIT', [EBML_HEADER, SEGMENT, huge(0xec, 2 ** 40)], undefined, /maxInitBytes/);
    expectError('WEBM_LIMIT', [EBML_HEADER, SEGMENT, huge(0x1654ae6b, 2 ** 21)], undefined, /Tracks.*maxInitBytes/);
    expectError('WEBM_LIMIT', [huge(0x1a45dfa3, 2 ** 50)], undefined, /maxInitBytes/);
    expectError('WEBM_LIMIT', [INIT, CLUSTER, [0xec, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]], undefined, /2\^53/);
    // A 100 kB CodecID inside a TrackEntry and Tracks sized to hold it.
    const codec = huge(0x86, 100_000);
    const entry = huge(0xae, codec.length + 100_000);
    const tracks = huge(0x1654ae6b, entry.length + codec.length + 100_000);
    expectError('WEBM_LIMIT', [EBML_HEADER, SEGMENT, tracks, entry, codec], undefined, /CodecID.*maxElementBytes/);
    expectError('WEBM_MALFORMED', [EBML_HEADER, SEGMENT, el(0x1654ae6b, el(0xae, el(0xd7, new Array(9).fill(1))))], undefined, /max 8/);
  });

  it('unknown sizes only where allowed', () => {
    expectError('WEBM_MALFORMED', [EBML_HEADER, SEGMENT, unknown(0x1654ae6b)], undefined, /unknown size/);
    expectError('WEBM_MALFORMED', [INIT, CLUSTER, unknown(0xa3)], undefined, /unknown size/);
  });

  it('a block before Tracks, or for a track Tracks does not declare', () => {
    expectError('WEBM_MALFORMED', [EBML_HEADER, SEGMENT, CLUSTER, simpleBlock(1, 0x80)], undefined, /before Tracks/);
    expectError('WEBM_MALFORMED', [EBML_HEADER, SEGMENT, CLUSTER, el(0xa0, el(0xa1, [0x81, 0, 0, 0]))], undefined, /before Tracks/);
    expectError('WEBM_MALFORMED', [INIT, CLUSTER, simpleBlock(5, 0x80)], undefined, /track 5/);
    expectError('WEBM_MALFORMED', [INIT, CLUSTER, el(0xa0, el(0xfb, [0xff]))], undefined, /without a Block/);
  });

  it('misplaced structure: blocks outside a Cluster, nested Segments, a second Tracks', () => {
    expectError('WEBM_MALFORMED', [INIT, simpleBlock(1, 0x80)], undefined, /SimpleBlock .* inside Segment/);
    expectError('WEBM_MALFORMED', [EBML_HEADER, CLUSTER], undefined, /Cluster .* at top level/);
    expectError('WEBM_MALFORMED', [INIT, SEGMENT], undefined, /Segment .* inside Segment/);
    expectError('WEBM_MALFORMED', [INIT, TRACKS], undefined, /second Tracks/);
    expectError('WEBM_MALFORMED', [INIT, CLUSTER, TRACKS], undefined, /second Tracks/);
    expectError('WEBM_MALFORMED', [EBML_HEADER, SEGMENT, el(0x1654ae6b, el(0xae, el(0x83, [1])))], undefined, /TrackNumber/);
  });

  it('depth bomb: deeply nested masters fail at the first misplaced one, in bounded work', () => {
    // 20,000 Videos nested in one another inside a TrackEntry: a recursive parser would overflow
    // its stack. Only Segment > Tracks > TrackEntry > Video (4 levels) is valid WebM, so a nested
    // master is malformed long before maxDepth (the WEBM_LIMIT for depth is tested above).
    const headers: number[][] = [];
    let size = 3; // the innermost PixelWidth
    for (let k = 0; k < 20_000; k++) {
      const header = [0xe0, ...sizeBytes(size)];
      headers.push(header);
      size += header.length;
    }
    const video = cat(...headers.reverse(), el(0xb0, [1]));
    const bomb = cat(EBML_HEADER, SEGMENT, el(0x1654ae6b, el(0xae, el(0xd7, [1]), video)));
    const t0 = performance.now();
    expectError('WEBM_MALFORMED', [bomb], undefined, /Video .* inside Video/);
    expectError('WEBM_MALFORMED', [INIT, CLUSTER, el(0xa0, el(0xa0, el(0xa0, [])))], undefined, /BlockGroup .* inside BlockGroup/);
    let segments: number[] = [];
    for (let k = 0; k < 1000; k++) segments = segments.concat(unknown(0x18538067));
    expectError('WEBM_MALFORMED', [EBML_HEADER, segments], undefined, /Segment .* inside Segment/);
    assert.ok(performance.now() - t0 < 2000);
  });

  it('a second EBML header', () => {
    expectError('WEBM_MALFORMED', [INIT, CLUSTER, simpleBlock(1, 0x80), EBML_HEADER], undefined, /second EBML header/);
    expectError('WEBM_MALFORMED', [EBML_HEADER, EBML_HEADER], undefined, /second EBML header/);
  });
});

// --- Bounded memory on long and hostile streams ------------------------------------------------------

describe('memory', () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const heapAfterGc = (): number => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const MiB = 1024 * 1024;

  it('stays flat over 64 MiB of a real stream (its clusters repeated) and over a 15 MiB block fed in pieces', (t) => {
    const { bytes } = loadFixture('chromium-vp8-opus');
    const parser = new WebmParser();
    const init = bytes.subarray(0, feed(bytes).parser.initLength ?? 0);
    const clusters = bytes.subarray(init.length);
    parser.push(init);
    parser.push(clusters);
    const before = heapAfterGc();
    let fed = 0;
    while (fed < 64 * MiB) {
      for (let at = 0; at < clusters.length; at += 4096) parser.push(clusters.subarray(at, at + 4096));
      fed += clusters.length;
    }
    const streamGrowth = heapAfterGc() - before;

    const big = new WebmParser();
    const size = 15 * MiB;
    const head = cat(INIT, CLUSTER, [0xa3, ...sizeBytes(size)], [0x81, 0, 0, 0x80]);
    big.push(head);
    const before2 = heapAfterGc();
    const piece = new Uint8Array(64 * 1024);
    for (let left = size - 4; left > 0; left -= piece.length) big.push(piece.subarray(0, Math.min(piece.length, left)));
    const blockGrowth = heapAfterGc() - before2;
    t.diagnostic(`heap growth: ${(streamGrowth / MiB).toFixed(2)} MiB after ${(fed / MiB).toFixed(0)} MiB of stream; ${(blockGrowth / MiB).toFixed(2)} MiB after a 15 MiB block`);
    assert.ok(streamGrowth < 2 * MiB, `heap grew ${streamGrowth} bytes over a long stream`);
    assert.ok(blockGrowth < 2 * MiB, `heap grew ${blockGrowth} bytes while a large block streamed through`);
    assert.equal(big.bytesRead, head.length - 4 + size);
  });
});
