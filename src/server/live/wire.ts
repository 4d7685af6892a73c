// A binary frame for viewers, made once and sent to each of them.
import { encodeFrame, type FrameHeader } from '../../shared/protocol.ts';

/**
 * The frame's wire form as a Node Buffer: the WebSocket library wraps any other Uint8Array in a
 * new Buffer on every send, which for a frame fanned out to hundreds of viewers is hundreds of
 * objects to collect.
 */
export function wireFrame(header: FrameHeader, payload: Uint8Array): Buffer {
  const bytes = encodeFrame(header, payload);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
