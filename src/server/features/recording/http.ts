// The recordings over HTTP, as handlers the server's routes call (this folder knows no routes or
// access rules: the server puts these behind viewer access). Every parameter is checked; a hostile
// range gets a 400 that says what is wrong. Files are sent with their length and answer Range
// requests (Safari's <video> asks for ranges).
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { exportRange, MAX_EXPORT_MS } from './export.ts';
import { MIME, type SegmentFormat } from './layout.ts';
import type { RecordingStore } from './store.ts';

/** Epoch ms a range may name: 2000-01-01 to 2200-01-01. */
const MIN_TIME = 946_684_800_000;
const MAX_TIME = 7_258_118_400_000;
/** Longest range a listing may cover. */
const MAX_LIST_MS = 8 * 24 * 3600 * 1000;

type Json = (status: number, body: unknown) => void;

/** A time parameter: epoch ms, an integer in range; else why not. */
function timeParam(url: URL, name: string, fallback?: number): number | string {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback ?? `${name} is missing: give it as milliseconds since 1970 (UTC)`;
  if (url.searchParams.getAll(name).length > 1) return `${name} is given more than once`;
  if (!/^\d{1,16}$/.test(raw)) return `${name} must be a whole number of milliseconds since 1970 (UTC), not "${raw.slice(0, 40)}"`;
  const n = Number(raw);
  if (n < MIN_TIME || n > MAX_TIME) return `${name} ${n} is outside 2000-2200`;
  return n;
}

/** [from, to) from two parameters; else a 400 has been sent. */
function range(url: URL, json: Json, a: string, b: string, max: number, defaults?: [number, number]): [number, number] | null {
  const from = timeParam(url, a, defaults?.[0]);
  const to = timeParam(url, b, defaults?.[1]);
  const error = typeof from === 'string' ? from : typeof to === 'string' ? to : to <= (from as number) ? `${b} must be after ${a}` : (to as number) - (from as number) > max ? `the range is longer than ${Math.round(max / 3600_000)} hours` : null;
  if (error !== null) {
    json(400, { error });
    return null;
  }
  return [from as number, to as number];
}

/** GET …/recordings?from=&to= : spans of recorded time, and the segments with their numbers (for playback). */
export function listRecordings(store: RecordingStore, cameraId: string, url: URL, json: Json): void {
  const now = Date.now();
  const r = range(url, json, 'from', 'to', MAX_LIST_MS, [now - 24 * 3600 * 1000, now + 60_000]);
  if (r === null) return;
  const [from, to] = r;
  json(200, {
    cameraId,
    from,
    to,
    spans: store.spans(cameraId, from, to),
    segments: store.segments(cameraId, from, to).map((s) => ({ seq: s.seq, start: s.start, end: s.end, format: s.format, bytes: s.bytes })),
    thumbnails: store.thumbnails(cameraId, from, to),
  });
}

/** GET …/thumbnail?at= : the timeline's thumbnail nearest that time (within 5 minutes). */
export async function sendThumbnail(store: RecordingStore, cameraId: string, url: URL, req: IncomingMessage, res: ServerResponse, json: Json): Promise<void> {
  const at = timeParam(url, 'at');
  if (typeof at === 'string') return json(400, { error: at });
  const near = store.thumbnailNear(cameraId, at);
  if (!near) return json(404, { error: 'no thumbnail near that time' });
  res.setHeader('X-Snapshot-Time', new Date(near.time).toISOString());
  await sendFile(req, res, near.abs, 'image/jpeg', null);
}

/** GET …/segments?seq= : one segment's file as it is (playback in the viewer). */
export async function sendSegment(store: RecordingStore, cameraId: string, url: URL, req: IncomingMessage, res: ServerResponse, json: Json): Promise<void> {
  const raw = url.searchParams.get('seq') ?? '';
  if (!/^\d{1,12}$/.test(raw)) return json(400, { error: 'seq must be a segment number' });
  const segment = store.segments(cameraId).find((s) => s.seq === Number(raw));
  if (!segment) return json(404, { error: `no segment ${raw} of this camera (it may have been deleted to make room)` });
  const abs = store.pathOf(segment);
  const release = store.hold([abs]);
  res.once('close', release);
  await sendFile(req, res, abs, MIME[segment.format], null);
}

/** GET …/recording?start=&end= : one file for the range, to play or download. */
export async function sendExport(store: RecordingStore, cameraId: string, cameraName: string, url: URL, req: IncomingMessage, res: ServerResponse, json: Json, reserve = 0): Promise<void> {
  const r = range(url, json, 'start', 'end', MAX_EXPORT_MS);
  if (r === null) return;
  const result = await exportRange(store, cameraId, r[0], r[1], reserve);
  if (!result.ok) {
    if (result.status === 429) res.setHeader('Retry-After', '5');
    return json(result.status, { error: result.error, ...(result.parts ? { parts: result.parts } : {}) });
  }
  // (The file stays for the player's further Range requests, while it is read and a while after.)
  const done = result.use?.() ?? (() => undefined);
  res.once('close', done);
  await sendFile(req, res, result.file, MIME[result.format], fileName(cameraName, result.start, result.format));
}

/** `Kitchen 2026-12-05 10-25-33.mp4`: the camera's name (safe characters only) and the UTC start. */
export function fileName(cameraName: string, start: number, format: SegmentFormat): string {
  const name = cameraName.normalize('NFKC').replace(/[^\p{L}\p{N} ._-]/gu, '').replace(/\s+/g, ' ').trim().slice(0, 60) || 'camera';
  const iso = new Date(start).toISOString();
  return `${name} ${iso.slice(0, 10)} ${iso.slice(11, 19).replaceAll(':', '-')}.${format}`;
}

/** Sends a file with its length, answering a single-range Range request with 206 (416 when outside). */
async function sendFile(req: IncomingMessage, res: ServerResponse, abs: string, type: string, download: string | null): Promise<void> {
  const size = (await stat(abs)).size;
  const headers: Record<string, string> = {
    'Content-Type': type,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
  if (download !== null) {
    const ascii = download.replace(/[^\x20-\x7e]/g, '_').replaceAll('"', '');
    headers['Content-Disposition'] = `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(download)}`;
  }
  let start = 0;
  let end = size - 1;
  let status = 200;
  const asked = req.headers.range;
  if (asked !== undefined) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(asked.trim());
    if (m && (m[1] !== '' || m[2] !== '')) {
      if (m[1] === '') start = Math.max(0, size - Number(m[2]));
      else {
        start = Number(m[1]);
        if (m[2] !== '') end = Math.min(end, Number(m[2]));
      }
      if (start > end || start >= size) {
        res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}` });
        res.end();
        return;
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    }
  }
  headers['Content-Length'] = String(end - start + 1);
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  // (pipeline closes the file when the client goes away: players cancel range requests all the time.)
  pipeline(createReadStream(abs, { start, end }), res, () => undefined);
}
