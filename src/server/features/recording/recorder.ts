// The recorder: a consumer of each camera's frames (it counts as wanting the camera's media), which
// writes them to segments of about a minute, cut at keyframes, one file each (see layout.ts,
// segment-writer.ts, segment-file.ts), and lists them in the store. It never drops silently: when
// the disk falls behind by RECORDER_QUEUE_BYTES the feed drops video up to the next keyframe, and
// the recorder logs the gap and says so in the camera's status. A write that fails (disk full,
// read-only) stops that camera's recording with a clear message; live view goes on, and recording
// resumes by itself once a probe write works again.
import { unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Camera, CoreFrame } from '../../core/camera.ts';
import type { Cameras, Feature } from '../../core/feature.ts';
import type { FeedSink } from '../../core/feed.ts';
import type { Tracks } from '../../../media/frames.ts';
import { formatFor } from './layout.ts';
import { SegmentFile } from './segment-file.ts';
import { FLUSH_US, segmentWriter, type SegmentWriter } from './segment-writer.ts';
import { recoverSegment } from './segment-reader.ts';
import type { RecordingStore, Segment } from './store.ts';

/** A segment is cut at the first keyframe after this much media (a keyframe is asked for then). */
export const SEGMENT_MS = 60_000;
/** Bytes waiting for the disk before the recorder counts as behind (its video dropped to a keyframe, logged). */
export const RECORDER_QUEUE_BYTES = 32 * 1024 * 1024;
/** How often a recording stopped by a disk error tries again. */
export const RETRY_MS = 10_000;
/** A thumbnail for the timeline about this often while recording. */
export const THUMBNAIL_MS = 60_000;
/** Thumbnails' width. */
const THUMBNAIL_WIDTH = 320;
/** Free bytes a retry needs before it tries a probe write. */
const RETRY_FREE_BYTES = 4 * 1024 * 1024;

export interface RecorderLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string, err?: unknown): void;
}

export interface RecorderOptions {
  store: RecordingStore;
  /** Whether a camera is to be recorded (its switch, else the server's default). */
  shouldRecord(cameraId: string): boolean;
  /** Whether its sound is recorded too. */
  recordSound(cameraId: string): boolean;
  log: RecorderLog;
  segmentMs?: number;
  retryMs?: number;
  /** Called when a segment is finished (retention looks then). */
  onSegment?: (segment: Segment) => void;
}

export class Recorder implements Feature {
  readonly name = 'recorder';
  private readonly recorders = new Map<string, CameraRecorder>();
  private readonly cameras = new Map<string, Camera>();

  constructor(private readonly opts: RecorderOptions) {}

  attach(cameras: Cameras): () => void {
    const listeners = new Map<Camera, () => void>();
    const watch = (camera: Camera): void => {
      this.cameras.set(camera.id, camera);
      const gone = (): void => {
        listeners.delete(camera);
        this.cameras.delete(camera.id);
        void this.stop(camera.id);
      };
      camera.once('gone', gone);
      listeners.set(camera, gone);
      this.update(camera.id);
    };
    for (const camera of cameras.all()) watch(camera);
    const unwatch = cameras.onCamera(watch);
    return () => {
      unwatch();
      for (const [camera, gone] of listeners) camera.off('gone', gone);
      listeners.clear();
      for (const id of [...this.recorders.keys()]) void this.stop(id);
    };
  }

  /** A camera's switch (or the default) changed: start or stop recording it. */
  update(cameraId: string): void {
    const camera = this.cameras.get(cameraId);
    const want = camera !== undefined && this.opts.shouldRecord(cameraId);
    const now = this.recorders.get(cameraId);
    if (want && !now && camera) {
      const r = new CameraRecorder(camera, this.opts);
      this.recorders.set(cameraId, r);
      r.start();
    } else if (want && now) {
      now.soundChanged();
    } else if (!want && now) {
      void this.stop(cameraId);
    }
  }

  /** Whether a camera is being recorded now. */
  isRecording(cameraId: string): boolean {
    return this.recorders.has(cameraId);
  }

  /** Stops recording a camera; resolves once its segment is finished. */
  async stop(cameraId: string): Promise<void> {
    const r = this.recorders.get(cameraId);
    if (!r) return;
    this.recorders.delete(cameraId);
    await r.stop();
  }

  /** Finishes every segment (the server is stopping). */
  async close(): Promise<void> {
    await Promise.all([...this.recorders.keys()].map((id) => this.stop(id)));
  }
}

/** One open segment. */
interface Open {
  segment: Segment;
  file: SegmentFile;
  writer: SegmentWriter;
  /** The period's media time (µs) of the segment's first frame: its time 0. */
  origin: number;
  video: boolean;
}

