// Dev aid: starts a server, a camera page and a viewer page in Chromium, and saves screenshots.
// Usage: npx tsx scripts/screenshot.ts [outDir]
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { launchChromium, newContext } from '../test/helpers/browser.ts';
import { startTestServer } from '../test/helpers/server.ts';

const out = path.resolve(process.argv[2] ?? '.tmp/shots');
await mkdir(out, { recursive: true });
const server = await startTestServer();
const browser = await launchChromium();
try {
  const cam = await (await newContext(browser, { width: 412, height: 860 })).newPage();
  cam.on('console', (m) => console.log(`camera: ${m.text()}`));
  await cam.goto(server.page('/camera'));
  await cam.screenshot({ path: path.join(out, 'camera-idle.png') });
  await cam.goto(server.page('/camera?autostart=1&name=Kitchen'));
  const cam2 = await (await newContext(browser, { width: 412, height: 860 })).newPage();
  await cam2.goto(server.page('/camera?autostart=1&name=Porch&audio=0&source=test'));
  // The other transport, side by side with the WebCodecs cameras.
  const cam3 = await (await newContext(browser, { width: 412, height: 860 })).newPage();
  await cam3.goto(server.page('/camera?autostart=1&name=Hall&audio=0&resolution=480&transport=mediarecorder'));
  const viewer = await (await newContext(browser)).newPage();
  viewer.on('console', (m) => console.log(`viewer: ${m.text()}`));
  await viewer.goto(server.page('/'));
  await viewer.waitForTimeout(4000);
  await viewer.click('.tile[title="Kitchen"] .tile-sound');
  await viewer.waitForTimeout(1000);
  await cam.screenshot({ path: path.join(out, 'camera-live.png') });
  await cam3.screenshot({ path: path.join(out, 'camera-mediarecorder.png') });
  await viewer.screenshot({ path: path.join(out, 'viewer-grid.png') });
  // A camera that can encode with WebCodecs but not record WebM (as Safari 16.4–18.3, which records only MP4).
  const mp4OnlyContext = await newContext(browser, { width: 412, height: 860 });
  await mp4OnlyContext.addInitScript('delete window.MediaRecorder;');
  const cam4 = await mp4OnlyContext.newPage();
  await cam4.goto(server.page('/camera?autostart=1&name=Garage&audio=0&resolution=480'));
  // A browser without WebCodecs: the WebCodecs cameras also record WebM for it (Garage cannot: its tile says so).
  const plainContext = await newContext(browser);
  await plainContext.addInitScript('delete window.VideoDecoder; delete window.AudioDecoder;');
  const plain = await plainContext.newPage();
  await plain.goto(server.page('/?meter=1'));
  await plain.waitForTimeout(4000);
  await plain.screenshot({ path: path.join(out, 'viewer-without-webcodecs.png') });
  await cam.screenshot({ path: path.join(out, 'camera-with-fallback.png') });
  await cam4.screenshot({ path: path.join(out, 'camera-no-fallback.png') });
  await plainContext.close();
  await mp4OnlyContext.close();
  await cam3.close();
  await cam2.screenshot({ path: path.join(out, 'camera-test-pattern.png') });
  await viewer.keyboard.press('l');
  await viewer.waitForTimeout(2000);
  await viewer.screenshot({ path: path.join(out, 'viewer-latency.png') });
  await viewer.keyboard.press('l');
  await viewer.click('.tile-media');
  await viewer.waitForTimeout(800);
  await viewer.screenshot({ path: path.join(out, 'viewer-focused.png') });
  const solo = await (await newContext(browser)).newPage();
  await solo.goto(server.page('/?camera=Kitchen'));
  await solo.waitForTimeout(2500);
  await solo.screenshot({ path: path.join(out, 'viewer-solo.png') });
  const helper = await (await newContext(browser, { width: 412, height: 1400 })).newPage();
  await helper.goto(`http://127.0.0.1:${server.httpPort}/`);
  await helper.screenshot({ path: path.join(out, 'helper.png'), fullPage: true });
  await helper.goto(server.links[0]!.helper!);
  await helper.screenshot({ path: path.join(out, 'helper-invited.png'), fullPage: true });
  // Refusals: no invitation, a camera link on the viewer, a wrong link.
  const stranger = await (await newContext(browser, { width: 412, height: 860 })).newPage();
  await stranger.goto(`${server.url}/`);
  await stranger.screenshot({ path: path.join(out, 'refused-no-invitation.png') });
  await stranger.goto(server.links[0]!.camera);
  await stranger.goto(`${server.url}/`);
  await stranger.screenshot({ path: path.join(out, 'refused-camera-link-on-viewer.png') });
  await stranger.goto(`${server.url}/?key=not-a-real-key`);
  await stranger.screenshot({ path: path.join(out, 'refused-wrong-link.png') });
  // Access withdrawn while both pages are open (a server with its secret in the data dir, rotated).
  const rotating = await startTestServer({}, { token: null });
  try {
    const phone = await (await newContext(browser, { width: 412, height: 860 })).newPage();
    await phone.goto(`${rotating.links[0]!.camera}&autostart=1&name=Porch&resolution=480`);
    await phone.waitForSelector('body[data-state="live"]');
    const screen = await (await newContext(browser)).newPage();
    await screen.goto(rotating.links[0]!.viewer);
    await screen.waitForSelector('.tile[data-playing]');
    await rotating.rotateLinks();
    await screen.waitForSelector('#empty:not([hidden])');
    await phone.waitForSelector('#message:not([hidden])');
    await screen.screenshot({ path: path.join(out, 'viewer-withdrawn.png') });
    await phone.screenshot({ path: path.join(out, 'camera-withdrawn.png') });
  } finally {
    await rotating.stop();
  }
  console.log(`screenshots in ${out}`);
} finally {
  await browser.close();
  await server.stop();
}
