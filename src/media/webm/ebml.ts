// EBML primitives: variable-size integers (vints), element IDs and sizes.
// Spec: RFC 8794 (EBML) https://www.rfc-editor.org/rfc/rfc8794
//       RFC 9559 (Matroska elements) https://www.rfc-editor.org/rfc/rfc9559
// Pure code: no Node or DOM imports, so it also runs in a browser.

/** Element IDs this project reads or must recognise (ID value with its length marker, as written). */
export const ElementId = {
  EBML: 0x1a45dfa3,
  // EBML header children (the live WebM writer writes them).
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Segment: 0x18538067,
  // Segment children (level 1).
  SeekHead: 0x114d9b74,
  Info: 0x1549a966,
  Tracks: 0x1654ae6b,
  Cues: 0x1c53bb6b,
  Tags: 0x1254c367,
  Chapters: 0x1043a770,
  Attachments: 0x1941a469,
  Cluster: 0x1f43b675,
  // Info.
  TimestampScale: 0x2ad7b1,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,
  DateUTC: 0x4461,
  Duration: 0x4489,
  // SeekHead.
  Seek: 0x4dbb,
  SeekID: 0x53ab,
  SeekPosition: 0x53ac,
  // Cues.
  CuePoint: 0xbb,
  CueTime: 0xb3,
  CueTrackPositions: 0xb7,
  CueTrack: 0xf7,
  CueClusterPosition: 0xf1,
  // Tracks.
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackType: 0x83,
  CodecID: 0x86,
  TrackUID: 0x73c5,
  FlagLacing: 0x9c,
  CodecPrivate: 0x63a2,
  Video: 0xe0,
  Audio: 0xe1,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  // Cluster.
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,
  BlockGroup: 0xa0,
  Block: 0xa1,
  ReferenceBlock: 0xfb,
  BlockDuration: 0x9b,
  // Global elements, allowed anywhere.
  Void: 0xec,
  CRC32: 0xbf,
} as const;

const NAMES = new Map<number, string>(Object.entries(ElementId).map(([name, id]) => [id, name]));

/** Human-readable name of an element ID, e.g. "Cluster (1F43B675)", for error messages. */
export function elementName(id: number): string {
  const hex = id.toString(16).toUpperCase();
  const name = NAMES.get(id);
  return name === undefined ? `element ${hex}` : `${name} (${hex})`;
}

/** True for the IDs that may only be children of a Segment: they end an unknown-size Cluster. */
export function isSegmentChild(id: number): boolean {
  return (
    id === ElementId.Cluster ||
    id === ElementId.SeekHead ||
    id === ElementId.Info ||
    id === ElementId.Tracks ||
    id === ElementId.Cues ||
    id === ElementId.Tags ||
    id === ElementId.Chapters ||
    id === ElementId.Attachments
  );
}

/** Marker for an element of unknown size (all VINT_DATA bits set), e.g. Chrome's Segment and Cluster. */
export const UNKNOWN_SIZE = -1;

/** Length in bytes (1..8) of a vint from its first byte; 0 if the byte is 0x00 (a vint longer than 8 bytes). */
export function vintLength(firstByte: number): number {
  return firstByte === 0 ? 0 : Math.clz32(firstByte) - 23;
}

/** Length in bytes of an element ID from its first byte: 1..4, or 0 if invalid (0x00, or longer than 4). */
export function idLength(firstByte: number): number {
  return firstByte < 0x10 ? 0 : Math.clz32(firstByte) - 23;
}

/** Reads an element ID of `length` bytes (marker kept, as IDs are written in specs). */
export function readId(bytes: Uint8Array, offset: number, length: number): number {
  let id = 0;
  for (let k = 0; k < length; k++) id = id * 256 + (bytes[offset + k] as number);
  return id;
}

/** True if an ID's data bits are all zeros or all ones: both are invalid/reserved (RFC 8794 §5). */
export function isReservedId(id: number, length: number): boolean {
  const data = id - 2 ** (7 * length); // strip the marker bit
  return data === 0 || data === 2 ** (7 * length) - 1;
}

/**
 * Reads an element data size of `length` bytes (1..8). Returns UNKNOWN_SIZE when all data bits are
 * ones, or Infinity when the size cannot be represented exactly in a double (> 2^53 - 1).
 */
export function readSize(bytes: Uint8Array, offset: number, length: number): number {
  let value = (bytes[offset] as number) & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let k = 1; k < length; k++) {
    const b = bytes[offset + k] as number;
    if (b !== 0xff) allOnes = false;
    value = value * 256 + b;
  }
  if (allOnes) return UNKNOWN_SIZE;
  return value > Number.MAX_SAFE_INTEGER ? Infinity : value;
}

/** Reads a vint value (marker removed), e.g. a block's track number. */
export function readVint(bytes: Uint8Array, offset: number, length: number): number {
  let value = (bytes[offset] as number) & (0xff >> length);
  for (let k = 1; k < length; k++) value = value * 256 + (bytes[offset + k] as number);
  return value;
}

/** Reads a big-endian unsigned integer element body of 0..8 bytes (empty = 0, the EBML default). */
export function readUint(bytes: Uint8Array, offset: number, length: number): number {
  let value = 0;
  for (let k = 0; k < length; k++) value = value * 256 + (bytes[offset + k] as number);
  return value;
}

/** Reads an ASCII string element body (e.g. CodecID), dropping the zero padding EBML allows at its end. */
export function readString(bytes: Uint8Array, offset: number, length: number): string {
  let end = offset;
  const stop = offset + length;
  while (end < stop && bytes[end] !== 0) end++;
  let s = '';
  for (let k = offset; k < end; k++) s += String.fromCharCode(bytes[k] as number);
  return s;
}
