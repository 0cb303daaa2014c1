//! Catalog editing pages: a track's details, an album (title, artist, year, cover, merge,
//! delete), an artist (rename, merge, delete), and the bar that sets one field on the
//! selected tracks. The domain ([`backend::catalog`]) checks who may change what.

// `save_track` takes each field of the form as an argument (what `ActionForm` posts); the
// `#[server]` macro does not carry an allow on the function to the code it generates.
#![allow(clippy::too_many_arguments)]

use crate::model::AlbumItem;
use crate::ui::cover::AlbumCover;
use crate::ui::dom::param;
use crate::ui::page_error::PageError;
pub mod bulk;

use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;
use serde::{Deserialize, Serialize};
use server_fn::codec::Postcard;

/// A track's fields as the edit form shows them (numbers as text: empty is none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackForm {
    pub id: String,
    pub title: String,
    pub artist: String,
    pub album: String,
    pub album_artist: String,
    pub track_no: String,
    pub disc_no: String,
    pub year: String,
    pub genre: String,
    pub album_id: Option<String>,
    /// From a music folder: a changed file's tags replace these on the next scan.
    pub from_folder: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlbumEditData {
    pub album: AlbumItem,
    /// Merging and artists are for admins.
    pub is_admin: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtistEditData {
    pub id: String,
    pub name: String,
    pub tracks: i64,
}

#[cfg(feature = "ssr")]
fn text(n: Option<i64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

#[cfg(feature = "ssr")]
fn number(what: &str, s: &str) -> Result<Option<i64>, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|_| AppError::Invalid(format!("The {what} must be a number.")))
}

#[server(output = Postcard)]
pub async fn get_track_form(id: String) -> Result<TrackForm, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let t = backend::catalog::track_for_edit(&core, &user, &id).await?;
    Ok(TrackForm {
        id: t.id,
        title: t.title,
        artist: t.artist,
        album: t.album.unwrap_or_default(),
        album_artist: t.album_artist.unwrap_or_default(),
        track_no: text(t.track_no),
        disc_no: text(t.disc_no),
        year: text(t.year),
        genre: t.genre.unwrap_or_default(),
        album_id: t.album_id,
        from_folder: t.from_folder,
    })
}

#[server(output = Postcard)]
pub async fn save_track(
    id: String,
    title: String,
    artist: String,
    album: String,
    album_artist: String,
    track_no: String,
    disc_no: String,
    year: String,
    genre: String,
) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let edit = backend::catalog::TrackEdit {
        title,
        artist,
        album: Some(album),
        album_artist: Some(album_artist),
        track_no: number("track number", &track_no)?,
        disc_no: number("disc number", &disc_no)?,
        year: number("year", &year)?,
        genre: Some(genre),
    };
    Ok(backend::catalog::edit_track(&core, &user, &id, edit).await?)
}

#[server(output = Postcard)]
pub async fn album_for_edit(id: String) -> Result<AlbumEditData, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    if !backend::catalog::may_edit_album(&core, &user, &id).await? {
        return Err(AppError::Forbidden);
    }
    let (album, _) = backend::library::album(&core, &user, &id).await?;
    Ok(AlbumEditData {
        album: crate::model::album_item(album),
        is_admin: user.role == backend::auth::Role::Admin,
    })
}

/// Saves an album's title, artist and year; the album's id afterwards (another one when
/// the new name merged it into an album of that artist).
#[server(output = Postcard)]
pub async fn save_album(
    id: String,
    title: String,
    artist: String,
    year: String,
) -> Result<String, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let edit = backend::catalog::AlbumEdit {
        title,
        artist,
        year: number("year", &year)?,
    };
    Ok(backend::catalog::edit_album(&core, &user, &id, edit).await?)
}

#[server(output = Postcard)]
pub async fn merge_album(from: String, into: String) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::catalog::merge_albums(&core, &user, &from, &into).await?)
}

