//! Playlists: the sidebar list, the playlist page (edit, reorder by drag and drop, share,
//! copy) and "Add to playlist" in every track's menu.

use crate::ui::page_error::PageError;
pub mod widgets;

use crate::error::AppError;
use crate::model::TrackItem;
use crate::model::TrackRef;
use crate::player::state::PlayerCtx;
use crate::tracks::TrackMenu;
use crate::ui::cover::Cover;
use crate::ui::format::fmt_time;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use serde::{Deserialize, Serialize};
use server_fn::codec::Postcard;
#[cfg(feature = "ssr")]
use widgets::playlist_item;
use widgets::{
    AddToPlaylist, CreatePlaylist, PlaylistGrid, PlaylistItem, PlaylistsCtx, TRACK_DRAG_TYPE,
    byline, carries_track, drag_track,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaylistEntry {
    pub entry_id: String,
    pub track: TrackItem,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaylistPageData {
    pub playlist: PlaylistItem,
    pub entries: Vec<PlaylistEntry>,
    pub can_edit: bool,
}

#[server(output = Postcard)]
pub async fn update_playlist(
    id: String,
    name: String,
    description: String,
    public: bool,
) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::playlists::update(&core, &user, &id, &name, &description, public).await?)
}

#[server(output = Postcard)]
pub async fn delete_playlist(id: String) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::playlists::delete(&core, &user, &id).await?)
}

#[server(output = Postcard)]
pub async fn get_playlist(id: String) -> Result<PlaylistPageData, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let page = backend::playlists::get(&core, &user, &id).await?;
    let (ids, tracks): (Vec<String>, Vec<_>) = page
        .entries
        .into_iter()
        .map(|e| (e.entry_id, e.track))
        .unzip();
    let tracks = crate::model::track_items(&user, tracks);
    Ok(PlaylistPageData {
        playlist: playlist_item(&user, page.playlist),
        entries: ids
            .into_iter()
            .zip(tracks)
            .map(|(entry_id, track)| PlaylistEntry { entry_id, track })
            .collect(),
        can_edit: page.can_edit,
    })
}

#[server(output = Postcard)]
pub async fn remove_from_playlist(id: String, entry_id: String) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::playlists::remove_entry(&core, &user, &id, &entry_id).await?)
}

#[server(output = Postcard)]
pub async fn move_in_playlist(id: String, entry_id: String, to: i64) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::playlists::move_entry(&core, &user, &id, &entry_id, to).await?)
}

#[server(output = Postcard)]
pub async fn copy_playlist(id: String) -> Result<PlaylistItem, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let p = backend::playlists::copy(&core, &user, &id).await?;
    Ok(playlist_item(&user, p))
}

/// A button that creates a playlist ("My Playlist #n") and opens it; a plain form
/// without the WASM. `labelled` shows "New playlist" beside the icon.
#[component]
pub fn NewPlaylist(#[prop(optional)] labelled: bool) -> impl IntoView {
    let ctx = expect_context::<PlaylistsCtx>();
    let create = ServerAction::<CreatePlaylist>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(p)) = create.value().get() {
            ctx.refresh();
            navigate(&format!("/playlists/{}", p.id), Default::default());
        }
    });
    let next_name = move || {
        let n = ctx.list.get().and_then(|r| r.ok()).map_or(0, |l| l.len());
        format!("My Playlist #{}", n + 1)
    };
    view! {
        {crate::wire::post_form(
            create,
            move || CreatePlaylist { name: next_name(), description: String::new(), public: false },
            view! {
                <input type="hidden" name="name" prop:value=next_name/>
                <input type="hidden" name="description" value=""/>
                <input type="hidden" name="public" value="false"/>
                {if labelled {
                    view! {
                        <button type="submit" class="btn primary" data-testid="new-playlist-page">
                            {crate::icons::plus()}"New playlist"</button>
                    }.into_any()
                } else {
                    view! {
                        <button type="submit" class="icon-round" data-testid="new-playlist"
                            aria-label="New playlist" title="New playlist">{crate::icons::plus()}</button>
                    }.into_any()
                }}
            },
        )}
        {move || create.value().get().and_then(|r| r.err()).map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })}
    }
}

