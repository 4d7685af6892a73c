// What a slow WebM viewer gets when the server skips it to a keyframe (webm-relay.ts): the stream
// up to a cluster boundary, then the stream from a later keyframe's cluster, with no restart. This
// checks, in real Chromium, that Media Source Extensions take those bytes as they are (one
// SourceBuffer, no abort, no error) and that playback goes on in the later part.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { Channel, type ViewerSink } from '../../src/server/channel.ts';
import { decodeFrame, type ServerMessage } from '../../src/shared/protocol.ts';
import { launchChromium } from '../helpers/browser.ts';
import { concat, loadFixture } from '../helpers/server.ts';

/** A viewer whose queue is full while `busy` (but one more cluster still fits). */
class SlowSink implements ViewerSink {
  json: ServerMessage[] = [];
  payloads: Uint8Array[] = [];
  busy = false;
  sendJson(m: ServerMessage): void {
    this.json.push(m);
  }
  sendBinary(frame: Uint8Array): void {
    this.payloads.push(decodeFrame(frame).payload.slice());
  }
  congested(): boolean {
    return this.busy;
  }
  choked(): boolean {
    return false;
  }
}

describe('a skipped WebM viewer in Chromium', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser.close();
  });

  it('appends the stream with its gap to one SourceBuffer and plays on after the gap', async () => {
    const { chunks } = await loadFixture('chromium-vp8-opus');
    const ch = new Channel('c', 1, 'C');
    const slow = new SlowSink();
    ch.subscribe(slow);
    ch.startStream({ mime: 'video/webm;codecs=vp8,opus', width: 320, height: 240, fps: 30 });
    const [a, b] = [Math.floor(chunks.length / 4), Math.floor(chunks.length / 2)];
    chunks.forEach((c, i) => {
      slow.busy = i >= a && i < b;
      ch.pushMedia(c);
    });
    assert.equal(slow.json.filter((m) => m.type === 'skipped').length, 1, 'the viewer was skipped once');
    const bytes = Buffer.from(concat(slow.payloads)).toString('base64');

    const page = await browser.newPage();
    try {
      const result = (await page.evaluate(`(async () => {
        const bytes = Uint8Array.from(atob(${JSON.stringify(bytes)}), (c) => c.charCodeAt(0));
        const video = document.createElement('video');
        video.muted = true;
        document.body.append(video);
        const ms = new MediaSource();
        video.src = URL.createObjectURL(ms);
        await new Promise((r) => ms.addEventListener('sourceopen', r, { once: true }));
        const sb = ms.addSourceBuffer('video/webm;codecs=vp8,opus');
        sb.mode = 'segments';
        const appended = new Promise((resolve) => {
          sb.addEventListener('updateend', () => resolve('ok'), { once: true });
          sb.addEventListener('error', () => resolve('error'), { once: true });
        });
        sb.appendBuffer(bytes);
        const append = await appended;
        const ranges = [];
        for (let i = 0; i < video.buffered.length; i++) ranges.push([video.buffered.start(i), video.buffered.end(i)]);
        const last = ranges[ranges.length - 1];
        video.currentTime = last[0];
        await new Promise((r) => video.addEventListener('seeked', r, { once: true }));
        await video.play();
        await new Promise((r) => setTimeout(r, 400));
        return { append, ranges, playedTo: video.currentTime, error: video.error ? video.error.message || String(video.error.code) : null };
      })()`)) as { append: string; ranges: [number, number][]; playedTo: number; error: string | null };
      assert.equal(result.append, 'ok');
      assert.equal(result.error, null);
      assert.equal(result.ranges.length, 2, `two buffered ranges, before and after the gap: ${JSON.stringify(result.ranges)}`);
      const [first, second] = result.ranges as [[number, number], [number, number]];
      assert.ok(second[0] - first[1] > 0.1, 'with media missing between them');
      assert.ok(result.playedTo > second[0] + 0.1, `playback went on after the gap (${result.playedTo} s; the later part starts at ${second[0]} s)`);
    } finally {
      await page.close();
    }
  });
});
