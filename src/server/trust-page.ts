// The setup page: the plain-HTTP page a phone opens first (the terminal's QR code, the Settings'
// pairing codes). One phone screen: whether this device trusts the server yet, the button that
// opens the camera, the "just trying it out" shortcut for every browser; below it, the one-time
// trust step for each platform (the visitor's open). Its script (src/client/setup/) reads the key
// or pairing code from the URL fragment, which never crosses the network, checks the HTTPS origin,
// and goes on to the camera page by itself once the certificate is trusted.
import QRCode from 'qrcode';
import { escapeHtml } from './html.ts';

/** What the setup page shows. */
export interface TrustPageInput {
  /** SHA-256 of the CA certificate as phones show it; ignored when `userCertificate` is true. */
  caFingerprint256: string;
  /** The HTTPS port (the page's script opens the camera there, on the host the page was reached at). */
  httpsPort: number;
  /**
   * A camera link the server checked (an older setup link with `?key=` in its query), or null. This
   * page is plain HTTP and open to anyone on the network, so it carries a key only for whoever came
   * with it; new setup links keep the key in the fragment, which the server never sees.
   */
  cameraLink: string | null;
  /** A line shown under the button (e.g. that the link opened does not work). */
  notice?: string;
  /** True when --cert/--key were given: there is no local CA to install. */
  userCertificate: boolean;
}

/** The setup page's only script, served by the helper at this path. */
export const SETUP_SCRIPT_PATH = '/setup.js';

