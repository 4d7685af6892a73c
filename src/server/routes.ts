// HTTP routes of the HTTPS origin (pages, browser code, camera list) and of the plain-HTTP helper.
// Every route is an exact path in a table, and every route says who may use it: no URL ever becomes
// a file path, and a route cannot be added without deciding its access.
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { KEY_PARAM, PAIR_PARAM, TOKEN_PARAM, type Access, type AccessControl, type AuthResult, type Presented, type Role } from './access.ts';
import { PUBLIC_DIR } from './bundler.ts';
import { escapeHtml } from './html.ts';
import type { Hub } from './hub.ts';

/** What a route's handler knows about the request. */
export interface RequestContext {
  /** The request's URL, parsed once by dispatch. */
  url: URL;
  /** Roles the request has (none are looked at for public routes). */
  roles: ReadonlySet<Role>;
  /** Headers to add to the response (a session cookie after a link was opened). */
  headers: Record<string, string>;
  /** The device that asks, if it is one. */
  device: string | null;
  /** A POST's JSON body (null for GET). */
  body: unknown;
  /** The `:id` of a path like `/api/cameras/:id/recordings` (a camera id's characters only); '' if none. */
  id: string;
}

/** One route: exact path → response, and who may ask for it. */
export interface Route {
  /** An exact path; one segment may be `:id`, which matches 1-64 of A-Z a-z 0-9 _ - and nothing else. */
  path: string;
  access: Access;
  /** GET (and HEAD), or POST with a JSON body of at most MAX_POST_BYTES from this origin's pages only. */
  method?: 'GET' | 'POST';
  /** An HTML page: refusals are shown as a page, not as plain text. */
  page?: boolean;
  /**
   * A page other sites may frame (the embed page): their frame may load it, and opening it makes no
   * device (in another site's frame the browser keeps no cookie: the key stays in its address).
   */
  framed?: boolean;
  handle(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void;
}

/** A POST body's bytes at most. */
export const MAX_POST_BYTES = 16 * 1024;

/** Security headers sent with every response. */
const BASE_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;

const PAGE_CSP = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const REFUSAL_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const PLAIN = 'text/plain; charset=utf-8';
const HTML = 'text/html; charset=utf-8';

/** Sends a body with the base headers. */
export function send(res: ServerResponse, status: number, type: string, body: string | Uint8Array, extra: Record<string, string> = {}): void {
  // (A header given as '' is left out: the embed page has no X-Frame-Options.)
  const headers = Object.fromEntries(Object.entries({ ...BASE_HEADERS, 'Content-Type': type, 'Cache-Control': 'no-store', ...extra }).filter(([, v]) => v !== ''));
  res.writeHead(status, headers);
  res.end(body);
}

function staticRoute(urlPath: string, access: Access, type: string, body: string | Uint8Array, extra: Record<string, string> = {}): Route {
  return { path: urlPath, access, page: type === HTML, handle: (_req, res, ctx) => send(res, 200, type, body, { ...extra, ...ctx.headers }) };
}

/** What the request presents: link key, token, pairing code, cookie, and its address; `remember`: a page is opened (a link makes a device). */
export function presented(req: IncomingMessage, url: URL, remember = false): Presented {
  return {
    address: req.socket.remoteAddress ?? '?',
    key: url.searchParams.get(KEY_PARAM),
    token: url.searchParams.get(TOKEN_PARAM),
    pair: url.searchParams.get(PAIR_PARAM),
    cookieHeader: req.headers.cookie,
    remember,
    userAgent: req.headers['user-agent'],
  };
}

/** Why a request was refused, for people: status, title, text and headers. */
export interface Refusal {
  status: number;
  title: string;
  text: string;
  headers: Record<string, string>;
}

/** The refusal for an authentication result that is not enough for `access`, or null when it is. */
export function refusalFor(result: AuthResult, access: Access): Refusal | null {
  if (access === 'public') return null;
  if (result.kind === 'limited') {
    const seconds = Math.ceil(result.retryAfterMs / 1000);
    return { status: 429, title: 'Too many wrong links', text: `Too many attempts with a wrong link from this device. Try again in ${seconds} s.`, headers: { 'Retry-After': String(seconds) } };
  }
  if (result.kind === 'no-room') {
    return result.why === 'full'
      ? { status: 503, title: 'No room for another device', text: 'This server keeps as many devices as it can. Its owner can revoke devices no longer used (Settings), then open the link again.', headers: {} }
      : { status: 429, title: 'Too many new devices', text: 'Too many new devices joined from this network address in the last minutes. Try again in 10 minutes.', headers: { 'Retry-After': '600' } };
  }
  if (result.kind === 'refused') {
    const headers: Record<string, string> = result.clearCookie ? { 'Set-Cookie': result.clearCookie } : {};
    const text =
      result.invalid === 'link' || result.invalid === 'token'
        ? 'This link does not work. Links stop working when the owner of the cameras renews them, and a pairing link works once, for 15 minutes: ask for a new link.'
        : result.invalid === 'cookie'
          ? "This device's access to these cameras was withdrawn by their owner. Open a new link to come back."
          : 'These cameras are private. Open the link you were given: the server shows a camera link and a viewer link (and a QR code) when it starts.';
    return { status: 401, title: 'Invitation needed', text, headers: { ...headers, 'WWW-Authenticate': 'Cookie' } };
  }
  if (access === 'member' ? result.roles.size > 0 : result.roles.has(access)) return null;
  const text =
    access === 'owner'
      ? "Only the cameras' owner may do this: open the owner link the server prints when it starts."
      : access === 'camera'
        ? 'This device was invited to watch, not to be a camera. To use it as a camera, open a camera link.'
        : 'This device was invited as a camera: it may publish, not watch. To watch, open a viewer link.';
  return { status: 403, title: 'Not with this link', text, headers: result.setCookie ? { 'Set-Cookie': result.setCookie } : {} };
}

/**
 * Fetch metadata: another site's page may link here (a top-level navigation), but not load these
 * resources, send credentials with them or guess keys through them (img, script, fetch, frames).
 * Credentials are not checked and failures not counted. Clients that send no such header pass.
 */
export function crossSiteRefusal(req: IncomingMessage, framed = false): Refusal | null {
  const site = req.headers['sec-fetch-site'];
  if (site === undefined || site === 'same-origin' || site === 'none') return null;
  const mode = req.headers['sec-fetch-mode'];
  const dest = req.headers['sec-fetch-dest'];
  if (mode === 'navigate' && (dest === undefined || dest === 'document' || (framed && dest === 'iframe'))) return null;
  return { status: 403, title: 'Not from another site', text: 'Pages of other sites may link here, not load this.', headers: {} };
}

/** The URL of a request, or null when its target does not parse (Node accepts some that URL does not, e.g. `//[`). */
export function requestUrl(req: Pick<IncomingMessage, 'url'>): URL | null {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return null;
  }
}

