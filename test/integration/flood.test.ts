// A hostile client (its own process) floods the server at full speed while a camera streams to a
// viewer: garbage WebSocket messages from an invited address, credential guessing from another, raw
// bytes at the TLS port. The healthy stream (a WebCodecs camera's real chunks, replayed in real
// time) must go on: every chunk, in order, without long gaps.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FRAME_KIND_CHUNK, encodeFrame } from '../../src/shared/protocol.ts';
import { fetchRaw } from '../helpers/http.ts';
import { FIXTURES, TEST_TOKEN, cameraTimes, connectChunkCamera, connectViewer, loadChunkFixture, replayInRealTime, replaySchedule, startTestServer, type TestClient, type TestServer } from '../helpers/server.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FLOOD_SECONDS = 6;

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
    const { stream } = await loadChunkFixture('chromium-webcodecs-h264-opus');
    camera = await connectChunkCamera(server.wsUrl, 'healthy', 'Healthy', stream);
    viewer = await connectViewer(server.wsUrl);
    viewer.send({ type: 'subscribe', cameraId: 'healthy', chunks: true });
    await camera.message('wanted', (m) => m.wanted);
  });
  after(async () => {
    camera.close();
    viewer.close();
    await server.stop();
  });

  it('the viewer gets every chunk, in order, in time; only the hostile connections are closed', async (t) => {
    const { frames } = await loadChunkFixture('chromium-webcodecs-h264-opus');
    // The longest the capture itself waits between two chunks.
    const { at } = replaySchedule(cameraTimes(frames));
    const interval = Math.max(...at.slice(1).map((t, i) => t - at[i]!));
    const sent: { at: number; payload: Uint8Array }[] = [];
    let floodStartIndex = -1;
    let floodEndIndex = -1;
    // The camera replays the capture in real time (each chunk when it was captured), round and round.
    const streaming = replayInRealTime(frames, (f, seq) => {
      sent.push({ at: performance.now(), payload: f.payload });
      camera.sendBinary(encodeFrame({ kind: FRAME_KIND_CHUNK, flags: f.header.flags, channel: 0, seq, time: performance.timeOrigin + performance.now() }, f.payload));
    });
    // When each chunk arrived.
    const received: number[] = [];
    const startFrames = viewer.frames.length;
    const onFrame = (): void => {
      while (received.length < viewer.frames.length - startFrames) received.push(performance.now());
    };
    viewer.ws.on('message', onFrame);

    await new Promise((r) => setTimeout(r, 2000)); // a quiet reference first
    floodStartIndex = sent.length;
    const hostile = await runHostile(server, FLOOD_SECONDS);
    floodEndIndex = sent.length;
    await new Promise((r) => setTimeout(r, 500));
    await streaming.stop();
    await viewer.until(() => viewer.frames.length - startFrames >= sent.length, 'every chunk at the viewer', 5000);
    viewer.ws.off('message', onFrame);

    // Every chunk, in order.
    assert.equal(viewer.frames.length - startFrames, sent.length);
    assert.ok(viewer.frames.slice(startFrames).every((f, i) => Buffer.compare(f.payload, sent[i]!.payload) === 0), 'every chunk, unchanged, in order');
    // In time: relay delay (camera send → the viewer has that chunk) before and during the flood, and gaps.
    const arrivals = received;
    const delays = sent.map((x, i) => arrivals[i]! - x.at);
    const quiet = delays.slice(0, floodStartIndex);
    const flooded = delays.slice(floodStartIndex, floodEndIndex);
    const gaps = arrivals.slice(floodStartIndex + 1, floodEndIndex).map((r, i) => r - arrivals[floodStartIndex + i]!);
    const ms = (v: number) => `${v.toFixed(1)} ms`;
    t.diagnostic(`hostile: ${hostile.connections} WebSockets, ${hostile.messages} messages, ${(hostile.bytes / 1e6).toFixed(1)} MB in ${FLOOD_SECONDS} s; close codes ${JSON.stringify(hostile.closeCodes)}`);
    t.diagnostic(`hostile: upgrades refused ${JSON.stringify(hostile.upgradeStatus)}, HTTP ${JSON.stringify(hostile.httpStatus)}, ${hostile.rawConnections} raw TCP connections with ${(hostile.rawBytes / 1e6).toFixed(1)} MB of random bytes`);
    t.diagnostic(`relay delay quiet: p50 ${ms(percentile(quiet, 50))}, max ${ms(Math.max(...quiet))}; during the flood: p50 ${ms(percentile(flooded, 50))}, p99 ${ms(percentile(flooded, 99))}, max ${ms(Math.max(...flooded))}; longest gap ${ms(Math.max(...gaps))} (the capture's longest: ${ms(interval)})`);
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
