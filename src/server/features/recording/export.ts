// One file for a range of recorded time, stitched from the segments that hold it: their frames are
// read back (demuxed) and written again as one segment would be, from the last keyframe at or
// before the range's start to its end, on one timeline that starts at 0 (gaps between segments are
// kept as gaps). Written to a file of its own in the recordings folder (removed once sent, or after
// EXPORT_KEEP_MS), so that it can be sent with its length and answer Range requests (Safari's
// <video> asks for ranges). A range across a change of the camera's stream (codec, picture size)
// cannot be one file: the error names the parts, each of which can be asked for on its own.
import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sameTrack, type MediaFrame, type Tracks } from '../../../media/frames.ts';
import { Fmp4Demuxer } from '../../../media/mp4/fmp4-demuxer.ts';
import { WebmDemuxer } from '../../../media/webm/webm-demuxer.ts';
import type { SegmentFormat } from './layout.ts';
import { SegmentFile } from './segment-file.ts';
import { segmentWriter, type SegmentWriter } from './segment-writer.ts';
import type { RecordingStore, Span } from './store.ts';

/** Longest range one export may cover. */
export const MAX_EXPORT_MS = 6 * 3600 * 1000;
/** An export file is removed this long after it was made, if still there. */
const EXPORT_KEEP_MS = 10 * 60 * 1000;
/** Frames kept while looking for the range's start (the group of pictures before it), at most. */
const MAX_LEAD_BYTES = 64 * 1024 * 1024;
const READ_CHUNK = 1024 * 1024;

export type ExportResult =
  | { ok: true; file: string; format: SegmentFormat; bytes: number; start: number; end: number; release: () => void }
  | { ok: false; status: number; error: string; parts?: Span[] };

/** Reads a segment's frames in order (its tracks first). */
async function* framesOf(abs: string, format: SegmentFormat): AsyncGenerator<{ tracks: Tracks } | { frame: MediaFrame }> {
  const demuxer = format === 'mp4' ? new Fmp4Demuxer() : new WebmDemuxer();
  const fh = await open(abs, 'r');
  try {
    const buf = new Uint8Array(READ_CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      let events;
      try {
        events = demuxer.push(buf.slice(0, bytesRead));
      } catch {
        return; // a cut-off end (the segment being written): what came before stands
      }
      for (const e of events) yield e.kind === 'tracks' ? { tracks: e.tracks } : { frame: e.frame };
    }
  } finally {
    await fh.close();
  }
}

/** Bytes waiting for the disk before the export waits for them (reading outruns writing). */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;
/** Free bytes an export leaves on the disk at least (recordings go on). */
const SPARE_BYTES = 256 * 1024 * 1024;

/** An export made, kept for its player's Range requests while anyone reads it and for EXPORT_KEEP_MS after the last use. */
interface Kept {
  key: string;
  result: Extract<ExportResult, { ok: true }>;
  /** Responses sending it now: its file goes only once none is. */
  readers: number;
  retired: boolean;
  timer: NodeJS.Timeout;
}

/** The export being made (one at a time) and the last one made, per recordings folder (one per server). */
const exports = new Map<string, { making: { key: string; promise: Promise<ExportResult> } | null; last: Kept | null }>();

/**
 * One file for [start, end) of a camera's recordings: the one kept when it was for the same range
 * (a player asks for it in ranges), or the one being made for it, else made now, one at a time
 * (429 while another is made). `reserve`: free bytes it must leave on the disk (the retention
 * floor, so that an export never makes retention delete recordings). Call `use()` on the result
 * around each response that sends it; `release` lets it go at once (tests).
 */
export async function exportRange(store: RecordingStore, cameraId: string, start: number, end: number, reserve = 0): Promise<ExportResult & { use?: () => () => void }> {
  let state = exports.get(store.root);
  if (!state) exports.set(store.root, (state = { making: null, last: null }));
  const key = `${cameraId}|${start}|${end}`;
  const st = state;
  if (st.last?.key === key && !st.last.retired) return withUse(st.last);
  if (st.making?.key === key) {
    await st.making.promise.catch(() => undefined);
    return st.last?.key === key ? withUse(st.last) : exportRange(store, cameraId, start, end, reserve);
  }
  if (st.making) return { ok: false, status: 429, error: 'another export is being made: try again in a moment' };
  const promise = make(store, cameraId, start, end, Math.max(SPARE_BYTES, reserve));
  st.making = { key, promise };
  try {
    const result = await promise;
    if (!result.ok) return result;
    if (st.last) retire(st, st.last);
    const kept: Kept = { key, result, readers: 0, retired: false, timer: setTimeout(() => retire(st, kept), EXPORT_KEEP_MS).unref() };
    st.last = kept;
    const release = result.release;
    result.release = () => {
      clearTimeout(kept.timer);
      if (st.last === kept) st.last = null;
      release();
    };
    return withUse(kept);
  } finally {
    st.making = null;
  }
}

/** The kept export with `use()`: counted while a response sends it; each use starts its time again. */
function withUse(kept: Kept): Extract<ExportResult, { ok: true }> & { use: () => () => void } {
  return {
    ...kept.result,
    use: () => {
      kept.readers++;
      kept.timer.refresh();
      let done = false;
      return () => {
        if (done) return;
        done = true;
        kept.readers--;
        if (kept.retired && kept.readers === 0) kept.result.release();
      };
    },
  };
}

