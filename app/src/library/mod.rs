//! The library page (`/library`): upload, import jobs with live state, and the track list.

mod upload;

use crate::error::AppError;
use crate::model::TrackItem;
#[cfg(feature = "ssr")]
use crate::model::track_items;
use crate::tracks::TrackTable;
use crate::ui::format::fmt_size;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::Postcard;
pub use upload::{
    ImportFromYoutube, LinkImport, UploadZone, VideoHit, YoutubeImport, YoutubeSearch,
};

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
    use crate::imports::count_in;
    use crate::imports::count_label;
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
