// The devices that hold access. Opening a link (or a pairing link) in a browser makes that browser a
// device with a credential of its own: a random secret in its cookie, kept here only as a SHA-256.
// So one device can be revoked without touching the others, and renewing the links (new keys for
// the shared links) leaves the devices that already joined in. Kept in `devices.json` in the data
// dir, written atomically at most once a second (last-seen times at most once a minute).
//
// Bounds: at most MAX_DEVICES (when full, the device unseen longest makes room if it has been
// unseen for a day; else a new one is refused), and at most NEW_PER_ADDRESS_MAX new devices per
// client address in NEW_PER_ADDRESS_WINDOW_MS, so whoever holds a link cannot fill the book.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { JsonFileWriter, readJsonFile } from './core/data-dir.ts';
import { normalizeAddress } from './rate-limit.ts';

export type Role = 'camera' | 'viewer' | 'owner';
export const ROLES: readonly Role[] = ['camera', 'viewer', 'owner'];

/** How a device joined. */
export type Via = 'camera link' | 'viewer link' | 'owner link' | 'token' | 'pairing link' | 'earlier cookie';
const VIAS = ['camera link', 'viewer link', 'owner link', 'token', 'pairing link', 'earlier cookie'] as const satisfies readonly Via[];

export interface DeviceRecord {
  id: string;
  roles: Role[];
  /** What it is, for people: "Chrome on Android" (the Settings show a camera's name instead). */
  label: string;
  via: Via;
  /** ms since the epoch. */
  created: number;
  lastSeen: number;
  /** The client address it was last seen from. */
  address: string;
  /** The camera id it streams as, once it did. */
  camera?: string | undefined;
  /** SHA-256 (hex) of its cookie secret. */
  hash: string;
}

/** A device as the owner sees it (no secret). */
export type DeviceInfo = Omit<DeviceRecord, 'hash'>;

export const MAX_DEVICES = 500;
/** A device unseen this long may make room for a new one when the book is full. */
const EVICT_AFTER_MS = 24 * 3600 * 1000;
export const NEW_PER_ADDRESS_MAX = 30;
export const NEW_PER_ADDRESS_WINDOW_MS = 10 * 60 * 1000;
const WRITE_DELAY_MS = 1000;
/** Last-seen times alone are written at most this often. */
const SEEN_WRITE_MS = 60_000;
/** A device cookie: `d1.<id>.<secret>`. */
const COOKIE_PATTERN = /^d1\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/;

const time = z.number().int().min(0).max(1e14);
const fileSchema = z.object({
  version: z.literal(1),
  devices: z
    .array(
      z.object({
        id: z.string().regex(/^[A-Za-z0-9_-]{16}$/),
        roles: z.array(z.enum(ROLES)).min(1).max(3),
        label: z.string().max(100),
        via: z.enum(VIAS),
        created: time,
        lastSeen: time,
        address: z.string().max(100),
        camera: z.string().max(100).optional(),
        hash: z.string().regex(/^[0-9a-f]{64}$/),
      }),
    )
    .max(MAX_DEVICES),
});

export interface DeviceLog {
  warn(message: string): void;
  error(message: string, err?: unknown): void;
}

/** Why a device could not be added. */
export type Refused = 'full' | 'too-many-new';

export class DeviceBook {
  private readonly devices = new Map<string, DeviceRecord>();
  /** New devices per address in the current window. */
  private readonly recent = new Map<string, { start: number; count: number }>();
  private readonly revokeListeners: ((device: DeviceRecord) => void)[] = [];
  private readonly writer: JsonFileWriter;

  private constructor(
    readonly file: string | null,
    private readonly log: DeviceLog,
  ) {
    this.writer = new JsonFileWriter(file, () => `${JSON.stringify({ version: 1, devices: [...this.devices.values()] } satisfies z.infer<typeof fileSchema>, null, 1)}\n`, log);
  }

  /** A book kept in memory only. */
  static inMemory(log: DeviceLog): DeviceBook {
    return new DeviceBook(null, log);
  }

  /** Reads `devices.json` in `dataDir` (none yet: empty; damaged: set aside with a warning, empty). */
  static async load(dataDir: string, log: DeviceLog): Promise<DeviceBook> {
    const book = new DeviceBook(path.join(dataDir, 'devices.json'), log);
    const parsed = await readJsonFile(book.file!, fileSchema, log, 'devices that joined before must open a link again');
    for (const d of parsed?.devices ?? []) book.devices.set(d.id, d);
    return book;
  }

