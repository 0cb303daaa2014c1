use super::repo::{self, TrackFields, TrackRow};
use crate::infra::actor::{CurrentUser, Role};
use crate::library::repo as lib;
use crate::{Core, Error, Result};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

/// Most tracks one bulk edit changes.
pub const MAX_BULK: usize = 500;
/// Largest album cover picture accepted (it is re-encoded, at most 1200 pixels a side).
pub const MAX_COVER_BYTES: usize = 20 * 1024 * 1024;
const COVER_SIDE: u32 = 1200;
const MAX_NAME: usize = 300;
const MAX_GENRE: usize = 100;

/// Every field of a track an edit sets (the edit form sends them all).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackEdit {
    pub title: String,
    pub artist: String,
    /// No album when empty.
    pub album: Option<String>,
    /// The album's artist when it is not the track's (a compilation); empty: the track's.
    pub album_artist: Option<String>,
    pub track_no: Option<i64>,
    pub disc_no: Option<i64>,
    pub year: Option<i64>,
    pub genre: Option<String>,
}

/// A field a bulk edit sets on every selected track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Field {
    Artist,
    Album,
    AlbumArtist,
    DiscNo,
    Year,
    Genre,
}

impl Field {
    pub fn parse(s: &str) -> Result<Field> {
        Ok(match s {
            "artist" => Field::Artist,
            "album" => Field::Album,
            "album_artist" => Field::AlbumArtist,
            "disc_no" => Field::DiscNo,
            "year" => Field::Year,
            "genre" => Field::Genre,
            _ => {
                return Err(Error::Invalid(format!(
                    "no field called {s:?} can be set on several tracks"
                )));
            }
        })
    }

    fn name(self) -> &'static str {
        match self {
            Field::Artist => "artist",
            Field::Album => "album",
            Field::AlbumArtist => "album artist",
            Field::DiscNo => "disc number",
            Field::Year => "year",
            Field::Genre => "genre",
        }
    }
}

/// What an album edit sets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlbumEdit {
    pub title: String,
    /// The album artist.
    pub artist: String,
    pub year: Option<i64>,
}

/// A name: trimmed, not empty, at most `max` characters, no control characters.
fn name(what: &str, s: &str, max: usize) -> Result<String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(Error::Invalid(format!("the {what} cannot be empty")));
    }
    optional_name(what, Some(s), max).map(|n| n.unwrap_or_default())
}

/// An optional name: empty means none.
fn optional_name(what: &str, s: Option<&str>, max: usize) -> Result<Option<String>> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if s.chars().count() > max {
        return Err(Error::Invalid(format!(
            "the {what} is longer than {max} characters"
        )));
    }
    if s.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "the {what} contains control characters"
        )));
    }
    Ok(Some(s.to_string()))
}

fn number(what: &str, n: Option<i64>, max: i64) -> Result<Option<i64>> {
    match n {
        Some(v) if !(1..=max).contains(&v) => Err(Error::Invalid(format!(
            "the {what} must be between 1 and {max}"
        ))),
        _ => Ok(n),
    }
}

impl TrackEdit {
    fn validated(&self) -> Result<TrackEdit> {
        Ok(TrackEdit {
            title: name("title", &self.title, MAX_NAME)?,
            artist: name("artist", &self.artist, MAX_NAME)?,
            album: optional_name("album", self.album.as_deref(), MAX_NAME)?,
            album_artist: optional_name("album artist", self.album_artist.as_deref(), MAX_NAME)?,
            track_no: number("track number", self.track_no, 9999)?,
            disc_no: number("disc number", self.disc_no, 999)?,
            year: number("year", self.year, 9999)?,
            genre: optional_name("genre", self.genre.as_deref(), MAX_GENRE)?,
        })
    }

    fn of(t: &TrackRow) -> TrackEdit {
        TrackEdit {
            title: t.title.clone(),
            artist: t.artist.clone(),
            album: t.album.clone(),
            album_artist: t.album_artist.clone(),
            track_no: t.track_no,
            disc_no: t.disc_no,
            year: t.year,
            genre: t.genre.clone(),
        }
    }

