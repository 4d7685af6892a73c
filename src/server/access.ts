// Who may do what. One access secret (kept in the data dir, or given with --token) from which
// the shared links are derived:
//   camera link key  = HMAC(secret, "link:camera")   ?key=…  may publish, nothing else
//   viewer link key  = HMAC(secret, "link:viewer")   ?key=…  may watch and control cameras
//   owner link key   = HMAC(secret, "link:owner")    ?key=…  all of that, and Settings: links,
//                                                             devices, renaming and forgetting cameras
//   the secret itself                                ?token=… as the owner link (scripts and tests)
//   pairing link                                     ?pair=…  one device, once, within 15 min (devices.ts)
// A page opened with one of them makes the browser a device (devices.ts) with a cookie of its own,
// `d1.<id>.<secret>`, which the owner can revoke alone. Renewing the links (a new secret) changes
// every shared link and leaves the devices that joined in. (Cookies of older versions, roles with
// an HMAC of the secret, still work until then, and become a device the next time a page loads.)
import { createHash, createHmac, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './core/data-dir.ts';
import path from 'node:path';
import type { Logger } from './log.ts';
import { FailureLimiter, normalizeAddress, type RateLimitOptions, DEFAULT_RATE_LIMIT } from './rate-limit.ts';
import { DeviceBook, Pairings, deviceLabel, ROLES, type DeviceInfo, type Role, type Via } from './devices.ts';

export { ROLES, type Role } from './devices.ts';

/** What a route or endpoint requires: nothing, one role, or any role. */
export type Access = 'public' | Role | 'member';

/** The session cookie. `__Host-`: browsers only accept it Secure, for Path=/ and this exact host. */
export const COOKIE_NAME = '__Host-webcam';
/** Browsers keep a cookie at most 400 days. */
const COOKIE_MAX_AGE_S = 400 * 24 * 60 * 60;
/** Query parameters that carry credentials (removed from the address bar by the pages). */
export const KEY_PARAM = 'key';
export const TOKEN_PARAM = 'token';
export const PAIR_PARAM = 'pair';
/** What each shared link grants. The owner may do everything. */
const LINK_ROLES: Record<'camera' | 'viewer' | 'owner', Role[]> = { camera: ['camera'], viewer: ['viewer'], owner: [...ROLES] };
/** The shared links. */
export type LinkKind = keyof typeof LINK_ROLES;
/** What `--token` accepts: URL-safe, so it can be pasted into a link as is, and not short. */
export const TOKEN_PATTERN = /^[A-Za-z0-9._~-]{16,256}$/;
/**
 * Keys are HMACs under a key stretched from the secret with scrypt, so a camera key (which crosses
 * the plain-HTTP helper) does not let anyone test guesses of a --token offline at speed.
 */
const STRETCH_SALT = 'websocket-webcam access keys v1';
const STRETCH = { N: 2 ** 14, r: 8, p: 1 } as const;

const ACCESS_FILE = 'access.json';

/** Credentials derived from one secret. Pure. */
export class AccessKeys {
  private readonly secretHash: Buffer;
  private readonly macKey: Buffer;
  private readonly keys: Record<LinkKind, string>;

  constructor(secret: string) {
    this.secretHash = sha256(secret);
    this.macKey = scryptSync(secret, STRETCH_SALT, 32, STRETCH);
    this.keys = { camera: this.mac('link:camera', 22), viewer: this.mac('link:viewer', 22), owner: this.mac('link:owner', 22) };
  }

  /** The `?key=` of a shared link. */
  linkKey(kind: LinkKind): string {
    return this.keys[kind];
  }

  /** Which link a key is, or null when it is not one of ours. */
  linkOfKey(key: string): LinkKind | null {
    for (const kind of Object.keys(this.keys) as LinkKind[]) if (safeEqual(key, this.keys[kind])) return kind;
    return null;
  }

  /** Roles of a link key, or null when it is not one of ours. */
  rolesOfKey(key: string): Role[] | null {
    const kind = this.linkOfKey(key);
    return kind ? [...LINK_ROLES[kind]] : null;
  }

  /** Full access when `token` is the secret itself. */
  rolesOfToken(token: string): Role[] | null {
    return timingSafeEqual(sha256(token), this.secretHash) ? [...ROLES] : null;
  }

  /** The cookie value an older version set for a set of roles (camera and viewer). */
  cookieValue(roles: readonly Role[]): string {
    const code = roleCode(roles);
    return `${code}.${this.mac(`cookie:${code}`, 32)}`;
  }

  /** Roles of an older version's cookie value, or null when it was not made with this secret. */
  rolesOfCookie(value: string): Role[] | null {
    const dot = value.indexOf('.');
    const code = value.slice(0, dot);
    if (dot < 0 || !['c', 'v', 'cv'].includes(code)) return null;
    if (!safeEqual(value.slice(dot + 1), this.mac(`cookie:${code}`, 32))) return null;
    return (['camera', 'viewer'] as const).filter((r) => code.includes(r[0]!));
  }

  private mac(label: string, chars: number): string {
    return createHmac('sha256', this.macKey).update(label).digest('base64url').slice(0, chars);
  }
}

/** The credentials a request presented. */
export interface Presented {
  /** Client address, for rate limiting. */
  address: string;
  /** `?key=`, `?token=` and `?pair=` (null when absent). */
  key: string | null;
  token: string | null;
  pair?: string | null;
  /** The raw Cookie header. */
  cookieHeader: string | undefined;
  /** A page is being opened: a link makes this browser a device (with a cookie of its own). */
  remember?: boolean;
  /** Its User-Agent, to name a new device. */
  userAgent?: string | undefined;
}

/** What a request got in with. */
export type Credential = 'device' | 'link' | 'token' | 'older cookie' | 'open';

/** The outcome of checking a request's credentials. */
export type AuthResult =
  /**
   * `setCookie`: a Set-Cookie header value to send (a link was opened). `device`: the device it is,
   * if any; `credential`: what it got in with (a device's sockets go when it is revoked; the others
   * when the links are renewed).
   */
  | { kind: 'ok'; roles: ReadonlySet<Role>; setCookie: string | null; device: string | null; credential: Credential }
  /** Nothing valid was presented. `invalid`: something was presented and was wrong (counted). */
  | { kind: 'refused'; invalid: 'link' | 'token' | 'cookie' | null; clearCookie: string | null }
  /** Too many failed attempts from this address. */
  | { kind: 'limited'; retryAfterMs: number }
  /** A right link, but no new device can be added now (too many from this address, or in all). */
  | { kind: 'no-room'; why: 'full' | 'too-many-new' };

/** Settings for AccessControl.load. */
export interface AccessSettings {
  dataDir: string;
  /** --token: a fixed secret (rotation is then done by changing it). */
  token: string | undefined;
  /** --no-auth: everyone may do everything (the caller allows it only on loopback). */
  open: boolean;
  rateLimit?: Partial<RateLimitOptions>;
  /** Where wrong credentials and lock-outs are reported. */
  log?: Logger;
  /** The devices (default: `devices.json` in the data dir). */
  devices?: DeviceBook;
}

/** The access secret, its credentials, and the failed-attempt limiter. */
export class AccessControl {
  readonly limiter: FailureLimiter;
  /** Wrong keys on the plain-HTTP helper: a lock-out of the helper only. */
  private readonly helperLimiter: FailureLimiter;
  private keys: AccessKeys;
  private readonly rotateListeners: (() => void)[] = [];
  /** Single-use links the owner made (Settings: "Add a camera"). */
  readonly pairings = new Pairings();
  /** When `rotate-links --revoke-devices` last asked for every device to go (applied once). */
  private devicesRevokedAt = 0;

  private constructor(
    secret: string,
    readonly source: 'file' | 'token' | 'open',
    readonly file: string,
    rateLimit: Partial<RateLimitOptions>,
    private readonly log: Logger | undefined,
    /** The devices that hold access. */
    readonly devices: DeviceBook,
  ) {
    this.keys = new AccessKeys(secret);
    this.limiter = new FailureLimiter({ ...DEFAULT_RATE_LIMIT, ...rateLimit });
    this.helperLimiter = new FailureLimiter({ ...DEFAULT_RATE_LIMIT, ...rateLimit });
  }

  /** Reads the secret from the data dir (creating it on first start), or takes --token. */
  static async load(settings: AccessSettings): Promise<{ access: AccessControl; created: boolean }> {
    const file = path.join(settings.dataDir, ACCESS_FILE);
    const log = settings.log;
    const devices = async () => settings.devices ?? (await DeviceBook.load(settings.dataDir, { warn: (m) => log?.warn(m), error: (m, e) => log?.error(m, e) }));
    const make = async (secret: string, source: AccessControl['source']) => new AccessControl(secret, source, file, settings.rateLimit ?? {}, log, source === 'open' ? DeviceBook.inMemory({ warn: () => undefined, error: () => undefined }) : await devices());
    if (settings.open) return { access: await make(randomSecret(), 'open'), created: false };
    if (settings.token !== undefined) return { access: await make(settings.token, 'token'), created: false };
    const stored = await readSecret(file);
    if (stored) {
      const access = await make(stored.secret, 'file');
      access.applyDeviceRevocation(stored.devicesRevokedAt);
      return { access, created: false };
    }
    const secret = randomSecret();
    await writeSecret(file, { secret });
    return { access: await make(secret, 'file'), created: true };
  }

  /** True when there is no access control (--no-auth on loopback). */
  get isOpen(): boolean {
    return this.source === 'open';
  }

  /** The `?key=` of a shared link. */
  linkKey(kind: LinkKind): string {
    return this.keys.linkKey(kind);
  }

  /** Checks what a request presents: a link, pairing link or token (which, opening a page, make a device), else the cookie. */
  authenticate(p: Presented): AuthResult {
    return this.check(p, this.limiter);
  }

  /**
   * The same check for the plain-HTTP setup helper, whose wrong keys count against a lock-out of
   * their own: plain HTTP carries no `Sec-Fetch-*` headers, so a page on any site could send this
   * device's browser there with wrong keys, and that must not lock the device out of its cameras.
   */
  authenticateOnHelper(p: Presented): AuthResult {
    return this.check(p, this.helperLimiter);
  }

  private check(p: Presented, limiter: FailureLimiter): AuthResult {
    if (this.isOpen) return { kind: 'ok', roles: new Set(ROLES), setCookie: null, device: null, credential: 'open' };
    const pair = p.pair ?? null;
    const cookie = readCookie(p.cookieHeader, COOKIE_NAME);
    if (p.key === null && p.token === null && pair === null && cookie === null) return { kind: 'refused', invalid: null, clearCookie: null };
    // The cookie: a device's, or an older version's (roles and a MAC of the secret).
    let device: DeviceInfo | null = null;
    let cookieRoles: Role[] | null = null;
    if (cookie !== null) {
      if (DeviceBook.isDeviceCookie(cookie)) {
        device = this.devices.verify(cookie);
        cookieRoles = device ? device.roles : null;
      } else cookieRoles = this.keys.rolesOfCookie(cookie);
    }
    const clearCookie = cookie !== null && cookieRoles === null ? clearedCookie() : null;
    // While locked out, the --token (a secret a person chose, perhaps guessable) is not even checked,
    // so guessing cannot go on. Link keys and pairing codes (128 bits) and device cookies (256 bits)
    // still are: nobody guesses them, and a device locked out by wrong links (perhaps a page on another
    // site sending them from this device's browser) must still get in with a right one.
    const wait = limiter.retryAfterMs(p.address);
    if (wait > 0 && p.token !== null) return { kind: 'limited', retryAfterMs: wait };
    let linkRoles: Role[] | null = null;
    let via: Via | null = null;
    let invalid: 'link' | 'token' | null = null;
    if (p.token !== null) {
      linkRoles = this.keys.rolesOfToken(p.token);
      via = 'token';
      if (!linkRoles) invalid = 'token';
    } else if (pair !== null) {
      // (Not used up when no device could be added now: the code keeps working for another try.)
      const waiting = this.pairings.peek(pair);
      const full = waiting && p.remember && !device ? this.devices.room([waiting], p.address) : null;
      if (full) return { kind: 'no-room', why: full };
      const role = this.pairings.consume(pair);
      linkRoles = role ? [role] : null;
      via = 'pairing link';
      if (!linkRoles) invalid = 'link';
    } else if (p.key !== null) {
      const kind = this.keys.linkOfKey(p.key);
      linkRoles = kind ? [...LINK_ROLES[kind]] : null;
      via = kind ? `${kind} link` : null;
      if (!linkRoles) invalid = 'link';
    } else if (clearCookie) {
      // A cookie this server did not issue, or a device revoked: cleared, and never counted as a
      // wrong guess (nobody guesses 256 bits; another service on this host can set a cookie of the
      // same name, since cookies are not bound to a port, and must not lock the device out).
      return { kind: 'refused', invalid: 'cookie', clearCookie };
    }
    if (invalid === 'link' && device) {
      // A device that joined before opens an old link again (the printed QR code after the links were
      // renewed, a pairing code used already): it is still that device. Not a guess: not counted.
      // (A wrong --token is always counted: it is the guessable secret the lock-out protects.)
      this.log?.info(`client ${normalizeAddress(p.address)}: a link that no longer works from a device that holds access; let in as that device`);
      this.devices.seen(device.id, p.address);
      return { kind: 'ok', roles: new Set(device.roles), setCookie: null, device: device.id, credential: 'device' };
    }
    if (invalid) {
      if (wait > 0) return { kind: 'limited', retryAfterMs: wait };
      const locked = limiter.fail(p.address);
      const who = `client ${normalizeAddress(p.address)}`;
      const helper = limiter === this.helperLimiter;
      const what = invalid === 'token' ? 'token' : pair !== null ? 'pairing link (unknown, used or expired)' : 'link key';
      this.log?.warn(`${who}: wrong ${what}${helper ? ' on the setup helper' : ''}${locked ? `; too many wrong attempts, locked out${helper ? ' of the helper' : ''} for ${Math.round(limiter.options.lockoutMs / 1000)} s` : ''}`);
      return { kind: 'refused', invalid, clearCookie };
    }
    const roles = ROLES.filter((r) => cookieRoles?.includes(r) || linkRoles?.includes(r));
    const credential: Credential = device ? 'device' : linkRoles ? (via === 'token' ? 'token' : 'link') : 'older cookie';
    if (device) {
      if (linkRoles) this.devices.grant(device.id, linkRoles);
      this.devices.seen(device.id, p.address);
      return { kind: 'ok', roles: new Set(roles), setCookie: null, device: device.id, credential };
    }
    // A page opened with a link, or by a browser holding an older version's cookie: a new device.
    if (p.remember && (linkRoles || cookieRoles)) {
      const added = this.devices.add(roles, deviceLabel(p.userAgent), via ?? 'earlier cookie', p.address);
      if ('refused' in added) {
        // An older version's cookie keeps working as it did; it becomes a device another time.
        if (!linkRoles) return { kind: 'ok', roles: new Set(roles), setCookie: null, device: null, credential: 'older cookie' };
        this.log?.warn(`client ${normalizeAddress(p.address)}: ${added.refused === 'full' ? 'no room for another device' : 'too many new devices from this address'}; refused`);
        return { kind: 'no-room', why: added.refused };
      }
      this.log?.info(`client ${normalizeAddress(p.address)}: a new device (${deviceLabel(p.userAgent)}, ${roles.join(' + ')}) joined with a${via === 'owner link' ? 'n' : ''} ${via ?? 'earlier cookie'}`);
      return { kind: 'ok', roles: new Set(roles), setCookie: sessionCookie(added.cookie), device: added.id, credential: 'device' };
    }
    return { kind: 'ok', roles: new Set(roles), setCookie: null, device: null, credential };
  }

  /**
   * Renews the links: a new secret, so every shared link, pairing link and older cookie stops
   * working; devices keep their access (revoke them one by one). Only for a secret kept in the data dir.
   */
  async rotate(): Promise<void> {
    if (this.source !== 'file') throw new Error(this.source === 'token' ? 'the secret is set with --token: change it there' : 'there is no access control to rotate (--no-auth)');
    // What `rotate-links --revoke-devices` wrote a moment ago (before the poll saw it) is kept, and applied.
    const stored = await readSecret(this.file).catch(() => null);
    this.applyDeviceRevocation(stored?.devicesRevokedAt);
    const secret = randomSecret();
    await writeSecret(this.file, { secret, devicesRevokedAt: this.devicesRevokedAt || undefined });
    this.apply(secret);
  }

  /** Picks up a secret written by `npm run rotate-links` while running; true when it changed. */
  async reload(): Promise<boolean> {
    if (this.source !== 'file') return false;
    const stored = await readSecret(this.file);
    if (!stored) return false;
    this.applyDeviceRevocation(stored.devicesRevokedAt);
    if (this.keys.rolesOfToken(stored.secret)) return false;
    this.apply(stored.secret);
    return true;
  }

  /** `rotate-links --revoke-devices` asked, at `time`, for every device that joined before to go. */
  private applyDeviceRevocation(time: number | undefined): void {
    if (time === undefined || time <= this.devicesRevokedAt) return;
    this.devicesRevokedAt = time;
    const n = this.devices.revokeJoinedBefore(time);
    if (n > 0) this.log?.info(`${n} device${n === 1 ? '' : 's'} revoked from the terminal (rotate-links --revoke-devices)`);
  }

  /** Called after every rotation (to close connections made with old credentials). */
  onRotate(listener: () => void): void {
    this.rotateListeners.push(listener);
  }

  private apply(secret: string): void {
    this.keys = new AccessKeys(secret);
    this.pairings.clear();
    for (const l of this.rotateListeners) l();
  }
}

/** Writes a new secret into a data dir (for `npm run rotate-links`); `revokeDevices`: every device that joined so far loses its access too. */
export async function rotateSecretFile(dataDir: string, revokeDevices = false): Promise<string> {
  const file = path.join(dataDir, ACCESS_FILE);
  const before = await readSecret(file).catch(() => null);
  await writeSecret(file, { secret: randomSecret(), devicesRevokedAt: revokeDevices ? Date.now() : before?.devicesRevokedAt });
  return file;
}

/** The Set-Cookie value of a session. */
function sessionCookie(value: string): string {
  return `${COOKIE_NAME}=${value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=${COOKIE_MAX_AGE_S}`;
}

function clearedCookie(): string {
  return `${COOKIE_NAME}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`;
}

/** One cookie's value from a Cookie header (the first one with that name), or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

function roleCode(roles: readonly Role[]): string {
  return (roles.includes('camera') ? 'c' : '') + (roles.includes('viewer') ? 'v' : '');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

interface StoredSecret {
  secret: string;
  /** ms since the epoch: devices that joined before lost their access (`rotate-links --revoke-devices`). */
  devicesRevokedAt?: number | undefined;
}

async function readSecret(file: string): Promise<StoredSecret | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let stored: { secret?: unknown; devicesRevokedAt?: unknown } = {};
  try {
    stored = JSON.parse(text) as typeof stored;
  } catch {
    stored = {};
  }
  const { secret, devicesRevokedAt } = stored ?? {};
  if (typeof secret !== 'string' || !TOKEN_PATTERN.test(secret)) throw new Error(`${file} is damaged; delete it to make new links (old links will stop working)`);
  return { secret, devicesRevokedAt: typeof devicesRevokedAt === 'number' && Number.isFinite(devicesRevokedAt) ? devicesRevokedAt : undefined };
}

/** Writes the secret readable by the owner only, atomically (a crash never leaves half a file). */
async function writeSecret(file: string, stored: StoredSecret): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify({ ...stored, created: new Date().toISOString() }, null, 2)}\n`, 0o600);
}
