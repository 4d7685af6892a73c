// Reads a movie fragment (`moof`, held whole in memory) into a sample table: per sample its track,
// size, timestamps and keyframe flag, and where its bytes are once the following mdat is known.
// Spec: ISO/IEC 14496-12 §8.8.4 (moof), §8.8.5 (mfhd), §8.8.6 (traf), §8.8.7 (tfhd: base data
//       offset rules), §8.8.8 (trun), §8.8.12 (tfdt), §8.8.3.1 (sample flags)
//       (free from https://standards.iso.org/ittf/PubliclyAvailableStandards/)
// Pure code: no Node or DOM imports.
import type { TrackKind } from '../frames.ts';
import { BoxBody, i32, u32 } from './boxes.ts';
import { limit, malformed, unsupported } from './errors.ts';
import type { Movie } from './moov.ts';

/** One sample of a fragment, for a track we play. */
export interface FragmentSample {
  track: TrackKind;
  /** Offset of its first byte from its run's start (resolved to `start` against the mdat). */
  rel: number;
  /** Absolute stream offset of its first byte, once resolved (-1 before). */
  start: number;
  size: number;
  /** µs: presentation time, decode time (for ordering), duration (0 = unknown). */
  timestamp: number;
  dts: number;
  duration: number;
  key: boolean;
  /** Its bytes, allocated when the first of them arrives from the mdat (null before). */
  data: Uint8Array | null;
}

/** A trun: where its data starts and its samples (empty for a track we skip). */
interface Run {
  offset: number;
  /** trun data_offset, added to the traf's base; null = right after the previous run's data. */
  dataOffset: number | null;
  /** Absolute offset of its data once located (-1 before). */
  start: number;
  bytes: number;
  samples: FragmentSample[];
}

/** A traf: its base data offset when the tfhd fixes it, and its runs. */
interface Traf {
  offset: number;
  trackId: number;
  /** Absolute base from base-data-offset or default-base-is-moof; null = implicit (§8.8.7.1). */
  explicitBase: number | null;
  runs: Run[];
}

/** A parsed moof: its samples (tracks we play only) and what is needed to locate their bytes. */
export interface Fragment {
  moofStart: number;
  trafs: Traf[];
  /** Every sample of the tracks we play, in moof order (track fragment by track fragment). */
  samples: FragmentSample[];
  /** Per track_ID, the decode time (ticks) after this fragment: committed only once its mdat comes. */
  dtsAfter: Map<number, number>;
}

/** What parseMoof needs of the demuxer's limits. */
export interface MoofLimits {
  maxDepth: number;
  maxSamplesPerFragment: number;
}

// tfhd flags (§8.8.7.1)
const BASE_DATA_OFFSET = 0x1;
const SAMPLE_DESCRIPTION_INDEX = 0x2;
const DEFAULT_DURATION = 0x8;
const DEFAULT_SIZE = 0x10;
const DEFAULT_FLAGS = 0x20;
const DEFAULT_BASE_IS_MOOF = 0x20000;
// trun flags (§8.8.8.1)
const DATA_OFFSET = 0x1;
const FIRST_SAMPLE_FLAGS = 0x4;
const SAMPLE_DURATION = 0x100;
const SAMPLE_SIZE = 0x200;
const SAMPLE_FLAGS = 0x400;
const SAMPLE_CTO = 0x800;
// sample flags (§8.8.3.1): sample_depends_on in bits 24-25, sample_is_non_sync_sample bit 16
const NON_SYNC = 0x10000;
const DEPENDS_ON_OTHERS = 1;

/**
 * Parses a moof whose body is `buf[start..end)` (`base` = absolute offset of `buf[0]`, the moof
 * header being 8 or 16 bytes before the body at `moofStart`). `nextDts` holds, per track_ID, the
 * decode time (in ticks) after the previous fragment, for trafs without a tfdt; it is not changed
 * (see `dtsAfter`).
 */
