// One camera in another site's frame (a Home Assistant iframe card, an OBS browser source, any page
// of the owner's): /embed?camera=<name>&key=<viewer key> is a <webcam-player> alone; the browser
// sends no cookie there, so the key in its address opens the WebSocket. The app's own pages stay
// unframable.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { countFrames, framesInWindows, launchChromium, newContext } from '../helpers/browser.ts';
import { fetchRaw } from '../helpers/http.ts';
import { healthyStream, startTestServer } from '../helpers/server.ts';

describe('the embed page', { timeout: 90_000 }, () => {
  it('plays one camera in another site\'s frame, with the key in its address', async (t) => {
    const server = await startTestServer({}, { token: null });
    const stream = await healthyStream(`${server.wsBare}?key=${new URL(server.links[0]!.owner).searchParams.get('key')}`, 'porch', 'Porch');
    const viewerKey = new URL(server.links[0]!.viewer).searchParams.get('key')!;
    const embed = `${server.url}/embed?camera=Porch&key=${viewerKey}`;
    // Another site: a plain-HTTP page of its own, framing the camera and the viewer page.
    const site = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(`<!doctype html><iframe id="cam" src="${embed}" width="640" height="360"></iframe><iframe id="app" src="${server.url}/?key=${viewerKey}" width="300" height="200"></iframe>`);
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    const browser = await launchChromium();
    try {
      const page = await (await newContext(browser)).newPage();
      await page.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
      const frame = page.frameLocator('#cam');
      await frame.locator('.tile[data-playing]').waitFor({ timeout: 20_000 });
      assert.equal(await frame.locator('.tile .tile-name').textContent(), 'Porch');
      // Frames advance as in the grid of the viewer page, measured the same way in this run (this
      // rig's replayed camera and the browser share two cores).
      assert.equal(server.access.devices.size, 0, 'the embed page makes no device');
      const inner = page.frames().find((f) => f.url().includes('/embed'))!;
      await countFrames(inner);
      const framed = Math.max(...(await framesInWindows(inner, 999, 2000, 2)));
      const grid = await (await newContext(browser)).newPage();
      await grid.goto(`${server.url}/?key=${viewerKey}`);
      await grid.locator('.tile[data-playing]').waitFor({ timeout: 20_000 });
      await countFrames(grid);
      const inGrid = Math.max(...(await framesInWindows(grid, 999, 2000, 2)));
      await grid.close();
      t.diagnostic(`frames in 2 s: ${framed} in another site's frame, ${inGrid} in the viewer's grid`);
      assert.ok(framed >= 10 && framed >= 0.7 * inGrid, `${framed} vs ${inGrid}`);
      const headers = (await fetchRaw(embed)).headers;
      assert.match(String(headers['content-security-policy']), /frame-ancestors \*/);
      assert.equal(headers['x-frame-options'], undefined);
      // The app's pages refuse to be framed (403 to another site's frame, and frame-ancestors 'none').
      assert.equal((await fetchRaw(`${server.url}/?key=${viewerKey}`)).headers['x-frame-options'], 'DENY');
      assert.equal(await page.frameLocator('#app').locator('#grid').count(), 0, 'the viewer page is not shown in another site\'s frame');
    } finally {
      stream.stop();
      await browser.close();
      site.close();
      await server.stop();
    }
  });
});
