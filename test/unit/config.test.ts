// Command line and environment settings.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ConfigError, parseConfig } from '../../src/server/config.ts';

describe('config', () => {
  it('has the documented defaults', () => {
    assert.deepEqual(parseConfig([], {}), { port: 8443, httpPort: 8080, host: undefined, dataDir: path.resolve('data'), cert: undefined, key: undefined });
  });
  it('reads `npm start -- --port 9443 --host 127.0.0.1 --data-dir /tmp/x` exactly like that', () => {
    const c = parseConfig(['--port', '9443', '--host', '127.0.0.1', '--data-dir', '/tmp/x'], {});
    assert.deepEqual([c?.port, c?.host, c?.dataDir], [9443, '127.0.0.1', '/tmp/x']);
  });
  it('takes environment variables, with the command line winning', () => {
    const env = { WEBCAM_PORT: '9000', WEBCAM_HTTP_PORT: '0', WEBCAM_DATA_DIR: '/d', WEBCAM_HOST: '::' };
    assert.deepEqual(parseConfig([], env), { port: 9000, httpPort: 0, host: '::', dataDir: '/d', cert: undefined, key: undefined });
    assert.equal(parseConfig(['--port=7000'], env)?.port, 7000);
  });
  it('refuses bad values with a message naming the option', () => {
    assert.throws(() => parseConfig(['--port', 'eighty'], {}), (e: unknown) => e instanceof ConfigError && /--port: "eighty"/.test(e.message));
    assert.throws(() => parseConfig(['--port', '70000'], {}), /not a port number/);
    assert.throws(() => parseConfig([], { WEBCAM_HTTP_PORT: '-1' }), /WEBCAM_HTTP_PORT/);
    assert.throws(() => parseConfig(['--cert', 'a.pem'], {}), /--cert and --key go together/);
    assert.throws(() => parseConfig(['--port', '8080'], {}), /same as --port/);
    assert.throws(() => parseConfig(['--bogus'], {}), (e: unknown) => e instanceof ConfigError && /Usage/.test(e.message));
  });
  it('returns null for --help', () => {
    assert.equal(parseConfig(['--help'], {}), null);
  });
});
