// A camera channel's late-join cache and fan-out, fed with a real Chromium recording.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Channel, type ViewerSink } from '../../src/server/channel.ts';
import { WebmRelay } from '../../src/server/webm-relay.ts';
import { WebmParser } from '../../src/media/webm/webm-parser.ts';
import { FLAG_INIT, FLAG_KEY, decodeFrame, type ServerMessage } from '../../src/shared/protocol.ts';
import { concat, loadFixture } from '../helpers/server.ts';

class Sink implements ViewerSink {
  json: ServerMessage[] = [];
  frames: { flags: number; payload: Uint8Array }[] = [];
  busy = false;
  /** Whether a busy sink is also past the hard limit (nothing more fits). */
  chokedWhenBusy = true;
  sendJson(m: ServerMessage): void {
    this.json.push(m);
  }
  sendBinary(frame: Uint8Array): void {
    const { header, payload } = decodeFrame(frame);
    this.frames.push({ flags: header.flags, payload: payload.slice() });
  }
  congested(): boolean {
    return this.busy;
  }
  choked(): boolean {
    return this.busy && this.chokedWhenBusy;
  }
  bytes(): Uint8Array {
    return concat(this.frames.map((f) => f.payload));
  }
}

const STREAM = { mime: 'video/webm;codecs=vp8,opus', width: 320, height: 240, fps: 30 };

