// Refrain's service worker, written by the server for the build it serves (server/src/pwa.rs
// fills in the version and the list of files). It keeps the app shell of one build in a
// cache named after it; pages and server functions always go to the network, and a page
// that cannot be fetched sends the browser to the offline page (which plays downloads)
// instead of the browser's error. Covers of downloaded tracks come from the downloads'
// cache when the network cannot answer, and only while it names an owner.
//
// The offline page this worker serves holds no user data: the page lists and plays the
// downloads itself, and only for the user this browser was last signed in as (see
// app/src/offline.rs). When a session ends (logout, any 401 the page gets), the page
// forgets that user and deletes the downloads' cache, so nothing is left here to answer.
const VERSION = "__VERSION__";
const SHELL = "refrain-shell-" + VERSION;
const PRECACHE = [] /* __PRECACHE__ */;
const OFFLINE = "__OFFLINE__";
const MEDIA = "__MEDIA__";
// Whose the downloads are (app::offline::OWNER_KEY); written before their first track.
const OWNER = "/offline/owner";
const PRECACHED = new Set(PRECACHE);

self.addEventListener("install", (event) => {
  // All or nothing: a shell missing a file would break the app offline. The new version
  // then waits until the page asks it to take over (see "message").
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(PRECACHE)));
});

self.addEventListener("message", (event) => {
  if (event.data === "refrain:take-over") self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    // The shells of earlier builds go: no page runs files of two builds.
    for (const name of await caches.keys()) {
      if (name.startsWith("refrain-shell-") && name !== SHELL) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(async () => {
      // Another page: go to the offline page, so the app starts on the page it renders.
      if (url.pathname !== OFFLINE) return Response.redirect(OFFLINE, 302);
      const cache = await caches.open(SHELL);
      return (await cache.match(OFFLINE)) || Response.error();
    }));
    return;
  }
  if (url.pathname.startsWith("/covers/")) {
    event.respondWith(fetch(request).catch(async () => {
      // Never create the cache here, nor answer from downloads nobody owns.
      if (!(await caches.has(MEDIA))) return Response.error();
      const media = await caches.open(MEDIA);
      if (!(await media.match(OWNER))) return Response.error();
      return (await media.match(url.pathname + url.search)) || Response.error();
    }));
    return;
  }
  if (PRECACHED.has(url.pathname)) {
    event.respondWith(caches.open(SHELL)
      .then((cache) => cache.match(url.pathname))
      .then((hit) => hit || fetch(request)));
  }
});