    /// This edit with `field` set from `value` (empty clears it where it can be cleared).
    fn with(mut self, field: Field, value: &str) -> Result<TrackEdit> {
        let v = value.trim();
        let num = |what: &str| -> Result<Option<i64>> {
            if v.is_empty() {
                return Ok(None);
            }
            v.parse::<i64>()
                .map(Some)
                .map_err(|_| Error::Invalid(format!("the {what} must be a number")))
        };
        match field {
            Field::Artist => self.artist = v.to_string(),
            Field::Album => self.album = Some(v.to_string()),
            Field::AlbumArtist => self.album_artist = Some(v.to_string()),
            Field::DiscNo => self.disc_no = num("disc number")?,
            Field::Year => self.year = num("year")?,
            Field::Genre => self.genre = Some(v.to_string()),
        }
        Ok(self)
    }
}

/// Who is editing: an admin (anything), or someone editing their own uploads; an artist
/// account's tracks stay credited to its profile.
enum Editor {
    Admin,
    Owner {
        user_id: String,
        profile: Option<(String, String)>,
    },
}

async fn editor(core: &Core, user: &CurrentUser) -> Result<Editor> {
    if user.role == Role::Admin {
        crate::admin::require_admin(core, user).await?;
        return Ok(Editor::Admin);
    }
    let mut conn = core.db.acquire().await?;
    let profile = match user.role {
        Role::Artist => repo::profile_of(&mut conn, &user.id).await?,
        _ => None,
    };
    Ok(Editor::Owner {
        user_id: user.id.clone(),
        profile,
    })
}

async fn require_admin(core: &Core, user: &CurrentUser) -> Result<()> {
    crate::admin::require_admin(core, user).await
}

/// The rows of `ids`, each of which the editor may change: "not found" for a track that
/// does not exist or is someone else's private upload, "forbidden" for someone else's
/// shared track.
async fn editable_tracks(
    conn: &mut AnyConnection,
    ed: &Editor,
    ids: &[String],
) -> Result<Vec<TrackRow>> {
    let rows = repo::tracks(conn, ids).await?;
    let mut ordered = Vec::with_capacity(ids.len());
    for id in ids {
        let t = rows
            .iter()
            .find(|t| &t.id == id)
            .ok_or(Error::NotFound("track"))?;
        if let Editor::Owner { user_id, .. } = ed
            && &t.owner_id != user_id
        {
            return Err(if t.shared {
                crate::auth::audit::refused(user_id, "edit someone else's track");
                Error::Forbidden
            } else {
                Error::NotFound("track")
            });
        }
        ordered.push(t.clone());
    }
    Ok(ordered)
}

/// A track's fields for the edit form, if the user may edit it.
pub async fn track_for_edit(core: &Core, user: &CurrentUser, track_id: &str) -> Result<TrackRow> {
    let ed = editor(core, user).await?;
    let mut conn = core.db.acquire().await?;
    let mut rows = editable_tracks(&mut conn, &ed, &[track_id.to_string()]).await?;
    rows.pop().ok_or(Error::NotFound("track"))
}

/// Writes `edit` onto `t`: artists and album found or created by name, search updated,
/// albums and artists left without tracks removed. Returns what changed, for the audit.
async fn apply(
    conn: &mut AnyConnection,
    ed: &Editor,
    t: &TrackRow,
    edit: &TrackEdit,
) -> Result<String> {
    let (artist_id, album_artist_id) = match ed {
        Editor::Owner {
            profile: Some((pid, pname)),
            ..
        } => {
            if lib::name_key(&edit.artist) != lib::name_key(pname) {
                return Err(Error::Invalid(format!(
                    "your releases are credited to your artist profile, {pname}; an admin can credit them to someone else"
                )));
            }
            (pid.clone(), edit.album.as_ref().map(|_| pid.clone()))
        }
        _ => {
            let artist_id = lib::upsert_artist(conn, &edit.artist).await?;
            let album_artist_id = match &edit.album_artist {
                Some(a) => Some(lib::upsert_artist(conn, a).await?),
                None => None,
            };
            (artist_id, album_artist_id)
        }
    };
    let album_id = match &edit.album {
        Some(title) => {
            let owner = album_artist_id.as_deref().unwrap_or(&artist_id);
            let id = lib::upsert_album(conn, owner, title, edit.year, None).await?;
            repo::album_added_at_least(conn, &id, t.created_at).await?;
            Some(id)
        }
        None => None,
    };
    repo::update_track(
        conn,
        &t.id,
        &TrackFields {
            title: edit.title.clone(),
            artist_id,
            album_artist_id,
            album_id,
            track_no: edit.track_no,
            disc_no: edit.disc_no,
            year: edit.year,
            genre: edit.genre.clone(),
        },
    )
    .await?;
    crate::search::repo::reindex_track(conn, &t.id).await?;
    let albums: Vec<String> = t.album_id.iter().cloned().collect();
    let artists: Vec<String> = std::iter::once(t.artist_id.clone())
        .chain(t.album_artist_id.clone())
        .collect();
    repo::prune(conn, &albums, &artists).await?;
    Ok(describe_change(t, edit))
}

