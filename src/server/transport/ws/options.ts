// Tunables of the WebSocket layer. The limits people can set (queues, message size) default to the
// server's configuration defaults, defined once in config.ts.
import { DEFAULT_LIMITS } from '../../config.ts';

export interface ConnectionOptions {
  helloTimeoutMs: number;
  heartbeatMs: number;
  commandTimeoutMs: number;
  /** A viewer with more than this queued, or whose oldest queued frame is older than viewerQueueMs, has its video dropped up to a keyframe. */
  viewerQueueBytes: number;
  viewerQueueMs: number;
  /** A viewer whose queue stays full this long is disconnected (it reconnects by itself). */
  stalledViewerMs: number;
  /** Largest binary message, bytes (at most MAX_BINARY_BYTES); larger closes the socket with 1009. */
  maxBinaryBytes: number;
  /** Control (text) messages a client address may send per second on average, and in a burst. */
  messagesPerSecond: number;
  messageBurst: number;
  /** Open WebSockets per client address. */
  maxConnectionsPerAddress: number;
  /** Commands waiting for one camera's answer. */
  maxPendingCommands: number;
  /** Media work (see MEDIA_WORK in address-share.ts) a client address may do per second on average, and in a burst; past it, its sockets are not read for a while. */
  mediaWorkPerSecond: number;
  mediaWorkBurst: number;
  /** Bytes kept for joiners of one address's cameras, and of all cameras (each frame counted with FRAME_COST_BYTES). */
  retainedBytesPerAddress: number;
  retainedBytesTotal: number;
  /** Bytes of messages begun and not finished, on all sockets of one address (at least one largest message): past it, the socket holding the most is closed. */
  unfinishedBytesPerAddress: number;
}

export const DEFAULT_CONNECTION_OPTIONS: ConnectionOptions = {
  helloTimeoutMs: 10_000,
  heartbeatMs: 15_000,
  commandTimeoutMs: 5_000,
  viewerQueueBytes: DEFAULT_LIMITS.viewerQueueBytes,
  viewerQueueMs: DEFAULT_LIMITS.viewerQueueMs,
  stalledViewerMs: DEFAULT_LIMITS.stalledViewerMs,
  maxBinaryBytes: DEFAULT_LIMITS.maxMessageBytes,
  // A viewer page subscribing to 50 cameras at once sends 50 messages; people send a few a minute.
  messagesPerSecond: 50,
  messageBurst: 200,
  maxConnectionsPerAddress: DEFAULT_LIMITS.socketsPerAddress,
  maxPendingCommands: 32,
  mediaWorkPerSecond: DEFAULT_LIMITS.mediaWorkPerSecond,
  mediaWorkBurst: 2 * DEFAULT_LIMITS.mediaWorkPerSecond,
  retainedBytesPerAddress: DEFAULT_LIMITS.keptBytesPerAddress,
  retainedBytesTotal: DEFAULT_LIMITS.keptBytesTotal,
  unfinishedBytesPerAddress: DEFAULT_LIMITS.unfinishedBytesPerAddress,
};

/**
 * Keyframe requests from one address, per second and at once, that cost nothing else. A tile asks
 * at most once a second (the server heeds one a second per viewer anyway), so this is a page of 20
 * tiles asking without a pause, or 200 asking at once. More are ignored and spend the control
 * budget instead, so a flood is closed like any other.
 */
export const KEYFRAME_REQUESTS_PER_SECOND = 20;
export const KEYFRAME_REQUEST_BURST = 200;
