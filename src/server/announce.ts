// What the server prints at start-up: the links per address and a QR code of the setup page.
import QRCode from 'qrcode';
import type { RunningServer } from './server.ts';

const isLoopback = (address: string): boolean => address.startsWith('127.') || address === '::1' || address === 'localhost';

/** Who can get in, and how to lock everyone out again. */
function accessLines(running: RunningServer): string[] {
  switch (running.access.source) {
    case 'open':
      return ['  No access control (--no-auth): anything on this computer may watch and publish.'];
    case 'token':
      return [
        '  Links carry keys made from your --token. A camera link may only publish; a viewer link may watch',
        '  and control the cameras; the owner link (or ?token=<your token> on any page) also opens Settings.',
        '  Change the token to make every link stop working; revoke single devices in Settings.',
      ];
    case 'file':
      return [
        '  Anyone with a link gets in, so share links like keys. A camera link may only publish; a viewer link',
        '  may watch and control the cameras; the owner link also opens Settings (links, devices, cameras).',
        '  Each browser that opens a link becomes a device the owner can revoke in Settings.',
        '  To make every link stop working: npm run rotate-links (add --revoke-devices to withdraw every device too).',
      ];
  }
}

/** The start-up text: where to point a phone and a viewer, and a QR code of the camera link. */
export async function announce(running: RunningServer): Promise<string> {
  const lan = running.links.filter((l) => !isLoopback(l.address));
  const shown = lan.length > 0 ? lan : running.links;
  const column = (title: string, values: string[]): string[] => values.map((v, i) => `  ${(i === 0 ? title : '').padEnd(24)}${v}`);
  const lines = [
    `websocket-webcam is running on HTTPS port ${running.httpsPort}${running.httpPort ? ` (setup helper on HTTP port ${running.httpPort})` : ''}`,
    '',
    ...column('Camera (on a phone):', shown.map((l) => l.camera)),
    '',
    ...column('Viewer (any browser):', shown.map((l) => l.viewer)),
  ];
  if (running.access.source !== 'open') {
    const own = shown[0];
    if (own) lines.push('', ...column('Owner (Settings):', [own.owner]), `  ${''.padEnd(24)}(keep this one to yourself)`);
  }
  const helpers = shown.flatMap((l) => (l.helper ? [l.helper] : []));
  if (helpers.length > 0) lines.push('', ...column('First time on a phone:', helpers), `  ${''.padEnd(24)}(the setup page: the one-time trust step, then the camera)`);
  if (lan.length === 0) lines.push('', '  Only this computer can connect (loopback address). Leave out --host to let phones on your network in.');
  lines.push('', ...accessLines(running));
  if (running.caFingerprint256) lines.push('', `  CA certificate SHA-256: ${running.caFingerprint256}`);
  // The QR code opens the setup page (a new phone does not trust the certificate yet), or the camera link without the helper.
  const first = shown[0];
  const scan = first?.helper ?? first?.camera;
  if (scan) {
    lines.push('', `Scan with a phone to set it up as a camera: ${scan}`);
    lines.push((await QRCode.toString(scan, { type: 'terminal', small: true })).trimEnd());
  }
  return lines.join('\n');
}
