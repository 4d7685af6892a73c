// Tests for src/media/webm/date-utc.ts: DateUTC injected into the init segments of the real
// MediaRecorder captures (test/fixtures) keeps them parseable, hand-made inits for the cases the
// captures lack (known Segment size, SeekHead, wider Info size), and garbage that must come back as is.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { withDateUtc } from '../../src/media/webm/date-utc.ts';
import { readSize, vintLength } from '../../src/media/webm/ebml.ts';
import { WebmParser, type WebmEvent } from '../../src/media/webm/webm-parser.ts';
import { concat, sizeBytes } from '../helpers/bytes.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const NAMES = ['chromium-vp8-opus', 'chromium-vp8', 'firefox-vp8-opus'];
const DATE = new Date('2024-05-06T07:08:09.123Z');
const EPOCH_2001_MS = Date.UTC(2001, 0, 1);
/** DateUTC element size: 2-byte ID, 1-byte size, 8-byte value. */
const DATE_UTC_LENGTH = 11;

const INFO_ID = [0x15, 0x49, 0xa9, 0x66];
const SEGMENT_ID = [0x18, 0x53, 0x80, 0x67];

function parse(bytes: Uint8Array): { parser: WebmParser; events: WebmEvent[] } {
  const parser = new WebmParser();
  return { parser, events: parser.push(bytes) };
}

function indexOf(bytes: Uint8Array, pattern: number[], from = 0): number {
  outer: for (let i = from; i + pattern.length <= bytes.length; i++) {
    for (let k = 0; k < pattern.length; k++) if (bytes[i + k] !== pattern[k]) continue outer;
    return i;
  }
  return -1;
}

/** The first element with this 4-byte ID found by byte search: where its size field and body are. */
function element(bytes: Uint8Array, id: number[]) {
  const start = indexOf(bytes, id);
  assert.ok(start >= 0, `element ${id.map((b) => b.toString(16)).join(' ')} not found`);
  const sizeAt = start + id.length;
  const sizeLength = vintLength(bytes[sizeAt] as number);
  const size = readSize(bytes, sizeAt, sizeLength);
  const dataAt = sizeAt + sizeLength;
  return { start, sizeLength, size, dataAt, body: bytes.subarray(dataAt, size < 0 ? bytes.length : dataAt + size) };
}

/** The DateUTC element for a date, as the module should write it. */
function dateUtcElement(date: Date): Uint8Array {
  const out = new Uint8Array(DATE_UTC_LENGTH);
  out.set([0x44, 0x61, 0x88]);
  new DataView(out.buffer).setBigInt64(3, BigInt(date.getTime() - EPOCH_2001_MS) * 1_000_000n);
  return out;
}

/** The DateUTC value (ns since 2001) that ends an Info body. */
function trailingDateUtc(infoBody: Uint8Array): bigint {
  const at = infoBody.length - DATE_UTC_LENGTH;
  assert.deepEqual([...infoBody.subarray(at, at + 3)], [0x44, 0x61, 0x88], 'Info ends with an 8-byte DateUTC');
  return new DataView(infoBody.buffer, infoBody.byteOffset).getBigInt64(at + 3);
}