  get size(): number {
    return this.devices.size;
  }

  /** Every device, the most recently seen first. */
  all(): DeviceInfo[] {
    return [...this.devices.values()].sort((a, b) => b.lastSeen - a.lastSeen).map(infoOf);
  }

  get(id: string): DeviceInfo | undefined {
    const d = this.devices.get(id);
    return d && infoOf(d);
  }

  /** Why a device with these roles could not be added now from `address`, or null when it could. */
  room(roles: readonly Role[], address: string, now = Date.now()): Refused | null {
    const window = this.recent.get(normalizeAddress(address));
    if (!roles.includes('owner') && window && now - window.start < NEW_PER_ADDRESS_WINDOW_MS && window.count >= NEW_PER_ADDRESS_MAX) return 'too-many-new';
    if (this.devices.size < MAX_DEVICES) return null;
    const oldest = this.evictable();
    return oldest && now - oldest.lastSeen >= EVICT_AFTER_MS ? null : 'full';
  }

  /** The device that makes room when the book is full: the one unseen longest, never an owner's. */
  private evictable(): DeviceRecord | undefined {
    return [...this.devices.values()].filter((d) => !d.roles.includes('owner')).sort((a, b) => a.lastSeen - b.lastSeen)[0];
  }

  /**
   * A new device with these roles; its cookie value (shown once, kept only as a hash), or why not.
   * The owner's own devices (owner link, token) are not held to the bound per address.
   */
  add(roles: readonly Role[], label: string, via: Via, address: string, now = Date.now()): { id: string; cookie: string } | { refused: Refused } {
    const refused = this.room(roles, address, now);
    if (refused) return { refused };
    const client = normalizeAddress(address);
    const window = this.recent.get(client);
    const counted = !roles.includes('owner');
    const oldest = this.devices.size >= MAX_DEVICES ? this.evictable() : undefined;
    if (oldest) {
      this.devices.delete(oldest.id);
      this.log.warn(`devices: ${MAX_DEVICES} devices hold access; the one unseen longest (${oldest.label}, last seen ${new Date(oldest.lastSeen).toISOString()}) was removed to make room`);
    }
    if (counted && window && now - window.start < NEW_PER_ADDRESS_WINDOW_MS) window.count++;
    else if (counted) {
      this.recent.delete(client);
      this.recent.set(client, { start: now, count: 1 });
      // Bounded: addresses whose window is over are forgotten.
      if (this.recent.size > 4096) for (const [k, w] of this.recent) if (now - w.start >= NEW_PER_ADDRESS_WINDOW_MS || this.recent.size > 4096) this.recent.delete(k);
    }
    let id: string;
    do id = randomBytes(12).toString('base64url');
    while (this.devices.has(id));
    const secret = randomBytes(32).toString('base64url');
    this.devices.set(id, { id, roles: [...new Set(roles)], label: label.slice(0, 100), via, created: now, lastSeen: now, address: client.slice(0, 100), hash: sha256hex(secret) });
    this.schedule(true);
    return { id, cookie: `d1.${id}.${secret}` };
  }

  /** The device a cookie value belongs to; null when it is none of ours (revoked, or made up). */
  verify(cookie: string): DeviceInfo | null {
    const m = COOKIE_PATTERN.exec(cookie);
    if (!m) return null;
    const device = this.devices.get(m[1]!);
    if (!device) return null;
    const ok = timingSafeEqual(Buffer.from(device.hash, 'hex'), createHash('sha256').update(m[2]!).digest());
    return ok ? this.get(device.id)! : null;
  }

  /** Whether a cookie value has the form of a device cookie (as opposed to an older version's). */
  static isDeviceCookie(cookie: string): boolean {
    return cookie.startsWith('d1.');
  }

  /** The device opened another link: it now has these roles too. */
  grant(id: string, roles: readonly Role[]): void {
    const d = this.devices.get(id);
    if (!d) return;
    const before = d.roles.length;
    d.roles = ROLES.filter((r) => d.roles.includes(r) || roles.includes(r));
    if (d.roles.length !== before) this.schedule(true);
  }

  /** The device was seen now (from `address`, when it asked for something). */
  seen(id: string, address?: string, now = Date.now()): void {
    const d = this.devices.get(id);
    if (!d) return;
    d.lastSeen = Math.max(d.lastSeen, now);
    if (address !== undefined) d.address = normalizeAddress(address).slice(0, 100);
    this.schedule(false);
  }