export function parseMoof(
  buf: Uint8Array,
  start: number,
  end: number,
  base: number,
  moofStart: number,
  movie: Movie,
  nextDts: ReadonlyMap<number, number>,
  limits: MoofLimits,
): Fragment {
  const moof = new BoxBody(buf, start, end, base, 'moof');
  const dtsAfter = new Map(nextDts);
  const fragment: Fragment = { moofStart, trafs: [], samples: [], dtsAfter };
  let count = 0;
  for (const box of moof.children(2, limits.maxDepth)) {
    if (box.type !== 'traf') continue; // mfhd (its sequence number tells us nothing we need), pssh, ...
    const traf = moof.child(box);
    const at = base + box.start;
    const children = traf.children(3, limits.maxDepth);
    const tfhdBox = children.find((c) => c.type === 'tfhd');
    if (tfhdBox === undefined) throw malformed('traf without a tfhd', at);
    const tfhd = traf.child(tfhdBox);
    const { flags } = tfhd.fullBox();
    const trackId = tfhd.u32('track_ID');
    const track = movie.byId.get(trackId);
    if (track === undefined) throw malformed(`traf for track ${trackId}, which moov does not declare`, at);
    let explicitBase: number | null = null;
    if (flags & BASE_DATA_OFFSET) explicitBase = tfhd.u64('base_data_offset');
    else if (flags & DEFAULT_BASE_IS_MOOF) explicitBase = moofStart;
    if (flags & SAMPLE_DESCRIPTION_INDEX) tfhd.skip(4, 'sample_description_index');
    const defaultDuration = flags & DEFAULT_DURATION ? tfhd.u32('default_sample_duration') : track.defaultDuration;
    const defaultSize = flags & DEFAULT_SIZE ? tfhd.u32('default_sample_size') : track.defaultSize;
    const defaultFlags = flags & DEFAULT_FLAGS ? tfhd.u32('default_sample_flags') : track.defaultFlags;

    const tfdtBox = children.find((c) => c.type === 'tfdt');
    let dts = dtsAfter.get(trackId) ?? 0;
    if (tfdtBox !== undefined) {
      const tfdt = traf.child(tfdtBox);
      const { version } = tfdt.fullBox();
      dts = version === 1 ? tfdt.u64('baseMediaDecodeTime') : tfdt.u32('baseMediaDecodeTime');
    }
    const out: Traf = { offset: at, trackId, explicitBase, runs: [] };
    const kind = track.kind;
    const scale = track.timescale;
    for (const runBox of children) {
      if (runBox.type !== 'trun') continue;
      const trun = traf.child(runBox);
      const runAt = base + runBox.start;
      const { flags: rf } = trun.fullBox();
      const n = trun.u32('sample_count');
      count += n;
      // Checked before reading further: a trun may claim 10^9 samples in a few bytes.
      if (count > limits.maxSamplesPerFragment) {
        throw limit(`fragment has more than maxSamplesPerFragment (${limits.maxSamplesPerFragment}) samples`, runAt);
      }
      const dataOffset = rf & DATA_OFFSET ? trun.i32('data_offset') : null;
      const firstFlags = rf & FIRST_SAMPLE_FLAGS ? trun.u32('first_sample_flags') : null;
      const perSample = 4 * (((rf & SAMPLE_DURATION) && 1) + ((rf & SAMPLE_SIZE) && 1) + ((rf & SAMPLE_FLAGS) && 1) + ((rf & SAMPLE_CTO) && 1));
      if (perSample * n > trun.left) {
        throw malformed(`trun claims ${n} samples of ${perSample} bytes but holds ${trun.left} bytes for them`, runAt);
      }
      const run: Run = { offset: runAt, dataOffset, start: -1, bytes: 0, samples: [] };
      const { buf: b } = trun;
      let p = trun.pos;
      for (let k = 0; k < n; k++) {
        let duration = defaultDuration;
        let size = defaultSize;
        let sampleFlags = defaultFlags;
        let cto = 0;
        if (rf & SAMPLE_DURATION) (duration = u32(b, p)), (p += 4);
        if (rf & SAMPLE_SIZE) (size = u32(b, p)), (p += 4);
        if (rf & SAMPLE_FLAGS) (sampleFlags = u32(b, p)), (p += 4);
        // Version 0 offsets are unsigned by the letter of the spec, but muxers write negative ones
        // there too (as two's complement); read both signed, as ffmpeg does: no real offset is 2^31.
        if (rf & SAMPLE_CTO) (cto = i32(b, p)), (p += 4);
        if (k === 0 && firstFlags !== null) sampleFlags = firstFlags;
        if (kind !== null && size > 0) {
          run.samples.push({
            track: kind,
            rel: run.bytes,
            start: -1,
            size,
            timestamp: micros(dts + cto, scale),
            dts: micros(dts, scale),
            duration: micros(duration, scale),
            // Audio samples are all sync samples; a video one is not when flagged non-sync or dependent.
            key: kind === 'audio' || ((sampleFlags & NON_SYNC) === 0 && ((sampleFlags >>> 24) & 3) !== DEPENDS_ON_OTHERS),
            data: null,
          });
        }
        run.bytes += size;
        dts += duration;
      }
      if (dts > Number.MAX_SAFE_INTEGER) throw unsupported('decode time beyond 2^53 ticks', runAt);
      out.runs.push(run);
      for (const s of run.samples) fragment.samples.push(s);
    }
    dtsAfter.set(trackId, dts);
    fragment.trafs.push(out);
  }
  return fragment;
}

