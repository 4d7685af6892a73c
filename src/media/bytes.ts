// Byte-array helpers shared by the media code and the pages. Pure: no Node or DOM imports.

/** Bytes to overwrite in what was already written (a file's header, filled in at its end). */
export interface Patch {
  at: number;
  bytes: Uint8Array;
}

/** One array holding `parts` back to back. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
