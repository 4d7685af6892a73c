// The muxed form of a camera: one live stream (WebM or fragmented MP4) made by the server, for
// viewers that play it through MSE (no WebCodecs decoders for every track). The stream is muxed
// once per camera and form, while a viewer of that form watches, and shared by all of them; each
// viewer is a consumer of the muxed units with its own queue (its socket), under the same policy
// as every consumer: it joins, and goes on after falling behind, at a unit that starts at a keyframe.
import type { Tracks } from '../../media/frames.ts';
import { FLAG_INIT, FLAG_KEY, FRAME_KIND_MEDIA } from '../../shared/protocol.ts';
import type { Camera, CoreFrame } from '../core/camera.ts';
import { DEFAULT_MAX_RETAINED_BYTES, FRAME_COST_BYTES } from '../core/camera.ts';
import { Feed, type FeedItem, type FeedSink } from '../core/feed.ts';
import type { LiveMuxer, MuxForm } from './muxers.ts';
import type { ViewerSink } from './viewer-sink.ts';
import { wireFrame } from './wire.ts';

/** One frame's bytes in the muxed stream, on the wire. */
interface MuxUnit extends FeedItem {
  wire: Uint8Array;
}

/** One camera's viewers of one muxed form. */
export class MuxedOutput {
  private readonly feed: Feed<MuxUnit>;
  private muxer: LiveMuxer | null = null;
  /** The current stream's init segment, on the wire; null until the muxer can write it. */
  private init: Uint8Array | null = null;
  private readonly viewers = new Map<ViewerSink, FeedSink<MuxUnit>>();
  /** This output as a consumer of the camera: in-process, never congested. */
  private readonly source: FeedSink<CoreFrame>;

  constructor(
    private readonly camera: Camera,
    readonly form: MuxForm,
    /** With the camera's sound (else a picture-only stream, for viewers that are not listening). */
    readonly withAudio: boolean,
    private readonly nextSeq: () => number,
    private readonly makeMuxer: (form: MuxForm, tracks: Tracks) => LiveMuxer,
    /** Tells a viewer that this camera's stream cannot be muxed for it (why). */
    private readonly cannot: (viewer: ViewerSink, why: string) => void,
  ) {
    this.feed = new Feed<MuxUnit>({
      separateAudio: false,
      maxRetainedBytes: DEFAULT_MAX_RETAINED_BYTES,
      pool: () => camera.retention,
      size: (u) => u.wire.byteLength + FRAME_COST_BYTES,
      requestKeyframe: () => camera.requestKeyframe(),
      keyframesOnRequest: () => camera.keyframesOnRequest,
    });
    this.source = {
      congested: () => false,
      choked: () => false,
      join: (frames) => this.restart(frames),
      send: (f) => this.mux(f),
      skipped: () => undefined,
    };
  }

  has(viewer: ViewerSink): boolean {
    return this.viewers.has(viewer);
  }

  /** Attaches a viewer (or starts it over); the first one starts the muxing. */
  add(viewer: ViewerSink): void {
    let sink = this.viewers.get(viewer);
    if (!sink) {
      sink = this.sinkFor(viewer);
      this.viewers.set(viewer, sink);
    }
    this.feed.add(sink);
    if (!this.camera.isAttached(this.source)) this.camera.attach(this.source);
  }

  /** Detaches a viewer; the last one stops the muxing. */
  remove(viewer: ViewerSink): boolean {
    const sink = this.viewers.get(viewer);
    if (!sink) return false;
    this.viewers.delete(viewer);
    this.feed.remove(sink);
    if (this.viewers.size === 0) this.stop();
    return true;
  }

  /** Stops muxing (no viewer left). */
  stop(): void {
    this.camera.detach(this.source);
    this.feed.end();
    this.muxer = null;
    this.init = null;
  }

  /** A new period (or the first keyframe after attaching): a new stream from these frames on. */
  private restart(frames: readonly CoreFrame[]): void {
    const tracks = this.camera.tracks;
    this.muxer = null;
    this.init = null;
    this.feed.end();
    if (!tracks) return;
    try {
      this.muxer = this.makeMuxer(this.form, this.withAudio || !tracks.video ? tracks : { video: tracks.video, audio: null });
    } catch (err) {
      // Not fatal: a later period may be muxable; until then its viewers are told why.
      for (const viewer of this.viewers.keys()) this.cannot(viewer, (err as Error).message);
      return;
    }
    this.feed.start();
    for (const f of frames) this.mux(f);
  }

  private mux(f: CoreFrame): void {
    const muxer = this.muxer;
    if (!muxer || (f.track === 'audio' && !this.withAudio && this.camera.tracks?.video)) return;
    let unit: ReturnType<LiveMuxer['push']>;
    try {
      unit = muxer.push(f);
    } catch (err) {
      // Only this output stops (its viewers are told why), until the next period; the camera and
      // its other viewers go on.
      this.muxer = null;
      this.init = null;
      this.feed.end();
      for (const viewer of this.viewers.keys()) this.cannot(viewer, `its ${f.track} could not be muxed (${(err as Error).message})`);
      return;
    }
    if (!unit) return;
    if (!this.init) {
      const init = muxer.init();
      if (!init) return;
      this.init = this.wire(FLAG_INIT, init, 0);
    }
    // The capture time of the stream's media time 0 (the muxer keeps the frames' timestamps).
    const epoch = f.time > 0 ? f.time - f.timestamp / 1000 : 0;
    this.feed.push({ key: unit.key, track: f.track, wire: this.wire(unit.key ? FLAG_KEY : 0, unit.bytes, epoch) });
  }

  private wire(flags: number, payload: Uint8Array, time: number): Uint8Array {
    return wireFrame({ kind: FRAME_KIND_MEDIA, flags, channel: this.camera.number, seq: this.nextSeq(), time: Math.max(0, time) }, payload);
  }

  private sinkFor(viewer: ViewerSink): FeedSink<MuxUnit> {
    const camera = this.camera;
    return {
      congested: () => viewer.congested(),
      choked: () => viewer.choked(),
      join: (units) => {
        if (!this.muxer || !this.init) return;
        viewer.sendJson({ type: 'stream', cameraId: camera.id, channel: camera.number, format: this.form, mime: this.muxer.mime });
        viewer.sendBinary(this.init);
        for (const u of units) viewer.sendBinary(u.wire);
      },
      send: (u) => viewer.sendBinary(u.wire),
      skipped: (frames) => viewer.sendJson({ type: 'skipped', cameraId: camera.id, channel: camera.number, frames }),
    };
  }
}