  /** The device streams as camera `cameraId` (shown by that camera's name). */
  streamsAs(id: string, cameraId: string): void {
    const d = this.devices.get(id);
    if (!d || d.camera === cameraId) return;
    d.camera = cameraId;
    this.schedule(true);
  }

  /** Takes a device's access away (its sockets are closed by the listeners); the device, or null when unknown. */
  revoke(id: string): DeviceInfo | null {
    const d = this.devices.get(id);
    if (!d) return null;
    this.devices.delete(id);
    this.schedule(true);
    for (const l of this.revokeListeners) l(d);
    return infoOf(d);
  }

  /**
   * Revokes every device that had joined by `time` (the terminal's `rotate-links --revoke-devices`),
   * including one that joined in that same millisecond.
   */
  revokeJoinedBefore(time: number): number {
    const old = [...this.devices.values()].filter((d) => d.created <= time);
    for (const d of old) this.revoke(d.id);
    return old.length;
  }

  onRevoke(listener: (device: DeviceInfo) => void): void {
    this.revokeListeners.push(listener);
  }

  /** Writes what is pending now (the server is stopping). */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** A change to write: soon when it matters, within a minute when only a last-seen time moved. */
  private schedule(important: boolean): void {
    this.writer.schedule(important ? WRITE_DELAY_MS : Math.max(WRITE_DELAY_MS, SEEN_WRITE_MS - (Date.now() - this.writer.lastWrite)));
  }
}

/** A device as the owner sees it: everything but its secret's hash. */
function infoOf({ hash: _hash, ...info }: DeviceRecord): DeviceInfo {
  return { ...info, roles: [...info.roles] };
}

/** Single-use links that add one device with one role, valid for PAIRING_TTL_MS (kept in memory only). */
export class Pairings {
  private readonly codes = new Map<string, { role: Role; expires: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A new code for `role`, and when it stops working. At most MAX_PAIRINGS wait at once (the oldest go first). */
  create(role: Role): { code: string; expires: number } {
    this.prune();
    while (this.codes.size >= MAX_PAIRINGS) this.codes.delete(this.codes.keys().next().value!);
    const code = randomBytes(16).toString('base64url');
    const expires = this.now() + PAIRING_TTL_MS;
    this.codes.set(sha256hex(code), { role, expires });
    return { code, expires };
  }

  /** The role of a code that still works, without using it up. */
  peek(code: string): Role | null {
    const entry = this.codes.get(sha256hex(code));
    return entry && entry.expires > this.now() ? entry.role : null;
  }

  /** The role of a code, used up now; null when it is unknown, used or expired. */
  consume(code: string): Role | null {
    // Looked up by its hash: the lookup's timing tells nothing about the codes that exist.
    const key = sha256hex(code);
    const entry = this.codes.get(key);
    this.codes.delete(key);
    return entry && entry.expires > this.now() ? entry.role : null;
  }

  /** Withdraws every waiting code (the links were renewed). */
  clear(): void {
    this.codes.clear();
  }

  private prune(): void {
    const now = this.now();
    for (const [k, v] of this.codes) if (v.expires <= now) this.codes.delete(k);
  }
}

export const PAIRING_TTL_MS = 15 * 60 * 1000;
export const MAX_PAIRINGS = 20;

/** A short name for a browser from its User-Agent: "Chrome on Android", "Safari on iPhone". */
export function deviceLabel(userAgent: string | undefined): string {
  const ua = userAgent ?? '';
  const os = /iPhone/.test(ua)
    ? 'iPhone'
    : /iPad/.test(ua)
      ? 'iPad'
      : /Android/.test(ua)
        ? 'Android'
        : /CrOS/.test(ua)
          ? 'ChromeOS'
          : /Mac OS X|Macintosh/.test(ua)
            ? 'Mac'
            : /Windows/.test(ua)
              ? 'Windows'
              : /Linux/.test(ua)
                ? 'Linux'
                : null;
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /SamsungBrowser/.test(ua)
      ? 'Samsung Internet'
      : /Firefox\/|FxiOS/.test(ua)
        ? 'Firefox'
        : /Chrome\/|CriOS/.test(ua)
          ? 'Chrome'
          : /Safari\//.test(ua)
            ? 'Safari'
            : null;
  if (!browser && !os) return 'A browser';
  return [browser ?? 'A browser', os].filter(Boolean).join(' on ');
}

function sha256hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
