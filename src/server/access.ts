// Who may do what. One access secret (kept in the data dir, or given with --token) from which
// every credential is derived:
//   camera link key  = HMAC(secret, "link:camera")   ?key=…  may publish, nothing else
//   viewer link key  = HMAC(secret, "link:viewer")   ?key=…  may watch and control cameras
//   the secret itself                                ?token=… full access (scripts and tests)
//   session cookie   = roles + HMAC(secret, "cookie:" + roles), set when a link is opened
// A new secret (rotation) invalidates every link and cookie at once.
import { createHash, createHmac, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './core/data-dir.ts';
import path from 'node:path';
import type { Logger } from './log.ts';
import { FailureLimiter, normalizeAddress, type RateLimitOptions, DEFAULT_RATE_LIMIT } from './rate-limit.ts';

export type Role = 'camera' | 'viewer';
export const ROLES: readonly Role[] = ['camera', 'viewer'];

/** What a route or endpoint requires: nothing, one role, or either role. */
export type Access = 'public' | Role | 'member';

/** The session cookie. `__Host-`: browsers only accept it Secure, for Path=/ and this exact host. */
export const COOKIE_NAME = '__Host-webcam';
/** Browsers keep a cookie at most 400 days. */
const COOKIE_MAX_AGE_S = 400 * 24 * 60 * 60;
/** Query parameters that carry credentials (removed from the address bar by the pages). */
export const KEY_PARAM = 'key';
export const TOKEN_PARAM = 'token';
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
  private readonly keys: Record<Role, string>;

  constructor(secret: string) {
    this.secretHash = sha256(secret);
    this.macKey = scryptSync(secret, STRETCH_SALT, 32, STRETCH);
    this.keys = { camera: this.mac('link:camera', 22), viewer: this.mac('link:viewer', 22) };
  }

  /** The `?key=` of a camera or viewer link. */
  linkKey(role: Role): string {
    return this.keys[role];
  }

  /** Roles of a link key, or null when it is not one of ours. */
  rolesOfKey(key: string): Role[] | null {
    for (const role of ROLES) if (safeEqual(key, this.keys[role])) return [role];
    return null;
  }

  /** Full access when `token` is the secret itself. */
  rolesOfToken(token: string): Role[] | null {
    return timingSafeEqual(sha256(token), this.secretHash) ? [...ROLES] : null;
  }

  /** The cookie value for a set of roles. */
  cookieValue(roles: readonly Role[]): string {
    const code = roleCode(roles);
    return `${code}.${this.mac(`cookie:${code}`, 32)}`;
  }

  /** Roles of a cookie value, or null when it was not made with this secret. */
  rolesOfCookie(value: string): Role[] | null {
    const dot = value.indexOf('.');
    const code = value.slice(0, dot);
    if (dot < 0 || !['c', 'v', 'cv'].includes(code)) return null;
    if (!safeEqual(value.slice(dot + 1), this.mac(`cookie:${code}`, 32))) return null;
    return ROLES.filter((r) => code.includes(r[0]!));
  }

  private mac(label: string, chars: number): string {
    return createHmac('sha256', this.macKey).update(label).digest('base64url').slice(0, chars);
  }
}

/** The credentials a request presented. */
export interface Presented {
  /** Client address, for rate limiting. */
  address: string;
  /** `?key=` and `?token=` (null when absent). */
  key: string | null;
  token: string | null;
  /** The raw Cookie header. */
  cookieHeader: string | undefined;
}

/** The outcome of checking a request's credentials. */
export type AuthResult =
  /** `setCookie`: a Set-Cookie header value to send (a link was opened). */
  | { kind: 'ok'; roles: ReadonlySet<Role>; setCookie: string | null }
  /** Nothing valid was presented. `invalid`: something was presented and was wrong (counted). */
  | { kind: 'refused'; invalid: 'link' | 'token' | 'cookie' | null; clearCookie: string | null }
  /** Too many failed attempts from this address. */
  | { kind: 'limited'; retryAfterMs: number };

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
}

/** The access secret, its credentials, and the failed-attempt limiter. */
export class AccessControl {
  readonly limiter: FailureLimiter;
  /** Wrong keys on the plain-HTTP helper: a lock-out of the helper only. */
  private readonly helperLimiter: FailureLimiter;
  private keys: AccessKeys;
  private readonly rotateListeners: (() => void)[] = [];

  private constructor(
    secret: string,
    readonly source: 'file' | 'token' | 'open',
    readonly file: string,
    rateLimit: Partial<RateLimitOptions>,
    private readonly log: Logger | undefined,
  ) {
    this.keys = new AccessKeys(secret);
    this.limiter = new FailureLimiter({ ...DEFAULT_RATE_LIMIT, ...rateLimit });
    this.helperLimiter = new FailureLimiter({ ...DEFAULT_RATE_LIMIT, ...rateLimit });
  }