/** Records one camera while its switch is on. */
class CameraRecorder {
  private open: Open | null = null;
  /** The period's media time and wall time (ms) of a frame, to place segments on the clock. */
  private anchor: { ts: number; wall: number } | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> = Promise.resolve();
  private stopped = false;
  private thumbnailAt = -Infinity;
  private sound: boolean;
  private readonly sink: FeedSink<CoreFrame>;
  /** Its stream cannot be written (a codec the format cannot carry): it waits for the next period, not for the disk. */
  private blocked = false;
  private readonly onTracks = (): void => {
    this.endSegment();
    if (!this.blocked || this.stopped) return;
    this.blocked = false;
    this.camera.setRecording({ state: 'recording' });
    this.camera.attach(this.sink);
  };
  private readonly onOffline = (): void => this.endSegment();

  constructor(
    private readonly camera: Camera,
    private readonly opts: RecorderOptions,
  ) {
    this.sound = opts.recordSound(camera.id);
    const queued = (): number => this.open?.file.queued ?? 0;
    this.sink = {
      congested: () => queued() > RECORDER_QUEUE_BYTES,
      choked: () => queued() > 2 * RECORDER_QUEUE_BYTES,
      join: (frames) => {
        this.endSegment();
        this.anchor = null;
        for (const f of frames) this.take(f);
      },
      send: (f) => this.take(f),
      skipped: (n) => {
        const at = new Date().toISOString();
        opts.log.warn(`recording "${camera.name}" (${camera.id}): the disk fell behind; ${n} video frame${n === 1 ? '' : 's'} up to ${at} were not recorded`);
      },
    };
  }

  start(): void {
    this.camera.on('tracks', this.onTracks);
    this.camera.on('offline', this.onOffline);
    this.camera.attach(this.sink);
    this.camera.setRecording({ state: 'recording' });
    this.flushTimer = setInterval(() => this.flush(), FLUSH_US / 1000).unref();
  }

  /** The sound switch changed: the next segment follows it. */
  soundChanged(): void {
    const sound = this.opts.recordSound(this.camera.id);
    if (sound === this.sound) return;
    this.sound = sound;
    // (While stopped by an error, the next start takes the new setting.)
    if (this.retryTimer || this.blocked) return;
    this.endSegment();
    // Start over at the next keyframe with the new set of tracks.
    this.camera.detach(this.sink);
    this.camera.attach(this.sink);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.camera.off('tracks', this.onTracks);
    this.camera.off('offline', this.onOffline);
    this.camera.detach(this.sink);
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.endSegment();
    this.camera.setRecording(null);
    await this.closing;
  }

  private take(f: CoreFrame): void {
    if (f.track === 'audio' && !this.sound) return;
    const tracks = this.camera.tracks;
    if (tracks === null) return;
    const video = tracks.video !== null;
    if (!video && !this.sound) return;
    if (this.anchor === null) this.anchor = { ts: f.timestamp, wall: f.time > 0 ? f.time : Date.now() };
    let open = this.open;
    const startsHere = f.track === 'video' ? f.key : !video;
    const due = open !== null && f.timestamp - open.origin >= (this.opts.segmentMs ?? SEGMENT_MS) * 1000;
    if (open && due && startsHere) {
      this.endSegment();
      open = null;
    } else if (due && video) {
      this.camera.keyframeWanted(this.sink);
    }
    if (!open) {
      if (!startsHere) return; // (a segment starts at a keyframe)
      open = this.begin({ video: tracks.video, audio: this.sound ? tracks.audio : null }, f);
      if (!open) return;
    }
    const time = f.timestamp - open.origin;
    if (time < 0) return; // sound from just before the segment's first picture
    try {
      open.file.write(open.writer.add({ track: f.track, key: f.key, timestamp: time, duration: f.duration, data: f.data }));
    } catch (err) {
      // A frame the muxer cannot take: this segment ends; the next keyframe starts another.
      this.opts.log.error(`recording "${this.camera.name}": a frame could not be written`, err);
      this.endSegment();
    }
  }

  private begin(tracks: Tracks, first: CoreFrame): Open | null {
    const anchor = this.anchor as { ts: number; wall: number };
    const start = Math.round(anchor.wall + (first.timestamp - anchor.ts) / 1000);
    const format = formatFor(tracks.video?.codec ?? null, tracks.audio?.codec ?? null);
    let writer: SegmentWriter;
    try {
      writer = segmentWriter(format, tracks, new Date(start));
    } catch (err) {
      this.fail(`cannot record this stream: ${(err as Error).message}`, false);
      return null;
    }
    const { abs, segment } = this.opts.store.begin(this.camera.id, start, format);
    const file = new SegmentFile(abs, (err) => this.diskError(err));
    this.open = { segment, file, writer, origin: first.timestamp, video: tracks.video !== null };
    return this.open;
  }

