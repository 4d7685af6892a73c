// How a feature (the recorder, motion, an integration; today the frame counter) attaches to the
// core: it is handed the cameras the server knows and comes to know, attaches consumers to them and
// listens to their events, and returns what detaches it. Features import the core, media and
// shared code only; never the transport (test/unit/structure.test.ts checks).
import type { Camera } from './camera.ts';

/** The cameras as a feature sees them. */
export interface Cameras {
  /** Every camera the server knows now. */
  all(): Iterable<Camera>;
  /** Calls `fn` with each camera the server comes to know from now on; returns what stops that. */
  onCamera(fn: (camera: Camera) => void): () => void;
}

/** A feature: what attaches it to the core. */
export interface Feature {
  readonly name: string;
  /** Attaches to every camera (present and future); returns what detaches it from all of them. */
  attach(cameras: Cameras): () => void;
}
