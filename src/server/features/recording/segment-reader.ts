// Reading a recorded segment back from disk: what it holds (its media's length, read from the media,
// never from the file's times), where a crash cut it, and how to make such a file whole again. A
// fragmented MP4 is walked box by box (only the moofs are read); a WebM is parsed block by block.
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { readBoxHeader } from '../../../media/mp4/boxes.ts';
import { durationPatches, readMoofTimes, type MoofTimes } from '../../../media/mp4/fmp4-file.ts';
import { parseMoov } from '../../../media/mp4/moov.ts';
import type { Tracks } from '../../../media/frames.ts';
import { finishWebmFile, webmFileLayout, type CuePoint } from '../../../media/webm/webm-file.ts';
import { WebmParser } from '../../../media/webm/webm-parser.ts';
import { readSize, vintLength } from '../../../media/webm/ebml.ts';
import type { SegmentFormat } from './layout.ts';

/** One whole fragment of an MP4 segment. */
export interface Mp4Fragment {
  /** File offset of its moof; its moof's bytes; where its mdat ends. */
  at: number;
  moof: Uint8Array;
  end: number;
  times: MoofTimes;
  /** Its media, µs on the file's timeline: from, to. */
  from: number;
  to: number;
  /** Its video starts with a keyframe (or it has no video): a player can start here. */
  key: boolean;
}

/** An MP4 segment as read: its init (ftyp + moov), tracks, fragments and where the whole part ends. */
export interface Mp4Layout {
  init: Uint8Array;
  tracks: Tracks;
  timescales: Map<number, number>;
  videoTrackId: number | null;
  fragments: Mp4Fragment[];
  /** The end of the last whole fragment (a crash may have left more after it). */
  wholeEnd: number;
  size: number;
}

const MAX_INIT = 1024 * 1024;
const MAX_MOOF = 4 * 1024 * 1024;

async function readAt(fh: FileHandle, at: number, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, at + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/** Reads an MP4 segment's layout (throws when its start is not one of ours). */
export async function readMp4(file: string): Promise<Mp4Layout> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    let at = 0;
    let init: Uint8Array | null = null;
    let tracks: Tracks | null = null;
    const timescales = new Map<number, number>();
    let videoTrackId: number | null = null;
    const fragments: Mp4Fragment[] = [];
    let wholeEnd = 0;
    let pending: { at: number; moof: Uint8Array; times: MoofTimes } | null = null;
    while (at + 8 <= size) {
      const head = await readAt(fh, at, 16);
      const h = readBoxHeader(head, 0, head.length, at);
      if (h === null || h.size === 0 || at + h.size > size) break; // cut off here
      if (h.type === 'ftyp' || h.type === 'moov') {
        if (h.type === 'moov') {
          if (at + h.size > MAX_INIT) throw new Error('moov too large');
          init = await readAt(fh, 0, at + h.size);
          const movie = parseMoov(init, at + h.headerSize, at + h.size, 0, { maxDepth: 10, maxTracks: 4 });
          tracks = movie.tracks;
          for (const [id, t] of movie.byId) {
            timescales.set(id, t.timescale);
            if (t.kind === 'video') videoTrackId = id;
          }
          wholeEnd = at + h.size;
        }
      } else if (h.type === 'moof') {
        if (h.size > MAX_MOOF) throw new Error('moof too large');
        const moof = await readAt(fh, at, h.size);
        pending = { at, moof, times: readMoofTimes(moof) };
      } else if (h.type === 'mdat' && pending !== null && init !== null) {
        const micros = (ticks: number, id: number): number => (ticks * 1e6) / (timescales.get(id) ?? 1);
        const from = Math.min(...pending.times.trafs.map((t) => micros(t.time, t.trackId)));
        const to = Math.max(...pending.times.trafs.map((t) => micros(t.time + t.duration, t.trackId)));
        const video = pending.times.trafs.find((t) => t.trackId === videoTrackId);
        fragments.push({ ...pending, end: at + h.size, from, to, key: video === undefined ? videoTrackId === null : video.firstSync });
        pending = null;
        wholeEnd = at + h.size;
      }
      at += h.size;
    }
    if (init === null || tracks === null) throw new Error('no ftyp and moov at its start');
    return { init, tracks, timescales, videoTrackId, fragments, wholeEnd, size };
  } finally {
    await fh.close();
  }
}

/** A WebM segment as read. */
export interface WebmLayout {
  /** Whole: its Segment has a size (it was finished), else a crash cut it. */
  finished: boolean;
  /** The media's end on its timeline, ms. */
  durationMs: number;
  /** The end of its last whole block. */
  wholeEnd: number;
  cues: CuePoint[];
  /** Where each Cluster starts. */
  clusters: number[];
  size: number;
  /** Its first bytes up to its first Cluster: EBML header, Segment header, SeekHead room, Info, Tracks. */
  init: Uint8Array;
}

