// The viewer's own controls, used as a person would in Chromium: what an empty grid says; the
// layout choice, remembered over a reload; the large view and its ✕ (and Esc); full screen and
// back; the offline row ("since", collapsed and remembered); the owner renaming a camera from its
// menu and forgetting one from the offline row; a note that goes once it stops being true; a wall
// link to a camera that is not there.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, newContext } from '../helpers/browser.ts';
import { connectChunkCamera, loadChunkFixture, replayChunks, startTestServer, type TestClient } from '../helpers/server.ts';

describe('the viewer controls', { timeout: 120_000 }, () => {
  it('empty grid, layout choice, large view, full screen, offline row, rename and forget, notes and an unknown wall link behave as they say', async () => {
    const server = await startTestServer();
    const browser = await launchChromium();
    const { stream, frames } = await loadChunkFixture('chromium-webcodecs-h264-opus');
    const stops: (() => void)[] = [];
    const cameras: TestClient[] = [];
    try {
      const page = await (await newContext(browser, { width: 1366, height: 657 })).newPage();
      const text = (selector: string): Promise<string> => page.evaluate((s) => document.querySelector<HTMLElement>(s)?.innerText ?? '', selector);
      await page.goto(server.page('/'));
      await page.waitForFunction(() => document.querySelector('#conn')?.getAttribute('data-state') === 'live');
      assert.equal(await text('#empty'), 'No cameras yet. Open the camera page on a phone and press Start.');

      for (const [id, name] of [['porch', 'Porch'], ['hall', 'Hall']]) {
        const c = await connectChunkCamera(server.wsUrl, id!, name!, stream);
        cameras.push(c);
        stops.push(replayChunks(c, frames));
      }
      await page.waitForFunction(() => document.querySelectorAll('.tile').length === 2);
      assert.ok(await page.locator('#empty').isHidden());
      const cols = (): Promise<string> => page.evaluate(() => document.getElementById('grid')!.style.getPropertyValue('--cols'));
      assert.equal(await cols(), '2', 'two cameras side by side at 1366×657');

      // The layout choice: one a row, kept over a reload; Auto again.
      await page.selectOption('#layout', '1');
      assert.equal(await cols(), '1');
      await page.reload();
      await page.waitForFunction(() => document.querySelectorAll('.tile').length === 2);
      assert.equal(await page.inputValue('#layout'), '1', 'remembered by this browser');
      assert.equal(await cols(), '1');
      await page.selectOption('#layout', 'auto');
      assert.equal(await cols(), '2');

      // The large view: a click on a picture; its ✕ (and Esc) goes back.
      const porch = page.locator('.tile[data-camera-id="porch"]');
      await porch.locator('.tile-media').click();
      await page.waitForFunction(() => document.body.classList.contains('focused'));
      assert.ok(await porch.locator('.tile-close').isVisible(), 'the large view shows a ✕');
      assert.ok(await page.locator('.tile[data-camera-id="hall"]').isHidden(), 'the other camera makes room');
      const box = await porch.boundingBox();
      // (A 4:3 capture in a 1366×657 window: as tall as the space under the bar.)
      assert.ok(box && box.height > 560 && box.width > 740, `as large as the window allows: ${box?.width}×${box?.height}`);
      await porch.locator('.tile-close').click();
      await page.waitForFunction(() => !document.body.classList.contains('focused'));
      assert.ok(await porch.locator('.tile-close').isHidden());
      await porch.locator('.tile-media').click();
      await page.waitForFunction(() => document.body.classList.contains('focused'));
      await page.keyboard.press('Escape');
      await page.waitForFunction(() => !document.body.classList.contains('focused'));

      // The owner renames a camera from its tile's menu, in a dialog that leaves the tiles playing.
      await porch.locator('.tile-more').click();
      await porch.locator('.menu-rename').click();
      const dialog = page.locator('dialog.owner-dialog');
      assert.equal(await dialog.locator('h2').innerText(), 'Rename “Porch”');
      // (The chunk player's canvas counts the frames it drew.)
      const drawnNow = (): Promise<number> => page.evaluate(() => (document.querySelector('.tile[data-camera-id="porch"] canvas') as unknown as { framesDrawn: number }).framesDrawn);
      const drawn = await drawnNow();
      await dialog.locator('input').fill('Front porch');
      await page.waitForTimeout(500);
      const drawnSince = await drawnNow();
      assert.ok(drawnSince > drawn + 5, `the picture goes on behind the dialog (${drawn} → ${drawnSince} frames in 0.5 s)`);
      await dialog.locator('button', { hasText: 'Save' }).click();
      await page.waitForFunction(() => document.querySelector('.tile[data-camera-id="porch"] .tile-name')?.textContent === 'Front porch');
      assert.ok(await dialog.isHidden());

      // A viewer link's page offers neither (and the server would refuse them: settings.test.ts).
      const viewerPage = await (await newContext(browser, { width: 1366, height: 657 })).newPage();
      await viewerPage.goto(server.links[0]!.viewer);
      await viewerPage.waitForFunction(() => document.querySelectorAll('.tile').length === 2);
      await viewerPage.waitForTimeout(500);
      assert.equal(await viewerPage.locator('.menu-rename:not([hidden])').count(), 0, 'no Rename for a viewer');
      await viewerPage.close();

      // Full screen and back, from the bar.
      await page.click('#fullscreen');
      await page.waitForFunction(() => document.fullscreenElement !== null && document.getElementById('fullscreen')!.textContent === 'Exit full screen');
      await page.click('#fullscreen');
      await page.waitForFunction(() => document.fullscreenElement === null && document.getElementById('fullscreen')!.textContent === 'Full screen');

      // A note says what is true now, and goes once it is not (5 s after the last skip).
      await page.waitForFunction(() => document.querySelector('.tile[data-camera-id="porch"]')?.getAttribute('data-playing') === '1');
      const shownAt = Date.now();
      await page.evaluate(() => (document.querySelector('webcam-player[camera="porch"]') as unknown as { tile: { skipped(n: number): void } }).tile.skipped(12));
      assert.equal(await porch.locator('.tile-note').innerText(), 'Skipped 12 frames to stay live');
      assert.ok(await porch.locator('.tile-note').isVisible());
      await page.waitForFunction(() => document.querySelector<HTMLElement>('.tile[data-camera-id="porch"] .tile-note')!.hidden, undefined, { timeout: 7000 });
      const shownMs = Date.now() - shownAt;
      assert.ok(shownMs > 4500, `shown for ${shownMs} ms (5 s after the last skip)`);
      assert.equal(await porch.getAttribute('data-frames-skipped'), '12', 'the count stays in the menu');

      // A camera that leaves goes to the offline row, with since when; the row folds, and stays folded.
      stops.pop()!();
      cameras.pop()!.close();
      await page.waitForFunction(() => document.querySelectorAll('.tile').length === 1);
      assert.equal(await cols(), '1', 'one camera fills the window');
      assert.equal(await text('#offline summary'), 'Offline · 1');
      // (The time as this browser's locale writes it; then the owner's ✕.)
      assert.match(await text('#offline-list li'), /^Hall · since [^✕]*\d[^✕]*✕$/);
      await page.click('#offline summary');
      assert.equal(await page.evaluate(() => (document.getElementById('offline') as HTMLDetailsElement).open), false);
      // (Kept by the details' toggle event, which comes a moment after the click.)
      await page.waitForFunction(() => localStorage.getItem('websocket-webcam.offlineOpen') === '0');
      await page.reload();
      await page.waitForFunction(() => document.querySelectorAll('.tile').length === 1 && !document.getElementById('offline')!.hidden);
      assert.equal(await page.evaluate(() => (document.getElementById('offline') as HTMLDetailsElement).open), false, 'still folded after a reload');

      // No camera on: the page says so, and where the others are.
      stops.pop()!();
      cameras.pop()!.close();
      await page.waitForFunction(() => document.querySelectorAll('.tile').length === 0);
      assert.equal(await text('#empty'), 'No camera is on right now (2 offline, below).');

      // The owner forgets one from the offline row (its recordings kept: the box left unticked).
      await page.click('#offline summary');
      await page.click('#offline-list button[aria-label="Forget Hall"]');
      assert.match(await dialog.locator('p').first().innerText(), /^Forget “Hall”\?/);
      await dialog.locator('button', { hasText: 'Forget' }).click();
      await page.waitForFunction(() => document.querySelectorAll('#offline-list li').length === 1);
      assert.equal(await text('#empty'), 'No camera is on right now (1 offline, below).');
      assert.match(await text('#offline-list li'), /^Front porch · since/);
      assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'SUMMARY', 'the focus goes to the offline row');

      // A wall link to a camera that is not there: a clear line, not a thin black strip.
      await page.goto(server.page('/?camera=Garage'));
      await page.waitForFunction(() => !document.getElementById('empty')!.hidden);
      assert.equal(await text('#empty'), 'Waiting for camera “Garage”…');
      assert.equal(await page.locator('.tile').count(), 0);
    } finally {
      for (const stop of stops) stop();
      for (const c of cameras) c.close();
      await browser.close();
      await server.stop();
    }
  });
});
