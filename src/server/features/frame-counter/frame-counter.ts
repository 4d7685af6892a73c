// The smallest feature: it counts each camera's frames as a consumer of the core, the way the
// recorder, the snapshot taker and the integrations will take them (their own queue, joining at a
// keyframe, told what they missed). It is the template for a feature, and the test that a feature
// attaches without editing transport code. While attached, every camera counts as wanted.
import type { Camera, CoreFrame } from '../../core/camera.ts';
import type { Cameras, Feature } from '../../core/feature.ts';
import type { FeedSink } from '../../core/feed.ts';

/** What was counted for one camera. */
export interface FrameCount {
  video: number;
  audio: number;
  keyframes: number;
  bytes: number;
  /** Video frames it missed (it never does: its queue is never full). */
  skipped: number;
  /** Times it (re)started at a keyframe: once per period. */
  joins: number;
}

export class FrameCounter implements Feature {
  readonly name = 'frame-counter';
  private readonly counts = new Map<string, FrameCount>();

  /** What was counted for a camera id, while the server knows the camera. */
  count(cameraId: string): FrameCount | undefined {
    return this.counts.get(cameraId);
  }

  attach(cameras: Cameras): () => void {
    const detachers = new Map<Camera, () => void>();
    const watch = (camera: Camera): void => {
      const count: FrameCount = { video: 0, audio: 0, keyframes: 0, bytes: 0, skipped: 0, joins: 0 };
      this.counts.set(camera.id, count);
      const take = (f: CoreFrame): void => {
        count[f.track]++;
        if (f.key && f.track === 'video') count.keyframes++;
        count.bytes += f.data.byteLength;
      };
      const sink: FeedSink<CoreFrame> = {
        congested: () => false,
        choked: () => false,
        join: (frames) => {
          count.joins++;
          frames.forEach(take);
        },
        send: take,
        skipped: (n) => {
          count.skipped += n;
        },
      };
      camera.attach(sink);
      const gone = (): void => {
        detachers.delete(camera);
        this.counts.delete(camera.id);
      };
      camera.once('gone', gone);
      detachers.set(camera, () => {
        camera.off('gone', gone);
        camera.detach(sink);
      });
    };
    for (const camera of cameras.all()) watch(camera);
    const stop = cameras.onCamera(watch);
    return () => {
      stop();
      for (const detach of detachers.values()) detach();
      detachers.clear();
    };
  }
}
