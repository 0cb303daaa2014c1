use super::repo::{self, EntryView, PlaylistView};
use crate::infra::actor::CurrentUser;
use crate::{Core, Error, Result, new_id, now_ms};

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_DESCRIPTION_CHARS: usize = 1000;
/// Most entries a playlist holds.
pub const MAX_TRACKS: i64 = 10_000;

/// A playlist page: the playlist, its entries the viewer may play, and whether they may
/// change it (only its owner).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlaylistPage {
    pub playlist: PlaylistView,
    pub entries: Vec<EntryView>,
    pub can_edit: bool,
}

fn clean_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::Invalid("give the playlist a name".into()));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::Invalid(format!(
            "a playlist name is at most {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(name.to_string())
}

fn clean_description(d: &str) -> Result<String> {
    let d = d.trim();
    if d.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(Error::Invalid(format!(
            "a description is at most {MAX_DESCRIPTION_CHARS} characters"
        )));
    }
    Ok(d.to_string())
}

/// Why a write to playlist `id` changed nothing for `user` (who does not own it): someone
/// else's public playlist is "forbidden", a private one (or none) "not found", so private
/// playlists never show that they exist.
async fn refusal(core: &Core, user: &CurrentUser, id: &str) -> Error {
    match repo::owner(&core.db, id).await {
        Ok(Some((_, true))) => {
            crate::auth::audit::refused(&user.id, "change someone else's playlist");
            Error::Forbidden
        }
        Ok(_) => Error::NotFound("playlist"),
        Err(e) => e,
    }
}

async fn view(core: &Core, user: &CurrentUser, id: &str) -> Result<PlaylistView> {
    repo::get(&core.db, &user.id, id)
        .await?
        .ok_or(Error::NotFound("playlist"))
}

pub async fn create(
    core: &Core,
    user: &CurrentUser,
    name: &str,
    description: &str,
    public: bool,
) -> Result<PlaylistView> {
    let (name, description) = (clean_name(name)?, clean_description(description)?);
    let id = new_id();
    let mut tx = crate::db::begin(&core.db).await?;
    repo::insert(
        &mut tx,
        &id,
        &user.id,
        &name,
        &description,
        public,
        now_ms(),
    )
    .await?;
    crate::search::repo::index_playlist(&mut tx, &id).await?;
    tx.commit().await?;
    view(core, user, &id).await
}

