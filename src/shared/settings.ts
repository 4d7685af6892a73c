// What the owner's Settings API answers (src/server/settings/api.ts), as the Settings page reads it.

/** The links of one address the server can be reached at. */
export interface LinksOfAddress {
  address: string;
  camera: string;
  viewer: string;
  owner: string;
  /** The plain-HTTP setup page (null without the helper). */
  helper: string | null;
}

/** What GET /api/settings answers. */
export interface SettingsView {
  /** Whether the links can be renewed here (not with --token or --no-auth). */
  renewable: boolean;
  links: LinksOfAddress[];
  /** QR codes (SVG data URLs) of the first address's camera, viewer and setup links. */
  qr: { camera: string; viewer: string; setup: string | null };
  devices: {
    id: string;
    label: string;
    roles: string[];
    via: string;
    created: number;
    lastSeen: number;
    address: string;
    /** A socket of it is open now. */
    online: boolean;
    /** The camera it streams as (its name now), if it ever did. */
    camera: string | null;
    /** The device that asks. */
    you: boolean;
  }[];
  /** New cameras that say they are an offline one (perhaps the same phone in a new browser profile): may each take its place? */
  adoptions: { id: string; name: string; on: boolean; earlierId: string; earlierName: string; earlierOfflineSince: number | null; at: number }[];
}

/** "with a camera link", "with an owner link": how a device joined, for people (the page) and the log. */
export function joinedWith(via: string): string {
  return `with ${/^[aeiou]/i.test(via) ? 'an' : 'a'} ${via}`;
}
