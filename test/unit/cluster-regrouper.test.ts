// Tests for src/media/webm/cluster-regrouper.ts: the real MediaRecorder captures of test/fixtures
// regrouped whole, in their real chunk sizes and one byte at a time; the output checked with the
// project's WebmParser and with an independent little walker that reads absolute block timestamps.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ClusterRegrouper } from '../../src/media/webm/cluster-regrouper.ts';
import { WebmError, WebmParser, type WebmEvent, type WebmTrack } from '../../src/media/webm/webm-parser.ts';
import { concat, sizeBytes } from '../helpers/bytes.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url);

function loadFixture(name: string): { bytes: Uint8Array; chunkSizes: number[] } {
  const bytes = new Uint8Array(readFileSync(new URL(`${name}.webm`, FIXTURES)));
  const chunkSizes = JSON.parse(readFileSync(new URL(`${name}.chunks.json`, FIXTURES), 'utf8')) as number[];
  return { bytes, chunkSizes };
}

/** Regroups `bytes` cut at the given sizes (the rest in one last push); returns the joined output. */
function regroup(bytes: Uint8Array, sizes: Iterable<number> = []): { out: Uint8Array; regrouper: ClusterRegrouper } {
  const regrouper = new ClusterRegrouper();
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const n of sizes) {
    parts.push(regrouper.push(bytes.subarray(at, at + n)));
    at += n;
  }
  if (at < bytes.length) parts.push(regrouper.push(bytes.subarray(at)));
  return { out: concat(parts), regrouper };
}


function* ones(count: number): Generator<number> {
  for (let k = 0; k < count; k++) yield 1;
}

// --- An independent reader of whole WebM files (known or unknown sizes, SimpleBlock and BlockGroup) ---

interface Block {
  track: number;
  time: number;
  /** SimpleBlock keyframe flag, or for a Block: its group has no ReferenceBlock. */
  keyframe: boolean;
  simple: boolean;
  duration: number | undefined;
  payload: Uint8Array;
}

interface Cluster {
  timestamp: number;
  blocks: Block[];
}

function vlen(b: number): number {
  return Math.clz32(b) - 23;
}

function uint(bytes: Uint8Array, at: number, len: number, mask: boolean): number {
  let v = mask ? (bytes[at] as number) & (0xff >> len) : (bytes[at] as number);
  for (let k = 1; k < len; k++) v = v * 256 + (bytes[at + k] as number);
  return v;
}

function readElement(bytes: Uint8Array, at: number): { id: number; body: number; end: number } {
  const idLen = vlen(bytes[at] as number);
  const id = uint(bytes, at, idLen, false);
  const sizeLen = vlen(bytes[at + idLen] as number);
  const size = uint(bytes, at + idLen, sizeLen, true);
  const body = at + idLen + sizeLen;
  const unknown = size === 2 ** (7 * sizeLen) - 1;
  return { id, body, end: unknown ? Infinity : body + size };
}

function readBlock(bytes: Uint8Array, body: number, end: number, clusterTime: number) {
  const trackLen = vlen(bytes[body] as number);
  const track = uint(bytes, body, trackLen, true);
  let rel = ((bytes[body + trackLen] as number) << 8) | (bytes[body + trackLen + 1] as number);
  if (rel >= 0x8000) rel -= 0x10000;
  const flags = bytes[body + trackLen + 2] as number;
  return { track, time: clusterTime + rel, flags, payload: bytes.subarray(body + trackLen + 3, end) };
}

const SEGMENT_CHILDREN = new Set([0x114d9b74, 0x1549a966, 0x1654ae6b, 0x1c53bb6b, 0x1254c367, 0x1043a770, 0x1941a469, 0x1f43b675]);

