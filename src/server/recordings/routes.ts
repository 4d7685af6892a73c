// The recordings' routes: listing, playback and export for whoever may watch live (viewer access:
// never a camera link), and the recording switches for the owner. The work is the recording
// feature's (features/recording/); this file puts it behind the server's routes and access rules.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { CameraRegistry } from '../core/registry.ts';
import type { Hub } from '../hub.ts';
import type { Logger } from '../log.ts';
import { ownerPost, sendJson, type Route } from '../routes.ts';
import { cameraId } from '../../shared/schemas.ts';
import { listRecordings, sendExport, sendSegment, sendThumbnail } from '../features/recording/http.ts';
import type { Recorder } from '../features/recording/recorder.ts';
import type { Retention } from '../features/recording/retention.ts';
import type { RecordingStore } from '../features/recording/store.ts';

export interface RecordingRouteDeps {
  store: RecordingStore;
  recorder: Recorder;
  retention: Retention;
  registry: CameraRegistry;
  hub: Hub;
  /** --record: cameras without a switch of their own are recorded. */
  recordAll: boolean;
  keepDays: number;
  log: Logger;
}

/** What a camera's route gets: the camera, the request and a way to answer in JSON. */
interface CameraRequest {
  id: string;
  name: string;
  url: URL;
  req: IncomingMessage;
  res: ServerResponse;
  json: (status: number, body: unknown) => void;
}

const switchBody = z.object({ id: cameraId, record: z.boolean().optional(), sound: z.boolean().optional() });
const DAY_MS = 24 * 3600 * 1000;

export function recordingRoutes(deps: RecordingRouteDeps): Route[] {
  const { store, registry, hub, log } = deps;
  /** The camera's name, if the server knows it or has its recordings; else null (a 404 has been sent). */
  const known = (id: string, send: (status: number, body: unknown) => void): string | null => {
    const name = hub.get(id)?.camera.name ?? registry.get(id)?.name ?? (store.cameraIds().includes(id) ? id : null);
    if (name === null) send(404, { error: `no camera "${id}" here` });
    return name;
  };
  const failed = (path: string, res: ServerResponse) => (err: unknown) => {
    log.error(`${path} failed`, err);
    if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    else res.destroy();
  };
  /** `GET /api/cameras/:id/<what>` for viewers: a 404 for a camera this server does not know, a logged 500 for a failure. */
  const cameraRoute = (what: string, handle: (c: CameraRequest) => unknown): Route => {
    const path = `/api/cameras/:id/${what}`;
    return {
      path,
      access: 'viewer',
      handle: (req, res, ctx) => {
        const json = (status: number, body: unknown): void => sendJson(res, status, body);
        const name = known(ctx.id, json);
        if (name !== null) Promise.resolve().then(() => handle({ id: ctx.id, name, url: ctx.url, req, res, json })).catch(failed(path, res));
      },
    };
  };
  return [
    {
      // What is recorded: per camera its switch, whether it records now, the bytes it holds; the disk.
      path: '/api/recordings',
      access: 'viewer',
      handle: (_req, res) => {
        void deps.retention.disk().then((disk) => {
          // (A camera the owner forgot keeps its recordings, listed by its id, unless they were deleted with it.)
          const forgotten = store.cameraIds().filter((id) => !registry.get(id) && store.segments(id).length > 0);
          const records = [...registry.all(), ...forgotten.map((id) => ({ id, name: `${id} (forgotten)`, record: false as boolean | undefined, recordSound: undefined as boolean | undefined }))];
          const cameras = records.map((r) => {
            const bytes = store.bytes(r.id);
            const first = store.segments(r.id)[0];
            const days = first ? Math.max(1 / 24, (Date.now() - first.start) / DAY_MS) : 0;
            // Recording now only while it streams (an offline camera's recorder waits for it); a failure whenever.
            const camera = hub.get(r.id)?.camera;
            const recording = camera?.recording && (camera.online || camera.recording.state === 'failed') ? camera.recording : null;
            return { id: r.id, name: r.name, record: r.record ?? deps.recordAll, sound: r.recordSound !== false, recording, bytes, bytesPerDay: days > 0 ? Math.round(bytes / days) : null };
          });
          const perDay = cameras.reduce((n, c) => n + (c.record && c.bytesPerDay ? c.bytesPerDay : 0), 0);
          const used = cameras.reduce((n, c) => n + c.bytes, 0);
          // Days that fit: what is used and what is free above the floor, at today's rate.
          const fit = perDay > 0 ? Math.floor((used + Math.max(0, disk.free - disk.floor)) / perDay) : null;
          sendJson(res, 200, { cameras, disk, used, daysFit: fit, keepDays: deps.keepDays, recordAll: deps.recordAll });
        }, failed('/api/recordings', res));
      },
    },
    cameraRoute('recordings', (c) => listRecordings(store, c.id, c.url, c.json)),
    cameraRoute('segment', (c) => sendSegment(store, c.id, c.url, c.req, c.res, c.json)),
    cameraRoute('thumbnail', (c) => sendThumbnail(store, c.id, c.url, c.req, c.res, c.json)),
    // (An export must leave the retention floor free: it never makes retention delete recordings.)
    cameraRoute('recording', async (c) => sendExport(store, c.id, c.name, c.url, c.req, c.res, c.json, (await deps.retention.disk()).floor)),
    ownerPost(
      '/api/cameras/record',
      switchBody,
      ({ id, record, sound }) => {
        if (!registry.setRecording(id, record, sound)) return { error: `no camera "${id}" here`, status: 404 };
        deps.recorder.update(id);
        const r = registry.get(id);
        return { id, record: r?.record ?? deps.recordAll, sound: r?.recordSound !== false };
      },
      log,
    ),
  ];
}
