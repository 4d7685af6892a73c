// Schemas of every JSON message (zod), and the validating parser the server runs on each one.
// Described for people in docs/protocol.md; keep the two in step.
import { z } from 'zod';
import { ERROR_CODES, ProtocolError } from './errors.ts';
import { MAX_TEXT_BYTES, MAX_TIME } from './protocol.ts';
import { hasControl, plainText, withoutBidi } from './text.ts';

export const cameraId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'camera ids are 1-64 characters of A-Z a-z 0-9 _ -');
/** Display names: 1-64 characters after trimming, no control characters (C0, DEL, C1), bidi formatting characters removed. */
export const cameraName = z
  .string()
  .transform((s) => withoutBidi(s).trim())
  .pipe(
    z
      .string()
      .min(1, 'name must not be empty')
      .max(64, 'name is longer than 64 characters')
      .refine((s) => !hasControl(s), 'name must not contain control characters'),
  );
/** Free text from a peer, shown or logged: control and bidi formatting characters removed. */
const peerText = (max: number) => z.string().max(max).transform(plainText);
const requestId = z.string().min(1).max(64);
const command = z.enum(['pause', 'resume']);
const dimension = z.number().int().min(1).max(16384);
/** A time in ms since the epoch on some device's clock (a sanity bound, not a check of the clock). */
const clockTime = z.number().min(0).max(MAX_TIME);
/** Clock sync request (either role): `sent` is the client's clock when it sent it; the server echoes it with its own time. */
const clockRequest = z.object({ type: z.literal('clock'), sent: clockTime });
/** How a stream is carried: container bytes (WebM, fragmented MP4: a camera's MediaRecorder, or muxed by the server for a viewer), or WebCodecs' encoded chunks. */
const streamFormat = z.enum(['webm', 'mp4', 'chunks']);
/** A WebCodecs codec string (`avc1.42e01f`, `vp8`, `opus`). */
const codecString = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a codec is 1-64 characters of A-Z a-z 0-9 . _ -');
/** Codec-specific setup bytes (WebCodecs' `description`), base64. */
const description = z
  .string()
  .max(4096)
  .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'description must be base64');
/** What a video decoder needs to start (from the encoder's decoderConfig). */
export const videoCodecConfigSchema = z.object({ codec: codecString, width: z.number().int().min(1).max(16384), height: z.number().int().min(1).max(16384), description: description.optional() });
/** What an audio decoder needs to start. */
export const audioCodecConfigSchema = z.object({ codec: codecString, sampleRate: z.number().int().min(8000).max(192_000), channels: z.number().int().min(1).max(8), description: description.optional() });

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
  /** What the camera streams (null: nothing yet); `chunks` cameras also name their codecs. */
  format: streamFormat.nullable(),
  videoCodec: z.string().nullable(),
  audioCodec: z.string().nullable(),
  /** When it went offline (ms since 1970, server's clock); null while it is on. */
  offlineSince: z.number().nullable(),
  /** Its place in the order the owner set (0 first); null: after those, by name. */
  order: z.number().nullable(),
  /** Whether it is being recorded: `recording`, or `failed` with why (null: it is not). */
  recording: z.object({ state: z.enum(['recording', 'failed']), message: z.string().optional() }).nullable(),
});

// ---- client → server ----
/** A camera device's secret, made by its page beside its id: the id is the device's that registered it first. */
export const cameraSecret = z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, 'a camera secret is 16-128 characters of A-Z a-z 0-9 _ -');
export const helloSchema = z.discriminatedUnion('role', [
  z.object({ type: z.literal('hello'), protocol: z.number().int(), role: z.literal('camera'), cameraId, secret: cameraSecret, name: cameraName }),
  z.object({ type: z.literal('hello'), protocol: z.number().int(), role: z.literal('viewer') }),
]);

export const cameraMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('stream'),
    /** `webm` (the default): WebM bytes follow, `mime` says which; `chunks`: encoded chunks follow, each track after its `codec`. */
    format: streamFormat.default('webm'),
    mime: z.string().min(1).max(128).transform(plainText).optional(),
    /** A WebM stream whose sound has a recorder of its own: that recorder's type (its bytes are the binary frames flagged AUDIO). */
    audioMime: z.string().min(1).max(128).transform(plainText).optional(),
    /** A WebM stream that a chunk camera runs, when asked, for viewers that cannot decode its chunks. */
    fallback: z.boolean().optional(),
    width: dimension.nullable(),
    height: dimension.nullable(),
    fps: z.number().min(0).max(1000).nullable(),
    audio: z.boolean(),
  }),
  z.object({ type: z.literal('state'), state: z.enum(['live', 'paused']) }),
  /** A chunk stream's decoder setup for a track, before its first chunk and whenever it changes. */
  z.object({ type: z.literal('codec'), video: videoCodecConfigSchema.optional(), audio: audioCodecConfigSchema.optional() }),
  z.object({ type: z.literal('name'), name: cameraName }),
  /** A chunk camera asked for its WebM fallback cannot record it (e.g. its browser records only MP4): why, for the viewers that wait. */
  z.object({ type: z.literal('fallback-failed'), reason: peerText(300) }),
  clockRequest,
  /** The camera's clock offset to the server's (server = camera + offset), from its clock sync: the server turns capture times into its own clock with it. */
  z.object({ type: z.literal('clock-offset'), offset: z.number().min(-1e13).max(1e13), rtt: z.number().min(0).max(60_000) }),
  z.object({
    type: z.literal('ack'),
    requestId,
    ok: z.boolean(),
    state: z.enum(['live', 'paused']).optional(),
    error: peerText(500).optional(),
  }),
]);

