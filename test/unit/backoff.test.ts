// How long a page waits before trying the server again: doubling from 0.5 s, with jitter, never
// longer than its cap (10 s; 3 s for a camera page in view, so a phone on a shelf is back at most
// 3 s after the server is).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backoffMs } from '../../src/client/common/socket.ts';

describe('reconnect backoff', () => {
  it('doubles from about 0.5 s and never waits longer than its cap', () => {
    for (let i = 0; i < 200; i++) {
      const first = backoffMs(0);
      assert.ok(first >= 375 && first <= 625, `first wait ${first} ms`);
      for (let attempt = 0; attempt < 20; attempt++) {
        assert.ok(backoffMs(attempt) <= 10_000);
        assert.ok(backoffMs(attempt, 3000) <= 3000, 'a camera page in view: at most 3 s');
      }
    }
    // After many failures the cap is reached, give or take the jitter.
    assert.ok(backoffMs(10, 3000) >= 2250);
  });
});
