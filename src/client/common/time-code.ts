// A machine-readable time code painted on the frames of a test pattern and read back from the
// frames a viewer shows, to measure glass-to-glass latency (the viewer's overlay and the latency
// benchmark both read it). Pure: no DOM globals, so it can be bundled into the pages and imported
// by Node tests alike.
//
// Layout, in a 640x480 logical frame scaled to the real one: a grey band at (16,16) holding three
// rows of 32x32 blocks at y = 32, 64, 96 from x = 32. Each row starts with a white and a black
// reference block; row 0 holds the high 16 bits of (ms mod 2^32), row 1 the low 16 bits, row 2 an
// 8-bit check (XOR of the four bytes ^ 0xA5), most significant bit first, white = 1.

/** Logical size the layout is defined in; frames of any size are scaled. */
export const CODE_FRAME = { width: 640, height: 480 };

/** Time codes carry ms modulo this (about 49.7 days). */
export const TWO32 = 4294967296;

/** The part of a context painting needs (CanvasRenderingContext2D has it). */
export interface FillContext {
  fillStyle: unknown;
  fillRect(x: number, y: number, w: number, h: number): void;
}

/** Block size and top-left block, logical px. */
const B = 32;
const X0 = 32;
const Y0 = 32;
/** Reference blocks per row, then the bits of each row. */
const REFS = 2;
const ROW_BITS = [16, 16, 8] as const;
/** Widest row, in blocks. */
const COLUMNS = REFS + 16;
/** Margin of grey around the blocks, logical px. */
const BAND = 16;

const GREY = '#808080';
const WHITE = '#fff';
const BLACK = '#000';

/** The reference blocks must look like this (luma 0..255), or the frame is not read. */
const MIN_WHITE = 160;
const MAX_BLACK = 90;
const MIN_CONTRAST = 100;
/** A block within this share of the reference contrast around the threshold is ambiguous. */
const AMBIGUOUS = 0.25;

/** The check byte for the two 16-bit halves: every single-bit error changes it. */
function check(hi: number, lo: number): number {
  return ((hi >> 8) ^ (hi & 255) ^ (lo >> 8) ^ (lo & 255) ^ 0xa5) & 255;
}

/** x mod 2^32 in [0, 2^32), also for negative x. */
function mod32(x: number): number {
  const m = x % TWO32;
  return m < 0 ? m + TWO32 : m;
}

/** Values of the three rows for a time code t in [0, 2^32). */
function rowValues(t: number): [number, number, number] {
  const hi = Math.floor(t / 65536);
  const lo = t % 65536;
  return [hi, lo, check(hi, lo)];
}

/**
 * Paints the code for `timeMs` (ms since the epoch, any clock) into a frame of width x height.
 * The code holds floor(timeMs) mod 2^32. Rectangles are snapped to whole pixels so blocks stay
 * crisp at any scale. Sets `ctx.fillStyle` only to '#808080', '#fff' or '#000'.
 * @throws RangeError when `timeMs` is not finite.
 */
export function paintTimeCode(ctx: FillContext, timeMs: number, width: number, height: number): void {
  if (!Number.isFinite(timeMs)) throw new RangeError(`time code: time must be finite, got ${timeMs}`);
  const sx = width / CODE_FRAME.width;
  const sy = height / CODE_FRAME.height;
  // Logical rectangle → whole device pixels (edges rounded, so neighbours abut exactly).
  const rect = (x: number, y: number, w: number, h: number): void => {
    const px = Math.round(x * sx);
    const py = Math.round(y * sy);
    ctx.fillRect(px, py, Math.round((x + w) * sx) - px, Math.round((y + h) * sy) - py);
  };
  ctx.fillStyle = GREY;
  rect(X0 - BAND, Y0 - BAND, COLUMNS * B + 2 * BAND, ROW_BITS.length * B + 2 * BAND);
  const values = rowValues(mod32(Math.floor(timeMs)));
  for (let r = 0; r < ROW_BITS.length; r++) {
    const y = Y0 + r * B;
    ctx.fillStyle = WHITE;
    rect(X0, y, B, B);
    ctx.fillStyle = BLACK;
    rect(X0 + B, y, B, B);
    const bits = ROW_BITS[r] ?? 0;
    const v = values[r] ?? 0;
    for (let b = 0; b < bits; b++) {
      ctx.fillStyle = (v >> (bits - 1 - b)) & 1 ? WHITE : BLACK;
      rect(X0 + (REFS + b) * B, y, B, B);
    }
  }
}

