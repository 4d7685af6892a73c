// Real WebCodecs captures (test/fixtures/*.frames, see its README) as the project's media form, for
// the muxer tests.
import { readFileSync } from 'node:fs';
import type { MediaFrame, Tracks } from '../../src/media/frames.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url);

/**
 * A `.frames` fixture as the media form: its tracks (from `.stream.json`) and its frames in
 * timestamp order. The recorded times are capture times (the first video one is 0 = unknown, and
 * audio ones jitter), so timestamps are made as the media core makes them: video from capture
 * times, audio 20 ms packets back to back from the first one (`audioDuration` each: 0 = unknown).
 */
export function loadFrames(name: string, audioDuration = 20_000): { tracks: Tracks; frames: MediaFrame[] } {
  const stream = JSON.parse(readFileSync(new URL(`${name}.stream.json`, FIXTURES), 'utf8'));
  const buf = new Uint8Array(readFileSync(new URL(`${name}.frames`, FIXTURES)));
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const video: { time: number; key: boolean; data: Uint8Array }[] = [];
  const audio: { time: number; key: boolean; data: Uint8Array }[] = [];
  for (let at = 0; at < buf.length; ) {
    const length = view.getUint32(at);
    const flags = buf[at + 5]!;
    const record = { time: view.getFloat64(at + 12), key: (flags & 2) !== 0, data: buf.subarray(at + 20, at + 4 + length) };
    ((flags & 4) !== 0 ? audio : video).push(record);
    at += 4 + length;
  }
  if (video[0]!.time === 0) video[0]!.time = video[1]!.time - 1000 / 30;
  for (let k = 1; k < audio.length; k++) audio[k]!.time = audio[0]!.time + 20 * k;
  const t0 = Math.min(video[0]!.time, audio[0]!.time);
  const frames: MediaFrame[] = [
    ...video.map((f) => ({ track: 'video' as const, key: f.key, timestamp: Math.round((f.time - t0) * 1000), duration: 0, data: f.data })),
    ...audio.map((f) => ({ track: 'audio' as const, key: true, timestamp: Math.round((f.time - t0) * 1000), duration: audioDuration, data: f.data })),
  ].sort((a, b) => a.timestamp - b.timestamp);
  const a = stream.audio;
  const tracks: Tracks = {
    video: { kind: 'video', codec: stream.video.codec, width: stream.video.width, height: stream.video.height },
    audio: { kind: 'audio', codec: a.codec, sampleRate: a.sampleRate, channels: a.channels, description: Buffer.from(a.description, 'base64') },
  };
  return { tracks, frames };
}
