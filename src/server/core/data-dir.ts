// The data directory: the camera registry (core), the access secret and the CA's and the server's
// private keys. It is created private, its files are written so that nobody can slip a file or a
// link in, and loose permissions found at start are tightened, with a warning.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';

/** Files only the server's user may read (their names in the data dir). */
export const PRIVATE_FILES = ['access.json', 'ca.key', 'server.key', 'cameras.json', 'devices.json'] as const;

/**
 * Writes `data` to `file` atomically (a crash never leaves half a file): to a new temporary file of
 * a random name, created exclusively (an existing file or link there is an error, never followed),
 * then renamed over the old one. The folder is created private when missing.
 */
export async function writeFileAtomic(file: string, data: string, mode: number): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, data, { mode, flag: 'wx' });
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/**
 * Creates the data dir (private) when missing; a folder others may enter, or a private file others
 * may read, is made private again, each with a warning saying what was found.
 */
export async function secureDataDir(dir: string, log: { warn(message: string): void }): Promise<void> {
  if (process.platform === 'win32') return;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tighten = async (target: string, mode: number, what: string): Promise<void> => {
    let found: number;
    try {
      found = (await stat(target)).mode & 0o777;
    } catch {
      return;
    }
    if ((found & 0o077) === 0) return;
    await chmod(target, mode);
    log.warn(`${what} ${target} was readable by others (mode ${found.toString(8).padStart(3, '0')}): made private (${mode.toString(8)})`);
  };
  await tighten(dir, 0o700, 'the data directory');
  for (const name of PRIVATE_FILES) await tighten(path.join(dir, name), 0o600, 'the secret file');
}

/**
 * Reads a JSON file `schema` checks: its value, or null when there is none yet, or when it cannot be
 * read or is damaged (a damaged one is set aside as `<file>.damaged-<time>`, never trusted); each
 * with a warning ending in `without` (what the server does without it).
 */
export async function readJsonFile<T>(file: string, schema: z.ZodType<T>, log: { warn(message: string): void }, without: string): Promise<T | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`could not read ${file} (${(err as Error).message}): ${without}`);
    return null;
  }
  try {
    const result = schema.safeParse(JSON.parse(text));
    if (result.success) return result.data;
  } catch {
    // (not JSON: damaged, as below)
  }
  const aside = `${file}.damaged-${Date.now()}`;
  try {
    await rename(file, aside);
    log.warn(`${file} was damaged: set aside as ${path.basename(aside)}; ${without}`);
  } catch (err) {
    log.warn(`${file} was damaged and could not be set aside (${(err as Error).message}): ${without}`);
  }
  return null;
}

/**
 * A file kept from memory: written whole (`render`), atomically, one write at a time, a while after
 * a change so that a burst of changes is one write. `file` null: kept in memory only.
 */
export class JsonFileWriter {
  private timer: NodeJS.Timeout | null = null;
  private due = 0;
  private writing: Promise<void> = Promise.resolve();
  /** When it was last written (ms since 1970; 0: not yet). */
  lastWrite = 0;

  constructor(
    readonly file: string | null,
    private readonly render: () => string,
    private readonly log: { error(message: string, err?: unknown): void },
  ) {}

  /** Writes within `delayMs` (a write already due sooner stays as it is). */
  schedule(delayMs: number): void {
    if (this.file === null) return;
    const due = Date.now() + delayMs;
    if (this.timer) {
      if (this.due <= due) return;
      clearTimeout(this.timer);
    }
    this.due = due;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.write();
    }, delayMs);
    this.timer.unref();
  }

  /** Writes what is pending now (the server is stopping). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
      this.write();
    }
    await this.writing;
  }

  private write(): void {
    const file = this.file;
    if (file === null) return;
    this.lastWrite = Date.now();
    const text = this.render();
    this.writing = this.writing.then(async () => {
      try {
        await writeFileAtomic(file, text, 0o600);
      } catch (err) {
        this.log.error(`could not write ${file}`, err);
      }
    });
  }
}
