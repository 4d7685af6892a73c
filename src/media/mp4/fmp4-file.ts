// Reading back the fragmented MP4 files this server records (fmp4-writer.ts's `pushMany`), one box
// at a time: each fragment's times, to list what a file holds and to find where a crash cut it; and
// where its init says how long it is, to fill in when it is finished (or made whole).
// Pure code: no Node or DOM imports.
import type { Patch } from '../bytes.ts';
import { readBoxHeader, u32 } from './boxes.ts';

/** One track fragment of a moof. */
export interface TrafTimes {
  trackId: number;
  /** Offset in the moof of tfdt's 64-bit decode time; the time (track ticks). */
  tfdtAt: number;
  time: number;
  /** Sum of its samples' durations (ticks). */
  duration: number;
  samples: number;
  /** Its first sample is a sync sample (a keyframe for video). */
  firstSync: boolean;
}

/** A moof's parts that matter here. */
export interface MoofTimes {
  /** Offset in the moof of mfhd's sequence number. */
  sequenceAt: number;
  trafs: TrafTimes[];
}

/** sample_depends_on = 2 / is_non_sync_sample: what makes a sample not a sync sample (14496-12 §8.8.3.1). */
const NON_SYNC = 0x00010000;

/**
 * Reads a whole moof box (its header included). Throws on anything it cannot follow: a file this
 * server wrote has tfhd, tfdt (version 1 or 0) and a trun with durations and flags per sample, or
 * tfhd defaults.
 */
export function readMoofTimes(moof: Uint8Array): MoofTimes {
  const top = readBoxHeader(moof, 0, moof.length, 0);
  if (top === null || top.type !== 'moof' || top.size !== moof.length) throw new Error('not a whole moof');
  let sequenceAt = -1;
  const trafs: TrafTimes[] = [];
  for (const box of children(moof, top.headerSize, moof.length)) {
    if (box.type === 'mfhd') sequenceAt = box.body + 4;
    if (box.type !== 'traf') continue;
    let trackId = -1;
    let defaultDuration = 0;
    let defaultFlags = 0;
    let tfdtAt = -1;
    let time = 0;
    let duration = 0;
    let samples = 0;
    let firstSync = false;
    for (const c of children(moof, box.body, box.end)) {
      const flags = u32(moof, c.body) & 0xffffff;
      const version = moof[c.body] as number;
      if (c.type === 'tfhd') {
        trackId = u32(moof, c.body + 4);
        let at = c.body + 8;
        if (flags & 0x01) at += 8; // base_data_offset
        if (flags & 0x02) at += 4; // sample_description_index
        if (flags & 0x08) defaultDuration = u32(moof, (at += 4) - 4);
        if (flags & 0x10) at += 4; // default_sample_size
        if (flags & 0x20) defaultFlags = u32(moof, at);
      } else if (c.type === 'tfdt') {
        tfdtAt = c.body + 4;
        time = version === 1 ? u32(moof, tfdtAt) * 2 ** 32 + u32(moof, tfdtAt + 4) : u32(moof, tfdtAt);
        if (version !== 1) tfdtAt = -1; // (a 32-bit time cannot be moved far: this server writes version 1)
      } else if (c.type === 'trun') {
        const count = u32(moof, c.body + 4);
        let at = c.body + 8;
        if (flags & 0x01) at += 4; // data_offset
        let firstFlags = defaultFlags;
        if (flags & 0x04) firstFlags = u32(moof, (at += 4) - 4);
        const per = ((flags & 0x100) ? 4 : 0) + ((flags & 0x200) ? 4 : 0) + ((flags & 0x400) ? 4 : 0) + ((flags & 0x800) ? 4 : 0);
        if (at + per * count > c.end) throw new Error('trun shorter than its samples');
        for (let k = 0; k < count; k++, at += per) {
          duration += flags & 0x100 ? u32(moof, at) : defaultDuration;
          if (k === 0 && samples === 0 && !(flags & 0x04) && flags & 0x400) firstFlags = u32(moof, at + ((flags & 0x100) ? 4 : 0) + ((flags & 0x200) ? 4 : 0));
        }
        if (samples === 0) firstSync = (firstFlags & NON_SYNC) === 0;
        samples += count;
      }
    }
    if (trackId < 0) throw new Error('traf without tfhd');
    trafs.push({ trackId, tfdtAt, time, duration, samples, firstSync });
  }
  if (sequenceAt < 0) throw new Error('moof without mfhd');
  return { sequenceAt, trafs };
}

/**
 * The bytes that say how long a file is, for its init (ftyp + moov, as fmp4-writer writes a file):
 * mvhd's duration and mehd's fragment_duration, both in the movie's timescale (ms here), at their
 * offsets from the file's start. Empty when the init has no mehd (a live stream's, or a file from
 * before files carried one) or either box is not the 32-bit version 0 written here.
 */
export function durationPatches(init: Uint8Array, durationUs: number): Patch[] {
  const moov = [...children(init, 0, init.length)].find((b) => b.type === 'moov');
  if (!moov) return [];
  const boxes = [...children(init, moov.body, moov.end)];
  const mvhd = boxes.find((b) => b.type === 'mvhd');
  const mvex = boxes.find((b) => b.type === 'mvex');
  const mehd = mvex ? [...children(init, mvex.body, mvex.end)].find((b) => b.type === 'mehd') : undefined;
  if (!mvhd || !mehd || init[mvhd.body] !== 0 || init[mehd.body] !== 0 || mvhd.body + 20 > mvhd.end || mehd.body + 8 > mehd.end) return [];
  const timescale = u32(init, mvhd.body + 12);
  const ticks = Math.min(0xffffffff, Math.max(0, Math.round((durationUs * timescale) / 1e6)));
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, ticks);
  // mvhd v0: version+flags, creation, modification, timescale, then duration; mehd v0: version+flags, then fragment_duration.
  return [
    { at: mvhd.body + 16, bytes },
    { at: mehd.body + 4, bytes },
  ];
}

/** Child boxes of `buf[from..to)`: type, body start, end. Throws on a box that overruns. */
function* children(buf: Uint8Array, from: number, to: number): Generator<{ type: string; body: number; end: number }> {
  for (let at = from; at < to; ) {
    const h = readBoxHeader(buf, at, to - at, at);
    if (h === null || h.size === 0 || at + h.size > to) throw new Error(`a box at ${at} overruns its parent`);
    yield { type: h.type, body: at + h.headerSize, end: at + h.size };
    at += h.size;
  }
}