fn describe_change(t: &TrackRow, e: &TrackEdit) -> String {
    let mut parts = Vec::new();
    let mut diff = |what: &str, old: String, new: String| {
        if old != new {
            parts.push(format!("{what} {old:?} → {new:?}"));
        }
    };
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    let num = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
    diff("title", t.title.clone(), e.title.clone());
    diff("artist", t.artist.clone(), e.artist.clone());
    diff("album", opt(&t.album), opt(&e.album));
    diff("album artist", opt(&t.album_artist), opt(&e.album_artist));
    diff("track", num(t.track_no), num(e.track_no));
    diff("disc", num(t.disc_no), num(e.disc_no));
    diff("year", num(t.year), num(e.year));
    diff("genre", opt(&t.genre), opt(&e.genre));
    if parts.is_empty() {
        "nothing changed".into()
    } else {
        parts.join(", ")
    }
}

/// Edits one track (every field at once, as the edit form sends them).
pub async fn edit_track(
    core: &Core,
    user: &CurrentUser,
    track_id: &str,
    edit: TrackEdit,
) -> Result<()> {
    let edit = edit.validated()?;
    let ed = editor(core, user).await?;
    let mut tx = crate::db::begin(&core.db).await?;
    let t = editable_tracks(&mut tx, &ed, &[track_id.to_string()])
        .await?
        .pop()
        .ok_or(Error::NotFound("track"))?;
    let change = apply(&mut tx, &ed, &t, &edit).await?;
    crate::admin::audit(
        &mut tx,
        user,
        "catalog.track.edit",
        None,
        &format!("track {} ({:?}): {change}", t.id, t.title),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sets one field on several tracks at once (all or none: one track the user may not
/// edit, or a value that does not fit, changes nothing). Returns how many were edited.
pub async fn set_field(
    core: &Core,
    user: &CurrentUser,
    track_ids: &[String],
    field: Field,
    value: &str,
) -> Result<usize> {
    if track_ids.is_empty() {
        return Err(Error::Invalid("select at least one track".into()));
    }
    if track_ids.len() > MAX_BULK {
        return Err(Error::Invalid(format!(
            "at most {MAX_BULK} tracks can be edited at once"
        )));
    }
    let mut ids = track_ids.to_vec();
    ids.sort();
    ids.dedup();
    let ed = editor(core, user).await?;
    let mut tx = crate::db::begin(&core.db).await?;
    let rows = editable_tracks(&mut tx, &ed, &ids).await?;
    for t in &rows {
        let edit = TrackEdit::of(t).with(field, value)?.validated()?;
        apply(&mut tx, &ed, t, &edit).await?;
    }
    crate::admin::audit(
        &mut tx,
        user,
        "catalog.tracks.bulk",
        None,
        &format!(
            "{} set to {:?} on {} tracks",
            field.name(),
            value.trim(),
            rows.len()
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(rows.len())
}

/// Whether the user may change an album as a whole: admins any, others one whose every
/// track they uploaded. "Not found" when they may see none of it.
async fn check_album(
    conn: &mut AnyConnection,
    ed: &Editor,
    album_id: &str,
) -> Result<repo::AlbumRow> {
    let album = repo::album(conn, album_id)
        .await?
        .ok_or(Error::NotFound("album"))?;
    if let Editor::Owner { user_id, .. } = ed {
        let (n, mine, visible) = repo::album_owners(conn, album_id, user_id).await?;
        if visible == 0 {
            return Err(Error::NotFound("album"));
        }
        if mine < n {
            crate::auth::audit::refused(user_id, "edit an album holding others' tracks");
            return Err(Error::Forbidden);
        }
    }
    Ok(album)
}

/// Whether the user may edit the album (for the page to offer it).
pub async fn may_edit_album(core: &Core, user: &CurrentUser, album_id: &str) -> Result<bool> {
    let ed = match editor(core, user).await {
        Ok(ed) => ed,
        Err(Error::Forbidden | Error::Invalid(_)) => return Ok(false),
        Err(e) => return Err(e),
    };
    let mut conn = core.db.acquire().await?;
    match check_album(&mut conn, &ed, album_id).await {
        Ok(_) => Ok(true),
        Err(Error::Forbidden | Error::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Edits an album's title, album artist and year. Renaming it to another album of the
/// same artist merges the two. Returns the album's id afterwards.
pub async fn edit_album(
    core: &Core,
    user: &CurrentUser,
    album_id: &str,
    edit: AlbumEdit,
) -> Result<String> {
    let title = name("album title", &edit.title, MAX_NAME)?;
    let artist = name("album artist", &edit.artist, MAX_NAME)?;
    let year = number("year", edit.year, 9999)?;
    let ed = editor(core, user).await?;
    let mut tx = crate::db::begin(&core.db).await?;
    let album = check_album(&mut tx, &ed, album_id).await?;
    let artist_id = match &ed {
        Editor::Owner {
            profile: Some((pid, pname)),
            ..
        } => {
            if lib::name_key(&artist) != lib::name_key(pname) {
                return Err(Error::Invalid(format!(
                    "your releases are credited to your artist profile, {pname}"
                )));
            }
            pid.clone()
        }
        _ => lib::upsert_artist(&mut tx, &artist).await?,
    };
    let result = match repo::album_named(&mut tx, &artist_id, &title, album_id).await? {
        Some(other) => {
            if let Editor::Owner { user_id, .. } = &ed {
                // Merging into an album with someone else's tracks is an admin's call.
                let (n, mine, _) = repo::album_owners(&mut tx, &other, user_id).await?;
                if mine < n {
                    return Err(Error::Invalid(format!(
                        "{artist} already has an album called {title}; ask an admin to merge them"
                    )));
                }
            }
            merge_albums_in(&mut tx, &album, &other).await?;
            finish_album_edit(&mut tx, &other, &artist_id, &title, year.or(album.year)).await?;
            audit_album(&mut tx, user, &album, &title, &artist, Some(&other)).await?;
            other
        }
        None => {
            finish_album_edit(&mut tx, album_id, &artist_id, &title, year).await?;
            audit_album(&mut tx, user, &album, &title, &artist, None).await?;
            album_id.to_string()
        }
    };
    repo::prune(&mut tx, &[], std::slice::from_ref(&album.artist_id)).await?;
    tx.commit().await?;
    Ok(result)
}

async fn audit_album(
    conn: &mut AnyConnection,
    user: &CurrentUser,
    album: &repo::AlbumRow,
    title: &str,
    artist: &str,
    merged_into: Option<&str>,
) -> Result<()> {
    let merged = merged_into
        .map(|id| format!(", merged into album {id}"))
        .unwrap_or_default();
    crate::admin::audit(
        conn,
        user,
        "catalog.album.edit",
        None,
        &format!(
            "album {} {:?} by {:?} → {title:?} by {artist:?}{merged}",
            album.id, album.title, album.artist
        ),
    )
    .await
}

/// Sets an album's fields, credits its tracks and indexes it and them again.
async fn finish_album_edit(
    conn: &mut AnyConnection,
    album_id: &str,
    artist_id: &str,
    title: &str,
    year: Option<i64>,
) -> Result<()> {
    repo::update_album(conn, album_id, artist_id, title, year).await?;
    repo::set_album_artist_of_tracks(conn, album_id, artist_id).await?;
    repo::reindex(conn, "album", album_id).await?;
    for id in repo::track_ids_of_album(conn, album_id).await? {
        crate::search::repo::reindex_track(conn, &id).await?;
    }
    Ok(())
}

/// Moves album `from` onto `into` and indexes the moved tracks again.
async fn merge_albums_in(
    conn: &mut AnyConnection,
    from: &repo::AlbumRow,
    into: &str,
) -> Result<()> {
    let moved = repo::track_ids_of_album(conn, &from.id).await?;
    let into_artist = repo::album(conn, into)
        .await?
        .ok_or(Error::NotFound("album"))?
        .artist_id;
    repo::move_album(conn, &from.id, into).await?;
    repo::set_album_artist_of_tracks(conn, into, &into_artist).await?;
    for id in moved {
        crate::search::repo::reindex_track(conn, &id).await?;
    }
    Ok(())
}

/// Merges album `from` into album `into` (admins): its tracks, likes and any cover or year
/// `into` lacks move over, and `from` is gone. Playlists and plays follow their tracks.
pub async fn merge_albums(core: &Core, user: &CurrentUser, from: &str, into: &str) -> Result<()> {
    require_admin(core, user).await?;
    if from == into {
        return Err(Error::Invalid(
            "an album cannot be merged into itself".into(),
        ));
    }
    let mut tx = crate::db::begin(&core.db).await?;
    let a = repo::album(&mut tx, from)
        .await?
        .ok_or(Error::NotFound("album"))?;
    let b = repo::album(&mut tx, into)
        .await?
        .ok_or(Error::NotFound("album"))?;
    merge_albums_in(&mut tx, &a, &b.id).await?;
    repo::prune(&mut tx, &[], std::slice::from_ref(&a.artist_id)).await?;
    crate::admin::audit(
        &mut tx,
        user,
        "catalog.album.merge",
        None,
        &format!(
            "album {} {:?} by {:?} merged into {} {:?} by {:?}",
            a.id, a.title, a.artist, b.id, b.title, b.artist
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Credits everything of artist `from` to `into` and deletes `from` (admins). Albums both
/// have under one title become one. An artist account's profile follows, unless both
/// artists have accounts.
async fn merge_artists_in(conn: &mut AnyConnection, from: &str, into: &str) -> Result<()> {
    if let (Some(a), Some(b)) = (
        repo::account_of_artist(conn, from).await?,
        repo::account_of_artist(conn, into).await?,
    ) {
        return Err(Error::Invalid(format!(
            "both artists are the profiles of accounts ({a} and {b}); change one account's role first"
        )));
    }
    let moved = repo::track_ids_of_artist(conn, from).await?;
    let mut albums = Vec::new();
    for (id, title) in repo::albums_of(conn, from).await? {
        match repo::album_named(conn, into, &title, &id).await? {
            Some(other) => {
                let row = repo::album(conn, &id)
                    .await?
                    .ok_or(Error::NotFound("album"))?;
                repo::move_album(conn, &row.id, &other).await?;
                albums.push(other);
            }
            None => albums.push(id),
        }
    }
    repo::move_artist(conn, from, into).await?;
    for id in &albums {
        repo::set_album_artist_of_tracks(conn, id, into).await?;
        repo::reindex(conn, "album", id).await?;
    }
    for id in moved {
        crate::search::repo::reindex_track(conn, &id).await?;
    }
    Ok(())
}

pub async fn merge_artists(core: &Core, user: &CurrentUser, from: &str, into: &str) -> Result<()> {
    require_admin(core, user).await?;
    if from == into {
        return Err(Error::Invalid(
            "an artist cannot be merged into itself".into(),
        ));
    }
    let mut tx = crate::db::begin(&core.db).await?;
    let a = repo::artist_name(&mut tx, from)
        .await?
        .ok_or(Error::NotFound("artist"))?;
    let b = repo::artist_name(&mut tx, into)
        .await?
        .ok_or(Error::NotFound("artist"))?;
    merge_artists_in(&mut tx, from, into).await?;
    crate::admin::audit(
        &mut tx,
        user,
        "catalog.artist.merge",
        None,
        &format!("artist {from} {a:?} merged into {into} {b:?}"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Renames an artist (admins); renaming to another artist's name merges the two. Returns
/// the artist's id afterwards.
pub async fn rename_artist(
    core: &Core,
    user: &CurrentUser,
    artist_id: &str,
    new_name: &str,
) -> Result<String> {
    require_admin(core, user).await?;
    let new_name = name("artist name", new_name, MAX_NAME)?;
    let mut tx = crate::db::begin(&core.db).await?;
    let old = repo::artist_name(&mut tx, artist_id)
        .await?
        .ok_or(Error::NotFound("artist"))?;
    let result = match repo::artist_named(&mut tx, &new_name, artist_id).await? {
        Some(other) => {
            merge_artists_in(&mut tx, artist_id, &other).await?;
            repo::rename_artist(&mut tx, &other, &new_name).await?;
            other
        }
        None => {
            repo::rename_artist(&mut tx, artist_id, &new_name).await?;
            artist_id.to_string()
        }
    };
    repo::reindex(&mut tx, "artist", &result).await?;
    for (id, _) in repo::albums_of(&mut tx, &result).await? {
        repo::reindex(&mut tx, "album", &id).await?;
    }
    for id in repo::track_ids_of_artist(&mut tx, &result).await? {
        crate::search::repo::reindex_track(&mut tx, &id).await?;
    }
    crate::admin::audit(
        &mut tx,
        user,
        "catalog.artist.rename",
        None,
        &format!("artist {artist_id} {old:?} → {new_name:?}"),
    )
    .await?;
    tx.commit().await?;
    Ok(result)
}

/// Deletes tracks whose rows are gone from object storage (after the commit).
async fn delete_track_objects(core: &Core, gone: Vec<(String, lib::OwnedKeys)>) {
    for (id, keys) in gone {
        crate::library::delete_objects(core, &id, keys).await;
    }
}

/// Collects the object keys of `ids` and deletes their rows; refuses tracks that come
/// from a music folder.
async fn delete_tracks_in(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<Vec<(String, lib::OwnedKeys)>> {
    let rows = repo::tracks(conn, ids).await?;
    let from_folder = rows.iter().filter(|t| t.from_folder).count();
    if from_folder > 0 {
        return Err(Error::Invalid(format!(
            "{from_folder} of these tracks come from a music folder: remove the files there, and the next scan takes them out"
        )));
    }
    let mut gone = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(k) = lib::owned_keys(&mut *conn, id).await? {
            gone.push((id.clone(), k));
        }
    }
    repo::delete_tracks(conn, ids).await?;
    Ok(gone)
}

/// Deletes an album with all its tracks and their media (admins, or the uploader of all of
/// it). Likes, plays and playlist entries of the tracks go with them. Returns how many
/// tracks went.
pub async fn delete_album(core: &Core, user: &CurrentUser, album_id: &str) -> Result<usize> {
    let ed = editor(core, user).await?;
    let mut tx = crate::db::begin(&core.db).await?;
    let album = check_album(&mut tx, &ed, album_id).await?;
    let ids = repo::track_ids_of_album(&mut tx, album_id).await?;
    let rows = repo::tracks(&mut tx, &ids).await?;
    let gone = delete_tracks_in(&mut tx, &ids).await?;
    repo::delete_album(&mut tx, album_id).await?;
    let mut artists = vec![album.artist_id.clone()];
    artists.extend(rows.iter().map(|t| t.artist_id.clone()));
    repo::prune(&mut tx, &[], &artists).await?;
    let extra_cover = match &album.cover_key {
        Some(k) => repo::unreferenced_covers(&mut tx, std::slice::from_ref(k)).await?,
        None => Vec::new(),
    };
    crate::admin::audit(
        &mut tx,
        user,
        "catalog.album.delete",
        None,
        &format!(
            "album {} {:?} by {:?} with {} tracks",
            album.id,
            album.title,
            album.artist,
            gone.len()
        ),
    )
    .await?;
    tx.commit().await?;
    let n = gone.len();
    delete_track_objects(core, gone).await;
    delete_covers(core, extra_cover).await;
    Ok(n)
}

/// Deletes an artist with every track they are credited on (as artist or album artist),
/// their albums and all the media (admins). Refused while the artist is an account's
/// profile.
pub async fn delete_artist(core: &Core, user: &CurrentUser, artist_id: &str) -> Result<usize> {
    require_admin(core, user).await?;
    let mut tx = crate::db::begin(&core.db).await?;
    let name = repo::artist_name(&mut tx, artist_id)
        .await?
        .ok_or(Error::NotFound("artist"))?;
    if let Some(email) = repo::account_of_artist(&mut tx, artist_id).await? {
        return Err(Error::Invalid(format!(
            "{name} is the profile of the account {email}; change that account's role first"
        )));
    }
    let ids = repo::track_ids_of_artist(&mut tx, artist_id).await?;
    let rows = repo::tracks(&mut tx, &ids).await?;
    let gone = delete_tracks_in(&mut tx, &ids).await?;
    let albums = repo::albums_of(&mut tx, artist_id).await?;
    let mut covers = Vec::new();
    for (id, _) in &albums {
        if let Some(a) = repo::album(&mut tx, id).await?
            && let Some(k) = a.cover_key
        {
            covers.push(k);
        }
        repo::delete_album(&mut tx, id).await?;
    }
    // Albums and artists of other people that only these tracks used.
    let other_albums: Vec<String> = rows.iter().filter_map(|t| t.album_id.clone()).collect();
    let mut other_artists: Vec<String> = rows.iter().map(|t| t.artist_id.clone()).collect();
    other_artists.extend(rows.iter().filter_map(|t| t.album_artist_id.clone()));
    repo::prune(&mut tx, &other_albums, &[]).await?;
    repo::delete_artist(&mut tx, artist_id).await?;
    other_artists.retain(|a| a != artist_id);
    repo::prune(&mut tx, &[], &other_artists).await?;
    let covers = repo::unreferenced_covers(&mut tx, &covers).await?;
    crate::admin::audit(
        &mut tx,
        user,
        "catalog.artist.delete",
        None,
        &format!(
            "artist {artist_id} {name:?} with {} albums and {} tracks",
            albums.len(),
            gone.len()
        ),
    )
    .await?;
    tx.commit().await?;
    let n = gone.len();
    delete_track_objects(core, gone).await;
    delete_covers(core, covers).await;
    Ok(n)
}

/// Deletes cover objects and their thumbnails; failures are logged (an orphan object).
async fn delete_covers(core: &Core, keys: Vec<String>) {
    for key in keys {
        let mut all: Vec<String> = crate::imports::COVER_SIZES
            .iter()
            .map(|s| crate::imports::thumb_key(&key, *s))
            .collect();
        all.push(key);
        for k in all {
            if let Err(e) = core.storage.delete(&k).await {
                tracing::debug!(key = %k, error = %e, "could not delete a replaced cover object");
            }
        }
    }
}

/// Gives an album a new cover from an uploaded PNG, JPEG, WebP or GIF: the centre square,
/// at most 1200 pixels a side, stored as JPEG with its thumbnails, on every track of the
/// album. The covers it replaces are deleted. Admins, or the uploader of all of it.
pub async fn set_album_cover(
    core: &Core,
    user: &CurrentUser,
    album_id: &str,
    upload: bytes::Bytes,
) -> Result<()> {
    if upload.len() > MAX_COVER_BYTES {
        return Err(Error::TooLarge {
            limit: MAX_COVER_BYTES as u64,
        });
    }
    let ed = editor(core, user).await?;
    {
        let mut conn = core.db.acquire().await?;
        check_album(&mut conn, &ed, album_id).await?;
    }
    let jpeg = tokio::task::spawn_blocking(move || -> Result<Vec<u8>> {
        let img = crate::pictures::decode(&upload)?;
        let side = img.width().min(img.height()).min(COVER_SIDE);
        crate::pictures::jpeg(&crate::pictures::square(&img, side), 90)
    })
    .await
    .map_err(|e| anyhow::anyhow!("cover task: {e}"))??;
    let key = format!("covers/album-{album_id}-{}.jpg", crate::new_id());
    core.storage
        .put(&key, bytes::Bytes::from(jpeg.clone()))
        .await?;
    let stored = async {
        if !crate::imports::store_thumbnails(core, &key, jpeg).await? {
            return Err(Error::Invalid("the picture could not be read".into()));
        }
        let mut tx = crate::db::begin(&core.db).await?;
        let album = check_album(&mut tx, &ed, album_id).await?;
        let old = repo::set_album_cover(&mut tx, album_id, &key).await?;
        let unused = repo::unreferenced_covers(&mut tx, &old).await?;
        crate::admin::audit(
            &mut tx,
            user,
            "catalog.album.cover",
            None,
            &format!(
                "album {} {:?} by {:?}: new cover",
                album.id, album.title, album.artist
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(unused)
    }
    .await;
    match stored {
        Ok(unused) => {
            delete_covers(core, unused).await;
            Ok(())
        }
        Err(e) => {
            // Keep partial work out: the new objects without their rows go too.
            delete_covers(core, vec![key]).await;
            Err(e)
        }
    }
}
