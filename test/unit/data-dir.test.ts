// The data directory's secrets on disk (security finding 7): loose permissions are tightened with a
// warning at start, and secret files are written to a temporary file created exclusively (a file
// or link planted at the temporary name is never followed), then renamed.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AccessControl } from '../../src/server/access.ts';
import { secureDataDir, writeFileAtomic } from '../../src/server/core/data-dir.ts';
import type { Logger } from '../../src/server/log.ts';

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
}

describe('the data directory', { skip: process.platform === 'win32' }, () => {
  const roots: string[] = [];
  const fresh = async (): Promise<string> => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'wsw-data-'));
    roots.push(root);
    return root;
  };
  after(async () => {
    for (const r of roots) await rm(r, { recursive: true, force: true });
  });

  it('is made private at start, and so are its secret files, with a warning for each', async () => {
    const dir = path.join(await fresh(), 'data');
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o755);
    await writeFile(path.join(dir, 'ca.key'), 'key', { mode: 0o644 });
    await writeFile(path.join(dir, 'access.json'), '{}', { mode: 0o640 });
    await writeFile(path.join(dir, 'ca.crt'), 'public', { mode: 0o644 });
    const log = recorder();
    await secureDataDir(dir, log);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(path.join(dir, 'ca.key'))).mode & 0o777, 0o600);
    assert.equal((await stat(path.join(dir, 'access.json'))).mode & 0o777, 0o600);
    assert.equal((await stat(path.join(dir, 'ca.crt'))).mode & 0o777, 0o644, 'a certificate is public');
    assert.equal(log.lines.length, 3, log.lines.join('\n'));
    assert.match(log.lines.join('\n'), /data directory .* was readable by others \(mode 755\): made private/);
    assert.match(log.lines.join('\n'), /ca\.key was readable by others \(mode 644\)/);
    // Already private: nothing to say.
    const quiet = recorder();
    await secureDataDir(dir, quiet);
    assert.deepEqual(quiet.lines, []);
  });

  it('writes the access secret through a new file of its own, never through a link planted beside it', async () => {
    const dir = path.join(await fresh(), 'data');
    await mkdir(dir, { mode: 0o700 });
    const outside = path.join(path.dirname(dir), 'stolen');
    await writeFile(outside, 'nothing');
    // Where a temporary file of a predictable name would be.
    const file = path.join(dir, 'access.json');
    await symlink(outside, `${file}.${process.pid}.tmp`);
    const { created } = await AccessControl.load({ dataDir: dir, token: undefined, open: false, log: recorder() });
    assert.equal(created, true);
    assert.equal(await readFile(outside, 'utf8'), 'nothing', 'the secret did not go through the link');
    assert.match(await readFile(file, 'utf8'), /"secret"/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const left = (await readdir(dir)).filter((n) => n.endsWith('.tmp') && !n.startsWith('access.json.' + process.pid));
    assert.deepEqual(left, [], 'no temporary file left behind');
  });

  it('replaces a file whole, and leaves no temporary file behind', async () => {
    const dir = await fresh();
    const file = path.join(dir, 'secret');
    await writeFileAtomic(file, 'one', 0o600);
    await writeFileAtomic(file, 'two', 0o600);
    assert.equal(await readFile(file, 'utf8'), 'two');
    assert.deepEqual((await readdir(dir)).sort(), ['secret']);
  });
});
