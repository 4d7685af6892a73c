// The camera page's service worker: keeps the last copy of the camera page and what it loads, so a
// phone left as a camera that reloads while the server is down (a power cut, an update) shows the
// camera page, which waits and comes back by itself, instead of the browser's error page. Always
// the network first: a copy is used only when the server cannot be reached, so updates are never
// held back. (Browsers register no service worker on a page whose certificate they do not trust:
// see docs/camera.md for that case.)

/** The little of the service worker API this uses (the DOM library has no worker scope types). */
interface FetchEvent extends Event {
  readonly request: Request;
  respondWith(response: Promise<Response>): void;
}
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface WorkerScope {
  addEventListener(type: 'fetch', listener: (e: FetchEvent) => void): void;
  addEventListener(type: 'install' | 'activate', listener: (e: ExtendableEvent) => void): void;
  skipWaiting(): Promise<void>;
  readonly clients: { claim(): Promise<void> };
}

const scope = self as unknown as WorkerScope;
const CACHE = 'websocket-webcam-camera-v1';
/** What the camera page needs to start without the server. */
const KEPT = ['/camera', '/assets/camera.js', '/assets/audio-capture-worklet.js', '/assets/style.css', '/favicon.ico', '/manifest.webmanifest'];

// A copy at once (the page that registered the worker was loaded before it ran): a phone set up
// once and left running has it for its first reload during an outage. What cannot be had now is
// kept at the next load instead.
scope.addEventListener('install', (e) => {
  e.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await Promise.all(
        KEPT.map(async (path) => {
          try {
            const response = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
            if (response.ok) await cache.put(location.origin + path, response);
          } catch {
            // (kept at the next load)
          }
        }),
      );
      await scope.skipWaiting();
    })(),
  );
});

scope.addEventListener('activate', (e) => {
  e.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
      await scope.clients.claim();
    })(),
  );
});

scope.addEventListener('fetch', (e) => {
  const request = e.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== location.origin || !KEPT.includes(url.pathname)) return;
  e.respondWith(
    (async () => {
      // The copy is kept under the path alone: a link's query (its key, its settings) does not make another copy.
      const key = url.origin + url.pathname;
      try {
        const response = await fetch(request);
        if (response.ok) {
          const cache = await caches.open(CACHE);
          await cache.put(key, response.clone());
        }
        return response;
      } catch (err) {
        const kept = await caches.match(key);
        if (kept) return kept;
        throw err;
      }
    })(),
  );
});