export const viewerMessageSchema = z.discriminatedUnion('type', [
  /**
   * `chunks`: this viewer can decode the camera's encoded chunks (its `videoCodec`/`audioCodec`);
   * else it gets a stream the server muxes. `audio: false`: it is not listening, so a muxed stream
   * leaves the sound out (MSE holds a stream with sound far behind live; default true).
   */
  z.object({ type: z.literal('subscribe'), cameraId, chunks: z.boolean().optional(), audio: z.boolean().optional() }),
  /** This viewer's decoder needs a keyframe (it lost one, or fell behind). */
  z.object({ type: z.literal('keyframe'), cameraId }),
  z.object({ type: z.literal('unsubscribe'), cameraId }),
  z.object({ type: z.literal('command'), cameraId, command, requestId }),
  clockRequest,
]);

// ---- server → client ----
export const serverMessageSchema = z.discriminatedUnion('type', [
  /** Camera: `name` is the name it has, which differs from the one it asked for when another camera has that name ("Kitchen 2"). */
  z.object({ type: z.literal('welcome'), protocol: z.number(), role: z.enum(['camera', 'viewer']), channel: z.number().optional(), name: z.string().optional(), setBy: z.literal('owner').optional() }),
  /**
   * To a camera that asked for a new name: the name it has now (numbered when another camera has the
   * one it asked for). `setBy: 'owner'`: the owner renamed it, and the page keeps the new name.
   */
  z.object({ type: z.literal('name'), name: z.string(), setBy: z.literal('owner').optional() }),
  /** To a camera the owner let take an earlier camera's place: its id from now on (the connection then closes with 4410, and the page comes back as that camera). */
  z.object({ type: z.literal('adopted'), cameraId, name: z.string() }),
  /** `cameraId`: the error is about that camera only (UNKNOWN_CAMERA, VIEWERS_FULL, NO_FORMAT; see errors.ts). */
  z.object({ type: z.literal('error'), code: z.enum(ERROR_CODES), message: z.string(), cameraId: cameraId.optional() }),
  z.object({ type: z.literal('cameras'), cameras: z.array(cameraInfoSchema) }),
  z.object({
    type: z.literal('stream'),
    cameraId,
    channel: z.number(),
    format: streamFormat,
    /** `webm` streams. */
    mime: z.string().optional(),
    /** `chunks` streams: the decoders' setup (null: no such track). */
    video: videoCodecConfigSchema.nullable().optional(),
    audio: audioCodecConfigSchema.nullable().optional(),
    /** `chunks` streams: how many video chunks of the camera's kept group of pictures follow at once (the join). */
    kept: z.number().int().min(0).optional(),
    /** `chunks` streams: the camera makes a keyframe when asked (WebCodecs); false: only its own, periodic ones (MediaRecorder). */
    keyframesOnRequest: z.boolean().optional(),
  }),
  z.object({ type: z.literal('codec'), cameraId, channel: z.number(), video: videoCodecConfigSchema.optional(), audio: audioCodecConfigSchema.optional() }),
  /** This viewer's queue was full: `frames` video frames were dropped for it; the chunks that follow start at a keyframe. */
  z.object({ type: z.literal('skipped'), cameraId, channel: z.number(), frames: z.number() }),
  /** Camera: make the next video frame a keyframe (a viewer joins, or lost one). */
  z.object({ type: z.literal('keyframe') }),
  /** To a camera: whether anyone (a viewer, the recorder, an integration) wants its media; never how many. */
  z.object({ type: z.literal('wanted'), wanted: z.boolean() }),
  /** To a camera: take a still picture of what it shows now, at most `width` pixels wide, and send it as a binary frame of kind 3 with this `seq`. */
  z.object({ type: z.literal('snapshot'), seq: z.number().int().min(1), width: z.number().int().min(16).max(4096) }),
  /** To a camera: whether it is being recorded now (its page says so). */
  z.object({ type: z.literal('recording'), recording: z.boolean() }),
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
export type StreamFormat = z.infer<typeof streamFormat>;
export type VideoCodecConfig = z.infer<typeof videoCodecConfigSchema>;
export type AudioCodecConfig = z.infer<typeof audioCodecConfigSchema>;

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