/** A complete HTML document (inline CSS, one script of this server's, no external resources); all inserted text is escaped. */
export function renderTrustPage(input: TrustPageInput): string {
  const link = input.cameraLink !== null && /^https:\/\//i.test(input.cameraLink) ? input.cameraLink : null;
  const body = [
    `<h1>Set up this device as a camera</h1>`,
    `<p id="status" class="status" role="status" data-state="checking">Checking whether this device trusts the server…</p>`,
    `<noscript><p class="status">With scripts off this page cannot check: if the certificate is trusted already, open the camera.</p></noscript>`,
    // Without a key from the link, the helper sends /camera on to the HTTPS origin (a device that joined before has its cookie there).
    `<p class="main-action"><a id="open" class="button" href="${escapeHtml(link ?? '/camera')}"${link ? ` data-href="${escapeHtml(link)}"` : ''}>Open the camera</a></p>`,
    input.notice ? `<p class="notice">${escapeHtml(input.notice)}</p>` : '',
    input.userCertificate ? '' : shortcut(),
    input.userCertificate ? userCertificateSection() : trustSections(input.caFingerprint256),
  ].join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>websocket-webcam: set up this device</title>
<style>${STYLE}</style>
<script src="${SETUP_SCRIPT_PATH}" defer></script>
</head>
<body>
<main data-https-port="${Number(input.httpsPort)}">
${body}
</main>
</body>
</html>
`;
}

/** SVG markup of a QR code for `text` (error correction M: still scans from a screen with glare). */
export function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

function shortcut(): string {
  return `<p class="note"><b>Just trying it out?</b> Open the camera and accept the browser's warning:
<b>Advanced → Proceed</b> (Chrome, Edge, Samsung Internet), <b>Show Details → visit this website</b> (Safari),
<b>Advanced → Accept the Risk and Continue</b> (Firefox). The browser forgets that after a while, and a phone left
as a camera needs the step below to come back by itself after a restart.</p>`;
}

function userCertificateSection(): string {
  return `<p>Browsers only give a page the camera over HTTPS. This server uses the certificate you supplied
(<code>--cert</code>/<code>--key</code>), so there is no certificate authority to install here: if this device
trusts that certificate, the camera opens.</p>`;
}

function trustSections(fingerprint: string): string {
  return `<h2>Once per device: trust this server</h2>
<p>Browsers only give a page the camera over HTTPS. This server, on your own network, signs its HTTPS
certificate with a certificate authority (CA) of its own: trust it once on this device.</p>
<p><a class="button secondary" href="/ca.crt">Download the certificate</a></p>
<details class="fingerprint-check">
<summary>Check its fingerprint first</summary>
<p>Its <span class="nowrap">SHA-256</span> fingerprint (shown by your device, and printed by the server when it starts) must be exactly:</p>
<p class="fingerprint"><code>${escapeHtml(fingerprint).replaceAll(':', ':<wbr>')}</code></p>
</details>
<details data-platform="android">
<summary>Android</summary>
<ol>
<li>Download the certificate above.</li>
<li>Open <b>Settings → Security</b> (on some phones <b>Security &amp; privacy → More security settings</b>)
<b>→ Encryption &amp; credentials → Install a certificate → CA certificate</b>.</li>
<li>Tap <b>Install anyway</b> and pick the downloaded file. Android asks for a screen lock if you have none.</li>
<li>Come back to this page: it opens the camera by itself.</li>
</ol>
<p class="note">Firefox on Android uses its own list: enable <b>Use third-party CA certificates</b> in its secret
settings (Settings → About Firefox, tap the logo five times).</p>
</details>
<details data-platform="ios">
<summary>iPhone and iPad</summary>
<ol>
<li>Open this page in <b>Safari</b>, tap <b>Download the certificate</b> and then <b>Allow</b>.</li>
<li>Open <b>Settings → General → VPN &amp; Device Management</b>, tap the downloaded profile and <b>Install</b>.</li>
<li>Open <b>Settings → General → About → Certificate Trust Settings</b> and turn on full trust for
<b>websocket-webcam local CA</b>.</li>
<li>Come back to this page: it opens the camera by itself.</li>
</ol>
</details>
<details data-platform="computer">
<summary>Computers</summary>
<ul>
<li><b>Windows</b> (Chrome, Edge): open the downloaded file → <b>Install Certificate</b> → place it in
<b>Trusted Root Certification Authorities</b>.</li>
<li><b>macOS</b> (Safari, Chrome): open the file in Keychain Access, double-click the certificate, and under
<b>Trust</b> choose <b>Always Trust</b>.</li>
<li><b>Linux</b> (Chrome): <b>Settings → Privacy and security → Security → Manage certificates → Authorities →
Import</b>, and tick <b>Trust this certificate for identifying websites</b>.</li>
<li><b>Firefox</b> (everywhere): <b>Settings → Privacy &amp; Security → Certificates → View Certificates →
Authorities → Import</b>, and tick <b>Trust this CA to identify websites</b>.</li>
</ul>
</details>`;
}

const STYLE = `
:root { --fg: #1b1f24; --muted: #59636e; --bg: #f6f8fa; --card: #fff; --line: #d1d9e0; --accent: #0969da; --ok: #1a7f37; --warn: #9a6700; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --card: #151b23; --line: #3d444d; --accent: #4493f8; --ok: #3fb950; --warn: #d29922; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; -webkit-text-size-adjust: 100%; }
main { max-width: 40rem; margin: 0 auto; padding: 0.75rem 1rem 3rem; }
h1 { font-size: 1.35rem; line-height: 1.25; margin: 0.25rem 0 0.75rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 0.4rem; }
a { color: var(--accent); }
.status { margin: 0 0 0.75rem; padding: 0.55rem 0.8rem; border-radius: 0.5rem; background: var(--card); border: 1px solid var(--line); }
.status[data-state="trusted"] { border-color: var(--ok); color: var(--ok); }
.status[data-state="untrusted"] { border-color: var(--warn); }
.main-action { margin: 0 0 0.75rem; }
.button { display: inline-block; padding: 0.65rem 1.1rem; border-radius: 0.5rem; background: var(--accent); color: #fff;
  text-decoration: none; font-weight: 600; font-size: 1.05rem; }
#open { display: block; text-align: center; }
.button.secondary { font-size: 0.95rem; padding: 0.5rem 0.9rem; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85em; }
.fingerprint { background: var(--card); border: 1px solid var(--line); border-radius: 0.5rem; padding: 0.5rem 0.7rem;
  overflow-wrap: anywhere; line-height: 1.7; }
details { background: var(--card); border: 1px solid var(--line); border-radius: 0.5rem; padding: 0.4rem 0.9rem; margin: 0.5rem 0; }
summary { font-weight: 600; cursor: pointer; padding: 0.2rem 0; }
ol, ul { padding-left: 1.3rem; }
li { margin: 0.3rem 0; }
.nowrap { white-space: nowrap; }
.note { color: var(--muted); font-size: 0.9rem; margin: 0 0 0.5rem; }
.notice { border-left: 4px solid #d1242f; padding: 0.4rem 0.8rem; background: var(--card); }
`;
