// The data directory: the camera registry (core), the access secret and the CA's and the server's
// private keys. It is created private, its files are written so that nobody can slip a file or a
// link in, and loose permissions found at start are tightened, with a warning.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

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
