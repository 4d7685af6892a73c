// Camera settings from the page's query string and the saved settings. Pure, so it is unit-tested.
import type { CodecChoice } from './webcodecs-stream.ts';
import { hasControl, withoutBidi } from '../../shared/text.ts';

/** How the camera streams: WebCodecs chunks or MediaRecorder's WebM. */
export type Transport = 'auto' | 'webcodecs' | 'mediarecorder';
const TRANSPORTS: readonly Transport[] = ['auto', 'webcodecs', 'mediarecorder'];
const CODECS: readonly CodecChoice[] = ['auto', 'h264', 'vp8'];

/** What the camera captures and how it streams. */
export interface CameraOptions {
  name: string;
  deviceId: string;
  resolution: number;
  fps: number;
  audio: boolean;
  /** WebCodecs where the browser has it (`auto`), or one transport forced by the link. */
  transport: Transport;
  /** WebCodecs video codec: H.264 where it can be encoded, else VP8 (`auto`). */
  codec: CodecChoice;
  /** Video bitrate, kbit/s; null = a default for the resolution. */
  bitrateKbps: number | null;
  /** What is filmed: the camera, or a test pattern whose frames carry their paint time (see time-code.ts). */
  source: 'camera' | 'test';
  /** MediaRecorder timeslice and keyframe spacing, ms; null = the defaults (see docs/latency.md). */
  timesliceMs: number | null;
  keyframeIntervalMs: number | null;
}

export const DEFAULT_CAMERA_OPTIONS: CameraOptions = {
  name: 'Camera',
  deviceId: '',
  resolution: 720,
  fps: 30,
  audio: true,
  transport: 'auto',
  codec: 'auto',
  bitrateKbps: null,
  source: 'camera',
  timesliceMs: null,
  keyframeIntervalMs: null,
};
const RESOLUTIONS = [480, 720, 1080];
const FPS = [15, 24, 30];

/**
 * Reads `?autostart=1&name=…&audio=0|1&resolution=480|720|1080&fps=15|24|30` over saved settings,
 * and what only the link sets (not saved): `transport=auto|webcodecs|mediarecorder`,
 * `codec=auto|h264|vp8`, `bitrate=` (kbit/s) and, for measuring, `source=test`,
 * `timeslice=10…1000` and `keyframes=100…10000` (ms).
 */
export function readCameraOptions(
  params: URLSearchParams,
  saved: string | null,
): { options: CameraOptions; autostart: boolean; warnings: string[]; errors: string[]; named: boolean } {
  const fromSaved = parseSaved(saved);
  const options: CameraOptions = { ...DEFAULT_CAMERA_OPTIONS, ...fromSaved };
  const warnings: string[] = [];
  const errors: string[] = [];
  const name = params.get('name');
  let named = fromSaved.name !== undefined;
  if (name !== null) {
    named = true;
    const clean = cleanName(name);
    if (clean === null) errors.push('The name in the link must be 1–64 characters with no control characters.');
    else options.name = clean;
  }
  const transport = params.get('transport');
  if (transport !== null) {
    if ((TRANSPORTS as readonly string[]).includes(transport)) options.transport = transport as Transport;
    else errors.push(`Unknown transport "${transport.slice(0, 40)}": use auto, webcodecs or mediarecorder.`);
  }
  const codec = params.get('codec');
  if (codec !== null) {
    if ((CODECS as readonly string[]).includes(codec)) options.codec = codec as CodecChoice;
    else errors.push(`Unknown codec "${codec.slice(0, 40)}": use auto, h264 or vp8.`);
  }
  const bitrate = params.get('bitrate');
  if (bitrate !== null) {
    const n = Number(bitrate);
    if (Number.isInteger(n) && n >= 100 && n <= 20_000) options.bitrateKbps = n;
    else errors.push('bitrate must be a whole number of kbit/s from 100 to 20000.');
  }
  const audio = params.get('audio');
  if (audio !== null) {
    if (audio === '0' || audio === '1') options.audio = audio === '1';
    else errors.push('audio must be 0 or 1.');
  }
  const resolution = params.get('resolution');
  if (resolution !== null) {
    if (RESOLUTIONS.includes(Number(resolution))) options.resolution = Number(resolution);
    else errors.push(`resolution must be one of ${RESOLUTIONS.join(', ')}.`);
  }
  const fps = params.get('fps');
  if (fps !== null) {
    if (FPS.includes(Number(fps))) options.fps = Number(fps);
    else errors.push(`fps must be one of ${FPS.join(', ')}.`);
  }
  const source = params.get('source');
  if (source !== null) {
    if (source === 'test' || source === 'camera') options.source = source;
    else errors.push('source must be camera or test.');
  }
  const timeslice = params.get('timeslice');
  if (timeslice !== null) {
    const n = Number(timeslice);
    if (Number.isInteger(n) && n >= 10 && n <= 1000) options.timesliceMs = n;
    else errors.push('timeslice must be a whole number of ms from 10 to 1000.');
  }
  const keyframes = params.get('keyframes');
  if (keyframes !== null) {
    const n = Number(keyframes);
    if (Number.isInteger(n) && n >= 100 && n <= 10_000) options.keyframeIntervalMs = n;
    else errors.push('keyframes must be a whole number of ms from 100 to 10000.');
  }
  const autostartParam = params.get('autostart');
  if (autostartParam !== null && autostartParam !== '0' && autostartParam !== '1') errors.push('autostart must be 0 or 1.');
  return { options, autostart: autostartParam === '1', warnings, errors, named };
}

/**
 * A name for a camera nobody named yet: the phone's model where the browser tells it (Chrome on
 * Android: "Pixel 7"), else what kind of device it is ("iPhone"), else "Camera". (The server numbers
 * a second one: "iPhone 2".)
 */
export function defaultCameraName(userAgent: string, model: string | null, touchPoints = 0): string {
  const fromModel = model === null ? null : cleanName(model);
  if (fromModel !== null && fromModel.length <= 40) return fromModel;
  if (/iPhone|iPod/.test(userAgent)) return 'iPhone';
  if (/iPad/.test(userAgent) || (/Macintosh/.test(userAgent) && touchPoints > 1)) return 'iPad';
  if (/Android/.test(userAgent)) return /Mobile/.test(userAgent) ? 'Android phone' : 'Android tablet';
  return 'Camera';
}

/** A camera name as the server takes it (bidi formatting characters dropped, trimmed, 1–64 characters, no control characters), or null. */
function cleanName(raw: string): string | null {
  const clean = withoutBidi(raw).trim();
  return clean === '' || clean.length > 64 || hasControl(clean) ? null : clean;
}

function parseSaved(saved: string | null): Partial<CameraOptions> {
  if (!saved) return {};
  try {
    const v = JSON.parse(saved) as Record<string, unknown>;
    const out: Partial<CameraOptions> = {};
    const name = typeof v.name === 'string' ? cleanName(v.name) : null;
    if (name !== null) out.name = name;
    if (typeof v.deviceId === 'string') out.deviceId = v.deviceId;
    if (typeof v.resolution === 'number' && RESOLUTIONS.includes(v.resolution)) out.resolution = v.resolution;
    if (typeof v.fps === 'number' && FPS.includes(v.fps)) out.fps = v.fps;
    if (typeof v.audio === 'boolean') out.audio = v.audio;
    return out;
  } catch {
    return {};
  }
}
