// Camera settings from the page's query string and the saved settings. Pure, so it is unit-tested.

/** What the camera captures and how it streams. */
export interface CameraOptions {
  name: string;
  deviceId: string;
  resolution: number;
  fps: number;
  audio: boolean;
  transport: 'mediarecorder';
}

export const DEFAULT_CAMERA_OPTIONS: CameraOptions = { name: 'Camera', deviceId: '', resolution: 720, fps: 30, audio: true, transport: 'mediarecorder' };
const RESOLUTIONS = [480, 720, 1080];
const FPS = [15, 24, 30];

/** Reads `?autostart=1&name=…&transport=…&audio=0|1&resolution=480|720|1080&fps=15|24|30` over saved settings. */
export function readCameraOptions(
  params: URLSearchParams,
  saved: string | null,
): { options: CameraOptions; autostart: boolean; warnings: string[]; errors: string[] } {
  const options: CameraOptions = { ...DEFAULT_CAMERA_OPTIONS, ...parseSaved(saved) };
  const warnings: string[] = [];
  const errors: string[] = [];
  const name = params.get('name');
  if (name !== null) {
    const clean = name.trim();
    if (clean === '' || clean.length > 64 || /[\u0000-\u001f\u007f]/.test(clean)) errors.push('The name in the link must be 1–64 characters with no control characters.');
    else options.name = clean;
  }
  const transport = params.get('transport');
  if (transport === 'webcodecs') warnings.push('The WebCodecs transport is not available yet; streaming with MediaRecorder.');
  else if (transport !== null && transport !== 'mediarecorder') errors.push(`Unknown transport "${transport.slice(0, 40)}": use mediarecorder.`);
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
  const autostartParam = params.get('autostart');
  if (autostartParam !== null && autostartParam !== '0' && autostartParam !== '1') errors.push('autostart must be 0 or 1.');
  return { options, autostart: autostartParam === '1', warnings, errors };
}

function parseSaved(saved: string | null): Partial<CameraOptions> {
  if (!saved) return {};
  try {
    const v = JSON.parse(saved) as Record<string, unknown>;
    const out: Partial<CameraOptions> = {};
    if (typeof v.name === 'string' && v.name.trim() !== '' && v.name.length <= 64) out.name = v.name.trim();
    if (typeof v.deviceId === 'string') out.deviceId = v.deviceId;
    if (typeof v.resolution === 'number' && RESOLUTIONS.includes(v.resolution)) out.resolution = v.resolution;
    if (typeof v.fps === 'number' && FPS.includes(v.fps)) out.fps = v.fps;
    if (typeof v.audio === 'boolean') out.audio = v.audio;
    return out;
  } catch {
    return {};
  }
}
