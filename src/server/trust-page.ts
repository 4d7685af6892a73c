// The plain-HTTP helper page a phone opens first: why HTTPS, how to trust the local CA once, and the camera links.
import QRCode from 'qrcode';
import { escapeHtml } from './html.ts';

/** What the helper page shows. */
export interface TrustPageInput {
  /** SHA-256 of the CA certificate as phones show it; ignored when `userCertificate` is true. */
  caFingerprint256: string;
  /**
   * Camera links (with their key) per LAN address, the most useful first; null when the visitor did not
   * come with a camera link. This page is plain HTTP and open to anyone on the network, so it shows a
   * key only to someone who already has it.
   */
  links: { address: string; camera: string }[] | null;
  /** A line shown above the links (e.g. that the link opened does not work). */
  notice?: string;
  /** SVG markup of a QR code of the first camera link, from qrSvg(); inserted as is (it is ours, not user input). */
  cameraQrSvg: string;
  /** True when --cert/--key were given: there is no local CA to install. */
  userCertificate: boolean;
}

/** A complete, self-contained HTML document (inline CSS, no script, no external resources); all inserted text is escaped. */
export function renderTrustPage(input: TrustPageInput): string {
  const first = input.links?.[0];
  const body = [
    `<h1>Use this device as a camera</h1>`,
    input.userCertificate ? userCertificateSection() : trustSections(input.caFingerprint256),
    input.userCertificate ? `<h2>Open the camera</h2>` : `<h2><span class="step">3</span> Open the camera</h2>`,
    input.notice ? `<p class="notice">${escapeHtml(input.notice)}</p>` : '',
    linksSection(input.links),
    first && input.cameraQrSvg ? qrSection(input.cameraQrSvg, first.camera) : '',
  ].join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>websocket-webcam: set up this device</title>
<style>${STYLE}</style>
</head>
<body>
<main>
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

function userCertificateSection(): string {
  return `<p>Browsers only give a page the camera over HTTPS. This server uses the certificate you supplied
(<code>--cert</code>/<code>--key</code>), so there is no certificate authority to install here: if this device
already trusts that certificate, open a camera link below.</p>`;
}

function trustSections(fingerprint: string): string {
  return `<p>Browsers only give a page the camera over HTTPS. This server runs on your own network, so it made its own
certificate authority (CA) to sign its HTTPS certificate. Trust that CA once on this device and the camera page
opens without warnings.</p>

<h2><span class="step">1</span> Download the certificate</h2>
<p><a class="button" href="/ca.crt">Download the certificate</a></p>
<p>Before you trust it, check that its <span class="nowrap">SHA-256</span> fingerprint (shown by your device, and printed by the server when it
starts) is exactly:</p>
<p class="fingerprint"><code>${escapeHtml(fingerprint).replaceAll(':', ':<wbr>')}</code></p>

<h2><span class="step">2</span> Trust it</h2>
<details open>
<summary>Android</summary>
<ol>
<li>Download the certificate above.</li>
<li>Open <b>Settings → Security</b> (on some phones <b>Security &amp; privacy → More security settings</b>)
<b>→ Encryption &amp; credentials → Install a certificate → CA certificate</b>.</li>
<li>Tap <b>Install anyway</b> and pick the downloaded file. Android asks for a screen lock if you have none.</li>
</ol>
<p class="note">Just trying it out? Open the camera link and in Chrome tap <b>Advanced → Proceed</b>; that
works until Chrome forgets the exception. Firefox uses its own list: enable <b>Use third-party CA certificates</b>
in its secret settings (Settings → About Firefox, tap the logo five times).</p>
</details>
<details>
<summary>iPhone and iPad</summary>
<ol>
<li>Open this page in <b>Safari</b>, tap <b>Download the certificate</b> and then <b>Allow</b>.</li>
<li>Open <b>Settings → General → VPN &amp; Device Management</b>, tap the downloaded profile and <b>Install</b>.</li>
<li>Open <b>Settings → General → About → Certificate Trust Settings</b> and turn on full trust for
<b>websocket-webcam local CA</b>.</li>
</ol>
</details>
<details>
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

function linksSection(links: TrustPageInput['links']): string {
  if (links === null) {
    return `<p>Then open the camera link you were given (it ends in <code>/camera?key=…</code>). The server shows
it, with a QR code, when it starts. Only people with a link can use these cameras.</p>`;
  }
  if (links.length === 0) return `<p>No network address found: is this computer connected to a network?</p>`;
  const items = links.map(
    (l) => `<li><span class="address">${escapeHtml(l.address)}</span>
<span class="links">${link(l.camera, 'Open the camera')}</span></li>`,
  );
  return `<ul class="addresses">\n${items.join('\n')}\n</ul>`;
}

function qrSection(svg: string, url: string): string {
  return `<figure class="qr">
${svg}
<figcaption>Scan to open the camera page on another phone:<br><code>${escapeHtml(url)}</code></figcaption>
</figure>`;
}

/** A link, but only to http(s): anything else is shown as text. */
function link(href: string, label: string): string {
  if (!/^https?:\/\//i.test(href)) return `<span class="button disabled">${escapeHtml(label)}</span>`;
  return `<a class="button" href="${escapeHtml(href)}">${escapeHtml(label)}</a>`;
}

const STYLE = `
:root { --fg: #1b1f24; --muted: #59636e; --bg: #f6f8fa; --card: #fff; --line: #d1d9e0; --accent: #0969da; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --card: #151b23; --line: #3d444d; --accent: #4493f8; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 17px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; -webkit-text-size-adjust: 100%; }
main { max-width: 40rem; margin: 0 auto; padding: 1rem 1rem 3rem; }
h1 { font-size: 1.5rem; line-height: 1.25; margin: 0.5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.75rem 0 0.5rem; display: flex; align-items: center; gap: 0.5rem; }
.step { display: inline-grid; place-items: center; width: 1.6rem; height: 1.6rem; border-radius: 50%;
  background: var(--accent); color: #fff; font-size: 0.9rem; }
a { color: var(--accent); }
.button { display: inline-block; padding: 0.6rem 1rem; margin: 0.2rem 0.4rem 0.2rem 0; border-radius: 0.5rem;
  background: var(--accent); color: #fff; text-decoration: none; font-weight: 600; }
.button.disabled { background: var(--line); color: var(--muted); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85em; }
.fingerprint { background: var(--card); border: 1px solid var(--line); border-radius: 0.5rem; padding: 0.6rem 0.8rem;
  overflow-wrap: anywhere; line-height: 1.7; }
details { background: var(--card); border: 1px solid var(--line); border-radius: 0.5rem; padding: 0.5rem 0.9rem;
  margin: 0.5rem 0; }
summary { font-weight: 600; cursor: pointer; padding: 0.2rem 0; }
ol, ul { padding-left: 1.3rem; }
li { margin: 0.3rem 0; }
.nowrap { white-space: nowrap; }
.note { color: var(--muted); font-size: 0.92rem; }
.notice { border-left: 4px solid #d1242f; padding: 0.4rem 0.8rem; background: var(--card); }
.addresses { list-style: none; padding: 0; }
.addresses li { background: var(--card); border: 1px solid var(--line); border-radius: 0.5rem; padding: 0.6rem 0.9rem; }
.address { display: block; font-weight: 600; overflow-wrap: anywhere; }
.qr { margin: 1.5rem 0 0; text-align: center; }
.qr svg { width: min(16rem, 80vw); height: auto; background: #fff; border-radius: 0.5rem; }
.qr figcaption { color: var(--muted); font-size: 0.92rem; overflow-wrap: anywhere; }
`;