/** Sends a JSON answer. */
export function sendJson(res: ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}): void {
  send(res, status, 'application/json', JSON.stringify(value), extra);
}

/**
 * A POST route of the owner's whose body `schema` checks: a 400 naming what is wrong, else what
 * `act` answers (200; `{ error }` as 409 or its own `status`; a throw as 500, logged).
 */
export function ownerPost<T>(
  path: string,
  schema: z.ZodType<T>,
  act: (body: T, ctx: RequestContext) => Promise<unknown> | unknown,
  log: { error(message: string, err?: unknown): void },
): Route {
  return {
    path,
    access: 'owner',
    method: 'POST',
    handle: (_req, res, ctx) => {
      const parsed = schema.safeParse(ctx.body);
      if (!parsed.success) return sendJson(res, 400, { error: `bad request: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}` });
      Promise.resolve(act(parsed.data, ctx)).then(
        (answer) => {
          const result = answer as { error: string; status?: number } | object;
          if ('error' in result) sendJson(res, 'status' in result && typeof result.status === 'number' ? result.status : 409, { error: result.error });
          else sendJson(res, 200, result);
        },
        (err: unknown) => {
          log.error(`${path} failed`, err);
          sendJson(res, 500, { error: (err as Error).message });
        },
      );
    },
  };
}

/**
 * A POST changes something: only this server's own pages may send one (a page elsewhere could
 * otherwise make a browser that holds the cookie do it), as JSON (which no plain form can send).
 */
function postRefusal(req: IncomingMessage): Refusal | null {
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  if ((site !== undefined && site !== 'same-origin') || (origin !== undefined && origin !== `https://${req.headers.host ?? ''}`)) {
    return { status: 403, title: 'Not from another site', text: 'Only this server\'s pages may change its settings.', headers: {} };
  }
  if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) return { status: 415, title: 'JSON only', text: 'Send a JSON body (Content-Type: application/json).', headers: {} };
  return null;
}

