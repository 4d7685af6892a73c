// The one catalog of errors the server reports: each code with what it means for people, the
// WebSocket close code when it ends a connection, the HTTP status an API answers it with, whether
// it ends the connection (fatal), and whether a page should reconnect by itself afterwards.
// Pure code (no Node, no DOM), shared by the server and the pages; docs/protocol.md lists them.

/** What one error code means everywhere it is used. */
export interface ErrorSpec {
  /** For people: what went wrong, in general (the message sent names the particulars). */
  readonly meaning: string;
  /** WebSocket close code when the error ends a connection; null: never fatal. */
  readonly close: number | null;
  /** HTTP status for an API answering with this error. */
  readonly http: number;
  /** The error ends the connection that caused it (else it concerns one camera or one request). */
  readonly fatal: boolean;
  /** After a connection closed with it, a page reconnects by itself (else it shows the error and waits for the person). */
  readonly reconnect: boolean;
}

export const ERRORS = {
  BAD_MESSAGE: { meaning: 'a message this server cannot read, or one it does not take any more', close: 4400, http: 400, fatal: true, reconnect: false },
  UNAUTHORIZED: { meaning: 'no valid link: the links were renewed, or none was given', close: 4401, http: 401, fatal: true, reconnect: false },
  FORBIDDEN: { meaning: 'this link does not allow that (watch with a viewer link, publish with a camera link)', close: 4403, http: 403, fatal: true, reconnect: false },
  HELLO_TIMEOUT: { meaning: 'the connection said nothing in time', close: 4408, http: 408, fatal: true, reconnect: true },
  REPLACED: { meaning: 'a newer connection of the same camera took its place', close: 4409, http: 409, fatal: true, reconnect: true },
  ADOPTED: { meaning: 'the owner gave this device the camera it was before: it comes back as that camera', close: 4410, http: 409, fatal: true, reconnect: true },
  CAMERA_TAKEN: { meaning: 'another device registered this camera id (its page keeps the secret): this page takes a new id', close: 4423, http: 409, fatal: true, reconnect: true },
  WRONG_ORDER: { meaning: 'a message that cannot come at this point of the conversation', close: 4412, http: 409, fatal: true, reconnect: true },
  BAD_MEDIA: { meaning: 'media this server cannot read: malformed, or a codec or feature it does not take', close: 4415, http: 415, fatal: true, reconnect: false },
  PROTOCOL_VERSION: { meaning: 'the page is older or newer than the server: reload it', close: 4426, http: 426, fatal: true, reconnect: false },
  LIMIT: { meaning: 'over one of the server\'s limits (messages per second, connections, cameras)', close: 4429, http: 429, fatal: true, reconnect: true },
  TOO_LARGE: { meaning: 'a message larger than the server takes', close: 1009, http: 413, fatal: true, reconnect: true },
  TOO_SLOW: { meaning: 'the connection has not kept up with its stream for long', close: 1013, http: 503, fatal: true, reconnect: true },
  SHUTDOWN: { meaning: 'the server is stopping', close: 1001, http: 503, fatal: true, reconnect: true },
  INTERNAL: { meaning: 'a fault of the server\'s own', close: 1011, http: 500, fatal: true, reconnect: true },
  UNKNOWN_CAMERA: { meaning: 'no camera with that id (it may have just gone away)', close: null, http: 404, fatal: false, reconnect: true },
  VIEWERS_FULL: { meaning: 'the camera has as many viewers as the server allows (--max-viewers)', close: null, http: 429, fatal: false, reconnect: true },
  NO_FORMAT: { meaning: 'the camera\'s stream cannot be played in this browser', close: null, http: 415, fatal: false, reconnect: true },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;
/** Codes that end a connection. */
export type FatalErrorCode = { [C in ErrorCode]: (typeof ERRORS)[C]['fatal'] extends true ? C : never }[ErrorCode];

/** Every code, for schemas. */
export const ERROR_CODES = Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]];

/** WebSocket close codes by error code (fatal ones only). */
export const CLOSE_CODES = Object.fromEntries(
  Object.entries(ERRORS).flatMap(([code, spec]) => (spec.close === null ? [] : [[code, spec.close]])),
) as { readonly [C in FatalErrorCode]: (typeof ERRORS)[C]['close'] };

/** Close codes after which a page does not reconnect by itself. */
export const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set(
  Object.values(ERRORS).flatMap((spec: ErrorSpec) => (spec.close !== null && !spec.reconnect ? [spec.close] : [])),
);

/** A violation of the protocol by the peer; fatal for that one connection. */
export class ProtocolError extends Error {
  constructor(
    readonly code: FatalErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
  /** WebSocket close code for this error. */
  get closeCode(): number {
    return ERRORS[this.code].close;
  }
}
