// Text from peers that people read (camera names, a recorder's type, a camera's error strings, and
// the log lines that quote them): no terminal control sequences, no bidi tricks (security finding 8).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { consoleLogger } from '../../src/server/log.ts';
import { cameraMessageSchema, helloSchema, parseMessage } from '../../src/shared/schemas.ts';
import { ProtocolError } from '../../src/shared/errors.ts';
import { plainText, printable } from '../../src/shared/text.ts';

const hello = (name: string) => JSON.stringify({ type: 'hello', protocol: 1, role: 'camera', cameraId: 'abc-1', secret: 'a-secret-of-16-chars', name });

describe('text from peers', () => {
  it('refuses names with C1 controls (U+009B starts a terminal escape sequence), as it does C0 ones', () => {
    for (const name of ['Kitchen\u009b31m', 'Hall\u0085', 'Porch\u007f']) {
      assert.throws(
        () => parseMessage(helloSchema, hello(name)),
        (e: unknown) => e instanceof ProtocolError && e.code === 'BAD_MESSAGE' && /control characters/.test(e.message),
        JSON.stringify(name),
      );
    }
  });

  it('takes bidi formatting characters out of names, so that one name cannot show as another', () => {
    const parsed = parseMessage(helloSchema, hello('Kitchen\u202egnp.exe\u202c'));
    assert.equal(parsed.role === 'camera' && parsed.name, 'Kitchengnp.exe');
    const isolate = parseMessage(helloSchema, hello('\u2067Hall\u2069 \u200f'));
    assert.equal(isolate.role === 'camera' && isolate.name, 'Hall');
    assert.throws(() => parseMessage(helloSchema, hello('\u202e\u202e')), /empty/, 'nothing left is an empty name');
    // Joiners stay: emoji sequences need them.
    const family = parseMessage(helloSchema, hello('Nursery \u{1F468}\u200d\u{1F469}\u200d\u{1F467}'));
    assert.equal(family.role === 'camera' && family.name, 'Nursery \u{1F468}\u200d\u{1F469}\u200d\u{1F467}');
  });

  it('strips control and bidi characters from other free text a camera sends', () => {
    const stream = parseMessage(cameraMessageSchema, JSON.stringify({ type: 'stream', mime: 'video/webm\u001b[2J\u202e', width: null, height: null, fps: null, audio: false }));
    assert.equal(stream.type === 'stream' && stream.mime, 'video/webm[2J');
    const ack = parseMessage(cameraMessageSchema, JSON.stringify({ type: 'ack', requestId: '1', ok: false, error: 'no\u009b\u0007 way\u2066' }));
    assert.equal(ack.type === 'ack' && ack.error, 'no way');
    assert.equal(plainText('a\u0000b\u009fc\u061cd'), 'abcd');
  });

  it('escapes control and bidi characters in log lines, whatever put them there', () => {
    assert.equal(printable('Origin https://x\u001b]0;owned\u0007'), 'Origin https://x\\u{1b}]0;owned\\u{7}');
    assert.equal(printable('camera "\u202eKitchen"\nforged line'), 'camera "\\u{202e}Kitchen"\\u{a}forged line');
    const lines: string[] = [];
    const { log, warn } = console;
    console.log = (...args: unknown[]) => void lines.push(args.join(' '));
    console.warn = (...args: unknown[]) => void lines.push(args.join(' '));
    try {
      const logger = consoleLogger();
      logger.info('camera "\u009b2J" connected');
      logger.warn('Origin \u202eevil');
    } finally {
      console.log = log;
      console.warn = warn;
    }
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /camera "\\u\{9b\}2J" connected$/);
    assert.match(lines[1]!, /Origin \\u\{202e\}evil$/);
    for (const line of lines) assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f\u202e]/);
  });
});
