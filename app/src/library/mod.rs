//! The library page (`/library`): upload, import jobs with live state, and the track list.

mod upload;

use crate::error::AppError;
use crate::player::{PlayerCtx, TrackRef, fmt_time};
use crate::selection::{RowHabits, Selection, SelectionBar};
use leptos::prelude::*;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};
use server_fn::codec::Postcard;
pub use upload::{
    ImportFromYoutube, LinkImport, UploadZone, VideoHit, YoutubeImport, YoutubeSearch,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackItem {
    pub id: String,
    pub title: String,
    pub artist: String,
    pub artist_id: String,
    pub album: Option<String>,
    pub album_id: Option<String>,
    pub duration_ms: i64,
    pub has_cover: bool,
    /// The cover's version, for its URL.
    #[serde(default)]
    pub cover_v: String,
    /// The signed-in user may edit or delete it (their own upload, or they are an admin).
    pub can_delete: bool,
    /// In the signed-in user's Liked Songs.
    pub liked: bool,
    /// How often the signed-in user played it.
    pub plays: i64,
}

impl TrackItem {
    /// What the player needs of it.
    pub fn to_ref(&self) -> TrackRef {
        TrackRef {
            id: self.id.clone(),
            title: self.title.clone(),
            artist: self.artist.clone(),
            has_cover: self.has_cover,
            cover_v: self.cover_v.clone(),
            duration_ms: self.duration_ms,
            liked: self.liked,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportItem {
    pub id: String,
    pub filename: String,
    pub size_bytes: i64,
    /// queued, processing, done or failed
    pub state: String,
    pub error: Option<String>,
    pub track_id: Option<String>,
}

/// Everything the player needs to stream a track through Media Source Extensions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamInfo {
    pub url: String,
    pub mime: String,
    pub duration_ms: i64,
    pub bytes: i64,
    pub init_end: u64,
    pub segments: Vec<(u64, u64)>,
    /// Encoder delay at the start (seconds), trimmed for gapless playback.
    pub priming_secs: f64,
    /// Loudness normalization gain (dB, at most 0), if measured at import.
    pub gain_db: Option<f64>,
}

#[cfg(feature = "ssr")]
pub(crate) fn track_items(
    user: &backend::auth::CurrentUser,
    tracks: Vec<backend::library::TrackView>,
) -> Vec<TrackItem> {
    let admin = user.role == backend::auth::Role::Admin;
    tracks
        .into_iter()
        .map(|t| TrackItem {
            can_delete: admin || t.owner_id == user.id,
            id: t.id,
            title: t.title,
            artist: t.artist,
            artist_id: t.artist_id,
            album: t.album,
            album_id: t.album_id,
            duration_ms: t.duration_ms,
            has_cover: t.has_cover,
            cover_v: t.cover_v,
            liked: t.liked,
            plays: t.plays,
        })
        .collect()
}

/// Every track the user may see, newest first (up to 5,000; the library page pages
/// through them with `list_tracks_page` instead).
#[server(output = Postcard)]
pub async fn list_tracks() -> Result<Vec<TrackItem>, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let tracks = backend::library::list_tracks(&core, &user).await?;
    Ok(track_items(&user, tracks))
}

/// One page of the track list and how many tracks there are in all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackPage {
    pub tracks: Vec<TrackItem>,
    pub total: i64,
}

/// Rows per page of the track list.
pub const PAGE: i64 = 100;

/// The sorts the track list offers: (URL value, label, newest/most first by default).
pub const SORTS: &[(&str, &str, bool)] = &[
    ("added", "Date added", true),
    ("title", "Title", false),
    ("artist", "Artist", false),
    ("album", "Album", false),
    ("plays", "Plays", true),
];

#[server(output = Postcard)]
pub async fn list_tracks_page(
    sort: String,
    desc: bool,
    offset: i64,
) -> Result<TrackPage, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let sort = backend::library::TrackSort::parse(&sort)
        .ok_or_else(|| AppError::Invalid("Unknown sort order.".into()))?;
    let (tracks, total) =
        backend::library::tracks_page(&core, &user, sort, desc, offset, PAGE).await?;
    Ok(TrackPage {
        tracks: track_items(&user, tracks),
        total,
    })
}

