// A still picture of what the camera shows now, taken from the live preview when the server asks
// (for GET /api/cameras/<id>/snapshot.jpg and the recordings' thumbnails): the server never decodes
// video. A preview paused by "Screen off" is played for the one frame.

const MAX_BYTES = 1536 * 1024;

/** JPEG bytes of the preview's current picture, at most `width` pixels wide; null when there is no picture. */
export async function takeSnapshot(video: HTMLVideoElement, width: number): Promise<Uint8Array | null> {
  const paused = video.paused;
  if (paused) {
    await video.play().catch(() => undefined);
    await new Promise<void>((resolve) => {
      if ('requestVideoFrameCallback' in video) video.requestVideoFrameCallback(() => resolve());
      setTimeout(resolve, 150);
    });
  }
  try {
    if (video.videoWidth === 0 || video.videoHeight === 0) return null;
    const scale = Math.min(1, width / video.videoWidth);
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(video.videoWidth * scale));
    canvas.height = Math.max(1, Math.round(video.videoHeight * scale));
    const g = canvas.getContext('2d');
    if (!g) return null;
    g.drawImage(video, 0, 0, canvas.width, canvas.height);
    // Well under the server's 2 MiB for a snapshot: a busy picture is encoded again more coarsely.
    for (const quality of [0.85, 0.6, 0.35]) {
      const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));
      if (!blob) return null;
      if (blob.size <= MAX_BYTES) return new Uint8Array(await blob.arrayBuffer());
    }
    return null;
  } finally {
    if (paused) video.pause();
  }
}
