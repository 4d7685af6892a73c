// The latency time code: painted into a fake raster, read back at several frame sizes, with noise,
// with corrupted blocks and low contrast; and the age computation across the 2^32 wrap.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CODE_FRAME, TWO32, codeAge, codeRegion, paintTimeCode, readTimeCode, type FillContext } from '../../src/client/common/time-code.ts';

// A real 2D context is a FillContext (compile-time check only).
const _contextFits: FillContext | null = null as CanvasRenderingContext2D | null;
void _contextFits;

type Rgb = readonly [number, number, number];
const COLOURS: Record<string, Rgb> = { '#808080': [128, 128, 128], '#fff': [255, 255, 255], '#000': [0, 0, 0] };
/** What the fake raster holds before painting: a colour the code never uses. */
const SCENE: Rgb = [200, 40, 90];

/** An opaque RGBA pixel as one word in this machine's byte order. */
function word(rgb: Rgb): number {
  return new Uint32Array(new Uint8ClampedArray([...rgb, 255]).buffer)[0] ?? 0;
}

/** A FillContext that rasterises fillRect (pixel centres inside the rectangle) into RGBA. */
class Raster implements FillContext {
  fillStyle: unknown = '#000';
  readonly data: Uint8ClampedArray;
  readonly stylesUsed = new Set<unknown>();
  /** A buffer of width x height: the full frame, or only its top-left part (painting is clipped). */
  constructor(readonly width: number, readonly height: number) {
    this.data = new Uint8ClampedArray(width * height * 4);
    this.words = new Uint32Array(this.data.buffer);
    this.words.fill(word(SCENE));
  }
  /** The same pixels, one 32-bit word each (filled a row at a time: fast enough for 4K frames). */
  private readonly words: Uint32Array;
  fillRect(x: number, y: number, w: number, h: number): void {
    this.stylesUsed.add(this.fillStyle);
    const rgb = typeof this.fillStyle === 'string' ? COLOURS[this.fillStyle] : undefined;
    if (!rgb) throw new Error(`unexpected fillStyle ${String(this.fillStyle)}`);
    const xs = Math.max(0, Math.ceil(x - 0.5));
    const xe = Math.min(this.width, Math.ceil(x + w - 0.5));
    const ys = Math.max(0, Math.ceil(y - 0.5));
    const ye = Math.min(this.height, Math.ceil(y + h - 0.5));
    if (xe <= xs) return;
    const value = word(rgb);
    for (let py = ys; py < ye; py++) this.words.fill(value, py * this.width + xs, py * this.width + xe);
  }
  pixel(x: number, y: number): Rgb {
    const o = (y * this.width + x) * 4;
    return [this.data[o] ?? -1, this.data[o + 1] ?? -1, this.data[o + 2] ?? -1];
  }
}

/** Paints the code for t into a frame of w x h; the buffer is the full frame unless given. */
function paint(t: number, w: number, h: number, buffer = { width: w, height: h }): Raster {
  const r = new Raster(buffer.width, buffer.height);
  paintTimeCode(r, t, w, h);
  return r;
}

/** Painting and reading into a buffer exactly as big as codeRegion says. */
function roundTrip(t: number, w: number, h: number): number | null {
  return readTimeCode(paint(t, w, h, codeRegion(w, h)), w, h);
}

/** The top-left part of a raster, as getImageData would return it. */
function crop(r: Raster, width: number, height: number): { data: Uint8ClampedArray; width: number; height: number } {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) data.set(r.data.subarray(y * r.width * 4, (y * r.width + width) * 4), y * width * 4);
  return { data, width, height };
}

/** Pixel bounds of block (row, col) in a frame of w x h, per the documented layout. */
function block(w: number, h: number, row: number, col: number): { x: number; y: number; w: number; h: number } {
  const sx = w / 640;
  const sy = h / 480;
  const x = Math.round((32 + col * 32) * sx);
  const y = Math.round((32 + row * 32) * sy);
  return { x, y, w: Math.round((64 + col * 32) * sx) - x, h: Math.round((64 + row * 32) * sy) - y };
}

function fillBlock(r: Raster, w: number, h: number, row: number, col: number, style: string): void {
  const b = block(w, h, row, col);
  r.fillStyle = style;
  r.fillRect(b.x, b.y, b.w, b.h);
}