/** Reads a JSON body of at most MAX_POST_BYTES: the value, or an answer already sent (undefined). */
function readJsonBody(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (status: number | null, text = ''): void => {
      if (done) return;
      done = true;
      if (status === null) {
        try {
          resolve(JSON.parse(Buffer.concat(parts).toString('utf8')) as unknown);
        } catch {
          sendJson(res, 400, { error: 'the body is not JSON' });
          resolve(undefined);
        }
        return;
      }
      sendJson(res, status, { error: text }, { Connection: 'close' });
      // (Once the answer is out: destroyed at once, the peer would mostly see a reset instead.)
      res.once('finish', () => req.destroy());
      resolve(undefined);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.byteLength;
      if (size > MAX_POST_BYTES) finish(413, `the body is larger than ${MAX_POST_BYTES} bytes`);
      else parts.push(chunk);
    });
    req.on('end', () => finish(null));
    req.on('error', () => finish(400, 'the request broke off'));
  });
}

/** Dispatches a request through a route table: 400 for an unparseable target, then see dispatchUrl. */
export function dispatch(routes: Route[], access: AccessControl | null, req: IncomingMessage, res: ServerResponse, authenticated?: () => void): void {
  const url = requestUrl(req);
  if (url) dispatchUrl(routes, access, req, res, url, authenticated);
  else send(res, 400, PLAIN, 'Bad request\n');
}

/**
 * Dispatches a request whose URL is parsed: 405 for non-GET/HEAD, 404 for unknown paths, 401/403/429
 * when access is missing; `authenticated` is called when the request carried a valid credential.
 */
export function dispatchUrl(routes: Route[], access: AccessControl | null, req: IncomingMessage, res: ServerResponse, url: URL, authenticated?: () => void): void {
  let id = '';
  const route = routes.find((r) => {
    if (r.path === url.pathname) return true;
    const at = r.path.indexOf(':id');
    if (at < 0) return false;
    const [before, after] = [r.path.slice(0, at), r.path.slice(at + 3)];
    const p = url.pathname;
    if (!p.startsWith(before) || !p.endsWith(after) || p.length <= before.length + after.length) return false;
    const value = p.slice(before.length, p.length - after.length);
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) return false;
    id = value;
    return true;
  });
  const post = route?.method === 'POST';
  if (post ? req.method !== 'POST' : req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, PLAIN, 'Method not allowed\n', { Allow: post ? 'POST' : 'GET, HEAD' });
    return;
  }
  if (!route) {
    send(res, 404, PLAIN, 'Not found\n');
    return;
  }
  if (route.access === 'public') {
    route.handle(req, res, { url, roles: new Set(), headers: {}, device: null, body: null, id });
    return;
  }
  if (!access) throw new Error(`route ${route.path} needs access control, and this server has none`);
  const crossSite = post ? postRefusal(req) : crossSiteRefusal(req, route.framed === true);
  if (crossSite) {
    sendRefusal(res, crossSite, route.page === true);
    return;
  }
  // A framed page goes by the key in its address alone: a frame of a sibling site (another name of
  // the same domain) would carry this browser's cookie, and with it roles nobody gave that page.
  const asked = presented(req, url, route.page === true && route.framed !== true);
  const result = access.authenticate(route.framed ? { ...asked, cookieHeader: undefined } : asked);
  const refusal = refusalFor(result, route.access);
  if (refusal) {
    sendRefusal(res, refusal, route.page === true, route.framed === true);
    return;
  }
  if (result.kind !== 'ok') throw new Error('unreachable: refusalFor passes only ok results');
  authenticated?.();
  const ctx: RequestContext = { url, roles: result.roles, headers: result.setCookie ? { 'Set-Cookie': result.setCookie } : {}, device: result.device, body: null, id };
  if (!post) {
    route.handle(req, res, ctx);
    return;
  }
  void readJsonBody(req, res)
    .then((body) => {
      if (body !== undefined) route.handle(req, res, { ...ctx, body });
    })
    .catch((err: unknown) => {
      console.error(`${route.path}: internal error`, err);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    });
}

/** Headers that let any site frame a page with this CSP (the embed page): frame-ancestors *, and no X-Frame-Options (a header given as '' is left out). */
function framable(csp: string): Record<string, string> {
  return { 'Content-Security-Policy': csp.replace("frame-ancestors 'none'", 'frame-ancestors *'), 'X-Frame-Options': '' };
}

function sendRefusal(res: ServerResponse, refusal: Refusal, page: boolean, framed = false): void {
  if (!page) {
    send(res, refusal.status, PLAIN, `${refusal.text}\n`, refusal.headers);
    return;
  }
  // (A framed page's refusal shows in its frame: an embed with a key that no longer works says so there.)
  send(res, refusal.status, HTML, refusalPage(refusal), { ...refusal.headers, ...(framed ? framable(REFUSAL_CSP) : { 'Content-Security-Policy': REFUSAL_CSP }) });
}

