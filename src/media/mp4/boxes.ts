// ISO base media file format boxes: header reading (32/64-bit sizes, `uuid`), bounds-checked field
// reads over a buffered box, and iteration over a container's children.
// Spec: ISO/IEC 14496-12:2022 (ISOBMFF) §4.2 (Object structure), §4.2.2 (Box, FullBox); ISO offers
//       it free at https://standards.iso.org/ittf/PubliclyAvailableStandards/ ; the registered box
//       types and sample entries are listed by the MP4 registration authority, https://mp4ra.org/
// Pure code: no Node or DOM imports.
import { limit, malformed } from './errors.ts';

/** A box header: the four-character type, the whole box's size (header included) and the header's length. */
export interface BoxHeader {
  type: string;
  /** Bytes of the whole box, header included; 0 = "runs to the end of the file" (ISO 14496-12 §4.2.2). */
  size: number;
  /** 8, 16 (64-bit size), 24 (`uuid`) or 32 (both). */
  headerSize: number;
}

/** Longest box header: 4-byte size + type + 8-byte largesize + 16-byte uuid extended type. */
export const MAX_BOX_HEADER = 32;

/**
 * Header length once the first bytes of a header are known (8 until the size and type are in,
 * then 8/16/24/32): lets a streaming reader collect exactly the header and no more.
 */
export function boxHeaderLength(buf: Uint8Array, at: number, available: number): number {
  if (available < 8) return 8;
  const large = u32(buf, at) === 1;
  const uuid = buf[at + 4] === 0x75 && buf[at + 5] === 0x75 && buf[at + 6] === 0x69 && buf[at + 7] === 0x64;
  return 8 + (large ? 8 : 0) + (uuid ? 16 : 0);
}

/**
 * Reads the box header at `buf[at]` when `available` bytes hold it, else returns null (need more).
 * `offset` is the absolute stream offset of `buf[at]`, for errors. Throws MP4_MALFORMED for a size
 * smaller than the header and MP4_LIMIT for a 64-bit size beyond 2^53 (no real box comes near).
 */
export function readBoxHeader(buf: Uint8Array, at: number, available: number, offset: number): BoxHeader | null {
  const headerSize = boxHeaderLength(buf, at, available);
  if (available < headerSize) return null;
  const type = fourcc(buf, at + 4);
  let size = u32(buf, at);
  if (size === 1) {
    const high = u32(buf, at + 8);
    // 2^53 is where a Number stops counting bytes exactly.
    if (high >= 0x200000) throw limit(`'${type}' box declares a 64-bit size beyond 2^53 bytes`, offset);
    size = high * 2 ** 32 + u32(buf, at + 12);
  }
  if (size !== 0 && size < headerSize) {
    throw malformed(`'${type}' box declares a size of ${size} bytes, smaller than its ${headerSize}-byte header`, offset);
  }
  return { type, size, headerSize };
}