/**
 * Rectangle from (0,0) that holds the code in a frame of this size: what to pass to getImageData.
 * (It covers the blocks; the grey band around them is not needed for reading.)
 */
export function codeRegion(width: number, height: number): { width: number; height: number } {
  const sx = width / CODE_FRAME.width;
  const sy = height / CODE_FRAME.height;
  return {
    width: Math.max(0, Math.min(width, Math.ceil((X0 + COLUMNS * B) * sx))),
    height: Math.max(0, Math.min(height, Math.ceil((Y0 + ROW_BITS.length * B) * sy))),
  };
}

/**
 * Reads the code from RGBA pixels of the region above (image.width may be the region's width);
 * frame size is the full frame's. Only the middle half of each block is looked at (codec ringing
 * at block edges does not matter); each row's reference blocks set the threshold. Returns ms
 * mod 2^32, or null when unreadable: references missing or too low in contrast, a block too close
 * to the threshold, the check not matching, or an image too small for the frame size.
 */
export function readTimeCode(
  image: { data: ArrayLike<number>; width: number; height: number },
  frameWidth: number,
  frameHeight: number,
): number | null {
  if (!(frameWidth > 0 && frameHeight > 0 && Number.isFinite(frameWidth) && Number.isFinite(frameHeight))) return null;
  const sx = frameWidth / CODE_FRAME.width;
  const sy = frameHeight / CODE_FRAME.height;
  const { data, width: iw, height: ih } = image;
  if (!Number.isInteger(iw) || !Number.isInteger(ih) || data.length < iw * ih * 4) return null;
  // The windows grow right and down, so the last block's bounds the whole read.
  const lastX = Math.round((X0 + (COLUMNS - 1) * B + (3 * B) / 4) * sx);
  const lastY = Math.round((Y0 + (ROW_BITS.length - 1) * B + (3 * B) / 4) * sy);
  if (lastX > iw || lastY > ih) return null;

  /** Mean luma of the middle half of block (row r, column c), or NaN if it has no pixels. */
  const luma = (r: number, c: number): number => {
    const x0 = Math.round((X0 + c * B + B / 4) * sx);
    const x1 = Math.round((X0 + c * B + (3 * B) / 4) * sx);
    const y0 = Math.round((Y0 + r * B + B / 4) * sy);
    const y1 = Math.round((Y0 + r * B + (3 * B) / 4) * sy);
    let sum = 0;
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const o = (y * iw + x) * 4;
        sum += 0.299 * (data[o] ?? 0) + 0.587 * (data[o + 1] ?? 0) + 0.114 * (data[o + 2] ?? 0);
      }
    }
    const n = (x1 - x0) * (y1 - y0);
    return n > 0 ? sum / n : NaN;
  };

  const values: number[] = [];
  for (let r = 0; r < ROW_BITS.length; r++) {
    const white = luma(r, 0);
    const black = luma(r, 1);
    // Written so that NaN (an empty window) is refused too.
    if (!(white >= MIN_WHITE && black <= MAX_BLACK && white - black >= MIN_CONTRAST)) return null;
    const threshold = (white + black) / 2;
    const margin = (white - black) * AMBIGUOUS;
    const bits = ROW_BITS[r] ?? 0;
    let v = 0;
    for (let b = 0; b < bits; b++) {
      const l = luma(r, REFS + b);
      if (!(Math.abs(l - threshold) >= margin)) return null;
      v = v * 2 + (l > threshold ? 1 : 0);
    }
    values.push(v);
  }
  const [hi = 0, lo = 0, chk = -1] = values;
  if (check(hi, lo) !== chk) return null;
  return hi * 65536 + lo;
}

/**
 * now - painted in ms, both mod 2^32 handled; null if outside [0, maxMs] (default 10000).
 * `nowMs` may be a full epoch time (it is reduced mod 2^32) and fractional; `painted` is what
 * readTimeCode returned. The difference is taken as the nearest one modulo 2^32, so a code painted
 * just before the wrap and read just after it still gives a small age.
 */
export function codeAge(nowMs: number, painted: number, maxMs = 10000): number | null {
  if (!Number.isFinite(nowMs) || !Number.isFinite(painted)) return null;
  let age = mod32(nowMs) - mod32(painted);
  if (age < -TWO32 / 2) age += TWO32;
  else if (age >= TWO32 / 2) age -= TWO32;
  return age >= 0 && age <= maxMs ? age : null;
}
