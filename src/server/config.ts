// Server settings from the command line, falling back to environment variables, then defaults.
import { parseArgs } from 'node:util';
import path from 'node:path';

/** Everything the server needs to start. */
export interface ServerConfig {
  port: number;
  host: string | undefined;
  httpPort: number;
  dataDir: string;
  cert: string | undefined;
  key: string | undefined;
}

/** A bad command line or environment variable; the message says which and why. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const OPTIONS = {
  port: { env: 'WEBCAM_PORT', help: 'HTTPS port (0 picks a free one)', default: '8443' },
  host: { env: 'WEBCAM_HOST', help: 'address to listen on', default: '' },
  'data-dir': { env: 'WEBCAM_DATA_DIR', help: 'where certificates (and later recordings) are kept', default: './data' },
  'http-port': { env: 'WEBCAM_HTTP_PORT', help: 'plain-HTTP helper port (0 = off)', default: '8080' },
  cert: { env: 'WEBCAM_CERT', help: 'your own certificate (PEM); needs --key', default: '' },
  key: { env: 'WEBCAM_KEY', help: 'your own private key (PEM); needs --cert', default: '' },
} as const;
type OptionName = keyof typeof OPTIONS;

/** Usage text for --help. */
export function usage(): string {
  const lines = ['Usage: npm start -- [options]', ''];
  for (const [name, o] of Object.entries(OPTIONS)) {
    const def = o.default === '' ? '' : ` (default ${o.default})`;
    lines.push(`  --${name.padEnd(10)} ${o.help}${def}; env ${o.env}`);
  }
  lines.push('  --help       this text');
  return lines.join('\n');
}

/** Parses argv (without node and script) and env; throws ConfigError. Returns null for --help. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig | null {
  let values: Record<string, string | boolean | undefined>;
  try {
    const parsed = parseArgs({
      args: argv,
      options: {
        ...Object.fromEntries(Object.keys(OPTIONS).map((n) => [n, { type: 'string' as const }])),
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
  return { port, httpPort, host, dataDir: path.resolve(get('data-dir').value), cert, key };
}

function parsePort({ value, from }: { value: string; from: string }): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new ConfigError(`${from}: "${value}" is not a port number (0-65535)`);
  return Number(value);
}
