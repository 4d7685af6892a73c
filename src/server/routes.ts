// HTTP routes of the HTTPS origin (pages, browser code, camera list) and of the plain-HTTP helper.
// Every route is an exact path in a table: no URL ever becomes a file path.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PUBLIC_DIR } from './bundler.ts';
import type { Hub } from './hub.ts';

/** One route: exact path → response. */
export interface Route {
  path: string;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

/** Security headers sent with every response. */
const BASE_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
} as const;

const PAGE_CSP = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** Sends a body with the base headers. */
export function send(res: ServerResponse, status: number, type: string, body: string | Uint8Array, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...BASE_HEADERS, 'Content-Type': type, 'Cache-Control': 'no-store', ...extra });
  res.end(body);
}

function staticRoute(urlPath: string, type: string, body: string | Uint8Array, extra: Record<string, string> = {}): Route {
  return { path: urlPath, handle: (_req, res) => send(res, 200, type, body, extra) };
}

/** Dispatches a request through a route table: 405 for non-GET/HEAD, 404 for unknown paths. */
export function dispatch(routes: Route[], req: IncomingMessage, res: ServerResponse): void {
  let pathname: string;
  try {
    pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    send(res, 400, 'text/plain; charset=utf-8', 'Bad request\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'text/plain; charset=utf-8', 'Method not allowed\n', { Allow: 'GET, HEAD' });
    return;
  }
  const route = routes.find((r) => r.path === pathname);
  if (!route) {
    send(res, 404, 'text/plain; charset=utf-8', 'Not found\n');
    return;
  }
  route.handle(req, res);
}

/** Everything the HTTPS routes serve. */
export interface AppContent {
  bundles: Map<string, string>;
  caCertDer: Uint8Array | null;
  hub: Hub;
}

/** Builds the HTTPS route table (pages read once at start-up). */
export async function httpsRoutes(content: AppContent): Promise<Route[]> {
  const file = (name: string) => readFile(path.join(PUBLIC_DIR, name));
  const pageHeaders = { 'Content-Security-Policy': PAGE_CSP, 'Permissions-Policy': 'camera=(self), microphone=(self), screen-wake-lock=(self)' };
  const html = 'text/html; charset=utf-8';
  const routes: Route[] = [
    staticRoute('/', html, await file('viewer.html'), pageHeaders),
    staticRoute('/camera', html, await file('camera.html'), pageHeaders),
    staticRoute('/assets/style.css', 'text/css; charset=utf-8', await file('style.css')),
    staticRoute('/favicon.ico', 'image/svg+xml', await file('icon.svg')),
    {
      path: '/api/cameras',
      handle: (_req, res) => send(res, 200, 'application/json', JSON.stringify({ cameras: content.hub.list() })),
    },
  ];
  for (const [url, text] of content.bundles) routes.push(staticRoute(url, url.endsWith('.map') ? 'application/json' : 'text/javascript; charset=utf-8', text));
  if (content.caCertDer) routes.push(caRoute(content.caCertDer));
  return routes;
}

/** The CA certificate as a download phones recognise. */
export function caRoute(der: Uint8Array): Route {
  return staticRoute('/ca.crt', 'application/x-x509-ca-cert', der, { 'Content-Disposition': 'attachment; filename="websocket-webcam-ca.crt"' });
}
