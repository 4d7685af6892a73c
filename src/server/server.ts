// Assembles the server: certificates, the HTTPS origin (pages + WebSocket), the plain-HTTP helper.
import https from 'node:https';
import http from 'node:http';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import { watchFile, unwatchFile } from 'node:fs';
import { AccessControl, KEY_PARAM } from './access.ts';
import { bundleClients } from './bundler.ts';
import { DEFAULT_LIMITS, type ServerConfig } from './config.ts';
import { attachWebSockets, type ConnectionOptions } from './transport/ws/web-sockets.ts';
import { CLOSE_CODES } from '../shared/protocol.ts';
import { Hub, OFFLINE_KEEP_MS } from './hub.ts';
import type { Feature } from './core/feature.ts';
import { CameraRegistry } from './core/registry.ts';
import type { Logger } from './log.ts';
import { caRoute, dispatch, httpsRoutes, requestUrl, send, type Route } from './routes.ts';
import type { RateLimitOptions } from './rate-limit.ts';
import { ensureCertificates, loadUserCertificate, type TlsNames } from './tls/certificates.ts';
import { lanNames } from './tls/lan-names.ts';
import { secureDataDir } from './core/data-dir.ts';
import { MemoryReclaimer } from './memory.ts';
import { PreAuthLimit, type PreAuthLimits } from './pre-auth.ts';
import { SETUP_SCRIPT_PATH, renderTrustPage } from './trust-page.ts';
import { settingsRoutes } from './settings/api.ts';
import { recordingRoutes } from './recordings/routes.ts';
import { setUpRecording } from './recordings/setup.ts';
import { snapshotRoutes } from './snapshots/routes.ts';

/** Links for one address the server can be reached at, each carrying its key. */
export interface AddressLinks {
  address: string;
  camera: string;
  viewer: string;
  /** The viewer with Settings (links, devices, renaming cameras): for the owner only. */
  owner: string;
  /** The setup page on the plain-HTTP helper, with the camera key in its fragment (it opens the camera once the certificate is trusted). */
  helper: string | null;
}

/** A started server. */
export interface RunningServer {
  httpsPort: number;
  httpPort: number | null;
  /** Links per LAN address, the most useful (a LAN IPv4 address) first. */
  links: AddressLinks[];
  /** SHA-256 fingerprint of the local CA, or null with a user certificate. */
  caFingerprint256: string | null;
  hub: Hub;
  access: AccessControl;
  /** The HTTPS route table (tests check every route's access). */
  routes: { https: readonly Route[] };
  /** Makes new links: every old link and cookie stops working, open connections are closed. */
  rotateLinks(): Promise<void>;
  /** What each open WebSocket has queued for its peer (tests check viewers' queues stay bounded). */
  queues(): { role: 'hello' | 'camera' | 'viewer'; bytes: number }[];
  close(): Promise<void>;
}

/** Extras for tests and for the command line. */
export interface StartOptions {
  ws?: Partial<ConnectionOptions>;
  rateLimit?: Partial<RateLimitOptions>;
  /** Features to attach to the core (each detached when the server closes). */
  features?: readonly Feature[];
  /** Called when the links changed (rotation, new addresses), to print them again. */
  onLinksChanged?: (running: RunningServer, why: string) => void;
  /** The browser code, already bundled (by URL path); else it is bundled here at start. */
  clientBundles?: Map<string, string>;
  /** Recording segments' length (tests use short ones). */
  segmentMs?: number;
  /** Caps on connections that have shown no credential yet (see pre-auth.ts). */
  preAuth?: Partial<PreAuthLimits>;
}

/** A TLS handshake, and then the first request's headers, must come within this long. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** How often the server checks whether its addresses changed (and renews the certificate). */
const ADDRESS_CHECK_MS = 60_000;
/** How often the devices with a socket open are marked as seen. */
const DEVICE_SEEN_MS = 5 * 60 * 1000;
/** How often the server looks for a secret written by `npm run rotate-links`. */
const ACCESS_POLL_MS = 2_000;
/** How often the server checks its certificate for expiry even when nothing changed. */
const RENEW_CHECK_MS = 24 * 60 * 60 * 1000;

