// The wire protocol between camera pages, the server and viewer pages: constants, close codes and
// the binary frame header. Pure code (no Node, no DOM) shared by both sides; the message schemas
// are in schemas.ts (the browser imports only their types, so zod stays out of its bundle).
// Described for people in docs/protocol.md; keep the two in step.

/** Protocol version; exchanged in the first message of every connection. */
export const PROTOCOL_VERSION = 6;
/** Path of the one WebSocket endpoint on the HTTPS origin. */
export const WS_PATH = '/ws';
/** Largest text (JSON) message accepted, in bytes. */
export const MAX_TEXT_BYTES = 16 * 1024;
/** Largest binary (media) message accepted, header included, in bytes. */
export const MAX_BINARY_BYTES = 4 * 1024 * 1024;

import { ProtocolError } from './errors.ts';
/** Errors and close codes: one catalog, in errors.ts. */
export { CLOSE_CODES, ERRORS, ProtocolError, type ErrorCode } from './errors.ts';

// ---- binary media frames ----
// Every binary message: a 16-byte header, then payload.
//   0  u8   kind     1 = container media (WebM bytes, continuing the current WebM stream)
//                    2 = one encoded chunk (WebCodecs: one video frame or one audio packet)
//   1  u8   flags    kind 1: bit 0 INIT: payload starts with the stream's init segment
//                            bit 1 KEY: payload starts at a Cluster that holds a keyframe
//                            bit 2 AUDIO: the sound's own recorder (a `stream` with `audioMime`)
//                    kind 2: bit 1 KEY: a keyframe (decoding can start here; every audio chunk is one)
//                            bit 2 AUDIO: the audio track (else video)
//   2  u16  channel  server → viewer: the camera's channel number; camera → server: 0
//   4  u32  seq      camera → server: counter of the stream's frames of this kind, from 0; server → viewer: counter per camera and output form
//   8  f64  time     kind 1: capture time of the stream's media time 0; kind 2: capture time of this
//                    chunk; ms since the Unix epoch: camera → server on the camera's clock, server →
//                    viewer on the server's clock (the camera's time plus the clock offset it
//                    reported); 0 = unknown
// All numbers big-endian.
export const HEADER_BYTES = 16;
/** Largest capture time accepted, ms since the epoch (year 5138: a bound, not a check of the clock). */
export const MAX_TIME = 1e14;
/**
 * A keyframe at most this old (ms) is where a joiner starts, or a skipped viewer or a dropping camera
 * goes on (a few frames to decode); an older one would leave the viewer that far behind live, so the
 * next keyframe is waited for instead.
 */
export const FRESH_KEYFRAME_MS = 200;
export const FRAME_KIND_MEDIA = 1;
export const FRAME_KIND_CHUNK = 2;
/** A still picture (JPEG) the camera page took when asked (`snapshot`): `seq` is the request's number, `time` when it was taken. */
export const FRAME_KIND_SNAPSHOT = 3;
export const FLAG_INIT = 1;
export const FLAG_KEY = 2;
export const FLAG_AUDIO = 4;
const KNOWN_FLAGS: Record<number, number> = { [FRAME_KIND_MEDIA]: FLAG_INIT | FLAG_KEY | FLAG_AUDIO, [FRAME_KIND_CHUNK]: FLAG_KEY | FLAG_AUDIO, [FRAME_KIND_SNAPSHOT]: 0 };

export interface FrameHeader {
  kind: number;
  flags: number;
  channel: number;
  seq: number;
  /** Capture time of media time 0 (a frame's capture time is this plus its timestamp), ms since the epoch; 0 (the default) when unknown. */
  time?: number;
}

/** Builds a binary frame from a header and payload (one copy). */
export function encodeFrame(header: FrameHeader, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.byteLength);
  writeHeader(out, header);
  out.set(payload, HEADER_BYTES);
  return out;
}

/** Writes a header into the first HEADER_BYTES of `out`. */
export function writeHeader(out: Uint8Array, header: FrameHeader): void {
  const view = new DataView(out.buffer, out.byteOffset, HEADER_BYTES);
  view.setUint8(0, header.kind);
  view.setUint8(1, header.flags);
  view.setUint16(2, header.channel);
  view.setUint32(4, header.seq >>> 0);
  view.setFloat64(8, header.time ?? 0);
}

/** Reads a binary frame; throws ProtocolError('BAD_MESSAGE') on a malformed header. The payload is a view, not a copy. */
export function decodeFrame(data: Uint8Array): { header: Required<FrameHeader>; payload: Uint8Array } {
  if (data.byteLength < HEADER_BYTES) throw new ProtocolError('BAD_MESSAGE', `binary message of ${data.byteLength} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  if (data.byteLength > MAX_BINARY_BYTES) throw new ProtocolError('TOO_LARGE', `binary message over ${MAX_BINARY_BYTES} bytes`);
  const view = new DataView(data.buffer, data.byteOffset, HEADER_BYTES);
  const time = view.getFloat64(8);
  const header = { kind: view.getUint8(0), flags: view.getUint8(1), channel: view.getUint16(2), seq: view.getUint32(4), time };
  const known = KNOWN_FLAGS[header.kind];
  if (known === undefined) throw new ProtocolError('BAD_MESSAGE', `unknown binary frame kind ${header.kind}`);
  if ((header.flags & ~known) !== 0) throw new ProtocolError('BAD_MESSAGE', `unknown binary frame flags 0x${header.flags.toString(16)}`);
  if (!(time >= 0 && time <= MAX_TIME)) throw new ProtocolError('BAD_MESSAGE', `the capture time in a binary frame must be a number from 0 to ${MAX_TIME}`);
  return { header, payload: data.subarray(HEADER_BYTES) };
}

// ---- clock ----

/** One round trip of clock sync, all in ms: the client's send time, the server's time when it answered, the client's receive time. */
export interface ClockSample {
  sent: number;
  server: number;
  received: number;
}

/** Offset to add to the client's clock to get the server's, and the round trip it was measured over. */
export interface ClockEstimate {
  offset: number;
  rtt: number;
}

/**
 * NTP-style estimate from recent round trips: the sample with the shortest round trip wins (its
 * answer waited least in queues, so the midpoint assumption holds best); samples with a negative
 * round trip (a clock step) are discarded. Null with no usable sample.
 */
export function estimateClock(samples: readonly ClockSample[]): ClockEstimate | null {
  let best: ClockEstimate | null = null;
  for (const s of samples) {
    const rtt = s.received - s.sent;
    if (!(rtt >= 0) || !Number.isFinite(s.server)) continue;
    if (best === null || rtt < best.rtt) best = { offset: s.server - (s.sent + s.received) / 2, rtt };
  }
  return best;
}