/// What the signed-in user played last (each track once), most recent first.
#[server(output = Postcard)]
pub async fn list_recently_played() -> Result<Vec<TrackItem>, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let tracks = backend::library::recently_played(&core, &user, 12).await?;
    Ok(track_items(&user, tracks))
}

/// The signed-in user's Liked Songs, most recently liked first.
#[server(output = Postcard)]
pub async fn list_liked() -> Result<Vec<TrackItem>, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let tracks = backend::library::liked_tracks(&core, &user).await?;
    Ok(track_items(&user, tracks))
}

/// Reports a playback that counts as a play (the player calls it once per playback).
#[server(output = Postcard)]
pub async fn record_play(
    track_id: String,
    playback_id: String,
    listened_ms: i64,
) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(
        backend::playback::plays::record_play(&core, &user, &track_id, &playback_id, listened_ms)
            .await?,
    )
}

#[server(output = Postcard)]
pub async fn set_liked(track_id: String, liked: bool) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::library::set_liked(&core, &user, &track_id, liked).await?)
}

#[server(output = Postcard)]
pub async fn delete_track(track_id: String) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    backend::library::delete_track(&core, &user, &track_id).await?;
    // The confirm form on the track's page, posted without JavaScript: back to the library.
    if crate::ssr::plain_form_post() {
        leptos_axum::redirect("/library");
    }
    Ok(())
}

#[server(output = Postcard)]
pub async fn list_imports() -> Result<Vec<ImportItem>, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let jobs = backend::imports::list_jobs(&core, &user).await?;
    Ok(jobs
        .into_iter()
        .map(|j| ImportItem {
            id: j.id,
            filename: j.filename,
            size_bytes: j.size_bytes,
            state: j.state.as_str().to_string(),
            error: j.error,
            track_id: j.track_id,
        })
        .collect())
}

/// Queues an import of the audio file a link points to (checked against SSRF here and
/// again, hop by hop, when the worker fetches it).
#[server(output = Postcard)]
pub async fn import_from_url(link: String) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    backend::imports::create_from_url(&core, &user, &link).await?;
    Ok(())
}

#[server(output = Postcard)]
pub async fn stream_track(track_id: String) -> Result<StreamInfo, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let s = backend::playback::stream_info(&core, &user, &track_id).await?;
    Ok(stream_info_of(s))
}

#[cfg(feature = "ssr")]
pub(crate) fn stream_info_of(s: backend::playback::StreamInfo) -> StreamInfo {
    StreamInfo {
        url: s.url,
        mime: s.mime,
        duration_ms: s.duration_ms,
        bytes: s.bytes,
        init_end: s.init_end,
        segments: s.segments,
        priming_secs: s.priming_secs,
        gain_db: s.gain_db,
    }
}

pub(crate) fn fmt_size(bytes: i64) -> String {
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 {
        format!("{:.1} MB", b / 1024.0 / 1024.0)
    } else {
        format!("{:.0} KB", (b / 1024.0).max(1.0))
    }
}

