// The shared protocol module: frame headers and message validation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  estimateClock,
  FLAG_AUDIO,
  FLAG_INIT,
  FLAG_KEY,
  FRAME_KIND_CHUNK,
  FRAME_KIND_MEDIA,
  HEADER_BYTES,
  MAX_TIME,
  MAX_TEXT_BYTES,
  ProtocolError,
  decodeFrame,
  encodeFrame,
} from '../../src/shared/protocol.ts';
import { cameraMessageSchema, helloSchema, parseMessage, viewerMessageSchema } from '../../src/shared/schemas.ts';

describe('binary frames', () => {
  it('round-trips a header and payload', () => {
    const payload = new Uint8Array([1, 2, 3, 250]);
    const time = 1_764_000_000_123.25;
    const frame = encodeFrame({ kind: FRAME_KIND_MEDIA, flags: FLAG_INIT | FLAG_KEY, channel: 0xabcd, seq: 0xfffffffe, time }, payload);
    assert.equal(frame.byteLength, HEADER_BYTES + 4);
    // Layout as documented: kind, flags, channel (BE u16), seq (BE u32), capture time (BE f64).
    assert.deepEqual([...frame.subarray(0, 8)], [0x01, 0x03, 0xab, 0xcd, 0xff, 0xff, 0xff, 0xfe]);
    assert.equal(new DataView(frame.buffer, 8, 8).getFloat64(0), time);
    const { header, payload: back } = decodeFrame(frame);
    assert.deepEqual(header, { kind: 1, flags: 3, channel: 0xabcd, seq: 0xfffffffe, time });
    assert.equal(decodeFrame(encodeFrame({ kind: 1, flags: 0, channel: 0, seq: 0 }, payload)).header.time, 0, 'time defaults to 0 = unknown');
    assert.deepEqual(back, payload);
  });

  it('reads a header from a view with an offset', () => {
    const buf = new Uint8Array(30);
    buf.set(encodeFrame({ kind: 1, flags: 0, channel: 7, seq: 9, time: 5 }, new Uint8Array([42])), 5);
    const { header, payload } = decodeFrame(buf.subarray(5, 5 + HEADER_BYTES + 1));
    assert.equal(header.time, 5);
    assert.equal(header.channel, 7);
    assert.equal(header.seq, 9);
    assert.deepEqual([...payload], [42]);
  });

  it('reads a chunk frame’s keyframe and audio flags', () => {
    const frame = encodeFrame({ kind: FRAME_KIND_CHUNK, flags: FLAG_KEY | FLAG_AUDIO, channel: 3, seq: 9, time: 1234.5 }, new Uint8Array([1, 2]));
    assert.deepEqual(decodeFrame(frame).header, { kind: FRAME_KIND_CHUNK, flags: FLAG_KEY | FLAG_AUDIO, channel: 3, seq: 9, time: 1234.5 });
  });

  it('refuses short frames, unknown kinds and unknown flags with BAD_MESSAGE', () => {
    const withHeader = (...start: number[]): Uint8Array => {
      const b = new Uint8Array(HEADER_BYTES);
      b.set(start);
      return b;
    };
    const badTime = (t: number): Uint8Array => {
      const b = withHeader(1);
      new DataView(b.buffer).setFloat64(8, t);
      return b;
    };
    // Kind 4 is unknown; a chunk (kind 2) has no INIT flag; a container frame (kind 1) has no flag 8; a snapshot (kind 3) no flags at all.
    for (const bad of [new Uint8Array(0), new Uint8Array(HEADER_BYTES - 1), withHeader(4), withHeader(3, 2), withHeader(1, 0x80), withHeader(2, 1), withHeader(1, 8), badTime(NaN), badTime(-1), badTime(Infinity), badTime(MAX_TIME * 2)]) {
      assert.throws(() => decodeFrame(bad), (e: unknown) => e instanceof ProtocolError && e.code === 'BAD_MESSAGE' && e.closeCode === 4400);
    }
  });
});