/** The colour at the centre of a block, as '#fff' / '#000' / '#808080'. */
function blockStyle(r: Raster, w: number, h: number, row: number, col: number): string {
  const b = block(w, h, row, col);
  const [red] = r.pixel(b.x + Math.floor(b.w / 2), b.y + Math.floor(b.h / 2));
  return red === 255 ? '#fff' : red === 0 ? '#000' : '#808080';
}

/** Every (row, col) of the code: 2 references + 16, 16 and 8 bits. */
const BLOCKS: [number, number][] = [0, 1, 2].flatMap((row) => Array.from({ length: row < 2 ? 18 : 10 }, (_, col): [number, number] => [row, col]));
const BIT_BLOCKS = BLOCKS.filter(([, col]) => col >= 2);

/** Small deterministic PRNG for noise. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Adds the same offset in [-amp, amp] to R, G and B of every pixel (so luma moves by it). */
function addNoise(data: Uint8ClampedArray, amp: number, seed: number): void {
  const rnd = mulberry32(seed);
  for (let o = 0; o < data.length; o += 4) {
    const d = Math.round((rnd() * 2 - 1) * amp);
    for (let c = 0; c < 3; c++) data[o + c] = (data[o + c] ?? 0) + d;
  }
}

const EDGE_TIMES = [0, TWO32 - 1, 65535, 65536, 65537, 0x12345678, 0xffff0000, 0x0000ffff, Date.now()];
const SIZES: [number, number][] = [
  [640, 480], [1280, 720], [320, 240], [1920, 1080], // the named ones (1280x720 and 1920x1080: non-integer y scale)
  [854, 480], [1366, 768], [426, 240], [160, 120], [1080, 1920], [3840, 2160],
];

