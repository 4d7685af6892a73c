// Server settings from the command line, falling back to environment variables, then defaults.
import { parseArgs } from 'node:util';
import path from 'node:path';
import { TOKEN_PATTERN } from './access.ts';
import { DEFAULT_MAX_VIEWERS_PER_CAMERA } from './live/viewers.ts';
import { DEFAULT_MAX_CAMERAS } from './hub.ts';
import { MAX_BINARY_BYTES } from '../shared/protocol.ts';

/** Everything the server needs to start. */
export interface ServerConfig {
  port: number;
  host: string | undefined;
  httpPort: number;
  dataDir: string;
  cert: string | undefined;
  key: string | undefined;
  /** --token: the access secret (else the one kept in the data dir). */
  token: string | undefined;
  /** --no-auth: no access control (only allowed on a loopback address). */
  noAuth: boolean;
  /** Limits (defaults when left out). */
  limits?: Partial<Limits> | undefined;
  /** Recording (defaults when left out). */
  recording?: Partial<RecordingConfig> | undefined;
}

/** What is recorded and kept. */
export interface RecordingConfig {
  /** --record: every camera is recorded unless its own switch is off. */
  all: boolean;
  /** --keep-days: recordings older than this many days are deleted (0: kept until space runs out). */
  keepDays: number;
  /** --min-free: free space always kept on the recordings' disk: a share of it (0.1) or bytes. */
  minFree: { share: number } | { bytes: number };
}

export const DEFAULT_RECORDING: RecordingConfig = { all: false, keepDays: 7, minFree: { share: 0.1 } };