/** Starts everything; resolves once both ports listen. */
export async function startServer(config: ServerConfig, log: Logger, options: StartOptions = {}): Promise<RunningServer> {
  await secureDataDir(config.dataDir, log);
  const { access, created } = await AccessControl.load({ dataDir: config.dataDir, token: config.token, open: config.noAuth, log, ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}) });
  if (created) log.info(`created an access secret in ${access.file}`);
  const userCert = config.cert && config.key ? await loadUserCertificate(config.cert, config.key) : null;
  let names = lanNames();
  const tls = userCert ? null : await ensureCertificates(config.dataDir, names);
  if (tls?.retiredCa) log.warn(`the certificate authority in ${config.dataDir} was near its end: kept as ca.crt.${tls.retiredCa} and ca.key.${tls.retiredCa}; every phone must trust the new one`);
  if (tls?.createdCa) log.info(`created a local certificate authority in ${config.dataDir}`);
  if (tls?.issued) log.info(`issued a server certificate for ${[...tls.names.dns, ...tls.names.ips].join(', ')}`);

  const limits = { ...DEFAULT_LIMITS, ...config.limits };
  const registry = await CameraRegistry.load(config.dataDir, log);
  const hub = new Hub(OFFLINE_KEEP_MS, limits.maxCameras, limits.maxViewersPerCamera, registry);
  const recording = await setUpRecording(config.dataDir, config.recording, registry, log, options.segmentMs);
  const detachFeatures = [recording.recorder, ...(options.features ?? [])].map((feature) => feature.attach(hub));
  const bundles = options.clientBundles ?? (await bundleClients());
  const routes = await httpsRoutes({ bundles, caCertDer: tls?.caCertDer ?? null, hub });
  const key = userCert?.key ?? tls!.key;
  const cert = userCert?.cert ?? tls!.cert;
  // A TLS handshake not done within 10 s, or a request's headers not sent within 10 s, is given up
  // (checked every 2 s: Node's default looks every 30 s).
  const server = https.createServer({ key, cert, handshakeTimeout: HANDSHAKE_TIMEOUT_MS, headersTimeout: HANDSHAKE_TIMEOUT_MS, connectionsCheckingInterval: 2000 }, (req, res) =>
    dispatch(routes, access, req, res, () => preAuth.authenticated(req.socket)),
  );
  const reclaimer = new MemoryReclaimer();
  const preAuth = new PreAuthLimit({ perAddress: limits.preAuthPerAddress, total: limits.preAuthTotal, ...options.preAuth }, log);
  server.on('connection', (socket: Socket) => preAuth.admit(socket));
  const sockets = attachWebSockets(server, hub, log, access, (socket) => preAuth.authenticated(socket), {
    viewerQueueBytes: limits.viewerQueueBytes,
    viewerQueueMs: limits.viewerQueueMs,
    stalledViewerMs: limits.stalledViewerMs,
    maxBinaryBytes: limits.maxMessageBytes,
    maxConnectionsPerAddress: limits.socketsPerAddress,
    mediaWorkPerSecond: limits.mediaWorkPerSecond,
    mediaWorkBurst: 2 * limits.mediaWorkPerSecond,
    retainedBytesPerAddress: limits.keptBytesPerAddress,
    retainedBytesTotal: limits.keptBytesTotal,
    unfinishedBytesPerAddress: limits.unfinishedBytesPerAddress,
    ...options.ws,
  }, (bytes) => reclaimer.received(bytes));
  await listen(server, config.port, config.host);
  const httpsPort = (server.address() as AddressInfo).port;

  let helper: http.Server | null = null;
  let helperRoutes: Route[] = [];
  const linkKeys = () => (access.isOpen ? null : { camera: access.linkKey('camera'), viewer: access.linkKey('viewer'), owner: access.linkKey('owner') });
  let httpPort: number | null = null;
  if (config.httpPort !== 0) {
    helper = http.createServer((req, res) => helperRequest(helperRoutes, req, res, httpsPort));
    await listen(helper, config.httpPort, config.host);
    httpPort = (helper.address() as AddressInfo).port;
  }

  const running: RunningServer = {
    httpsPort,
    httpPort,
    links: linksFor(reachable(names, config.host), httpsPort, httpPort, linkKeys()),
    caFingerprint256: tls?.caFingerprint256 ?? null,
    hub,
    access,
    routes: { https: routes },
    rotateLinks: () => access.rotate(),
    queues: () => sockets.queues(),
    close: async () => {
      clearInterval(addressTimer);
      clearInterval(seenTimer);
      unwatchFile(access.file, onAccessFile);
      sockets.close();
      reclaimer.stop();
      await recording.close();
      for (const detach of detachFeatures) detach();
      hub.close();
      await registry.flush();
      await access.devices.flush();
      server.closeAllConnections();
      helper?.closeAllConnections();
      await Promise.all([closeServer(server), helper ? closeServer(helper) : Promise.resolve()]);
    },
  };
  // The setup page (the helper's): the same for everyone, its script reads the key from the URL
  // fragment. An older setup link (`?key=` in the query) still works: the key is checked, and the
  // page then carries the camera link for whoever came with it.
  const renderHelper = async (): Promise<void> => {
    if (!helper) return;
    const common = { caFingerprint256: running.caFingerprint256 ?? '', userCertificate: userCert !== null, httpsPort };
    const page = (cameraLink: string | null = null, notice?: string) => renderTrustPage({ ...common, cameraLink, ...(notice ? { notice } : {}) });
    const pages = {
      plain: page(),
      wrongLink: page(null, 'The link you opened does not work: links stop working when the owner renews them. Ask for a new link.'),
      viewerLink: page(null, 'That is not a camera link: open it over HTTPS (the https:// link). To use this device as a camera, open a camera link.'),
    };
    const html = 'text/html; charset=utf-8';
    const csp = { 'Content-Security-Policy': "default-src 'none'; script-src 'self'; connect-src https:; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'" };
    const script = bundles.get('/assets/setup.js');
    if (script === undefined) throw new Error('the setup page has no script bundle');
    helperRoutes = [
      {
        path: '/',
        // Public: the trust steps come before anything else.
        access: 'public',
        handle: (req, res, ctx) => {
          const key = ctx.url.searchParams.get(KEY_PARAM);
          if (key === null || access.isOpen) return send(res, 200, html, pages.plain, csp);
          const result = access.authenticateOnHelper({ address: req.socket.remoteAddress ?? '?', key, token: null, cookieHeader: undefined });
          if (result.kind === 'limited') {
            return send(res, 429, html, page(null, `Too many attempts with a wrong link from this device. Try again in ${Math.ceil(result.retryAfterMs / 1000)} s.`), csp);
          }
          if (result.kind === 'refused') return send(res, 401, html, pages.wrongLink, csp);
          // Only a camera link is shown back (this is plain HTTP): never a viewer's or the owner's.
          if (result.kind !== 'ok' || result.roles.size !== 1 || !result.roles.has('camera')) return send(res, 200, html, pages.viewerLink, csp);
          const host = hostnameOf(req.headers.host);
          const link = host ? `https://${host}:${httpsPort}/camera?${KEY_PARAM}=${encodeURIComponent(key)}` : (running.links[0]?.camera ?? null);
          send(res, 200, html, page(link), csp);
        },
      },
      { path: SETUP_SCRIPT_PATH, access: 'public', handle: (_req, res) => send(res, 200, 'text/javascript; charset=utf-8', script) },
    ];
    if (tls) helperRoutes.push(caRoute(tls.caCertDer));
  };
  await renderHelper();

  // The owner's Settings (links, devices, cameras).
  routes.push(...settingsRoutes({ access, hub, links: () => running.links, online: () => sockets.online(), recordings: { busy: (id) => recording.store.writingOf(id) !== null, has: (id) => recording.store.segments(id).length > 0, remove: (id) => recording.store.removeCamera(id) }, log }));
  // Recordings: listing, playback and export (viewers), the recording switches (the owner).
  routes.push(...snapshotRoutes(hub, (id) => recording.store.latestThumbnail(id)));
  routes.push(...recordingRoutes({ store: recording.store, recorder: recording.recorder, retention: recording.retention, registry, hub, recordAll: recording.config.all, keepDays: recording.config.keepDays, log }));
  // A device connected for days (a camera on a shelf) is seen all that time, not only when it connected.
  const seenTimer = setInterval(() => {
    for (const device of sockets.online().keys()) access.devices.seen(device);
  }, DEVICE_SEEN_MS);
  seenTimer.unref();
  // A revoked device's sockets close at once.
  access.devices.onRevoke((device) => sockets.closeAll(CLOSE_CODES.UNAUTHORIZED, "this device's access was withdrawn by the owner", (a) => a.device === device.id));
  // Rotation: in this process (rotateLinks) or by `npm run rotate-links` writing a new secret. The
  // devices that joined keep their access; what got in with a link, the token or an older cookie goes.
  access.onRotate(() => {
    sockets.closeAll(CLOSE_CODES.UNAUTHORIZED, 'the access links were renewed: open a new link', (a) => a.device === null);
    running.links = linksFor(reachable(names, config.host), httpsPort, httpPort, linkKeys());
    log.info('access links renewed: the old links stop working; devices that joined keep their access (revoke them in Settings)');
    void renderHelper().then(() => options.onLinksChanged?.(running, 'The links were renewed; the old ones no longer work.'));
  });
  const onAccessFile = (): void => {
    access.reload().catch((err: unknown) => log.error('reading the access secret failed', err));
  };
  if (access.source === 'file') watchFile(access.file, { interval: ACCESS_POLL_MS, persistent: false }, onAccessFile);

  // Addresses change (DHCP, Wi-Fi roaming): renew the certificate and links without a restart.
  let lastRenewCheck = Date.now();
  const addressTimer = setInterval(() => {
    const now = lanNames();
    // Also once a day, so a server that runs for a year renews its certificate before it expires.
    const daily = Date.now() - lastRenewCheck > RENEW_CHECK_MS;
    if (sameNames(now, names) && !daily) return;
    lastRenewCheck = Date.now();
    names = now;
    running.links = linksFor(reachable(names, config.host), httpsPort, httpPort, linkKeys());
    void (async () => {
      if (!userCert) {
        const renewed = await ensureCertificates(config.dataDir, names);
        server.setSecureContext({ key: renewed.key, cert: renewed.cert });
        if (renewed.issued) log.info(`addresses changed: issued a new server certificate for ${[...renewed.names.dns, ...renewed.names.ips].join(', ')}`);
      }
      await renderHelper();
      options.onLinksChanged?.(running, 'The network addresses changed.');
    })().catch((err: unknown) => log.error('renewing the certificate failed', err));
  }, ADDRESS_CHECK_MS);
  addressTimer.unref();

  return running;
}

