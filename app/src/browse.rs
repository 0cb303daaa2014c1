//! Browsing the catalog: album and artist pages, and the cards that link to them.

use crate::error::AppError;
use crate::model::TrackItem;
use crate::model::{AlbumItem, ArtistItem};
#[cfg(feature = "ssr")]
use crate::model::{album_item, artist_item};
use crate::player::state::PlayerCtx;
use crate::tracks::TrackTable;
use crate::ui::cover::{AlbumCover, Initial};
use crate::ui::dom::param;
use crate::ui::format::fmt_time;
use crate::ui::format::n_tracks;
use crate::ui::page_error::PageError;
use leptos::prelude::*;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};
use server_fn::codec::Postcard;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlbumPageData {
    pub album: AlbumItem,
    pub tracks: Vec<TrackItem>,
    /// The user may edit the album (an admin, or the uploader of all of it).
    pub can_edit: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtistPageData {
    pub artist: ArtistItem,
    pub albums: Vec<AlbumItem>,
    pub top: Vec<TrackItem>,
    /// The user may rename, merge or delete the artist (admins).
    pub can_edit: bool,
}

#[server(output = Postcard)]
pub async fn get_album(id: String) -> Result<AlbumPageData, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let (album, tracks) = backend::library::album(&core, &user, &id).await?;
    // Only ask when it can be yes: a track of someone else's on it rules a listener out.
    let can_edit = (user.role == backend::auth::Role::Admin
        || tracks.iter().all(|t| t.owner_id == user.id))
        && backend::catalog::may_edit_album(&core, &user, &id).await?;
    Ok(AlbumPageData {
        album: album_item(album),
        tracks: crate::model::track_items(&user, tracks),
        can_edit,
    })
}

#[server(output = Postcard)]
pub async fn get_artist(id: String) -> Result<ArtistPageData, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let (artist, albums, top) = backend::library::artist(&core, &user, &id).await?;
    Ok(ArtistPageData {
        artist: artist_item(artist),
        albums: albums.into_iter().map(album_item).collect(),
        top: crate::model::track_items(&user, top),
        can_edit: user.role == backend::auth::Role::Admin,
    })
}

/// Likes or unlikes an album the listener may see.
#[server(output = Postcard)]
pub async fn set_album_liked(album_id: String, liked: bool) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    backend::library::set_album_liked(&core, &user, &album_id, liked).await?;
    Ok(())
}

/// The listener's liked albums, most recently liked first.
#[server(output = Postcard)]
pub async fn liked_albums() -> Result<Vec<AlbumItem>, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let albums = backend::library::liked_albums(&core, &user).await?;
    Ok(albums.into_iter().map(album_item).collect())
}

/// The heart of an album page: likes or unlikes at once, and says so if the server refused.
#[component]
fn AlbumLike(album_id: String, title: String, liked: bool) -> impl IntoView {
    let on = RwSignal::new(liked);
    let error = RwSignal::new(None::<String>);
    let toggle = move |_| {
        let want = !on.get_untracked();
        on.set(want);
        error.set(None);
        let id = album_id.clone();
        leptos::task::spawn_local(async move {
            if let Err(e) = set_album_liked(id, want).await {
                on.set(!want);
                error.set(Some(e.to_string()));
            }
        });
    };
    view! {
        <button class="icon-round like-btn album-like" class:on=move || on.get()
            data-testid="album-like" aria-pressed=move || on.get().to_string()
            aria-label=format!("Like the album {title}")
            title=move || if on.get() { "Remove from your liked albums" } else { "Add to your liked albums" }
            on:click=toggle>
            {move || if on.get() { "♥" } else { "♡" }}
        </button>
        {move || error.get().map(|e| view! { <span class="form-error" role="alert">{e}</span> })}
    }
}

/// Cards per page of the album and artist grids.
pub const GRID_PAGE: i64 = 60;

#[server(output = Postcard)]
pub async fn list_albums_page(
    recent: bool,
    offset: i64,
    limit: i64,
) -> Result<Vec<AlbumItem>, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let albums = backend::library::albums_page(&core, &user, recent, offset, limit).await?;
    Ok(albums.into_iter().map(album_item).collect())
}

#[server(output = Postcard)]
pub async fn list_artists_page(offset: i64, limit: i64) -> Result<Vec<ArtistItem>, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let artists = backend::library::artists_page(&core, &user, offset, limit).await?;
    Ok(artists.into_iter().map(artist_item).collect())
}

