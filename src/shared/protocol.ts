// The wire protocol between camera pages, the server and viewer pages. Pure code (no Node, no DOM)
// shared by both sides. Described for people in docs/protocol.md; keep the two in step.
import { z } from 'zod';

/** Protocol version; exchanged in the first message of every connection. */
export const PROTOCOL_VERSION = 1;
/** Path of the one WebSocket endpoint on the HTTPS origin. */
export const WS_PATH = '/ws';
/** Largest text (JSON) message accepted, in bytes. */
export const MAX_TEXT_BYTES = 16 * 1024;
/** Largest binary (media) message accepted, header included, in bytes. */
export const MAX_BINARY_BYTES = 4 * 1024 * 1024;

const cameraId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'camera ids are 1-64 characters of A-Z a-z 0-9 _ -');
/** Display names: 1-64 characters after trimming, no control characters. */
const cameraName = z
  .string()
  .transform((s) => s.trim())
  .pipe(
    z
      .string()
      .min(1, 'name must not be empty')
      .max(64, 'name is longer than 64 characters')
      // eslint-disable-next-line no-control-regex
      .regex(/^[^\u0000-\u001f\u007f]*$/, 'name must not contain control characters'),
  );
const requestId = z.string().min(1).max(64);
const command = z.enum(['pause', 'resume']);
const dimension = z.number().int().min(1).max(16384);

export const cameraStateSchema = z.enum(['connecting', 'live', 'paused', 'offline']);
/** What viewers see of a camera. */
export const cameraInfoSchema = z.object({
  id: cameraId,
  channel: z.number().int().min(1).max(0xffff),
  name: z.string(),
  state: cameraStateSchema,
  mime: z.string().nullable(),
  width: z.number().nullable(),
  height: z.number().nullable(),
  fps: z.number().nullable(),
  viewers: z.number().int().min(0),
});

// ---- client → server ----
export const helloSchema = z.discriminatedUnion('role', [
  z.object({ type: z.literal('hello'), protocol: z.number().int(), role: z.literal('camera'), cameraId, name: cameraName }),
  z.object({ type: z.literal('hello'), protocol: z.number().int(), role: z.literal('viewer') }),
]);

export const cameraMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('stream'),
    mime: z.string().min(1).max(128),
    width: dimension.nullable(),
    height: dimension.nullable(),
    fps: z.number().min(0).max(1000).nullable(),
    audio: z.boolean(),
  }),
  z.object({ type: z.literal('state'), state: z.enum(['live', 'paused']) }),
  z.object({ type: z.literal('name'), name: cameraName }),
  z.object({
    type: z.literal('ack'),
    requestId,
    ok: z.boolean(),
    state: z.enum(['live', 'paused']).optional(),
    error: z.string().max(500).optional(),
  }),
]);

export const viewerMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('subscribe'), cameraId }),
  z.object({ type: z.literal('unsubscribe'), cameraId }),
  z.object({ type: z.literal('command'), cameraId, command, requestId }),
]);

// ---- server → client ----
export const serverMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('welcome'), protocol: z.number(), role: z.enum(['camera', 'viewer']), channel: z.number().optional() }),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
  z.object({ type: z.literal('cameras'), cameras: z.array(cameraInfoSchema) }),
  z.object({ type: z.literal('stream'), cameraId, channel: z.number(), mime: z.string() }),
  z.object({ type: z.literal('viewers'), count: z.number() }),
  z.object({ type: z.literal('command'), requestId, command }),
  z.object({
    type: z.literal('command-result'),
    requestId,
    cameraId,
    ok: z.boolean(),
    state: z.enum(['live', 'paused']).optional(),
    error: z.string().optional(),
  }),
]);

export type CameraState = z.infer<typeof cameraStateSchema>;
export type CameraInfo = z.infer<typeof cameraInfoSchema>;
export type Hello = z.infer<typeof helloSchema>;
export type CameraMessage = z.infer<typeof cameraMessageSchema>;
export type ViewerMessage = z.infer<typeof viewerMessageSchema>;
export type ServerMessage = z.infer<typeof serverMessageSchema>;
export type Command = z.infer<typeof command>;

/** Stable error codes; each maps to one WebSocket close code when fatal. */
export const CLOSE_CODES = {
  BAD_MESSAGE: 4400,
  HELLO_TIMEOUT: 4408,
  REPLACED: 4409,
  PROTOCOL_VERSION: 4426,
  BAD_MEDIA: 4415,
  WRONG_ORDER: 4412,
  TOO_LARGE: 1009,
  SHUTDOWN: 1001,
} as const;
export type ErrorCode = keyof typeof CLOSE_CODES;

/** A violation of the protocol by the peer; fatal for that one connection. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
  /** WebSocket close code for this error. */
  get closeCode(): number {
    return CLOSE_CODES[this.code];
  }
}

/** Parses and validates a JSON text message against a schema; throws ProtocolError('BAD_MESSAGE'). */
export function parseMessage<T>(schema: z.ZodType<T>, text: string): T {
  if (text.length > MAX_TEXT_BYTES) throw new ProtocolError('TOO_LARGE', `text message over ${MAX_TEXT_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError('BAD_MESSAGE', 'message is not valid JSON');
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const type = typeof value === 'object' && value !== null && 'type' in value ? String((value as { type: unknown }).type).slice(0, 40) : '?';
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new ProtocolError('BAD_MESSAGE', `invalid "${type}" message${where}: ${issue?.message ?? 'schema mismatch'}`);
  }
  return result.data;
}

// ---- binary media frames ----
// Every binary message: an 8-byte header, then payload.
//   0  u8   kind     1 = container media (WebM bytes, continuing the current stream)
//   1  u8   flags    bit 0 INIT: payload starts with the stream's init segment
//                    bit 1 KEY: payload starts at a Cluster that holds a keyframe
//   2  u16  channel  server → viewer: the camera's channel number; camera → server: 0
//   4  u32  seq      camera → server: chunk counter of the stream, from 0; server → viewer: per channel counter
// All integers big-endian.
export const HEADER_BYTES = 8;
export const FRAME_KIND_MEDIA = 1;
export const FLAG_INIT = 1;
export const FLAG_KEY = 2;
const KNOWN_FLAGS = FLAG_INIT | FLAG_KEY;

export interface FrameHeader {
  kind: number;
  flags: number;
  channel: number;
  seq: number;
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
}

/** Reads a binary frame; throws ProtocolError('BAD_MESSAGE') on a malformed header. The payload is a view, not a copy. */
export function decodeFrame(data: Uint8Array): { header: FrameHeader; payload: Uint8Array } {
  if (data.byteLength < HEADER_BYTES) throw new ProtocolError('BAD_MESSAGE', `binary message of ${data.byteLength} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  if (data.byteLength > MAX_BINARY_BYTES) throw new ProtocolError('TOO_LARGE', `binary message over ${MAX_BINARY_BYTES} bytes`);
  const view = new DataView(data.buffer, data.byteOffset, HEADER_BYTES);
  const header: FrameHeader = { kind: view.getUint8(0), flags: view.getUint8(1), channel: view.getUint16(2), seq: view.getUint32(4) };
  if (header.kind !== FRAME_KIND_MEDIA) throw new ProtocolError('BAD_MESSAGE', `unknown binary frame kind ${header.kind}`);
  if ((header.flags & ~KNOWN_FLAGS) !== 0) throw new ProtocolError('BAD_MESSAGE', `unknown binary frame flags 0x${header.flags.toString(16)}`);
  return { header, payload: data.subarray(HEADER_BYTES) };
}
