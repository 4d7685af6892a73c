// Where live outputs send things for one viewer: its connection (or a test double).
import type { ServerMessage } from '../../shared/schemas.ts';

/** One viewer as the live outputs see it: messages, binary frames, and the state of its queue. */
export interface ViewerSink {
  sendJson(message: ServerMessage): void;
  sendBinary(frame: Uint8Array): void;
  /** True when the viewer's queue is full (in bytes or in age): its video is dropped up to a keyframe. */
  congested(): boolean;
  /** True when even sound should not be queued for it any more. */
  choked(): boolean;
}
