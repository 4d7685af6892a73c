// The MediaRecorder camera's dropping when its network cannot keep up, on a real Chromium recording
// fed in its real chunks: what it sends is always a valid WebM byte stream, cut at a Cluster
// boundary and resumed at a Cluster that holds a video keyframe.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterSkipper } from '../../src/media/webm/cluster-skipper.ts';
import { WebmParser } from '../../src/media/webm/webm-parser.ts';
import { FRESH_KEYFRAME_MS } from '../../src/shared/protocol.ts';
import { concat, loadFixture } from '../helpers/server.ts';

describe('ClusterSkipper', async () => {
  const { bytes, chunks } = await loadFixture('chromium-vp8-opus');
  const reference = new WebmParser();
  const events = reference.push(bytes);
  const video = reference.tracks!.find((t) => t.type === 'video')!.number;
  const clusters = events.flatMap((e) => (e.kind === 'cluster' ? [e.offset] : []));
  const keyClusters = events.flatMap((e) => (e.kind === 'block' && e.keyframe && e.track === video ? [e.cluster] : []));
  const videoBetween = (from: number, to: number): number => events.filter((e) => e.kind === 'block' && e.track === video && e.offset >= from && e.offset < to).length;
  const run = (behind: (i: number) => boolean): { sent: Uint8Array; skipper: ClusterSkipper } => {
    const skipper = new ClusterSkipper(FRESH_KEYFRAME_MS);
    return { sent: concat(chunks.map((c, i) => skipper.push(c, behind(i)))), skipper };
  };

  it('passes everything through while the network keeps up', () => {
    const { sent, skipper } = run(() => false);
    assert.deepEqual(sent, bytes);
    assert.deepEqual([skipper.droppedFrames, skipper.droppedBytes, skipper.dropping], [0, 0, false]);
  });

  it('finishes the Cluster, drops up to a keyframe’s Cluster once the network has room, and counts what it dropped', () => {
    const [a, b] = [Math.floor(chunks.length / 4), Math.floor(chunks.length / 2)];
    const { sent, skipper } = run((i) => i >= a && i < b);
    const resumedAt = keyClusters.find((k) => bytes.byteLength - k < sent.byteLength && Buffer.from(sent.subarray(sent.byteLength - (bytes.byteLength - k))).equals(bytes.subarray(k)));
    assert.ok(resumedAt !== undefined, 'it goes on from a keyframe’s Cluster to the end');
    const stoppedAt = sent.byteLength - (bytes.byteLength - resumedAt);
    assert.deepEqual(sent.subarray(0, stoppedAt), bytes.subarray(0, stoppedAt));
    assert.ok(clusters.includes(stoppedAt), `stopped at a Cluster boundary (${stoppedAt})`);
    assert.ok(stoppedAt < resumedAt);
    assert.doesNotThrow(() => new WebmParser().push(sent), 'well-formed WebM');
    assert.equal(skipper.droppedFrames, videoBetween(stoppedAt, resumedAt));
    assert.equal(skipper.droppedBytes, resumedAt - stoppedAt);
    assert.equal(skipper.dropping, false);
  });

  it('sends nothing more after the Cluster it was in while the network stays behind, but always the init segment', () => {
    const { sent, skipper } = run(() => true);
    assert.ok(reference.initLength !== null && sent.byteLength >= reference.initLength, 'the init segment went');
    assert.ok(clusters.includes(sent.byteLength), `it ends at a Cluster boundary (${sent.byteLength})`);
    assert.ok(sent.byteLength < bytes.byteLength / 4, `and soon (${sent.byteLength} of ${bytes.byteLength} bytes)`);
    assert.equal(skipper.dropping, true);
    assert.ok(skipper.droppedFrames > 0);
  });

  it('leaves a valid stream for every window of the network falling behind, at the recording’s real chunk boundaries, and goes on as soon as it can', () => {
    // In which chunk each keyframe's event comes.
    const parser = new WebmParser();
    const keyChunk = new Map<number, number>();
    chunks.forEach((c, i) => parser.push(c).forEach((e) => e.kind === 'block' && e.keyframe && e.track === video && !keyChunk.has(e.cluster) && keyChunk.set(e.cluster, i)));
    for (let a = 0; a < chunks.length; a++) {
      for (let b = a + 1; b <= chunks.length; b++) {
        const { sent, skipper } = run((i) => i >= a && i < b);
        const where = `behind for chunks ${a}–${b - 1}`;
        assert.doesNotThrow(() => new WebmParser().push(sent), where);
        // The stream from its start up to a Cluster boundary, then maybe from a keyframe's Cluster on.
        const prefix = (n: number): boolean => Buffer.from(sent.subarray(0, n)).equals(bytes.subarray(0, n));
        if (sent.byteLength === bytes.byteLength && prefix(sent.byteLength)) continue;
        const resumedAt = keyClusters.find((k) => {
          const head = sent.byteLength - (bytes.byteLength - k);
          return head >= 0 && head < k && clusters.includes(head) && prefix(head) && Buffer.from(sent.subarray(head)).equals(bytes.subarray(k));
        });
        if (resumedAt !== undefined) {
          const cut = sent.byteLength - (bytes.byteLength - resumedAt);
          assert.equal(skipper.droppedBytes, resumedAt - cut, where);
          assert.equal(skipper.droppedFrames, videoBetween(cut, resumedAt), where);
          // The latest keyframe known when the network had room again (chunk b), if after the cut; else the next one.
          const known = keyClusters.filter((k) => k >= cut && keyChunk.get(k)! <= b);
          assert.equal(resumedAt, known.length > 0 ? known[known.length - 1] : keyClusters.find((k) => k >= cut), `${where}: went on as soon as it could`);
        }
        else assert.ok(clusters.includes(sent.byteLength) && prefix(sent.byteLength) && skipper.dropping, `${where}: cut at a Cluster boundary and still dropping (${sent.byteLength} bytes sent)`);
      }
    }
  });

  it('waits for the next keyframe when the one it holds has gone stale', () => {
    const parser = new WebmParser();
    const keyChunk = chunks.map((c) => parser.push(c).some((e) => e.kind === 'block' && e.keyframe && e.track === video));
    const second = keyChunk.indexOf(true, keyChunk.indexOf(true) + 1);
    const skipper = new ClusterSkipper(FRESH_KEYFRAME_MS);
    let now = 0;
    const sent = concat(
      chunks.map((c, i) => {
        // Behind from before the second keyframe until after it; room again a second later.
        if (i === second + 1) now += 1000;
        return skipper.push(c, i >= second - 1 && i <= second, now);
      }),
    );
    // What it sent: the stream up to where it was cut (before the second keyframe), then from the third.
    const head = sent.byteLength - (bytes.byteLength - keyClusters[2]!);
    assert.ok(head < keyClusters[1]! && clusters.includes(head), `cut before the second keyframe (${head})`);
    assert.ok(Buffer.from(sent.subarray(0, head)).equals(bytes.subarray(0, head)), 'the stream up to the cut');
    assert.ok(Buffer.from(sent.subarray(head)).equals(bytes.subarray(keyClusters[2]!)), 'then from the third keyframe, not the stale second');
    assert.doesNotThrow(() => new WebmParser().push(sent));
  });
});