  /** Reads the secret from the data dir (creating it on first start), or takes --token. */
  static async load(settings: AccessSettings): Promise<{ access: AccessControl; created: boolean }> {
    const file = path.join(settings.dataDir, ACCESS_FILE);
    const make = (secret: string, source: AccessControl['source']) => new AccessControl(secret, source, file, settings.rateLimit ?? {}, settings.log);
    if (settings.open) return { access: make(randomSecret(), 'open'), created: false };
    if (settings.token !== undefined) return { access: make(settings.token, 'token'), created: false };
    const stored = await readSecret(file);
    if (stored) return { access: make(stored, 'file'), created: false };
    const secret = randomSecret();
    await writeSecret(file, secret);
    return { access: make(secret, 'file'), created: true };
  }

  /** True when there is no access control (--no-auth on loopback). */
  get isOpen(): boolean {
    return this.source === 'open';
  }

  /** The `?key=` for a role's link. */
  linkKey(role: Role): string {
    return this.keys.linkKey(role);
  }

  /** Checks what a request presents: link or token (which set a cookie), else the cookie. */
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
    if (this.isOpen) return { kind: 'ok', roles: new Set(ROLES), setCookie: null };
    const cookie = readCookie(p.cookieHeader, COOKIE_NAME);
    if (p.key === null && p.token === null && cookie === null) return { kind: 'refused', invalid: null, clearCookie: null };
    const cookieRoles = cookie === null ? null : this.keys.rolesOfCookie(cookie);
    const clearCookie = cookie !== null && cookieRoles === null ? clearedCookie() : null;
    // While locked out, links and tokens are not even checked, so guessing cannot go on. A device's
    // own cookie (a 192-bit MAC nobody can guess) still works: whoever caused the lock-out, perhaps
    // a page on another site sending wrong links from this device's browser, cannot lock it out.
    const wait = limiter.retryAfterMs(p.address);
    if (wait > 0) {
      if (cookieRoles && p.key === null && p.token === null) return { kind: 'ok', roles: new Set(cookieRoles), setCookie: null };
      return { kind: 'limited', retryAfterMs: wait };
    }
    let linkRoles: Role[] | null = null;
    let invalid: 'link' | 'token' | null = null;
    if (p.token !== null) {
      linkRoles = this.keys.rolesOfToken(p.token);
      if (!linkRoles) invalid = 'token';
    } else if (p.key !== null) {
      linkRoles = this.keys.rolesOfKey(p.key);
      if (!linkRoles) invalid = 'link';
    } else if (clearCookie) {
      // A cookie this server did not issue (another service or instance on this host can set one
      // of the same name; cookies are not bound to a port) is cleared, and never counted as a
      // wrong guess: nobody guesses a 192-bit MAC, and counting it would let that other service
      // lock the device out.
      return { kind: 'refused', invalid: 'cookie', clearCookie };
    }
    if (invalid) {
      const locked = limiter.fail(p.address);
      const who = `client ${normalizeAddress(p.address)}`;
      const helper = limiter === this.helperLimiter;
      this.log?.warn(`${who}: wrong ${invalid === 'link' ? 'link key' : invalid}${helper ? ' on the setup helper' : ''}${locked ? `; too many wrong attempts, locked out${helper ? ' of the helper' : ''} for ${Math.round(limiter.options.lockoutMs / 1000)} s` : ''}`);
      return { kind: 'refused', invalid, clearCookie };
    }
    const roles = new Set<Role>([...(cookieRoles ?? []), ...(linkRoles ?? [])]);
    const setCookie = linkRoles ? sessionCookie(this.keys.cookieValue([...roles])) : null;
    return { kind: 'ok', roles, setCookie };
  }

  /** Makes a new secret: every link and cookie stops working. Only for a secret kept in the data dir. */
  async rotate(): Promise<void> {
    if (this.source !== 'file') throw new Error(this.source === 'token' ? 'the secret is set with --token: change it there' : 'there is no access control to rotate (--no-auth)');
    const secret = randomSecret();
    await writeSecret(this.file, secret);
    this.apply(secret);
  }

  /** Picks up a secret written by `npm run rotate-links` while running; true when it changed. */
  async reload(): Promise<boolean> {
    if (this.source !== 'file') return false;
    const stored = await readSecret(this.file);
    if (!stored || this.keys.rolesOfToken(stored)) return false;
    this.apply(stored);
    return true;
  }

  /** Called after every rotation (to close connections made with old credentials). */
  onRotate(listener: () => void): void {
    this.rotateListeners.push(listener);
  }

  private apply(secret: string): void {
    this.keys = new AccessKeys(secret);
    for (const l of this.rotateListeners) l();
  }
}

/** Writes a new secret into a data dir (for `npm run rotate-links`). */
export async function rotateSecretFile(dataDir: string): Promise<string> {
  const file = path.join(dataDir, ACCESS_FILE);
  await writeSecret(file, randomSecret());
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

async function readSecret(file: string): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let secret: unknown;
  try {
    secret = (JSON.parse(text) as { secret?: unknown }).secret;
  } catch {
    secret = undefined;
  }
  if (typeof secret !== 'string' || !TOKEN_PATTERN.test(secret)) throw new Error(`${file} is damaged; delete it to make new links (old links will stop working)`);
  return secret;
}

/** Writes the secret readable by the owner only, atomically (a crash never leaves half a file). */
async function writeSecret(file: string, secret: string): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify({ secret, created: new Date().toISOString() }, null, 2)}\n`, 0o600);
}