#[server(output = Postcard)]
pub async fn delete_album(id: String) -> Result<usize, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::catalog::delete_album(&core, &user, &id).await?)
}

#[server(output = Postcard)]
pub async fn artist_for_edit(id: String) -> Result<ArtistEditData, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    if user.role != backend::auth::Role::Admin {
        // Refused like every other admin function: logged as a security event.
        backend::auth::audit::refused(&user.id, "admin function (not an admin)");
        return Err(AppError::Forbidden);
    }
    let (a, _, _) = backend::library::artist(&core, &user, &id).await?;
    Ok(ArtistEditData {
        id: a.id,
        name: a.name,
        tracks: a.tracks,
    })
}

/// Renames an artist; the artist's id afterwards (another one when the new name is
/// another artist's, whom this one is merged into).
#[server(output = Postcard)]
pub async fn rename_artist(id: String, name: String) -> Result<String, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::catalog::rename_artist(&core, &user, &id, &name).await?)
}

#[server(output = Postcard)]
pub async fn merge_artist(from: String, into: String) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::catalog::merge_artists(&core, &user, &from, &into).await?)
}

#[server(output = Postcard)]
pub async fn delete_artist(id: String) -> Result<usize, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::catalog::delete_artist(&core, &user, &id).await?)
}

fn status<T: 'static>(
    value: impl Fn() -> Option<Result<T, AppError>> + Send + Sync + 'static,
    ok: &'static str,
) -> impl IntoView {
    move || match value() {
        Some(Ok(_)) => Some(view! { <p class="form-ok" role="status">{ok}</p> }.into_any()),
        Some(Err(e)) => {
            Some(view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any())
        }
        None => None,
    }
}

