// What is kept: per camera, segments of the last `keepDays` days (0: no age limit), and on the
// recordings' disk always `minFree` free (a share of the disk, or bytes); when space runs short the
// oldest segments go first, whichever camera's. The free-space floor wins over the days. Never
// deleted: the segment being written; a segment being played or exported is spared by the age rule
// (the next pass takes it) but not by the floor (a full disk would stop every recording).
import type { RecordingStore, Segment } from './store.ts';

export interface RetentionOptions {
  keepDays: number;
  minFree: { share: number } | { bytes: number };
  log: { info(message: string): void; warn(message: string): void };
  now?: () => number;
}

/** The disk the recordings are on. */
export interface DiskSpace {
  size: number;
  free: number;
  /** Free bytes the floor keeps. */
  floor: number;
}

const DAY_MS = 24 * 3600 * 1000;

export class Retention {
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly store: RecordingStore,
    private readonly opts: RetentionOptions,
  ) {}

  async disk(): Promise<DiskSpace> {
    const { size, free } = await this.store.space();
    const floor = 'share' in this.opts.minFree ? Math.round(size * this.opts.minFree.share) : Math.min(this.opts.minFree.bytes, size);
    return { size, free, floor };
  }

  /** Runs a pass (one at a time; a call during a pass makes one more after it). */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.pass().catch((err: unknown) => this.opts.log.warn(`recordings: retention failed: ${(err as Error).message}`));
      } while (this.again);
      this.running = null;
    })();
    return this.running;
  }

  private async pass(): Promise<void> {
    const now = (this.opts.now ?? Date.now)();
    let removedOld = 0;
    if (this.opts.keepDays > 0) {
      const before = now - this.opts.keepDays * DAY_MS;
      const old = this.store.cameraIds().flatMap((id) => this.finished(id).filter((s) => s.end < before && !this.store.isRead(this.store.pathOf(s))));
      await this.store.remove(old);
      removedOld = old.length;
    }
    await this.pruneThumbnails();
    if (removedOld > 0) this.opts.log.info(`recordings: ${removedOld} segment${removedOld === 1 ? '' : 's'} older than ${this.opts.keepDays} days deleted`);
    // The floor: oldest first across cameras, until enough is free.
    let disk = await this.disk();
    if (disk.free >= disk.floor) return;
    const oldest = this.store
      .cameraIds()
      .flatMap((id) => this.finished(id))
      .sort((a, b) => a.start - b.start);
    let removed = 0;
    let bytes = 0;
    // In batches (one index write per camera each), until the floor is met.
    while (disk.free < disk.floor && removed < oldest.length) {
      const batch: Segment[] = [];
      let freed = 0;
      for (const s of oldest.slice(removed, removed + 16)) {
        if (disk.free + freed >= disk.floor) break;
        batch.push(s);
        freed += await this.store.sizeOf(s);
      }
      await this.store.remove(batch);
      removed += batch.length;
      bytes += freed;
      disk = await this.disk();
    }
    await this.pruneThumbnails();
    if (removed > 0) this.opts.log.info(`recordings: ${removed} oldest segment${removed === 1 ? '' : 's'} (${(bytes / 1e6).toFixed(1)} MB) deleted to keep ${(disk.floor / 1e6).toFixed(0)} MB free`);
    disk = await this.disk();
    if (disk.free < disk.floor) this.opts.log.warn(`recordings: only ${(disk.free / 1e6).toFixed(0)} MB free, below the ${(disk.floor / 1e6).toFixed(0)} MB kept free, and no recording is left to delete`);
  }

  /** Thumbnails go with the recordings they showed: those before a camera's oldest segment. */
  private async pruneThumbnails(): Promise<void> {
    for (const id of this.store.cameraIds()) await this.store.pruneThumbnails(id, this.store.segments(id)[0]?.start ?? Infinity);
  }

  /** A camera's finished segments, oldest first (never the one being written). */
  private finished(cameraId: string): Segment[] {
    const all = this.store.segments(cameraId);
    const writing = this.store.writingOf(cameraId);
    return all.filter((s) => s !== writing);
  }
}
