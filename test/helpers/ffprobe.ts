// ffprobe (Debian's ffmpeg package) on a recorded file: its streams, packets and format, and checks
// every recording must pass: a keyframe first, timestamps that only go forward per stream, sound.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

export interface ProbedPacket {
  codec_type: 'video' | 'audio';
  stream_index: number;
  pts_time: string;
  dts_time?: string;
  duration_time?: string;
  flags: string;
  size: string;
}

export interface Probed {
  streams: { index: number; codec_type: string; codec_name: string; width?: number; height?: number; sample_rate?: string }[];
  packets: ProbedPacket[];
  format: { format_name: string; duration?: string; size: string };
}

/** ffprobe's view of a file; fails the test on any error it prints. */
export function probe(file: string): Probed {
  const run = spawnSync('/usr/bin/ffprobe', ['-v', 'error', '-show_streams', '-show_packets', '-show_format', '-of', 'json', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stderr, '', `ffprobe reported errors on ${file}`);
  return JSON.parse(run.stdout) as Probed;
}

/** What a playable recording holds: a video keyframe first, rising timestamps per stream, sound when `sound`. Returns its media's length (s). */
export function checkRecording(p: Probed, sound: boolean): { seconds: number; video: number; audio: number } {
  const video = p.packets.filter((k) => k.codec_type === 'video');
  const audio = p.packets.filter((k) => k.codec_type === 'audio');
  assert.ok(video.length > 0, 'video packets');
  assert.ok(video[0]!.flags.startsWith('K'), `the first video packet is a keyframe (flags ${video[0]!.flags})`);
  if (sound) assert.ok(audio.length > 0, 'sound is there');
  else assert.equal(audio.length, 0, 'no sound');
  for (const list of [video, audio]) {
    for (let i = 1; i < list.length; i++) {
      const [a, b] = [Number(list[i - 1]!.dts_time ?? list[i - 1]!.pts_time), Number(list[i]!.dts_time ?? list[i]!.pts_time)];
      assert.ok(b > a, `${list[i]!.codec_type} timestamps rise: ${a} then ${b} at packet ${i}`);
    }
  }
  const end = Math.max(...p.packets.map((k) => Number(k.pts_time) + Number(k.duration_time ?? 0)));
  const start = Math.min(...p.packets.map((k) => Number(k.pts_time)));
  return { seconds: end - start, video: video.length, audio: audio.length };
}
