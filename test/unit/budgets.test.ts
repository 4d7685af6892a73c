// What one client address may cost the server: memory kept for joiners (charged per frame as well as
// per byte, to a pool per address within one for the server), media work per second (its sockets go
// unread while it is in debt), and parse work per message.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Camera, FRAME_COST_BYTES } from '../../src/server/core/camera.ts';
import { RetentionPool } from '../../src/server/core/retention.ts';
import { AddressShare } from '../../src/server/transport/ws/address-share.ts';
import { WebmError, WebmParser } from '../../src/media/webm/webm-parser.ts';

const VIDEO = { kind: 'video', codec: 'vp8', width: 2, height: 2 } as const;
const frame = (key: boolean, bytes = 0) => ({ track: 'video' as const, key, timestamp: 0, duration: 0, data: new Uint8Array(bytes), time: 0 });

describe('memory kept for joiners', () => {
  it('counts every frame kept, not only its bytes, and gives it all back when the stream ends', () => {
    const total = new RetentionPool(10_000_000);
    const pool = new RetentionPool(100 * FRAME_COST_BYTES, total);
    const camera = new Camera('c', 1, 'C');
    camera.connect('C', pool);
    camera.startPeriod({ video: VIDEO, audio: null });
    camera.push(frame(true));
    for (let i = 0; i < 99; i++) camera.push(frame(false));
    assert.equal(pool.used, 100 * FRAME_COST_BYTES, 'empty frames cost what their objects do');
    assert.equal(total.used, pool.used, 'charged to the server-wide pool too');
    // One more is over the address's share: the kept group is let go (joiners wait for the next keyframe).
    camera.push(frame(false));
    assert.equal(pool.used, 0);
    camera.push(frame(true, 10));
    assert.equal(pool.used, 10 + FRAME_COST_BYTES);
    camera.disconnect();
    assert.equal(pool.used, 0);
    assert.equal(total.used, 0);
  });

  it('lets no address take more than the server-wide pool has left', () => {
    const total = new RetentionPool(3 * FRAME_COST_BYTES);
    const a = new RetentionPool(100 * FRAME_COST_BYTES, total);
    const b = new RetentionPool(100 * FRAME_COST_BYTES, total);
    assert.ok(a.take(2 * FRAME_COST_BYTES));
    assert.ok(!b.take(2 * FRAME_COST_BYTES));
    assert.equal(b.used, 0);
    assert.ok(b.take(FRAME_COST_BYTES));
  });
});

