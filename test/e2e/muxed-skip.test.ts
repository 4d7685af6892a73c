// What a slow viewer of a server-muxed stream gets when it is skipped to a keyframe
// (src/server/live/muxed-output.ts): the stream up to a frame, then the stream from a later
// keyframe's Cluster (WebM) or fragment (MP4), with no restart. This checks, in real Chromium, that
// Media Source Extensions take those bytes as they are (one SourceBuffer, no abort, no error) and
// that playback goes on in the later part.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { Camera } from '../../src/server/core/camera.ts';
import { ChunkIngest } from '../../src/server/ingest/chunk-ingest.ts';
import { makeMuxer } from '../../src/server/live/muxers.ts';
import type { ViewerSink } from '../../src/server/live/viewer-sink.ts';
import { LiveViewers } from '../../src/server/live/viewers.ts';
import { decodeFrame } from '../../src/shared/protocol.ts';
import type { ServerMessage } from '../../src/shared/schemas.ts';
import { launchChromium } from '../helpers/browser.ts';
import { cameraTimes, concat, loadChunkFixture } from '../helpers/server.ts';

/** A viewer whose queue is full while `busy` (but one more cluster still fits). */
class SlowSink implements ViewerSink {
  json: ServerMessage[] = [];
  payloads: Uint8Array[] = [];
  busy = false;
  sendJson(m: ServerMessage): void {
    this.json.push(m);
  }
  sendBinary(frame: Uint8Array): void {
    this.payloads.push(new Uint8Array(decodeFrame(frame).payload)); // (a copy: the server sends Buffers, whose slice() is a view)
  }
  congested(): boolean {
    return this.busy;
  }
  choked(): boolean {
    return false;
  }
}

describe('a skipped viewer of a server-muxed stream in Chromium', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser.close();
  });

  for (const [fixture, form] of [['chromium-webcodecs-vp8-opus', 'WebM'], ['chromium-webcodecs-h264-opus', 'MP4']] as const) {
  it(`appends the ${form} stream with its gap to one SourceBuffer and plays on after the gap`, async () => {
    const { stream, frames } = await loadChunkFixture(fixture);
    const camera = new Camera('c', 1, 'C');
    camera.announce({ transport: 'chunks', width: null, height: null, fps: null });
    const ingest = new ChunkIngest(camera, true);
    ingest.codec({ video: stream.video!, audio: stream.audio! });
    const viewers = new LiveViewers(camera, makeMuxer);
    const slow = new SlowSink();
    viewers.subscribe(slow, false);
    const [a, b] = [Math.floor(frames.length / 4), Math.floor(frames.length / 2)];
    const times = cameraTimes(frames);
    frames.forEach((f, i) => {
      slow.busy = i >= a && i < b;
      ingest.push(f.payload, f.header.flags, times[i]!, f.header.time ?? 0);
    });
    assert.equal(slow.json.filter((m) => m.type === 'skipped').length, 1, 'the viewer was skipped once');
    const mime = slow.json.find((m) => m.type === 'stream')?.mime ?? '';
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
        const sb = ms.addSourceBuffer(${JSON.stringify(mime)});
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
      // Known and not yet fixed: at the start of the VP8 fixture the camera's first audio packets came
      // in a burst and run ~200 ms ahead of the picture; a video block earlier than the sound before
      // it opens a new Cluster (Chromium refuses an earlier block in the same Cluster), and Chromium
      // then drops a few video frames: one more early gap in WebM. (Fragmented MP4 has no such rule.)
      const ranges = form === 'WebM' ? result.ranges.slice(-2) : result.ranges;
      assert.equal(ranges.length === 2 && result.ranges.length <= (form === 'WebM' ? 3 : 2), true, `buffered ranges before and after the gap: ${JSON.stringify(result.ranges)}`);
      const [first, second] = ranges as [[number, number], [number, number]];
      assert.ok(second[0] - first[1] > 0.1, 'with media missing between them');
      assert.ok(result.playedTo > second[0] + 0.1, `playback went on after the gap (${result.playedTo} s; the later part starts at ${second[0]} s)`);
    } finally {
      await page.close();
    }
  });
  }
});