describe('time code', () => {
  it('round-trips the edge times at 640x480, reading the whole frame', () => {
    for (const t of EDGE_TIMES) assert.equal(readTimeCode(paint(t, 640, 480), 640, 480), t % TWO32, `t=${t}`);
  });

  it('round-trips any time (fast-check), also times past 2^32, negative and fractional ones', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: TWO32 - 1 }), (t) => roundTrip(t, 640, 480) === t), { numRuns: 300 });
    fc.assert(
      fc.property(fc.double({ min: -1e15, max: 1e15, noNaN: true }), (t) => {
        const expected = ((Math.floor(t) % TWO32) + TWO32) % TWO32;
        return roundTrip(t, 640, 480) === expected;
      }),
      { numRuns: 200 },
    );
  });

  it('reads at scaled frame sizes, including non-integer scale factors', () => {
    for (const [w, h] of SIZES) {
      for (const t of EDGE_TIMES) assert.equal(readTimeCode(paint(t, w, h), w, h), t % TWO32, `${w}x${h} t=${t}`);
    }
    fc.assert(
      fc.property(fc.integer({ min: 160, max: 3840 }), fc.integer({ min: 120, max: 2160 }), fc.integer({ min: 0, max: TWO32 - 1 }), (w, h, t) => roundTrip(t, w, h) === t),
      { numRuns: 150 },
    );
  });

  it('needs only the region codeRegion gives, which lies inside the frame', () => {
    assert.deepEqual(codeRegion(640, 480), { width: 608, height: 128 });
    for (const [w, h] of SIZES) {
      const region = codeRegion(w, h);
      assert.ok(region.width <= w && region.height <= h, `${w}x${h}`);
      const full = paint(0xdeadbeef, w, h);
      // Cut out of a full frame (getImageData on a canvas), and painted into a buffer only that big.
      assert.equal(readTimeCode(crop(full, region.width, region.height), w, h), 0xdeadbeef, `${w}x${h} cropped`);
      assert.equal(readTimeCode(paint(0xdeadbeef, w, h, region), w, h), 0xdeadbeef, `${w}x${h} region-sized`);
    }
  });

  it('returns null, not an exception, for an image too small for the frame size, or a bad frame size', () => {
    const full = paint(1234, 1280, 720);
    assert.equal(readTimeCode(crop(full, 300, 720), 1280, 720), null);
    assert.equal(readTimeCode(crop(full, 1280, 100), 1280, 720), null);
    assert.equal(readTimeCode({ data: new Uint8ClampedArray(16), width: 608, height: 128 }, 640, 480), null, 'data shorter than width x height');
    assert.equal(readTimeCode(full, 0, 720), null);
    assert.equal(readTimeCode(full, Number.NaN, 720), null);
    assert.equal(readTimeCode(paint(1234, 20, 15), 20, 15), 1234, 'blocks of one pixel still read (in a perfect raster)');
    assert.equal(readTimeCode(paint(1234, 10, 8), 10, 8), null, 'blocks too small to have a middle');
  });

  it('keeps to the documented layout and colours, and paints nothing outside the grey band', () => {
    const t = 0x12345678;
    const r = paint(t, 640, 480);
    assert.deepEqual(new Set([...r.stylesUsed]), new Set(['#808080', '#fff', '#000']));
    const chk = (0x12 ^ 0x34 ^ 0x56 ^ 0x78 ^ 0xa5) & 255;
    const rows: [number, number][] = [[0x1234, 16], [0x5678, 16], [chk, 8]];
    rows.forEach(([v, bits], row) => {
      assert.equal(blockStyle(r, 640, 480, row, 0), '#fff', `row ${row} white reference`);
      assert.equal(blockStyle(r, 640, 480, row, 1), '#000', `row ${row} black reference`);
      for (let b = 0; b < bits; b++) {
        assert.equal(blockStyle(r, 640, 480, row, 2 + b), (v >> (bits - 1 - b)) & 1 ? '#fff' : '#000', `row ${row} bit ${b}`);
      }
    });
    // Band: (16,16) to (16 + 18*32 + 32, 16 + 3*32 + 32) = (624, 144), exclusive.
    for (const [x, y] of [[16, 16], [623, 16], [16, 143], [623, 143], [620, 80], [300, 20], [300, 140]] as const) {
      assert.deepEqual(r.pixel(x, y), [128, 128, 128], `band at ${x},${y}`);
    }
    for (const [x, y] of [[15, 15], [624, 16], [16, 144], [639, 479], [300, 200]] as const) {
      assert.deepEqual(r.pixel(x, y), SCENE, `scene untouched at ${x},${y}`);
    }
    assert.deepEqual(CODE_FRAME, { width: 640, height: 480 });
  });

  it('still reads with ±20 luma of noise per pixel, or the whole picture 20 brighter or darker', () => {
    for (const [w, h] of SIZES) {
      for (const [i, t] of EDGE_TIMES.entries()) {
        const r = paint(t, w, h, codeRegion(w, h));
        addNoise(r.data, 20, i * 7919 + w);
        assert.equal(readTimeCode(r, w, h), t % TWO32, `${w}x${h} t=${t}`);
      }
    }
    for (const bias of [-20, 20]) {
      const r = paint(0xcafef00d, 640, 480);
      for (let o = 0; o < r.data.length; o += 4) for (let c = 0; c < 3; c++) r.data[o + c] = (r.data[o + c] ?? 0) + bias;
      assert.equal(readTimeCode(r, 640, 480), 0xcafef00d, `bias ${bias}`);
    }
  });

  // Why every single-bit error is caught: the check is an XOR of the four bytes, so flipping one of
  // the 32 time bits flips exactly one bit of the computed check, and flipping one of the 8 check
  // bits flips the stored one; either way they differ, whatever the time. Flipping a reference
  // block spoils the references. The test flips each of the 46 blocks in turn, for many times.
  it('detects every single flipped block (checksum or references), at any time', () => {
    const [w, h] = [640, 480];
    const region = codeRegion(w, h);
    const flipAll = (t: number): void => {
      const r = paint(t, w, h, region);
      assert.equal(readTimeCode(r, w, h), t);
      for (const [row, col] of BLOCKS) {
        const style = blockStyle(r, w, h, row, col);
        fillBlock(r, w, h, row, col, style === '#fff' ? '#000' : '#fff');
        assert.equal(readTimeCode(r, w, h), null, `t=${t} row ${row} col ${col}`);
        fillBlock(r, w, h, row, col, style);
      }
      assert.equal(readTimeCode(r, w, h), t, 'restored');
    };
    for (const t of EDGE_TIMES) flipAll(t % TWO32);
    fc.assert(fc.property(fc.integer({ min: 0, max: TWO32 - 1 }), (t) => { flipAll(t); }), { numRuns: 40 });
  });

  it('detects a flipped block at a scaled size too', () => {
    const [w, h] = [1366, 768];
    const r = paint(0x0badf00d, w, h);
    for (const [row, col] of BIT_BLOCKS) {
      const style = blockStyle(r, w, h, row, col);
      fillBlock(r, w, h, row, col, style === '#fff' ? '#000' : '#fff');
      assert.equal(readTimeCode(r, w, h), null, `row ${row} col ${col}`);
      fillBlock(r, w, h, row, col, style);
    }
  });

  it('refuses low contrast: grey references, a washed-out picture, or an ambiguous block', () => {
    for (const row of [0, 1, 2]) {
      for (const col of [0, 1]) {
        const r = paint(0x12345678, 640, 480);
        fillBlock(r, 640, 480, row, col, '#808080');
        assert.equal(readTimeCode(r, 640, 480), null, `row ${row} reference ${col} grey`);
      }
    }
    const washed = paint(0x12345678, 640, 480);
    for (let o = 0; o < washed.data.length; o += 4) {
      for (let c = 0; c < 3; c++) washed.data[o + c] = 128 + ((washed.data[o + c] ?? 0) - 128) * 0.35;
    }
    assert.equal(readTimeCode(washed, 640, 480), null, 'contrast at 35%');
    // A grey block sits just above the threshold, so it would read as 1: take both a white block
    // (where only the ambiguity rule can refuse it) and a black one.
    for (const want of ['#fff', '#000']) {
      const ambiguous = paint(0x12345678, 640, 480);
      const at = BIT_BLOCKS.find(([row, col]) => blockStyle(ambiguous, 640, 480, row, col) === want);
      assert.ok(at);
      fillBlock(ambiguous, 640, 480, at[0], at[1], '#808080');
      assert.equal(readTimeCode(ambiguous, 640, 480), null, `a ${want} data block turned grey`);
    }
    assert.equal(readTimeCode(new Raster(640, 480), 640, 480), null, 'no code at all');
  });

  it('only ever sets the three colours, and refuses a time that is not finite', () => {
    const r = new Raster(64, 48);
    paintTimeCode(r, 42, 64, 48);
    for (const s of r.stylesUsed) assert.ok(s === '#808080' || s === '#fff' || s === '#000', String(s));
    assert.throws(() => paintTimeCode(r, Number.NaN, 64, 48), RangeError);
    assert.throws(() => paintTimeCode(r, Infinity, 64, 48), RangeError);
  });
});

