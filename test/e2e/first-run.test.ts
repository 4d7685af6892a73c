// The whole first run, as a new user does it, on a fresh data dir: the setup link the terminal's QR
// code opens (plain HTTP, the key in the fragment) → the setup page finds the certificate trusted
// and goes on to the camera page by itself → Start → the camera is live in the owner's viewer. A
// phone that does not trust the certificate yet stays on the setup page, with the button and the
// "just trying it out" shortcut on its first screen, and goes on by itself once it does. A camera
// added with a pairing code from Settings joins the same way; once its device is revoked it is
// refused at once while the first camera streams on. The first phone, opened again in a new browser
// profile, takes its old camera back once the owner says so.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { countFrames, framesInWindows, launchChromium, newContext } from '../helpers/browser.ts';
import { fetchRaw } from '../helpers/http.ts';
import { startTestServer } from '../helpers/server.ts';

const PHONE = { width: 390, height: 844 };
const SMALL_PHONE = { width: 360, height: 640 };

async function live(page: Page): Promise<void> {
  await page.waitForFunction(() => document.body.dataset.state === 'live', undefined, { timeout: 20_000 });
}

describe('first run', { timeout: 120_000 }, () => {
  it('setup link → camera live → seen in the viewer; a paired camera, revoked, is refused while the first streams on', async (t) => {
    const server = await startTestServer({}, { token: null });
    const browser = await launchChromium();
    try {
      const setup = server.links[0]!.helper!;
      assert.match(setup, /^http:\/\/127\.0\.0\.1:\d+\/#key=[A-Za-z0-9_-]{22}$/, 'the key rides in the fragment, never in a plain-HTTP query');

      // A phone that does not trust the certificate yet: it stays, and says what to do.
      const untrusting = await browser.newContext({ viewport: SMALL_PHONE, permissions: ['camera', 'microphone'] });
      const waiting = await untrusting.newPage();
      await waiting.goto(setup);
      await waiting.waitForFunction(() => document.getElementById('status')?.dataset.state === 'untrusted', undefined, { timeout: 10_000 });
      assert.match((await waiting.textContent('#status')) ?? '', /does not trust the server yet/);
      for (const selector of ['#open', '.note']) {
        const box = (await waiting.locator(selector).first().boundingBox())!;
        assert.ok(box.y + box.height <= SMALL_PHONE.height, `${selector} is on the first screen of a 360×640 phone (bottom at ${Math.round(box.y + box.height)})`);
      }
      assert.match((await waiting.locator('#open').getAttribute('href')) ?? '', /^https:\/\/127\.0\.0\.1:\d+\/camera\?key=/);
      assert.equal(new URL(waiting.url()).hash, '', 'the key leaves the address bar');
      assert.equal(await waiting.locator('details[data-platform="computer"]').evaluate((d) => (d as HTMLDetailsElement).open), true, "the visitor's platform is the section open");
      await waiting.screenshot({ path: '.tmp/shots/setup-untrusted-360.png' });
      await untrusting.close();

      // A phone that trusts it: straight on to the camera page.
      const phone = await newContext(browser, PHONE);
      const camera = await phone.newPage();
      const started = Date.now();
      await camera.goto(setup);
      await camera.waitForURL(/^https:\/\/127\.0\.0\.1:\d+\/camera$/, { timeout: 10_000 });
      t.diagnostic(`setup page → camera page in ${Date.now() - started} ms`);
      await camera.fill('#name', 'Porch');
      await camera.click('#start');
      await live(camera);

      // The owner watches.
      const owner = await newContext(browser, { width: 1366, height: 657 });
      const viewer = await owner.newPage();
      await viewer.goto(server.links[0]!.owner);
      await viewer.waitForSelector('.tile[title="Porch"][data-playing]', { timeout: 20_000 });
      t.diagnostic(`fresh data dir to the camera playing in the viewer: ${Date.now() - started} ms`);

      // Settings: a pairing code for a second camera.
      const settings = await owner.newPage();
      await settings.goto(`${server.url}/settings`);
      await settings.click('#pair-camera');
      await settings.waitForSelector('#pairing:not([hidden])');
      const pairing = (await settings.locator('#pairing-link').getAttribute('href'))!;
      assert.match(pairing, /^http:\/\/127\.0\.0\.1:\d+\/#pair=[A-Za-z0-9_-]{22}$/, 'through the setup page, the code in the fragment');
      const second = await (await newContext(browser, PHONE)).newPage();
      await second.goto(pairing);
      await second.waitForURL(/\/camera$/, { timeout: 10_000 });
      await second.fill('#name', 'Garage');
      await second.click('#start');
      await live(second);
      await viewer.waitForSelector('.tile[title="Garage"][data-playing]', { timeout: 20_000 });

      // Revoke the second camera's device: refused at once, the first streams on.
      await settings.reload();
      const row = settings.locator('#device-list li', { hasText: 'Garage' });
      settings.once('dialog', (d) => void d.accept());
      const revokedAt = Date.now();
      await row.getByRole('button', { name: /Revoke/ }).click();
      await second.waitForFunction(() => document.body.dataset.state !== 'live', undefined, { timeout: 5000 });
      t.diagnostic(`the revoked camera's page left "live" ${Date.now() - revokedAt} ms after the click`);
      assert.match((await second.textContent('#message')) ?? '', /withdrawn/);
      await viewer.waitForFunction(() => !document.querySelector('.tile[title="Garage"]'), undefined, { timeout: 5000 });
      // (Only Porch is left on the page; the page in front, as the owner would look at it.)
      await viewer.bringToFront();
      await countFrames(viewer);
      const windows = await framesInWindows(viewer, 20, 1500);
      assert.ok(windows.some((n) => n >= 20), `Porch streams on: ${windows.join(', ')} frames in 1.5 s windows`);
      const cookies = await second.context().cookies();
      const page = await fetchRaw(`${server.url}/camera`, { headers: { Cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; ') } });
      assert.equal(page.status, 401, 'its cookie is refused');

      // Porch's phone, opened again in a new browser profile: a new camera asking for the name
      // "Porch" while Porch is offline. The owner lets it take Porch's place.
      const porchId = await camera.evaluate(() => localStorage.getItem('websocket-webcam.cameraId'));
      await camera.context().close();
      await viewer.waitForFunction(() => !document.querySelector('.tile[title="Porch"]'), undefined, { timeout: 10_000 });
      const reopened = await (await newContext(browser, PHONE)).newPage();
      await reopened.goto(setup);
      await reopened.waitForURL(/\/camera$/, { timeout: 10_000 });
      await reopened.fill('#name', 'Porch');
      await reopened.click('#start');
      await live(reopened);
      assert.equal(await reopened.getAttribute('body', 'data-camera-name'), 'Porch 2');
      await settings.reload();
      await settings.waitForSelector('#adoptions:not([hidden])');
      await settings.screenshot({ path: '.tmp/shots/settings-adoption.png' });
      await settings.getByRole('button', { name: 'It is Porch: replace' }).click();
      await reopened.waitForFunction(() => document.body.dataset.cameraName === 'Porch' && document.body.dataset.state === 'live', undefined, { timeout: 10_000 });
      assert.equal(await reopened.evaluate(() => localStorage.getItem('websocket-webcam.cameraId')), porchId, 'it is Porch again');
      await viewer.waitForSelector('.tile[title="Porch"][data-playing]', { timeout: 20_000 });
      assert.equal(await viewer.locator('.tile').count(), 1, 'one Porch, no "Porch 2"');
    } finally {
      await browser.close();
      await server.stop();
    }
  });
});
