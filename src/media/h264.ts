// H.264 bitstream forms and setup: Annex B (start codes) ↔ AVC (NAL units behind big-endian
// lengths), the SPS/PPS of an Annex B keyframe, the `avcC` record (AVCDecoderConfigurationRecord)
// built from them, and the WebCodecs codec string `avc1.PPCCLL`.
// Spec: ITU-T H.264 §7.3 (NAL unit, SPS syntax), Annex B (byte stream format)
//       https://www.itu.int/rec/T-REC-H.264
//       ISO/IEC 14496-15 §5.3.3 (AVCDecoderConfigurationRecord)
//       https://www.w3.org/TR/webcodecs-avc-codec-registration/ (codec string, avc/annexb forms)
// Pure code: no Node or DOM imports, so it also runs in a browser.

/** NAL unit types this code looks at (H.264 Table 7-1). */
export const NalType = {
  /** Coded slice of an IDR picture: a keyframe. */
  IDR: 5,
  SEI: 6,
  SPS: 7,
  PPS: 8,
  /** Access unit delimiter. */
  AUD: 9,
} as const;

/** Type of a NAL unit (its low 5 header bits); -1 for an empty unit. */
export function nalType(nal: Uint8Array): number {
  const header = nal[0];
  return header === undefined ? -1 : header & 0x1f;
}

/**
 * Splits an Annex B byte stream into its NAL units (views into `data`, start codes left out).
 * Accepts 3- and 4-byte start codes; zero bytes before a start code (trailing_zero_8bits) are
 * dropped. Bytes before the first start code are not a NAL unit and are ignored.
 */
export function splitAnnexB(data: Uint8Array): Uint8Array[] {
  const units: Uint8Array[] = [];
  const n = data.length;
  let start = -1; // first byte of the current unit, -1 before the first start code
  let i = 0;
  while (i + 2 < n) {
    // A start code is 00 00 01; emulation prevention guarantees it never occurs inside a unit.
    if (data[i + 2]! > 1) {
      i += 3; // no start code can end at i+2 or begin before i+3 when this byte is > 1
    } else if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      if (start >= 0) units.push(data.subarray(start, trimZeros(data, start, i)));
      i += 3;
      start = i;
    } else {
      i++;
    }
  }
  if (start >= 0 && start < n) units.push(data.subarray(start, trimZeros(data, start, n)));
  return units.filter((u) => u.length > 0);
}

/** End of a unit that runs from `start` to `end`, without the zero bytes it ends with. */
function trimZeros(data: Uint8Array, start: number, end: number): number {
  while (end > start && data[end - 1] === 0) end--;
  return end;
}

/**
 * Splits an AVC-form frame (each NAL unit behind a big-endian length of `lengthSize` bytes: 1, 2
 * or 4) into its NAL units (views). Throws on a length that runs past the end.
 */
export function splitAvc(data: Uint8Array, lengthSize = 4): Uint8Array[] {
  if (lengthSize !== 1 && lengthSize !== 2 && lengthSize !== 4) throw new Error(`H.264: NAL length size ${lengthSize} (must be 1, 2 or 4)`);
  const units: Uint8Array[] = [];
  let at = 0;
  while (at < data.length) {
    if (at + lengthSize > data.length) throw new Error(`H.264: truncated NAL length at byte ${at} of ${data.length}`);
    let size = 0;
    for (let k = 0; k < lengthSize; k++) size = size * 256 + data[at + k]!;
    at += lengthSize;
    if (at + size > data.length) throw new Error(`H.264: NAL unit of ${size} bytes at byte ${at} runs past the end (${data.length})`);
    units.push(data.subarray(at, at + size));
    at += size;
  }
  return units;
}

