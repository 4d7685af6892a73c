// Who may open a WebSocket: the path, the page's Origin (only this server's own pages), a credential
// granting some role, and a bound on open sockets per client address. A refusal is a plain HTTP
// answer on the upgrade request.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WS_PATH } from '../../../shared/protocol.ts';
import type { AccessControl, Credential, Role } from '../../access.ts';
import type { Logger } from '../../log.ts';
import { normalizeAddress } from '../../rate-limit.ts';
import { presented, refusalFor, requestUrl } from '../../routes.ts';

/** An upgrade let in: the roles its credential grants, and its client address (normalised, for per-address bounds). */
export interface Admitted {
  roles: ReadonlySet<Role>;
  address: string;
  client: string;
  /** The device it is (its sockets close when it is revoked), or null. */
  device: string | null;
  /** What it got in with (sockets not of a device close when the links are renewed). */
  credential: Credential;
}

export class Admission {
  private readonly perAddress = new Map<string, number>();

  constructor(
    private readonly access: AccessControl,
    private readonly log: Logger,
    private readonly maxPerAddress: number,
  ) {}

  /** Checks an upgrade request; refuses it on `socket` (and returns null), or returns who it is. */
  check(req: IncomingMessage, socket: Duplex): Admitted | null {
    const url = requestUrl(req);
    if (!url) return refuse(socket, 400, 'Bad Request', 'bad request line');
    if (url.pathname !== WS_PATH) return refuse(socket, 404, 'Not Found', 'no WebSocket here');
    const address = req.socket.remoteAddress ?? '?';
    // A browser always sends Origin: only pages of this server may open a socket (no cross-site hijacking).
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `https://${req.headers.host ?? ''}`) {
      this.log.warn(`client ${address}: WebSocket refused: Origin ${origin.slice(0, 100)} is not this server`);
      return refuse(socket, 403, 'Forbidden', 'this origin may not connect');
    }
    const result = this.access.authenticate(presented(req, url));
    const refusal = refusalFor(result, 'member');
    if (refusal) {
      // Wrong credentials and lock-outs are logged by AccessControl.
      const text = refusal.status === 429 ? 'Too Many Requests' : refusal.status === 403 ? 'Forbidden' : 'Unauthorized';
      return refuse(socket, refusal.status, text, refusal.text, refusal.headers);
    }
    if (result.kind !== 'ok') return null;
    const client = normalizeAddress(address);
    const open = this.perAddress.get(client) ?? 0;
    if (open >= this.maxPerAddress) {
      this.log.warn(`client ${client}: WebSocket refused: already ${open} open from this address`);
      return refuse(socket, 429, 'Too Many Requests', `too many connections from this address (limit ${this.maxPerAddress})`);
    }
    return { roles: result.roles, address, client, device: result.device, credential: result.credential };
  }

  /** A socket of this client is open (counted once it exists: a handshake that fails never is). */
  opened(client: string): void {
    this.perAddress.set(client, (this.perAddress.get(client) ?? 0) + 1);
  }

  closed(client: string): void {
    const n = (this.perAddress.get(client) ?? 1) - 1;
    if (n > 0) this.perAddress.set(client, n);
    else this.perAddress.delete(client);
  }
}

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
function refuse(socket: Duplex, status: number, statusText: string, text: string, headers: Record<string, string> = {}): null {
  const body = `${text}\n`;
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(`HTTP/1.1 ${status} ${statusText.replace(/[^\x20-\x7e]/g, '')}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  // A peer that never closes its side does not keep the socket.
  const timer = setTimeout(() => socket.destroy(), 2000).unref();
  socket.once('close', () => clearTimeout(timer));
  return null;
}
