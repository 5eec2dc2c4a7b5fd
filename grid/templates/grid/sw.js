{% autoescape off %}/**
 * Service worker of the field apps — the inspector tablet app (scope /m/) and the crew app (scope /mdt/,
 * crews/pages.py): the app starts and works without a network.
 *
 * - the page: network first (a fresh page while online), the last good copy when offline;
 * - the shell (scripts, styles, icons, MapLibre): from the cache of this version, filled at install;
 * - the map data, categories and tasks (GET /api/…): network first, the last answer when offline;
 * - photos under /media/: cached once seen;
 * - writes (reports, verifications) are not touched here: the page queues them in IndexedDB and sends
 *   them with an idempotency key when the network returns (tablet-outbox.js).
 *
 * Rendered per app with its page, cache name, shell and API lists.
 *
 * The version is a hash of the shell's files, so a deploy installs a new worker and drops the old cache.
 */
const VERSION = "{{ version }}";
const SHELL = {{ shell }};
const OFFLINE_API = {{ offline_api }};
const PRELOAD_API = {{ preload_api }};
const CACHE = "{{ cache }}";
const SHELL_CACHE = `${CACHE}-shell-${VERSION}`;
const DATA_CACHE = `${CACHE}-data`;
const PAGE = "{{ page }}";
// On a weak mobile link, after this long the cached answer is shown while the network keeps trying.
const NETWORK_TIMEOUT_MS = 5000;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL_CACHE);
      await Promise.all(
        SHELL.map(async (url) => {
          const response = await fetch(url, {cache: "no-cache"});
          // A redirect (an expired session sent to /login/) is not the shell.
          if (!response.ok || response.redirected) throw new Error(`shell ${url}: HTTP ${response.status}`);
          await cache.put(url, response);
        }),
      );
      // Best effort: data the app can also fetch later, once the worker controls it.
      const data = await caches.open(DATA_CACHE);
      await Promise.all(
        PRELOAD_API.map(async (url) => {
          const response = await fetch(url).catch(() => null);
          if (response?.ok && !response.redirected) await data.put(url, response);
        }),
      );
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(`${CACHE}-shell-`) && name !== SHELL_CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

function timeout(ms) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms));
}

async function networkFirst(request, cacheName, key) {
  const cache = await caches.open(cacheName);
  const network = fetch(request).then(async (response) => {
    if (response.ok && !response.redirected) await cache.put(key, response.clone());
    return response;
  });
  network.catch(() => {}); // a late failure after the cache answered is not an error
  try {
    return await Promise.race([network, timeout(NETWORK_TIMEOUT_MS)]);
  } catch {
    // DRF answers "Vary: Accept": the preloaded copy was fetched with another Accept than the app's.
    return (await cache.match(key, {ignoreVary: true})) ?? network;
  }
}

async function cacheFirst(request, cacheName) {
  const cache = await caches.open(cacheName);
  const cached = await cache.match(request, {ignoreVary: true});
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === PAGE) {
    event.respondWith(networkFirst(request, SHELL_CACHE, PAGE));
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(cacheFirst(request, SHELL_CACHE));
  } else if (url.pathname.startsWith("/media/")) {
    event.respondWith(cacheFirst(request, DATA_CACHE));
  } else if (OFFLINE_API.some((prefix) => url.pathname.startsWith(prefix))) {
    event.respondWith(networkFirst(request, DATA_CACHE, request));
  }
});
{% endautoescape %}
