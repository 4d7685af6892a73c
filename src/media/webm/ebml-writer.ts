// EBML element writer: just what the live WebM writer needs (IDs, sizes, unsigned/float/string/
// binary/date elements, masters of known and unknown size). Each function returns fresh bytes.
// Spec: RFC 8794 (EBML: vints §4, element data types §7) https://www.rfc-editor.org/rfc/rfc8794
// Pure code: no Node or DOM imports, so it also runs in a browser.
import { concatBytes } from '../bytes.ts';

/** Largest size a vint of 8 bytes can say (all-ones is reserved for "unknown"). */
const MAX_SIZE = 2 ** 56 - 2;
/** DateUTC counts nanoseconds from 2001-01-01T00:00:00Z. */
const EPOCH_2001_MS = Date.UTC(2001, 0, 1);
const ascii = new TextEncoder();

/** Bytes of an element ID as written in the specs (its length marker included), e.g. 0x1a45dfa3 → 4 bytes. */
export function idBytes(id: number): Uint8Array {
  const length = id >= 0x1000000 ? 4 : id >= 0x10000 ? 3 : id >= 0x100 ? 2 : 1;
  const out = new Uint8Array(length);
  for (let k = length - 1, v = id; k >= 0; k--, v = Math.floor(v / 256)) out[k] = v & 0xff;
  return out;
}

/** Length in bytes of the shortest vint that holds `size` (1..8). */
export function sizeLength(size: number): number {
  // A vint of n bytes holds 7n bits; all-ones means "unknown", so the largest is 2^(7n) - 2.
  let n = 1;
  while (size > 2 ** (7 * n) - 2) n++;
  return n;
}

/** Writes `size` as a vint of `length` bytes into `out` at `at`; returns the offset after it. */
export function writeSize(out: Uint8Array, at: number, size: number, length = sizeLength(size)): number {
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_SIZE) throw new RangeError(`EBML: element size ${size} out of range`);
  let v = size;
  for (let k = length - 1; k >= 1; k--) {
    out[at + k] = v & 0xff;
    v = Math.floor(v / 256);
  }
  out[at] = (0x100 >> length) | v; // length marker, then the top bits
  return at + length;
}

/** An element: ID, the shortest size vint, body. */
export function element(id: number, body: Uint8Array): Uint8Array {
  const head = idBytes(id);
  const out = new Uint8Array(head.length + sizeLength(body.length) + body.length);
  out.set(head, 0);
  const at = writeSize(out, head.length, body.length);
  out.set(body, at);
  return out;
}

/** A master element of known size holding `children` back to back. */
export function master(id: number, children: readonly Uint8Array[]): Uint8Array {
  return element(id, concatBytes(children));
}

/** The header of a master element of unknown size (a live Segment or Cluster): ID + 8-byte all-ones size. */
export function unknownSizeHeader(id: number): Uint8Array {
  const head = idBytes(id);
  const out = new Uint8Array(head.length + 8).fill(0xff);
  out.set(head, 0);
  out[head.length] = 0x01; // 8-byte vint marker, every data bit set
  return out;
}

/** An unsigned integer element, big-endian in the fewest bytes (at least one). */
export function uintElement(id: number, value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`EBML: unsigned value ${value} out of range`);
  let length = 1;
  while (value >= 2 ** (8 * length)) length++;
  const body = new Uint8Array(length);
  for (let k = length - 1, v = value; k >= 0; k--, v = Math.floor(v / 256)) body[k] = v & 0xff;
  return element(id, body);
}

/** A float element as an 8-byte IEEE double. */
export function floatElement(id: number, value: number): Uint8Array {
  const body = new Uint8Array(8);
  new DataView(body.buffer).setFloat64(0, value);
  return element(id, body);
}

/** An ASCII/UTF-8 string element. */
export function stringElement(id: number, value: string): Uint8Array {
  return element(id, ascii.encode(value));
}

/** A date element: signed nanoseconds since 2001-01-01T00:00:00Z, 8 bytes. */
export function dateElement(id: number, date: Date): Uint8Array {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('EBML: invalid date');
  const body = new Uint8Array(8);
  new DataView(body.buffer).setBigInt64(0, BigInt(Math.round(ms - EPOCH_2001_MS)) * 1_000_000n);
  return element(id, body);
}
