//! The track table every list shows (library, album, artist, search, liked) and the menu
//! on each of its rows.

use crate::error::AppError;
use crate::model::TrackItem;
use crate::model::TrackRef;
use crate::player::api::SetLiked;
use crate::player::state::PlayerCtx;
use crate::selection::{RowHabits, Selection, SelectionBar};
use crate::ui::cover::Cover;
use crate::ui::dom::confirm;
use crate::ui::format::fmt_time;
use leptos::prelude::*;
use leptos_router::components::A;
use server_fn::codec::Postcard;

#[server(output = Postcard, endpoint = "delete_track2621321219171525520")]
pub async fn delete_track(track_id: String) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    backend::library::delete_track(&core, &user, &track_id).await?;
    // The confirm form on the track's page, posted without JavaScript: back to the library.
    if crate::ssr::plain_form_post() {
        leptos_axum::redirect("/library");
    }
    Ok(())
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
                        on:dragstart=move |ev| crate::playlists::widgets::drag_track(&ev, &drag_id, &drag_title)
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
            let (w, h) = crate::ui::dom::window_size();
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
                    <crate::playlists::widgets::AddToPlaylist track_ids=vec![id.clone()] on_done=Callback::new(move |_| close())/>
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
