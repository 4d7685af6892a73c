// What a session (camera or viewer) sees of its connection, and what the connection sees of its
// session: the seam between the socket's plumbing and each role's behaviour.
import type { ServerMessage } from '../../../shared/schemas.ts';
import type { RetentionPool } from '../../core/retention.ts';
import type { Logger } from '../../log.ts';
import type { ConnectionOptions } from './options.ts';
import type { Outbox } from './output.ts';

/** A client address's budgets, shared by its connections. */
export interface Budgets {
  /** Takes one control message, or one keyframe request; false when spent. */
  control(): boolean;
  keyframe(): boolean;
  /** A media message was handled, holding `frames` frames (its bytes were counted as they arrived). */
  media(frames: number): void;
  /** What is kept for joiners of this address's cameras is charged here. */
  readonly retention: RetentionPool;
}

/** What a session uses of its connection. */
export interface Peer {
  readonly address: string;
  readonly opts: ConnectionOptions;
  readonly budgets: Budgets;
  readonly outbox: Outbox;
  readonly log: Logger;
  /** How this connection is named in the log. */
  label: string;
  sendJson(message: ServerMessage): void;
  /** Counts one control message; over the budget, throws (a flood, not a person). */
  spend(): void;
  /** Clock sync: echoes the client's time with the server's, at once. */
  answerClock(sent: number): void;
  /** Closes for an error (the connection's own). */
  fail(err: unknown): void;
  /** Closes with a code and reason (replaced, shutdown): nothing more it sends is read. */
  close(code: number, reason: string): void;
}

/** A connection's behaviour after its hello. */
export interface Session {
  readonly role: 'camera' | 'viewer';
  /** The camera a camera session streams as. */
  readonly cameraId?: string;
  onText(text: string): void;
  onBinary(data: Uint8Array): void;
  /** The connection is ending (closed by either side): leave the hub. Called more than once. */
  leave(): void;
  /** The socket closed. */
  closed(code: number, reason: string): void;
}
