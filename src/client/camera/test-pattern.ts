// The test pattern (`/camera?source=test`): a canvas filmed instead of the camera, each frame
// carrying the time it was painted (on the server's clock) as a block code that viewers read back
// to show the true glass-to-glass latency next to their estimate. Moving shapes keep the encoder as
// busy as a real scene; an optional quiet tone stands in for the microphone.
import { paintTimeCode } from '../common/time-code.ts';

export interface TestPattern {
  stream: MediaStream;
  stop(): void;
}

/** Starts painting; `now` gives the time to paint (ms since the epoch, server clock). */
export function startTestPattern(width: number, height: number, fps: number, audio: boolean, now: () => number): TestPattern {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d', { alpha: false })!;
  let frame = 0;
  let raf = 0;
  const paint = (): void => {
    paintScene(ctx, width, height, frame++);
    // Last, so the code is as close as can be to the moment the frame is taken.
    paintTimeCode(ctx, now(), width, height);
    raf = requestAnimationFrame(paint);
  };
  paint();
  const stream = canvas.captureStream(fps);
  let audioContext: AudioContext | null = null;
  if (audio) {
    audioContext = new AudioContext();
    const osc = audioContext.createOscillator();
    const gain = audioContext.createGain();
    osc.frequency.value = 440;
    gain.gain.value = 0.05;
    const out = audioContext.createMediaStreamDestination();
    osc.connect(gain).connect(out);
    osc.start();
    // Opened without a tap (autostart), the context may start suspended: a silent track then.
    void audioContext.resume().catch(() => undefined);
    for (const t of out.stream.getAudioTracks()) stream.addTrack(t);
  }
  return {
    stream,
    stop: () => {
      cancelAnimationFrame(raf);
      for (const t of stream.getTracks()) t.stop();
      void audioContext?.close();
    },
  };
}

function paintScene(ctx: CanvasRenderingContext2D, w: number, h: number, n: number): void {
  const hue = (n * 2) % 360;
  const g = ctx.createLinearGradient(0, 0, w, h);
  g.addColorStop(0, `hsl(${hue},60%,35%)`);
  g.addColorStop(1, `hsl(${(hue + 120) % 360},60%,55%)`);
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, w, h);
  const s = Math.min(w / 640, h / 480);
  const cx = w / 2;
  const cy = h * 0.65;
  for (let i = 0; i < 6; i++) {
    const a = n * 0.03 * (i + 1) + i;
    ctx.fillStyle = `hsl(${(hue + i * 60) % 360},80%,${40 + i * 6}%)`;
    ctx.beginPath();
    ctx.arc(cx + Math.cos(a) * (120 + i * 25) * s, cy + Math.sin(a * 1.3) * (90 + i * 6) * s, (18 + i * 4) * s, 0, Math.PI * 2);
    ctx.fill();
  }
  ctx.strokeStyle = '#fff';
  ctx.lineWidth = 3 * s;
  ctx.beginPath();
  ctx.moveTo(cx, cy);
  ctx.lineTo(cx + Math.cos(n * 0.1) * 150 * s, cy + Math.sin(n * 0.1) * 150 * s);
  ctx.stroke();
  ctx.fillStyle = '#fff';
  ctx.font = `${Math.round(20 * s)}px sans-serif`;
  ctx.fillText(`test pattern · frame ${n}`, 20 * s, h - 20 * s);
}