function readClusters(bytes: Uint8Array): Cluster[] {
  const clusters: Cluster[] = [];
  let at = readElement(bytes, 0).end; // EBML header
  const segment = readElement(bytes, at);
  assert.equal(segment.id, 0x18538067);
  at = segment.body;
  const segmentEnd = Math.min(segment.end, bytes.length);
  while (at < segmentEnd) {
    const e = readElement(bytes, at);
    if (e.id !== 0x1f43b675) {
      at = e.end;
      continue;
    }
    const cluster: Cluster = { timestamp: -1, blocks: [] };
    clusters.push(cluster);
    at = e.body;
    const clusterEnd = Math.min(e.end, segmentEnd);
    while (at < clusterEnd) {
      const c = readElement(bytes, at);
      if (SEGMENT_CHILDREN.has(c.id)) break; // end of an unknown-size Cluster
      if (c.id === 0xe7) cluster.timestamp = uint(bytes, c.body, c.end - c.body, false);
      else if (c.id === 0xa3) {
        const b = readBlock(bytes, c.body, c.end, cluster.timestamp);
        cluster.blocks.push({ track: b.track, time: b.time, keyframe: (b.flags & 0x80) !== 0, simple: true, duration: undefined, payload: b.payload });
      } else if (c.id === 0xa0) {
        let block: ReturnType<typeof readBlock> | null = null;
        let duration: number | undefined;
        let reference = false;
        for (let g = c.body; g < c.end; ) {
          const child = readElement(bytes, g);
          if (child.id === 0xa1) block = readBlock(bytes, child.body, child.end, cluster.timestamp);
          else if (child.id === 0x9b) duration = uint(bytes, child.body, child.end - child.body, false);
          else if (child.id === 0xfb) reference = true;
          g = child.end;
        }
        assert.ok(block, 'BlockGroup without a Block');
        assert.equal(block.flags & 0x81, 0, 'keyframe/discardable bits are reserved in a Block');
        cluster.blocks.push({ track: block.track, time: block.time, keyframe: !reference, simple: false, duration, payload: block.payload });
      }
      at = c.end;
    }
  }
  return clusters;
}

const allBlocks = (clusters: Cluster[]) => clusters.flatMap((c) => c.blocks);

// --- Real captures ---------------------------------------------------------------------------------

const FIXTURE_NAMES = ['chromium-vp8-opus', 'chromium-vp8', 'firefox-vp8-opus'];

for (const name of FIXTURE_NAMES) {
  describe(`regrouping fixture ${name}`, () => {
    const { bytes, chunkSizes } = loadFixture(name);
    const { out, regrouper } = regroup(bytes);
    const parsedIn = new WebmParser().push(bytes);
    const parser = new WebmParser();
    const parsedOut = parser.push(out);
    const tracks = (parsedIn.find((e) => e.kind === 'tracks') as { tracks: WebmTrack[] }).tracks;
    const video = tracks.find((t) => t.type === 'video')!.number;
    const clustersIn = readClusters(bytes);
    const clustersOut = readClusters(out);

    it('is valid WebM for WebmParser, with the same tracks and the same init bytes', () => {
      assert.deepEqual(parser.tracks, tracks);
      assert.equal(parser.bytesRead, out.length);
      const initIn = new WebmParser();
      initIn.push(bytes);
      assert.deepEqual(out.subarray(0, parser.initLength!), bytes.subarray(0, initIn.initLength!), 'Chrome and Firefox already write an unknown-size Segment');
    });

    it('keeps every block: same order, tracks, keyframe flags, absolute timestamps and payloads', () => {
      const blocksIn = parsedIn.filter((e) => e.kind === 'block') as Extract<WebmEvent, { kind: 'block' }>[];
      const blocksOut = parsedOut.filter((e) => e.kind === 'block') as Extract<WebmEvent, { kind: 'block' }>[];
      assert.deepEqual(
        blocksOut.map((b) => [b.track, b.keyframe]),
        blocksIn.map((b) => [b.track, b.keyframe]),
      );
      const a = allBlocks(clustersIn);
      const b = allBlocks(clustersOut);
      assert.equal(b.length, a.length);
      assert.equal(regrouper.stats.blocks, a.length);
      for (let k = 0; k < a.length; k++) {
        assert.equal(b[k]!.track, a[k]!.track);
        assert.equal(b[k]!.time, a[k]!.time, `block ${k} moved`);
        assert.equal(b[k]!.keyframe, a[k]!.keyframe);
        assert.deepEqual(b[k]!.payload, a[k]!.payload);
      }
    });

    it('timestamps are monotonic per track', () => {
      const last = new Map<number, number>();
      for (const b of allBlocks(clustersOut)) {
        assert.ok(b.time >= (last.get(b.track) ?? -Infinity), `track ${b.track} goes back to ${b.time}`);
        last.set(b.track, b.time);
      }
    });

    it('starts a Cluster only at a video keyframe (after the first), at that keyframe\'s timestamp', () => {
      assert.equal(clustersOut.length, regrouper.stats.clustersOut);
      assert.equal(clustersIn.length, regrouper.stats.clustersIn);
      const keyframesIn = allBlocks(clustersIn).filter((b) => b.track === video && b.keyframe);
      // Every video keyframe but the first starts a new Cluster.
      assert.equal(clustersOut.length, keyframesIn.length);
      clustersOut.forEach((c, k) => {
        assert.ok(c.blocks.length > 0);
        if (k === 0) return;
        const first = c.blocks[0]!;
        assert.equal(first.track, video);
        assert.ok(first.keyframe);
        assert.equal(c.timestamp, first.time);
      });
    });

    it('gives the first block of each track in a later Cluster an explicit BlockDuration = the track\'s last interval', () => {
      let groups = 0;
      const previous = new Map<number, number>();
      clustersOut.forEach((c, k) => {
        const seen = new Set<number>();
        for (const b of c.blocks) {
          const interval = previous.has(b.track) ? b.time - previous.get(b.track)! : undefined;
          if (k > 0 && !seen.has(b.track) && interval !== undefined) {
            assert.equal(b.simple, false, `first block of track ${b.track} in Cluster ${k}`);
            assert.equal(b.duration, interval);
            groups++;
          } else {
            assert.equal(b.simple, true);
          }
          seen.add(b.track);
          previous.set(b.track, b.time);
        }
      });
      assert.equal(regrouper.stats.blockGroupsWritten, groups);
      if (clustersOut.length > 1) assert.ok(groups >= clustersOut.length - 1);
    });

    it('gives the same bytes whole, in the real chunk sizes, and one byte at a time', () => {
      assert.equal(chunkSizes.reduce((n, s) => n + s, 0), bytes.length);
      assert.deepEqual(regroup(bytes, chunkSizes).out, out);
      assert.deepEqual(regroup(bytes, ones(bytes.length)).out, out);
    });

    it('holds back only an element header and a block header at a time', () => {
      const r = new ClusterRegrouper();
      let silent = 0;
      let maxSilent = 0;
      for (let k = 0; k < bytes.length; k++) {
        const o = r.push(bytes.subarray(k, k + 1));
        silent = o.length > 0 ? 0 : silent + 1;
        maxSilent = Math.max(maxSilent, silent);
      }
      // Worst case: a dropped Cluster header (12) and Timestamp (<= 11), then a block's headers (<= 23).
      assert.ok(maxSilent <= 46, `${maxSilent} bytes in a row gave no output`);
    });

    it('gives the same bytes for random chunk boundaries', () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 100 }), (sizes) => {
          const got = regroup(bytes, sizes).out;
          return got.length === out.length && got.every((v, k) => v === out[k]);
        }),
        { numRuns: 40 },
      );
    });
  });
}

