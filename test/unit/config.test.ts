// Command line and environment settings.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ConfigError, DEFAULT_LIMITS, DEFAULT_RECORDING, parseConfig } from '../../src/server/config.ts';

describe('config', () => {
  it('has the documented defaults', () => {
    assert.deepEqual(parseConfig([], {}), { port: 8443, httpPort: 8080, host: undefined, dataDir: path.resolve('data'), cert: undefined, key: undefined, token: undefined, noAuth: false, limits: DEFAULT_LIMITS, recording: DEFAULT_RECORDING });
  });
  it('reads the limits from options and environment variables, and refuses ones out of range', () => {
    const c = parseConfig(['--max-cameras', '4', '--max-viewers=200', '--viewer-queue-bytes', '1048576'], { WEBCAM_MAX_MESSAGE_BYTES: '1000000' });
    assert.deepEqual(c?.limits, { ...DEFAULT_LIMITS, maxCameras: 4, maxViewersPerCamera: 200, maxMessageBytes: 1_000_000, viewerQueueBytes: 1_048_576 });
    const MiB = 1024 * 1024;
    assert.deepEqual(DEFAULT_LIMITS, {
      maxCameras: 100, maxViewersPerCamera: 1000, maxMessageBytes: 4 * MiB, viewerQueueBytes: 8 * MiB, viewerQueueMs: 1000, stalledViewerMs: 15_000,
      socketsPerAddress: 64, preAuthPerAddress: 32, preAuthTotal: 1024, mediaWorkPerSecond: 2000, keptBytesPerAddress: 24 * MiB, keptBytesTotal: 256 * MiB, unfinishedBytesPerAddress: 8 * MiB,
    });
    // What one address may hold and do.
    const perAddress = parseConfig(['--sockets-per-address', '16', '--pre-auth-total', '4096', '--media-work-per-second=5000'], { WEBCAM_KEPT_BYTES_PER_ADDRESS: String(48 * MiB), WEBCAM_UNFINISHED_BYTES_PER_ADDRESS: String(16 * MiB) })?.limits;
    assert.deepEqual([perAddress?.socketsPerAddress, perAddress?.preAuthTotal, perAddress?.mediaWorkPerSecond, perAddress?.keptBytesPerAddress, perAddress?.unfinishedBytesPerAddress], [16, 4096, 5000, 48 * MiB, 16 * MiB]);
    assert.throws(() => parseConfig(['--media-work-per-second', '10'], {}), /--media-work-per-second: "10" must be a whole number from 100/);
    assert.equal(parseConfig(['--viewer-queue-ms', '500', '--stalled-viewer-ms', '5000'], {})?.limits?.stalledViewerMs, 5000);
    assert.throws(() => parseConfig(['--max-viewers', '0'], {}), /--max-viewers: "0" must be a whole number from 1 to 1000000/);
    assert.throws(() => parseConfig(['--max-message-bytes', '5000000'], {}), /from 65536 to 4194304/);
    assert.throws(() => parseConfig([], { WEBCAM_MAX_CAMERAS: 'lots' }), /WEBCAM_MAX_CAMERAS/);
  });
  it('reads `npm start -- --port 9443 --host 127.0.0.1 --data-dir /tmp/x` exactly like that', () => {
    const c = parseConfig(['--port', '9443', '--host', '127.0.0.1', '--data-dir', '/tmp/x'], {});
    assert.deepEqual([c?.port, c?.host, c?.dataDir], [9443, '127.0.0.1', '/tmp/x']);
  });
  it('takes environment variables, with the command line winning', () => {
    const env = { WEBCAM_PORT: '9000', WEBCAM_HTTP_PORT: '0', WEBCAM_DATA_DIR: '/d', WEBCAM_HOST: '::' };
    assert.deepEqual(parseConfig([], env), { port: 9000, httpPort: 0, host: '::', dataDir: '/d', cert: undefined, key: undefined, token: undefined, noAuth: false, limits: DEFAULT_LIMITS, recording: DEFAULT_RECORDING });
    assert.equal(parseConfig(['--port=7000'], env)?.port, 7000);
  });
  it('reads what is recorded and kept: --record (WEBCAM_RECORD=1), --keep-days, --min-free as a share or a size', () => {
    assert.equal(parseConfig(['--record'], {})?.recording?.all, true);
    assert.equal(parseConfig([], { WEBCAM_RECORD: '1' })?.recording?.all, true);
    assert.throws(() => parseConfig([], { WEBCAM_RECORD: 'yes' }), /WEBCAM_RECORD: "yes" must be 1 or 0/);
    assert.equal(parseConfig(['--keep-days', '0'], {})?.recording?.keepDays, 0);
    assert.throws(() => parseConfig(['--keep-days', 'week'], {}), /--keep-days: "week" must be a whole number of days/);
    assert.deepEqual(parseConfig(['--min-free', '5%'], {})?.recording?.minFree, { share: 0.05 });
    assert.deepEqual(parseConfig([], { WEBCAM_MIN_FREE: '2GB' })?.recording?.minFree, { bytes: 2 * 1024 ** 3 });
    assert.deepEqual(parseConfig(['--min-free=500MB'], {})?.recording?.minFree, { bytes: 500 * 1024 ** 2 });
    assert.throws(() => parseConfig(['--min-free', 'lots'], {}), /--min-free: "lots" must be a share of the disk/);
  });
  it('refuses bad values with a message naming the option', () => {
    assert.throws(() => parseConfig(['--port', 'eighty'], {}), (e: unknown) => e instanceof ConfigError && /--port: "eighty"/.test(e.message));
    assert.throws(() => parseConfig(['--port', '70000'], {}), /not a port number/);
    assert.throws(() => parseConfig([], { WEBCAM_HTTP_PORT: '-1' }), /WEBCAM_HTTP_PORT/);
    assert.throws(() => parseConfig(['--cert', 'a.pem'], {}), /--cert and --key go together/);
    assert.throws(() => parseConfig(['--port', '8080'], {}), /same as --port/);
    assert.throws(() => parseConfig(['--bogus'], {}), (e: unknown) => e instanceof ConfigError && /Usage/.test(e.message));
  });
  it('takes an access token from --token or WEBCAM_TOKEN, and refuses one that cannot go into a link', () => {
    assert.equal(parseConfig(['--token', 'my-secret.1-abcdef'], {})?.token, 'my-secret.1-abcdef');
    assert.equal(parseConfig([], { WEBCAM_TOKEN: 'from-the-env-0123' })?.token, 'from-the-env-0123');
    assert.throws(() => parseConfig(['--token', 'short-but-15-ch'], {}), /--token: the token must be 16-256/);
    assert.throws(() => parseConfig([], { WEBCAM_TOKEN: 'has a space' }), /WEBCAM_TOKEN: the token/);
    assert.throws(() => parseConfig(['--token', 'a&b=c/d?ef'], {}), /--token/);
  });
  it('allows --no-auth only on a loopback address', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.equal(parseConfig(['--no-auth', '--host', host], {})?.noAuth, true, host);
    assert.equal(parseConfig([], { WEBCAM_NO_AUTH: '1', WEBCAM_HOST: '127.0.0.1' })?.noAuth, true);
    assert.equal(parseConfig([], { WEBCAM_NO_AUTH: '0' })?.noAuth, false);
    for (const host of [undefined, '0.0.0.0', '::', '192.168.1.5', 'myhost.local']) {
      const args = host ? ['--no-auth', '--host', host] : ['--no-auth'];
      assert.throws(() => parseConfig(args, {}), /only allowed when the server listens on this computer alone/, String(host));
    }
    assert.throws(() => parseConfig([], { WEBCAM_NO_AUTH: 'yes', WEBCAM_HOST: '127.0.0.1' }), /WEBCAM_NO_AUTH/);
    assert.throws(() => parseConfig(['--no-auth', '--host', '127.0.0.1', '--token', 'abcdefghijklmnopq'], {}), /contradict/);
  });
  it('returns null for --help', () => {
    assert.equal(parseConfig(['--help'], {}), null);
  });
});
