// What this device may do. The server set a cookie when a link was opened; the link's key (or
// token) is dropped from the address bar so it does not linger in history, bookmarks or screenshots.

export type Role = 'camera' | 'viewer' | 'owner';

/** Query parameters that carry credentials (see src/server/access.ts). */
const CREDENTIAL_PARAMS = ['key', 'token', 'pair'];

/** Removes `?key=` / `?token=` / `?pair=` from the address bar, keeping every other parameter. */
export function dropCredentialsFromAddress(): void {
  const url = new URL(location.href);
  let changed = false;
  for (const p of CREDENTIAL_PARAMS) {
    if (url.searchParams.has(p)) {
      url.searchParams.delete(p);
      changed = true;
    }
  }
  if (changed) history.replaceState(history.state, '', url.pathname + url.search + url.hash);
}

/**
 * The roles this device has (`url`: with a key of its own, for a page that has no cookie), or the server's refusal: its text, and for a lock-out (429) when to
 * ask again; otherwise (401, 403) the cookie is missing or was withdrawn.
 */
export async function fetchAccess(url = '/api/access'): Promise<{ roles: Role[] } | { refused: string; retryAfterMs: number | null }> {
  const res = await fetch(url, { cache: 'no-store' });
  if (res.ok) return (await res.json()) as { roles: Role[] };
  if (res.status === 401 || res.status === 403 || res.status === 429) {
    const retryAfterMs = res.status === 429 ? Number(res.headers.get('Retry-After') ?? '60') * 1000 : null;
    return { refused: (await res.text()).trim(), retryAfterMs };
  }
  throw new Error(`access check failed: HTTP ${res.status}`);
}