// --- Hand-made streams -------------------------------------------------------------------------------


function el(id: number[], body: number[]): number[] {
  return [...id, ...sizeBytes(body.length), ...body];
}

function uintBody(v: number): number[] {
  const out: number[] = [];
  for (; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return out.length ? out : [0];
}

const UNKNOWN = [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
const EBML_HEAD = el([0x1a, 0x45, 0xdf, 0xa3], el([0x42, 0x82], [...'webm'].map((c) => c.charCodeAt(0))));
const TRACKS = el([0x16, 0x54, 0xae, 0x6b], [
  ...el([0xae], [...el([0xd7], [1]), ...el([0x83], [1]), ...el([0x86], [...'V_VP8'].map((c) => c.charCodeAt(0)))]),
  ...el([0xae], [...el([0xd7], [2]), ...el([0x83], [2]), ...el([0x86], [...'A_OPUS'].map((c) => c.charCodeAt(0)))]),
]);

function simpleBlock(track: number, rel: number, key: boolean, payload: number[]): number[] {
  return el([0xa3], [0x80 | track, (rel >> 8) & 0xff, rel & 0xff, key ? 0x80 : 0, ...payload]);
}

/** A stream of unknown-size Clusters: `clusters` = [timestamp, [track, absolute time, keyframe]...]. */
function stream(clusters: [number, [number, number, boolean][]][], knownSizes = false): Uint8Array {
  const bytes: number[] = [...EBML_HEAD, 0x18, 0x53, 0x80, 0x67, ...UNKNOWN, ...TRACKS];
  for (const [tc, blocks] of clusters) {
    const body = [...el([0xe7], uintBody(tc)), ...el([0xbf], [1, 2, 3, 4]), ...blocks.flatMap(([t, time, k]) => simpleBlock(t, time - tc, k, [t, time & 0xff, 7]))];
    if (knownSizes) bytes.push(...el([0x1f, 0x43, 0xb6, 0x75], body));
    else bytes.push(0x1f, 0x43, 0xb6, 0x75, ...UNKNOWN, ...body);
  }
  return Uint8Array.from(bytes);
}

describe('hand-made streams', () => {
  it('merges Clusters that do not start at a video keyframe, known or unknown sizes, dropping CRC-32', () => {
    for (const known of [false, true]) {
      const input = stream(
        [
          [0, [[1, 0, true], [2, 5, true], [1, 33, false]]],
          [60, [[2, 60, true], [1, 66, false], [1, 100, false]]],
          [120, [[1, 133, true], [2, 135, true], [1, 166, false]]],
        ],
        known,
      );
      const out = regroup(input).out;
      const clusters = readClusters(out);
      assert.deepEqual(
        clusters.map((c) => [c.timestamp, c.blocks.map((b) => [b.track, b.time, b.keyframe])]),
        [
          [0, [[1, 0, true], [2, 5, true], [1, 33, false], [2, 60, true], [1, 66, false], [1, 100, false]]],
          [133, [[1, 133, true], [2, 135, true], [1, 166, false]]],
        ],
      );
      assert.deepEqual(
        clusters[1]!.blocks.map((b) => b.duration),
        [33, 75, undefined],
      );
      assert.ok(!out.includes(0xbf), 'no CRC-32 left');
      assert.equal(new WebmParser().push(out).filter((e) => e.kind === 'block').length, 9);
    }
  });

  it('starts a new Cluster when a relative timestamp would not fit in 16 bits', () => {
    const blocks: [number, number, boolean][] = [];
    for (let t = 0; t <= 70_000; t += 5000) blocks.push([1, t, t === 0]);
    // Input Clusters of 10 s each, no keyframe after the first.
    const clusters: [number, [number, number, boolean][]][] = [];
    for (let c = 0; c * 10_000 <= 70_000; c++) clusters.push([c * 10_000, blocks.filter(([, t]) => t >= c * 10_000 && t < (c + 1) * 10_000)]);
    const out = readClusters(regroup(stream(clusters)).out);
    assert.deepEqual(
      out.map((c) => c.timestamp),
      [0, 35_000, 70_000],
    );
    assert.deepEqual(
      allBlocks(out).map((b) => b.time),
      blocks.map(([, t]) => t),
    );
  });

  it('passes a stream without video through with one Cluster', () => {
    const input = stream([
      [0, [[2, 0, true], [2, 60, true]]],
      [120, [[2, 120, true], [2, 180, true]]],
    ]);
    const clusters = readClusters(regroup(input).out);
    assert.equal(clusters.length, 1);
    assert.deepEqual(
      clusters[0]!.blocks.map((b) => b.time),
      [0, 60, 120, 180],
    );
  });

  it('rewrites the Block of a BlockGroup and keeps the group whole', () => {
    const group = el([0xa0], [...el([0xa1], [0x81, 0x00, 0x0a, 0x00, 9, 9]), ...el([0xfb], [0xf6])]);
    const input = Uint8Array.from([
      ...EBML_HEAD, 0x18, 0x53, 0x80, 0x67, ...UNKNOWN, ...TRACKS,
      0x1f, 0x43, 0xb6, 0x75, ...UNKNOWN, ...el([0xe7], [0]), ...simpleBlock(1, 0, true, [1]),
      0x1f, 0x43, 0xb6, 0x75, ...UNKNOWN, ...el([0xe7], [100]), ...group,
    ]);
    for (const sizes of [[], [...ones(input.length)]]) {
      const blocks = allBlocks(readClusters(regroup(input, sizes).out));
      assert.deepEqual(
        blocks.map((b) => [b.track, b.time, b.keyframe, [...b.payload]]),
        [
          [1, 0, true, [1]],
          [1, 110, false, [9, 9]],
        ],
      );
    }
  });

  it('throws WebmError on malformed input, and again on every later push', () => {
    const r = new ClusterRegrouper();
    assert.throws(() => r.push(Uint8Array.of(0x18, 0x53, 0x80, 0x67, 0x80)), WebmError);
    assert.throws(() => r.push(Uint8Array.of(0)), WebmError);
    const noTimestamp = Uint8Array.from([...EBML_HEAD, 0x18, 0x53, 0x80, 0x67, ...UNKNOWN, ...TRACKS, 0x1f, 0x43, 0xb6, 0x75, ...UNKNOWN, ...simpleBlock(1, 0, true, [1])]);
    assert.throws(() => new ClusterRegrouper().push(noTimestamp), (e: unknown) => e instanceof WebmError && /Timestamp/.test(e.message));
  });

  it('never throws anything but WebmError on junk after a valid start', () => {
    const start = stream([[0, [[1, 0, true]]]]);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 500 }), (junk) => {
        const r = new ClusterRegrouper();
        try {
          r.push(start);
          r.push(junk);
        } catch (e) {
          return e instanceof WebmError;
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });
});
