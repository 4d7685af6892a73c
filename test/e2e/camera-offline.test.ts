// A phone left as a camera that reloads while the server cannot be reached: the service worker's
// copy of the camera page comes up instead of the browser's error page, waits, and goes live by
// itself once the server is back. Installable: the page links a web app manifest.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, newContext } from '../helpers/browser.ts';
import { fetchRaw } from '../helpers/http.ts';
import { startTestServer } from '../helpers/server.ts';

describe('the camera page without the server', { timeout: 90_000 }, () => {
  it('reloads from its service worker while the network is gone, and goes live by itself when it is back', async (t) => {
    const server = await startTestServer();
    // (Chromium registers service workers only where it trusts the certificate: told to here.)
    const browser = await launchChromium(['--ignore-certificate-errors']);
    try {
      const manifest = await fetchRaw(`${server.url}/manifest.webmanifest`);
      assert.equal(manifest.status, 200);
      assert.equal(JSON.parse(manifest.body).start_url, '/camera');
      const context = await newContext(browser, { width: 390, height: 844 });
      const page = await context.newPage();
      await page.goto(server.page('/camera?autostart=1&source=test&audio=0&name=Shelf'));
      await page.waitForFunction(() => document.body.dataset.state === 'live', undefined, { timeout: 15_000 });
      await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
      assert.equal(await page.getAttribute('link[rel="manifest"]', 'href'), '/manifest.webmanifest');
      // (No second load while the server is there: the worker keeps its copy when it installs.)

      await context.setOffline(true);
      await page.reload();
      await page.waitForFunction(() => document.body.dataset.state === 'reconnecting', undefined, { timeout: 15_000 });
      t.diagnostic(`offline reload: "${await page.textContent('#conn')}", ${await page.textContent('#message')}`);
      await context.setOffline(false);
      const back = Date.now();
      await page.waitForFunction(() => document.body.dataset.state === 'live', undefined, { timeout: 15_000 });
      t.diagnostic(`live again ${Date.now() - back} ms after the network came back`);
      assert.ok(Date.now() - back < 5000);
    } finally {
      await browser.close();
      await server.stop();
    }
  });
});
