// The cameras the server has known, kept in the data dir (`cameras.json`) and read again at start:
// each camera's id, name, and when it was first and last seen. The hub tells it what happens; the
// features that need a camera's lasting facts (its recording switch, its own secret, its place in
// the grid) keep them here. Written atomically, at most once a second; a damaged file is set aside
// with a warning and the server starts with none (nothing else depends on it yet).
//
// A camera's id is its device's: the camera page makes a random secret beside its id and presents
// both in its hello. The first hello of an id registers the secret (kept as its SHA-256, compared in
// constant time); later ones must present it, so nobody else holding the camera link can take the
// camera's place. A camera forgotten here (see `forget` and MAX_RECORDS) gives its id up.
import { createHash, timingSafeEqual } from 'node:crypto';
import { JsonFileWriter, readJsonFile } from './data-dir.ts';
import path from 'node:path';
import { z } from 'zod';
import { cameraId, cameraName } from '../../shared/schemas.ts';
import { withoutBidi } from '../../shared/text.ts';

/** What the server keeps of one camera. */
export interface CameraRecord {
  id: string;
  name: string;
  /** ms since the epoch. */
  firstSeen: number;
  lastSeen: number;
  /** SHA-256 (hex) of the secret of the device that registered the id; absent in files of older versions (the next hello claims it). */
  secret?: string | undefined;
  /** The owner named it: the name the camera page asks for in its hello does not change it. */
  named?: boolean | undefined;
  /** Its place in the grid the owner set (0 first); absent: after those, by name. */
  order?: number | undefined;
  /** Its recording switch: true/false as the owner set it; absent: the server's default (--record). */
  record?: boolean | undefined;
  /** False: its sound is not recorded (absent: it is). */
  recordSound?: boolean | undefined;
}

/** A claim to a camera id: the id is another device's. */
export type Claim = 'ok' | 'taken' | 'full';

/** Cameras kept at most. When full, a camera unseen for FORGET_AFTER_MS makes room (the one unseen longest); else a new camera is refused. */
export const MAX_RECORDS = 1000;
/**
 * A camera this long unseen may be forgotten to make room. (Not sooner: whoever holds the camera link
 * could otherwise register cameras until a real one is forgotten, then claim its id.)
 */
export const FORGET_AFTER_MS = 30 * 24 * 3600 * 1000;
/** Writes wait this long, so that a burst of changes is one write. */
const WRITE_DELAY_MS = 1000;

const time = z.number().int().min(0).max(1e14);
/**
 * A name as stored: what the protocol takes now, or one an older version kept with characters it
 * took then (C1 controls, bidi formatting) and no longer does, cleaned of them: one such name must
 * not set the whole list aside. Anything else that is not a name is damage.
 */
const storedName = z
  .string()
  .transform((s) => withoutBidi(s).replace(/[\u0080-\u009f]/g, ''))
  .pipe(cameraName);
const fileSchema = z.object({
  version: z.literal(1),
  cameras: z
    .array(
      z.object({
        id: cameraId,
        name: storedName,
        firstSeen: time,
        lastSeen: time,
        secret: z.string().regex(/^[0-9a-f]{64}$/).optional(),
        named: z.boolean().optional(),
        order: z.number().int().min(0).max(MAX_RECORDS).optional(),
        record: z.boolean().optional(),
        recordSound: z.boolean().optional(),
      }),
    )
    .max(MAX_RECORDS),
});

export interface RegistryLog {
  warn(message: string): void;
  error(message: string, err?: unknown): void;
}

export class CameraRegistry {
  private readonly records = new Map<string, CameraRecord>();
  private readonly writer: JsonFileWriter;

  /** A registry kept in memory only. */
  static inMemory(log: RegistryLog): CameraRegistry {
    return new CameraRegistry(null, log);
  }

  private constructor(
    /** The file, or null: kept in memory only (tests, a read-only data dir). */
    readonly file: string | null,
    log: RegistryLog,
  ) {
    // The whole list each time (a crash never leaves half a file).
    this.writer = new JsonFileWriter(file, () => `${JSON.stringify({ version: 1, cameras: this.all() } satisfies z.infer<typeof fileSchema>, null, 1)}\n`, log);
  }

