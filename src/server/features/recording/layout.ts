// Where recordings live: `<data-dir>/recordings/<camera-id>/<UTC date>/<UTC time>Z_<seq>.<ext>`,
// one file per segment, plus `index.ndjson` per camera (see store.ts). The name carries the wall
// time of the segment's first frame, for people browsing the folder and for the index to be
// rebuilt; the sequence number, counted per camera and never reused, keeps names unique and orders
// segments even when the clock jumps (a Raspberry Pi has no real-time clock until NTP syncs).
// Names are made here from validated ids and numbers only: no request ever becomes a path.
import path from 'node:path';

/** Recording formats: fragmented MP4 (H.264, with Opus or AAC) or WebM (VP8, VP9, AV1 with Opus). */
export type SegmentFormat = 'mp4' | 'webm';

/** What a segment's name says. */
export interface SegmentName {
  /** Wall time of its first frame, ms since the epoch. */
  start: number;
  seq: number;
  format: SegmentFormat;
}

const NAME = /^(\d{2})-(\d{2})-(\d{2})\.(\d{3})Z_(\d{6,12})\.(mp4|webm)$/;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The folder of a day's segments, relative to the camera's folder: `YYYY-MM-DD` (UTC). */
export function dayFolder(start: number): string {
  return new Date(start).toISOString().slice(0, 10);
}

/** `10-25-33.123Z`: the UTC time of day, as names carry it (no colons: they break on other systems' disks). */
function timeOfDay(time: number): string {
  const iso = new Date(time).toISOString(); // 2026-12-05T10:25:33.123Z
  return `${iso.slice(11, 13)}-${iso.slice(14, 16)}-${iso.slice(17, 19)}.${iso.slice(20, 23)}Z`;
}

/** A segment's path relative to the camera's folder. */
export function segmentPath(n: SegmentName): string {
  return path.join(dayFolder(n.start), `${timeOfDay(n.start)}_${String(n.seq).padStart(6, '0')}.${n.format}`);
}

/** Reads a segment's name back (null: not a segment's). */
export function parseSegmentPath(day: string, name: string): SegmentName | null {
  const d = DAY.exec(day);
  const m = NAME.exec(name);
  if (!d || !m) return null;
  const start = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]));
  if (!Number.isFinite(start) || segmentPath({ start, seq: Number(m[5]), format: m[6] as SegmentFormat }) !== path.join(day, name)) return null;
  return { start, seq: Number(m[5]), format: m[6] as SegmentFormat };
}

/** The format a stream with this video codec is recorded in (audio-only: as its sound's codec asks). */
export function formatFor(videoCodec: string | null, audioCodec: string | null): SegmentFormat {
  if (videoCodec !== null) return /^avc[13]/.test(videoCodec) ? 'mp4' : 'webm';
  return audioCodec === 'opus' ? 'webm' : 'mp4';
}

export const MIME: Record<SegmentFormat, string> = { mp4: 'video/mp4', webm: 'video/webm' };

const THUMB = /^(\d{2})-(\d{2})-(\d{2})\.(\d{3})Z\.jpg$/;

/** A thumbnail's path relative to the camera's folder: `YYYY-MM-DD/HH-MM-SS.mmmZ.jpg` (when it was taken, UTC). */
export function thumbnailPath(time: number): string {
  return path.join(dayFolder(time), `${timeOfDay(time)}.jpg`);
}

/** When a thumbnail was taken, from its name (null: not a thumbnail's). */
export function parseThumbnailPath(day: string, name: string): number | null {
  const d = DAY.exec(day);
  const m = THUMB.exec(name);
  if (!d || !m) return null;
  const time = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]));
  return Number.isFinite(time) && thumbnailPath(time) === path.join(day, name) ? time : null;
}
