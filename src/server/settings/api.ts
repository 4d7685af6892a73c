// The owner's Settings, as JSON routes the viewer's Settings place uses: the current links with QR
// codes, a single-use pairing link ("Add a camera"), the devices that hold access (revoke one),
// renewing the links, and the cameras (rename, forget, order). Every route here is the owner's
// (access 'owner': the owner link or the --token); changes are POSTs from this server's pages only.
import { z } from 'zod';
import type { AccessControl } from '../access.ts';
import { PAIR_PARAM } from '../access.ts';
import type { Hub } from '../hub.ts';
import type { Logger } from '../log.ts';
import { ownerPost, sendJson, type RequestContext, type Route } from '../routes.ts';
import { qrSvg } from '../trust-page.ts';
import { cameraId, cameraName } from '../../shared/schemas.ts';
import { MAX_RECORDS } from '../core/registry.ts';
import { joinedWith, type LinksOfAddress, type SettingsView } from '../../shared/settings.ts';

export type { LinksOfAddress, SettingsView } from '../../shared/settings.ts';

export interface SettingsDeps {
  access: AccessControl;
  hub: Hub;
  /** The links per address, the most useful first (they change with the network and on renewal). */
  links(): LinksOfAddress[];
  /** Devices with a socket open now, and the camera ids they stream as. */
  online(): Map<string, string[]>;
  /** A camera's recordings: whether one is being written now, and deleting them all (bytes freed, null while one is written). */
  recordings?: { busy(cameraId: string): boolean; has(cameraId: string): boolean; remove(cameraId: string): Promise<number | null> };
  log: Logger;
}

const idBody = z.object({ id: z.string().max(100) });
const forgetBody = z.object({ id: z.string().max(100), deleteRecordings: z.boolean().optional() });
const renameBody = z.object({ id: cameraId, name: cameraName });
const orderBody = z.object({ ids: z.array(cameraId).max(MAX_RECORDS) });
const pairingBody = z.object({ role: z.enum(['camera', 'viewer']) });