/// Your playlists as covers (the phone's Playlists tab; the sidebar lists them on wider
/// screens).
#[component]
pub fn PlaylistsPage() -> impl IntoView {
    let ctx = expect_context::<PlaylistsCtx>();
    view! {
        <leptos_meta::Title text="Your playlists"/>
        <section class="page">
            <header class="page-head list-head">
                <h1>"Your playlists"</h1>
                <NewPlaylist labelled=true/>
            </header>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || ctx.list.get().map(|r| match r {
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <div class="empty" data-testid="playlists-empty">
                            <p class="empty-title">"No playlists yet"</p>
                            <p class="muted">"Make one here, or pick “Add to playlist” in any track’s ⋯ menu."</p>
                        </div>
                    }.into_any(),
                    Ok(list) => view! { <PlaylistGrid playlists=list/> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// The sidebar's "Playlists" section: a button that creates one, then the list.
#[component]
pub fn SidebarPlaylists() -> impl IntoView {
    let ctx = expect_context::<PlaylistsCtx>();
    // Tracks dragged from any list onto a playlist here are added to it.
    let over = RwSignal::new(None::<String>);
    let dropped = ServerAction::<AddToPlaylist>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = dropped.value().get() {
            ctx.refresh();
        }
    });
    view! {
        <div class="sidebar-playlists">
            <div class="sidebar-head">
                <span class="muted">"Playlists"</span>
                <NewPlaylist/>
            </div>
            // No Transition of its own: this sits in the layout's sidebar Transition, which
            // waits for the list too (a Transition re-created on each of that one's
            // server-side re-runs would shift the ids hydration matches data by).
            <ul class="playlist-links" data-testid="sidebar-playlists">
                    {move || ctx.list.get().and_then(|r| r.ok()).map(|list| list.into_iter().map(|p| {
                        let (over_id, drop_id, id) = (p.id.clone(), p.id.clone(), p.id.clone());
                        let is_over = move || over.with(|o| o.as_deref() == Some(id.as_str()));
                        view! {
                            <li class:drop-target=is_over
                                on:dragover=move |ev| if carries_track(&ev) {
                                    ev.prevent_default();
                                    if let Some(dt) = ev.data_transfer() { dt.set_drop_effect("copy") }
                                    over.set(Some(over_id.clone()));
                                }
                                on:dragleave=move |_| over.set(None)
                                on:drop=move |ev| {
                                    ev.prevent_default();
                                    over.set(None);
                                    let track = ev.data_transfer().and_then(|dt| dt.get_data(TRACK_DRAG_TYPE).ok());
                                    if let Some(track) = track.filter(|t| !t.is_empty()) {
                                        dropped.dispatch(AddToPlaylist { id: drop_id.clone(), track_ids: vec![track] });
                                    }
                                }>
                                <A href=format!("/playlists/{}", p.id)>{p.name}</A>
                            </li>
                        }
                    }).collect_view())}
                </ul>
                {move || dropped.value().get().map(|r| match r {
                    Ok(()) => view! { <p class="muted drop-note" role="status" data-testid="drop-note">"Added to the playlist."</p> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                })}
        </div>
    }
}

#[component]
pub fn PlaylistPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let version = RwSignal::new(0u32);
    let data = crate::wire::resource(
        move || (id.get(), version.get()),
        |(id, _)| get_playlist(id),
    );
    let reload = Callback::new(move |_| version.update(|n| *n += 1));
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading playlist…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <PageError error=e/> }.into_any(),
                Ok(d) => view! { <PlaylistView d reload/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn PlaylistView(d: PlaylistPageData, reload: Callback<()>) -> impl IntoView {
    let player = expect_context::<PlayerCtx>();
    let ctx = expect_context::<PlaylistsCtx>();
    let p = d.playlist.clone();
    let refs: Vec<TrackRef> = d.entries.iter().map(|e| e.track.to_ref()).collect();
    let shuffled = refs.clone();
    let empty = refs.is_empty();
    let editing = RwSignal::new(false);
    let update = ServerAction::<UpdatePlaylist>::new();
    let delete = ServerAction::<DeletePlaylist>::new();
    let copy = ServerAction::<CopyPlaylist>::new();
    let navigate = use_navigate();
    let nav = navigate.clone();
    Effect::new(move |_| {
        if let Some(Ok(())) = update.value().get() {
            editing.set(false);
            ctx.refresh();
            reload.run(());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            ctx.refresh();
            nav("/", Default::default());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(c)) = copy.value().get() {
            ctx.refresh();
            navigate(&format!("/playlists/{}", c.id), Default::default());
        }
    });
    let total = p.duration_ms;
    // The absolute link is only known in the browser (the server may sit behind a proxy).
    let share_path = format!("/playlists/{}", p.id);
    let share = RwSignal::new(share_path.clone());
    Effect::new(move |_| share.set(share_url(&share_path)));
    let (id_del, id_copy, name_del) = (p.id.clone(), p.id.clone(), p.name.clone());
    let edit_p = p.clone();
    // A downloaded playlist that changed (here or elsewhere) brings its download up to
    // date, once per visit (a track not ready yet must not make it loop).
    let downloads = expect_context::<crate::offline::DownloadsCtx>();
    let download_key = format!("playlist:{}", p.id);
    let listed: Vec<String> = {
        let mut seen = std::collections::HashSet::new();
        d.entries
            .iter()
            .map(|e| e.track.id.clone())
            .filter(|id| seen.insert(id.clone()))
            .collect()
    };
    let checked = StoredValue::new(false);
    Effect::new({
        let key = download_key.clone();
        move |_| {
            if checked.get_value() || !downloads.loaded.get() {
                return;
            }
            checked.set_value(true);
            if downloads
                .summary(&key)
                .is_some_and(|s| s.stored.track_ids != listed)
            {
                downloads.download(key.clone());
            }
        }
    });
    view! {
        <leptos_meta::Title text=p.name.clone()/>
        <section class="page">
            <header class="hero">
                <span class="album-cover big">
                    <Cover track_id=p.cover_track_id.clone().unwrap_or_default()
                        has_cover=p.cover_track_id.is_some() version=p.cover_v.clone() title=p.name.clone() size=320/>
                </span>
                <div class="hero-text">
                    <span class="eyebrow muted">{if p.public { "Public playlist" } else { "Private playlist" }}</span>
                    <h1 data-testid="playlist-name">{p.name.clone()}</h1>
                    {(!p.description.is_empty()).then(|| view! { <p class="muted description">{p.description.clone()}</p> })}
                    <p class="muted">{format!("{} · {}", byline(&p), fmt_time(total as f64 / 1000.0))}</p>
                    <div class="hero-actions">
                        <button class="btn primary" data-testid="play-playlist" disabled=empty
                            on:click=move |_| player.play_list(refs.clone(), 0)>"▶ Play"</button>
                        <button class="btn" disabled=empty
                            on:click=move |_| player.play_shuffled(shuffled.clone())>{crate::icons::shuffle()}" Shuffle"</button>
                        {(!empty).then(|| view! { <crate::downloads::DownloadButton key=download_key/> })}
                        {d.can_edit.then(|| view! {
                            <button class="btn" data-testid="edit-playlist" on:click=move |_| editing.set(true)>"Edit"</button>
                            <button class="btn danger" data-testid="delete-playlist" on:click=move |_| {
                                if crate::ui::dom::confirm(&format!("Delete the playlist “{name_del}”? Its songs stay in your library.")) {
                                    delete.dispatch(DeletePlaylist { id: id_del.clone() });
                                }
                            }>"Delete"</button>
                        })}
                        {(!d.can_edit).then(|| view! {
                            <button class="btn" data-testid="copy-playlist"
                                on:click=move |_| { copy.dispatch(CopyPlaylist { id: id_copy.clone() }); }>"Save a copy"</button>
                        })}
                    </div>
                    {(d.can_edit && p.public).then(|| view! {
                        <p class="share muted">"Share link: "
                            <input class="share-link" readonly data-testid="share-link" aria-label="Share link"
                                value=move || share.get()
                                on:focus=|ev| select_all(&ev)/>
                        </p>
                    })}
                    {move || update.value().get().and_then(|r| r.err())
                        .or_else(|| delete.value().get().and_then(|r| r.err()))
                        .or_else(|| copy.value().get().and_then(|r| r.err()))
                        .map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })}
                </div>
            </header>
            <Show when=move || editing.get()>
                <EditPlaylist p=edit_p.clone() update editing/>
            </Show>
            {if d.entries.is_empty() {
                view! {
                    <div class="empty" data-testid="playlist-empty">
                        <p class="empty-title">"This playlist is empty"</p>
                        <p class="muted">{if d.can_edit {
                            "Add songs with “Add to playlist” in any track’s ⋯ menu."
                        } else {
                            "Nothing in it that you can play yet."
                        }}</p>
                    </div>
                }.into_any()
            } else {
                view! { <PlaylistTracks id=p.id.clone() entries=d.entries.clone() can_edit=d.can_edit reload/> }.into_any()
            }}
        </section>
    }
}

fn share_url(path: &str) -> String {
    #[cfg(feature = "hydrate")]
    if let Some(origin) = web_sys::window().and_then(|w| w.location().origin().ok()) {
        return format!("{origin}{path}");
    }
    path.to_string()
}

fn select_all(_ev: &leptos::ev::FocusEvent) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(input) = _ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        {
            input.select();
        }
    }
}