/**
 * Gives every sample its absolute start, given the mdat body `[bodyStart, end)` that follows the
 * moof. Per §8.8.7.1, a traf without base-data-offset or default-base-is-moof starts where the
 * previous traf's data ended (the moof's first byte for the first traf). Some muxers write
 * moof-relative data offsets without setting default-base-is-moof: when the rule's base puts a
 * traf's data outside the mdat but the moof start puts it inside, the moof start is used.
 * Throws MP4_MALFORMED when a sample lies outside the mdat or two samples overlap. Returns the
 * samples in the order of their bytes in the mdat.
 */
export function locateSamples(fragment: Fragment, bodyStart: number, end: number): FragmentSample[] {
  let implicit = fragment.moofStart;
  for (const traf of fragment.trafs) {
    const base = traf.explicitBase ?? implicit;
    let dataEnd = place(traf, base);
    if (!traf.runs.every((r) => runInside(r, bodyStart, end)) && traf.explicitBase === null && base !== fragment.moofStart) {
      dataEnd = place(traf, fragment.moofStart);
    }
    const outside = traf.runs.find((r) => !runInside(r, bodyStart, end));
    if (outside !== undefined) {
      throw malformed(
        `track ${traf.trackId}: trun data at ${outside.start}..${outside.start + outside.bytes} lies outside the mdat body ${bodyStart}..${end}`,
        outside.offset,
      );
    }
    implicit = dataEnd;
  }
  // Samples must not share bytes: each becomes its own frame, filled in one pass over the mdat.
  const sorted = fragment.samples.slice().sort((a, b) => a.start - b.start);
  for (let k = 1; k < sorted.length; k++) {
    const prev = sorted[k - 1] as FragmentSample;
    const cur = sorted[k] as FragmentSample;
    if (cur.start < prev.start + prev.size) throw malformed(`two samples overlap at ${cur.start} in the mdat`, cur.start);
  }
  return sorted;
}

/** Sets each sample's start from `base`; returns where the traf's data ends. */
function place(traf: Traf, base: number): number {
  let at = base;
  for (const run of traf.runs) {
    const runStart = run.dataOffset === null ? at : base + run.dataOffset;
    run.start = runStart;
    for (const s of run.samples) s.start = runStart + s.rel;
    at = runStart + run.bytes;
  }
  return at;
}

function runInside(run: Run, bodyStart: number, end: number): boolean {
  return run.bytes === 0 || (run.start >= bodyStart && run.start + run.bytes <= end);
}

/** Ticks of `timescale` to µs, exact to the rounding for any tick count below 2^53. */
export function micros(ticks: number, timescale: number): number {
  // Split so that no intermediate product passes 2^53 (ticks × 10^6 would, after ~100 days at 1 kHz).
  const whole = Math.floor(ticks / timescale);
  const rest = ticks - whole * timescale;
  return whole * 1_000_000 + Math.round((rest * 1_000_000) / timescale);
}