/** A small page saying why, in the product's style (no script). */
function refusalPage(refusal: Refusal): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(refusal.title)} · websocket-webcam</title>
<link rel="icon" href="/favicon.ico">
<link rel="stylesheet" href="/assets/style.css">
</head>
<body class="refusal-page">
<main>
<section class="refusal">
<h1>${escapeHtml(refusal.title)}</h1>
<p>${escapeHtml(refusal.text)}</p>
</section>
</main>
</body>
</html>
`;
}

/** Everything the HTTPS routes serve. */
export interface AppContent {
  bundles: Map<string, string>;
  caCertDer: Uint8Array | null;
  hub: Hub;
}

/** Which role each browser bundle belongs to (its source map too). */
const BUNDLE_ACCESS: Record<string, Access> = {
  // The setup page comes before any credential.
  '/assets/setup.js': 'public',
  '/assets/service-worker.js': 'camera',
  '/assets/camera.js': 'camera',
  '/assets/viewer.js': 'viewer',
  '/assets/settings.js': 'viewer',
  '/assets/recordings.js': 'viewer',
  // Code only, nothing secret: in another site's frame the embed page's requests carry no cookie.
  '/assets/embed.js': 'public',
  '/assets/audio-capture-worklet.js': 'camera',
  '/assets/audio-playback-worklet.js': 'public',
};

/** Builds the HTTPS route table (pages read once at start-up). */
export async function httpsRoutes(content: AppContent): Promise<Route[]> {
  const file = (name: string) => readFile(path.join(PUBLIC_DIR, name));
  const pageHeaders = { 'Content-Security-Policy': PAGE_CSP, 'Permissions-Policy': 'camera=(self), microphone=(self), screen-wake-lock=(self)' };
  const routes: Route[] = [
    staticRoute('/', 'viewer', HTML, await file('viewer.html'), pageHeaders),
    staticRoute('/camera', 'camera', HTML, await file('camera.html'), pageHeaders),
    // (What it shows is the owner's; another viewer is told so.)
    staticRoute('/settings', 'viewer', HTML, await file('settings.html'), pageHeaders),
    staticRoute('/recordings', 'viewer', HTML, await file('recordings.html'), pageHeaders),
    {
      // One camera for another site's frame (a Home Assistant card, an OBS browser source): /embed?camera=…&key=…
      ...staticRoute('/embed', 'viewer', HTML, await file('embed.html'), { ...pageHeaders, ...framable(PAGE_CSP) }),
      framed: true,
    },
    // Public: the refusal pages use them.
    staticRoute('/assets/style.css', 'public', 'text/css; charset=utf-8', await file('style.css')),
    staticRoute('/favicon.ico', 'public', 'image/svg+xml', await file('icon.svg')),
    // The web app manifest (installable camera page): nothing secret in it, and browsers fetch it without cookies.
    staticRoute('/manifest.webmanifest', 'public', 'application/manifest+json', await file('manifest.webmanifest')),
    {
      path: '/api/cameras',
      access: 'viewer',
      handle: (_req, res, ctx) => send(res, 200, 'application/json', JSON.stringify({ cameras: content.hub.list() }), ctx.headers),
    },
    {
      // Whether this device trusts the certificate: the setup page (plain HTTP, another origin) asks.
      path: '/trust-check',
      access: 'public',
      handle: (_req, res) => send(res, 200, 'application/json', '{"trusted":true}', { 'Access-Control-Allow-Origin': '*', 'Cross-Origin-Resource-Policy': 'cross-origin' }),
    },
    {
      // What this device may do (the pages hide what it may not).
      path: '/api/access',
      access: 'member',
      handle: (_req, res, ctx) => send(res, 200, 'application/json', JSON.stringify({ roles: [...ctx.roles] }), ctx.headers),
    },
  ];
  for (const [url, text] of content.bundles) {
    const access = BUNDLE_ACCESS[url.replace(/\.map$/, '')];
    if (!access) throw new Error(`no access rule for the bundle ${url}`);
    routes.push(staticRoute(url, access, url.endsWith('.map') ? 'application/json' : 'text/javascript; charset=utf-8', text));
  }
  // The camera page's service worker, at the root so that its scope is the whole origin.
  const worker = content.bundles.get('/assets/service-worker.js');
  if (worker !== undefined) routes.push(staticRoute('/service-worker.js', 'camera', 'text/javascript; charset=utf-8', worker));
  if (content.caCertDer) routes.push(caRoute(content.caCertDer));
  return routes;
}

/** The CA certificate as a download phones recognise (public: it is needed before anything else). */
export function caRoute(der: Uint8Array): Route {
  return staticRoute('/ca.crt', 'public', 'application/x-x509-ca-cert', der, { 'Content-Disposition': 'attachment; filename="websocket-webcam-ca.crt"' });
}
