//! Playlists, the play queue and "now playing" for Subsonic apps, on the web player's own
//! services: a playlist changed in an app is the playlist in the browser, and the queue
//! an app saves is the queue the web player restores (and the other way round).

use super::catalog::{self, Song};
use crate::infra::actor::CurrentUser;
use crate::playlists::{self, PlaylistView};
use crate::{Core, Error, Result, now_ms};

/// A playlist with the songs the user may play in it, in order.
pub struct Playlist {
    pub playlist: PlaylistView,
    pub songs: Vec<Song>,
    pub can_edit: bool,
}

/// The playlists the user may open: theirs and everyone's public ones.
pub async fn playlists(core: &Core, user: &CurrentUser) -> Result<Vec<PlaylistView>> {
    playlists::repo::list_visible(&core.db, &user.id).await
}

/// One playlist the user may open, with its songs.
pub async fn playlist(core: &Core, user: &CurrentUser, id: &str) -> Result<Playlist> {
    let page = playlists::get(core, user, id).await?;
    let ids: Vec<String> = page.entries.iter().map(|e| e.track.id.clone()).collect();
    Ok(Playlist {
        songs: catalog::songs_by_ids(core, user, &ids).await?,
        playlist: page.playlist,
        can_edit: page.can_edit,
    })
}

/// `createPlaylist`: a new private playlist named `name` with `songs`, or (with `id`) the
/// user's playlist `id` with its songs replaced by `songs`.
pub async fn create_or_replace(
    core: &Core,
    user: &CurrentUser,
    id: Option<&str>,
    name: Option<&str>,
    songs: &[String],
) -> Result<String> {
    match id {
        // Replaced in one transaction: a song that cannot be added changes nothing.
        Some(id) => {
            playlists::replace(core, user, id, name, songs).await?;
            Ok(id.to_string())
        }
        None => {
            let name = name.ok_or_else(|| Error::Invalid("name or playlistId".into()))?;
            let id = playlists::create(core, user, name, "", false).await?.id;
            if !songs.is_empty()
                && let Err(e) = playlists::add_tracks(core, user, &id, songs).await
            {
                // Nothing half made: the new playlist goes with the refusal.
                playlists::delete(core, user, &id).await?;
                return Err(e);
            }
            Ok(id)
        }
    }
}

/// What `updatePlaylist` asks.
#[derive(Debug, Default)]
pub struct PlaylistChange {
    pub name: Option<String>,
    pub comment: Option<String>,
    pub public: Option<bool>,
    pub add: Vec<String>,
    /// Indexes into the playlist's songs as the user sees them.
    pub remove: Vec<usize>,
}

/// Changes a playlist of the user's; indexes and songs are checked before anything is
/// changed, so a bad index changes nothing.
pub async fn update(core: &Core, user: &CurrentUser, id: &str, c: PlaylistChange) -> Result<()> {
    let page = playlists::get(core, user, id).await?;
    if !page.can_edit {
        crate::auth::audit::refused(&user.id, "change someone else's playlist");
        return Err(Error::Forbidden);
    }
    let mut remove = c.remove.clone();
    remove.sort_unstable();
    remove.dedup();
    if remove.last().is_some_and(|&i| i >= page.entries.len()) {
        return Err(Error::Invalid(
            "songIndexToRemove is past the playlist's end".into(),
        ));
    }
    for s in &c.add {
        catalog::get_song(core, user, s).await?;
    }
    if c.name.is_some() || c.comment.is_some() || c.public.is_some() {
        let p = &page.playlist;
        playlists::update(
            core,
            user,
            id,
            c.name.as_deref().unwrap_or(&p.name),
            c.comment.as_deref().unwrap_or(&p.description),
            c.public.unwrap_or(p.public),
        )
        .await?;
    }
    for i in remove.into_iter().rev() {
        playlists::remove_entry(core, user, id, &page.entries[i].entry_id).await?;
    }
    if !c.add.is_empty() {
        playlists::add_tracks(core, user, id, &c.add).await?;
    }
    Ok(())
}

/// The play queue, shared with the web player: its songs, the current one's index and
/// the position in it.
pub struct Queue {
    pub songs: Vec<Song>,
    pub index: usize,
    pub position_ms: i64,
    pub changed_at: i64,
}

pub async fn queue(core: &Core, user: &CurrentUser) -> Result<Queue> {
    let q = crate::queue::get(core, user).await?;
    let ids: Vec<String> = q.tracks.iter().map(|t| t.id.clone()).collect();
    Ok(Queue {
        songs: catalog::songs_by_ids(core, user, &ids).await?,
        index: q.index,
        position_ms: q.position_ms,
        changed_at: q.updated_at,
    })
}

/// Saves the queue; an empty list clears it.
pub async fn save_queue(
    core: &Core,
    user: &CurrentUser,
    ids: Vec<String>,
    index: usize,
    position_ms: i64,
) -> Result<()> {
    if ids.is_empty() {
        return crate::queue::save(core, user, Vec::new(), 0, 0).await;
    }
    crate::queue::save(core, user, ids, index, position_ms.max(0)).await
}

/// Longest app name kept for "now playing".
const MAX_CLIENT: usize = 64;

/// Notes that the user's app `client` plays song `id` now.
pub async fn now_playing(core: &Core, user: &CurrentUser, id: &str, client: &str) -> Result<()> {
    catalog::get_song(core, user, id).await?;
    let client: String = client
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_CLIENT)
        .collect();
    super::repo::set_now_playing(&core.db, &user.id, &client, id, now_ms()).await?;
    Ok(())
}

/// What the user's apps are playing (a song counts until it would have ended, plus a
/// minute): the caller's own only, since what others listen to is theirs.
pub async fn playing(core: &Core, user: &CurrentUser) -> Result<Vec<(Song, String, i64)>> {
    let rows = super::repo::now_playing_of(&core.db, &user.id, now_ms()).await?;
    let mut out = Vec::new();
    for (id, client, started_at) in rows {
        if let Ok(s) = catalog::get_song(core, user, &id).await {
            out.push((s, client, started_at));
        }
    }
    Ok(out)
}