/** What the server takes at most; going over one is a clear error for that client, never a crash. */
export interface Limits {
  /** Cameras online, or offline and remembered. */
  maxCameras: number;
  /** Viewers subscribed to one camera. */
  maxViewersPerCamera: number;
  /** Largest binary (media) message, header included, bytes (at most the protocol's 4 MiB). */
  maxMessageBytes: number;
  /** Bytes queued for one viewer, and the age of its oldest queued frame (ms), beyond which its video is dropped up to a keyframe. */
  viewerQueueBytes: number;
  viewerQueueMs: number;
  /** A viewer whose queue stays full this long (ms) is disconnected; its page reconnects by itself. */
  stalledViewerMs: number;
  /** What one client address may hold and do (one leaked link can open this many sockets; see docs/security.md). */
  socketsPerAddress: number;
  /** Connections that have shown no credential yet, from one address and from everyone. */
  preAuthPerAddress: number;
  preAuthTotal: number;
  /** Media work per second of one address (a message, a frame and 16 KiB cost one each; bursts of twice this). */
  mediaWorkPerSecond: number;
  /** Bytes kept for joiners of one address's cameras, and of all cameras. */
  keptBytesPerAddress: number;
  keptBytesTotal: number;
  /** Bytes of messages begun and not finished on all sockets of one address. */
  unfinishedBytesPerAddress: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: Limits = {
  maxCameras: DEFAULT_MAX_CAMERAS,
  maxViewersPerCamera: DEFAULT_MAX_VIEWERS_PER_CAMERA,
  maxMessageBytes: MAX_BINARY_BYTES,
  viewerQueueBytes: 8 * 1024 * 1024,
  viewerQueueMs: 1000,
  stalledViewerMs: 15_000,
  socketsPerAddress: 64,
  preAuthPerAddress: 32,
  preAuthTotal: 1024,
  // A WebCodecs camera with sound at 30 fps does ~170 units a second (80 messages, 80 frames, its
  // bytes); a 4K one ~400. A flood of tiny messages is held to what 10 such cameras would do.
  mediaWorkPerSecond: 2000,
  // A camera keeps one group of pictures (and each muxed form of it for MSE viewers): a 1080p camera
  // with Firefox's 10 s between keyframes keeps ~10 MB.
  keptBytesPerAddress: 24 * MiB,
  keptBytesTotal: 256 * MiB,
  // A page sends each message whole; what is unfinished at a time is the message on its way (a
  // keyframe), more only while the address is in debt and its sockets wait half-way: two of the
  // largest messages.
  unfinishedBytesPerAddress: 8 * MiB,
};

/** Each limit's option, environment variable and allowed range. */
const LIMIT_OPTIONS = {
  'max-cameras': { key: 'maxCameras', env: 'WEBCAM_MAX_CAMERAS', min: 1, max: 65_535, help: 'cameras online or remembered' },
  'max-viewers': { key: 'maxViewersPerCamera', env: 'WEBCAM_MAX_VIEWERS', min: 1, max: 1_000_000, help: 'viewers of one camera' },
  'max-message-bytes': { key: 'maxMessageBytes', env: 'WEBCAM_MAX_MESSAGE_BYTES', min: 64 * 1024, max: MAX_BINARY_BYTES, help: 'largest media message' },
  'viewer-queue-bytes': { key: 'viewerQueueBytes', env: 'WEBCAM_VIEWER_QUEUE_BYTES', min: 256 * 1024, max: 1024 * 1024 * 1024, help: 'bytes queued for one viewer before its video skips to a keyframe' },
  'viewer-queue-ms': { key: 'viewerQueueMs', env: 'WEBCAM_VIEWER_QUEUE_MS', min: 100, max: 60_000, help: 'age of a viewer\'s oldest queued frame before its video skips to a keyframe' },
  'stalled-viewer-ms': { key: 'stalledViewerMs', env: 'WEBCAM_STALLED_VIEWER_MS', min: 1000, max: 600_000, help: 'a viewer whose queue stays full this long is disconnected (its page reconnects)' },
  'sockets-per-address': { key: 'socketsPerAddress', env: 'WEBCAM_SOCKETS_PER_ADDRESS', min: 1, max: 100_000, help: 'open WebSockets from one client address' },
  'pre-auth-per-address': { key: 'preAuthPerAddress', env: 'WEBCAM_PRE_AUTH_PER_ADDRESS', min: 1, max: 100_000, help: 'connections without a credential yet from one address' },
  'pre-auth-total': { key: 'preAuthTotal', env: 'WEBCAM_PRE_AUTH_TOTAL', min: 1, max: 1_000_000, help: '…and from everyone (devices let in before may still connect past it)' },
  'media-work-per-second': { key: 'mediaWorkPerSecond', env: 'WEBCAM_MEDIA_WORK_PER_SECOND', min: 100, max: 10_000_000, help: 'media work of one address a second (a message, a frame, 16 KiB: 1 each; a camera ~170)' },
  'kept-bytes-per-address': { key: 'keptBytesPerAddress', env: 'WEBCAM_KEPT_BYTES_PER_ADDRESS', min: 1024 * 1024, max: 64 * 1024 * 1024 * 1024, help: 'bytes kept for joiners of one address\'s cameras' },
  'kept-bytes-total': { key: 'keptBytesTotal', env: 'WEBCAM_KEPT_BYTES_TOTAL', min: 1024 * 1024, max: 64 * 1024 * 1024 * 1024, help: '…and of all cameras' },
  'unfinished-bytes-per-address': { key: 'unfinishedBytesPerAddress', env: 'WEBCAM_UNFINISHED_BYTES_PER_ADDRESS', min: 64 * 1024, max: 1024 * 1024 * 1024, help: 'bytes of unfinished messages on all sockets of one address (at least one largest message)' },
} as const satisfies Record<string, { key: keyof Limits; env: string; min: number; max: number; help: string }>;

/** A bad command line or environment variable; the message says which and why. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const OPTIONS = {
  port: { env: 'WEBCAM_PORT', help: 'HTTPS port (0 picks a free one)', default: '8443' },
  host: { env: 'WEBCAM_HOST', help: 'address to listen on', default: '' },
  'data-dir': { env: 'WEBCAM_DATA_DIR', help: 'where certificates, settings and recordings are kept', default: './data' },
  'keep-days': { env: 'WEBCAM_KEEP_DAYS', help: 'days of recordings kept per camera, 0 = until the disk is full (down to --min-free)', default: '7' },
  'min-free': { env: 'WEBCAM_MIN_FREE', help: 'free space always kept on the disk: a share (10%) or a size (2GB, 500MB); the oldest recordings go first', default: '10%' },
  'http-port': { env: 'WEBCAM_HTTP_PORT', help: 'plain-HTTP helper port (0 = off)', default: '8080' },
  cert: { env: 'WEBCAM_CERT', help: 'your own certificate (PEM); needs --key', default: '' },
  key: { env: 'WEBCAM_KEY', help: 'your own private key (PEM); needs --cert', default: '' },
  token: { env: 'WEBCAM_TOKEN', help: 'access secret for scripts: ?token=… on any page gives full access (16-256 of A-Z a-z 0-9 . _ ~ -; make it random)', default: '' },
} as const;
type OptionName = keyof typeof OPTIONS;

/** Usage text for --help. */
export function usage(): string {
  const lines = ['Usage: npm start -- [options]', ''];
  for (const [name, o] of Object.entries(OPTIONS)) {
    const def = o.default === '' ? '' : ` (default ${o.default})`;
    lines.push(`  --${name.padEnd(29)} ${o.help}${def}; env ${o.env}`);
  }
  for (const [name, o] of Object.entries(LIMIT_OPTIONS)) {
    lines.push(`  --${name.padEnd(29)} ${o.help}, ${o.min}-${o.max} (default ${DEFAULT_LIMITS[o.key]}); env ${o.env}`);
  }
  lines.push('  --record                        record every camera (each camera has a switch in the viewer too); env WEBCAM_RECORD=1');
  lines.push('  --no-auth                       no access control: anyone who reaches the port may watch and publish; only with a loopback --host; env WEBCAM_NO_AUTH=1');
  lines.push('  --help                          this text');
  return lines.join('\n');
}

/** Parses argv (without node and script) and env; throws ConfigError. Returns null for --help. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig | null {
  let values: Record<string, string | boolean | undefined>;
  try {
    const parsed = parseArgs({
      args: argv,
      options: {
        ...Object.fromEntries([...Object.keys(OPTIONS), ...Object.keys(LIMIT_OPTIONS)].map((n) => [n, { type: 'string' as const }])),
        'no-auth': { type: 'boolean' },
        record: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    });
    values = parsed.values;
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n\n${usage()}`);
  }
  if (values.help) return null;
  const get = (name: OptionName): { value: string; from: string } => {
    const arg = values[name];
    if (typeof arg === 'string') return { value: arg, from: `--${name}` };
    const fromEnv = env[OPTIONS[name].env];
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, from: OPTIONS[name].env };
    return { value: OPTIONS[name].default, from: `default --${name}` };
  };
  const port = parsePort(get('port'));
  const httpPort = parsePort(get('http-port'));
  const cert = get('cert').value || undefined;
  const key = get('key').value || undefined;
  if ((cert === undefined) !== (key === undefined)) throw new ConfigError('--cert and --key go together: give both or neither');
  if (httpPort !== 0 && httpPort === port) throw new ConfigError(`--http-port ${httpPort} is the same as --port`);
  const host = get('host').value || undefined;
  const tokenOption = get('token');
  const token = tokenOption.value || undefined;
  if (token !== undefined && !TOKEN_PATTERN.test(token)) throw new ConfigError(`${tokenOption.from}: the token must be 16-256 characters of A-Z a-z 0-9 . _ ~ - (it goes into links as is; make it random, e.g. openssl rand -hex 16)`);
  const noAuthEnv = env.WEBCAM_NO_AUTH;
  if (noAuthEnv !== undefined && noAuthEnv !== '' && noAuthEnv !== '0' && noAuthEnv !== '1') throw new ConfigError(`WEBCAM_NO_AUTH: "${noAuthEnv}" must be 1 or 0`);
  const noAuth = values['no-auth'] === true || noAuthEnv === '1';
  if (noAuth && !isLoopback(host)) {
    throw new ConfigError(`--no-auth turns off access control, so it is only allowed when the server listens on this computer alone: add --host 127.0.0.1 (now ${host ? `--host ${host}` : 'every address'})`);
  }
  if (noAuth && token !== undefined) throw new ConfigError('--no-auth and --token contradict each other: give one');
  const limits: Limits = { ...DEFAULT_LIMITS };
  for (const [name, o] of Object.entries(LIMIT_OPTIONS)) {
    const arg = values[name];
    const fromEnv = env[o.env];
    const [value, from] = typeof arg === 'string' ? [arg, `--${name}`] : fromEnv !== undefined && fromEnv !== '' ? [fromEnv, o.env] : [null, ''];
    if (value === null) continue;
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < o.min || n > o.max) throw new ConfigError(`${from}: "${value.slice(0, 40)}" must be a whole number from ${o.min} to ${o.max}`);
    limits[o.key] = n;
  }
  const recordEnv = env.WEBCAM_RECORD;
  if (recordEnv !== undefined && recordEnv !== '' && recordEnv !== '0' && recordEnv !== '1') throw new ConfigError(`WEBCAM_RECORD: "${recordEnv}" must be 1 or 0`);
  const keepDaysOption = get('keep-days');
  if (!/^\d{1,5}$/.test(keepDaysOption.value)) throw new ConfigError(`${keepDaysOption.from}: "${keepDaysOption.value.slice(0, 40)}" must be a whole number of days (0: keep until the disk is full)`);
  const recording: RecordingConfig = { all: values.record === true || recordEnv === '1', keepDays: Number(keepDaysOption.value), minFree: parseMinFree(get('min-free')) };
  return { port, httpPort, host, dataDir: path.resolve(get('data-dir').value), cert, key, token, noAuth, limits, recording };
}

/** `10%` or `2GB`, `500MB`, `1.5G`, bytes. */
function parseMinFree({ value, from }: { value: string; from: string }): RecordingConfig['minFree'] {
  const share = /^(\d{1,2}(?:\.\d+)?)%$/.exec(value);
  if (share) return { share: Number(share[1]) / 100 };
  const size = /^(\d+(?:\.\d+)?)\s*(k|m|g|t)?i?b?$/i.exec(value);
  if (size) {
    const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[(size[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
    return { bytes: Math.round(Number(size[1]) * unit) };
  }
  throw new ConfigError(`${from}: "${value.slice(0, 40)}" must be a share of the disk (10%) or a size (2GB, 500MB)`);
}

/** parseConfig for entry points: a bad option is printed and ends the process with status 2. */
export function configOrExit(argv: string[], env: NodeJS.ProcessEnv): ServerConfig | null {
  try {
    return parseConfig(argv, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`error: ${err.message}`);
    process.exit(2);
  }
}

/** True for a host only this computer can reach. */
export function isLoopback(host: string | undefined): boolean {
  if (!host) return false;
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function parsePort({ value, from }: { value: string; from: string }): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new ConfigError(`${from}: "${value}" is not a port number (0-65535)`);
  return Number(value);
}
