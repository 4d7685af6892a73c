// A tile says "behind N s" instead of "live" while its picture is more than a second behind the
// camera, and "live" again once it is not: here a camera whose frames were captured 3 s before they
// are sent (as after a long stall on its network), then frames sent as they are captured.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, newContext } from '../helpers/browser.ts';
import { connectChunkCamera, loadChunkFixture, replayChunks, startTestServer } from '../helpers/server.ts';

describe('a tile behind its camera', { timeout: 90_000 }, () => {
  it('says "behind N s" while it is, and "live" once it is not; far behind, it re-joins once', async () => {
    const server = await startTestServer();
    const browser = await launchChromium();
    const { stream, frames } = await loadChunkFixture('chromium-webcodecs-h264-opus');
    const camera = await connectChunkCamera(server.wsUrl, 'late', 'Late', stream);
    let lagMs = 3000;
    const stopReplay = replayChunks(camera, frames, () => Date.now() - lagMs);
    try {
      const viewer = await (await newContext(browser)).newPage();
      const rejoins: string[] = [];
      viewer.on('console', (m) => {
        if (/re-joining \(.* behind the camera\)/.test(m.text())) rejoins.push(m.text());
      });
      await viewer.goto(server.page('/'));
      await viewer.waitForFunction(() => /^behind [34] s$/.test(document.querySelector('.tile .badge')?.textContent ?? ''), undefined, { timeout: 15_000 });
      // The tile's menu from the keyboard: ⋯, then ↑ ↓ between its items, Esc back to ⋯.
      await viewer.focus('.tile-more');
      await viewer.keyboard.press('Enter');
      const focused = (): Promise<string> => viewer.evaluate(() => document.activeElement?.className ?? '');
      assert.equal(await focused(), 'menu-sound');
      await viewer.keyboard.press('ArrowDown');
      assert.equal(await focused(), 'menu-toggle');
      await viewer.keyboard.press('End');
      assert.equal(await focused(), 'menu-recordings');
      await viewer.keyboard.press('ArrowUp');
      assert.equal(await focused(), 'menu-snapshot');
      await viewer.keyboard.press('End');
      await viewer.keyboard.press('ArrowDown');
      assert.equal(await focused(), 'menu-sound', 'round again');
      await viewer.keyboard.press('Escape');
      assert.equal(await focused(), 'tile-more');
      assert.ok(await viewer.locator('.tile-menu').isHidden());
      const behind = Number(await viewer.getAttribute('.tile', 'data-behind-ms'));
      assert.ok(behind > 2500 && behind < 4500, `behind ${behind} ms`);
      lagMs = 0;
      await viewer.waitForFunction(() => document.querySelector('.tile .badge')?.textContent === 'live', undefined, { timeout: 10_000 });
      assert.equal(await viewer.getAttribute('.tile', 'data-behind-ms'), null);
      assert.deepEqual(rejoins, [], 'not far enough behind to re-join');
      // Far behind (6 s) while frames keep coming: the tile re-joins from the newest keyframe, once
      // (here the camera's own times are late, so it stays "behind" and says so, without re-joining again and again).
      lagMs = 6000;
      await viewer.waitForFunction(() => /^behind [567] s$/.test(document.querySelector('.tile .badge')?.textContent ?? ''), undefined, { timeout: 15_000 });
      for (let i = 0; i < 50 && rejoins.length === 0; i++) await viewer.waitForTimeout(100);
      await viewer.waitForTimeout(4000);
      assert.equal(rejoins.length, 1, rejoins.join(' | '));
    } finally {
      stopReplay();
      camera.close();
      await browser.close();
      await server.stop();
    }
  });
});
