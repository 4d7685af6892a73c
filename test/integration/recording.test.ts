// Recording through the real server: a camera streaming over its WebSocket is recorded while nobody
// watches; its recordings are listed, played and exported over HTTPS for viewers (never for a
// camera link); hostile ranges get a clear 400; the owner's switch stops and starts it; and after a
// kill -9 of the server the cut-off segment is made whole at the next start, with at most 2 s lost.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fetchRaw } from '../helpers/http.ts';
import { checkRecording, probe } from '../helpers/ffprobe.ts';
import { FLAG_AUDIO } from '../../src/shared/protocol.ts';
import { TEST_TOKEN, connectChunkCamera, freePort, loadChunkFixture, replayChunks, startTestServer, type TestServer } from '../helpers/server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const keyOf = (link: string): string => new URL(link).searchParams.get('key')!;

describe('recording through the server', () => {
  let server: TestServer;
  let start: number;
  let end: number;
  before(async () => {
    server = await startTestServer({}, { recording: { all: true }, segmentMs: 2000 });
    const { stream, frames } = await loadChunkFixture('chromium-webcodecs-h264-opus');
    const camera = await connectChunkCamera(server.wsUrl, 'porch', 'Porch', stream);
    const yard = await connectChunkCamera(server.wsUrl, 'yard', 'Yard', stream);
    // Nobody watches: the recorder wants the camera's media.
    await camera.message('wanted', (m) => m.wanted);
    start = Date.now();
    const stop = replayChunks(camera, frames);
    const stopYard = replayChunks(yard, frames);
    await sleep(2500);
    stopYard();
    yard.close();
    await sleep(3000);
    stop();
    end = Date.now();
    camera.close();
    await sleep(300);
  });
  after(async () => server.stop());

  const api = (p: string, key = keyOf(server.links[0]!.viewer), headers: Record<string, string> = {}) => fetchRaw(`${server.url}${p}${p.includes('?') ? '&' : '?'}key=${key}`, { headers });

  it('lists what was recorded as spans from the media, for viewers and never for a camera link', async () => {
    const r = await api(`/api/cameras/porch/recordings?from=${start - 60_000}&to=${end + 60_000}`);
    assert.equal(r.status, 200, r.body);
    const body = JSON.parse(r.body) as { spans: { start: number; end: number }[]; segments: { seq: number }[] };
    assert.equal(body.spans.length, 1, r.body);
    const span = body.spans[0]!;
    assert.ok(span.end - span.start > 4000 && span.end - span.start < 6500, `a span of ${span.end - span.start} ms`);
    assert.ok(body.segments.length >= 2, 'cut into segments');
    assert.equal((await api(`/api/cameras/porch/recordings`, keyOf(server.links[0]!.camera))).status, 403);
    assert.equal((await api(`/api/cameras/porch/recording?start=${start}&end=${end}`, keyOf(server.links[0]!.camera))).status, 403);
    assert.equal((await api(`/api/cameras/nobody/recordings`)).status, 404);
    // Gone offline, it is recorded when it streams again, not "recording now".
    const overview = JSON.parse((await api('/api/recordings')).body) as { cameras: { id: string; record: boolean; recording: unknown }[] };
    const porch = overview.cameras.find((c) => c.id === 'porch')!;
    assert.equal(porch.record, true);
    assert.equal(porch.recording, null);
  });

  it('exports a range as one MP4 that ffprobe reads, named after the camera and time, answering Range requests', async () => {
    const from = start + 1000;
    const r = await fetchRaw(`${server.url}/api/cameras/porch/recording?start=${from}&end=${from + 3000}&key=${keyOf(server.links[0]!.viewer)}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'video/mp4');
    assert.match(String(r.headers['content-disposition']), /^attachment; filename="Porch \d{4}-\d\d-\d\d \d\d-\d\d-\d\d\.mp4"/);
    const bytes = await download(`${server.url}/api/cameras/porch/recording?start=${from}&end=${from + 3000}&key=${keyOf(server.links[0]!.viewer)}`);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'export-'));
    try {
      await writeFile(path.join(dir, 'e.mp4'), bytes);
      const { seconds } = checkRecording(probe(path.join(dir, 'e.mp4')), true);
      assert.ok(seconds > 2.9 && seconds < 4.6, `${seconds} s`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const ranged = await api(`/api/cameras/porch/recording?start=${from}&end=${from + 3000}`, undefined, { Range: 'bytes=100-199' });
    assert.equal(ranged.status, 206);
    assert.match(String(ranged.headers['content-range']), /^bytes 100-199\/\d+$/);
    assert.equal(ranged.headers['content-length'], '100');
  });

  it('answers hostile ranges with a 400 that says what is wrong', async () => {
    const cases: [string, RegExp][] = [
      ['start=abc&end=1', /start must be a whole number/],
      [`start=${start}`, /end is missing/],
      [`start=${end}&end=${start}`, /end must be after start/],
      [`start=1&end=2`, /outside 2000-2200/],
      [`start=${start}&end=${start + 7 * 3600_000}`, /longer than 6 hours/],
      [`start=${start}&start=${start}&end=${end}`, /more than once/],
      [`start=${'9'.repeat(400)}&end=1`, /start must be a whole number/],
      [`start=-5&end=${end}`, /start must be a whole number/],
    ];
    for (const [query, why] of cases) {
      const r = await api(`/api/cameras/porch/recording?${query}`);
      assert.equal(r.status, 400, query);
      assert.match((JSON.parse(r.body) as { error: string }).error, why, query);
    }
    assert.equal((await api(`/api/cameras/porch/recordings?from=x`)).status, 400);
    assert.equal((await api(`/api/cameras/porch/segment?seq=../../x`)).status, 400);
    assert.equal((await api(`/api/cameras/..%2F..%2Fetc/recordings`)).status, 404);
    // Nothing recorded there: a clear 404.
    const empty = await api(`/api/cameras/porch/recording?start=${start - 3600_000}&end=${start - 1800_000}`);
    assert.equal(empty.status, 404);
    assert.match(empty.body, /nothing was recorded/);
  });

  it('the owner switches a camera’s recording off and on; others may not', async () => {
    const post = (key: string, body: object) =>
      fetchRaw(`${server.url}/api/cameras/record?key=${key}`, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', Origin: server.url, 'Sec-Fetch-Site': 'same-origin' } });
    assert.equal((await post(keyOf(server.links[0]!.viewer), { id: 'porch', record: false })).status, 403);
    const off = await post(keyOf(server.links[0]!.owner), { id: 'porch', record: false, sound: false });
    assert.equal(off.status, 200, off.body);
    assert.deepEqual(JSON.parse(off.body), { id: 'porch', record: false, sound: false });
    const overview = JSON.parse((await api('/api/recordings')).body) as { cameras: { id: string; record: boolean; bytes: number }[]; disk: { size: number; free: number } };
    const porch = overview.cameras.find((c) => c.id === 'porch')!;
    assert.equal(porch.record, false);
    assert.ok(porch.bytes > 100_000, `${porch.bytes} bytes recorded`);
    assert.ok(overview.disk.size > 0 && overview.disk.free > 0);
    assert.equal((await post(keyOf(server.links[0]!.owner), { id: 'nobody', record: true })).status, 404);
  });
});

describe('forgetting a recorded camera', () => {
  it('keeps its recordings unless the owner also asks to delete them', async () => {
    const server = await startTestServer({}, { recording: { all: true }, segmentMs: 2000 });
    try {
      const { stream, frames } = await loadChunkFixture('chromium-webcodecs-h264-opus');
      for (const id of ['porch', 'yard']) {
        const camera = await connectChunkCamera(server.wsUrl, id, id, stream);
        const stop = replayChunks(camera, frames);
        await sleep(2500);
        stop();
        camera.close();
      }
      await sleep(500);
      const owner = keyOf(server.links[0]!.owner);
      const forget = (body: object) =>
        fetchRaw(`${server.url}/api/cameras/forget?key=${owner}`, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', Origin: server.url, 'Sec-Fetch-Site': 'same-origin' } });
      const kept = await forget({ id: 'yard' });
      assert.equal(kept.status, 200, kept.body);
      const overview = JSON.parse((await fetchRaw(`${server.url}/api/recordings?key=${owner}`)).body) as { cameras: { id: string; name: string; bytes: number }[] };
      const yard = overview.cameras.find((c) => c.id === 'yard');
      assert.equal(yard?.name, 'yard (forgotten)');
      assert.ok((yard?.bytes ?? 0) > 20_000, JSON.stringify(overview.cameras));
      assert.equal((await fetchRaw(`${server.url}/api/cameras/yard/recordings?key=${owner}`)).status, 200);
      const deleted = await forget({ id: 'porch', deleteRecordings: true });
      assert.equal(deleted.status, 200, deleted.body);
      assert.ok((JSON.parse(deleted.body) as { deletedBytes: number }).deletedBytes > 20_000, deleted.body);
      assert.equal((await fetchRaw(`${server.url}/api/cameras/porch/recordings?key=${owner}`)).status, 404);
      // (Its folder is moved aside at once and deleted in the background.)
      assert.deepEqual((await readdir(path.join(server.dataDir, 'recordings'))).filter((n) => !n.startsWith('.')), ['yard']);
    } finally {
      await server.stop();
    }
  });
});

describe('a server killed while recording', { timeout: 120_000 }, () => {
  it('makes the cut-off segment whole at its next start, with at most 2 s of media lost', async (t) => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'kill-'));
    const port = await freePort();
    const args = ['--import', 'tsx', 'src/server/main.ts', '--record', '--data-dir', dataDir, '--port', String(port), '--http-port', '0', '--host', '127.0.0.1', '--token', TEST_TOKEN];
    const startServer = async () => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      for (let i = 0; i < 200 && !/https:\/\//.test(out); i++) await sleep(100);
      return { child, output: () => out };
    };
    const url = `https://127.0.0.1:${port}`;
    let first = await startServer();
    try {
      const { stream, frames } = await loadChunkFixture('chromium-webcodecs-h264-opus');
      const camera = await connectChunkCamera(`wss://127.0.0.1:${port}/ws?token=${TEST_TOKEN}`, 'porch', 'Porch', stream);
      await camera.message('wanted', (m) => m.wanted);
      // When the last frame, and the last video frame, were sent before the kill.
      let lastSent = 0;
      let lastVideoSent = 0;
      let n = 0;
      const stop = replayChunks(camera, frames, () => {
        lastSent = Date.now();
        if ((frames[n++ % frames.length]!.header.flags & FLAG_AUDIO) === 0) lastVideoSent = lastSent;
        return lastSent;
      });
      await sleep(6000);
      const killedAt = lastSent;
      const lastVideo = lastVideoSent;
      first.child.kill('SIGKILL');
      await new Promise((r) => first.child.once('exit', r));
      stop();
      camera.close();
      first = await startServer();
      t.diagnostic(first.output().split('\n').filter((l) => /recordings/.test(l)).join(' | '));
      const r = await fetchRaw(`${url}/api/cameras/porch/recordings?from=${killedAt - 60_000}&to=${killedAt + 60_000}&token=${TEST_TOKEN}`);
      assert.equal(r.status, 200, r.body);
      const body = JSON.parse(r.body) as { spans: { start: number; end: number }[]; segments: { seq: number }[] };
      assert.equal(body.spans.length, 1, r.body);
      const lost = killedAt - body.spans[0]!.end;
      t.diagnostic(`media lost to the kill: ${lost} ms (the last frame was sent ${killedAt}, the recording ends ${body.spans[0]!.end})`);
      assert.ok(lost <= 2000, `${lost} ms lost`);
      assert.match(first.output(), /1 segment not in the index \(cut off by a stop, or the index was lost\) read back from its media and made whole/);
      const last = body.segments.at(-1)! as { seq: number; start: number };
      const bytes = await download(`${url}/api/cameras/porch/segment?seq=${last.seq}&token=${TEST_TOKEN}`);
      const file = path.join(dataDir, 'last.mp4');
      await writeFile(file, bytes);
      const probed = probe(file);
      checkRecording(probed, true);
      // The picture kept: the last video frame in the file, against the last one sent before the kill.
      const video = probed.packets.filter((k) => k.codec_type === 'video');
      const keptUntil = last.start + Number(video.at(-1)!.pts_time) * 1000;
      t.diagnostic(`video lost to the kill: ${Math.round(lastVideo - keptUntil)} ms (the last video frame sent vs the last one in the file)`);
      assert.ok(lastVideo - keptUntil <= 2000, `${lastVideo - keptUntil} ms of video lost`);
    } finally {
      first.child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

/** A whole response body as bytes. */
async function download(url: string): Promise<Uint8Array> {
  return (await fetchRaw(url)).bytes;
}