describe('media work per address', () => {
  const options = { mediaWorkPerSecond: 1000, mediaWorkBurst: 100, retainedBytesPerAddress: 1, unfinishedBytesPerAddress: 1_000_000 };

  it('leaves every socket of an address unread while it is in debt, then reads them again', async () => {
    const share = new AddressShare(options, new RetentionPool(1));
    const log: string[] = [];
    const socket = (name: string) => ({ pause: () => log.push(`${name} paused`), resume: () => log.push(`${name} resumed`) });
    const [a, b] = [socket('a'), socket('b')];
    share.add(a);
    share.add(b);
    share.arrived(b, 100); // its hello
    // A socket that has not said hello yet is read until it has: it must not wait out a hello timeout.
    const c = socket('c');
    share.add(c);
    for (let i = 0; i < 50; i++) share.handled(1); // 2 units each: the burst, spent
    assert.deepEqual(log, []);
    share.arrived(a, 64 * 1024); // 4 units more: in debt by ~4 units, ~4 ms
    assert.deepEqual(log, ['a paused', 'b paused']);
    share.arrived(c, 100);
    assert.deepEqual(log.at(-1), 'c paused', 'once its hello is read, it waits too');
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(log.slice(-3).sort(), ['a resumed', 'b resumed', 'c resumed']);
  });

  it('bounds the bytes of messages begun and not finished on all sockets of an address: the socket holding the most goes', () => {
    const share = new AddressShare({ ...options, mediaWorkPerSecond: 1e9, mediaWorkBurst: 1e9 }, new RetentionPool(1));
    const paused: string[] = [];
    const socket = (name: string) => ({ name, pause: () => paused.push(name), resume: () => undefined });
    const [camera, bomb, other] = [socket('camera'), socket('bomb'), socket('other')];
    for (const s of [camera, bomb, other]) share.add(s);
    // A camera's messages, read whole as they arrive (a 1000-byte payload has a 8-byte header): nothing unfinished, however many.
    for (let i = 0; i < 5000; i++) {
      share.read(camera, 1000);
      assert.equal(share.arrived(camera, 1008), null);
    }
    share.read(camera, 0, false); // a pong
    assert.equal(share.arrived(camera, 6), null);
    assert.equal(share.unfinished, 0);
    // Two sockets half-way through large messages.
    assert.equal(share.arrived(other, 300_000), null);
    assert.equal(share.arrived(bomb, 600_000), null);
    assert.equal(share.unfinished, 900_000);
    assert.equal(share.arrived(camera, 200_000), bomb, 'the one holding the most is closed');
    assert.deepEqual(paused, ['bomb'], 'and read no more');
    assert.equal(share.unfinished, 500_000, 'what it held no longer counts');
    share.remove(bomb);
    // Finishing a message gives its bytes back.
    share.read(other, 299_990);
    assert.equal(share.unfinished, 200_000);
  });

  it('counts nothing for good from messages a browser sends in pieces (frames with headers of their own)', () => {
    const share = new AddressShare({ ...options, mediaWorkPerSecond: 1e9, mediaWorkBurst: 1e9 }, new RetentionPool(1));
    const camera = { pause: () => undefined, resume: () => undefined };
    share.add(camera);
    // Each 100 KB message in four frames of 25 KB: 4 headers of 8 bytes, one of which read() counts.
    for (let i = 0; i < 10_000; i++) {
      for (let f = 0; f < 3; f++) share.arrived(camera, 25_008);
      share.read(camera, 100_000);
      share.arrived(camera, 25_008);
    }
    assert.ok(share.unfinished <= 25_008, `at most one chunk after 10,000 messages, however many headers went by (${share.unfinished})`);
    // A chunk holding the end of one message and the start of the next: only what follows counts.
    share.read(camera, 100_000);
    share.arrived(camera, 4_000);
    assert.ok(share.unfinished <= 4_000);
    // Pings between the pieces of a message do not hide the pieces kept so far.
    const roomy = new AddressShare({ ...options, mediaWorkPerSecond: 1e9, mediaWorkBurst: 1e9, unfinishedBytesPerAddress: 1e9 }, new RetentionPool(1));
    const sly = { pause: () => undefined, resume: () => undefined };
    roomy.add(sly);
    for (let i = 0; i < 40; i++) {
      roomy.read(sly, 0, false);
      roomy.arrived(sly, 100_014 + 6);
    }
    assert.ok(roomy.unfinished >= 4_000_000, `${roomy.unfinished}`);
  });
});

describe('parse work per message', () => {
  it('refuses a piece of WebM with more blocks than any recorder writes at once', () => {
    const parser = new WebmParser({ maxBlocksPerPush: 10 });
    // EBML header, a Segment of unknown size, Tracks with one video track, then a Cluster of 11 SimpleBlocks.
    const bytes = [
      0x1a, 0x45, 0xdf, 0xa3, 0x80,
      0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0x16, 0x54, 0xae, 0x6b, 0x8b, 0xae, 0x89, 0xd7, 0x81, 0x01, 0x83, 0x81, 0x01, 0x86, 0x81, 0x56,
      0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xe7, 0x81, 0x00,
    ];
    for (let i = 0; i < 11; i++) bytes.push(0xa3, 0x85, 0x81, 0, 0, 0x80, 0);
    assert.throws(() => parser.push(Uint8Array.from(bytes)), (e: unknown) => e instanceof WebmError && e.code === 'WEBM_LIMIT' && /more than 10 blocks/.test(e.message));
    // The same blocks in two pieces are fine.
    const again = new WebmParser({ maxBlocksPerPush: 10 });
    const cut = bytes.length - 5 * 7;
    assert.equal(again.push(Uint8Array.from(bytes.slice(0, cut))).filter((e) => e.kind === 'block').length, 6);
    assert.equal(again.push(Uint8Array.from(bytes.slice(cut))).filter((e) => e.kind === 'block').length, 5);
  });
});
