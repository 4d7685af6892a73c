// Opus packets: how long one plays, from its TOC byte (RFC 6716 §3.1), so that a stream's sound can
// be timed by its own samples rather than by jittery capture stamps.
// Pure code: no Node or DOM imports.

/** Samples at 48 kHz in one Opus packet (every frame it holds), from its TOC byte; 0 when it cannot tell. */
export function opusPacketSamples(packet: Uint8Array): number {
  const toc = packet[0];
  if (toc === undefined) return 0;
  const config = toc >> 3;
  // SILK: 10/20/40/60 ms; Hybrid: 10/20 ms; CELT: 2.5/5/10/20 ms (in 48 kHz samples).
  const frame = config < 12 ? [480, 960, 1920, 2880][config & 3]! : config < 16 ? [480, 960][config & 1]! : [120, 240, 480, 960][config & 3]!;
  const code = toc & 3;
  if (code === 0) return frame;
  if (code === 1 || code === 2) return 2 * frame;
  const count = packet[1];
  return count === undefined ? 0 : (count & 0x3f) * frame;
}

/** How long an Opus packet plays, µs; 0 when it cannot tell. */
export function opusPacketDuration(packet: Uint8Array): number {
  return Math.round((opusPacketSamples(packet) * 1e6) / 48_000);
}
