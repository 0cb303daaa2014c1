//! Downloads for offline listening, kept in the browser's Cache Storage (the cache named
//! [`MEDIA_CACHE`]):
//!
//! - `/offline/media/<track>`: the track's rendition, whole (keyed by track, never by a
//!   stream URL: stream tokens are not stored anywhere);
//! - `/offline/info/<track>`: what lists and plays it ([`OfflineTrack`]: its title, cover
//!   version, stream details with the URL left out), written after the media, so a track
//!   with an info entry is playable;
//! - its cover thumbnails under their own URLs (`/covers/<track>?s=…&v=…`), which the
//!   service worker answers from here when the network does not;
//! - `/offline/collection/<key>`: each download (an album, a playlist, Liked Songs) with
//!   its tracks in order;
//! - `/offline/owner`: the id of the user the downloads belong to (written before the
//!   first track; the service worker answers covers from here only while it is there).
//!
//! Plays counted while offline wait in local storage, tagged with their owner too, and go
//! to the server when the network returns, once each (the server keys plays by playback
//! id).
//!
//! Downloads belong to one user, and only while that user's session lasts:
//!
//! - local storage remembers who this browser was last seen signed in as
//!   (`SIGNED_IN_AS`): the signed-in layout says so, and so does the server when a page
//!   outside it (the login page, the offline page) asks at start-up;
//! - stored downloads list and play only when their owner is that user, so the offline
//!   page keeps working for its owner without a network;
//! - another user seen signed in wipes them (media, info, collections, covers, waiting
//!   plays) before anything reads them;
//! - a session known to be over wipes them and forgets the user: logging out (whose answer
//!   carries `Clear-Site-Data` too), any 401 the page gets from the server (a session
//!   expired or ended elsewhere: "log out everywhere", a password reset, an admin
//!   disabling the account; see `session_ended`), or the server saying nobody is signed
//!   in. Not a network error: offline is not signed out.

use crate::error::AppError;
use crate::model::StreamInfo;
use crate::model::TrackRef;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::Postcard;
use std::collections::HashSet;

/// One track of a download.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DownloadEntry {
    pub track: TrackRef,
    pub album: Option<String>,
    /// With a fresh stream grant for fetching the file now (never stored).
    pub stream: StreamInfo,
}

/// What a download holds now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DownloadContents {
    pub key: String,
    pub name: String,
    pub tracks: Vec<DownloadEntry>,
    /// Tracks not ready to download yet.
    pub pending: usize,
}

/// What the download `key` (`album:<id>`, `playlist:<id>` or `liked`) holds for the
/// signed-in user: only tracks they may play.
#[server(output = Postcard, endpoint = "download_manifest15416061423811296715")]
pub async fn download_manifest(key: String) -> Result<DownloadContents, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let collection = backend::downloads::Collection::parse(&key)?;
    let m = backend::downloads::manifest(&core, &user, &collection).await?;
    Ok(DownloadContents {
        key: m.key,
        name: m.name,
        pending: m.pending,
        tracks: m
            .tracks
            .into_iter()
            .map(|d| DownloadEntry {
                album: d.track.album.clone(),
                track: TrackRef {
                    id: d.track.id,
                    title: d.track.title,
                    artist: d.track.artist,
                    has_cover: d.track.has_cover,
                    cover_v: d.track.cover_v,
                    duration_ms: d.track.duration_ms,
                    liked: d.track.liked,
                },
                stream: crate::player::api::stream_info_of(d.stream),
            })
            .collect(),
    })
}

/// The Cache Storage cache holding downloads (the service worker reads covers from it).
pub const MEDIA_CACHE: &str = "refrain-media";
/// Cover sizes stored with a track: the list thumbnail and the Now Playing cover, each at
/// 1x and 2x.
pub const COVER_SIZES: [u32; 4] = [48, 96, 320, 640];

/// A stored track: what lists it and what plays it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfflineTrack {
    pub track: TrackRef,
    pub album: Option<String>,
    /// Its stream details; `url` is empty (the player reads the stored copy).
    pub stream: StreamInfo,
    /// Bytes stored for it (media and covers).
    pub bytes: i64,
}

/// A download as stored: its tracks in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDownload {
    pub key: String,
    pub name: String,
    pub track_ids: Vec<String>,
    /// Tracks of the collection that were not ready to download (left for the next sync).
    pub pending: usize,
    /// When it was last brought up to date (ms since the epoch, the browser's clock).
    pub synced_at: f64,
}

/// A download with its size, for lists.
#[derive(Debug, Clone, PartialEq)]
pub struct DownloadSummary {
    pub stored: StoredDownload,
    pub bytes: i64,
}

/// How far a download is.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Progress {
    pub done_tracks: usize,
    pub total_tracks: usize,
    pub done_bytes: i64,
    pub total_bytes: i64,
}

/// A play counted while the server could not be reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingPlay {
    pub track_id: String,
    pub playback_id: String,
    pub listened_ms: i64,
}

