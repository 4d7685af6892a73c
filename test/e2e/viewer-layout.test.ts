// The viewer's layout as people see it, in Chromium, Firefox ESR and WebKit, at a phone held
// upright (390×844; a small one, 360×640), a 1366×768 laptop less the browser's bars (1366×657) and a 1920×1080 screen
// less its bars (1920×969), with 1, 4 and 9 cameras on and 2 offline: every tile's name shows in
// full (everyday names up to 20 characters) and its controls lie inside the tile; the page does not
// scroll on the laptop and the screen; on the phone it scrolls only downwards; the offline cameras
// are in their row, not among the tiles. The cameras are real captures replayed from this process
// (the layout does not depend on who sends them). Screenshots of each case go to
// $TMPDIR/wsw-layout-shots/ (overwritten on each run). WebKitGTK's MiniBrowser keeps its window at
// least 447 px wide: its phone case is 447×844.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FRAME_KIND_CHUNK, encodeFrame } from '../../src/shared/protocol.ts';
import { launchChromium, newContext } from '../helpers/browser.ts';
import { launchFirefox, setFirefoxViewport } from '../helpers/firefox.ts';
import { connectChunkCamera, loadChunkFixture, replayChunks, startTestServer, type TestClient, type TestServer } from '../helpers/server.ts';
import { launchWebKit } from '../helpers/webkit.ts';

const SHOTS = path.join(os.tmpdir(), 'wsw-layout-shots');
const VIEWPORTS = [
  { name: 'phone', width: 390, height: 844, scrolls: true },
  { name: 'small phone', width: 360, height: 640, scrolls: true },
  { name: 'laptop', width: 1366, height: 657, scrolls: false },
  { name: 'screen', width: 1920, height: 969, scrolls: false },
] as const;
const COUNTS = [1, 4, 9] as const;
const NAMES = ['Front door', 'Kitchen', 'Living room window', 'Garage', 'Back garden', 'Hall', 'Baby room', 'Driveway', 'Office desk camera 2'];

/** What a page shows, measured in it (a string: WebKit evaluates expressions over WebDriver). */
const MEASURE = `(() => {
  const main = document.querySelector('main');
  const inside = (inner, outer) => inner.left >= outer.left - 0.5 && inner.right <= outer.right + 0.5 && inner.top >= outer.top - 0.5 && inner.bottom <= outer.bottom + 0.5;
  const shown = (el) => el && !el.hidden && getComputedStyle(el).display !== 'none' && el.getBoundingClientRect().width > 0;
  return {
    viewport: [innerWidth, innerHeight],
    scrollsDown: main.scrollHeight > main.clientHeight + 1 || document.documentElement.scrollHeight > innerHeight + 1,
    scrollsSideways: main.scrollWidth > main.clientWidth + 1 || document.documentElement.scrollWidth > innerWidth + 1,
    offline: document.getElementById('offline').hidden ? 0 : document.querySelectorAll('#offline-list li').length,
    said: (document.getElementById('empty').hidden ? '' : document.getElementById('empty').textContent) + ' ' + document.getElementById('conn').textContent,
    tiles: [...document.querySelectorAll('.tile')].map((t) => {
      const box = t.getBoundingClientRect();
      const name = t.querySelector('.tile-name');
      const controls = [...t.querySelectorAll('.tile-controls button, .tile-top .badge')].filter(shown);
      return {
        name: name.textContent,
        size: [Math.round(box.width), Math.round(box.height)],
        nameInFull: name.scrollWidth <= name.clientWidth && shown(name),
        nameInside: inside(name.getBoundingClientRect(), box),
        controls: controls.length,
        controlsInside: controls.every((c) => inside(c.getBoundingClientRect(), box)),
        controlsInFull: controls.every((c) => c.scrollWidth <= c.clientWidth),
        controlsInOneLine: new Set(controls.filter((c) => c.tagName === 'BUTTON').map((c) => Math.round(c.getBoundingClientRect().top))).size <= 1,
        menuButton: shown(t.querySelector('.tile-more')),
      };
    }),
  };
})()`;

interface Measured {
  viewport: [number, number];
  scrollsDown: boolean;
  scrollsSideways: boolean;
  offline: number;
  said: string;
  tiles: { name: string; size: [number, number]; nameInFull: boolean; nameInside: boolean; controls: number; controlsInside: boolean; controlsInFull: boolean; controlsInOneLine: boolean; menuButton: boolean }[];
}

/** One browser as this test drives it. */
interface Driver {
  open(url: string): Promise<void>;
  resize(width: number, height: number): Promise<void>;
  measure(): Promise<Measured>;
  screenshot(file: string): Promise<void>;
  close(): Promise<void>;
}

async function chromiumDriver(): Promise<Driver> {
  const browser = await launchChromium();
  const page = await (await newContext(browser)).newPage();
  return {
    open: async (url) => void (await page.goto(url)),
    resize: (width, height) => page.setViewportSize({ width, height }),
    measure: () => page.evaluate(MEASURE) as Promise<Measured>,
    screenshot: async (file) => void (await page.screenshot({ path: file })),
    close: () => browser.close(),
  };
}

