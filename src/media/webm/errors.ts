/** Stable codes of WebmError: malformed input, input that breaks a configured limit, or valid WebM this project cannot take (lacing). */
export type WebmErrorCode = 'WEBM_MALFORMED' | 'WEBM_LIMIT' | 'WEBM_UNSUPPORTED';

/** Thrown by the WebM parser; `code` is stable, `offset` is the absolute stream offset at fault. */
export class WebmError extends Error {
  override readonly name = 'WebmError';

  constructor(
    readonly code: WebmErrorCode,
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at byte ${offset})`);
  }
}
