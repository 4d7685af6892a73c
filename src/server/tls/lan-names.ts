// The names and addresses a phone on the LAN may use to reach this machine; the server certificate covers them all.
import os from 'node:os';
import net from 'node:net';

/** Where lanNames() looks; tests pass a fake. */
export interface LanNamesSource {
  hostname(): string;
  networkInterfaces(): NodeJS.Dict<os.NetworkInterfaceInfo[]>;
}

/** 'localhost', the host name and its mDNS `.local` name (lower-case), and every interface address except IPv6 link-local. */
export function lanNames(source: LanNamesSource = os): { dns: string[]; ips: string[] } {
  const dns = new Set<string>(['localhost']);
  const hostname = safe(() => source.hostname(), '').trim().toLowerCase().replace(/\.$/, '');
  if (isDnsName(hostname)) {
    dns.add(hostname);
    // mDNS (Bonjour/Avahi) announces the first label: "laptop.example.com" is "laptop.local".
    const label = hostname.split('.')[0] ?? hostname;
    dns.add(`${label}.local`);
  }

  const ips = new Set<string>();
  const interfaces = safe(() => source.networkInterfaces(), {});
  for (const infos of Object.values(interfaces)) {
    for (const info of infos ?? []) {
      const address = info.address.toLowerCase();
      // Link-local IPv6 (fe80::/10) only works with a zone id ("%wlan0"), which URLs and certificates cannot carry.
      if (net.isIPv6(address) && /^fe[89ab]/.test(address)) continue;
      if (net.isIP(address) === 0) continue;
      ips.add(address);
    }
  }
  return { dns: [...dns], ips: [...ips] };
}

/** A host name a certificate can carry: LDH labels (underscores tolerated), at most 253 characters. */
function isDnsName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/.test(name);
}

// os.networkInterfaces() throws on some platforms (e.g. Android/Termux without permission).
function safe<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}
