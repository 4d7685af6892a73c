import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { qrSvg, renderTrustPage, type TrustPageInput } from '../../src/server/trust-page.ts';

const FINGERPRINT = 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89';

async function input(overrides: Partial<TrustPageInput> = {}): Promise<TrustPageInput> {
  return {
    caFingerprint256: FINGERPRINT,
    links: [
      { address: '192.168.1.23', camera: 'https://192.168.1.23:8443/camera?key=K' },
      { address: 'fd00::2', camera: 'https://[fd00::2]:8443/camera?key=K' },
    ],
    cameraQrSvg: await qrSvg('https://192.168.1.23:8443/camera?key=K'),
    userCertificate: false,
    ...overrides,
  };
}

describe('renderTrustPage', () => {
  it('is a complete, mobile-friendly document with no script or external resources', async () => {
    const html = renderTrustPage(await input());
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<\/html>\n$/);
    assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
    assert.match(html, /<style>/);
    assert.doesNotMatch(html, /<script|<link|<img|\ssrc=|@import|url\(/i);
  });

  it('offers the CA download, its fingerprint and the trust steps', async () => {
    const html = renderTrustPage(await input());
    assert.match(html, /<a class="button" href="\/ca\.crt">Download the certificate<\/a>/);
    // Line breaks only between pairs (<wbr>), so the text reads and copies as the fingerprint itself.
    assert.ok(html.replaceAll('<wbr>', '').includes(`<code>${FINGERPRINT}</code>`));
    assert.match(html, /Encryption &amp; credentials → Install a certificate → CA certificate/);
    assert.match(html, /Advanced → Proceed/);
    assert.match(html, /VPN &amp; Device Management/);
    assert.match(html, /Certificate Trust Settings/);
  });

  it('links the camera for every address, and shows the QR code, to a visitor with a camera link', async () => {
    const html = renderTrustPage(await input());
    for (const href of ['https://192.168.1.23:8443/camera?key=K', 'https://[fd00::2]:8443/camera?key=K']) {
      assert.ok(html.includes(`href="${href}"`), href);
    }
    assert.ok(html.includes('192.168.1.23'));
    assert.ok(html.includes('fd00::2'));
    assert.match(html, /<figure class="qr">\n<svg /);
  });

  it('shows no link and no QR code to a visitor without a camera link', async () => {
    const html = renderTrustPage(await input({ links: null, cameraQrSvg: '', notice: 'This link does not work.' }));
    assert.ok(!html.includes('key=K'));
    assert.ok(!html.includes('<svg'));
    assert.match(html, /open the camera link you were given/);
    assert.match(html, /<p class="notice">This link does not work\.<\/p>/);
    assert.match(html, /\/ca\.crt/, 'the trust steps are still there');
  });

  it('escapes hostile text', async () => {
    const hostile = '<script>alert(1)</script>';
    const html = renderTrustPage(
      await input({
        caFingerprint256: `"><script>alert(2)</script>`,
        links: [
          { address: hostile, camera: `https://x/"><script>alert(3)</script>` },
          { address: 'y', camera: 'javascript:alert(4)' },
        ],
      }),
    );
    assert.doesNotMatch(html, /<script/i);
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(html.includes('href="https://x/&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"'));
    assert.ok(!html.includes('href="javascript:'), 'only http(s) links are clickable');
  });

  it('says there is nothing to install with a user certificate', async () => {
    const html = renderTrustPage(await input({ userCertificate: true, caFingerprint256: '' }));
    assert.ok(!html.includes('/ca.crt'));
    assert.match(html, /no certificate authority to install/);
    assert.ok(html.includes('href="https://192.168.1.23:8443/camera?key=K"'));
  });

  it('copes with no addresses and no QR code', async () => {
    const html = renderTrustPage(await input({ links: [], cameraQrSvg: '' }));
    assert.match(html, /No network address found/);
    assert.ok(!html.includes('<svg'));
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