describe('codeAge', () => {
  it('is now - painted within [0, maxMs]', () => {
    assert.equal(codeAge(1000, 900), 100);
    assert.equal(codeAge(1000, 1000), 0);
    assert.equal(codeAge(10_900, 900), 10_000, 'the default limit is inclusive');
    assert.equal(codeAge(1000.75, 900), 100.75, 'fractional now');
    assert.equal(codeAge(500, 100, 400), 400);
  });
  it('unwraps across the 2^32 boundary, with now given as a full epoch time', () => {
    assert.equal(codeAge(TWO32 + 50, TWO32 - 30), 80);
    assert.equal(codeAge(50, TWO32 - 30), 80);
    assert.equal(codeAge(5 * TWO32 + 10, 0), 10);
    const now = Date.now();
    const painted = readTimeCode(paint(now - 120, 640, 480), 640, 480);
    assert.notEqual(painted, null);
    assert.equal(codeAge(now, painted ?? -1), 120);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 45 }), fc.integer({ min: 0, max: 10_000 }), (t, age) => codeAge(t + age, t % TWO32) === age),
      { numRuns: 500 },
    );
  });
  it('rejects negative ages (also across the wrap) and too old ones', () => {
    assert.equal(codeAge(900, 1000), null);
    assert.equal(codeAge(TWO32 - 10, 5), null, 'painted just after the wrap, now just before it');
    assert.equal(codeAge(20_000, 0), null);
    assert.equal(codeAge(10_001, 0), null);
    assert.equal(codeAge(500, 0, 400), null);
    assert.equal(codeAge(TWO32 / 2, 0), null, 'half the cycle away');
    assert.equal(codeAge(TWO32 - 10, 5, TWO32), null, 'a code from the future stays negative even with a huge limit');
    assert.equal(codeAge(Number.NaN, 0), null);
    assert.equal(codeAge(0, Number.POSITIVE_INFINITY), null);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 45 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (t, ahead) => codeAge(t, (t + ahead) % TWO32) === null),
      { numRuns: 500 },
    );
  });
});