#[component]
fn EditPlaylist(
    p: PlaylistItem,
    update: ServerAction<UpdatePlaylist>,
    editing: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <div class="overlay" on:click=move |_| editing.set(false)>
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="edit-h"
                on:click=|ev| ev.stop_propagation()>
                <h2 id="edit-h">"Edit playlist"</h2>
                <ActionForm action=update attr:class="stack-form">
                    <input type="hidden" name="id" value=p.id.clone()/>
                    <label>"Name"
                        <input name="name" required maxlength="100" value=p.name.clone() data-testid="playlist-name-input"/>
                    </label>
                    <label>"Description"
                        <textarea name="description" maxlength="1000" rows="3">{p.description.clone()}</textarea>
                    </label>
                    <label>"Who can open it"
                        <select name="public" data-testid="playlist-public">
                            <option value="false" selected=!p.public>"Only you (private)"</option>
                            <option value="true" selected=p.public>"Anyone with the link can play and copy it"</option>
                        </select>
                    </label>
                    <p class="hint">"Only you can change it, either way."</p>
                    <div class="hero-actions">
                        <button type="submit" class="btn primary" data-testid="save-playlist">"Save"</button>
                        <button type="button" class="btn ghost" on:click=move |_| editing.set(false)>"Cancel"</button>
                    </div>
                </ActionForm>
            </div>
        </div>
    }
}

