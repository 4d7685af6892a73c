// The setup page (plain HTTP, the helper port): the first page a new phone opens. It reads the key
// or pairing code from the URL fragment (never sent over the network, so nobody on the Wi-Fi reads
// it), checks whether this device already trusts the server's certificate by asking the HTTPS
// origin, and then goes straight to the camera page; otherwise it shows the one-time trust step for
// this device's platform and checks again every few seconds, so the phone goes on by itself once
// the certificate is trusted.

const main = document.querySelector('main') as HTMLElement;
const status = document.getElementById('status') as HTMLElement;
const open = document.getElementById('open') as HTMLAnchorElement;
const httpsPort = main.dataset.httpsPort ?? '8443';
// (`hostname` keeps an IPv6 address's brackets.)
const origin = `https://${location.hostname}:${httpsPort}`;

/** Where "Open" goes: the camera page, with the credential from the fragment, if any. */
function target(): { url: string; credential: boolean } {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const key = fragment.get('key');
  const pair = fragment.get('pair');
  const page = '/camera';
  const safe = (v: string | null): v is string => v !== null && /^[A-Za-z0-9_-]{16,64}$/.test(v);
  if (safe(pair)) return { url: `${origin}${page}?pair=${pair}`, credential: true };
  if (safe(key)) return { url: `${origin}${page}?key=${key}`, credential: true };
  // A link the server checked (an older setup link, `?key=` in the query) is already in the button.
  return { url: open.dataset.href || `${origin}/camera`, credential: Boolean(open.dataset.href) };
}

const { url, credential } = target();
open.href = url;
// The key is in the button now: it need not stay in the address bar (nor in screenshots).
if (location.hash) history.replaceState(null, '', location.pathname + location.search);

function say(text: string, state: 'checking' | 'trusted' | 'untrusted'): void {
  status.textContent = text;
  status.dataset.state = state;
}

/** Whether this device trusts the server's certificate: a request to the HTTPS origin fails before any answer when it does not. */
async function trusted(): Promise<boolean> {
  try {
    const res = await fetch(`${origin}/trust-check`, { cache: 'no-store', mode: 'cors' });
    return res.ok;
  } catch {
    return false;
  }
}

// The section for this device's platform is the one open.
const ua = navigator.userAgent;
const platform = /iPhone|iPad|iPod/.test(ua) || (/Macintosh/.test(ua) && navigator.maxTouchPoints > 1) ? 'ios' : /Android/.test(ua) ? 'android' : 'computer';
for (const d of document.querySelectorAll<HTMLDetailsElement>('details[data-platform]')) d.open = d.dataset.platform === platform;

let checks = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
async function check(): Promise<void> {
  clearTimeout(timer);
  if (await trusted()) {
    if (credential) {
      say('This device trusts the server. Opening the camera…', 'trusted');
      location.replace(url);
    } else {
      say('This device trusts the server: open the camera.', 'trusted');
    }
    return;
  }
  say(
    checks === 0
      ? 'This device does not trust the server yet. Do the one-time step below, then come back to this page: it goes on by itself.'
      : 'Still waiting for this device to trust the server (checked again every 3 s).',
    'untrusted',
  );
  checks++;
  timer = setTimeout(() => void check(), document.visibilityState === 'visible' ? 3000 : 10000);
}
// Coming back from the phone's settings: check at once.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && status.dataset.state === 'untrusted') void check();
});
say('Checking whether this device trusts the server…', 'checking');
void check();
