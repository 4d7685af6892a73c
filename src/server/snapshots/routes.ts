// GET /api/cameras/<id>/snapshot.jpg: a JPEG of what the camera sees now, taken by its page from
// its live picture (the server decodes no video), within a second; when the camera is offline or
// does not answer, the last one taken (since the server started; else the latest thumbnail of its
// recordings), with its time in X-Snapshot-Time; a clear JSON error if there is none. For viewers, like live view.
import type { Hub } from '../hub.ts';
import { send, sendJson, type Route } from '../routes.ts';

/** A snapshot this recent is served again rather than asked for anew. */
const FRESH_MS = 1000;
/** Widest snapshot asked for (a phone's full picture is usually 1280 or 1920). */
const SNAPSHOT_WIDTH = 1920;

/** The latest picture kept elsewhere (a recording's thumbnail), for a camera with no snapshot since the server started. */
export type SnapshotFallback = (cameraId: string) => Promise<{ jpeg: Uint8Array; time: number } | null>;

export function snapshotRoutes(hub: Hub, fallback: SnapshotFallback = async () => null): Route[] {
  return [
    {
      path: '/api/cameras/:id/snapshot.jpg',
      access: 'viewer',
      handle: (_req, res, ctx) => {
        const camera = hub.get(ctx.id)?.camera;
        if (!camera) {
          // (Not listed now: a camera long offline may still have a recording's picture.)
          void fallback(ctx.id)
            .catch(() => null)
            .then((kept) => (kept ? sendJpeg(kept.jpeg, kept.time, false) : sendJson(res, 404, { error: `no camera "${ctx.id}" here` })))
            .catch(() => res.destroy());
          return;
        }
        // One taken less than a second ago is now enough (a script polling must not make the phone encode a picture each time).
        const recent = camera.lastSnapshot;
        if (recent && camera.online && Date.now() - recent.time < FRESH_MS && recent.width >= SNAPSHOT_WIDTH) return sendJpeg(recent.jpeg, recent.time, true);
        camera.requestSnapshot(SNAPSHOT_WIDTH).then(
          (s) => sendJpeg(s.jpeg, s.time, true),
          async (err: Error) => {
            const last = camera.lastSnapshot ?? (await fallback(camera.id).catch(() => null));
            if (last) return sendJpeg(last.jpeg, last.time, false);
            sendJson(res, camera.online ? 504 : 404, { error: `no snapshot of "${camera.name}": ${err.message}, and none was taken before` });
          },
        ).catch(() => (res.headersSent ? res.destroy() : sendJson(res, 500, { error: 'internal error' })));
        function sendJpeg(jpeg: Uint8Array, time: number, live: boolean): void {
          send(res, 200, 'image/jpeg', jpeg, { 'X-Snapshot-Time': new Date(time).toISOString(), 'X-Snapshot-Live': live ? '1' : '0', 'Last-Modified': new Date(time).toUTCString() });
        }
      },
    },
  ];
}
