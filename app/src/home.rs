//! Home, where a signed-in user lands: shortcuts to the library, then shelves of what they
//! played last, their playlists and the albums added last. It carries no track list, no
//! import tools and no editing, so the code a phone loads before the first tap works is
//! the layout, the player bar and these cards (the library page is one tap away).

use crate::library::list_recently_played;
use crate::model::TrackItem;
use crate::model::TrackRef;
use crate::player::state::PlayerCtx;
use crate::ui::cover::Cover;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn HomePage() -> impl IntoView {
    let recent = crate::wire::resource(|| (), |_| list_recently_played());
    let added = crate::wire::resource(|| (), |_| crate::browse::list_albums_page(true, 0, 12));
    let playlists = expect_context::<crate::playlists::widgets::PlaylistsCtx>();
    // Each shelf's length once loaded, or why it could not load.
    let shelves = move || {
        [
            sized(recent.get()),
            sized(added.get()),
            sized(playlists.list.get()),
        ]
    };
    // Nothing played, no playlist and an empty catalog: a new server's first user.
    let empty = move || shelves().iter().all(|s| matches!(s, Some(Ok(0))));
    view! {
        <section class="page home">
            <header class="page-head">
                <h1>"Home"</h1>
            </header>
            <nav class="quick" aria-label="Your library">
                <A href="/library" attr:class="quick-tile">"All songs"</A>
                <A href="/liked" attr:class="quick-tile">"Liked Songs"</A>
                <A href="/albums" attr:class="quick-tile">"Albums"</A>
                <A href="/artists" attr:class="quick-tile">"Artists"</A>
            </nav>
            <Transition fallback=|| ()>
                // A shelf that could not load says so (the others still show).
                {move || shelves().into_iter().flatten().find_map(Result::err).map(|e| view! {
                    <p class="form-error" role="alert" data-testid="home-error">
                        "Some of Home could not load: " {e}
                    </p>
                })}
                {move || empty().then(|| view! {
                    <div class="empty" data-testid="home-empty">
                        <p class="empty-title">"Nothing to play yet"</p>
                        <p class="muted">"Upload files, paste a link or find music on YouTube in your library."</p>
                        <p><A href="/library" attr:class="btn primary">"Add music"</A></p>
                    </div>
                })}
                {move || recent.get().and_then(|r| r.ok()).filter(|t| !t.is_empty()).map(|t| view! {
                    <RecentlyPlayed tracks=t/>
                })}
                {move || playlists.list.get().and_then(|r| r.ok()).filter(|p| !p.is_empty()).map(|p| view! {
                    <section class="shelf" aria-labelledby="playlists-h">
                        <h2 id="playlists-h">"Your playlists"</h2>
                        <crate::playlists::widgets::PlaylistGrid playlists=p/>
                    </section>
                })}
                {move || added.get().and_then(|r| r.ok()).filter(|a| !a.is_empty()).map(|a| view! {
                    <section class="shelf" aria-labelledby="added-h">
                        <h2 id="added-h">"Recently added"</h2>
                        <crate::browse::AlbumGrid albums=a/>
                    </section>
                })}
            </Transition>
        </section>
    }
}

/// A shelf's length once its resource has loaded, or its error as text.
fn sized<T>(r: Option<Result<Vec<T>, crate::error::AppError>>) -> Option<Result<usize, String>> {
    r.map(|r| r.map(|v| v.len()).map_err(|e| e.to_string()))
}

/// A row of cards: what the user played last; a card plays its track, then the rest of
/// the row.
#[component]
fn RecentlyPlayed(tracks: Vec<TrackItem>) -> impl IntoView {
    let player = expect_context::<PlayerCtx>();
    let refs: Vec<TrackRef> = tracks.iter().map(TrackItem::to_ref).collect();
    view! {
        <section class="shelf" aria-labelledby="recent-h">
            <h2 id="recent-h">"Recently played"</h2>
            <ul class="shelf-row" data-testid="recently-played">
                {tracks.iter().enumerate().map(|(i, t)| {
                    let refs = refs.clone();
                    view! {
                        <li class="shelf-card">
                            <button class="shelf-play" aria-label=format!("Play {}", t.title)
                                on:click=move |_| player.play_list(refs.clone(), i)>
                                <Cover track_id=t.id.clone() has_cover=t.has_cover version=t.cover_v.clone() title=t.title.clone()/>
                                <span class="shelf-title">{t.title.clone()}</span>
                                <span class="shelf-artist muted">{t.artist.clone()}</span>
                            </button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}
