// What has been recorded, per camera: its segments in order, read at start from each camera's
// `index.ndjson` (one line per finished segment) and checked against the files; a file the index
// does not list (the segment a crash cut off, or every file when the index is missing or damaged)
// is read from its media and listed. Segments are ordered by their sequence number, never by their
// times (the clock may jump); spans of recorded time come from their media.
import { appendFile, mkdir, readdir, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { cameraId as cameraIdSchema } from '../../../shared/schemas.ts';
import { MIME, parseSegmentPath, parseThumbnailPath, segmentPath, thumbnailPath, type SegmentFormat } from './layout.ts';
import { recoverSegment } from './segment-reader.ts';

/** One segment, finished or being written. */
export interface Segment {
  cameraId: string;
  seq: number;
  /** Relative to the camera's folder. */
  file: string;
  format: SegmentFormat;
  /** Wall time of its first frame and of its media's end, ms since the epoch. */
  start: number;
  end: number;
  bytes: number;
}

/** A span of recorded time (ms since the epoch). */
export interface Span {
  start: number;
  end: number;
}

export interface StoreLog {
  info(message: string): void;
  warn(message: string): void;
}

/** A file shorter than this that cannot be read holds no whole frame (an init is ~1 KB). */
const MIN_SEGMENT_BYTES = 4096;
/** Segments closer than this are one span (a new segment starts where the last one ended, give or take a frame). */
const JOIN_MS = 1000;
const line = z.object({
  seq: z.number().int().min(0),
  file: z.string().max(100),
  format: z.enum(['mp4', 'webm']),
  start: z.number().int(),
  end: z.number().int(),
  bytes: z.number().int().min(0),
});

interface CameraRecordings {
  segments: Segment[];
  nextSeq: number;
  /** The segment being written, if any (not yet in the index). */
  writing: Segment | null;
  /** When each thumbnail was taken, in order. */
  thumbnails: number[];
  /** The index write under way (they go one at a time). */
  index: Promise<void>;
}

export class RecordingStore {
  private readonly cameras = new Map<string, CameraRecordings>();
  /** Files being read (an export): count per absolute path. */
  private readonly reading = new Map<string, number>();

  constructor(
    /** `<data-dir>/recordings`. */
    readonly root: string,
    private readonly log: StoreLog,
  ) {}

  /** Reads every camera's recordings: the index, checked against the files; cut segments are recovered. */
  async load(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true, mode: 0o700 });
    } catch (err) {
      // (Recording then says why it cannot write; the server goes on.)
      this.log.warn(`recordings: ${this.root} cannot be made (${(err as Error).message})`);
      return;
    }
    for (const entry of await readdir(this.root, { withFileTypes: true })) {
      // What an export or a disk probe left when the server stopped.
      if (/^\.(export|probe|deleting)-/.test(entry.name)) await rm(path.join(this.root, entry.name), { recursive: true, force: true }).catch(() => undefined);
      if (!entry.isDirectory() || !cameraIdSchema.safeParse(entry.name).success) continue;
      try {
        this.cameras.set(entry.name, await this.loadCamera(entry.name));
      } catch (err) {
        this.log.warn(`recordings: ${entry.name}: cannot be read (${(err as Error).message}); its recordings are not listed`);
      }
    }
  }

  private async loadCamera(id: string): Promise<CameraRecordings> {
    const dir = path.join(this.root, id);
    const indexFile = path.join(dir, 'index.ndjson');
    const listed = new Map<string, Segment>();
    let damaged = false;
    let text = '';
    try {
      text = await readFile(indexFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') damaged = true;
    }
    for (const raw of text.split('\n')) {
      if (raw === '') continue;
      let parsed;
      try {
        parsed = line.safeParse(JSON.parse(raw));
      } catch {
        parsed = null;
      }
      if (!parsed?.success) {
        damaged = true;
        continue;
      }
      listed.set(parsed.data.file, { cameraId: id, ...parsed.data });
    }
    const segments: Segment[] = [];
    let rewrite = damaged;
    let recovered = 0;
    /** The highest number any segment's name holds, readable or not (numbers are never reused). */
    let maxSeq = 0;
    const thumbnails: number[] = [];
    for (const day of (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name)) {
      for (const name of await readdir(path.join(dir, day))) {
        const thumb = parseThumbnailPath(day, name);
        if (thumb !== null) thumbnails.push(thumb);
        const n = parseSegmentPath(day, name);
        if (n === null) continue;
        maxSeq = Math.max(maxSeq, n.seq);
        const file = path.join(day, name);
        const known = listed.get(file);
        if (known) {
          segments.push(known);
          listed.delete(file);
          continue;
        }
        // Not in the index: read from its media (and made whole if a crash cut it).
        rewrite = true;
        const abs = path.join(dir, file);
        let contents = null;
        try {
          contents = await recoverSegment(abs, n.format);
        } catch (err) {
          // A stop before its first whole fragment leaves a file shorter than its start: nothing to play.
          if (((await stat(abs).catch(() => null))?.size ?? 0) < MIN_SEGMENT_BYTES) {
            await rm(abs, { force: true }).catch(() => undefined);
            continue;
          }
          this.log.warn(`recordings: ${id}/${file} cannot be read (${(err as Error).message}); it is left as it is and not listed`);
          continue;
        }
        if (contents === null) {
          await rm(abs, { force: true }).catch(() => undefined);
          continue;
        }
        recovered++;
        segments.push({ cameraId: id, seq: n.seq, file, format: n.format, start: n.start, end: n.start + Math.round(contents.durationUs / 1000), bytes: contents.bytes });
      }
    }
    if (listed.size > 0) rewrite = true; // listed, but the files are gone
    segments.sort((a, b) => a.seq - b.seq);
    if (recovered > 0) this.log.info(`recordings: ${id}: ${recovered} segment${recovered === 1 ? '' : 's'} not in the index (cut off by a stop, or the index was lost) read back from ${recovered === 1 ? 'its' : 'their'} media and made whole`);
    if (damaged) this.log.warn(`recordings: ${id}: the index was damaged; rebuilt from the files`);
    const c: CameraRecordings = { segments, nextSeq: Math.max(maxSeq, segments.at(-1)?.seq ?? 0) + 1, writing: null, thumbnails: thumbnails.sort((a, b) => a - b), index: Promise.resolve() };
    if (rewrite) await this.writeIndex(id, c).catch((err: unknown) => this.log.warn(`recordings: ${id}: the index cannot be written (${(err as Error).message}); it is rebuilt at the next start`));
    return c;
  }

  /** Rewrites a camera's index from its segments now, after whatever index write is under way. */
  private writeIndex(id: string, c: CameraRecordings): Promise<void> {
    return this.indexWrite(c, async () => {
      const file = path.join(this.root, id, 'index.ndjson');
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, c.segments.map((s) => `${JSON.stringify(indexLine(s))}\n`).join(''), { mode: 0o600, flag: 'w' });
      await rename(tmp, file);
    });
  }

  /** Index writes of one camera, one at a time (an appended line never falls between a rewrite's read and its rename). */
  private indexWrite(c: CameraRecordings, write: () => Promise<void>): Promise<void> {
    const next = c.index.then(write);
    c.index = next.catch(() => undefined);
    return next;
  }

  /** The cameras that have recordings. */
  cameraIds(): string[] {
    return [...this.cameras.keys()];
  }

  private camera(id: string): CameraRecordings {
    let c = this.cameras.get(id);
    if (!c) {
      c = { segments: [], nextSeq: 1, writing: null, thumbnails: [], index: Promise.resolve() };
      this.cameras.set(id, c);
    }
    return c;
  }

  /** A new segment begins now: its path (absolute) and record. Its folders are made by the writer. */
  begin(cameraId: string, start: number, format: SegmentFormat): { abs: string; segment: Segment } {
    const c = this.camera(cameraId);
    const seq = c.nextSeq++;
    const file = segmentPath({ start, seq, format });
    const segment: Segment = { cameraId, seq, file, format, start, end: start, bytes: 0 };
    c.writing = segment;
    return { abs: path.join(this.root, cameraId, file), segment };
  }

  /** The segment being written has grown. */
  grew(segment: Segment, endUs: number, bytes: number): void {
    segment.end = segment.start + Math.round(endUs / 1000);
    segment.bytes = bytes;
  }

  /** A segment is finished (`keep` false: it held nothing and was removed). */
  async finished(segment: Segment, keep: boolean): Promise<void> {
    const c = this.camera(segment.cameraId);
    if (c.writing === segment) c.writing = null;
    if (!keep) return;
    c.segments.push(segment);
    await this.indexWrite(c, () => appendFile(path.join(this.root, segment.cameraId, 'index.ndjson'), `${JSON.stringify(indexLine(segment))}\n`, { mode: 0o600 }));
  }

  /** Segments overlapping [from, to), the one being written included, in order. */
  segments(cameraId: string, from = -Infinity, to = Infinity): Segment[] {
    const c = this.cameras.get(cameraId);
    if (!c) return [];
    const all = c.writing ? [...c.segments, c.writing] : c.segments;
    return all.filter((s) => s.end > from && s.start < to);
  }

  /** Spans of recorded time overlapping [from, to), merged where segments follow each other. */
  spans(cameraId: string, from = -Infinity, to = Infinity): Span[] {
    const spans: Span[] = [];
    for (const s of [...this.segments(cameraId, from, to)].sort((a, b) => a.start - b.start)) {
      if (s.end <= s.start) continue;
      const last = spans.at(-1);
      if (last && s.start <= last.end + JOIN_MS) last.end = Math.max(last.end, s.end);
      else spans.push({ start: s.start, end: s.end });
    }
    return spans;
  }

  /** The segment being written for a camera, if any. */
  writingOf(cameraId: string): Segment | null {
    return this.cameras.get(cameraId)?.writing ?? null;
  }

  /** A segment's file. */
  pathOf(s: Segment): string {
    return path.join(this.root, s.cameraId, s.file);
  }

  mime(s: Segment): string {
    return MIME[s.format];
  }

  /** Marks files as being read until the returned function is called (deleting then waits). */
  hold(files: readonly string[]): () => void {
    for (const f of files) this.reading.set(f, (this.reading.get(f) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const f of files) {
        const n = (this.reading.get(f) ?? 1) - 1;
        if (n <= 0) this.reading.delete(f);
        else this.reading.set(f, n);
      }
    };
  }

  /** Bytes of every finished segment of a camera. */
  bytes(cameraId: string): number {
    return (this.cameras.get(cameraId)?.segments ?? []).reduce((n, s) => n + s.bytes, 0);
  }

  /** Whether a file is being read. */
  isRead(abs: string): boolean {
    return this.reading.has(abs);
  }

  /** Removes finished segments (retention), never one being written; one index write per camera. */
  async remove(segments: readonly Segment[]): Promise<void> {
    const touched = new Map<string, CameraRecordings>();
    for (const segment of segments) {
      const c = this.cameras.get(segment.cameraId);
      if (!c || c.writing === segment) continue;
      await rm(this.pathOf(segment), { force: true });
      c.segments = c.segments.filter((s) => s !== segment);
      touched.set(segment.cameraId, c);
    }
    // (Not for a camera whose recordings were all deleted meanwhile.)
    for (const [id, c] of touched) if (this.cameras.get(id) === c) await this.writeIndex(id, c);
  }

  /** Keeps a thumbnail taken at `time` (a small JPEG for the timeline). */
  async addThumbnail(cameraId: string, time: number, jpeg: Uint8Array): Promise<void> {
    const c = this.camera(cameraId);
    const abs = path.join(this.root, cameraId, thumbnailPath(time));
    await mkdir(path.dirname(abs), { recursive: true, mode: 0o700 });
    await writeFile(abs, jpeg, { mode: 0o600 });
    if (!c.thumbnails.includes(time)) {
      c.thumbnails.push(time);
      c.thumbnails.sort((a, b) => a - b);
    }
  }

  /** When the thumbnails in [from, to) were taken. */
  thumbnails(cameraId: string, from = -Infinity, to = Infinity): number[] {
    return (this.cameras.get(cameraId)?.thumbnails ?? []).filter((t) => t >= from && t < to);
  }

  /** The thumbnail nearest `at` (within `within` ms): when it was taken and its file; null if none. */
  thumbnailNear(cameraId: string, at: number, within = 5 * 60_000): { time: number; abs: string } | null {
    let best: number | null = null;
    for (const t of this.cameras.get(cameraId)?.thumbnails ?? []) if (Math.abs(t - at) <= within && (best === null || Math.abs(t - at) < Math.abs(best - at))) best = t;
    return best === null ? null : { time: best, abs: path.join(this.root, cameraId, thumbnailPath(best)) };
  }

  /** The latest thumbnail of a camera, with when it was taken; null if none. */
  async latestThumbnail(cameraId: string): Promise<{ jpeg: Uint8Array; time: number } | null> {
    const time = this.cameras.get(cameraId)?.thumbnails.at(-1);
    if (time === undefined) return null;
    return { jpeg: new Uint8Array(await readFile(path.join(this.root, cameraId, thumbnailPath(time)))), time };
  }

  /** Deletes a camera's thumbnails taken before `before`. */
  async pruneThumbnails(cameraId: string, before: number): Promise<void> {
    const c = this.cameras.get(cameraId);
    if (!c) return;
    const old = c.thumbnails.filter((t) => t < before);
    c.thumbnails = c.thumbnails.filter((t) => t >= before);
    for (const t of old) await rm(path.join(this.root, cameraId, thumbnailPath(t)), { force: true });
  }

  /** Deletes every recording of a camera (the owner forgot it and asked for that): bytes freed; null while one is being written. */
  async removeCamera(cameraId: string): Promise<number | null> {
    const c = this.cameras.get(cameraId);
    if (!c) return 0;
    if (c.writing) return null;
    const bytes = this.bytes(cameraId);
    this.cameras.delete(cameraId);
    // Out of the way at once (a camera of this id that comes back starts a folder of its own), then deleted.
    const gone = path.join(this.root, `.deleting-${cameraId}-${Date.now()}`);
    await rename(path.join(this.root, cameraId), gone).catch(() => undefined);
    void c.index.then(() => rm(gone, { recursive: true, force: true })).catch((err: unknown) => this.log.warn(`recordings: ${gone} could not be deleted (${(err as Error).message})`));
    return bytes;
  }

  /** The recordings' disk: its size and the bytes free for this server (what statfs calls available). */
  async space(): Promise<{ size: number; free: number }> {
    const fs = await statfs(this.root);
    return { size: fs.blocks * fs.bsize, free: fs.bavail * fs.bsize };
  }

  /** Size of a file on disk now (0 if gone). */
  async sizeOf(s: Segment): Promise<number> {
    try {
      return (await stat(this.pathOf(s))).size;
    } catch {
      return 0;
    }
  }
}

function indexLine(s: Segment): z.infer<typeof line> {
  return { seq: s.seq, file: s.file, format: s.format, start: s.start, end: s.end, bytes: s.bytes };
}
