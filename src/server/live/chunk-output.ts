// The chunk form of a camera: every frame as one WebCodecs chunk in its own binary frame, for
// viewers with WebCodecs decoders for every track they play, whatever the camera's transport. Each
// viewer is a consumer of the camera with its own queue (its socket); each frame is put on the
// wire once, however many viewers get it.
import type { Tracks } from '../../media/frames.ts';
import { FLAG_AUDIO, FLAG_KEY, FRAME_KIND_CHUNK } from '../../shared/protocol.ts';
import type { AudioCodecConfig, VideoCodecConfig } from '../../shared/schemas.ts';
import type { Camera, CoreFrame } from '../core/camera.ts';
import type { FeedSink } from '../core/feed.ts';
import type { ViewerSink } from './viewer-sink.ts';
import { wireFrame } from './wire.ts';

/** A period's tracks as the `stream` message tells them (descriptions in base64). */
export function wireConfigs(tracks: Tracks): { video: VideoCodecConfig | null; audio: AudioCodecConfig | null } {
  const b64 = (d: Uint8Array | undefined): { description?: string } => (d ? { description: Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64') } : {});
  const { video, audio } = tracks;
  return {
    video: video ? { codec: video.codec, width: video.width, height: video.height, ...b64(video.description) } : null,
    audio: audio ? { codec: audio.codec, sampleRate: audio.sampleRate, channels: audio.channels, ...b64(audio.description) } : null,
  };
}

/** One camera's chunk viewers. */
export class ChunkOutput {
  /** Each frame's wire form, made once. */
  private readonly wire = new WeakMap<CoreFrame, Uint8Array>();
  private readonly viewers = new Map<ViewerSink, FeedSink<CoreFrame>>();
  private configs: ReturnType<typeof wireConfigs> | null = null;

  constructor(
    private readonly camera: Camera,
    private readonly nextSeq: () => number,
  ) {
    camera.on('tracks', () => {
      this.configs = null;
    });
  }

  has(viewer: ViewerSink): boolean {
    return this.viewers.has(viewer);
  }

  /** Attaches a viewer (or starts it over): it joins at the next keyframe it can have. */
  add(viewer: ViewerSink): void {
    let sink = this.viewers.get(viewer);
    if (!sink) {
      sink = this.sinkFor(viewer);
      this.viewers.set(viewer, sink);
    }
    this.camera.attach(sink);
  }

  remove(viewer: ViewerSink): boolean {
    const sink = this.viewers.get(viewer);
    if (!sink) return false;
    this.viewers.delete(viewer);
    this.camera.detach(sink);
    return true;
  }

  /** The viewer's decoder needs a keyframe. */
  keyframeWanted(viewer: ViewerSink): void {
    const sink = this.viewers.get(viewer);
    if (sink) this.camera.keyframeWanted(sink);
  }

  private frame(f: CoreFrame): Uint8Array {
    let bytes = this.wire.get(f);
    if (!bytes) {
      const flags = (f.key ? FLAG_KEY : 0) | (f.track === 'audio' ? FLAG_AUDIO : 0);
      bytes = wireFrame({ kind: FRAME_KIND_CHUNK, flags, channel: this.camera.number, seq: this.nextSeq(), time: f.time }, f.data);
      this.wire.set(f, bytes);
    }
    return bytes;
  }

  private sinkFor(viewer: ViewerSink): FeedSink<CoreFrame> {
    const camera = this.camera;
    return {
      congested: () => viewer.congested(),
      choked: () => viewer.choked(),
      join: (items) => {
        const tracks = camera.tracks;
        if (!tracks) return;
        this.configs ??= wireConfigs(tracks);
        const kept = items.reduce((n, f) => (f.track === 'video' ? n + 1 : n), 0);
        viewer.sendJson({ type: 'stream', cameraId: camera.id, channel: camera.number, format: 'chunks', ...this.configs, kept, keyframesOnRequest: camera.keyframesOnRequest });
        for (const f of items) viewer.sendBinary(this.frame(f));
      },
      send: (f) => viewer.sendBinary(this.frame(f)),
      skipped: (frames) => viewer.sendJson({ type: 'skipped', cameraId: camera.id, channel: camera.number, frames }),
    };
  }
}