describe('withDateUtc on the real captures', () => {
  for (const name of NAMES) {
    describe(name, () => {
      const bytes = new Uint8Array(readFileSync(new URL(`${name}.webm`, FIXTURES)));
      const original = parse(bytes);
      const initLength = original.parser.initLength;
      assert.ok(initLength !== null);
      const init = bytes.subarray(0, initLength);
      const rest = bytes.subarray(initLength);
      const patched = withDateUtc(init, DATE);

      it('adds one DateUTC element at the end of Info, nothing else (no size field grows here)', () => {
        // Chrome's Info size is a 1-byte vint (25 -> 36 still fits), Firefox's an 8-byte one, and
        // both Segments have an unknown size: so the output is exactly one DateUTC element longer.
        assert.equal(patched.length, init.length + DATE_UTC_LENGTH);
        const before = element(init, INFO_ID);
        const after = element(patched, INFO_ID);
        assert.equal(after.start, before.start);
        assert.equal(after.sizeLength, before.sizeLength);
        assert.equal(after.size, before.size + DATE_UTC_LENGTH);
        assert.deepEqual(after.body, concat([before.body, dateUtcElement(DATE)]));
        const sizeAt = before.start + INFO_ID.length;
        assert.deepEqual(patched.subarray(0, sizeAt), init.subarray(0, sizeAt));
        assert.deepEqual(patched.subarray(after.dataAt + after.size), init.subarray(before.dataAt + before.size));
        assert.equal(element(patched, SEGMENT_ID).size, -1, 'Segment size stays unknown');
      });

      it('writes the given date as nanoseconds since 2001-01-01T00:00:00Z', () => {
        const ns = trailingDateUtc(element(patched, INFO_ID).body);
        assert.equal(ns, BigInt(DATE.getTime() - EPOCH_2001_MS) * 1_000_000n);
        assert.equal(new Date(Number(ns / 1_000_000n) + EPOCH_2001_MS).toISOString(), DATE.toISOString());
      });

      it('parses, followed by the rest of the capture, with the same tracks, clusters and blocks', () => {
        const shift = patched.length - init.length;
        const { parser, events } = parse(concat([patched, rest]));
        assert.deepEqual(parser.tracks, original.parser.tracks);
        assert.equal(parser.initLength, initLength + shift);
        const moved = original.events.map((e) => {
          if (e.kind === 'cluster') return { ...e, offset: e.offset + shift };
          if (e.kind === 'block') return { ...e, offset: e.offset + shift, cluster: e.cluster + shift };
          return e;
        });
        assert.deepEqual(events, moved);
        const count = (list: WebmEvent[], kind: string) => list.filter((e) => e.kind === kind).length;
        assert.equal(count(events, 'cluster'), count(original.events, 'cluster'));
        assert.equal(
          events.filter((e) => e.kind === 'block' && e.keyframe).length,
          original.events.filter((e) => e.kind === 'block' && e.keyframe).length,
        );
      });

      it('returns its input when Info already has DateUTC', () => {
        assert.equal(withDateUtc(patched, new Date()), patched);
      });

      it('also accepts the init followed by clusters (it stops at the first Cluster)', () => {
        assert.deepEqual(withDateUtc(bytes, DATE), concat([patched, rest]));
      });

      it('returns a truncated init as is, unless the cut falls between two Segment children after Info', () => {
        const info = element(init, INFO_ID);
        for (let cut = 0; cut < init.length; cut++) {
          const prefix = init.subarray(0, cut);
          const out = withDateUtc(prefix, DATE);
          if (out === prefix) continue;
          // A prefix ending on a child boundary is a well-formed (shorter) init: it gets patched.
          assert.ok(cut >= info.dataAt + info.size, `cut at ${cut} inside or before Info was patched`);
          assert.deepEqual(out, patched.subarray(0, cut + DATE_UTC_LENGTH), `cut at ${cut}`);
        }
      });

      it('never throws on corrupted inits, and what it patches it recognises as patched', () => {
        fc.assert(
          fc.property(
            fc.array(fc.record({ at: fc.nat(init.length - 1), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 }),
            fc.nat(init.length),
            (edits, length) => {
              const corrupt = init.slice(0, length);
              for (const { at, value } of edits) if (at < corrupt.length) corrupt[at] = value;
              const out = withDateUtc(corrupt, DATE);
              if (out !== corrupt) {
                assert.ok(out.length >= corrupt.length + DATE_UTC_LENGTH);
                assert.equal(withDateUtc(out, DATE), out);
              }
            },
          ),
          { numRuns: 500 },
        );
      });
    });
  }
});

// --- Hand-made inits --------------------------------------------------------------------------------

/** An element with a body and, unless given, the shortest size field. */
function el(id: number[], body: number[], size: number[] = sizeBytes(body.length)): number[] {
  return [...id, ...size, ...body];
}

const EBML_HEADER = el([0x1a, 0x45, 0xdf, 0xa3], el([0x42, 0x82], [...'webm'].map((c) => c.charCodeAt(0))));
const TIMESTAMP_SCALE = el([0x2a, 0xd7, 0xb1], [0x0f, 0x42, 0x40]);
const INFO = el(INFO_ID, TIMESTAMP_SCALE);
const TRACKS = el([0x16, 0x54, 0xae, 0x6b], el([0xae], el([0xd7], [1])));
const UNKNOWN = [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

/** SeekHead with one Seek per (ID, position relative to the Segment body). */
function seekHead(seeks: [number[], number][]): number[] {
  const body = seeks.flatMap(([id, pos]) => el([0x4d, 0xbb], [...el([0x53, 0xab], id), ...el([0x53, 0xac], [pos])]));
  return el([0x11, 0x4d, 0x9b, 0x74], body);
}

function init(segmentBody: number[], segmentSize: number[] = UNKNOWN): Uint8Array {
  return new Uint8Array([...EBML_HEADER, ...SEGMENT_ID, ...segmentSize, ...segmentBody]);
}

describe('withDateUtc on hand-made inits', () => {
  it('patches a minimal init and keeps bytes after the first Cluster ID', () => {
    const input = new Uint8Array([...init([...INFO, ...TRACKS]), 0x1f, 0x43, 0xb6, 0x75]);
    const out = withDateUtc(input, DATE);
    const expected = init([...el(INFO_ID, [...TIMESTAMP_SCALE, ...dateUtcElement(DATE)]), ...TRACKS]);
    assert.deepEqual(out, new Uint8Array([...expected, 0x1f, 0x43, 0xb6, 0x75]));
  });

  it('grows a known Segment size, keeping its width when the new size fits', () => {
    const body = [...INFO, ...TRACKS];
    const declared = body.length + 5000; // the clusters would follow
    const out = withDateUtc(init(body, [0x40 | (declared >> 8), declared & 0xff]), DATE);
    assert.equal(element(out, SEGMENT_ID).sizeLength, 2);
    assert.equal(element(out, SEGMENT_ID).size, declared + DATE_UTC_LENGTH);
    assert.equal(out.length, init(body).length - UNKNOWN.length + 2 + DATE_UTC_LENGTH);
  });

  it('re-encodes a size field as 8 bytes when the grown size no longer fits its width', () => {
    const filler = el([0xec], new Array<number>(110).fill(0)); // a Void, 112 bytes in all
    const info = el(INFO_ID, [...TIMESTAMP_SCALE, ...filler]); // size 119: a 1-byte vint (max 126)
    const body = [...info, ...TRACKS];
    const input = init(body, sizeBytes(body.length)); // Segment size 119 + 5 + 10 = 134: 2 bytes
    assert.equal(element(input, INFO_ID).sizeLength, 1);
    const out = withDateUtc(input, DATE);
    const patchedInfo = element(out, INFO_ID);
    assert.equal(patchedInfo.sizeLength, 8);
    assert.equal(patchedInfo.size, 119 + DATE_UTC_LENGTH);
    const growth = DATE_UTC_LENGTH + 7;
    assert.equal(out.length, input.length + growth);
    assert.equal(element(out, SEGMENT_ID).size, body.length + growth);
    assert.ok(trailingDateUtc(patchedInfo.body) > 0n);
  });

  it('writes dates before 2001 as negative values', () => {
    const date = new Date('1999-12-31T23:59:59Z');
    const out = withDateUtc(init([...INFO, ...TRACKS]), date);
    assert.equal(trailingDateUtc(element(out, INFO_ID).body), -BigInt(366 * 86400 + 1) * 1_000_000_000n);
  });

  it('keeps a SeekHead whose positions do not go past Info; refuses one that does', () => {
    const TRACKS_ID = [0x16, 0x54, 0xae, 0x6b];
    // Positions are relative to the Segment body; 1-byte positions keep the SeekHead size fixed.
    const headLength = seekHead([[INFO_ID, 0]]).length;
    const good = seekHead([[INFO_ID, headLength]]); // Info right after the SeekHead
    const input = init([...good, ...INFO, ...TRACKS]);
    const out = withDateUtc(input, DATE);
    assert.equal(out.length, input.length + DATE_UTC_LENGTH);
    const infoAt = element(input, INFO_ID).start;
    assert.deepEqual(out.subarray(0, infoAt), input.subarray(0, infoAt), 'SeekHead unchanged');

    const twoLength = seekHead([[INFO_ID, 0], [TRACKS_ID, 0]]).length;
    const bad = seekHead([[INFO_ID, twoLength], [TRACKS_ID, twoLength + INFO.length]]); // Tracks would move
    const refused = init([...bad, ...INFO, ...TRACKS]);
    assert.equal(withDateUtc(refused, DATE), refused);

    // An empty SeekHead (Firefox writes one) is fine.
    const empty = init([...seekHead([]), ...INFO, ...TRACKS]);
    assert.equal(withDateUtc(empty, DATE).length, empty.length + DATE_UTC_LENGTH);
  });

  it('returns its input for inits it does not understand', () => {
    const cases: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['no EBML header', new Uint8Array([...SEGMENT_ID, ...UNKNOWN, ...INFO])],
      ['no Segment', new Uint8Array([...EBML_HEADER, ...INFO])],
      ['no Info', init(TRACKS)],
      ['two Infos', init([...INFO, ...INFO])],
      ['Info after the first Cluster', init([...TRACKS, 0x1f, 0x43, 0xb6, 0x75, ...UNKNOWN, ...INFO])],
      ['Info children overflow it', init([...el(INFO_ID, TIMESTAMP_SCALE.slice(0, -1)), ...TRACKS])],
      ['Info overflows the input', init(el(INFO_ID, TIMESTAMP_SCALE, sizeBytes(TIMESTAMP_SCALE.length + 1)))],
      ['Info overflows a known Segment', init([...INFO, ...TRACKS], sizeBytes(INFO.length - 1))],
      ['unknown-size Tracks', init([...INFO, ...el([0x16, 0x54, 0xae, 0x6b], [], [0xff])])],
      ['Cues before the clusters', init([...INFO, ...el([0x1c, 0x53, 0xbb, 0x6b], []), ...TRACKS])],
      ['already dated', init([...el(INFO_ID, [...TIMESTAMP_SCALE, ...dateUtcElement(new Date(0))]), ...TRACKS])],
    ];
    for (const [what, input] of cases) assert.equal(withDateUtc(input, DATE), input, what);
    const valid = init([...INFO, ...TRACKS]);
    assert.equal(withDateUtc(valid, new Date(Number.NaN)), valid, 'invalid date');
    assert.equal(withDateUtc(valid, new Date('2400-01-01T00:00:00Z')), valid, 'past the int64 range (2293)');
  });

  it('uses the current time by default', () => {
    const before = BigInt(Date.now() - EPOCH_2001_MS) * 1_000_000n;
    const ns = trailingDateUtc(element(withDateUtc(init([...INFO, ...TRACKS])), INFO_ID).body);
    const after = BigInt(Date.now() - EPOCH_2001_MS) * 1_000_000n;
    assert.ok(ns >= before && ns <= after);
  });

  it('never throws on arbitrary bytes, bare or behind an EBML header and Segment', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (tail, framed) => {
        const input = framed ? concat([init([]), tail]) : tail;
        const out = withDateUtc(input, DATE);
        if (out !== input) assert.equal(withDateUtc(out, DATE), out);
      }),
      { numRuns: 2000 },
    );
  });
});
