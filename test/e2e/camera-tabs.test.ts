// The same camera open in two tabs of one browser (a phone whose old tab is still open when its
// QR code is scanned again): both hold the same camera id and secret, so the newer tab's connection
// replaces the older one's. The newer one streams; the older one says why it stopped and does not
// take the camera back (before, the two replaced each other ~4 times a second until one closed).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, newContext } from '../helpers/browser.ts';
import { connectViewer, startTestServer } from '../helpers/server.ts';

describe('one camera in two tabs', { timeout: 90_000 }, () => {
  it('settles at once: the newer tab streams, the older stops and says why', async (t) => {
    const server = await startTestServer();
    const browser = await launchChromium();
    const viewer = await connectViewer(server.wsUrl);
    try {
      const context = await newContext(browser, { width: 412, height: 860 });
      const url = server.page('/camera?autostart=1&name=Porch&audio=0&source=test');
      const older = await context.newPage();
      await older.goto(url);
      await older.waitForFunction(() => document.body.dataset.state === 'live', undefined, { timeout: 20_000 });
      const newer = await context.newPage();
      await newer.goto(url);
      await newer.waitForFunction(() => document.body.dataset.state === 'live', undefined, { timeout: 20_000 });
      await older.waitForFunction(() => document.body.dataset.state === 'elsewhere', undefined, { timeout: 5000 });
      // For 10 s: how often each tab's state changed, and the camera's state as viewers see it.
      const watch = `(() => { window.__states = [document.body.dataset.state]; new MutationObserver(() => window.__states.push(document.body.dataset.state)).observe(document.body, { attributes: true, attributeFilter: ['data-state'] }); })()`;
      await older.evaluate(watch);
      await newer.evaluate(watch);
      const listsBefore = viewer.messages.filter((m) => m.type === 'cameras').length;
      await new Promise((r) => setTimeout(r, 10_000));
      const olderStates = (await older.evaluate('window.__states')) as string[];
      const newerStates = (await newer.evaluate('window.__states')) as string[];
      const porch = viewer.messages.filter((m) => m.type === 'cameras').slice(listsBefore).flatMap((m) => (m.type === 'cameras' ? m.cameras.filter((c) => c.name === 'Porch') : []));
      t.diagnostic(`older tab: ${olderStates.join(' → ')}; newer tab: ${newerStates.join(' → ')}; camera states seen by a viewer: ${[...new Set(porch.map((c) => c.state))].join(', ') || '(no change)'}`);
      assert.deepEqual(olderStates, ['elsewhere'], 'the older tab stays stopped');
      assert.deepEqual(newerStates, ['live'], 'the newer tab streams throughout');
      assert.ok(porch.every((c) => c.state === 'live'), 'viewers see the camera live throughout');
      assert.match((await older.textContent('#message')) ?? '', /streaming from another tab or window of this browser\. Press Start to stream from here instead\./);
      // Start in the older tab takes the camera back; the other tab then stops in turn.
      await older.click('#start');
      await older.waitForFunction(() => document.body.dataset.state === 'live', undefined, { timeout: 20_000 });
      await newer.waitForFunction(() => document.body.dataset.state === 'elsewhere', undefined, { timeout: 5000 });
    } finally {
      viewer.close();
      await browser.close();
      await server.stop();
    }
  });
});