export function settingsRoutes(deps: SettingsDeps): Route[] {
  const { access, hub, log } = deps;
  // QR codes cost a few ms each: made again only when the links change.
  let qrFor = '';
  let qr: SettingsView['qr'] | null = null;
  const qrCodes = async (first: LinksOfAddress | undefined): Promise<SettingsView['qr']> => {
    if (!first) return { camera: '', viewer: '', setup: null };
    const key = JSON.stringify(first);
    if (qr && qrFor === key) return qr;
    const [camera, viewer, setup] = await Promise.all([dataUrl(first.camera), dataUrl(first.viewer), first.helper ? dataUrl(first.helper) : null]);
    qrFor = key;
    qr = { camera, viewer, setup };
    return qr;
  };

  const view = async (ctx: RequestContext): Promise<SettingsView> => {
    const links = deps.links();
    const online = deps.online();
    return {
      renewable: access.source === 'file',
      links,
      qr: await qrCodes(links[0]),
      devices: access.devices.all().map((d) => {
        // (Shown by the name of the camera it streams as, while that camera is listed.)
        const camera = d.camera ? (hub.get(d.camera)?.camera.name ?? null) : null;
        return { id: d.id, label: camera ?? d.label, roles: d.roles, via: d.via, created: d.created, lastSeen: d.lastSeen, address: d.address, online: online.has(d.id), camera, you: d.id === ctx.device };
      }),
      adoptions: hub.adoptions(),
    };
  };

  const post = <T>(path: string, schema: z.ZodType<T>, act: (body: T, ctx: RequestContext) => Promise<unknown> | unknown): Route => ownerPost(path, schema, act, log);

  return [
    {
      path: '/api/settings',
      access: 'owner',
      handle: (_req, res, ctx) => {
        view(ctx).then(
          (v) => sendJson(res, 200, v, ctx.headers),
          (err: unknown) => {
            log.error('/api/settings failed', err);
            sendJson(res, 500, { error: 'internal error' });
          },
        );
      },
    },
    post('/api/pairings', pairingBody, async ({ role }) => {
      const first = deps.links()[0];
      if (!first || access.isOpen) return { error: access.isOpen ? 'there is no access control (--no-auth): any link works' : 'no address to link to', status: 409 };
      const { code, expires } = access.pairings.create(role);
      // Through the setup page when there is one (a new phone may not trust the certificate yet),
      // the code in the fragment; else straight to the HTTPS page.
      let url: URL;
      // (A viewer's code never crosses plain HTTP: a code that lets one watch is not for the setup page.)
      if (first.helper && role === 'camera') {
        url = new URL(first.helper);
        url.hash = `${PAIR_PARAM}=${code}`;
      } else {
        url = new URL(role === 'camera' ? first.camera : first.viewer);
        url.search = '';
        url.searchParams.set(PAIR_PARAM, code);
      }
      log.info(`the owner made a pairing link for a ${role} (works once, until ${new Date(expires).toLocaleTimeString()})`);
      return { link: url.href, qr: await dataUrl(url.href), expires };
    }),
    post('/api/devices/revoke', idBody, ({ id }) => {
      const device = access.devices.revoke(id);
      if (!device) return { error: 'no such device (revoked already?)', status: 404 };
      log.info(`the owner revoked a device: ${device.label} (${device.roles.join(' + ')}, joined ${joinedWith(device.via)})`);
      return { revoked: id };
    }),
    post('/api/links/renew', z.object({}), async () => {
      if (access.source !== 'file') return { error: access.source === 'token' ? 'the links are made from --token: change it to renew them' : 'there is no access control (--no-auth)', status: 409 };
      await access.rotate();
      return { links: deps.links() };
    }),
    post('/api/cameras/rename', renameBody, ({ id, name }) => {
      const result = hub.renameByOwner(id, name);
      if ('ok' in result) log.info(`the owner renamed camera ${id} to "${name}"`);
      return result;
    }),
    post('/api/cameras/forget', forgetBody, async ({ id, deleteRecordings }) => {
      const recordings = deps.recordings;
      const deleting = deleteRecordings === true && recordings !== undefined;
      // (Asked before anything changes: a 409 must leave the camera as it was, to be asked again.)
      if (deleting && recordings.busy(id)) return { error: 'its last recording is still being written: try again in a moment', status: 409 };
      const result = hub.forgetByOwner(id);
      // A camera forgotten before whose recordings were kept: only those go now.
      const onlyRecordings = !('ok' in result) && deleting && !hub.get(id) && recordings.has(id);
      if (!('ok' in result) && !onlyRecordings) return result;
      if ('ok' in result) log.info(`the owner forgot camera ${id}`);
      // Its recordings stay unless the owner asks to delete them too.
      if (!deleting) return { ok: true, deletedBytes: 0 };
      const freed = await recordings.remove(id);
      if (freed === null) return { error: 'its last recording is still being written: try again in a moment', status: 409 };
      log.info(`the owner deleted the recordings of camera ${id} (${(freed / 1e6).toFixed(1)} MB)`);
      return { ok: true, deletedBytes: freed };
    }),
    post('/api/cameras/order', orderBody, ({ ids }) => hub.orderByOwner(ids)),
    post('/api/cameras/adopt', z.object({ id: cameraId }), ({ id }) => {
      const result = hub.adopt(id);
      if ('ok' in result) log.info(`the owner let camera ${id} take the place of the camera it said it was`);
      return result;
    }),
    post('/api/cameras/keep-both', z.object({ id: cameraId }), ({ id }) => hub.dismissAdoption(id)),
  ];
}

async function dataUrl(text: string): Promise<string> {
  return `data:image/svg+xml;base64,${Buffer.from(await qrSvg(text)).toString('base64')}`;
}
