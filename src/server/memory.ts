// Memory the network leaves behind. Every piece read from a socket, and every message, is a buffer
// whose memory comes back only when V8 collects its object, and V8 lets up to 64 MiB of such memory
// pile up before it does (its soft limit for memory outside its heap); after a flood nothing may
// make it collect for minutes. On a small board that is memory the server does not need. So while
// much is read (a flood, many cameras) the server asks V8 for a full collection after every
// `everyBytes`, and once more when the traffic has gone back to what it was (a few cameras with
// sound read ~1 MB a second: one collection every ~25 s, a few milliseconds each). It can only when Node runs with --expose-gc (`npm start` does);
// otherwise this does nothing and V8 decides alone.
//
// Collected is not yet given back: the freed pieces (TLS records, read buffers) sit in glibc's heap,
// which returns to the system only what lies at its very top; a flood left ~30 MiB there for good.
// glibc's malloc_trim gives back every whole free page in the heap, but Node cannot call it, so it
// is called through koffi (a C function interface whose prebuilt binaries come from npm), on a
// thread of its own. It runs once after the quiet collection, where the C library is glibc;
// elsewhere this part does nothing.
import { createRequire } from 'node:module';
/** V8's gc() (with --expose-gc). A `last-resort` collection also gives back the heap's empty pages. */
type Collect = (options: { type: 'major'; execution: 'async'; flavor?: 'regular' | 'last-resort' }) => unknown;

export interface ReclaimOptions {
  /** Bytes read from the network between two collections. */
  everyBytes: number;
  /** How often the traffic is looked at: once it reads less than an eighth of everyBytes in this long, a burst is over. */
  checkMs: number;
}

export const DEFAULT_RECLAIM: ReclaimOptions = { everyBytes: 24 * 1024 * 1024, checkMs: 3000 };

/** How long after the quiet collection is asked for the C heap is trimmed (the collection runs as a task of its own). */
export const TRIM_AFTER_MS = 1000;

/** Hands the C library's free pages back to the system (resolves when done); null where that cannot be done. */
export type Trim = () => Promise<void>;

/** glibc's malloc_trim(0), or null (not glibc, or koffi has no binary for this machine). */
export function nativeTrim(): Trim | null {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  if (process.platform !== 'linux' || !header?.glibcVersionRuntime) return null;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const trim = koffi.load('libc.so.6').func('int malloc_trim(size_t pad)') as { async(pad: number, done: (err: unknown, result: number) => void): void };
    // On a thread of koffi's, not the event loop's: after a flood it walks a heap of many freed
    // pieces (measured 250 ms for 300,000), while the server's own allocations go on meanwhile.
    return () => new Promise<void>((resolve) => trim.async(0, () => resolve()));
  } catch {
    return null;
  }
}

export class MemoryReclaimer {
  /** Bytes read since the last collection, and in the current check. */
  private since = 0;
  private recent = 0;
  /** A burst made collections since the traffic was last quiet: one more is owed when it is. */
  private owed = false;
  private readonly timer: NodeJS.Timeout | null = null;
  private trimTimer: NodeJS.Timeout | null = null;
  private readonly collect: Collect | null;
  private readonly trim: Trim | null;

  /** `trim` defaults to glibc's malloc_trim where collections can be asked for. */
  constructor(
    private readonly opts: ReclaimOptions = DEFAULT_RECLAIM,
    collect: unknown = (globalThis as { gc?: unknown }).gc,
    trim?: Trim | null,
  ) {
    this.collect = typeof collect === 'function' ? (collect as Collect) : null;
    this.trim = trim !== undefined ? trim : this.collect ? nativeTrim() : null;
    if (this.collect) this.timer = setInterval(() => this.check(), opts.checkMs).unref();
  }

  /** Whether collections can be asked for (Node runs with --expose-gc). */
  get active(): boolean {
    return this.collect !== null;
  }

  /** Bytes arrived from the network. */
  received(bytes: number): void {
    if (!this.collect) return;
    this.since += bytes;
    this.recent += bytes;
    if (this.since < this.opts.everyBytes) return;
    this.owed = true;
    this.run();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.trimTimer) clearTimeout(this.trimTimer);
  }

  private check(): void {
    if (this.owed && this.recent < this.opts.everyBytes / 8) {
      this.owed = false;
      this.run('last-resort');
      const trim = this.trim;
      if (trim && !this.trimTimer) {
        this.trimTimer = setTimeout(() => {
          this.trimTimer = null;
          void trim();
        }, TRIM_AFTER_MS).unref();
      }
    }
    this.recent = 0;
  }

  private run(flavor: 'regular' | 'last-resort' = 'regular'): void {
    this.since = 0;
    // As a task of its own, not inside the read that crossed the line. (V8's 'sync' major
    // collection with options does nothing in Node 20; 'async' does.)
    this.collect?.({ type: 'major', execution: 'async', flavor });
  }
}
