// What the benchmarks share: statistics, and the processes they start and measure (Linux /proc).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { freePort, npmStartArgs, npmStartEnv } from '../../test/helpers/server.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// ---- statistics ----

export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
export const sortNum = (v: number[]): number[] => [...v].sort((a, b) => a - b);
export const median = (v: number[]): number | null => percentile(sortNum(v), 50);
export const round = (v: number | null, digits = 0): number | null => (v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits);

// ---- processes ----

/** CPU seconds and parent of every process, from /proc (Linux). */
export function procTable(): Map<number, { ppid: number; cpu: number }> {
  const table = new Map<number, { ppid: number; cpu: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(name), { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / 100 });
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

/** CPU seconds used so far by a process and its descendants. */
export function treeCpu(root: number, table = procTable()): number {
  let total = 0;
  for (const [pid, p] of table) {
    for (let q: number | undefined = pid; q !== undefined && q > 1; q = table.get(q)?.ppid) {
      if (q === root) {
        total += p.cpu;
        break;
      }
    }
  }
  return total;
}

export function childrenOf(pid: number): Set<number> {
  const out = new Set<number>();
  for (const [child, p] of procTable()) if (p.ppid === pid) out.add(child);
  return out;
}

export function machineBusy(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const c of os.cpus()) {
    const t = c.times.user + c.times.nice + c.times.sys + c.times.irq + c.times.idle;
    total += t;
    busy += t - c.times.idle;
  }
  return { busy, total };
}

/** Resident memory of one process, MiB (Linux). */
export function rssMiB(pid: number): number | null {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? round(Number(m[1]) / 1024, 1) : null;
}

// ---- the server ----

/**
 * Starts `node <args>` in ROOT and resolves once its output matches `ready`; after 30 s without,
 * or if it exits first, it is killed and the promise rejects with what it printed.
 */
async function startNode(args: string[], ready: RegExp, what: string): Promise<ChildProcess> {
  // (With the environment `npm start` sets, e.g. its allocator setting.)
  const child = spawn(process.execPath, args, { cwd: ROOT, env: npmStartEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer): void => {
    // (Enough to say why it failed; a long run's log is not kept.)
    if (output.length < 100_000) output += d.toString();
    if (process.env.BENCH_SERVER_LOG) process.stderr.write(d);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  await new Promise<void>((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${what} ${why}:\n${output}`));
    };
    const timer = setTimeout(() => fail('did not start within 30 s'), 30_000);
    child.stdout!.on('data', () => {
      if (!ready.test(output)) return;
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => fail(`exited with ${code}`));
  });
  return child;
}

/**
 * Starts the product's server in a child process on loopback (free ports, `dataDir`, `token`, and
 * `extraArgs` such as limits), exactly as `npm start` runs it (its Node options included); resolves
 * once it listens.
 */
export async function startServer(dataDir: string, token: string, extraArgs: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const [port, httpPort] = [await freePort(), await freePort()];
  const args = [...npmStartArgs(), '--port', String(port), '--http-port', String(httpPort), '--host', '127.0.0.1', '--data-dir', dataDir, '--token', token, ...extraArgs];
  return { child: await startNode(args, /running on HTTPS port \d+/, 'the server'), url: `https://127.0.0.1:${port}` };
}

/**
 * Runs a TypeScript script of this project the way `npm start` runs the server: bundled by esbuild
 * into plain JavaScript (packages left in node_modules), under the same Node options, with no
 * TypeScript loader in the process. Resolves once its output matches `ready`.
 */
export async function startScript(script: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  const out = path.join(ROOT, 'node_modules', '.cache', 'websocket-webcam', `${path.basename(script, '.ts')}.mjs`);
  await mkdir(path.dirname(out), { recursive: true });
  const temporary = `${out}.${process.pid}.tmp`;
  await build({ entryPoints: [path.join(ROOT, script)], outfile: temporary, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' });
  await rename(temporary, out);
  const nodeOptions = npmStartArgs().filter((a) => a.startsWith('--'));
  return startNode([...nodeOptions, out, ...args], ready, script);
}

// ---- pages ----

/** The viewer page's JS heap after a full garbage collection, MiB (Chromium's DevTools protocol). */
export async function viewerHeapMiB(viewer: Page): Promise<number> {
  const cdp = await viewer.context().newCDPSession(viewer);
  try {
    await cdp.send('HeapProfiler.collectGarbage');
    const { usedSize } = await cdp.send('Runtime.getHeapUsage');
    return round(usedSize / 2 ** 20, 2)!;
  } finally {
    await cdp.detach();
  }
}