/// All albums as a cover grid, by title or most recently added, a page at a time.
#[component]
pub fn AlbumsPage() -> impl IntoView {
    let recent = RwSignal::new(false);
    let first = crate::wire::resource(move || recent.get(), |r| list_albums_page(r, 0, GRID_PAGE));
    view! {
        <leptos_meta::Title text="Albums"/>
        <section class="page">
            <header class="page-head list-head">
                <h1>"Albums"</h1>
                <label class="sort-bar">"Sort by "
                    <select data-testid="album-sort" on:change=move |ev| recent.set(event_target_value(&ev) == "recent")>
                        <option value="title">"Title"</option>
                        <option value="recent">"Recently added"</option>
                    </select>
                </label>
            </header>
            <Transition fallback=|| view! { <p class="muted">"Loading albums…"</p> }>
                {move || first.get().map(|r| match r {
                    Err(e) => view! { <PageError error=e/> }.into_any(),
                    Ok(a) if a.is_empty() => view! {
                        <div class="empty"><p class="empty-title">"No albums yet"</p>
                        <p class="muted">"Albums appear here once tracks with an album tag are imported."</p></div>
                    }.into_any(),
                    Ok(a) => {
                        let r = recent.get_untracked();
                        view! {
                            <Paged first=a fetch=move |offset| list_albums_page(r, offset, GRID_PAGE)
                                render=|a| view! { <AlbumGrid albums=a/> }.into_any()/>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

/// All artists, by name, a page at a time.
#[component]
pub fn ArtistsPage() -> impl IntoView {
    let first = crate::wire::resource(|| (), |_| list_artists_page(0, GRID_PAGE));
    view! {
        <leptos_meta::Title text="Artists"/>
        <section class="page">
            <header class="page-head"><h1>"Artists"</h1></header>
            <Transition fallback=|| view! { <p class="muted">"Loading artists…"</p> }>
                {move || first.get().map(|r| match r {
                    Err(e) => view! { <PageError error=e/> }.into_any(),
                    Ok(a) if a.is_empty() => view! {
                        <div class="empty"><p class="empty-title">"No artists yet"</p>
                        <p class="muted">"Import some music and its artists appear here."</p></div>
                    }.into_any(),
                    Ok(a) => view! {
                        <Paged first=a fetch=|offset| list_artists_page(offset, GRID_PAGE)
                            render=|a| view! { <ArtistGrid artists=a/> }.into_any()/>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// A grid that starts with `first` and fetches further pages of `GRID_PAGE` on request.
#[component]
fn Paged<T, F, Fut>(first: Vec<T>, fetch: F, render: fn(Vec<T>) -> AnyView) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    F: Fn(i64) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Vec<T>, AppError>> + 'static,
{
    let done = RwSignal::new((first.len() as i64) < GRID_PAGE);
    let items = RwSignal::new(first);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let more = move |_| {
        busy.set(true);
        let offset = items.with_untracked(Vec::len) as i64;
        leptos::task::spawn_local(async move {
            match fetch(offset).await {
                Ok(next) => {
                    done.set((next.len() as i64) < GRID_PAGE);
                    items.update(|i| i.extend(next));
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };
    view! {
        {move || render(items.get())}
        {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
        <Show when=move || !done.get()>
            <div class="more">
                <button class="btn" data-testid="show-more" disabled=move || busy.get() on:click=more>"Show more"</button>
            </div>
        </Show>
    }
}

#[component]
pub fn AlbumPage() -> impl IntoView {
    let id = param("id");
    let version = RwSignal::new(0u32);
    let data = crate::wire::resource(move || (id.get(), version.get()), |(id, _)| get_album(id));
    let player = expect_context::<PlayerCtx>();
    let changed = Callback::new(move |_| version.update(|n| *n += 1));
    let selection = RwSignal::new(Vec::<String>::new());
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading album…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <PageError error=e/> }.into_any(),
                Ok(d) => {
                    let total: i64 = d.tracks.iter().map(|t| t.duration_ms).sum();
                    let refs: Vec<_> = d.tracks.iter().map(TrackItem::to_ref).collect();
                    let shuffled = refs.clone();
                    let a = d.album.clone();
                    view! {
                        <leptos_meta::Title text=a.title.clone()/>
                        <section class="page">
                            <header class="hero">
                                <AlbumCover album=a.clone() big=true/>
                                <div class="hero-text">
                                    <span class="eyebrow muted">"Album"</span>
                                    <h1 data-testid="album-title">{a.title.clone()}</h1>
                                    <p class="muted">
                                        <A href=format!("/artists/{}", a.artist_id)>{a.artist.clone()}</A>
                                        {a.year.map(|y| format!(" · {y}"))}
                                        {format!(" · {} · {}", n_tracks(a.tracks), fmt_time(total as f64 / 1000.0))}
                                    </p>
                                    <div class="hero-actions">
                                        <button class="btn primary" data-testid="play-album"
                                            on:click=move |_| player.play_list(refs.clone(), 0)>"▶ Play"</button>
                                        <button class="btn" data-testid="shuffle-album"
                                            on:click=move |_| player.play_shuffled(shuffled.clone())>{crate::icons::shuffle()}" Shuffle"</button>
                                        <AlbumLike album_id=a.id.clone() title=a.title.clone() liked=a.liked/>
                                        <crate::downloads::DownloadButton key=format!("album:{}", a.id)/>
                                        {d.can_edit.then(|| view! {
                                            <A href=format!("/albums/{}/edit", a.id) attr:class="btn ghost" attr:data-testid="edit-album">"Edit"</A>
                                        })}
                                    </div>
                                </div>
                            </header>
                            <TrackTable tracks=d.tracks numbered=true on_deleted=changed selection/>
                        </section>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

#[component]
pub fn ArtistPage() -> impl IntoView {
    let id = param("id");
    let version = RwSignal::new(0u32);
    let data = crate::wire::resource(move || (id.get(), version.get()), |(id, _)| get_artist(id));
    let player = expect_context::<PlayerCtx>();
    let changed = Callback::new(move |_| version.update(|n| *n += 1));
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading artist…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <PageError error=e/> }.into_any(),
                Ok(d) => {
                    let refs: Vec<_> = d.top.iter().map(TrackItem::to_ref).collect();
                    let a = d.artist.clone();
                    view! {
                        <leptos_meta::Title text=a.name.clone()/>
                        <section class="page">
                            <header class="hero">
                                <Initial name=a.name.clone() class="artist-picture big"/>
                                <div class="hero-text">
                                    <span class="eyebrow muted">"Artist"</span>
                                    <h1 data-testid="artist-name">{a.name.clone()}</h1>
                                    <p class="muted">{n_tracks(a.tracks)}</p>
                                    <div class="hero-actions">
                                        <button class="btn primary" data-testid="play-artist"
                                            on:click=move |_| player.play_list(refs.clone(), 0)>"▶ Play"</button>
                                        {d.can_edit.then(|| view! {
                                            <A href=format!("/artists/{}/edit", a.id) attr:class="btn ghost" attr:data-testid="edit-artist">"Edit"</A>
                                        })}
                                    </div>
                                </div>
                            </header>
                            <h2>"Popular"</h2>
                            <TrackTable tracks=d.top on_deleted=changed/>
                            {(!d.albums.is_empty()).then(|| view! {
                                <h2>"Albums"</h2>
                                <AlbumGrid albums=d.albums.clone()/>
                            })}
                        </section>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// Albums as a grid of covers, each linking to its page.
#[component]
pub fn AlbumGrid(albums: Vec<AlbumItem>) -> impl IntoView {
    view! {
        <ul class="card-grid" data-testid="album-grid">
            {albums.into_iter().map(|a| view! {
                <li>
                    <A href=format!("/albums/{}", a.id) attr:class="card">
                        <AlbumCover album=a.clone()/>
                        <span class="card-title">{a.title.clone()}</span>
                        <span class="card-sub muted">
                            {a.artist.clone()}{a.year.map(|y| format!(" · {y}"))}
                        </span>
                    </A>
                </li>
            }).collect_view()}
        </ul>
    }
}

/// Artists as a grid of round initials, each linking to its page.
#[component]
pub fn ArtistGrid(artists: Vec<ArtistItem>) -> impl IntoView {
    view! {
        <ul class="card-grid" data-testid="artist-grid">
            {artists.into_iter().map(|a| view! {
                <li>
                    <A href=format!("/artists/{}", a.id) attr:class="card artist-card">
                        <Initial name=a.name.clone() class="artist-picture"/>
                        <span class="card-title">{a.name.clone()}</span>
                        <span class="card-sub muted">{n_tracks(a.tracks)}</span>
                    </A>
                </li>
            }).collect_view()}
        </ul>
    }
}