function helperRequest(routes: Route[], req: http.IncomingMessage, res: http.ServerResponse, httpsPort: number): void {
  const url = requestUrl(req);
  if (!url || routes.some((r) => r.path === url.pathname) || req.method !== 'GET') {
    dispatch(routes, null, req, res);
    return;
  }
  const { pathname, search } = url;
  // Anything else (e.g. /camera typed by hand) goes to the same path on the HTTPS origin.
  const host = hostnameOf(req.headers.host);
  if (!host) {
    send(res, 400, 'text/plain; charset=utf-8', 'Bad Host header\n');
    return;
  }
  send(res, 302, 'text/plain; charset=utf-8', 'Moved to HTTPS\n', { Location: `https://${host}:${httpsPort}${pathname === '' ? '/' : pathname}${search}` });
}

/** The host name of a Host header, if it is a plain name or address (nothing that could redirect elsewhere). */
function hostnameOf(hostHeader: string | undefined): string | null {
  if (!hostHeader) return null;
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253})(:\d{1,5})?$/.exec(hostHeader);
  return m?.[1] ?? null;
}

/** Links per address: LAN IPv4 first, then other addresses, then names. `keys` null: no access control. */
export function linksFor(names: TlsNames, httpsPort: number, httpPort: number | null, keys: { camera: string; viewer: string; owner: string } | null): AddressLinks[] {
  const q = (role: 'camera' | 'viewer' | 'owner') => (keys ? `?${KEY_PARAM}=${keys[role]}` : '');
  const rank = (a: string): number => (a.includes(':') ? 2 : a.startsWith('127.') ? 3 : 0);
  const ips = [...names.ips].sort((a, b) => rank(a) - rank(b));
  const hosts = [...ips, ...names.dns.filter((d) => d !== 'localhost')];
  return hosts.map((address) => {
    const host = address.includes(':') ? `[${address}]` : address;
    return {
      address,
      camera: `https://${host}:${httpsPort}/camera${q('camera')}`,
      viewer: `https://${host}:${httpsPort}/${q('viewer')}`,
      owner: `https://${host}:${httpsPort}/${q('owner')}`,
      // The setup page, the camera key in the fragment (never sent over plain HTTP).
      helper: httpPort === null ? null : `http://${host}:${httpPort}/${keys ? `#${KEY_PARAM}=${keys.camera}` : ''}`,
    };
  });
}

/** The names a server bound to `host` can be reached at. */
function reachable(names: TlsNames, host: string | undefined): TlsNames {
  if (!host || host === '0.0.0.0' || host === '::') return names;
  return isIP(host) ? { dns: [], ips: [host] } : { dns: [host === 'localhost' ? '127.0.0.1' : host], ips: [] };
}

function sameNames(a: TlsNames, b: TlsNames): boolean {
  const key = (n: TlsNames) => [...n.dns, ...n.ips].sort().join(',');
  return key(a) === key(b);
}

function listen(server: http.Server | https.Server, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: http.Server | https.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
