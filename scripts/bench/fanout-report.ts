// What the fan-out benchmark's children report to it (importing this runs nothing).

export interface CameraReport {
  framesSent: number;
  bytesSent: number;
  /** Largest backlog in this camera's socket (bytes the server had not yet read), sampled every 10 ms. */
  maxBacklogBytes: number;
  keyframeRequests: number;
}

/** Delay histogram: bins of BIN_MS; the last bin holds everything beyond. */
export const BIN_MS = 0.1;
export const BINS = 100_001;

export interface ViewersReport {
  /** Healthy viewers' relay delays, as [bin, count] pairs. */
  delays: [number, number][];
  /** The same per camera, in the order of the camera ids given. */
  delaysByCamera?: [number, number][][];
  frames: number;
  bytes: number;
  /** Frames the server left out for healthy viewers, and their bytes. */
  droppedFrames: number;
  droppedBytes: number;
  /** Frames the server said it skipped (`skipped` messages), all viewers. */
  skippedFrames: number;
  /** Connections ended, by close code (all viewers). */
  closes: Record<string, number>;
  /** Server `error` messages by code. */
  errors: Record<string, number>;
  /** Healthy viewers receiving frames at the end of the window. */
  healthyConnected: number;
  stalledConnected: number;
}
