// GET /api/cameras/<id>/snapshot.jpg: a JPEG of what the camera sees now, taken by its page from
// its live picture (the server decodes no video), within a second; when the camera is offline or
// does not answer, the last one taken, with its time in X-Snapshot-Time; a clear JSON error if
// there is none. For viewers, like live view.
import type { Hub } from '../hub.ts';
import { send, sendJson, type Route } from '../routes.ts';

/** A snapshot this recent is served again rather than asked for anew. */
const FRESH_MS = 1000;
/** Widest snapshot asked for (a phone's full picture is usually 1280 or 1920). */
const SNAPSHOT_WIDTH = 1920;

export function snapshotRoutes(hub: Hub): Route[] {
  return [
    {
      path: '/api/cameras/:id/snapshot.jpg',
      access: 'viewer',
      handle: (_req, res, ctx) => {
        const camera = hub.get(ctx.id)?.camera;
        if (!camera) return sendJson(res, 404, { error: `no camera "${ctx.id}" here` });
        // One taken less than a second ago is now enough (a script polling must not make the phone encode a picture each time).
        const recent = camera.lastSnapshot;
        if (recent && camera.online && Date.now() - recent.time < FRESH_MS && recent.width >= SNAPSHOT_WIDTH) return sendJpeg(recent.jpeg, recent.time, true);
        camera.requestSnapshot(SNAPSHOT_WIDTH).then(
          (s) => sendJpeg(s.jpeg, s.time, true),
          (err: Error) => {
            const last = camera.lastSnapshot;
            if (last) return sendJpeg(last.jpeg, last.time, false);
            sendJson(res, camera.online ? 504 : 404, { error: `no snapshot of "${camera.name}": ${err.message}, and none was taken before` });
          },
        );
        function sendJpeg(jpeg: Uint8Array, time: number, live: boolean): void {
          send(res, 200, 'image/jpeg', jpeg, { 'X-Snapshot-Time': new Date(time).toISOString(), 'X-Snapshot-Live': live ? '1' : '0', 'Last-Modified': new Date(time).toUTCString() });
        }
      },
    },
  ];
}
