// Raw HTTPS requests for tests: no redirects followed, self-signed certificates accepted, any
// headers and source address.
import { request } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';

export interface RawResponse {
  status: number;
  body: string;
  /** The body as it came (media, pictures). */
  bytes: Buffer;
  headers: IncomingHttpHeaders;
}

export interface RawOptions {
  method?: string;
  /** Sent as the request path verbatim (for paths `new URL` would normalise). */
  path?: string;
  headers?: Record<string, string>;
  /** Source address, e.g. 127.0.0.2 to be another client on loopback. */
  localAddress?: string;
  /** A request body (POST). */
  body?: string;
}

/** One HTTPS request; resolves with status, body and headers. */
export function fetchRaw(url: string, options: RawOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: options.path ?? u.pathname + u.search,
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        rejectUnauthorized: false,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => {
          const bytes = Buffer.concat(parts);
          resolve({ status: res.statusCode ?? 0, body: bytes.toString(), bytes, headers: res.headers });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