/** NAL units back to back, each behind a 4-byte big-endian length (the AVC form with avcC lengthSize 4). */
export function joinAvc(units: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(units.reduce((sum, u) => sum + 4 + u.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const u of units) {
    view.setUint32(at, u.length);
    out.set(u, at + 4);
    at += 4 + u.length;
  }
  return out;
}

/** NAL units back to back, each after a 4-byte start code (Annex B). */
export function joinAnnexB(units: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(units.reduce((sum, u) => sum + 4 + u.length, 0));
  let at = 0;
  for (const u of units) {
    out[at + 3] = 1; // 00 00 00 01
    out.set(u, at + 4);
    at += 4 + u.length;
  }
  return out;
}

/** Converts an Annex B frame to the AVC form with 4-byte lengths (all NAL units kept). */
export function annexBToAvc(data: Uint8Array): Uint8Array {
  return joinAvc(splitAnnexB(data));
}

/** Converts an AVC-form frame (lengths of `lengthSize` bytes) to Annex B with 4-byte start codes. */
export function avcToAnnexB(data: Uint8Array, lengthSize = 4): Uint8Array {
  return joinAnnexB(splitAvc(data, lengthSize));
}

/** The SPS and PPS NAL units of a frame, in stream order. */
export interface ParameterSets {
  sps: Uint8Array[];
  pps: Uint8Array[];
}

/** The SPS and PPS of an Annex B frame (a keyframe carries them), or null when it lacks either. */
export function findParameterSets(annexB: Uint8Array): ParameterSets | null {
  const sps: Uint8Array[] = [];
  const pps: Uint8Array[] = [];
  for (const nal of splitAnnexB(annexB)) {
    const type = nalType(nal);
    if (type === NalType.SPS) sps.push(nal);
    else if (type === NalType.PPS) pps.push(nal);
  }
  return sps.length > 0 && pps.length > 0 ? { sps, pps } : null;
}

/** What an SPS says that an avcC record and a codec string need. */
export interface SpsInfo {
  profile: number;
  /** The constraint_set flags byte. */
  constraints: number;
  level: number;
  /** Only read for the High profiles (which carry it); 1 (4:2:0) otherwise. */
  chromaFormat: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
}

/** Profiles whose SPS carries chroma_format_idc and bit depths (H.264 §7.3.2.1.1), and whose avcC has the extension fields. */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Reads profile, constraints, level and (High profiles) chroma format and bit depths from an SPS NAL unit. */
export function parseSps(sps: Uint8Array): SpsInfo {
  if (nalType(sps) !== NalType.SPS || sps.length < 4) throw new Error(`H.264: not an SPS NAL unit (type ${nalType(sps)}, ${sps.length} bytes)`);
  const info: SpsInfo = { profile: sps[1]!, constraints: sps[2]!, level: sps[3]!, chromaFormat: 1, bitDepthLuma: 8, bitDepthChroma: 8 };
  if (!HIGH_PROFILES.has(info.profile)) return info;
  const bits = new BitReader(unescapeRbsp(sps.subarray(4)));
  bits.ue(); // seq_parameter_set_id
  info.chromaFormat = bits.ue();
  if (info.chromaFormat === 3) bits.bit(); // separate_colour_plane_flag
  info.bitDepthLuma = bits.ue() + 8;
  info.bitDepthChroma = bits.ue() + 8;
  return info;
}

/**
 * Builds an avcC record (lengthSizeMinusOne = 3: 4-byte lengths) from SPS and PPS NAL units. The
 * profile, constraints and level come from the first SPS; High profiles get the chroma format and
 * bit depth fields that ISO/IEC 14496-15 requires for them.
 */
export function buildAvcC(sps: readonly Uint8Array[], pps: readonly Uint8Array[]): Uint8Array {
  const first = sps[0];
  if (first === undefined || pps.length === 0) throw new Error('H.264: an avcC record needs at least one SPS and one PPS');
  if (sps.length > 31) throw new Error(`H.264: ${sps.length} SPS, an avcC record holds at most 31`);
  if (pps.length > 255) throw new Error(`H.264: ${pps.length} PPS, an avcC record holds at most 255`);
  const info = parseSps(first);
  const high = HIGH_PROFILES.has(info.profile);
  const size = 7 + [...sps, ...pps].reduce((sum, u) => sum + 2 + u.length, 0) + (high ? 4 : 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = 1; // configurationVersion
  out[1] = info.profile;
  out[2] = info.constraints;
  out[3] = info.level;
  out[4] = 0xfc | 3; // reserved 111111, lengthSizeMinusOne = 3
  out[5] = 0xe0 | sps.length; // reserved 111, numOfSequenceParameterSets
  let at = 6;
  for (const u of sps) {
    if (u.length > 0xffff) throw new Error(`H.264: an SPS of ${u.length} bytes does not fit an avcC record`);
    view.setUint16(at, u.length);
    out.set(u, at + 2);
    at += 2 + u.length;
  }
  out[at++] = pps.length;
  for (const u of pps) {
    if (u.length > 0xffff) throw new Error(`H.264: a PPS of ${u.length} bytes does not fit an avcC record`);
    view.setUint16(at, u.length);
    out.set(u, at + 2);
    at += 2 + u.length;
  }
  if (high) {
    out[at++] = 0xfc | info.chromaFormat;
    out[at++] = 0xf8 | (info.bitDepthLuma - 8);
    out[at++] = 0xf8 | (info.bitDepthChroma - 8);
    out[at++] = 0; // numOfSequenceParameterSetExt
  }
  return out;
}

/** The parts of an avcC record the muxers use. */
export interface AvcConfig {
  profile: number;
  constraints: number;
  level: number;
  /** Bytes of each NAL length in the frames (1, 2 or 4). */
  lengthSize: number;
  sps: Uint8Array[];
  pps: Uint8Array[];
}

/** Reads an avcC record (views into it); throws a clear Error when it is not one. */
export function parseAvcC(avcC: Uint8Array): AvcConfig {
  const fail = (why: string): Error => new Error(`H.264: not a valid avcC record (${why})`);
  if (avcC.length < 7) throw fail(`${avcC.length} bytes`);
  if (avcC[0] !== 1) throw fail(`configurationVersion ${avcC[0]}`);
  const lengthSize = (avcC[4]! & 3) + 1;
  if (lengthSize === 3) throw fail('NAL length size 3');
  const sets = (count: number, at: number, into: Uint8Array[]): number => {
    for (let k = 0; k < count; k++) {
      if (at + 2 > avcC.length) throw fail('truncated');
      const size = avcC[at]! * 256 + avcC[at + 1]!;
      if (at + 2 + size > avcC.length) throw fail('truncated');
      into.push(avcC.subarray(at + 2, at + 2 + size));
      at += 2 + size;
    }
    return at;
  };
  const sps: Uint8Array[] = [];
  const pps: Uint8Array[] = [];
  let at = sets(avcC[5]! & 0x1f, 6, sps);
  if (at >= avcC.length) throw fail('truncated');
  at = sets(avcC[at]!, at + 1, pps);
  return { profile: avcC[1]!, constraints: avcC[2]!, level: avcC[3]!, lengthSize, sps, pps };
}

/**
 * The WebCodecs (and MSE) codec string `avc1.PPCCLL` (profile, constraints, level in hex) from an
 * SPS NAL unit or an avcC record; throws when the bytes are neither.
 */
export function avcCodecString(spsOrAvcC: Uint8Array): string {
  let bytes: Uint8Array;
  if (spsOrAvcC[0] === 1) bytes = spsOrAvcC.subarray(1, 4); // avcC: configurationVersion 1, then the three bytes
  else if (nalType(spsOrAvcC) === NalType.SPS) bytes = spsOrAvcC.subarray(1, 4);
  else throw new Error('H.264: a codec string needs an SPS NAL unit or an avcC record');
  if (bytes.length < 3) throw new Error(`H.264: ${spsOrAvcC.length} bytes are too short for a codec string`);
  return `avc1.${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** Removes emulation prevention bytes (00 00 03 → 00 00) so the RBSP can be read bit by bit. */
function unescapeRbsp(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  let n = 0;
  let zeros = 0;
  for (const b of data) {
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out[n++] = b;
  }
  return out.subarray(0, n);
}

/** MSB-first bit reader with Exp-Golomb codes (H.264 §9.1); reading past the end throws. */
class BitReader {
  private pos = 0;
  constructor(private readonly data: Uint8Array) {}

  bit(): number {
    const byte = this.data[this.pos >> 3];
    if (byte === undefined) throw new Error('H.264: SPS ends early');
    const b = (byte >> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }

  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      if (++zeros > 31) throw new Error('H.264: invalid Exp-Golomb code in SPS');
    }
    let value = 0;
    for (let k = 0; k < zeros; k++) value = value * 2 + this.bit();
    return 2 ** zeros - 1 + value;
  }
}
