// Real WebKit (Safari's engine): Debian's WebKitGTK `MiniBrowser`, with mock camera and microphone,
// driven over W3C WebDriver (plain fetch, no client library) by `WebKitWebDriver`, in an Xvfb of its
// own (WebKitGTK has no headless mode). test/webkit/setup.sh installs it all and builds the
// GStreamer registry with the project's `autovideoflip` stand-in (test/webkit/gst/), which WebKit's
// MediaRecorder needs and Debian's GStreamer 1.22 lacks.
//
// One launchWebKit() gives one browser window (one WebDriver session) that a test file shares:
// goto(), evaluate() (async scripts too), screenshot(). A crashed page process ends the session
// ("Could not parse script result", then "invalid session id"): reopen() starts a new one.
// close() ends the session, then WebKitWebDriver, the browser's processes and Xvfb, each by PID;
// they are also killed if the test process exits without calling it.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const MINIBROWSER = process.env.MINIBROWSER_PATH ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
export const WEBKIT_WEBDRIVER = process.env.WEBKIT_WEBDRIVER_PATH ?? '/usr/bin/WebKitWebDriver';
/** Where GStreamer finds the stand-in (its `python/` folder); keep in step with test/webkit/setup.sh. */
export const GST_PLUGIN_DIR = path.join(REPO, 'test', 'webkit', 'gst');
export const GST_REGISTRY = process.env.WSW_WEBKIT_GST_REGISTRY ?? path.join(REPO, '.tmp', 'webkit', 'gst-registry.bin');
const SETUP = path.join(REPO, 'test', 'webkit', 'setup.sh');

/** MiniBrowser flags: WebDriver control, getUserMedia with mock devices, WebRTC. */
export const MINIBROWSER_ARGS = [
  '--automation',
  '--enable-media-stream=true',
  '--enable-mock-capture-devices=true',
  '--enable-webrtc=true',
  // Accelerated 2D canvas crashed the page now and then while a canvas was being recorded (MEDIA-NOTES).
  '--enable-2d-canvas-acceleration=false',
];

/** WebDriver timeouts: in-page scripts, page loads (ms). */
const SCRIPT_TIMEOUT_MS = 120_000;
const PAGE_LOAD_TIMEOUT_MS = 30_000;
/** The window's inner size is what screenshots show. */
const WINDOW = { width: 1024, height: 768 };
/** Browser output kept for error messages (the tail, characters). */
const LOG_KEEP = 20_000;

/** A WebDriver error (the W3C `error` code, e.g. "invalid session id", and its message). */
export class WebDriverError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** One WebKit browser (one WebDriver session, one window) in its own Xvfb. */
export interface WebKitBrowser {
  /** The X display it runs on, e.g. ":3". */
  readonly display: string;
  /** WebKitWebDriver's WebDriver endpoint, http://127.0.0.1:<port>. */
  readonly endpoint: string;
  /** Times the session was re-opened after its page crashed (see reopen()). */
  readonly reopened: number;
  /** Navigates and waits for the page's load event. */
  goto(url: string): Promise<void>;
  /** The page's URL. */
  url(): Promise<string>;
  /**
   * Evaluates a JavaScript expression in the page and returns its value (JSON-like; a promise is
   * awaited). A string, not a function: the test runner's transpiler would rewrite functions. An
   * exception in the page rejects with its message and stack.
   */
  evaluate(expression: string): Promise<unknown>;
  /** A person's click at (x, y) in the viewport: a trusted event with user activation, which a script's click lacks (WebKit plays sound only after one). */
  click(x: number, y: number): Promise<void>;
  /** Polls `expression` until it is truthy; rejects after `timeoutMs` saying what it waited for. */
  waitFor(expression: string, timeoutMs?: number, what?: string): Promise<unknown>;
  /** A PNG of the window; written to `file` too when given. */
  screenshot(file?: string): Promise<Buffer>;
  /** Sizes the window so that the page's viewport (innerWidth × innerHeight) is this; returns what it got. */
  resize(width: number, height: number): Promise<{ width: number; height: number }>;
  /** True while the session answers (false after its page process crashed). */
  alive(): Promise<boolean>;
  /** Ends the session (if any is left) and opens a new one: the way on after a page crash. */
  reopen(): Promise<void>;
  /** The last of the driver's and browser's output (stderr), for failure messages. */
  log(): string;
  /** Ends the session, then every process it started, by PID. Idempotent. */
  close(): Promise<void>;
}

interface WebDriverReply {
  value: unknown;
}

