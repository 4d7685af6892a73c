// A hostile client (its own process) floods the server at full speed while a camera streams to a
// viewer: garbage WebSocket messages from an invited address, credential guessing from another, raw
// bytes at the TLS port. The healthy stream must go on: every byte, in order, without long gaps.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FRAME_KIND_MEDIA, encodeFrame } from '../../src/shared/protocol.ts';
import { fetchRaw } from '../helpers/http.ts';
import { FIXTURES, TEST_TOKEN, concat, connectCamera, connectViewer, loadFixture, startTestServer, type TestClient, type TestServer } from '../helpers/server.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FLOOD_SECONDS = 6;
const STREAM = { type: 'stream', mime: 'video/webm;codecs=vp8,opus', width: 320, height: 240, fps: 30, audio: true };

interface HostileStats {
  connections: number;
  messages: number;
  bytes: number;
  closeCodes: Record<string, number>;
  httpStatus: Record<string, number>;
  upgradeStatus: Record<string, number>;
  rawConnections: number;
  rawBytes: number;
}

function runHostile(server: TestServer, seconds: number): Promise<HostileStats> {
  const config = { port: server.httpsPort, token: TEST_TOKEN, seconds, invited: '127.0.0.77', stranger: '127.0.0.66', fixture: path.join(FIXTURES, 'chromium-vp8-opus.webm') };
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/hostile-client.ts', JSON.stringify(config)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`hostile client exited with ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as HostileStats);
    });
  });
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

describe('a hostile client flooding garbage while a camera streams to a viewer', { timeout: 60_000 }, () => {
  let server: TestServer;
  let camera: TestClient;
  let viewer: TestClient;

  before(async () => {
    // The real limits (not the tests' relaxed lock-out).
    server = await startTestServer({}, { rateLimit: {} });
    camera = await connectCamera(server.wsUrl, 'healthy', 'Healthy');
    viewer = await connectViewer(server.wsUrl);
    viewer.send({ type: 'subscribe', cameraId: 'healthy' });
    await camera.message('viewers', (m) => m.count === 1);
  });
  after(async () => {
    camera.close();
    viewer.close();
    await server.stop();
  });

  it('the viewer gets every byte, in order, in time; only the hostile connections are closed', async (t) => {
    const { chunks } = await loadFixture('chromium-vp8-opus');
    const interval = 2500 / chunks.length; // the capture's real pace: ~2.5 s in 22 chunks
    const sent: { at: number; bytes: Uint8Array }[] = [];
    let stop = false;
    let floodStartIndex = -1;
    let floodEndIndex = -1;
    // The camera replays the capture in real time, starting a new stream each time round.
    const streaming = (async () => {
      while (!stop) {
        camera.send(STREAM);
        for (let seq = 0; seq < chunks.length && !stop; seq++) {
          sent.push({ at: performance.now(), bytes: chunks[seq]! });
          camera.sendBinary(encodeFrame({ kind: FRAME_KIND_MEDIA, flags: 0, channel: 0, seq }, chunks[seq]!));
          await new Promise((r) => setTimeout(r, interval));
        }
      }
    })();
    // [arrival time, stream bytes received so far]: a new stream reaches a viewer as its init segment
    // plus everything since, in one go, once a keyframe has come; later chunks one by one.
    const received: [number, number][] = [];
    const startFrames = viewer.frames.length;
    let receivedBytes = 0;
    const onFrame = (): void => {
      while (received.length < viewer.frames.length - startFrames) {
        receivedBytes += viewer.frames[startFrames + received.length]!.payload.byteLength;
        received.push([performance.now(), receivedBytes]);
      }
    };
    viewer.ws.on('message', onFrame);

    await new Promise((r) => setTimeout(r, 2000)); // a quiet reference first
    floodStartIndex = sent.length;
    const hostile = await runHostile(server, FLOOD_SECONDS);
    floodEndIndex = sent.length;
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await streaming;
    const sentBytes = concat(sent.map((x) => x.bytes));
    await viewer.until(() => receivedBytes >= sentBytes.byteLength, 'every byte at the viewer', 5000);
    viewer.ws.off('message', onFrame);

    // Every byte, in order: the streams back to back.
    assert.deepEqual(concat(viewer.frames.slice(startFrames).map((f) => f.payload)), sentBytes);
    // In time: relay delay (camera send → the viewer has that chunk's last byte) before and during the flood, and gaps.
    let end = 0;
    let k = 0;
    const arrivals = sent.map((x) => {
      end += x.bytes.byteLength;
      while (received[k]![1] < end) k++;
      return received[k]![0];
    });
    const delays = sent.map((x, i) => arrivals[i]! - x.at);
    const quiet = delays.slice(0, floodStartIndex);
    const flooded = delays.slice(floodStartIndex, floodEndIndex);
    const gaps = arrivals.slice(floodStartIndex + 1, floodEndIndex).map((r, i) => r - arrivals[floodStartIndex + i]!);
    const ms = (v: number) => `${v.toFixed(1)} ms`;
    t.diagnostic(`hostile: ${hostile.connections} WebSockets, ${hostile.messages} messages, ${(hostile.bytes / 1e6).toFixed(1)} MB in ${FLOOD_SECONDS} s; close codes ${JSON.stringify(hostile.closeCodes)}`);
    t.diagnostic(`hostile: upgrades refused ${JSON.stringify(hostile.upgradeStatus)}, HTTP ${JSON.stringify(hostile.httpStatus)}, ${hostile.rawConnections} raw TCP connections with ${(hostile.rawBytes / 1e6).toFixed(1)} MB of random bytes`);
    t.diagnostic(`relay delay quiet: p50 ${ms(percentile(quiet, 50))}, max ${ms(Math.max(...quiet))}; during the flood: p50 ${ms(percentile(flooded, 50))}, p99 ${ms(percentile(flooded, 99))}, max ${ms(Math.max(...flooded))}; longest gap ${ms(Math.max(...gaps))} (chunks every ${ms(interval)})`);
    assert.ok(Math.max(...flooded) < 1000, `relay delay during the flood stays under 1 s (max ${ms(Math.max(...flooded))})`);
    assert.ok(Math.max(...gaps) < interval + 1000, 'no long gap at the viewer');

    // The flood was real, and each kind of garbage was answered as documented.
    assert.ok(hostile.connections > 20 && hostile.messages > 1000, 'the hostile client got going');
    // (4409: two hostile connections used the same camera id; 1006: cut off at the end of the flood.)
    for (const code of Object.keys(hostile.closeCodes)) assert.ok(['1006', '1009', '4400', '4409', '4412', '4415', '4429'].includes(code), `unexpected close code ${code}`);
    assert.ok((hostile.upgradeStatus['429'] ?? 0) + (hostile.httpStatus['429'] ?? 0) > 0, 'the guessing address was locked out');
    assert.equal(hostile.upgradeStatus['101'] ?? 0, 0, 'no guessed WebSocket got in');
    assert.equal(hostile.httpStatus['200'] ?? 0, 0, 'no guessed page was served');
    // The healthy pair is still connected, and the server still answers.
    assert.equal(camera.closed, null);
    assert.equal(viewer.closed, null);
    assert.equal((await fetchRaw(server.page('/'))).status, 200);
    assert.ok(!server.hub.list().some((c) => c.id.startsWith('hostile-') && c.state !== 'offline'), 'no hostile camera is left online');
  });
});
