//! The search page: one box, results as you type, grouped into artists, albums and
//! tracks. The query lives in the URL (`/search?q=…`), so results can be reloaded,
//! shared and work without JavaScript (the box is a plain GET form).

use crate::browse::AlbumGrid;
use crate::browse::ArtistGrid;
use crate::error::AppError;
use crate::model::AlbumItem;
use crate::model::ArtistItem;
use crate::model::TrackItem;
use crate::playlists::widgets::PlaylistGrid;
use crate::playlists::widgets::PlaylistItem;
use crate::tracks::TrackTable;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};
use server_fn::codec::Postcard;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchView {
    pub tracks: Vec<TrackItem>,
    pub albums: Vec<AlbumItem>,
    pub artists: Vec<ArtistItem>,
    pub playlists: Vec<PlaylistItem>,
}

impl SearchView {
    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
            && self.albums.is_empty()
            && self.artists.is_empty()
            && self.playlists.is_empty()
    }
}

#[server(output = Postcard)]
pub async fn search(q: String) -> Result<SearchView, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let r = backend::search::search(&core, &user, &q).await?;
    Ok(SearchView {
        tracks: crate::model::track_items(&user, r.tracks),
        albums: r.albums.into_iter().map(crate::model::album_item).collect(),
        artists: r
            .artists
            .into_iter()
            .map(crate::model::artist_item)
            .collect(),
        playlists: r
            .playlists
            .into_iter()
            .map(|p| crate::playlists::widgets::playlist_item(&user, p))
            .collect(),
    })
}

/// Percent-encodes a query string value.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[component]
pub fn SearchPage() -> impl IntoView {
    let query = use_query_map();
    let q = Memo::new(move |_| query.with(|m| m.get("q").unwrap_or_default()));
    let results = crate::wire::resource(
        move || q.get(),
        |q| async move {
            if q.trim().is_empty() {
                Ok(SearchView::default())
            } else {
                search(q).await
            }
        },
    );
    let text = RwSignal::new(q.get_untracked());
    let input = NodeRef::<leptos::html::Input>::new();

    // As you type: the URL follows the box after a short pause (replacing, so Back leaves
    // the search rather than stepping through every letter).
    #[cfg(feature = "hydrate")]
    let on_input = {
        let navigate = leptos_router::hooks::use_navigate();
        let pending = StoredValue::new(None::<TimeoutHandle>);
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            text.set(v.clone());
            if let Some(h) = pending.get_value() {
                h.clear();
            }
            let navigate = navigate.clone();
            let h = set_timeout_with_handle(
                move || {
                    let url = if v.trim().is_empty() {
                        "/search".to_string()
                    } else {
                        format!("/search?q={}", encode(&v))
                    };
                    navigate(
                        &url,
                        leptos_router::NavigateOptions {
                            replace: true,
                            scroll: false,
                            ..Default::default()
                        },
                    );
                },
                std::time::Duration::from_millis(150),
            );
            pending.set_value(h.ok());
        }
    };
    #[cfg(not(feature = "hydrate"))]
    let on_input = move |ev: leptos::ev::Event| text.set(event_target_value(&ev));

    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
        }
    });

    view! {
        <leptos_meta::Title text="Search"/>
        <section class="page">
            <form class="search-form" action="/search" method="get" role="search"
                on:submit=|ev| ev.prevent_default()>
                <label class="visually-hidden" for="search-box">"Search"</label>
                <input id="search-box" node_ref=input class="search-box" type="search" name="q"
                    placeholder="What do you want to listen to?" autocomplete="off"
                    spellcheck="false" maxlength="200" data-testid="search-box"
                    prop:value=move || text.get() on:input=on_input/>
            </form>
            <Transition fallback=|| view! { <p class="muted">"Searching…"</p> }>
                {move || results.get().map(|r| match r {
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(_) if q.get().trim().is_empty() => view! {
                        <div class="empty" data-testid="search-prompt">
                            <p class="empty-title">"Search your music"</p>
                            <p class="muted">"Songs, albums, artists and playlists, as you type. A typo is fine."</p>
                        </div>
                    }.into_any(),
                    Ok(v) if v.is_empty() => view! {
                        <div class="empty" data-testid="search-empty">
                            <p class="empty-title">{format!("No results for “{}”", q.get())}</p>
                            <p class="muted">"Check the spelling, or try fewer or shorter words."</p>
                        </div>
                    }.into_any(),
                    Ok(v) => view! { <Results v on_changed=Callback::new(move |_| results.refetch())/> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Results(v: SearchView, on_changed: Callback<()>) -> impl IntoView {
    view! {
        <div data-testid="search-results">
            {(!v.artists.is_empty()).then(|| view! {
                <h2>"Artists"</h2>
                <ArtistGrid artists=v.artists.clone()/>
            })}
            {(!v.albums.is_empty()).then(|| view! {
                <h2>"Albums"</h2>
                <AlbumGrid albums=v.albums.clone()/>
            })}
            {(!v.playlists.is_empty()).then(|| view! {
                <h2>"Playlists"</h2>
                <PlaylistGrid playlists=v.playlists.clone()/>
            })}
            {(!v.tracks.is_empty()).then(|| view! {
                <h2>"Songs"</h2>
                <TrackTable tracks=v.tracks.clone() on_deleted=on_changed/>
            })}
        </div>
    }
}
