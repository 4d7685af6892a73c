// The setup page as the helper renders it (its script is tested in a browser: test/e2e/first-run).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SETUP_SCRIPT_PATH, qrSvg, renderTrustPage, type TrustPageInput } from '../../src/server/trust-page.ts';

const FINGERPRINT = 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89';

function input(overrides: Partial<TrustPageInput> = {}): TrustPageInput {
  return { caFingerprint256: FINGERPRINT, httpsPort: 8443, cameraLink: null, userCertificate: false, ...overrides };
}

describe('renderTrustPage', () => {
  it('is a complete, mobile-friendly document whose only script is this server\'s setup script', () => {
    const html = renderTrustPage(input());
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<\/html>\n$/);
    assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
    assert.match(html, /<style>/);
    assert.deepEqual([...html.matchAll(/<script[^>]*>/g)].map((m) => m[0]), [`<script src="${SETUP_SCRIPT_PATH}" defer></script>`.replace('</script>', '')]);
    assert.doesNotMatch(html, /<link|<img|@import|url\(|https?:\/\/(?!www\.w3)/i, 'nothing from elsewhere');
    assert.match(html, /<main data-https-port="8443">/);
  });

  it('puts the status, the button and the shortcut for every browser first; the trust steps below', () => {
    const html = renderTrustPage(input());
    const order = ['id="status"', 'id="open"', 'Just trying it out?', 'Download the certificate'].map((s) => html.indexOf(s));
    assert.ok(order.every((i, k) => i > 0 && (k === 0 || i > order[k - 1]!)), `in this order: ${order.join(', ')}`);
    for (const browser of [/Advanced → Proceed/, /Show Details → visit this website/, /Accept the Risk and Continue/]) assert.match(html, browser);
    assert.match(html, /<a id="open" class="button" href="\/camera">Open the camera<\/a>/, 'no key in the page: the script takes it from the fragment');
  });

  it('offers the CA download, its fingerprint and the trust steps per platform', () => {
    const html = renderTrustPage(input());
    assert.match(html, /<a class="button secondary" href="\/ca\.crt">Download the certificate<\/a>/);
    // Line breaks only between pairs (<wbr>), so the text reads and copies as the fingerprint itself.
    assert.ok(html.replaceAll('<wbr>', '').includes(`<code>${FINGERPRINT}</code>`));
    assert.deepEqual([...html.matchAll(/data-platform="(\w+)"/g)].map((m) => m[1]), ['android', 'ios', 'computer']);
    assert.match(html, /Encryption &amp; credentials → Install a certificate → CA certificate/);
    assert.match(html, /VPN &amp; Device Management/);
    assert.match(html, /Certificate Trust Settings/);
  });

  it('carries a camera link the server checked (an older setup link), for the one who came with it', () => {
    const html = renderTrustPage(input({ cameraLink: 'https://192.168.1.23:8443/camera?key=K' }));
    assert.ok(html.includes('href="https://192.168.1.23:8443/camera?key=K" data-href="https://192.168.1.23:8443/camera?key=K"'));
  });

  it('escapes hostile text, and links only to https', () => {
    const html = renderTrustPage(input({ caFingerprint256: '"><script>alert(2)</script>', notice: '<script>alert(1)</script>', cameraLink: 'https://x/"><script>alert(3)</script>' }));
    assert.equal([...html.matchAll(/<script/g)].length, 1, 'only the setup script');
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(html.includes('href="https://x/&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"'));
    assert.ok(!renderTrustPage(input({ cameraLink: 'javascript:alert(4)' })).includes('javascript:'), 'only https links are used');
  });

  it('says there is nothing to install with a user certificate', () => {
    const html = renderTrustPage(input({ userCertificate: true, caFingerprint256: '' }));
    assert.ok(!html.includes('/ca.crt'));
    assert.match(html, /no certificate authority to install/);
  });
});

describe('qrSvg', () => {
  it('returns SVG markup for the text, the same every time', async () => {
    const svg = await qrSvg('https://192.168.1.23:8443/camera');
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]* viewBox="0 0 \d+ \d+"/);
    assert.match(svg, /<\/svg>\s*$/);
    assert.equal(await qrSvg('https://192.168.1.23:8443/camera'), svg);
    assert.notEqual(await qrSvg('https://192.168.1.24:8443/camera'), svg);
  });
});
