// Byte helpers for tests: concatenation and hand-made EBML.

/** Encodes an element data size in the shortest vint that is not all ones (RFC 8794 §4). */
export function sizeBytes(size: number): number[] {
  let len = 1;
  while (size >= 2 ** (7 * len) - 1) len++;
  const out: number[] = [];
  let v = size;
  for (let k = 0; k < len; k++) {
    out.unshift(v % 256);
    v = Math.floor(v / 256);
  }
  out[0] = (out[0] as number) | (0x80 >> (len - 1));
  return out;
}

/** Concatenates byte arrays. */
export { concatBytes as concat } from '../../src/media/bytes.ts';