  /** Asks the camera page for a small picture for the timeline (none if it does not answer). */
  private thumbnail(): void {
    this.thumbnailAt = performance.now();
    this.camera.requestSnapshot(THUMBNAIL_WIDTH).then(
      (s) => this.opts.store.addThumbnail(this.camera.id, s.time, s.jpeg).catch((err: unknown) => this.opts.log.warn(`recordings: a thumbnail of "${this.camera.name}" could not be kept: ${(err as Error).message}`)),
      () => undefined,
    );
  }

  /** Every FLUSH_US: what is held goes to the disk, the listing follows, and a thumbnail when one is due. */
  private flush(): void {
    const open = this.open;
    if (!open) return;
    if (open.video && performance.now() - this.thumbnailAt >= THUMBNAIL_MS) this.thumbnail();
    open.file.write(open.writer.flush());
    this.opts.store.grew(open.segment, open.writer.writtenUs, open.file.written + open.file.queued);
  }

  /** Finishes the open segment (its file is closed in the background; `closing` waits for it). */
  private endSegment(): void {
    const open = this.open;
    if (!open) return;
    this.open = null;
    if (!open.file.failed) {
      try {
        const { tail, patches } = open.writer.finish();
        open.file.write(tail);
        open.file.patch(patches);
      } catch (err) {
        this.opts.log.error(`recording "${this.camera.name}": its segment could not be finished (it is made whole at the next start)`, err);
      }
    }
    this.opts.store.grew(open.segment, open.writer.writtenUs, open.file.written + open.file.queued);
    const previous = this.closing;
    this.closing = (async () => {
      await previous;
      await open.file.close();
      const abs = open.file.abs;
      let keep = open.file.written > 0;
      let remove = !keep;
      if (open.file.failed && keep) {
        // Cut short by the disk: listed with what its media really holds (made whole where it can be).
        try {
          const contents = await recoverSegment(abs, open.segment.format);
          keep = contents !== null;
          remove = contents === null;
          if (contents) this.opts.store.grew(open.segment, contents.durationUs, contents.bytes);
        } catch {
          // It cannot be made whole now (the disk is still full): kept, not listed; the next start does it.
          keep = false;
          remove = false;
        }
      } else {
        open.segment.bytes = open.file.written;
      }
      if (remove && open.file.opened) await unlink(abs).catch(() => undefined);
      await this.opts.store.finished(open.segment, keep);
      if (keep) this.opts.onSegment?.(open.segment);
    })().catch((err: unknown) => this.opts.log.error(`recording "${this.camera.name}": its segment could not be listed (it is at the next start)`, err));
  }

  private diskError(err: Error): void {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOSPC' ? 'the disk is full' : code === 'EROFS' ? 'the disk is read-only' : code === 'ENOENT' ? 'the recordings folder is gone (was its disk removed?)' : code === 'EACCES' || code === 'EPERM' ? 'the recordings folder cannot be written' : `the disk failed (${err.message})`;
    this.fail(`recording stopped: ${why}; live view goes on, and recording resumes by itself when it can write again`);
  }

  /**
   * Stops writing this camera (live view goes on) and, for a disk error, tries again every
   * RETRY_MS; a stream that cannot be written waits for the camera's next period instead.
   */
  private fail(message: string, retrying = true): void {
    if (this.stopped || this.retryTimer || this.blocked) return;
    this.opts.log.error(`"${this.camera.name}" (${this.camera.id}): ${message}`);
    this.camera.detach(this.sink);
    this.endSegment();
    this.camera.setRecording({ state: 'failed', message });
    if (!retrying) {
      this.blocked = true;
      return;
    }
    const retry = (): void => {
      this.retryTimer = setTimeout(() => {
        void this.canWrite().then((ok) => {
          if (this.stopped) return;
          if (!ok) return retry();
          this.retryTimer = null;
          this.opts.log.info(`"${this.camera.name}" (${this.camera.id}): recording again`);
          this.camera.setRecording({ state: 'recording' });
          this.camera.attach(this.sink);
        });
      }, this.opts.retryMs ?? RETRY_MS).unref();
    };
    retry();
  }

  /** Whether the recordings folder takes a write now. */
  private async canWrite(): Promise<boolean> {
    const root = this.opts.store.root;
    try {
      if ((await this.opts.store.space()).free < RETRY_FREE_BYTES) return false;
      const probe = path.join(root, `.probe-${process.pid}`);
      await writeFile(probe, new Uint8Array(64 * 1024));
      await unlink(probe);
      return true;
    } catch {
      return false;
    }
  }
}