/// A playlist's tracks; its owner reorders them by drag and drop (or ↑/↓) and removes them.
#[component]
fn PlaylistTracks(
    id: String,
    entries: Vec<PlaylistEntry>,
    can_edit: bool,
    reload: Callback<()>,
) -> impl IntoView {
    let player = expect_context::<PlayerCtx>();
    let downloads = expect_context::<crate::offline::DownloadsCtx>();
    let refs: StoredValue<Vec<TrackRef>> =
        StoredValue::new(entries.iter().map(|e| e.track.to_ref()).collect());
    let len = entries.len();
    let habits = crate::selection::RowHabits {
        sel: crate::selection::Selection::over(RwSignal::new(Vec::new())),
        order: StoredValue::new(entries.iter().map(|e| e.track.id.clone()).collect()),
    };
    let moved = ServerAction::<MoveInPlaylist>::new();
    let removed = ServerAction::<RemoveFromPlaylist>::new();
    Effect::new(move |_| {
        if matches!(moved.value().get(), Some(Ok(())))
            || matches!(removed.value().get(), Some(Ok(())))
        {
            reload.run(());
        }
    });
    let dragging = RwSignal::new(None::<(usize, String)>);
    let id = StoredValue::new(id);
    let move_to = move |entry_id: String, to: usize| {
        moved.dispatch(MoveInPlaylist {
            id: id.get_value(),
            entry_id,
            to: to as i64,
        });
    };
    view! {
        <crate::selection::SelectionBar sel=habits.sel tracks=refs editable=StoredValue::new(Vec::new())
            on_edited=reload/>
        <div class="track-table" role="table" aria-label="Playlist tracks" data-testid="playlist-tracks"
            aria-multiselectable="true">
            {move || moved.value().get().and_then(|r| r.err())
                .or_else(|| removed.value().get().and_then(|r| r.err()))
                .map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })}
            {entries.into_iter().enumerate().map(|(i, e)| {
                let t = e.track.clone();
                let entry = e.entry_id;
                let (up, down, rm, drag) = (entry.clone(), entry.clone(), entry.clone(), entry);
                let current = {
                    let tid = t.id.clone();
                    move || player.current.get().is_some_and(|c| c.id == tid)
                };
                let title = t.title.clone();
                let menu_ref = t.to_ref();
                let menu_at = RwSignal::new(None::<(i32, i32)>);
                let (drag_id, drag_title) = (t.id.clone(), t.title.clone());
                let play = move || player.play_list(refs.get_value(), i);
                let (sel_id, check_id, set_id) = (t.id.clone(), t.id.clone(), t.id.clone());
                let selected = move || habits.sel.contains(&sel_id);
                let (stored_id, away_id) = (t.id.clone(), t.id.clone());
                view! {
                    <div class="track-row" role="row" class:current=current data-track=t.id.clone()
                        tabindex="0" class:selected=selected.clone() aria-selected=move || selected().to_string()
                        on:click=move |ev| habits.click(&ev, i, play)
                        on:dblclick=move |ev| habits.double_click(&ev, play)
                        on:keydown=move |ev| habits.key(&ev, play)
                        on:contextmenu=move |ev| habits.context_menu(&ev, menu_at)
                        class:unavailable=move || !downloads.online.get() && !downloads.is_stored(&away_id)
                        data-testid="playlist-row" class:editable=can_edit
                        draggable=can_edit.then_some("true")
                        class:dragging=move || dragging.with(|d| d.as_ref().is_some_and(|(j, _)| *j == i))
                        on:dragstart=move |ev| {
                            dragging.set(Some((i, drag.clone())));
                            if let Some(dt) = ev.data_transfer() {
                                let _ = dt.set_data("text/plain", &i.to_string());
                            }
                            drag_track(&ev, &drag_id, &drag_title);
                        }
                        on:dragover=move |ev| if can_edit { ev.prevent_default() }
                        on:drop=move |ev| {
                            ev.prevent_default();
                            if let Some((from, entry)) = dragging.get_untracked() && from != i {
                                move_to(entry, i);
                            }
                            dragging.set(None);
                        }
                        on:dragend=move |_| dragging.set(None)>
                        <span class="cover-cell">
                            <input type="checkbox" class="row-select" aria-label=format!("Select {}", t.title)
                                prop:checked=move || habits.sel.contains(&check_id)
                                on:change=move |ev| habits.sel.set(&set_id, event_target_checked(&ev), i)/>
                            <Cover track_id=t.id.clone() has_cover=t.has_cover version=t.cover_v.clone() title=t.title.clone()/>
                            <button class="play-btn" aria-label=format!("Play {}", t.title)
                                on:click=move |_| play()>"▶"</button>
                        </span>
                        <span class="title-cell">
                            <span class="track-title">{t.title.clone()}</span>
                            <span class="track-sub">
                                <crate::downloads::OfflineMark stored=Signal::derive(move || downloads.is_stored(&stored_id))/>
                                <A href=format!("/artists/{}", t.artist_id) attr:class="track-artist muted">{t.artist.clone()}</A>
                            </span>
                        </span>
                        <span class="col-album muted">{t.album.clone().unwrap_or_default()}</span>
                        <span class="col-plays muted">{t.plays}</span>
                        <span class="col-dur muted">{fmt_time(t.duration_ms as f64 / 1000.0)}</span>
                        <span class="col-actions">
                            <TrackMenu track=menu_ref at=menu_at
                                artist_id=Some(t.artist_id.clone()) album_id=t.album_id.clone()/>
                            {can_edit.then(|| view! {
                                <button class="icon-btn" aria-label=format!("Move {title} up") disabled={i == 0}
                                    on:click=move |_| move_to(up.clone(), i.saturating_sub(1))>"↑"</button>
                                <button class="icon-btn" aria-label=format!("Move {title} down") disabled={i + 1 >= len}
                                    on:click=move |_| move_to(down.clone(), i + 1)>"↓"</button>
                                <button class="icon-btn" aria-label=format!("Remove {title} from this playlist")
                                    on:click=move |_| { removed.dispatch(RemoveFromPlaylist { id: id.get_value(), entry_id: rm.clone() }); }>"✕"</button>
                            })}
                        </span>
                    </div>
                }
            }).collect_view()}
        </div>
    }
}