#[component]
pub fn LibraryPage() -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let imports = crate::wire::resource(move || refresh.get(), |_| crate::imports::my_imports());
    // Tracks refetch when a job finishes that had not finished before (an effect: browser
    // only). Every finished job seen is remembered: a job leaving the shown page, or the
    // page showing another slice of finished jobs, brings no new track, and refetching then
    // rebuilt the list (and the selection bar under the user's pointer) on every poll.
    let tracks_version = RwSignal::new(0u32);
    let seen_done = StoredValue::new(None::<std::collections::HashSet<String>>);
    Effect::new(move |_| {
        let Some(Ok(page)) = imports.get() else {
            return;
        };
        let done = page
            .jobs
            .iter()
            .filter(|j| j.state == "done")
            .map(|j| &j.id);
        let mut fresh = false;
        seen_done.update_value(|seen| match seen {
            None => *seen = Some(done.cloned().collect()),
            Some(seen) => {
                for id in done {
                    fresh |= seen.insert(id.clone());
                }
            }
        });
        if fresh {
            tracks_version.update(|n| *n += 1);
        }
    });
    let query = leptos_router::hooks::use_query_map();
    let sort = Memo::new(move |_| {
        query.with(|q| {
            q.get("sort")
                .filter(|s| SORTS.iter().any(|(v, _, _)| v == s))
                .unwrap_or_else(|| "added".to_string())
        })
    });
    let desc = Memo::new(move |_| {
        let default = SORTS
            .iter()
            .find(|(v, _, _)| *v == sort.get())
            .is_some_and(|(_, _, d)| *d);
        query.with(|q| q.get("order").map_or(default, |o| o != "asc"))
    });
    let tracks = crate::wire::resource(
        move || (sort.get(), desc.get(), tracks_version.get()),
        |(s, d, _)| list_tracks_page(s, d, 0),
    );

    // Poll while any job is still running (or an action was just sent), so states update
    // without a reload.
    #[cfg(feature = "hydrate")]
    {
        let sent = crate::imports::ActionSent::provide();
        let handle = set_interval_with_handle(
            move || {
                let busy = imports
                    .get_untracked()
                    .and_then(|r| r.ok())
                    .is_some_and(|p| {
                        p.jobs
                            .iter()
                            .any(|j| j.state == "queued" || j.state == "processing")
                    });
                if busy || sent.recent() {
                    refresh.update(|n| *n += 1);
                }
            },
            std::time::Duration::from_millis(1000),
        );
        if let Ok(h) = handle {
            on_cleanup(move || h.clear());
        }
    }

    view! {
        <section class="page">
            <header class="page-head">
                <h1>"Library"</h1>
            </header>
            <UploadZone on_uploaded=Callback::new(move |_| refresh.update(|n| *n += 1))/>
            <LinkImport on_queued=Callback::new(move |_| refresh.update(|n| *n += 1))/>
            <YoutubeImport on_queued=Callback::new(move |_| refresh.update(|n| *n += 1))/>
            <Transition fallback=|| view! { <p class="muted">"Loading imports…"</p> }>
                {move || imports.get().map(|r| match r {
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    Ok(page) if page.jobs.is_empty() => ().into_any(),
                    Ok(page) => view! {
                        <ImportList page on_changed=Callback::new(move |_| refresh.update(|n| *n += 1))/>
                    }.into_any(),
                })}
            </Transition>
            <div class="list-head">
                <h2>"Tracks"</h2>
                <SortBar sort desc/>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading tracks…"</p> }>
                {move || tracks.get().map(|r| match r {
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    Ok(p) if p.tracks.is_empty() => view! {
                        <div class="empty">
                            <p class="empty-title">"Your library is empty"</p>
                            <p class="muted">"Drop some audio files above to start listening."</p>
                        </div>
                    }.into_any(),
                    Ok(p) => view! {
                        <PagedTracks first=p sort=sort.get_untracked() desc=desc.get_untracked()
                            on_deleted=Callback::new(move |_| tracks_version.update(|n| *n += 1))/>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// Sort order of the track list, kept in the URL (`?sort=title&order=asc`), so a reload or
/// a link keeps it.
#[component]
fn SortBar(sort: Memo<String>, desc: Memo<bool>) -> impl IntoView {
    let navigate = leptos_router::hooks::use_navigate();
    let go = move |s: String, d: bool| {
        let order = if d { "desc" } else { "asc" };
        navigate(
            &format!("/library?sort={s}&order={order}"),
            leptos_router::NavigateOptions {
                scroll: false,
                ..Default::default()
            },
        );
    };
    let go2 = go.clone();
    view! {
        <form class="sort-bar" method="get" action="/library" on:submit=|ev| ev.prevent_default()>
            <label>"Sort by "
                <select name="sort" data-testid="sort" on:change=move |ev| {
                    let s = event_target_value(&ev);
                    let d = SORTS.iter().find(|(v, _, _)| *v == s).is_some_and(|(_, _, d)| *d);
                    go(s, d);
                }>
                    {SORTS.iter().map(|(v, label, _)| view! {
                        <option value=*v selected=move || sort.get() == *v>{*label}</option>
                    }).collect_view()}
                </select>
            </label>
            <input type="hidden" name="order" value=move || if desc.get() { "desc" } else { "asc" }/>
            <button type="button" class="icon-round" data-testid="sort-order"
                aria-label=move || if desc.get() { "Descending; switch to ascending" } else { "Ascending; switch to descending" }
                title="Reverse the order"
                on:click=move |_| go2(sort.get_untracked(), !desc.get_untracked())>
                {move || if desc.get() { "↓" } else { "↑" }}
            </button>
        </form>
    }
}

/// The first page of tracks, then more on request ("Show more" fetches the next page).
#[component]
fn PagedTracks(
    first: TrackPage,
    sort: String,
    desc: bool,
    on_deleted: Callback<()>,
) -> impl IntoView {
    let total = first.total;
    let rows = RwSignal::new(first.tracks);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let sort = StoredValue::new(sort);
    let selection = RwSignal::new(Vec::<String>::new());
    let more = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let offset = rows.with_untracked(Vec::len) as i64;
        leptos::task::spawn_local(async move {
            match list_tracks_page(sort.get_value(), desc, offset).await {
                Ok(p) => rows.update(|r| r.extend(p.tracks)),
                Err(e) => error.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };
    view! {
        <p class="muted count" data-testid="track-count">{format!("{total} {}", if total == 1 { "song" } else { "songs" })}</p>
        {move || view! { <TrackTable tracks=rows.get() on_deleted selection/> }}
        {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
        <Show when=move || (rows.with(Vec::len) as i64) < total>
            <div class="more">
                <button class="btn" data-testid="show-more" disabled=move || busy.get() on:click=more>
                    {move || format!("Show more ({} left)", total - rows.with(Vec::len) as i64)}
                </button>
            </div>
        </Show>
    }
}

#[component]
fn ImportList(page: crate::imports::DeskPage, on_changed: Callback<()>) -> impl IntoView {
    use crate::imports::{count_in, count_label};
    let count = |state: &str| count_in(&page.counts, state);
    let (busy, done) = (count("queued") + count("processing"), count("done"));
    let failed = count("failed");
    let cancelled = count("cancelled");
    let counts = [
        (busy, "importing"),
        (failed, "failed"),
        (cancelled, "cancelled"),
        (done, "imported"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{} {what}", count_label(*n)))
    .collect::<Vec<_>>()
    .join(" · ");
    let jobs = page.jobs;
    // Open while something is under way or failed; a list of finished imports stays folded
    // (its summary says how many) instead of pushing the tracks down.
    let open = busy + failed > 0;
    let total = count("");
    let more = (total > jobs.len() as i64).then(|| {
        format!(
            "The newest {} of {} imports.",
            jobs.len(),
            count_label(total)
        )
    });
    view! {
        <details class="imports" open=open>
            <summary>"Imports" <span class="muted import-counts">{counts}</span></summary>
            <ul class="import-list" data-testid="imports">
                {jobs.into_iter().map(|j| {
                    let label = crate::imports::state_label(&j.state, j.cancelling);
                    let error = j.error.clone().filter(|_| j.state != "cancelled");
                    view! {
                        <li class=format!("import state-{}", j.state) data-state=j.state.clone() data-job=j.id.clone()>
                            <span class="import-name" title=j.source_url.clone().unwrap_or_default()>{j.filename.clone()}</span>
                            <span class="import-size muted">{fmt_size(j.size_bytes)}</span>
                            <span class="badge">{label}</span>
                            <crate::imports::JobActions job=j.clone() on_done=on_changed/>
                            {error.map(|e| view! { <span class="import-error">{e}</span> })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {more.map(|m| view! { <p class="muted import-more">{m}</p> })}
        </details>
    }
}

/// The Liked Songs page, with the liked albums above the songs.
#[component]
pub fn LikedPage() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let tracks = crate::wire::resource(move || version.get(), |_| list_liked());
    let albums = crate::wire::resource(|| (), |_| crate::browse::liked_albums());
    let changed = Callback::new(move |_| version.update(|n| *n += 1));
    view! {
        <leptos_meta::Title text="Liked Songs"/>
        <section class="page">
            <header class="page-head list-head">
                <h1>"Liked Songs"</h1>
                <crate::downloads::DownloadButton key="liked"/>
            </header>
            <Transition fallback=|| ()>
                {move || albums.get().map(|r| match r {
                    Ok(a) if !a.is_empty() => view! {
                        <h2>"Albums you like"</h2>
                        <div data-testid="liked-albums"><crate::browse::AlbumGrid albums=a/></div>
                        <h2>"Songs"</h2>
                    }.into_any(),
                    Ok(_) => ().into_any(),
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                })}
            </Transition>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || tracks.get().map(|r| match r {
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    Ok(t) if t.is_empty() => view! {
                        <div class="empty" data-testid="liked-empty">
                            <p class="empty-title">"Songs you like appear here"</p>
                            <p class="muted">"Press ♡ next to any track in your library."</p>
                        </div>
                    }.into_any(),
                    Ok(t) => view! {
                        <TrackTable tracks=t on_deleted=changed on_like_changed=changed/>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// A list of tracks; playing one plays the list from there (next and previous follow it).
/// Rows follow desktop habits ([`crate::selection`]): double-click or Enter plays,
/// right-click opens the menu, Ctrl/⌘/Shift-click or the checkbox selects.
#[component]
pub fn TrackTable(
    tracks: Vec<TrackItem>,
    on_deleted: Callback<()>,
    /// Called after a like or unlike was stored (the Liked Songs page refetches).
    #[prop(optional)]
    on_like_changed: Option<Callback<()>>,
    /// Show the position in the list instead of the cover (album pages).
    #[prop(optional)]
    numbered: bool,
    /// Where the selected rows are kept, when it must outlive this list (a list that grows
    /// page by page renders a new table each time).
    #[prop(optional)]
    selection: Option<RwSignal<Vec<String>>>,
) -> impl IntoView {
    let refs: StoredValue<Vec<TrackRef>> =
        StoredValue::new(tracks.iter().map(TrackItem::to_ref).collect());
    let habits = RowHabits {
        sel: Selection::over(selection.unwrap_or_else(|| RwSignal::new(Vec::new()))),
        order: StoredValue::new(tracks.iter().map(|t| t.id.clone()).collect()),
    };
    let editable = StoredValue::new(
        tracks
            .iter()
            .filter(|t| t.can_delete)
            .map(|t| t.id.clone())
            .collect::<Vec<_>>(),
    );
    let player = expect_context::<PlayerCtx>();
    let downloads = expect_context::<crate::offline::DownloadsCtx>();
    let delete = ServerAction::<DeleteTrack>::new();
    let like = ServerAction::<SetLiked>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            on_deleted.run(());
        }
    });
    Effect::new(move |_| {
        if let (Some(Ok(())), Some(cb)) = (like.value().get(), on_like_changed) {
            cb.run(());
        }
    });
    view! {
        <SelectionBar sel=habits.sel tracks=refs editable on_edited=on_deleted/>
        <div class="track-table" role="table" aria-label="Tracks" aria-multiselectable="true">
            <div class="track-row head" role="row">
                <span role="columnheader"></span>
                <span role="columnheader">"Title"</span>
                <span role="columnheader" class="col-album">"Album"</span>
                <span role="columnheader" class="col-plays">"Plays"</span>
                <span role="columnheader" class="col-dur">"Time"</span>
                <span role="columnheader"></span>
            </div>
            {move || match (delete.value().get(), like.value().get()) {
                (Some(Err(e)), _) | (_, Some(Err(e))) => Some(view! { <p class="form-error" role="alert">{e.to_string()}</p> }),
                _ => None,
            }}
            {tracks.into_iter().enumerate().map(|(i, t)| {
                let id = t.id.clone();
                let is_current = move || player.current.get().is_some_and(|c| c.id == id);
                let play = move || player.play_list(refs.get_value(), i);
                let album_link = t.album_id.clone().map(|a| (a, t.album.clone().unwrap_or_default()));
                let menu_ref = t.to_ref();
                let menu_at = RwSignal::new(None::<(i32, i32)>);
                let (drag_id, drag_title) = (t.id.clone(), t.title.clone());
                let (sel_id, check_id, set_id) = (t.id.clone(), t.id.clone(), t.id.clone());
                let selected = move || habits.sel.contains(&sel_id);
                let (stored_id, away_id) = (t.id.clone(), t.id.clone());
                let remove = t.can_delete.then(|| {
                    let (id, title) = (t.id.clone(), t.title.clone());
                    Callback::new(move |_| {
                        if confirm(&format!("Delete “{title}” and its files?")) {
                            delete.dispatch(DeleteTrack { track_id: id.clone() });
                        }
                    })
                });
                view! {
                    <div class="track-row" role="row" class:current=is_current data-track=t.id.clone()
                        tabindex="0" class:selected=selected.clone() aria-selected=move || selected().to_string()
                        class:unavailable=move || !downloads.online.get() && !downloads.is_stored(&away_id)
                        draggable="true"
                        on:dragstart=move |ev| crate::playlists::drag_track(&ev, &drag_id, &drag_title)
                        on:click=move |ev| habits.click(&ev, i, play)
                        on:dblclick=move |ev| habits.double_click(&ev, play)
                        on:keydown=move |ev| habits.key(&ev, play)
                        on:contextmenu=move |ev| habits.context_menu(&ev, menu_at)>
                        <span class="cover-cell" class:numbered=numbered>
                            <input type="checkbox" class="row-select" aria-label=format!("Select {}", t.title)
                                prop:checked=move || habits.sel.contains(&check_id)
                                on:change=move |ev| habits.sel.set(&set_id, event_target_checked(&ev), i)/>
                            {if numbered {
                                view! { <span class="track-no muted">{i + 1}</span> }.into_any()
                            } else {
                                view! { <Cover track_id=t.id.clone() has_cover=t.has_cover version=t.cover_v.clone() title=t.title.clone()/> }.into_any()
                            }}
                            <button class="play-btn" aria-label=format!("Play {}", t.title) on:click=move |_| play()>"▶"</button>
                        </span>
                        <span class="title-cell">
                            <span class="track-title">{t.title.clone()}</span>
                            <span class="track-sub">
                                <crate::downloads::OfflineMark stored=Signal::derive(move || downloads.is_stored(&stored_id))/>
                                <A href=format!("/artists/{}", t.artist_id) attr:class="track-artist muted">{t.artist.clone()}</A>
                            </span>
                        </span>
                        <span class="col-album muted">
                            {album_link.map(|(a, name)| view! { <A href=format!("/albums/{a}")>{name}</A> })}
                        </span>
                        <span class="col-plays muted" data-testid="plays">{t.plays}</span>
                        <span class="col-dur muted">{fmt_time(t.duration_ms as f64 / 1000.0)}</span>
                        <span class="col-actions">
                            {
                                let liked = RwSignal::new(t.liked);
                                let id = t.id.clone();
                                let title = t.title.clone();
                                // A form underneath (it works without JavaScript); once
                                // hydrated the click flips the heart at once and the form's
                                // submit sends what it now shows.
                                crate::wire::post_form(
                                    like,
                                    move || SetLiked { track_id: id.clone(), liked: liked.get_untracked() },
                                    view! {
                                        <input type="hidden" name="track_id" value=t.id.clone()/>
                                        <input type="hidden" name="liked" value=(!t.liked).to_string()/>
                                        <button type="submit" class="icon-btn like-btn" class:on=move || liked.get()
                                            aria-pressed=move || liked.get().to_string()
                                            aria-label=format!("Like {title}")
                                            title=move || if liked.get() { "Remove from Liked Songs" } else { "Add to Liked Songs" }
                                            on:click=move |_| liked.update(|l| *l = !*l)>
                                            {move || if liked.get() { "♥" } else { "♡" }}
                                        </button>
                                    },
                                )
                            }
                            <TrackMenu track=menu_ref editable=t.can_delete at=menu_at on_delete=remove
                                artist_id=Some(t.artist_id.clone()) album_id=t.album_id.clone()/>
                            // A link to the track page's confirm form (without JavaScript);
                            // with it, the browser's own confirm dialog instead.
                            {remove.map(|remove| view! {
                                <a class="icon-btn delete-btn" href=format!("/tracks/{}/edit#delete", t.id)
                                    aria-label=format!("Delete {}", t.title) title="Delete"
                                    on:click=move |ev| {
                                        ev.prevent_default();
                                        remove.run(());
                                    }>"✕"</a>
                            })}
                        </span>
                    </div>
                }
            }).collect_view()}
        </div>
    }
}

/// A track's ⋯ menu: play next, add to queue, add to a playlist (and edit or delete, where
/// the user may). A right-click on the row opens it where the pointer is.
#[component]
pub fn TrackMenu(
    track: TrackRef,
    /// Offer "Edit details" (the user may edit the track).
    #[prop(optional)]
    editable: bool,
    /// Set by a right-click on the row: open the menu at this point of the window.
    #[prop(optional)]
    at: Option<RwSignal<Option<(i32, i32)>>>,
    /// Offer "Delete…".
    #[prop(optional_no_strip)]
    on_delete: Option<Callback<()>>,
    /// Offer "Go to artist" (on a touch screen the artist's name in the row is not a link:
    /// a tap on the title beside it must play, not open the artist).
    #[prop(optional_no_strip)]
    artist_id: Option<String>,
    /// Offer "Go to album".
    #[prop(optional_no_strip)]
    album_id: Option<String>,
) -> impl IntoView {
    let player = expect_context::<PlayerCtx>();
    let menu = NodeRef::<leptos::html::Details>::new();
    let close = move || {
        if let Some(d) = menu.get_untracked() {
            d.set_open(false);
        }
    };
    // The menu is built when it opens: a page of 100 rows renders (and the server sends)
    // only the buttons, not 100 menus.
    let open = RwSignal::new(false);
    if let Some(at) = at {
        Effect::new(move |_| {
            if at.get().is_some()
                && let Some(d) = menu.get_untracked()
            {
                d.set_open(true);
            }
        });
    }
    // Opened by a right-click: at the pointer, moved up or left where it would cross the
    // window's edge (measured once it is on screen).
    let menu_box = NodeRef::<leptos::html::Div>::new();
    let place = move || {
        at.and_then(|a| a.get())
            .map(|(x, y)| format!("position: fixed; right: auto; left: {x}px; top: {y}px"))
    };
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let (Some((x, y)), Some(el)) = (at.and_then(|a| a.get()), menu_box.get()) {
            let (w, h) = crate::selection::window_size();
            let r = el.get_bounding_client_rect();
            let left = (f64::from(x)).min(w - r.width() - 8.0).max(8.0);
            let top = if f64::from(y) + r.height() > h - 8.0 {
                (f64::from(y) - r.height()).max(8.0)
            } else {
                f64::from(y)
            };
            let style = web_sys::HtmlElement::style(&el);
            let _ = style.set_property("left", &format!("{}px", left as i32));
            let _ = style.set_property("top", &format!("{}px", top as i32));
        }
    });
    let title = track.title.clone();
    let items = move || {
        open.get().then(|| {
            let (next, queued, id) = (track.clone(), track.clone(), track.id.clone());
            view! {
                <div class="menu-backdrop" on:click=move |_| close()
                    on:contextmenu=move |ev| { ev.prevent_default(); close(); }></div>
                <div class="menu" role="menu" style=place data-testid="track-menu" node_ref=menu_box>
                    <button role="menuitem" on:click=move |_| { player.play_next(next.clone()); close(); }>"Play next"</button>
                    <button role="menuitem" on:click=move |_| { player.add_to_queue(queued.clone()); close(); }>"Add to queue"</button>
                    <crate::playlists::AddToPlaylist track_ids=vec![id.clone()] on_done=Callback::new(move |_| close())/>
                    {artist_id.clone().map(|a| view! {
                        <A href=format!("/artists/{a}") attr:role="menuitem" attr:class="menu-link">"Go to artist"</A>
                    })}
                    {album_id.clone().map(|a| view! {
                        <A href=format!("/albums/{a}") attr:role="menuitem" attr:class="menu-link">"Go to album"</A>
                    })}
                    {editable.then(|| view! {
                        <A href=format!("/tracks/{id}/edit") attr:role="menuitem" attr:class="menu-link">"Edit details…"</A>
                    })}
                    {on_delete.map(|d| view! {
                        <button role="menuitem" class="menu-danger" on:click=move |_| { close(); d.run(()); }>"Delete…"</button>
                    })}
                </div>
            }
        })
    };
    view! {
        <details class="row-menu" node_ref=menu
            on:keydown=move |ev| if ev.key() == "Escape" { close() }
            on:toggle=move |_| {
                let is_open = menu.get_untracked().is_some_and(|d| d.open());
                open.set(is_open);
                if !is_open && let Some(at) = at {
                    at.set(None);
                }
            }>
            <summary class="icon-btn" aria-label=format!("More for {title}") title="More">"⋯"</summary>
            {items}
        </details>
    }
}

/// A cover image (a thumbnail about `size` CSS pixels wide, sharp on 2x screens), or a
/// generated placeholder from the title's initial.
#[component]
pub fn Cover(
    track_id: String,
    has_cover: bool,
    title: String,
    /// The cover's version (changes with the cover, so its URL can be cached for good).
    #[prop(optional, into)]
    version: String,
    /// Displayed width in CSS pixels (48 when not given: list rows).
    #[prop(optional)]
    size: Option<u32>,
) -> impl IntoView {
    if has_cover {
        let size = size.unwrap_or(48);
        let src = format!("/covers/{track_id}?s={size}&v={version}");
        let srcset = format!("{src} 1x, /covers/{track_id}?s={}&v={version} 2x", size * 2);
        view! { <img class="cover" src=src srcset=srcset alt="" loading="lazy"/> }.into_any()
    } else {
        let initial = title
            .chars()
            .next()
            .map(|c| c.to_uppercase().to_string())
            .unwrap_or_default();
        let hue = title
            .bytes()
            .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)))
            % 360;
        view! {
            <span class="cover placeholder" style=format!("--hue: {hue}") aria-hidden="true">{initial}</span>
        }
        .into_any()
    }
}

/// Asks the user to confirm (always yes before the WASM has loaded, where it cannot run).
pub(crate) fn confirm(_question: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.confirm_with_message(_question).ok())
            .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        true
    }
}
