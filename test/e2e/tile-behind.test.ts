// A tile says "behind N s" instead of "live" while its picture is more than a second behind the
// camera, and "live" again once it is not: here a camera whose frames were captured 3 s before they
// are sent (as after a long stall on its network), then frames sent as they are captured.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, newContext } from '../helpers/browser.ts';
import { connectChunkCamera, loadChunkFixture, replayChunks, startTestServer } from '../helpers/server.ts';

describe('a tile behind its camera', { timeout: 60_000 }, () => {
  it('says "behind N s" while it is, and "live" once it is not', async () => {
    const server = await startTestServer();
    const browser = await launchChromium();
    const { stream, frames } = await loadChunkFixture('chromium-webcodecs-h264-opus');
    const camera = await connectChunkCamera(server.wsUrl, 'late', 'Late', stream);
    let lagMs = 3000;
    const stopReplay = replayChunks(camera, frames, () => Date.now() - lagMs);
    try {
      const viewer = await (await newContext(browser)).newPage();
      await viewer.goto(server.page('/'));
      await viewer.waitForFunction(() => /^behind [34] s$/.test(document.querySelector('.tile .badge')?.textContent ?? ''), undefined, { timeout: 15_000 });
      const behind = Number(await viewer.getAttribute('.tile', 'data-behind-ms'));
      assert.ok(behind > 2500 && behind < 4500, `behind ${behind} ms`);
      lagMs = 0;
      await viewer.waitForFunction(() => document.querySelector('.tile .badge')?.textContent === 'live', undefined, { timeout: 10_000 });
      assert.equal(await viewer.getAttribute('.tile', 'data-behind-ms'), null);
    } finally {
      stopReplay();
      camera.close();
      await browser.close();
      await server.stop();
    }
  });
});
