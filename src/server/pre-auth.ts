// Connections that have shown no credential yet (a TLS handshake, a keep-alive socket left idle, a
// public page's request) are capped per client address and in total: past either cap a new
// connection is closed at once, so idle sockets from a leaked link, or from anyone who can reach
// the port, cannot use up the server's file descriptors. A connection leaves the count as soon as
// it shows a valid credential (a page or API request, a WebSocket): what already streams is never
// touched, and a person who is let in is never refused for someone else's idle sockets. An address
// that has shown a credential before (a phone or tablet of the house) has a reserve past the total:
// idle sockets from many other addresses cannot keep it out.
import type { Socket } from 'node:net';
import type { Logger } from './log.ts';
import { normalizeAddress } from './rate-limit.ts';

export interface PreAuthLimits {
  /** Connections without a credential yet, from one client address. */
  perAddress: number;
  /** …and from everyone. */
  total: number;
}

/** Addresses remembered as having been let in (a house has far fewer devices). */
const KNOWN_ADDRESSES = 4096;
/** Connections kept for them past the total (the total still bounds what anyone can hold open). */
const KNOWN_RESERVE = 256;

/** Logged at most this often per address (a flood must not flood the log). */
const LOG_SPACING_MS = 10_000;

export class PreAuthLimit {
  private readonly perAddress = new Map<string, number>();
  private total = 0;
  /** Counted connections by "address:port" (a TLS socket and its TCP socket share it), and their client address. */
  private readonly counted = new Map<string, string>();
  private readonly loggedAt = new Map<string, number>();
  /** Addresses that showed a valid credential, least recent first (at most KNOWN_ADDRESSES). */
  private readonly known = new Map<string, true>();

  constructor(
    private readonly limits: PreAuthLimits,
    private readonly log: Logger,
  ) {}

  /** A new TCP connection: counted, or closed at once when over a cap. */
  admit(socket: Socket): void {
    const address = socket.remoteAddress;
    if (address === undefined) {
      socket.destroy();
      return;
    }
    const client = normalizeAddress(address);
    const mine = this.perAddress.get(client) ?? 0;
    const room = this.known.has(client) ? this.limits.total + KNOWN_RESERVE : this.limits.total;
    if (mine >= this.limits.perAddress || this.total >= room) {
      this.refused(client, mine >= this.limits.perAddress ? `${mine} connections without a credential from this address` : `${this.total} connections without a credential in all`);
      socket.destroy();
      return;
    }
    const key = keyOf(socket);
    this.counted.set(key, client);
    this.perAddress.set(client, mine + 1);
    this.total++;
    socket.once('close', () => this.release(key));
  }

  /** The connection carrying this request showed a valid credential: it no longer counts. */
  authenticated(socket: Socket): void {
    const client = this.counted.get(keyOf(socket));
    if (client !== undefined) {
      this.known.delete(client);
      this.known.set(client, true);
      if (this.known.size > KNOWN_ADDRESSES) this.known.delete(this.known.keys().next().value!);
    }
    this.release(keyOf(socket));
  }

  private release(key: string): void {
    const client = this.counted.get(key);
    if (client === undefined) return;
    this.counted.delete(key);
    this.total--;
    const n = (this.perAddress.get(client) ?? 1) - 1;
    if (n > 0) this.perAddress.set(client, n);
    else this.perAddress.delete(client);
  }

  private refused(client: string, why: string): void {
    const now = Date.now();
    if (now - (this.loggedAt.get(client) ?? -Infinity) < LOG_SPACING_MS) return;
    this.loggedAt.set(client, now);
    if (this.loggedAt.size > 1000) this.loggedAt.clear();
    this.log.warn(`client ${client}: connection refused: ${why} (limits: ${this.limits.perAddress} per address, ${this.limits.total} in all)`);
  }
}

function keyOf(socket: Socket): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
}