/**
 * Every process started here or by them, by PID with its start time (so that a PID the system has
 * since given to another process is never signalled): the processes started here lead process
 * groups of their own, and their descendants are noted as they appear (WebKit starts a web process
 * per site and after a crash; when MiniBrowser quits they are re-parented and no longer
 * descendants). By group leader, for close() and for the exit handler.
 */
const groups = new Map<number, Map<number, string>>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test process that ends without close() (an exception, the runner's timeout) must not leave a
  // browser behind: 'exit' handlers run synchronously, as process.kill does.
  process.once('exit', () => signalAll([...groups.keys()], 'SIGKILL'));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      signalAll([...groups.keys()], 'SIGKILL');
      // Others (Playwright) may listen too; if nobody else does, exit as the signal would have.
      if (process.listenerCount(signal) === 0) process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

/** A process's start time (clock ticks since boot, /proc/PID/stat field 22) and parent, or null when it is gone. */
function procStat(pid: number): { start: string; ppid: number; zombie: boolean } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses; the last ')' ends it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { start: fields[19] ?? '', ppid: Number(fields[1]), zombie: fields[0] === 'Z' };
}

/** Starts a process that leads a process group of its own, noted for the exit handler. */
function spawnLeader(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, { ...options, detached: true });
  if (child.pid !== undefined) groups.set(child.pid, new Map());
  return child;
}

/** Notes the descendants of group leader `root` (with their start times). */
function noteDescendants(root: number): void {
  const known = groups.get(root);
  if (!known) return;
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return;
  }
  const starts = new Map<number, string>();
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const stat = procStat(pid);
    if (!stat) continue;
    starts.set(pid, stat.start);
    const list = children.get(stat.ppid) ?? [];
    list.push(pid);
    children.set(stat.ppid, list);
  }
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      known.set(child, starts.get(child) ?? '');
      queue.push(child);
    }
  }
}

/** True while the process that had this PID and start time runs (a zombie does not count). */
function running(pid: number, start: string): boolean {
  const stat = procStat(pid);
  return stat !== null && !stat.zombie && stat.start === start;
}

/** Signals the process groups led by `leaders` and every process noted in them that is still the one noted. */
function signalAll(leaders: number[], signal: NodeJS.Signals): void {
  for (const leader of leaders) {
    try {
      process.kill(-leader, signal);
    } catch {
      // The group is empty.
    }
    const known = groups.get(leader) ?? new Map<number, string>();
    for (const [pid, start] of known) {
      if (!running(pid, start)) {
        known.delete(pid);
        continue;
      }
      try {
        process.kill(pid, signal);
      } catch {
        known.delete(pid);
      }
    }
  }
}

/** Ends a process group started here and every process noted in it: SIGTERM, then SIGKILL for whatever is left after `graceMs`. */
async function stopGroup(leader: ChildProcess, graceMs = 2000): Promise<void> {
  const pid = leader.pid;
  if (pid === undefined) return;
  noteDescendants(pid);
  const members = (): [number, string][] => [...(groups.get(pid) ?? [])].filter(([p, start]) => running(p, start));
  const leaderStart = procStat(pid)?.start;
  const leaderRuns = (): boolean => leaderStart !== undefined && running(pid, leaderStart);
  signalAll([pid], 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while ((leaderRuns() || members().length > 0) && Date.now() < deadline) await sleep(50);
  signalAll([pid], 'SIGKILL');
  groups.delete(pid);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts Xvfb on a display it picks itself (-displayfd) and resolves with that display, e.g. ":3". */
async function startXvfb(): Promise<{ process: ChildProcess; display: string }> {
  const xvfb = spawnLeader('Xvfb', ['-displayfd', '3', '-screen', '0', '2000x1200x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  xvfb.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    const display = await new Promise<string>((resolve, reject) => {
      let got = '';
      const fd3 = xvfb.stdio[3] as NodeJS.ReadableStream | null;
      fd3?.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.includes('\n')) resolve(`:${got.trim()}`);
      });
      xvfb.once('error', (err) => reject(new Error(`could not start Xvfb (run test/webkit/setup.sh as root): ${err.message}`)));
      xvfb.once('exit', (code) => reject(new Error(`Xvfb exited (${code}) before it had a display: ${stderr}`)));
      setTimeout(() => reject(new Error(`Xvfb gave no display in 10 s: ${stderr}`)), 10_000).unref();
    });
    return { process: xvfb, display };
  } catch (err) {
    await stopGroup(xvfb);
    throw err;
  }
}