describe('message validation', () => {
  const hello = (extra: object) => JSON.stringify({ type: 'hello', protocol: 1, role: 'camera', cameraId: 'abc-1', secret: 'a-secret-of-16-chars', name: 'Kitchen', ...extra });

  it('accepts good hellos and trims names', () => {
    assert.deepEqual(parseMessage(helloSchema, hello({ name: '  Porch ' })), { type: 'hello', protocol: 1, role: 'camera', cameraId: 'abc-1', secret: 'a-secret-of-16-chars', name: 'Porch' });
    assert.equal(parseMessage(helloSchema, JSON.stringify({ type: 'hello', protocol: 1, role: 'viewer' })).role, 'viewer');
  });

  it('refuses hostile names and ids with a message that says what is wrong', () => {
    const cases: [object, RegExp][] = [
      [{ name: 'x'.repeat(65) }, /longer than 64/],
      [{ name: '   ' }, /empty/],
      [{ name: 'bell\u0007' }, /control characters/],
      [{ cameraId: '../etc' }, /camera ids/],
      [{ cameraId: 'a'.repeat(65) }, /camera ids/],
    ];
    for (const [extra, message] of cases) {
      assert.throws(() => parseMessage(helloSchema, hello(extra)), (e: unknown) => e instanceof ProtocolError && e.code === 'BAD_MESSAGE' && message.test(e.message));
    }
  });

  it('keeps HTML in names as text (escaping is the page’s job) but bounds it', () => {
    assert.equal(parseMessage(helloSchema, hello({ name: '<img src=x onerror=alert(1)>' })).role, 'camera');
  });

  it('validates chunk streams: the stream format, codec setups and the viewer’s choices', () => {
    const camera = (m: unknown) => parseMessage(cameraMessageSchema, JSON.stringify(m));
    const viewer = (m: unknown) => parseMessage(viewerMessageSchema, JSON.stringify(m));
    assert.equal(camera({ type: 'stream', mime: 'video/webm', width: null, height: null, fps: null, audio: false }).type, 'stream');
    assert.deepEqual(camera({ type: 'stream', format: 'chunks', width: 640, height: 480, fps: 30, audio: true }), { type: 'stream', format: 'chunks', width: 640, height: 480, fps: 30, audio: true });
    const video = { codec: 'avc1.42e01f', width: 640, height: 480 };
    const audio = { codec: 'opus', sampleRate: 48000, channels: 2, description: 'T3B1c0hlYWQBAjgBRKwAAAAAAA==' };
    assert.deepEqual(camera({ type: 'codec', video, audio }), { type: 'codec', video, audio });
    assert.deepEqual(viewer({ type: 'subscribe', cameraId: 'a', chunks: true }), { type: 'subscribe', cameraId: 'a', chunks: true });
    assert.deepEqual(viewer({ type: 'keyframe', cameraId: 'a' }), { type: 'keyframe', cameraId: 'a' });
    for (const bad of [
      { type: 'stream', format: 'mpeg', width: null, height: null, fps: null, audio: false },
      { type: 'codec', video: { ...video, codec: 'avc1 <script>' } },
      { type: 'codec', video: { ...video, width: 0 } },
      { type: 'codec', audio: { ...audio, sampleRate: 1 } },
      { type: 'codec', audio: { ...audio, channels: 99 } },
      { type: 'codec', audio: { ...audio, description: 'not base64!' } },
      { type: 'codec', audio: { ...audio, description: 'A'.repeat(5000) } },
    ]) {
      assert.throws(() => camera(bad), (e: unknown) => e instanceof ProtocolError && e.code === 'BAD_MESSAGE', JSON.stringify(bad).slice(0, 80));
    }
    assert.throws(() => viewer({ type: 'subscribe', cameraId: 'a', chunks: 'yes' }), ProtocolError);
  });

  it('refuses invalid JSON, unknown types, missing fields and oversized text', () => {
    assert.throws(() => parseMessage(viewerMessageSchema, '{nope'), /not valid JSON/);
    assert.throws(() => parseMessage(viewerMessageSchema, JSON.stringify({ type: 'explode' })), /invalid "explode" message/);
    assert.throws(() => parseMessage(viewerMessageSchema, JSON.stringify({ type: 'command', cameraId: 'a', command: 'reboot', requestId: '1' })), /command/);
    assert.throws(() => parseMessage(cameraMessageSchema, JSON.stringify({ type: 'stream', mime: 'video/webm' })), /stream/);
    assert.throws(
      () => parseMessage(viewerMessageSchema, 'x'.repeat(MAX_TEXT_BYTES + 1)),
      (e: unknown) => e instanceof ProtocolError && e.code === 'TOO_LARGE',
    );
  });
});

describe('property-based: hostile input', () => {
  it('decodeFrame returns a header or throws ProtocolError for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          const { header, payload } = decodeFrame(bytes);
          assert.equal(header.kind, FRAME_KIND_MEDIA);
          assert.equal(payload.byteLength, bytes.byteLength - HEADER_BYTES);
        } catch (e) {
          assert.ok(e instanceof ProtocolError, `unexpected ${String(e)}`);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('parseMessage accepts only schema-valid messages and throws ProtocolError for anything else', () => {
    const anyJson = fc.oneof(fc.json(), fc.string(), fc.jsonValue().map((v) => JSON.stringify({ type: 'command', ...(typeof v === 'object' && v !== null && !Array.isArray(v) ? v : { v }) })));
    for (const schema of [helloSchema, cameraMessageSchema, viewerMessageSchema]) {
      fc.assert(
        fc.property(anyJson, (text) => {
          try {
            const m = parseMessage(schema as typeof viewerMessageSchema, text);
            assert.equal(typeof m.type, 'string');
          } catch (e) {
            assert.ok(e instanceof ProtocolError, `unexpected ${String(e)}`);
          }
        }),
        { numRuns: 1000 },
      );
    }
  });
});

describe('clock estimate', () => {
  it('takes the offset from the round trip that waited least, and ignores clock steps', () => {
    // Server clock = client clock + 1000; one-way delays 2 ms each, except a slow answer.
    const samples = [
      { sent: 0, server: 1000 + 2, received: 4 },
      { sent: 10, server: 1010 + 40, received: 10 + 42 }, // answered late: 40 ms out, 2 back
      { sent: 20, server: 1020 + 1, received: 22 }, // the quickest
      { sent: 30, server: 5, received: 29 }, // negative round trip: the client clock stepped
    ];
    const e = estimateClock(samples)!;
    assert.equal(e.rtt, 2);
    assert.equal(e.offset, 1000);
    assert.equal(estimateClock([]), null);
    assert.equal(estimateClock([{ sent: 5, server: 1, received: 4 }]), null);
  });
});