pub async fn update(
    core: &Core,
    user: &CurrentUser,
    id: &str,
    name: &str,
    description: &str,
    public: bool,
) -> Result<()> {
    let (name, description) = (clean_name(name)?, clean_description(description)?);
    let mut tx = crate::db::begin(&core.db).await?;
    let done = repo::update(
        &mut tx,
        (id, &user.id),
        &name,
        &description,
        public,
        now_ms(),
    )
    .await?;
    if !done {
        drop(tx);
        return Err(refusal(core, user, id).await);
    }
    crate::search::repo::index_playlist(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn delete(core: &Core, user: &CurrentUser, id: &str) -> Result<()> {
    if !repo::delete(&core.db, (id, &user.id)).await? {
        return Err(refusal(core, user, id).await);
    }
    Ok(())
}

/// The viewer's own playlists, most recently changed first.
pub async fn list_mine(core: &Core, user: &CurrentUser) -> Result<Vec<PlaylistView>> {
    repo::list_owned(&core.db, &user.id).await
}

/// A playlist the user may open (their own, or a public one), with the entries they may
/// play.
pub async fn get(core: &Core, user: &CurrentUser, id: &str) -> Result<PlaylistPage> {
    let playlist = view(core, user, id).await?;
    let entries = repo::entries(&core.db, &user.id, id).await?;
    Ok(PlaylistPage {
        can_edit: playlist.owner_id == user.id,
        playlist,
        entries,
    })
}

/// Appends tracks (each one the owner may play) in the order given.
pub async fn add_tracks(
    core: &Core,
    user: &CurrentUser,
    id: &str,
    track_ids: &[String],
) -> Result<()> {
    let now = now_ms();
    let mut tx = crate::db::begin(&core.db).await?;
    // Touching the playlist first makes this transaction its only writer (a row lock on
    // PostgreSQL, the write lock on SQLite), so positions stay dense under concurrency;
    // it touches only the user's own.
    if !repo::touch(&mut tx, (id, &user.id), now).await? {
        drop(tx);
        return Err(refusal(core, user, id).await);
    }
    let len = repo::len(&mut tx, id).await?;
    if len + track_ids.len() as i64 > MAX_TRACKS {
        return Err(Error::Invalid(format!(
            "a playlist holds at most {MAX_TRACKS} tracks"
        )));
    }
    for (i, t) in track_ids.iter().enumerate() {
        if !repo::playable(&mut tx, &user.id, t).await? {
            return Err(Error::NotFound("track"));
        }
        repo::append(&mut tx, id, t, len + i as i64, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Replaces a playlist's tracks (and its name, when given) in one transaction: a track
/// the owner may not play, or too many, changes nothing.
pub async fn replace(
    core: &Core,
    user: &CurrentUser,
    id: &str,
    name: Option<&str>,
    track_ids: &[String],
) -> Result<()> {
    let now = now_ms();
    let renamed = match name {
        Some(n) => Some((clean_name(n)?, view(core, user, id).await?)),
        None => None,
    };
    if track_ids.len() as i64 > MAX_TRACKS {
        return Err(Error::Invalid(format!(
            "a playlist holds at most {MAX_TRACKS} tracks"
        )));
    }
    let mut tx = crate::db::begin(&core.db).await?;
    if !repo::touch(&mut tx, (id, &user.id), now).await? {
        drop(tx);
        return Err(refusal(core, user, id).await);
    }
    if let Some((name, p)) = &renamed {
        repo::update(&mut tx, (id, &user.id), name, &p.description, p.public, now).await?;
        crate::search::repo::index_playlist(&mut tx, id).await?;
    }
    repo::clear(&mut tx, id).await?;
    for (i, t) in track_ids.iter().enumerate() {
        if !repo::playable(&mut tx, &user.id, t).await? {
            return Err(Error::NotFound("track"));
        }
        repo::append(&mut tx, id, t, i as i64, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn remove_entry(core: &Core, user: &CurrentUser, id: &str, entry_id: &str) -> Result<()> {
    let mut tx = crate::db::begin(&core.db).await?;
    if !repo::touch(&mut tx, (id, &user.id), now_ms()).await? {
        drop(tx);
        return Err(refusal(core, user, id).await);
    }
    let pos = repo::position_of(&mut tx, id, entry_id)
        .await?
        .ok_or(Error::NotFound("playlist entry"))?;
    repo::remove_entry(&mut tx, id, entry_id, pos).await?;
    tx.commit().await?;
    Ok(())
}

/// Moves an entry to position `to` (0-based, among all entries).
pub async fn move_entry(
    core: &Core,
    user: &CurrentUser,
    id: &str,
    entry_id: &str,
    to: i64,
) -> Result<()> {
    let mut tx = crate::db::begin(&core.db).await?;
    if !repo::touch(&mut tx, (id, &user.id), now_ms()).await? {
        drop(tx);
        return Err(refusal(core, user, id).await);
    }
    let from = repo::position_of(&mut tx, id, entry_id)
        .await?
        .ok_or(Error::NotFound("playlist entry"))?;
    let len = repo::len(&mut tx, id).await?;
    if to < 0 || to >= len {
        return Err(Error::Invalid("position out of range".into()));
    }
    if from != to {
        repo::move_entry(&mut tx, id, entry_id, from, to).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Copies a playlist the user may open into a new private one of theirs (with the tracks
/// they may play, in order).
pub async fn copy(core: &Core, user: &CurrentUser, id: &str) -> Result<PlaylistView> {
    let page = get(core, user, id).await?;
    let new = create(
        core,
        user,
        &page.playlist.name,
        &page.playlist.description,
        false,
    )
    .await?;
    let ids: Vec<String> = page.entries.into_iter().map(|e| e.track.id).collect();
    add_tracks(core, user, &new.id, &ids).await?;
    view(core, user, &new.id).await
}