/** Builds the GStreamer registry if it is missing (setup.sh does only that once the packages are in). */
function ensureRegistry(): void {
  if (existsSync(GST_REGISTRY)) return;
  const r = spawnSync(SETUP, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`test/webkit/setup.sh failed (${r.status}): ${r.stderr || r.stdout}`);
}

/**
 * Starts Xvfb, WebKitWebDriver on a free port and a MiniBrowser session (mock camera and microphone,
 * any certificate accepted: the test server's is self-made). If anything fails, whatever was started is ended.
 */
export async function launchWebKit(): Promise<WebKitBrowser> {
  if (!existsSync(WEBKIT_WEBDRIVER) || !existsSync(MINIBROWSER)) {
    throw new Error(`WebKit is not installed (${WEBKIT_WEBDRIVER}, ${MINIBROWSER}): run test/webkit/setup.sh as root`);
  }
  ensureRegistry();
  installExitHook();
  const started: ChildProcess[] = [];
  let log = '';
  const note = (d: Buffer): void => {
    log = (log + d.toString()).slice(-LOG_KEEP);
  };
  try {
    const x = await startXvfb();
    started.push(x.process);
    const env = {
      ...process.env,
      DISPLAY: x.display,
      GST_PLUGIN_PATH: [GST_PLUGIN_DIR, process.env.GST_PLUGIN_PATH].filter(Boolean).join(':'),
      GST_REGISTRY,
      // No accessibility bus or desktop portal to wait for on a test machine.
      NO_AT_BRIDGE: '1',
      GTK_A11Y: 'none',
    };
    let endpoint = '';
    let driver: ChildProcess | null = null;
    // The port was free a moment ago; another process may take it first: try again on another.
    for (let attempt = 0; attempt < 3 && !driver; attempt++) {
      const port = await freePort();
      const child = spawnLeader(WEBKIT_WEBDRIVER, [`--port=${port}`, '--host=127.0.0.1'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      started.push(child);
      child.stdout?.on('data', note);
      child.stderr?.on('data', note);
      const url = `http://127.0.0.1:${port}`;
      if (await waitReady(url, child)) {
        driver = child;
        endpoint = url;
      } else {
        await stopGroup(child);
      }
    }
    if (!driver) throw new Error(`WebKitWebDriver did not start: ${log}`);
    const browser = new Session(endpoint, x.display, started, () => log);
    await browser.open();
    return browser;
  } catch (err) {
    await Promise.all(started.reverse().map((p) => stopGroup(p)));
    throw err;
  }
}

/** Polls /status until the driver says it is ready (true), or it exits or 10 s pass (false). */
async function waitReady(endpoint: string, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
    try {
      const res = await fetch(`${endpoint}/status`, { signal: AbortSignal.timeout(2000) });
      const body = (await res.json()) as { value?: { ready?: boolean } };
      if (body.value?.ready) return true;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  return false;
}

class Session implements WebKitBrowser {
  private id: string | null = null;
  private closed = false;
  reopened = 0;

  constructor(
    readonly endpoint: string,
    readonly display: string,
    private readonly processes: ChildProcess[],
    private readonly output: () => string,
  ) {}

  log(): string {
    return this.output();
  }

  /** One WebDriver command; a W3C error becomes a WebDriverError. */
  private async command(method: 'GET' | 'POST' | 'DELETE', route: string, body?: unknown, timeoutMs = 30_000): Promise<unknown> {
    const res = await fetch(this.endpoint + route, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const reply = (await res.json()) as WebDriverReply;
    const value = reply.value as { error?: string; message?: string } | null;
    if (!res.ok || (value && typeof value === 'object' && typeof value.error === 'string')) {
      throw new WebDriverError(value?.error ?? `HTTP ${res.status}`, value?.message ?? JSON.stringify(reply).slice(0, 500));
    }
    return reply.value;
  }

  private get session(): string {
    if (this.closed) throw new Error('this WebKit browser is closed');
    if (!this.id) throw new Error('no WebKit session (reopen() after a crash)');
    return `/session/${this.id}`;
  }

  async open(): Promise<void> {
    const created = (await this.command('POST', '/session', {
      capabilities: {
        alwaysMatch: {
          browserName: 'MiniBrowser',
          acceptInsecureCerts: true,
          'webkitgtk:browserOptions': { binary: MINIBROWSER, args: MINIBROWSER_ARGS },
        },
      },
    }, 60_000)) as { sessionId: string };
    this.id = created.sessionId;
    await this.command('POST', `${this.session}/timeouts`, { script: SCRIPT_TIMEOUT_MS, pageLoad: PAGE_LOAD_TIMEOUT_MS });
    // (Some window managers refuse; without one, Xvfb lets the window take the size.)
    await this.command('POST', `${this.session}/window/rect`, WINDOW).catch(() => undefined);
    this.noteProcesses();
  }

  async goto(url: string): Promise<void> {
    await this.command('POST', `${this.session}/url`, { url }, PAGE_LOAD_TIMEOUT_MS + 10_000);
    this.noteProcesses(); // a new site may have a new web process
  }

  /** Notes the browser's processes as they are now, so that close() finds them even once re-parented. */
  private noteProcesses(): void {
    for (const p of this.processes) if (p.pid !== undefined) noteDescendants(p.pid);
  }

  async url(): Promise<string> {
    return String(await this.command('GET', `${this.session}/url`));
  }

  async evaluate(expression: string): Promise<unknown> {
    // The page's own errors come back as values, so that they are not mistaken for WebDriver's.
    // (Not `error`: WebDriver's own errors are objects with an `error` field.)
    const script = `const done = arguments[arguments.length - 1];
      Promise.resolve().then(() => (${expression})).then(
        (value) => done({ returned: value === undefined ? null : value }),
        (e) => done({ threw: String(e && e.stack ? e + '\\n' + e.stack : e) }));`;
    let result: { returned?: unknown; threw?: string };
    try {
      result = (await this.command('POST', `${this.session}/execute/async`, { script, args: [] }, SCRIPT_TIMEOUT_MS + 10_000)) as typeof result;
    } catch (err) {
      // A page process that crashed answers "Could not parse script result", and the session is gone.
      if (err instanceof WebDriverError && !(await this.alive())) throw new Error(`the WebKit page crashed (${err.message}); reopen() to go on`, { cause: err });
      throw err;
    }
    if (result.threw !== undefined) throw new Error(`in the WebKit page: ${result.threw}`);
    return result.returned;
  }

  /** Through WebDriver's actions (pointer move, down, up), then released. */
  async click(x: number, y: number): Promise<void> {
    await this.command('POST', `${this.session}/actions`, {
      actions: [
        {
          type: 'pointer',
          id: 'mouse',
          parameters: { pointerType: 'mouse' },
          actions: [
            { type: 'pointerMove', origin: 'viewport', x: Math.round(x), y: Math.round(y), duration: 0 },
            { type: 'pointerDown', button: 0 },
            { type: 'pointerUp', button: 0 },
          ],
        },
      ],
    });
    await this.command('DELETE', `${this.session}/actions`);
  }

  async resize(width: number, height: number): Promise<{ width: number; height: number }> {
    const inner = async (): Promise<{ width: number; height: number }> => (await this.evaluate('({ width: innerWidth, height: innerHeight })')) as { width: number; height: number };
    await this.command('POST', `${this.session}/window/rect`, { width, height });
    // The window's frame and toolbar take some of it: once more with the difference added.
    const got = await inner();
    if (got.width === width && got.height === height) return got;
    await this.command('POST', `${this.session}/window/rect`, { width: width + (width - got.width), height: height + (height - got.height) });
    return inner();
  }

  async waitFor(expression: string, timeoutMs = 15_000, what = expression): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await this.evaluate(expression);
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting in WebKit for ${what}`);
      await sleep(100);
    }
  }

  async screenshot(file?: string): Promise<Buffer> {
    const png = Buffer.from(String(await this.command('GET', `${this.session}/screenshot`)), 'base64');
    if (file) await writeFile(file, png);
    return png;
  }

  async alive(): Promise<boolean> {
    if (!this.id || this.closed) return false;
    try {
      await this.command('GET', `/session/${this.id}/url`, undefined, 10_000);
      return true;
    } catch {
      return false;
    }
  }

  async reopen(): Promise<void> {
    if (this.id) await this.command('DELETE', `/session/${this.id}`, undefined, 10_000).catch(() => undefined);
    this.id = null;
    await this.open();
    this.reopened++;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.noteProcesses();
    // Ending the session closes MiniBrowser; whatever is left is ended by PID below.
    if (this.id) await this.command('DELETE', `/session/${this.id}`, undefined, 10_000).catch(() => undefined);
    this.closed = true;
    this.id = null;
    // The driver (and the browser under it) first, Xvfb last.
    for (const p of [...this.processes].reverse()) await stopGroup(p);
  }
}