/** The four characters at `buf[at]`, non-printable bytes escaped as `\xNN` (safe for error messages). */
export function fourcc(buf: Uint8Array, at: number): string {
  let s = '';
  for (let k = 0; k < 4; k++) {
    const b = buf[at + k] ?? 0;
    s += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return s;
}

/** Big-endian unsigned 16-bit read (caller checks bounds). */
export function u16(buf: Uint8Array, at: number): number {
  return (((buf[at] as number) << 8) | (buf[at + 1] as number)) >>> 0;
}

/** Big-endian unsigned 32-bit read (caller checks bounds). */
export function u32(buf: Uint8Array, at: number): number {
  return (((buf[at] as number) << 24) | ((buf[at + 1] as number) << 16) | ((buf[at + 2] as number) << 8) | (buf[at + 3] as number)) >>> 0;
}

/** Big-endian signed 32-bit read (caller checks bounds). */
export function i32(buf: Uint8Array, at: number): number {
  return ((buf[at] as number) << 24) | ((buf[at + 1] as number) << 16) | ((buf[at + 2] as number) << 8) | (buf[at + 3] as number);
}

/** A child box inside a buffered parent: its header and where it starts, its body starts and it ends (indexes into the buffer). */
export interface ChildBox {
  type: string;
  start: number;
  bodyStart: number;
  end: number;
}

/**
 * A box's body held whole in memory, with bounds-checked big-endian reads from a cursor. Every
 * read past the end throws MP4_MALFORMED naming the box, with the absolute offset (`base` is the
 * absolute stream offset of `buf[0]`).
 */
export class BoxBody {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    readonly start: number,
    readonly end: number,
    readonly base: number,
    readonly type: string,
  ) {
    this.pos = start;
  }

  /** Absolute stream offset of the cursor. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Bytes left after the cursor. */
  get left(): number {
    return this.end - this.pos;
  }

  /** Throws MP4_MALFORMED unless `n` more bytes are there. */
  need(n: number, what: string): void {
    if (this.end - this.pos < n) {
      throw malformed(`'${this.type}' box of ${this.end - this.start} body bytes is too short for its ${what}`, this.offset);
    }
  }

  /** Reads one byte; `what` names the field in the error if the box is too short (likewise below). */
  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++] as number;
  }

  u16(what: string): number {
    this.need(2, what);
    const v = u16(this.buf, this.pos);
    this.pos += 2;
    return v;
  }

  u24(what: string): number {
    this.need(3, what);
    const v = ((this.buf[this.pos] as number) << 16) | ((this.buf[this.pos + 1] as number) << 8) | (this.buf[this.pos + 2] as number);
    this.pos += 3;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = u32(this.buf, this.pos);
    this.pos += 4;
    return v;
  }

  i32(what: string): number {
    this.need(4, what);
    const v = i32(this.buf, this.pos);
    this.pos += 4;
    return v;
  }

  /** A 64-bit unsigned field as a Number; a value beyond 2^53 (no real field comes near) throws MP4_LIMIT. */
  u64(what: string): number {
    this.need(8, what);
    const high = u32(this.buf, this.pos);
    if (high >= 0x200000) throw limit(`'${this.type}' ${what} is beyond 2^53`, this.offset);
    const v = high * 2 ** 32 + u32(this.buf, this.pos + 4);
    this.pos += 8;
    return v;
  }

  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }

  /** A view (not a copy) of the next `n` bytes. */
  view(n: number, what: string): Uint8Array {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** Reads a FullBox's version and flags (ISO 14496-12 §4.2.2). */
  fullBox(): { version: number; flags: number } {
    const version = this.u8('version');
    const flags = this.u24('flags');
    return { version, flags };
  }

  /** The box's children from the cursor to its end, read without recursion; `depth` is theirs (top level = 1). */
  children(depth: number, maxDepth: number): ChildBox[] {
    if (depth > maxDepth && this.pos < this.end) {
      throw limit(`'${this.type}' box nests its children deeper than maxDepth (${maxDepth})`, this.base + this.start);
    }
    const out: ChildBox[] = [];
    let at = this.pos;
    while (at < this.end) {
      const header = readBoxHeader(this.buf, at, this.end - at, this.base + at);
      if (header === null) {
        throw malformed(`box header runs past the end of its parent '${this.type}' at ${this.base + this.end}`, this.base + at);
      }
      // Size 0 only means "to the end of the file" at top level; inside a parent held whole it can
      // only mean "to the end of the parent" (QuickTime writes such terminators in udta).
      const end = header.size === 0 ? this.end : at + header.size;
      if (end > this.end) {
        throw malformed(
          `'${header.type}' box of ${header.size} bytes overflows its parent '${this.type}' ending at ${this.base + this.end}`,
          this.base + at,
        );
      }
      out.push({ type: header.type, start: at, bodyStart: at + header.headerSize, end });
      at = end;
    }
    this.pos = this.end;
    return out;
  }

  /** A reader over a child's body. */
  child(box: ChildBox): BoxBody {
    return new BoxBody(this.buf, box.bodyStart, box.end, this.base, box.type);
  }
}