/** Reads a WebM segment block by block (throws when its start is not one of ours). */
export async function readWebm(file: string): Promise<WebmLayout> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const head = await readAt(fh, 0, Math.min(size, 4096));
    const layout = webmFileLayout(head);
    if (layout === null) throw new Error('not a WebM segment of this server');
    const finished = !(head[layout.segmentSizeAt] === 0x01 && head.subarray(layout.segmentSizeAt + 1, layout.segmentSizeAt + 8).every((b) => b === 0xff));
    const parser = new WebmParser({ frames: true, maxBlocksPerPush: Number.MAX_SAFE_INTEGER });
    let videoTrack = 0;
    const cues: CuePoint[] = [];
    const clusters: number[] = [];
    let firstCluster = -1;
    let lastCluster = -1;
    let clusterHasCue = false;
    let openBlock = -1;
    let wholeEnd = 0;
    let endMs = 0;
    const chunk = 1024 * 1024;
    for (let at = 0; at < size; at += chunk) {
      const bytes = await readAt(fh, at, Math.min(chunk, size - at));
      let events;
      try {
        events = parser.push(bytes);
      } catch {
        break; // damaged from here on: what came before stands
      }
      for (const e of events) {
        if (e.kind === 'tracks') videoTrack = e.tracks.find((t) => t.type === 'video')?.number ?? 0;
        else if (e.kind === 'cluster') {
          if (firstCluster < 0) firstCluster = e.offset;
          lastCluster = e.offset;
          clusters.push(e.offset);
          clusterHasCue = false;
          if (openBlock < 0) wholeEnd = e.offset;
        } else if (e.kind === 'block') {
          if (e.offset > 0 && openBlock < 0) wholeEnd = Math.max(wholeEnd, e.offset);
          openBlock = e.offset;
          if (!clusterHasCue && e.cluster === lastCluster && (videoTrack === 0 || (e.track === videoTrack && e.keyframe))) {
            clusterHasCue = true;
            cues.push({ time: -1, track: 1, clusterAt: e.cluster });
          }
        } else if (e.kind === 'frame') {
          const last = cues.at(-1);
          if (last && last.time < 0 && last.clusterAt === lastCluster) last.time = e.time;
          endMs = Math.max(endMs, e.time + (e.duration ?? 0));
          // The block is whole: it ends where its element ends.
          const h = await readAt(fh, openBlock, 9);
          wholeEnd = openBlock + 1 + vintEnd(h, 1);
          openBlock = -1;
        }
      }
    }
    const init = await readAt(fh, 0, firstCluster > 0 ? firstCluster : Math.min(size, 4096));
    // (A Cluster's time is its first block's, rounded the same way.)
    const wholeCues = cues.filter((c) => c.time >= 0 && c.clusterAt < wholeEnd);
    let durationMs = endMs;
    if (finished) {
      const d = head.subarray(layout.durationRoomAt, layout.durationRoomAt + 11);
      if (d[0] === 0x44 && d[1] === 0x89 && d[2] === 0x88) durationMs = new DataView(d.buffer, d.byteOffset + 3, 8).getFloat64(0);
    }
    return { finished, durationMs, wholeEnd: finished ? size : wholeEnd, cues: wholeCues, clusters: clusters.filter((c) => c < wholeEnd), size, init };
  } finally {
    await fh.close();
  }
}

/** Bytes from `at` past a size vint (its length plus the size it holds). */
function vintEnd(buf: Uint8Array, at: number): number {
  const length = vintLength(buf[at] ?? 0);
  return length + Math.max(0, readSize(buf, at, length));
}

/** What a segment holds, read from its media. */
export interface SegmentContents {
  /** µs of media from its start. */
  durationUs: number;
  bytes: number;
  /** The file had to be cut back or finished (a crash stopped its writing). */
  repaired: boolean;
}

/**
 * Reads a segment and makes it whole if a crash cut it: cut back to its last whole fragment or
 * block; a WebM gets its Cues, SeekHead, Duration and size, an MP4 its duration in its header
 * (where it still says 0, "unknown"; a disk that cannot be written leaves it so, and the segment
 * still plays). Null when nothing in it can play (it is then removed).
 */
export async function recoverSegment(file: string, format: SegmentFormat): Promise<SegmentContents | null> {
  if (format === 'mp4') {
    const m = await readMp4(file);
    if (m.fragments.length === 0) return null;
    const durationUs = Math.max(...m.fragments.map((f) => f.to));
    const cut = m.wholeEnd < m.size;
    if (cut) {
      const fh = await open(file, 'r+');
      try {
        await fh.truncate(m.wholeEnd);
      } finally {
        await fh.close();
      }
    }
    // Its duration, where the header still says 0 (a file finished says it already).
    const unknown = durationPatches(m.init, durationUs).filter((p) => new DataView(m.init.buffer, m.init.byteOffset).getUint32(p.at) === 0);
    let filled = false;
    if (unknown.length > 0) {
      try {
        const fh = await open(file, 'r+');
        try {
          for (const p of unknown) await fh.write(p.bytes, 0, p.bytes.length, p.at);
          filled = true;
        } finally {
          await fh.close();
        }
      } catch {
        // (A read-only disk: it plays as it is, its length read from its fragments.)
      }
    }
    return { durationUs, bytes: m.wholeEnd, repaired: cut || filled };
  }
  const w = await readWebm(file);
  if (w.finished) return { durationUs: w.durationMs * 1000, bytes: w.size, repaired: false };
  if (w.cues.length === 0) return null;
  const layout = webmFileLayout(w.init)!;
  const { tail, patches } = finishWebmFile(layout, w.cues, w.durationMs, w.wholeEnd, w.clusters);
  const fh = await open(file, 'r+');
  try {
    await fh.truncate(w.wholeEnd);
    await fh.write(tail, 0, tail.length, w.wholeEnd);
    for (const p of patches) await fh.write(p.bytes, 0, p.bytes.length, p.at);
  } finally {
    await fh.close();
  }
  return { durationUs: w.durationMs * 1000, bytes: w.wholeEnd + tail.length, repaired: true };
}