async function firefoxDriver(): Promise<Driver> {
  const firefox = await launchFirefox();
  const page = await firefox.newPage();
  return {
    open: async (url) => void (await page.goto(url)),
    resize: (width, height) => setFirefoxViewport(page, width, height),
    measure: () => page.evaluate(MEASURE) as Promise<Measured>,
    screenshot: async (file) => void (await page.screenshot({ path: file as `${string}.png` })),
    close: () => firefox.close(),
  };
}

async function webkitDriver(): Promise<Driver> {
  const webkit = await launchWebKit();
  return {
    open: (url) => webkit.goto(url),
    resize: async (width, height) => void (await webkit.resize(width, height)),
    measure: () => webkit.evaluate(MEASURE) as Promise<Measured>,
    screenshot: async (file) => void (await webkit.screenshot(file)),
    close: () => webkit.close(),
  };
}

/** A server with two cameras that streamed and left, and cameras switched on as asked, each replaying a real capture. */
async function startWorld(): Promise<{ server: TestServer; camerasOn(n: number): Promise<TestClient[]>; stop(): Promise<void> }> {
  const server = await startTestServer();
  const { stream, frames } = await loadChunkFixture('chromium-webcodecs-h264-opus');
  for (const name of ['Shed', 'Attic']) {
    const c = await connectChunkCamera(server.wsUrl, `gone-${name}`, name, stream);
    c.sendBinary(encodeFrame({ kind: FRAME_KIND_CHUNK, flags: frames[0]!.header.flags, channel: 0, seq: 0, time: Date.now() }, frames[0]!.payload));
    await new Promise((r) => setTimeout(r, 100));
    c.close();
  }
  const cameras: TestClient[] = [];
  // Each camera replays the capture from its start, round and round.
  const replays: (() => void)[] = [];
  return {
    server,
    async camerasOn(n) {
      while (cameras.length < n) {
        const c = await connectChunkCamera(server.wsUrl, `cam-${cameras.length}`, NAMES[cameras.length]!, stream);
        cameras.push(c);
        replays.push(replayChunks(c, frames));
      }
      return cameras;
    },
    async stop() {
      for (const stop of replays) stop();
      for (const c of cameras) c.close();
      await server.stop();
    },
  };
}

describe('the viewer layout at phone, laptop and screen sizes', { timeout: 300_000 }, () => {
  before(() => mkdir(SHOTS, { recursive: true }));

  for (const [browserName, launch] of [['Chromium', chromiumDriver], ['Firefox', firefoxDriver], ['WebKit', webkitDriver]] as const) {
    it(`in ${browserName}: names in full, controls inside their tiles, no page scroll but downwards on a phone`, async (t) => {
      const world = await startWorld();
      const driver = await launch().catch(async (err: unknown) => {
        await world.stop();
        throw err;
      });
      try {
        for (const n of COUNTS) {
          const cameras = await world.camerasOn(n);
          await driver.open(world.server.page('/?layout=auto'));
          for (const vp of VIEWPORTS) {
            await driver.resize(vp.width, vp.height);
            // The camera list arrives, the grid lays itself out (and again once the pictures say their size).
            let m: Measured | null = null;
            for (const deadline = Date.now() + 8000; Date.now() < deadline; ) {
              m = await driver.measure();
              if (m.tiles.length === n && m.offline === 2) break;
              await new Promise((r) => setTimeout(r, 200));
            }
            await new Promise((r) => setTimeout(r, 300));
            m = await driver.measure();
            await driver.screenshot(path.join(SHOTS, `${browserName.toLowerCase()}-${vp.name}-${n}.png`));
            const where = `${browserName} ${vp.width}×${vp.height} (${m.viewport.join('×')}), ${n} camera${n > 1 ? 's' : ''}`;
            t.diagnostic(`${where}: tiles ${m.tiles.map((x) => x.size.join('×')).join(', ')}${m.scrollsDown ? '; scrolls down' : ''}`);
            assert.equal(m.tiles.length, n, `${where}: a tile for each camera that is on (the page says: ${m.said}; cameras closed: ${JSON.stringify(cameras.map((c) => c.closed))})`);
            assert.equal(m.offline, 2, `${where}: the offline cameras in their row`);
            assert.ok(!m.scrollsSideways, `${where}: no sideways scroll`);
            if (!vp.scrolls) assert.ok(!m.scrollsDown, `${where}: no page scroll`);
            for (const tile of m.tiles) {
              assert.ok(tile.nameInFull && tile.nameInside, `${where}: “${tile.name}” in full inside its ${tile.size.join('×')} tile`);
              assert.ok(tile.controlsInside && tile.controlsInOneLine, `${where}: the controls of “${tile.name}” inside its tile, on one line`);
              assert.ok(tile.controlsInFull, `${where}: the controls of “${tile.name}” not cut (each label's scrollWidth ≤ its clientWidth)`);
              assert.ok(tile.menuButton, `${where}: the menu button of “${tile.name}”`);
            }
          }
        }
      } finally {
        await driver.close();
        await world.stop();
      }
    });
  }
});