/// `/tracks/:id/edit`: every field of a track.
#[component]
pub fn TrackEditPage() -> impl IntoView {
    let id = param("id");
    let data = crate::wire::resource(move || id.get(), get_track_form);
    let save = ServerAction::<SaveTrack>::new();
    let delete = ServerAction::<crate::tracks::DeleteTrack>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate("/library", Default::default());
        }
    });
    view! {
        <leptos_meta::Title text="Edit track"/>
        <section class="page narrow">
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <PageError error=e/> }.into_any(),
                    Ok(t) => {
                        let back = t.album_id.clone().map(|a| format!("/albums/{a}")).unwrap_or_else(|| "/library".into());
                        let (delete_id, delete_title) = (t.id.clone(), t.title.clone());
                        view! {
                            <header class="page-head"><h1>"Edit track"</h1></header>
                            {t.from_folder.then(|| view! {
                                <p class="hint">"This track comes from a music folder. If its file changes, the next scan reads its tags again."</p>
                            })}
                            <div class="edit-form" data-testid="track-form">
                                <ActionForm action=save>
                                    <input type="hidden" name="id" value=t.id.clone()/>
                                    <label>"Title" <input name="title" value=t.title required maxlength="300"/></label>
                                    <label>"Artist" <input name="artist" value=t.artist required maxlength="300"/></label>
                                    <label>"Album" <input name="album" value=t.album maxlength="300" placeholder="None"/></label>
                                    <label>"Album artist"
                                        <input name="album_artist" value=t.album_artist maxlength="300" placeholder="The track's artist"/>
                                    </label>
                                    <div class="form-row">
                                        <label>"Track" <input name="track_no" value=t.track_no inputmode="numeric" size="4"/></label>
                                        <label>"Disc" <input name="disc_no" value=t.disc_no inputmode="numeric" size="4"/></label>
                                        <label>"Year" <input name="year" value=t.year inputmode="numeric" size="6"/></label>
                                    </div>
                                    <label>"Genre" <input name="genre" value=t.genre maxlength="100"/></label>
                                    {status(move || save.value().get(), "Saved.")}
                                    <div class="form-actions">
                                        <button type="submit" class="btn primary" disabled=move || save.pending().get()>"Save"</button>
                                        <A href=back attr:class="btn ghost">"Back"</A>
                                    </div>
                                </ActionForm>
                            </div>
                            <DeleteTrackForm delete id=delete_id title=delete_title/>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

/// A track's delete, behind a box to tick: the confirm step the track list's ✕ leads to
/// when JavaScript is off (a plain form post; with JavaScript the list asks in a dialog).
#[component]
fn DeleteTrackForm(
    delete: ServerAction<crate::tracks::DeleteTrack>,
    id: String,
    title: String,
) -> impl IntoView {
    let track_id = StoredValue::new(id.clone());
    let form = crate::wire::post_form(
        delete,
        move || crate::tracks::DeleteTrack {
            track_id: track_id.get_value(),
        },
        view! {
            <input type="hidden" name="track_id" value=id/>
            <label class="check">
                <input type="checkbox" name="confirm" required/>
                {format!(" Delete “{title}” and its files. This cannot be undone.")}
            </label>
            {status(move || delete.value().get(), "Deleted.")}
            <div class="form-actions">
                <button type="submit" class="btn danger" data-testid="delete-track"
                    disabled=move || delete.pending().get()>"Delete track"</button>
            </div>
        },
    );
    view! {
        <h2 id="delete">"Delete"</h2>
        <div class="edit-form">{form}</div>
    }
}

/// `/albums/:id/edit`: title, artist, year and cover; merging and deleting.
#[component]
pub fn AlbumEditPage() -> impl IntoView {
    let id = param("id");
    let version = RwSignal::new(0u32);
    let data = crate::wire::resource(
        move || (id.get(), version.get()),
        |(id, _)| album_for_edit(id),
    );
    let save = ServerAction::<SaveAlbum>::new();
    let merge = ServerAction::<MergeAlbum>::new();
    let delete = ServerAction::<DeleteAlbum>::new();
    let navigate = use_navigate();
    let nav = navigate.clone();
    Effect::new(move |_| {
        // A rename that merged it into another album: show that one.
        if let Some(Ok(new_id)) = save.value().get()
            && new_id != id.get_untracked()
        {
            nav(&format!("/albums/{new_id}/edit"), Default::default());
        }
    });
    let nav = navigate.clone();
    Effect::new(move |_| {
        if let (Some(Ok(())), Some(into)) =
            (merge.value().get(), merge.input().get().map(|m| m.into))
        {
            nav(&format!("/albums/{into}"), Default::default());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = delete.value().get() {
            navigate("/albums", Default::default());
        }
    });
    view! {
        <leptos_meta::Title text="Edit album"/>
        <section class="page narrow">
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <PageError error=e/> }.into_any(),
                    Ok(d) => {
                        let a = d.album.clone();
                        let (album_id, title) = (a.id.clone(), a.title.clone());
                        let (form_id, form_title, form_artist) = (a.id.clone(), a.title.clone(), a.artist.clone());
                        let form_year = a.year.map(|y| y.to_string()).unwrap_or_default();
                        let back = format!("/albums/{}", a.id);
                        view! {
                            <header class="hero">
                                <AlbumCover album=a.clone() big=true/>
                                <div class="hero-text">
                                    <span class="eyebrow muted">"Edit album"</span>
                                    <h1>{a.title.clone()}</h1>
                                    <p class="muted">{a.artist.clone()}</p>
                                    <CoverUpload album_id=a.id.clone() on_done=Callback::new(move |_| version.update(|v| *v += 1))/>
                                </div>
                            </header>
                            <div class="edit-form" data-testid="album-form">
                                <ActionForm action=save>
                                    <input type="hidden" name="id" value=form_id/>
                                    <label>"Title" <input name="title" value=form_title required maxlength="300"/></label>
                                    <label>"Album artist" <input name="artist" value=form_artist required maxlength="300"/></label>
                                    <label>"Year" <input name="year" value=form_year inputmode="numeric" size="6"/></label>
                                    <p class="hint">"Renaming it to another album of the same artist merges the two."</p>
                                    {status(move || save.value().get(), "Saved.")}
                                    <div class="form-actions">
                                        <button type="submit" class="btn primary" disabled=move || save.pending().get()>"Save"</button>
                                        <A href=back attr:class="btn ghost">"Back to the album"</A>
                                    </div>
                                </ActionForm>
                            </div>
                            {d.is_admin.then(|| {
                                let from = a.id.clone();
                                view! {
                                    <h2>"Merge into another album"</h2>
                                    <p class="hint">"Its tracks, likes and playlist entries move to the album you pick, and this one is gone."</p>
                                    <MergePicker albums=true exclude=a.id.clone()
                                        on_pick=Callback::new(move |(into, name): (String, String)| {
                                            if crate::ui::dom::confirm(&format!("Merge this album into “{name}”?")) {
                                                merge.dispatch(MergeAlbum { from: from.clone(), into });
                                            }
                                        })/>
                                    {status(move || merge.value().get(), "Merged.")}
                                }
                            })}
                            <h2>"Delete"</h2>
                            <p class="hint">"Deletes the album with all its tracks and their files, for everyone."</p>
                            <button class="btn danger" data-testid="delete-album" disabled=move || delete.pending().get()
                                on:click=move |_| {
                                    if crate::ui::dom::confirm(&format!("Delete “{title}” and all its tracks?")) {
                                        delete.dispatch(DeleteAlbum { id: album_id.clone() });
                                    }
                                }>"Delete album"</button>
                            {status(move || delete.value().get(), "Deleted.")}
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

/// Uploads a new album cover (`POST /api/albums/:id/cover`).
#[component]
fn CoverUpload(album_id: String, on_done: Callback<()>) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let on_change = move |_ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            let Some(file) = crate::ui::dom::picked_file(&_ev) else {
                return;
            };
            busy.set(true);
            error.set(None);
            let url = format!("/api/albums/{album_id}/cover");
            leptos::task::spawn_local(async move {
                match crate::ui::dom::post_file(&url, file, "The picture was refused.").await {
                    Ok(_) => on_done.run(()),
                    Err(e) => error.set(Some(e)),
                }
                busy.set(false);
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&album_id, on_done);
    };
    view! {
        <div class="hero-actions">
            <label class="btn" class:disabled=move || busy.get()>
                {move || if busy.get() { "Uploading…" } else { "Change cover" }}
                <input type="file" accept="image/png,image/jpeg,image/webp,image/gif" class="visually-hidden"
                    data-testid="cover-input" on:change=on_change/>
            </label>
        </div>
        {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
        <p class="hint">"PNG, JPEG, WebP or GIF up to 20 MB; the centre square is used."</p>
    }
}

/// Finds an album or artist by name and offers each match as a merge target.
#[component]
fn MergePicker(
    albums: bool,
    exclude: String,
    on_pick: Callback<(String, String)>,
) -> impl IntoView {
    let query = RwSignal::new(String::new());
    let results = crate::wire::resource(
        move || query.get(),
        |q| async move {
            if q.trim().chars().count() < 2 {
                return Ok(None);
            }
            crate::search::search(q).await.map(Some)
        },
    );
    let exclude = StoredValue::new(exclude);
    view! {
        <div class="merge-picker">
            <input type="search" data-testid="merge-search" placeholder=if albums { "Find an album" } else { "Find an artist" }
                aria-label="Find the one to merge into"
                on:input=move |ev| query.set(event_target_value(&ev))/>
            <Transition fallback=|| ()>
                {move || results.get().map(|r| match r {
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    Ok(None) => ().into_any(),
                    Ok(Some(v)) => {
                        let picks: Vec<(String, String, String)> = if albums {
                            v.albums.into_iter().map(|a| (a.id, a.title, a.artist)).collect()
                        } else {
                            v.artists.into_iter().map(|a| (a.id, a.name, String::new())).collect()
                        };
                        let picks: Vec<_> = picks.into_iter().filter(|p| p.0 != exclude.get_value()).collect();
                        if picks.is_empty() {
                            return view! { <p class="muted">"Nothing found."</p> }.into_any();
                        }
                        view! {
                            <ul class="merge-results" data-testid="merge-results">
                                {picks.into_iter().map(|(id, name, sub)| {
                                    let label = name.clone();
                                    view! {
                                        <li>
                                            <span>{name.clone()} <span class="muted">{(!sub.is_empty()).then(|| format!(" · {sub}"))}</span></span>
                                            <button class="btn" on:click=move |_| on_pick.run((id.clone(), label.clone()))>"Merge into this"</button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }
                })}
            </Transition>
        </div>
    }
}

/// `/artists/:id/edit` (admins): rename, merge, delete.
#[component]
pub fn ArtistEditPage() -> impl IntoView {
    let id = param("id");
    let data = crate::wire::resource(move || id.get(), artist_for_edit);
    let rename = ServerAction::<RenameArtist>::new();
    let merge = ServerAction::<MergeArtist>::new();
    let delete = ServerAction::<DeleteArtist>::new();
    let navigate = use_navigate();
    let nav = navigate.clone();
    Effect::new(move |_| {
        if let Some(Ok(new_id)) = rename.value().get() {
            nav(&format!("/artists/{new_id}"), Default::default());
        }
    });
    let nav = navigate.clone();
    Effect::new(move |_| {
        if let (Some(Ok(())), Some(into)) =
            (merge.value().get(), merge.input().get().map(|m| m.into))
        {
            nav(&format!("/artists/{into}"), Default::default());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = delete.value().get() {
            navigate("/artists", Default::default());
        }
    });
    view! {
        <leptos_meta::Title text="Edit artist"/>
        <section class="page narrow">
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <PageError error=e/> }.into_any(),
                    Ok(a) => {
                        let (from, artist_id, name) = (a.id.clone(), a.id.clone(), a.name.clone());
                        let (form_id, form_name, back) = (a.id.clone(), a.name.clone(), format!("/artists/{}", a.id));
                        view! {
                            <header class="page-head">
                                <h1>"Edit artist"</h1>
                                <p class="muted">{format!("{} · {}", a.name, crate::ui::format::n_tracks(a.tracks))}</p>
                            </header>
                            <div class="edit-form" data-testid="artist-form">
                                <ActionForm action=rename>
                                    <input type="hidden" name="id" value=form_id/>
                                    <label>"Name" <input name="name" value=form_name required maxlength="300"/></label>
                                    <p class="hint">"Renaming them to another artist's name merges the two."</p>
                                    {status(move || rename.value().get(), "Saved.")}
                                    <div class="form-actions">
                                        <button type="submit" class="btn primary" disabled=move || rename.pending().get()>"Save"</button>
                                        <A href=back attr:class="btn ghost">"Back to the artist"</A>
                                    </div>
                                </ActionForm>
                            </div>
                            <h2>"Merge into another artist"</h2>
                            <p class="hint">"Their tracks and albums move to the artist you pick; albums with the same title become one."</p>
                            <MergePicker albums=false exclude=a.id.clone()
                                on_pick=Callback::new(move |(into, other): (String, String)| {
                                    if crate::ui::dom::confirm(&format!("Merge this artist into “{other}”?")) {
                                        merge.dispatch(MergeArtist { from: from.clone(), into });
                                    }
                                })/>
                            {status(move || merge.value().get(), "Merged.")}
                            <h2>"Delete"</h2>
                            <p class="hint">"Deletes the artist with every track and album credited to them, and their files, for everyone."</p>
                            <button class="btn danger" data-testid="delete-artist" disabled=move || delete.pending().get()
                                on:click=move |_| {
                                    if crate::ui::dom::confirm(&format!("Delete {name} and everything credited to them?")) {
                                        delete.dispatch(DeleteArtist { id: artist_id.clone() });
                                    }
                                }>"Delete artist"</button>
                            {status(move || delete.value().get(), "Deleted.")}
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}
