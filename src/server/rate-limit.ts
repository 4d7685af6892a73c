// Failed access attempts, counted per client address: too many in a window locks that address out
// for a while. Memory is bounded: at most `maxTracked` addresses are remembered.

/** Limits of the failure counter. */
export interface RateLimitOptions {
  /** Failed attempts allowed per window; the next one locks the address out. */
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
  /** Addresses remembered at most (the oldest are forgotten first). */
  maxTracked: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { maxFailures: 10, windowMs: 60_000, lockoutMs: 60_000, maxTracked: 10_000 };

interface Entry {
  windowStart: number;
  failures: number;
  lockedUntil: number;
}

/** Counts failed attempts per address. */
export class FailureLimiter {
  private readonly entries = new Map<string, Entry>();

  constructor(
    readonly options: RateLimitOptions = DEFAULT_RATE_LIMIT,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until `address` may try again; 0 when it may now. */
  retryAfterMs(address: string): number {
    const entry = this.entries.get(normalizeAddress(address));
    return entry ? Math.max(0, entry.lockedUntil - this.now()) : 0;
  }

  /** Records one failed attempt; returns true when this one locked the address out. */
  fail(address: string): boolean {
    const key = normalizeAddress(address);
    const now = this.now();
    let entry = this.entries.get(key);
    if (!entry || now - entry.windowStart >= this.options.windowMs) {
      entry = { windowStart: now, failures: 0, lockedUntil: entry?.lockedUntil ?? 0 };
      this.entries.delete(key);
      this.entries.set(key, entry);
      this.prune(now);
    }
    entry.failures++;
    if (entry.failures <= this.options.maxFailures) return false;
    entry.failures = 0;
    entry.windowStart = now;
    entry.lockedUntil = now + this.options.lockoutMs;
    return true;
  }

  /** Addresses remembered now (for tests and status). */
  get size(): number {
    return this.entries.size;
  }

  private prune(now: number): void {
    if (this.entries.size <= this.options.maxTracked) return;
    for (const [key, e] of this.entries) {
      if (now - e.windowStart >= this.options.windowMs && e.lockedUntil <= now) this.entries.delete(key);
    }
    // Still too many (a flood from many addresses): forget the oldest windows of addresses that are
    // not locked out, and only then the lock-outs that end soonest, so flooding cannot lift a lock-out early.
    for (const [key, e] of this.entries) {
      if (this.entries.size <= this.options.maxTracked) return;
      if (e.lockedUntil <= now) this.entries.delete(key);
    }
    const locked = [...this.entries].sort((a, b) => a[1].lockedUntil - b[1].lockedUntil);
    for (const [key] of locked) {
      if (this.entries.size <= this.options.maxTracked) return;
      this.entries.delete(key);
    }
  }
}

/** `::ffff:192.168.1.5` and `192.168.1.5` are one client. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/**
 * A token bucket per address: `perSecond` on average, `burst` at once. Shared by all connections of
 * an address, so reconnecting does not refill it.
 */
export class MessageBudget {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for `address`; false when its budget is spent. */
  take(address: string): boolean {
    const key = normalizeAddress(address);
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Forgets buckets that have refilled (call now and then). */
  prune(): void {
    const now = this.now();
    for (const [key, b] of this.buckets) if (b.tokens + ((now - b.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(key);
  }

  get size(): number {
    return this.buckets.size;
  }
}
