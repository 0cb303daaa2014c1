//! The playlist pieces other features show: the "Add to playlist" menu, the grid of
//! playlists, the signed-in user's list (shared by the sidebar and the menus), the drag
//! of a track onto a playlist, and the server functions they call.

use crate::error::AppError;
use crate::ui::cover::Cover;
use crate::ui::format::n_tracks;
use leptos::prelude::*;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};
use server_fn::codec::Postcard;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaylistItem {
    pub id: String,
    pub name: String,
    pub description: String,
    pub public: bool,
    /// The owner's display name (never an email); None for your own or when unset.
    pub owner_name: Option<String>,
    pub mine: bool,
    pub tracks: i64,
    pub duration_ms: i64,
    pub cover_track_id: Option<String>,
    #[serde(default)]
    pub cover_v: String,
}

#[cfg(feature = "ssr")]
pub(crate) fn playlist_item(
    user: &backend::auth::CurrentUser,
    p: backend::playlists::PlaylistView,
) -> PlaylistItem {
    let mine = p.owner_id == user.id;
    PlaylistItem {
        id: p.id,
        name: p.name,
        description: p.description,
        public: p.public,
        owner_name: if mine { None } else { p.owner_name },
        mine,
        tracks: p.tracks,
        duration_ms: p.duration_ms,
        cover_track_id: p.cover_track_id,
        cover_v: p.cover_v,
    }
}

#[server(output = Postcard, endpoint = "list_playlists5803117044278056979")]
pub async fn list_playlists() -> Result<Vec<PlaylistItem>, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let list = backend::playlists::list_mine(&core, &user).await?;
    Ok(list.into_iter().map(|p| playlist_item(&user, p)).collect())
}

#[server(output = Postcard, endpoint = "create_playlist5803117044278056979")]
pub async fn create_playlist(
    name: String,
    description: String,
    public: bool,
) -> Result<PlaylistItem, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let p = backend::playlists::create(&core, &user, &name, &description, public).await?;
    Ok(playlist_item(&user, p))
}

#[server(input = Postcard, output = Postcard, endpoint = "add_to_playlist5803117044278056979")]
pub async fn add_to_playlist(id: String, track_ids: Vec<String>) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::playlists::add_tracks(&core, &user, &id, &track_ids).await?)
}

/// The signed-in user's playlists, shared by the sidebar and the track menus.
#[derive(Clone, Copy)]
pub struct PlaylistsCtx {
    pub list: crate::wire::Res<Result<Vec<PlaylistItem>, AppError>>,
    version: RwSignal<u32>,
}

impl PlaylistsCtx {
    pub fn provide() -> Self {
        let version = RwSignal::new(0u32);
        let ctx = PlaylistsCtx {
            list: crate::wire::resource(move || version.get(), |_| list_playlists()),
            version,
        };
        provide_context(ctx);
        ctx
    }

    pub fn refresh(&self) {
        self.version.update(|n| *n += 1);
    }
}

/// The drag data type of a track dragged from a list: its id.
pub const TRACK_DRAG_TYPE: &str = "application/x-refrain-track";

/// Puts track `id` into a drag (rows of every list do this), so a playlist in the sidebar
/// can take it.
pub fn drag_track(ev: &web_sys::DragEvent, id: &str, title: &str) {
    if let Some(dt) = ev.data_transfer() {
        let _ = dt.set_data(TRACK_DRAG_TYPE, id);
        if dt.get_data("text/plain").unwrap_or_default().is_empty() {
            let _ = dt.set_data("text/plain", title);
        }
        dt.set_effect_allowed("copyMove");
    }
}

/// Whether a drag carries a track.
pub fn carries_track(ev: &web_sys::DragEvent) -> bool {
    ev.data_transfer()
        .is_some_and(|dt| dt.types().includes(&TRACK_DRAG_TYPE.into(), 0))
}

/// "Add to playlist" entries for a track's menu (or the selection bar's): each of your
/// playlists, and a new one; the tracks go in the order given.
#[component]
pub fn AddToPlaylist(track_ids: Vec<String>, on_done: Callback<()>) -> impl IntoView {
    let ctx = expect_context::<PlaylistsCtx>();
    let add = ServerAction::<AddToPlaylist>::new();
    let create = ServerAction::<CreatePlaylist>::new();
    let pending = StoredValue::new(track_ids);
    // A new playlist made from the menu gets the tracks once it exists.
    Effect::new(move |_| {
        if let Some(Ok(p)) = create.value().get() {
            add.dispatch(AddToPlaylist {
                id: p.id,
                track_ids: pending.get_value(),
            });
        }
    });
    // The menu closes once the tracks are in (closing it at the click would drop these
    // effects before a new playlist got its tracks, and hide an error).
    Effect::new(move |_| {
        if let Some(Ok(())) = add.value().get() {
            ctx.refresh();
            on_done.run(());
        }
    });
    let busy = move || add.pending().get() || create.pending().get();
    view! {
        <div class="menu-section" role="group" aria-label="Add to playlist" aria-busy=move || busy().to_string()>
            <span class="menu-label muted">"Add to playlist"</span>
            {move || ctx.list.get().and_then(|r| r.ok()).map(|list| {
                list.into_iter().map(|p| {
                    let id = p.id.clone();
                    view! {
                        <button role="menuitem" on:click=move |_| {
                            add.dispatch(AddToPlaylist { id: id.clone(), track_ids: pending.get_value() });
                        } disabled=busy>{p.name.clone()}</button>
                    }
                }).collect_view()
            })}
            <button role="menuitem" on:click=move |_| {
                let n = ctx.list.get_untracked().and_then(|r| r.ok()).map_or(0, |l| l.len());
                create.dispatch(CreatePlaylist { name: format!("My Playlist #{}", n + 1), description: String::new(), public: false });
            } disabled=busy>"New playlist…"</button>
            {move || add.value().get().and_then(|r| r.err())
                .or_else(|| create.value().get().and_then(|r| r.err()))
                .map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })}
        </div>
    }
}

/// Playlists as a grid of covers, each linking to its page.
#[component]
pub fn PlaylistGrid(playlists: Vec<PlaylistItem>) -> impl IntoView {
    view! {
        <ul class="card-grid" data-testid="playlist-grid">
            {playlists.into_iter().map(|p| view! {
                <li>
                    <A href=format!("/playlists/{}", p.id) attr:class="card">
                        <span class="album-cover">
                            <Cover track_id=p.cover_track_id.clone().unwrap_or_default()
                                has_cover=p.cover_track_id.is_some() version=p.cover_v.clone() title=p.name.clone() size=200/>
                        </span>
                        <span class="card-title">{p.name.clone()}</span>
                        <span class="card-sub muted">{byline(&p)}</span>
                    </A>
                </li>
            }).collect_view()}
        </ul>
    }
}

pub fn byline(p: &PlaylistItem) -> String {
    let who = if p.mine {
        "You".to_string()
    } else {
        p.owner_name
            .clone()
            .unwrap_or_else(|| "A Refrain listener".into())
    };
    format!("{who} · {}", n_tracks(p.tracks))
}