/** An export no longer kept: its file goes once nobody reads it. */
function retire(st: { last: Kept | null }, kept: Kept): void {
  if (kept.retired) return;
  kept.retired = true;
  clearTimeout(kept.timer);
  if (st.last === kept) st.last = null;
  if (kept.readers === 0) kept.result.release();
}

async function make(store: RecordingStore, cameraId: string, start: number, end: number, reserve: number): Promise<ExportResult> {
  const segments = store.segments(cameraId, start, end).sort((a, b) => a.start - b.start || a.seq - b.seq);
  if (segments.length === 0) return { ok: false, status: 404, error: 'nothing was recorded in that range' };
  // (Held before anything is awaited: retention's age rule spares them meanwhile.)
  const release = store.hold(segments.map((s) => store.pathOf(s)));
  const needed = segments.reduce((n, s) => n + s.bytes, 0);
  const free = (await store.space().catch(() => null))?.free ?? 0;
  if (free < needed + reserve) {
    release();
    return { ok: false, status: 507, error: `not enough free space to make this file (about ${Math.round(needed / 1e6)} MB) without deleting recordings: choose a shorter range` };
  }
  const abs = path.join(store.root, `.export-${randomBytes(6).toString('hex')}`);
  let file: SegmentFile | null = null;
  /** The file made, until it is handed over (else it is removed). */
  let written: SegmentFile | null = null;
  try {
    let writer: SegmentWriter | null = null;
    let tracks: Tracks | null = null;
    let format: SegmentFormat | null = null;
    /** Output time 0 on the wall clock (ms), once the first frame is written. */
    let base: number | null = null;
    let lastOut = 0;
    let lead: MediaFrame[] = [];
    let leadBytes = 0;
    let firstWall = 0;
    let lastWall = start;
    const parts: Span[] = [];
    let failed: Error | null = null;
    for (const segment of segments) {
      let segTracks: Tracks | null = null;
      /** Output time (µs) of this segment's time 0, once known. */
      let shift: number | null = null;
      for await (const item of framesOf(store.pathOf(segment), segment.format)) {
        if ('tracks' in item) {
          segTracks = item.tracks;
          if (tracks !== null && (format !== segment.format || !sameTrack(tracks.video, segTracks.video) || !sameTrack(tracks.audio, segTracks.audio))) {
            parts.push({ start: segment.start, end: segment.end });
          }
          continue;
        }
        if (parts.length > 0) break;
        const f = item.frame;
        const wall = segment.start + f.timestamp / 1000;
        if (wall >= end) break;
        if (writer === null) {
          // Before the range: keep the group of pictures the range starts in.
          if (f.track === 'video' ? f.key : segTracks?.video === null) {
            lead = [];
            leadBytes = 0;
          }
          if (lead.length > 0 || (f.track === 'video' ? f.key : segTracks?.video === null)) {
            lead.push({ ...f, timestamp: wall * 1000 }); // (wall µs, for now)
            leadBytes += f.data.byteLength;
            if (leadBytes > MAX_LEAD_BYTES) return { ok: false, status: 422, error: 'the recording has no keyframe near the start of that range' };
          }
          if (wall < start || lead.length === 0 || segTracks === null) continue;
          tracks = segTracks;
          format = segment.format;
          base = (lead[0] as MediaFrame).timestamp / 1000;
          firstWall = base;
          writer = segmentWriter(format, tracks, new Date(base));
          file = new SegmentFile(abs, (err) => (failed = err));
          written = file;
          for (const l of lead) {
            const t = l.timestamp - base * 1000;
            if (t < 0) continue;
            file.write(writer.add({ ...l, timestamp: t }));
            lastOut = Math.max(lastOut, t);
          }
          lead = [];
          shift = (segment.start - base) * 1000;
          lastWall = wall;
          continue;
        }
        // On the timeline: this segment's place, never before what was written (a clock that jumped back).
        if (shift === null) shift = Math.max((segment.start - (base as number)) * 1000, lastOut);
        const t = f.timestamp + shift;
        file!.write(writer.add({ ...f, timestamp: t }));
        if (file!.queued > MAX_QUEUED_BYTES) await file!.drained();
        lastOut = Math.max(lastOut, t);
        lastWall = Math.max(lastWall, wall);
      }
      if (parts.length > 0) break;
    }
    if (parts.length > 0) {
      const first = { start: Math.max(start, segments[0]!.start), end: parts[0]!.start };
      return { ok: false, status: 409, error: "the camera's stream changed (codec or picture size) within that range: export each part on its own", parts: [first, { start: parts[0]!.start, end: Math.min(end, segments.at(-1)!.end) }] };
    }
    if (writer === null || file === null || base === null || format === null) return { ok: false, status: 404, error: 'nothing was recorded in that range' };
    const { tail, patches } = writer.finish();
    file.write(tail);
    file.patch(patches);
    await file.close();
    if (failed) throw failed;
    const bytes = file.written;
    written = null;
    return { ok: true, file: abs, format, bytes, start: firstWall, end: lastWall, release: () => void rm(abs, { force: true }).catch(() => undefined) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: false, status: 410, error: 'part of that range was deleted meanwhile (to keep the disk from filling up): choose the range again' };
    throw err;
  } finally {
    release();
    // Not handed over (an error, a change of stream): its file goes.
    if (written !== null) {
      await (written as SegmentFile).close();
      await rm(abs, { force: true }).catch(() => undefined);
    }
  }
}
