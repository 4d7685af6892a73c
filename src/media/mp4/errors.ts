/** Stable codes of Mp4Error: malformed input, input that breaks a configured limit, or a codec or layout we do not handle. */
export type Mp4ErrorCode = 'MP4_MALFORMED' | 'MP4_LIMIT' | 'MP4_UNSUPPORTED';

/** Thrown by the fragmented-MP4 demuxer; `code` is stable, `offset` is the absolute stream offset at fault. */
export class Mp4Error extends Error {
  override readonly name = 'Mp4Error';

  constructor(
    readonly code: Mp4ErrorCode,
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at byte ${offset})`);
  }
}

/** An MP4_MALFORMED error. */
export function malformed(message: string, offset: number): Mp4Error {
  return new Mp4Error('MP4_MALFORMED', message, offset);
}

/** An MP4_LIMIT error. */
export function limit(message: string, offset: number): Mp4Error {
  return new Mp4Error('MP4_LIMIT', message, offset);
}

/** An MP4_UNSUPPORTED error. */
export function unsupported(message: string, offset: number): Mp4Error {
  return new Mp4Error('MP4_UNSUPPORTED', message, offset);
}
