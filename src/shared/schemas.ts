// Schemas of every JSON message (zod), and the validating parser the server runs on each one.
// Described for people in docs/protocol.md; keep the two in step.
import { z } from 'zod';
import { MAX_TEXT_BYTES, MAX_TIME, ProtocolError } from './protocol.ts';

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
      .regex(/^[^\u0000-\u001f\u007f]*$/, 'name must not contain control characters'),
  );
const requestId = z.string().min(1).max(64);
const command = z.enum(['pause', 'resume']);
const dimension = z.number().int().min(1).max(16384);
/** A time in ms since the epoch on some device's clock (a sanity bound, not a check of the clock). */
const clockTime = z.number().min(0).max(MAX_TIME);
/** Clock sync request (either role): `sent` is the client's clock when it sent it; the server echoes it with its own time. */
const clockRequest = z.object({ type: z.literal('clock'), sent: clockTime });

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
  clockRequest,
  /** The camera's clock offset to the server's (server = camera + offset), from its clock sync: the server turns capture times into its own clock with it. */
  z.object({ type: z.literal('clock-offset'), offset: z.number().min(-1e13).max(1e13), rtt: z.number().min(0).max(60_000) }),
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
  clockRequest,
]);

// ---- server → client ----
export const serverMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('welcome'), protocol: z.number(), role: z.enum(['camera', 'viewer']), channel: z.number().optional() }),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
  z.object({ type: z.literal('cameras'), cameras: z.array(cameraInfoSchema) }),
  z.object({ type: z.literal('stream'), cameraId, channel: z.number(), mime: z.string() }),
  z.object({ type: z.literal('viewers'), count: z.number() }),
  z.object({ type: z.literal('clock'), sent: z.number(), server: z.number() }),
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