  /** Reads `cameras.json` in `dataDir` (none yet: empty; damaged: set aside, empty). */
  static async load(dataDir: string | null, log: RegistryLog): Promise<CameraRegistry> {
    const registry = new CameraRegistry(dataDir === null ? null : path.join(dataDir, 'cameras.json'), log);
    if (registry.file === null) return registry;
    const parsed = await readJsonFile(registry.file, fileSchema, log, 'the server starts without its list of known cameras');
    for (const c of parsed?.cameras ?? []) registry.records.set(c.id, c);
    return registry;
  }

  get(id: string): CameraRecord | undefined {
    return this.records.get(id);
  }

  /** Every camera kept, the most recently seen first. */
  all(): CameraRecord[] {
    return [...this.records.values()].sort((a, b) => b.lastSeen - a.lastSeen);
  }

  /**
   * A device says hello as camera `id` with its `secret`: 'ok' when the id is new (now registered to
   * this secret, as a camera of this name) or the secret is the one that registered it; 'taken' when
   * another device registered it; 'full' when the id is new and no camera may be forgotten to make room.
   */
  claim(id: string, secret: string, name: string, now = Date.now()): Claim {
    const hash = createHash('sha256').update(secret).digest();
    const known = this.records.get(id);
    if (known?.secret !== undefined) {
      return timingSafeEqual(Buffer.from(known.secret, 'hex'), hash) ? 'ok' : 'taken';
    }
    if (!known) {
      if (this.records.size >= MAX_RECORDS) {
        const oldest = this.all().at(-1)!;
        if (now - oldest.lastSeen < FORGET_AFTER_MS) return 'full';
        this.records.delete(oldest.id);
      }
      this.records.set(id, { id, name, firstSeen: now, lastSeen: now });
    }
    this.records.get(id)!.secret = hash.toString('hex');
    this.schedule();
    return 'ok';
  }

  /** A camera connected, streams, was renamed or left: it was seen now, with this name (a camera not claimed yet is not kept). */
  seen(id: string, name: string, now = Date.now()): void {
    const known = this.records.get(id);
    if (!known) return;
    known.name = name;
    known.lastSeen = Math.max(known.lastSeen, now);
    this.schedule();
  }

  forget(id: string): void {
    if (this.records.delete(id)) this.schedule();
  }

  /**
   * A camera was renamed: by the owner (the name is kept over what its page asks for), or by its own
   * page (the person at the phone chose it: it takes over from the owner's).
   */
  rename(id: string, name: string, by: 'owner' | 'camera'): void {
    const known = this.records.get(id);
    if (!known) return;
    known.name = name;
    known.named = by === 'owner' ? true : undefined;
    this.schedule();
  }

  /**
   * The owner let the device that registered `from` take camera `to`'s place: `to` is held by that
   * device's secret from now on, and `from` is forgotten. False when either is unknown or `from` has no secret.
   */
  adopt(from: string, to: string): boolean {
    const device = this.records.get(from);
    const camera = this.records.get(to);
    if (!device?.secret || !camera || from === to) return false;
    camera.secret = device.secret;
    this.records.delete(from);
    this.schedule();
    return true;
  }

  /** The owner's order: these ids first, in this order; the `shown` ones not among them after them (others keep theirs). */
  setOrder(ids: readonly string[], shown: readonly string[]): void {
    for (const id of shown) {
      const r = this.records.get(id);
      if (r) r.order = undefined;
    }
    ids.forEach((id, i) => {
      const r = this.records.get(id);
      if (r) r.order = i;
    });
    this.schedule();
  }

  /** The owner's recording switches for a camera (undefined: leave as it is). False when the camera is unknown. */
  setRecording(id: string, record: boolean | undefined, sound: boolean | undefined): boolean {
    const r = this.records.get(id);
    if (!r) return false;
    if (record !== undefined) r.record = record;
    if (sound !== undefined) r.recordSound = sound ? undefined : false;
    this.schedule();
    return true;
  }

  /** Writes what is pending now (the server is stopping). */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  private schedule(): void {
    this.writer.schedule(WRITE_DELAY_MS);
  }
}
