// The camera page as the person at the phone sees it: one state in plain words (Live — nobody
// watching, Live, Paused by a viewer with Resume), the details folded away, "Screen off" for a phone
// on a shelf, a default name from the device; and how long an old phone takes to go live (the
// page's script on a CPU slowed 4×, as Chromium's DevTools throttles it).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, newContext } from '../helpers/browser.ts';
import { connectViewer, startTestServer } from '../helpers/server.ts';

describe('the camera page', { timeout: 90_000 }, () => {
  it('says one state in plain words, folds the details, resumes a pause, turns the screen off; goes live on a slow CPU', async (t) => {
    const server = await startTestServer();
    const browser = await launchChromium();
    const viewer = await connectViewer(server.wsUrl);
    try {
      const context = await newContext(browser, { width: 390, height: 844 });
      const page = await context.newPage();
      const pill = async (): Promise<string> => (await page.textContent('#conn')) ?? '';
      await page.goto(server.page('/camera?source=test&audio=0'));
      assert.equal(await pill(), 'Not started');
      assert.equal(await page.inputValue('#name'), 'Camera', 'a computer is a "Camera"; a phone gets its model or kind (unit-tested)');
      await page.click('#start');
      await page.waitForFunction(() => document.body.dataset.state === 'live', undefined, { timeout: 15_000 });
      await page.waitForFunction(() => document.getElementById('conn')?.textContent === 'Live — nobody watching', undefined, { timeout: 5000 });
      assert.equal(await page.isVisible('#stat-transport'), false, 'the details are folded away');
      assert.ok(await page.isVisible('#stats summary'));

      const id = server.hub.list()[0]!.id;
      viewer.send({ type: 'subscribe', cameraId: id, chunks: true });
      await page.waitForFunction(() => document.getElementById('conn')?.textContent === 'Live', undefined, { timeout: 5000 });

      viewer.send({ type: 'command', cameraId: id, command: 'pause', requestId: 'p1' });
      await page.waitForFunction(() => document.body.dataset.state === 'paused', undefined, { timeout: 5000 });
      assert.equal(await pill(), 'Paused by a viewer');
      assert.ok(await page.isVisible('#resume'));
      await page.click('#resume');
      await page.waitForFunction(() => document.getElementById('conn')?.textContent === 'Live', undefined, { timeout: 5000 });
      await viewer.until(() => server.hub.get(id)?.camera.state === 'live', 'the server sees it live again');
      assert.equal(await page.isVisible('#resume'), false);

      await page.click('#screen-off-button');
      assert.ok(await page.isVisible('#screen-off'), 'a black screen over everything');
      const frames = server.hub.get(id)!.camera;
      const before = viewer.frames.length;
      await viewer.until(() => viewer.frames.length > before + 20, 'frames while the screen is off');
      assert.equal(frames.state, 'live');
      await page.mouse.click(200, 400);
      assert.equal(await page.isVisible('#screen-off'), false, 'a tap wakes it');

      // On a phone and on a laptop used as the camera, the state, the picture and Stop are in view
      // without scrolling (on a wide screen the settings sit beside the picture).
      for (const [width, height] of [[390, 844], [1366, 657], [1920, 969]] as const) {
        await page.setViewportSize({ width, height });
        const stop = await page.locator('#stop').boundingBox();
        const preview = await page.locator('.preview').boundingBox();
        assert.ok(stop && stop.y + stop.height <= height, `${width}×${height}: Stop in view (${JSON.stringify(stop)})`);
        assert.ok(preview && preview.y + preview.height <= height && preview.height > 250, `${width}×${height}: the picture in view (${JSON.stringify(preview)})`);
        assert.equal(await page.evaluate(() => document.documentElement.scrollHeight > innerHeight), false, `${width}×${height}: no scroll`);
      }
      await page.setViewportSize({ width: 390, height: 844 });

      // An old phone: the page on a CPU slowed 4×, from opening the link to live (test pattern, with
      // sound), beside the same at full speed.
      const timeToLive = async (rate: number, name: string): Promise<number> => {
        const slow = await (await newContext(browser, { width: 390, height: 844 })).newPage();
        const cdp = await slow.context().newCDPSession(slow);
        await cdp.send('Emulation.setCPUThrottlingRate', { rate });
        const opened = Date.now();
        await slow.goto(server.page(`/camera?source=test&autostart=1&name=${name}`));
        await slow.waitForFunction(() => document.body.dataset.state === 'live', undefined, { timeout: 30_000 });
        const ms = Date.now() - opened;
        await slow.context().close();
        return ms;
      };
      const full = await timeToLive(1, 'Fast');
      const slowed = await timeToLive(4, 'Old');
      t.diagnostic(`opening the link to live: ${full} ms at full speed, ${slowed} ms with the CPU slowed 4×`);
      assert.ok(slowed < 8000, `${slowed} ms`);
    } finally {
      viewer.close();
      await browser.close();
      await server.stop();
    }
  });
});