pub fn media_key(track_id: &str) -> String {
    format!("/offline/media/{track_id}")
}
pub fn info_key(track_id: &str) -> String {
    format!("/offline/info/{track_id}")
}
pub fn collection_key(key: &str) -> String {
    format!("/offline/collection/{key}")
}
pub fn cover_url(track_id: &str, size: u32, version: &str) -> String {
    format!("/covers/{track_id}?s={size}&v={version}")
}
/// Whose the downloads are (the service worker, server/src/sw.js, names it too).
pub const OWNER_KEY: &str = "/offline/owner";

/// Which stored tracks no download lists any more (after `key`'s download changed to
/// `now`, or was removed when `now` is empty): those to delete.
pub fn orphans(before: &[String], now: &[String], others: &[StoredDownload]) -> Vec<String> {
    let kept: HashSet<&str> = now
        .iter()
        .map(String::as_str)
        .chain(
            others
                .iter()
                .flat_map(|d| d.track_ids.iter().map(String::as_str)),
        )
        .collect();
    let mut out: Vec<String> = before
        .iter()
        .filter(|id| !kept.contains(id.as_str()))
        .cloned()
        .collect();
    out.dedup();
    out
}

/// Plays waiting to be sent, as stored in local storage: the owner's id on a first line
/// `@<user>`, then a line each, "track playback milliseconds" (ids never contain spaces).
/// No plays: the empty string.
pub fn encode_plays(owner: &str, list: &[PendingPlay]) -> String {
    if list.is_empty() {
        return String::new();
    }
    std::iter::once(format!("@{owner}"))
        .chain(
            list.iter()
                .map(|p| format!("{} {} {}", p.track_id, p.playback_id, p.listened_ms)),
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whose the plays in [`encode_plays`]' text are (`None` for plays stored before they
/// had an owner: nobody's, so never sent).
pub fn plays_owner(text: &str) -> Option<&str> {
    text.lines().next()?.strip_prefix('@')
}

/// Reads [`encode_plays`]' text back; a damaged line is dropped, not the others.
pub fn decode_plays(text: &str) -> Vec<PendingPlay> {
    text.lines()
        .filter(|l| !l.starts_with('@'))
        .filter_map(|l| {
            let mut f = l.split(' ');
            let (t, p, ms) = (f.next()?, f.next()?, f.next()?.parse().ok()?);
            (f.next().is_none() && !t.is_empty() && !p.is_empty()).then(|| PendingPlay {
                track_id: t.to_string(),
                playback_id: p.to_string(),
                listened_ms: ms,
            })
        })
        .collect()
}

/// The reactive view of what is downloaded (provided by the app, read by the track lists,
/// the download buttons, Settings and the offline page).
#[derive(Clone, Copy)]
pub struct DownloadsCtx {
    /// Ids of the tracks stored for offline listening, sorted.
    pub stored: RwSignal<Vec<String>>,
    /// The downloads, with their sizes.
    pub list: RwSignal<Vec<DownloadSummary>>,
    /// Downloads under way, by key.
    pub active: RwSignal<Vec<(String, Progress)>>,
    /// The last failure of a download, by key.
    pub failed: RwSignal<Vec<(String, String)>>,
    /// Whether the browser is online (`navigator.onLine`, kept up to date).
    pub online: RwSignal<bool>,
    /// Set once the stored downloads have been read (or there are none to read).
    pub loaded: RwSignal<bool>,
    /// Whether the storage code has been asked to read them.
    started: StoredValue<bool>,
    /// Whether the page has been hydrated (and [`begin`](Self::begin) has run).
    hydrated: StoredValue<bool>,
    /// A page that lists downloads asked for them before that.
    wanted: StoredValue<bool>,
    /// The signed-in layout has said who is signed in, in this page's lifetime (so the
    /// storage code need not ask the server).
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    confirmed: StoredValue<bool>,
}

#[cfg(feature = "hydrate")]
thread_local! {
    /// The app's downloads, for [`after_hydration`].
    static APP_DOWNLOADS: std::cell::Cell<Option<DownloadsCtx>> = const { std::cell::Cell::new(None) };
}

/// Called by the WASM entry point once the page is hydrated.
#[cfg(feature = "hydrate")]
pub fn after_hydration() {
    if let Some(ctx) = APP_DOWNLOADS.with(std::cell::Cell::get) {
        ctx.begin();
    }
}

/// The server answered 401 (a server function's `Unauthenticated`, or a REST call): this
/// browser's session is over, wherever it was ended. Downloads stop playing at once (the
/// signed-in user is forgotten) and are wiped with the plays waiting to be sent. Called
/// where the client reads answers ([`crate::error::AppError`]'s decoding, through
/// [`crate::error::on_session_ended`], and uploads); never
/// for a network error, and never for a stream URL's 401 (an expired grant, not a
/// session).
#[cfg(feature = "hydrate")]
pub fn session_ended() {
    crate::ui::storage::forget(SIGNED_IN_AS);
    if holds_anything()
        && let Some(ctx) = APP_DOWNLOADS.with(std::cell::Cell::get)
    {
        ctx.send(Cmd::Wipe);
    }
}

impl DownloadsCtx {
    pub fn provide() -> Self {
        let ctx = DownloadsCtx {
            stored: RwSignal::new(Vec::new()),
            list: RwSignal::new(Vec::new()),
            active: RwSignal::new(Vec::new()),
            failed: RwSignal::new(Vec::new()),
            online: RwSignal::new(true),
            loaded: RwSignal::new(false),
            started: StoredValue::new(false),
            hydrated: StoredValue::new(false),
            wanted: StoredValue::new(false),
            confirmed: StoredValue::new(false),
        };
        provide_context(ctx);
        #[cfg(feature = "hydrate")]
        {
            APP_DOWNLOADS.with(|c| c.set(Some(ctx)));
            crate::error::on_session_ended(session_ended);
        }
        ctx
    }

    /// Starts following the network and the stored downloads; called once the page is
    /// hydrated ([`after_hydration`]), so nothing the server rendered changes before
    /// hydration has walked it (a lazily loaded page is hydrated after the app's effects
    /// first run, and hydration keeps the server's text where the two disagree).
    #[cfg(feature = "hydrate")]
    fn begin(self) {
        self.hydrated.set_value(true);
        self.follow_network();
        // The storage code is fetched at start-up only where there is something to read
        // or send (or a page that lists downloads asked): a browser without downloads
        // never loads it until a download begins.
        if holds_anything() || self.wanted.get_value() {
            self.send(Cmd::Start);
        } else {
            self.loaded.set(true);
        }
    }

    /// Keeps [`online`](Self::online) up to date, and sends plays counted offline when
    /// the network returns.
    #[cfg(feature = "hydrate")]
    fn follow_network(self) {
        use wasm_bindgen::JsCast;
        let Some(w) = web_sys::window() else { return };
        self.online.set(w.navigator().on_line());
        let on = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
            self.online.set(true);
            if has_pending_plays() {
                self.send(Cmd::FlushPlays);
            }
        });
        let off =
            wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || self.online.set(false));
        let _ = w.add_event_listener_with_callback("online", on.as_ref().unchecked_ref());
        let _ = w.add_event_listener_with_callback("offline", off.as_ref().unchecked_ref());
        // For the page's lifetime (the context is the app's).
        on.forget();
        off.forget();
    }

    /// The signed-in layout knows who is signed in (`user_id`, the server's id for them):
    /// from now on only their downloads list and play, and anyone else's are wiped.
    pub fn signed_in(&self, user_id: &str) {
        #[cfg(feature = "hydrate")]
        {
            self.confirmed.set_value(true);
            let changed = crate::ui::storage::recall(SIGNED_IN_AS).as_deref() != Some(user_id);
            // At once, so nothing of another owner's plays while the wipe runs.
            crate::ui::storage::remember(SIGNED_IN_AS, user_id);
            if holds_anything() {
                self.send(Cmd::SignedIn {
                    user: user_id.to_string(),
                    changed,
                });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = user_id;
    }

    /// Reads the stored downloads now, if that has not happened yet (Settings).
    pub fn ensure_read(&self) {
        if !self.hydrated.get_value() {
            self.wanted.set_value(true);
        } else if !self.started.get_value() {
            self.send(Cmd::Start);
        }
    }

    pub fn is_stored(&self, track_id: &str) -> bool {
        self.stored
            .with(|s| s.binary_search_by(|x| x.as_str().cmp(track_id)).is_ok())
    }

    pub fn summary(&self, key: &str) -> Option<DownloadSummary> {
        self.list
            .with(|l| l.iter().find(|d| d.stored.key == key).cloned())
    }

    pub fn progress(&self, key: &str) -> Option<Progress> {
        self.active
            .with(|a| a.iter().find(|(k, _)| k == key).map(|(_, p)| *p))
    }

    pub fn error(&self, key: &str) -> Option<String> {
        self.failed
            .with(|f| f.iter().find(|(k, _)| k == key).map(|(_, e)| e.clone()))
    }

    /// Downloads `key` (or brings its download up to date), unless that is under way.
    pub fn download(&self, key: String) {
        self.send(Cmd::Download(key));
    }

    /// Removes a download (its tracks too, where no other download lists them).
    pub fn remove(&self, key: String) {
        self.send(Cmd::Remove(key));
    }

    /// Brings the stored downloads up to date with the server (a playlist changed, a
    /// track got ready), at most every ten minutes unless `now`.
    pub fn sync(&self, now: bool) {
        #[cfg(feature = "hydrate")]
        if !now && !holds_anything() {
            return;
        }
        self.send(Cmd::Sync(now));
    }

    fn send(&self, cmd: Cmd) {
        if matches!(cmd, Cmd::Start) {
            self.started.set_value(true);
        }
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(run(*self, cmd));
        #[cfg(not(feature = "hydrate"))]
        let _ = cmd;
    }
}

/// What the app asks of the downloads' storage code, which is a WASM chunk of its own
/// ([`run`]), fetched the first time it is needed (right after the page hydrates), so it
/// never delays a page becoming interactive.
pub enum Cmd {
    Start,
    FlushPlays,
    Sync(bool),
    Download(String),
    Remove(String),
    /// This user is signed in (`changed`: not the one this browser knew): wipe what
    /// belongs to someone else.
    SignedIn {
        user: String,
        changed: bool,
    },
    /// The session is over (logout, a 401): forget the user, wipe everything.
    Wipe,
}

/// Plays counted offline, waiting to be sent (local storage, see [`encode_plays`]).
#[cfg(feature = "hydrate")]
const PENDING_PLAYS: &str = "refrain.pending-plays";
/// Set in local storage while this browser holds downloads.
#[cfg(feature = "hydrate")]
const HOLDS_DOWNLOADS: &str = "refrain.has-downloads";
/// The id of the user this browser was last seen signed in as (not a secret: ids are in
/// avatar URLs too); removed when the session is known to be over. Downloads play only
/// for their owner, and only while this names them.
#[cfg(feature = "hydrate")]
const SIGNED_IN_AS: &str = "refrain.signed-in-as";

#[cfg(feature = "hydrate")]
fn has_pending_plays() -> bool {
    crate::ui::storage::recall(PENDING_PLAYS).is_some_and(|s| !s.is_empty())
}

/// Whether this browser keeps anything of the downloads' (or is on the offline page).
#[cfg(feature = "hydrate")]
fn holds_anything() -> bool {
    crate::ui::storage::recall(HOLDS_DOWNLOADS).is_some()
        || has_pending_plays()
        || web_sys::window()
            .and_then(|w| w.location().pathname().ok())
            .as_deref()
            == Some("/offline")
}

#[cfg(feature = "hydrate")]
#[leptos::lazy]
pub async fn run(ctx: DownloadsCtx, cmd: Cmd) {
    match cmd {
        Cmd::Start => browser::start(ctx),
        Cmd::FlushPlays => browser::flush_plays().await,
        Cmd::Sync(now) => browser::sync(ctx, now),
        Cmd::Download(key) => browser::download(ctx, key),
        Cmd::Remove(key) => {
            if let Err(e) = browser::remove(&key).await {
                leptos::logging::warn!("download not removed: {e}");
            }
            browser::refresh(ctx).await;
        }
        Cmd::SignedIn { user, changed } => browser::claim(ctx, &user, changed).await,
        Cmd::Wipe => browser::end_session(ctx).await,
    }
}

#[cfg(feature = "hydrate")]
pub use browser::{local_range, local_stream_info, offline_tracks, queue_play, storage_estimate};

#[cfg(feature = "hydrate")]
mod browser {
    use super::*;
    use js_sys::{Array, Uint8Array};
    use std::cell::RefCell;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{Cache, Response, ResponseInit};

    const LAST_SYNC: &str = "refrain.downloads-synced";
    const SYNC_EVERY_MS: f64 = 10.0 * 60.0 * 1000.0;

    fn js(e: JsValue) -> String {
        e.as_string()
            .or_else(|| {
                js_sys::Reflect::get(&e, &"message".into())
                    .ok()
                    .and_then(|m| m.as_string())
            })
            .unwrap_or_else(|| "browser storage error".into())
    }

    /// The downloads' cache, created if need be (only a download does that).
    async fn open() -> Result<Cache, String> {
        let caches = web_sys::window().ok_or("no window")?.caches().map_err(js)?;
        let c = JsFuture::from(caches.open(MEDIA_CACHE)).await.map_err(js)?;
        Ok(c.unchecked_into())
    }

    /// The downloads' cache if there is one (reading never creates it).
    async fn existing() -> Option<Cache> {
        let caches = web_sys::window()?.caches().ok()?;
        let has = JsFuture::from(caches.has(MEDIA_CACHE)).await.ok()?;
        if has.as_bool() != Some(true) {
            return None;
        }
        open().await.ok()
    }

    async fn get(cache: &Cache, key: &str) -> Option<Response> {
        let v = JsFuture::from(cache.match_with_str(key)).await.ok()?;
        v.dyn_into::<Response>().ok()
    }

    async fn get_bytes(cache: &Cache, key: &str) -> Option<Vec<u8>> {
        let r = get(cache, key).await?;
        let buf = JsFuture::from(r.array_buffer().ok()?).await.ok()?;
        Some(Uint8Array::new(&buf).to_vec())
    }

    async fn get_value<T: for<'de> Deserialize<'de>>(cache: &Cache, key: &str) -> Option<T> {
        postcard::from_bytes(&get_bytes(cache, key).await?).ok()
    }

    fn signed_in_as() -> Option<String> {
        crate::ui::storage::recall(SIGNED_IN_AS).filter(|u| !u.is_empty())
    }

    /// Whose the stored downloads are (`None`: nobody's, stored before owners were).
    async fn owner(cache: &Cache) -> Option<String> {
        String::from_utf8(get_bytes(cache, OWNER_KEY).await?).ok()
    }

    /// The downloads' cache if there is one and it belongs to the user this browser is
    /// signed in as: the only one anything lists or plays from.
    async fn usable() -> Option<Cache> {
        let me = signed_in_as()?;
        let cache = existing().await?;
        (owner(&cache).await? == me).then_some(cache)
    }

    async fn put_bytes(cache: &Cache, key: &str, bytes: &[u8], mime: &str) -> Result<(), String> {
        let init = ResponseInit::new();
        init.set_status(200);
        let headers = web_sys::Headers::new().map_err(js)?;
        headers.append("content-type", mime).map_err(js)?;
        init.set_headers(&headers);
        let body = Uint8Array::from(bytes);
        let resp = Response::new_with_opt_js_u8_array_and_init(Some(&body), &init).map_err(js)?;
        JsFuture::from(cache.put_with_str(key, &resp))
            .await
            .map(|_| ())
            .map_err(|e| {
                let msg = js(e);
                if msg.contains("Quota") || msg.contains("quota") {
                    "the browser's storage for Refrain is full: remove a download in Settings"
                        .into()
                } else {
                    msg
                }
            })
    }

    async fn put_value<T: Serialize>(cache: &Cache, key: &str, v: &T) -> Result<(), String> {
        let bytes = postcard::to_allocvec(v).map_err(|e| e.to_string())?;
        put_bytes(cache, key, &bytes, "application/octet-stream").await
    }

    async fn delete(cache: &Cache, key: &str) {
        let _ = JsFuture::from(cache.delete_with_str(key)).await;
    }

    /// Paths of every entry in the cache.
    async fn paths(cache: &Cache) -> Vec<String> {
        let Ok(list) = JsFuture::from(cache.keys()).await else {
            return Vec::new();
        };
        Array::from(&list)
            .iter()
            .filter_map(|r| r.dyn_into::<web_sys::Request>().ok())
            .filter_map(|r| web_sys::Url::new(&r.url()).ok())
            .map(|u| format!("{}{}", u.pathname(), u.search()))
            .collect()
    }

    async fn stored_downloads(cache: &Cache) -> Vec<StoredDownload> {
        let mut out = Vec::new();
        for p in paths(cache).await {
            if p.starts_with("/offline/collection/")
                && let Some(d) = get_value::<StoredDownload>(cache, &p).await
            {
                out.push(d);
            }
        }
        out.sort_by_key(|a| a.name.to_lowercase());
        out
    }

    /// Reads what is stored into the context.
    pub async fn refresh(ctx: DownloadsCtx) {
        let Some(cache) = usable().await else {
            if existing().await.is_none() {
                crate::ui::storage::forget(HOLDS_DOWNLOADS);
            }
            // Someone else's, or a session that is over: nothing to list (the flag stays,
            // so the next sign-in or the server decides what happens to them).
            ctx.stored.set(Vec::new());
            ctx.list.set(Vec::new());
            ctx.loaded.set(true);
            return;
        };
        let all = paths(&cache).await;
        let mut sizes = std::collections::HashMap::new();
        for p in all.iter().filter(|p| p.starts_with("/offline/info/")) {
            if let Some(t) = get_value::<OfflineTrack>(&cache, p).await {
                sizes.insert(t.track.id.clone(), t.bytes);
            }
        }
        let list: Vec<DownloadSummary> = stored_downloads(&cache)
            .await
            .into_iter()
            .map(|d| DownloadSummary {
                bytes: d.track_ids.iter().filter_map(|id| sizes.get(id)).sum(),
                stored: d,
            })
            .collect();
        if list.is_empty() {
            crate::ui::storage::forget(HOLDS_DOWNLOADS);
        } else {
            crate::ui::storage::remember(HOLDS_DOWNLOADS, "1");
        }
        let mut ids: Vec<String> = sizes.into_keys().collect();
        ids.sort();
        ctx.stored.set(ids);
        ctx.list.set(list);
        ctx.loaded.set(true);
    }

    /// Reads what is stored and sends plays counted offline (the main module follows the
    /// network and asks for the rest when it returns).
    pub fn start(ctx: DownloadsCtx) {
        let Some(w) = web_sys::window() else { return };
        ctx.online.set(w.navigator().on_line());
        // The offline page asks the server itself: the browser may think it is online
        // while Refrain cannot be reached (or keep a stale answer after a reload).
        let on_offline_page = w.location().pathname().ok().as_deref() == Some("/offline");
        leptos::task::spawn_local(async move {
            // Outside the signed-in layout (the login page, the offline page) nothing has
            // said who is signed in: the server does, if it can be reached.
            if ctx.online.get_untracked() && !ctx.confirmed.get_value() {
                use crate::error::AppError;
                let answer = crate::auth::current_user().await;
                match &answer {
                    Ok(Some(u)) => {
                        crate::ui::storage::remember(SIGNED_IN_AS, &u.id);
                        // The list is read just below.
                        claim(ctx, &u.id, false).await;
                    }
                    // Nobody: the session is over (a 401 has already been seen to).
                    Ok(None) => end_session(ctx).await,
                    Err(_) => {}
                }
                if on_offline_page {
                    let reached = matches!(answer, Ok(_) | Err(AppError::Unauthenticated));
                    ctx.online.set(reached);
                }
            }
            refresh(ctx).await;
            if ctx.online.get_untracked() {
                flush_plays().await;
            }
        });
    }

    fn now() -> f64 {
        js_sys::Date::now()
    }

    pub fn sync(ctx: DownloadsCtx, force: bool) {
        let due = force
            || crate::ui::storage::recall(LAST_SYNC)
                .and_then(|v| v.parse::<f64>().ok())
                .is_none_or(|at| now() - at > SYNC_EVERY_MS);
        if !due || !ctx.online.get_untracked() {
            return;
        }
        crate::ui::storage::remember(LAST_SYNC, &format!("{}", now() as i64));
        leptos::task::spawn_local(async move {
            let Some(cache) = usable().await else {
                return;
            };
            for d in stored_downloads(&cache).await {
                download(ctx, d.key);
            }
        });
    }

    fn set_progress(ctx: DownloadsCtx, key: &str, p: Option<Progress>) {
        ctx.active.update(|a| {
            a.retain(|(k, _)| k != key);
            if let Some(p) = p {
                a.push((key.to_string(), p));
            }
        });
    }

    pub fn download(ctx: DownloadsCtx, key: String) {
        if ctx.progress(&key).is_some() {
            return;
        }
        set_progress(ctx, &key, Some(Progress::default()));
        ctx.failed.update(|f| f.retain(|(k, _)| *k != key));
        leptos::task::spawn_local(async move {
            let result = run_download(ctx, &key).await;
            set_progress(ctx, &key, None);
            if let Err(e) = result {
                ctx.failed.update(|f| f.push((key.clone(), e)));
            }
            refresh(ctx).await;
        });
    }

    /// Fetches `url` whole; `None` on a 401 (an expired grant).
    async fn fetch_all(url: &str) -> Result<Option<Vec<u8>>, String> {
        let resp = gloo_net::http::Request::get(url)
            .send()
            .await
            .map_err(|e| format!("network error: {e}"))?;
        match resp.status() {
            200 | 206 => resp
                .binary()
                .await
                .map(Some)
                .map_err(|e| format!("network error: {e}")),
            401 => Ok(None),
            s => Err(format!("the server refused a track (HTTP {s})")),
        }
    }

    /// The downloads' cache for `me`, with its owner written first; someone else's
    /// downloads go.
    async fn own_cache(ctx: DownloadsCtx, me: &str) -> Result<Cache, String> {
        if let Some(c) = existing().await
            && owner(&c).await.is_some_and(|o| o != me)
        {
            wipe_cache().await;
            ctx.stored.set(Vec::new());
            ctx.list.set(Vec::new());
        }
        let cache = open().await?;
        if owner(&cache).await.is_none() {
            put_bytes(&cache, OWNER_KEY, me.as_bytes(), "text/plain").await?;
        }
        Ok(cache)
    }

    async fn run_download(ctx: DownloadsCtx, key: &str) -> Result<(), String> {
        let me = signed_in_as().ok_or("Sign in again to download.")?;
        let m = crate::offline::download_manifest(key.to_string())
            .await
            .map_err(|e| e.to_string())?;
        let cache = own_cache(ctx, &me).await?;
        // What is already here and unchanged is kept; the rest is fetched.
        let mut todo = Vec::new();
        for t in &m.tracks {
            let have = get_value::<OfflineTrack>(&cache, &info_key(&t.track.id)).await;
            let same = have.is_some_and(|h| {
                h.stream.bytes == t.stream.bytes && h.stream.segments == t.stream.segments
            });
            if !same {
                todo.push(t.clone());
            }
        }
        let mut p = Progress {
            done_tracks: m.tracks.len() - todo.len(),
            total_tracks: m.tracks.len(),
            done_bytes: 0,
            total_bytes: todo.iter().map(|t| t.stream.bytes).sum(),
        };
        set_progress(ctx, key, Some(p));
        for t in todo {
            let id = t.track.id.clone();
            let bytes = match fetch_all(&t.stream.url).await? {
                Some(b) => b,
                None => {
                    // The grant expired during a long download: a fresh one.
                    let fresh = crate::player::api::stream_track(id.clone())
                        .await
                        .map_err(|e| e.to_string())?;
                    fetch_all(&fresh.url)
                        .await?
                        .ok_or("the server refused a track (HTTP 401)")?
                }
            };
            if bytes.len() as i64 != t.stream.bytes {
                return Err(format!("“{}” arrived incomplete", t.track.title));
            }
            put_bytes(&cache, &media_key(&id), &bytes, &t.stream.mime).await?;
            let mut stored_bytes = bytes.len() as i64;
            if t.track.has_cover {
                for s in COVER_SIZES {
                    let url = cover_url(&id, s, &t.track.cover_v);
                    if let Ok(Some(img)) = fetch_all(&url).await {
                        put_bytes(&cache, &url, &img, "image/jpeg").await?;
                        stored_bytes += img.len() as i64;
                    }
                }
            }
            let mut stream = t.stream.clone();
            stream.url.clear();
            let info = OfflineTrack {
                track: t.track.clone(),
                album: t.album.clone(),
                stream,
                bytes: stored_bytes,
            };
            put_value(&cache, &info_key(&id), &info).await?;
            ctx.stored.update(|s| {
                if let Err(at) = s.binary_search(&id) {
                    s.insert(at, id);
                }
            });
            p.done_tracks += 1;
            p.done_bytes += t.stream.bytes;
            set_progress(ctx, key, Some(p));
        }
        // The download's new list, then what it dropped (unless another lists it).
        let others: Vec<StoredDownload> = stored_downloads(&cache)
            .await
            .into_iter()
            .filter(|d| d.key != key)
            .collect();
        let before = get_value::<StoredDownload>(&cache, &collection_key(key))
            .await
            .map(|d| d.track_ids)
            .unwrap_or_default();
        let now_ids: Vec<String> = m.tracks.iter().map(|t| t.track.id.clone()).collect();
        put_value(
            &cache,
            &collection_key(key),
            &StoredDownload {
                key: key.to_string(),
                name: m.name.clone(),
                track_ids: now_ids.clone(),
                pending: m.pending,
                synced_at: now(),
            },
        )
        .await?;
        for id in orphans(&before, &now_ids, &others) {
            delete_track(&cache, &id).await;
        }
        Ok(())
    }

    async fn delete_track(cache: &Cache, id: &str) {
        if let Some(t) = get_value::<OfflineTrack>(cache, &info_key(id)).await {
            for s in COVER_SIZES {
                delete(cache, &cover_url(id, s, &t.track.cover_v)).await;
            }
        }
        delete(cache, &info_key(id)).await;
        delete(cache, &media_key(id)).await;
    }

    pub async fn remove(key: &str) -> Result<(), String> {
        let Some(cache) = existing().await else {
            return Ok(());
        };
        let before = get_value::<StoredDownload>(&cache, &collection_key(key))
            .await
            .map(|d| d.track_ids)
            .unwrap_or_default();
        delete(&cache, &collection_key(key)).await;
        let others = stored_downloads(&cache).await;
        if others.is_empty() {
            // The last one: nothing of the cache stays.
            wipe_cache().await;
            return Ok(());
        }
        for id in orphans(&before, &[], &others) {
            delete_track(&cache, &id).await;
        }
        Ok(())
    }

    /// The stored tracks of a download, in its order.
    pub async fn offline_tracks(key: &str) -> Vec<OfflineTrack> {
        let Some(cache) = usable().await else {
            return Vec::new();
        };
        let Some(d) = get_value::<StoredDownload>(&cache, &collection_key(key)).await else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for id in d.track_ids {
            if let Some(t) = get_value::<OfflineTrack>(&cache, &info_key(&id)).await {
                out.push(t);
            }
        }
        out
    }

    /// The stored copy's stream details (`url` = `offline:<track>`), if the track is
    /// downloaded.
    pub async fn local_stream_info(track_id: &str) -> Option<StreamInfo> {
        let cache = usable().await?;
        let t = get_value::<OfflineTrack>(&cache, &info_key(track_id)).await?;
        let mut s = t.stream;
        s.url = format!("offline:{track_id}");
        Some(s)
    }

    thread_local! {
        /// The last stored track read (the player reads it chunk by chunk).
        static LAST: RefCell<Option<(String, std::rc::Rc<Vec<u8>>)>> = const { RefCell::new(None) };
    }

    /// Bytes `start..=end` of a stored track.
    pub async fn local_range(track_id: &str, start: u64, end: u64) -> Result<Vec<u8>, String> {
        let have = LAST.with(|l| {
            l.borrow()
                .as_ref()
                .filter(|(id, _)| id == track_id)
                .map(|(_, b)| b.clone())
        });
        let bytes = match have {
            Some(b) => b,
            None => {
                let cache = usable()
                    .await
                    .ok_or("this download is gone: download it again")?;
                let b = std::rc::Rc::new(
                    get_bytes(&cache, &media_key(track_id))
                        .await
                        .ok_or("this download is gone: download it again")?,
                );
                LAST.with(|l| *l.borrow_mut() = Some((track_id.to_string(), b.clone())));
                b
            }
        };
        let (s, e) = (start as usize, (end as usize + 1).min(bytes.len()));
        Ok(bytes.get(s..e).map(<[u8]>::to_vec).unwrap_or_default())
    }

    /// The browser's storage estimate for this site: (used, quota) in bytes.
    pub async fn storage_estimate() -> Option<(f64, f64)> {
        let nav = web_sys::window()?.navigator();
        let est = JsFuture::from(nav.storage().estimate().ok()?).await.ok()?;
        let get = |k: &str| {
            js_sys::Reflect::get(&est, &k.into())
                .ok()
                .and_then(|v| v.as_f64())
        };
        Some((get("usage")?, get("quota")?))
    }

    /// The plays waiting to be sent for `me` (anyone else's are not theirs to send).
    fn pending(me: &str) -> Vec<PendingPlay> {
        crate::ui::storage::recall(PENDING_PLAYS)
            .filter(|s| plays_owner(s) == Some(me))
            .map(|s| decode_plays(&s))
            .unwrap_or_default()
    }

    fn set_pending(me: &str, list: &[PendingPlay]) {
        crate::ui::storage::remember(PENDING_PLAYS, &encode_plays(me, list));
    }

    /// Keeps a play the server could not be told about, for when the network returns
    /// (counted for the user the downloads play for).
    pub fn queue_play(play: PendingPlay) {
        let Some(me) = signed_in_as() else { return };
        let mut list = pending(&me);
        if !list.iter().any(|p| p.playback_id == play.playback_id) {
            list.push(play);
        }
        set_pending(&me, &list);
    }

    /// Sends the plays counted offline; each leaves the list once the server has it (or
    /// refused it for good).
    pub async fn flush_plays() {
        let Some(me) = signed_in_as() else { return };
        for p in pending(&me) {
            let r = crate::player::api::record_play(
                p.track_id.clone(),
                p.playback_id.clone(),
                p.listened_ms,
            )
            .await;
            if matches!(
                r,
                Err(crate::error::AppError::Request(_) | crate::error::AppError::Unauthenticated)
            ) {
                // Still offline: the rest waits too. Signed out: they are being wiped.
                return;
            }
            if signed_in_as().as_deref() != Some(me.as_str()) {
                return;
            }
            let mut list = pending(&me);
            list.retain(|x| x.playback_id != p.playback_id);
            set_pending(&me, &list);
        }
    }

    /// `user` is signed in: downloads and waiting plays of anyone else are wiped (and
    /// downloads stored before they had an owner, which nobody can vouch for).
    pub async fn claim(ctx: DownloadsCtx, user: &str, changed: bool) {
        let plays = crate::ui::storage::recall(PENDING_PLAYS).unwrap_or_default();
        if !plays.is_empty() && plays_owner(&plays) != Some(user) {
            crate::ui::storage::forget(PENDING_PLAYS);
        }
        let Some(cache) = existing().await else {
            return;
        };
        let wipe = match owner(&cache).await {
            Some(o) => o != user,
            // A cache a download is creating has no owner for a moment.
            None => ctx.active.with_untracked(Vec::is_empty),
        };
        if wipe {
            wipe_cache().await;
        }
        // What the page lists changes with its owner (this user's downloads may have
        // been read while the browser knew nobody).
        if (wipe || changed) && ctx.started.get_value() {
            refresh(ctx).await;
        }
    }

    /// The session is over (logout, a 401, the server saying nobody is signed in): the
    /// user is forgotten, every download and waiting play deleted.
    pub async fn end_session(ctx: DownloadsCtx) {
        crate::ui::storage::forget(SIGNED_IN_AS);
        wipe_cache().await;
        crate::ui::storage::forget(PENDING_PLAYS);
        ctx.stored.set(Vec::new());
        ctx.list.set(Vec::new());
        ctx.loaded.set(true);
    }

    async fn wipe_cache() {
        if let Some(Ok(caches)) = web_sys::window().map(|w| w.caches()) {
            let _ = JsFuture::from(caches.delete(MEDIA_CACHE)).await;
        }
        crate::ui::storage::forget(HOLDS_DOWNLOADS);
        LAST.with(|l| *l.borrow_mut() = None);
    }
}

#[cfg(test)]
mod tests {
    use super::{PendingPlay, StoredDownload, decode_plays, encode_plays, orphans, plays_owner};

    #[test]
    fn waiting_plays_survive_the_round_trip_and_a_damaged_line_drops_alone() {
        let plays = vec![
            PendingPlay {
                track_id: "t-1".into(),
                playback_id: "pb-aaaaaaaaaaaaaaaa".into(),
                listened_ms: 31_000,
            },
            PendingPlay {
                track_id: "t-2".into(),
                playback_id: "pb-bbbbbbbbbbbbbbbb".into(),
                listened_ms: 4_000,
            },
        ];
        let text = encode_plays("u-1", &plays);
        assert_eq!(decode_plays(&text), plays);
        assert_eq!(plays_owner(&text), Some("u-1"));
        let damaged = format!(
            "{}\nt-3 pb-x notanumber\ngarbage",
            encode_plays("u-1", &plays[..1])
        );
        assert_eq!(decode_plays(&damaged), plays[..1]);
        assert!(decode_plays("").is_empty());
        // No plays: nothing stored, not even the owner.
        assert_eq!(encode_plays("u-1", &[]), "");
        // Plays stored before they had an owner are nobody's.
        assert_eq!(plays_owner("t-1 pb-aaaaaaaaaaaaaaaa 31000"), None);
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_track_is_deleted_only_when_no_download_lists_it() {
        let other = StoredDownload {
            key: "liked".into(),
            name: "Liked Songs".into(),
            track_ids: ids(&["b"]),
            pending: 0,
            synced_at: 0.0,
        };
        // A playlist lost "a" and "b"; "b" is also liked, "c" stayed.
        assert_eq!(
            orphans(
                &ids(&["a", "b", "c"]),
                &ids(&["c"]),
                std::slice::from_ref(&other)
            ),
            ids(&["a"])
        );
        // The whole download removed.
        assert_eq!(orphans(&ids(&["a", "b"]), &[], &[other]), ids(&["a"]));
        assert!(orphans(&ids(&["a"]), &ids(&["a"]), &[]).is_empty());
    }
}
