// One camera's viewers, each routed to the form it can play: WebCodecs chunks where the viewer has
// decoders for them, else a stream the server muxes (fragmented MP4 for H.264, WebM for VP8/VP9/AV1).
// The camera never encodes anything twice for a viewer: every form is made from its one stream.
import type { Tracks } from '../../media/frames.ts';
import type { Camera } from '../core/camera.ts';
import { ChunkOutput } from './chunk-output.ts';
import { MuxedOutput } from './muxed-output.ts';
import { muxFormFor, type LiveMuxer, type MuxForm } from './muxers.ts';
import type { ViewerSink } from './viewer-sink.ts';

/** Viewers of one camera at most (the server's --max-viewers). */
export const DEFAULT_MAX_VIEWERS_PER_CAMERA = 1000;

/** What a viewer can play and whether it listens. */
interface Wants {
  chunks: boolean;
  audio: boolean;
}

function muxKey(form: MuxForm, audio: boolean): string {
  return audio ? `${form}+audio` : form;
}

/** One camera's viewers and the outputs they are routed to. */
export class LiveViewers {
  /** Subscribed viewers: whether each can decode chunks, and whether it listens. */
  private readonly viewers = new Map<ViewerSink, Wants>();
  private readonly chunks: ChunkOutput;
  /** Muxed outputs by form and whether they carry the sound: `webm`, `webm+audio`, `mp4`, `mp4+audio`. */
  private readonly muxed = new Map<string, MuxedOutput>();

  constructor(
    private readonly camera: Camera,
    makeMuxer: (form: MuxForm, tracks: Tracks) => LiveMuxer,
    /** Viewers at most; subscribe() refuses more. */
    readonly maxViewers = DEFAULT_MAX_VIEWERS_PER_CAMERA,
  ) {
    // Each output numbers its own binary frames: a viewer sees a gap only where it missed frames.
    const counter = (): (() => number) => {
      let seq = 0;
      return () => seq++;
    };
    this.chunks = new ChunkOutput(camera, counter());
    const cannot = (viewer: ViewerSink, why: string): void =>
      viewer.sendJson({ type: 'error', code: 'NO_FORMAT', cameraId: camera.id, message: `${camera.name} cannot be played in this browser: ${why}. Watch it in a browser with WebCodecs (a current Chrome, Firefox or Safari).` });
    for (const form of ['webm', 'mp4'] as const) {
      for (const audio of [false, true]) this.muxed.set(muxKey(form, audio), new MuxedOutput(camera, form, audio, counter(), makeMuxer, cannot));
    }
    // A new period may need another muxed form (a camera that turned from VP8 to H.264).
    camera.on('tracks', (tracks) => {
      if (tracks) for (const [viewer, wants] of this.viewers) if (!wants.chunks) this.route(viewer, false);
    });
  }

  /** Number of subscribed viewers. */
  get count(): number {
    return this.viewers.size;
  }

  /**
   * Adds a viewer, or re-joins it from scratch (e.g. after a decode error). `chunks`: it can decode
   * WebCodecs chunks for every track; `audio`: it listens (a muxed stream carries sound only then).
   * False (and nothing changes) when the camera already has `maxViewers`.
   */
  subscribe(viewer: ViewerSink, chunks: boolean, audio = true): boolean {
    if (!this.viewers.has(viewer) && this.viewers.size >= this.maxViewers) return false;
    this.viewers.set(viewer, { chunks, audio });
    this.route(viewer, true);
    return true;
  }

  /** Removes a viewer; returns whether it was subscribed. */
  unsubscribe(viewer: ViewerSink): boolean {
    if (!this.viewers.delete(viewer)) return false;
    this.detach(viewer);
    return true;
  }

  /** A viewer's decoder needs a keyframe. */
  keyframeWanted(viewer: ViewerSink): void {
    this.chunks.keyframeWanted(viewer);
  }

  /** Sends a viewer to the output it can play; `restart`: it starts over even if it stays. */
  private route(viewer: ViewerSink, restart: boolean): void {
    const wants = this.viewers.get(viewer) ?? { chunks: false, audio: true };
    const tracks = this.camera.tracks;
    // Before the camera's tracks are known a muxed viewer waits (it is routed when they come).
    const target = wants.chunks ? this.chunks : tracks ? this.muxed.get(muxKey(muxFormFor(tracks), wants.audio)) : undefined;
    if (target && target.has(viewer) && !restart) return;
    this.detach(viewer, target);
    target?.add(viewer);
  }

  private detach(viewer: ViewerSink, except?: ChunkOutput | MuxedOutput): void {
    for (const out of [this.chunks, ...this.muxed.values()]) if (out !== except) out.remove(viewer);
  }
}
