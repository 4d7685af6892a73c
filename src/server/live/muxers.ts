// The live muxers the server runs, one per camera and form: which form a camera's tracks go in, and
// the muxer for it.
import type { MediaFrame, Tracks } from '../../media/frames.ts';
import { Fmp4Writer } from '../../media/mp4/fmp4-writer.ts';
import { WebmWriter } from '../../media/webm/webm-writer.ts';

/** The muxed forms a viewer can be sent. */
export type MuxForm = 'webm' | 'mp4';

/** A live muxer: an init segment, then each frame's bytes at once. */
export interface LiveMuxer {
  /** The MSE type, e.g. `video/mp4; codecs="avc1.42e01f,opus"`. */
  readonly mime: string;
  /** The init segment; null until the muxer can write it (H.264 in Annex B: its first keyframe). */
  init(): Uint8Array | null;
  /** The bytes for one frame; `key`: a viewer can start there. Null when the frame cannot go out yet. */
  push(frame: MediaFrame): { bytes: Uint8Array; key: boolean } | null;
}

/** H.264 goes in fragmented MP4 (MSE plays it nowhere in WebM); VP8, VP9 and AV1 in WebM. */
export function muxFormFor(tracks: Tracks): MuxForm {
  const codec = tracks.video?.codec ?? '';
  return codec.startsWith('avc1') || codec.startsWith('avc3') || (!tracks.video && tracks.audio?.codec.startsWith('mp4a')) ? 'mp4' : 'webm';
}

/** The muxer for a form; throws an Error saying why when the tracks cannot go in it. */
export function makeMuxer(form: MuxForm, tracks: Tracks): LiveMuxer {
  const writer = form === 'mp4' ? new Fmp4Writer(tracks) : new WebmWriter(tracks);
  return { mime: writer.mimeType, init: () => writer.init(), push: (frame) => writer.push(frame) };
}