describe('channel', async () => {
  const { bytes, chunks } = await loadFixture('chromium-vp8-opus');
  const reference = new WebmParser();
  const events = reference.push(bytes);
  const initLength = reference.initLength!;
  const video = reference.tracks!.find((t) => t.type === 'video')!.number;
  const keyClusters = events.flatMap((e) => (e.kind === 'block' && e.keyframe && e.track === video ? [e.cluster] : []));

  it('takes the picture size from the stream’s Tracks', () => {
    const ch = new Channel('c', 1, 'C');
    ch.startStream({ ...STREAM, width: null, height: null });
    ch.pushMedia(concat(chunks.slice(0, 3)));
    assert.deepEqual([ch.info().width, ch.info().height], [320, 240]);
  });

  it('keeps only what a late joiner needs: init + the cluster of the latest keyframe onwards', () => {
    const ch = new Channel('c', 1, 'C');
    ch.startStream(STREAM);
    for (const c of chunks) ch.pushMedia(c);
    const sink = new Sink();
    ch.subscribe(sink);
    assert.equal(sink.json[0]?.type, 'stream');
    assert.deepEqual(sink.frames.map((f) => f.flags), [FLAG_INIT, FLAG_KEY]);
    assert.deepEqual(sink.bytes(), concat([bytes.subarray(0, initLength), bytes.subarray(keyClusters[keyClusters.length - 1]!)]));
  });

  it('makes joiners wait for the next keyframe when the cache limit was hit, then starts them there', () => {
    const ch = new Channel('c', 1, 'C', 8 * 1024);
    ch.startStream(STREAM);
    const second = keyClusters[1]!;
    let sent = 0;
    let i = 0;
    // Feed up to just before the second keyframe's cluster; the small limit drops the first group.
    for (; i < chunks.length && sent + chunks[i]!.byteLength <= second; i++) {
      ch.pushMedia(chunks[i]!);
      sent += chunks[i]!.byteLength;
    }
    const sink = new Sink();
    ch.subscribe(sink);
    assert.equal(sink.frames.length, 0, 'nothing to start from yet');
    for (; i < chunks.length; i++) ch.pushMedia(chunks[i]!);
    assert.deepEqual(sink.frames.map((f) => f.flags).slice(0, 2), [FLAG_INIT, FLAG_KEY]);
    const got = sink.bytes();
    assert.deepEqual(got.subarray(0, initLength), bytes.subarray(0, initLength));
    const startsAt = bytes.byteLength - (got.byteLength - initLength);
    assert.ok(keyClusters.includes(startsAt), `the joiner starts at a keyframe's cluster (${startsAt})`);
  });

  it('lets a congested viewer finish its cluster, skip to a keyframe’s cluster and go on with no restart, told what it missed', () => {
    const ch = new Channel('c', 1, 'C');
    const slow = Object.assign(new Sink(), { chokedWhenBusy: false });
    const fast = new Sink();
    ch.subscribe(slow);
    ch.subscribe(fast);
    ch.startStream(STREAM);
    const [a, b] = [Math.floor(chunks.length / 4), Math.floor(chunks.length / 2)];
    for (const c of chunks.slice(0, a)) ch.pushMedia(c);
    slow.busy = true;
    for (const c of chunks.slice(a, b)) ch.pushMedia(c);
    slow.busy = false;
    for (const c of chunks.slice(b)) ch.pushMedia(c);
    assert.deepEqual(fast.bytes(), bytes, 'the other viewer gets everything');
    assert.equal(slow.json.filter((m) => m.type === 'stream').length, 1, 'no restart');
    const got = slow.bytes();
    const resumedAt = keyClusters.find((k) => k > initLength && bytes.byteLength - k < got.byteLength && got.subarray(got.byteLength - (bytes.byteLength - k)).every((x, i) => x === bytes[k + i]));
    assert.ok(resumedAt !== undefined, 'it goes on from a keyframe’s cluster to the end');
    const stoppedAt = got.byteLength - (bytes.byteLength - resumedAt);
    assert.deepEqual(got.subarray(0, stoppedAt), bytes.subarray(0, stoppedAt), 'what came before is the stream from its start');
    const clusters = events.flatMap((e) => (e.kind === 'cluster' ? [e.offset] : []));
    assert.ok(clusters.includes(stoppedAt), `it stopped at a cluster boundary (${stoppedAt})`);
    assert.ok(stoppedAt < resumedAt, 'and something was skipped');
    assert.doesNotThrow(() => new WebmParser().push(got), 'what it got is well-formed WebM');
    const skipped = slow.json.filter((m) => m.type === 'skipped');
    const missed = events.filter((e) => e.kind === 'block' && e.track === video && e.offset >= stoppedAt && e.offset < resumedAt).length;
    assert.deepEqual(skipped.map((m) => (m.type === 'skipped' ? m.frames : null)), [missed], 'told once, with the video frames it missed');
  });

  it('leaves a slow viewer a valid stream for every window of congestion, at the recording’s real chunk boundaries', () => {
    const clusters = events.flatMap((e) => (e.kind === 'cluster' ? [e.offset] : []));
    // In which chunk each keyframe's event comes (the relay knows of that keyframe from then on).
    const parser = new WebmParser();
    const keyChunk = new Map<number, number>();
    chunks.forEach((c, i) => parser.push(c).forEach((e) => e.kind === 'block' && e.keyframe && e.track === video && !keyChunk.has(e.cluster) && keyChunk.set(e.cluster, i)));
    for (let a = 0; a < chunks.length; a++) {
      for (let b = a + 1; b <= chunks.length; b++) {
        const ch = new Channel('c', 1, 'C');
        const slow = Object.assign(new Sink(), { chokedWhenBusy: false });
        ch.subscribe(slow);
        ch.startStream(STREAM);
        chunks.forEach((c, i) => {
          slow.busy = i >= a && i < b;
          ch.pushMedia(c);
        });
        const sent = slow.bytes();
        const where = `congested for chunks ${a}–${b - 1}`;
        assert.doesNotThrow(() => new WebmParser().push(sent), where);
        const starts = slow.json.filter((m) => m.type === 'stream').length;
        assert.ok(starts === 1 || (starts === 0 && sent.byteLength === 0), `${where}: one start (none if no keyframe came after)`);
        // The stream from its start up to a Cluster boundary, then maybe from a keyframe's Cluster on.
        const prefix = (n: number): boolean => Buffer.from(sent.subarray(0, n)).equals(bytes.subarray(0, n));
        if (sent.byteLength === 0 || (sent.byteLength === bytes.byteLength && prefix(sent.byteLength))) continue;
        const resumedAt = keyClusters.find((k) => {
          const head = sent.byteLength - (bytes.byteLength - k);
          return head >= 0 && head < k && clusters.includes(head) && prefix(head) && Buffer.from(sent.subarray(head)).equals(bytes.subarray(k));
        });
        assert.ok(resumedAt !== undefined || (clusters.includes(sent.byteLength) && prefix(sent.byteLength)), `${where}: cut at a Cluster boundary, resumed at a keyframe's Cluster (${sent.byteLength} bytes)`);
        if (resumedAt === undefined) continue;
        const cut = sent.byteLength - (bytes.byteLength - resumedAt);
        if (cut <= initLength) continue; // (a late start, not a skip)
        // As soon as it can: the latest keyframe known when it read again (chunk b), if after the cut; else the next one.
        const known = keyClusters.filter((k) => k >= cut && keyChunk.get(k)! <= b);
        const soonest = known.length > 0 ? known[known.length - 1]! : keyClusters.find((k) => k >= cut);
        assert.equal(resumedAt, soonest, `${where}: went on as soon as it could`);
        const told = slow.json.flatMap((m) => (m.type === 'skipped' ? [m.frames] : []));
        const missed = events.filter((e) => e.kind === 'block' && e.track === video && e.offset >= cut && e.offset < resumedAt).length;
        assert.deepEqual(told, missed > 0 ? [missed] : [], `${where}: told what it missed`);
      }
    }
  });

  it('lets a skipped viewer go on from the kept keyframe only while it is fresh; else at the next', () => {
    let clock = 0;
    const relay = new WebmRelay('c', 1, () => 0, 32 * 1024 * 1024, () => undefined, () => clock);
    const slow = Object.assign(new Sink(), { chokedWhenBusy: false });
    relay.add(slow);
    relay.start(STREAM.mime);
    // In which chunk each keyframe's event comes.
    const parser = new WebmParser();
    const keyChunk = chunks.map((c) => parser.push(c).some((e) => e.kind === 'block' && e.keyframe && e.track === video));
    const second = keyChunk.indexOf(true, keyChunk.indexOf(true) + 1);
    const third = keyChunk.indexOf(true, second + 1);
    assert.ok(second > 2 && third > second + 1, 'the recording has keyframes to test with');
    // Congested from before the second keyframe until after it came; it reads again a second later.
    chunks.forEach((c, i) => {
      slow.busy = i >= second - 1 && i <= second;
      if (i === second + 1) clock += 1000;
      relay.push(c, 0);
      if (i === second + 1) assert.equal(slow.json.filter((m) => m.type === 'skipped').length, 0, 'not from a keyframe a second old');
    });
    // What it got: the stream up to where it was cut (before the second keyframe), then from the third.
    const sent = slow.bytes();
    const head = sent.byteLength - (bytes.byteLength - keyClusters[2]!);
    assert.ok(head < keyClusters[1]! && Buffer.from(sent.subarray(0, head)).equals(bytes.subarray(0, head)), `the stream up to a cut before the second keyframe (${head})`);
    assert.ok(Buffer.from(sent.subarray(head)).equals(bytes.subarray(keyClusters[2]!)), 'but from the next one');
    assert.equal(slow.json.filter((m) => m.type === 'skipped').length, 1);
  });

  it('re-joins a viewer that cannot take even one more cluster at the next keyframe', () => {
    const ch = new Channel('c', 1, 'C');
    const slow = new Sink();
    const fast = new Sink();
    ch.subscribe(slow);
    ch.subscribe(fast);
    ch.startStream(STREAM);
    slow.busy = true;
    const half = Math.floor(chunks.length / 2);
    for (const c of chunks.slice(0, half)) ch.pushMedia(c);
    slow.busy = false;
    const before = slow.frames.length;
    for (const c of chunks.slice(half)) ch.pushMedia(c);
    assert.deepEqual(fast.bytes(), bytes, 'the other viewer gets everything');
    assert.equal(slow.json.filter((m) => m.type === 'stream').length, 1, 'the slow viewer was told to start once it could read');
    const rejoined = concat(slow.frames.slice(before).map((f) => f.payload));
    assert.deepEqual(rejoined.subarray(0, initLength), bytes.subarray(0, initLength));
    assert.ok(keyClusters.includes(bytes.byteLength - (rejoined.byteLength - initLength)), 'and re-joined at a keyframe cluster');
  });

  it('does not send the cache to a viewer that does not read, however often it subscribes', () => {
    const ch = new Channel('c', 1, 'C');
    ch.startStream(STREAM);
    const half = Math.floor(chunks.length / 2);
    for (const c of chunks.slice(0, half)) ch.pushMedia(c);
    const stuck = new Sink();
    stuck.busy = true;
    for (let i = 0; i < 1000; i++) ch.subscribe(stuck);
    assert.equal(stuck.frames.length, 0);
    assert.equal(ch.viewerCount, 1);
    // Once it reads again, it joins at the next keyframe, once.
    stuck.busy = false;
    for (const c of chunks.slice(half)) ch.pushMedia(c);
    assert.equal(stuck.json.filter((m) => m.type === 'stream').length, 1);
    assert.equal(stuck.frames.filter((f) => f.flags === FLAG_INIT).length, 1);
  });

  it('gives viewers joining between two chunks the same start (one shared copy of the cache)', () => {
    const ch = new Channel('c', 1, 'C');
    ch.startStream(STREAM);
    for (const c of chunks) ch.pushMedia(c);
    const sinks = Array.from({ length: 3 }, () => new Sink());
    for (const s of sinks) ch.subscribe(s);
    const [a, b, c] = sinks.map((s) => s.bytes());
    assert.deepEqual(a, b);
    assert.deepEqual(b, c);
  });
});
