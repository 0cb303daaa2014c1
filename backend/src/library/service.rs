use super::repo::{self, AlbumView, ArtistView, TrackSort, TrackView};
use crate::infra::actor::CurrentUser;
use crate::{Core, Error, Result};

/// The library page's track list (newest first, capped until paging arrives).
pub async fn list_tracks(core: &Core, user: &CurrentUser) -> Result<Vec<TrackView>> {
    repo::list_visible(&core.db, &user.id, 5000).await
}

/// The user's Liked Songs, most recently liked first.
pub async fn liked_tracks(core: &Core, user: &CurrentUser) -> Result<Vec<TrackView>> {
    repo::list_liked(&core.db, &user.id, 5000).await
}

/// What the user played last, most recent first (each track once).
pub async fn recently_played(
    core: &Core,
    user: &CurrentUser,
    limit: i64,
) -> Result<Vec<TrackView>> {
    repo::list_recently_played(&core.db, &user.id, limit.clamp(1, 100)).await
}

/// Likes (or unlikes) a track the user may see; anyone else's personal track is "not
/// found", like any track that does not exist.
pub async fn set_liked(core: &Core, user: &CurrentUser, track_id: &str, liked: bool) -> Result<()> {
    if liked
        && repo::stream_row(&core.db, track_id, &user.id)
            .await?
            .is_none()
    {
        return Err(Error::NotFound("track"));
    }
    repo::set_liked(&core.db, &user.id, track_id, liked, crate::now_ms()).await
}

/// Likes (or unlikes) an album the user may see; an album they may not see is "not
/// found". Unliking always works (the album may have become invisible since).
pub async fn set_album_liked(
    core: &Core,
    user: &CurrentUser,
    album_id: &str,
    liked: bool,
) -> Result<()> {
    if liked && repo::album(&core.db, &user.id, album_id).await?.is_none() {
        return Err(Error::NotFound("album"));
    }
    repo::set_album_liked(&core.db, &user.id, album_id, liked, crate::now_ms()).await
}

/// The albums the user liked (that they may still see), most recently liked first.
pub async fn liked_albums(core: &Core, user: &CurrentUser) -> Result<Vec<AlbumView>> {
    repo::list_liked_albums(&core.db, &user.id, 500).await
}

/// Which cover object serves a request: the thumbnail for `size` pixels when the import
/// made them, else the original. Objects never change (a new import has a new key), so
/// the key is the cover's version.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverObject {
    pub key: String,
    pub mime: &'static str,
}

impl CoverObject {
    /// A strong validator for HTTP caching.
    pub fn etag(&self) -> String {
        let h = crate::infra::crypto::sha256_hex(&self.key);
        format!("\"{}\"", &h[..24])
    }
}

/// The cover object of a track the user may see, for a display `size` (pixels) if given.
pub async fn cover_object(
    core: &Core,
    user: &CurrentUser,
    track_id: &str,
    size: Option<u32>,
) -> Result<CoverObject> {
    let (key, thumbs) = repo::cover_key(&core.db, track_id, &user.id)
        .await?
        .ok_or(Error::NotFound("cover"))?;
    Ok(match size {
        Some(s) if thumbs => CoverObject {
            key: crate::imports::thumb_key(&key, crate::imports::thumb_size_for(s)),
            mime: "image/jpeg",
        },
        _ => CoverObject {
            mime: if key.ends_with(".png") {
                "image/png"
            } else {
                "image/jpeg"
            },
            key,
        },
    })
}

/// Deletes a track and its objects (original, rendition, cover). Owners may delete their
/// tracks; admins may delete any. The row goes first, so a failed object delete leaves an
/// orphan object (logged) rather than a track without media.
pub async fn delete_track(core: &Core, user: &CurrentUser, track_id: &str) -> Result<()> {
    let Some(t) = repo::owned_keys(&core.db, track_id).await? else {
        return Err(Error::NotFound("track"));
    };
    let is_admin = user.role == crate::infra::actor::Role::Admin;
    if t.owner_id != user.id && !is_admin {
        // Do not reveal that someone else's private track exists.
        return Err(if t.shared {
            crate::auth::audit::refused(&user.id, "delete someone else's track");
            Error::Forbidden
        } else {
            Error::NotFound("track")
        });
    }
    if crate::folders::repo::file_of_track(&core.db, track_id)
        .await?
        .is_some()
    {
        return Err(Error::Invalid(
            "this track comes from a music folder: remove or change the file there, and the next scan takes it out"
                .into(),
        ));
    }
    repo::delete_track(&core.db, track_id).await?;
    delete_objects(core, track_id, t).await;
    tracing::info!(%track_id, user_id = %user.id, "track deleted");
    Ok(())
}

/// Deletes what a deleted track kept in object storage (a music folder's original is
/// never among it). A failure is logged: an orphan object, never a track without media.
pub(crate) async fn delete_objects(core: &Core, track_id: &str, t: repo::OwnedKeys) {
    let mut keys = vec![t.original_key, t.rendition_key];
    if let Some(c) = t.cover_key {
        if t.cover_thumbs {
            keys.extend(
                crate::imports::COVER_SIZES
                    .iter()
                    .map(|s| crate::imports::thumb_key(&c, *s)),
            );
        }
        keys.push(c);
    }
    // Transcodes Subsonic apps were served, kept for their next play.
    match core
        .storage
        .list(&crate::subsonic::transcode::cache_prefix(track_id))
        .await
    {
        Ok(cached) => keys.extend(cached),
        Err(e) => {
            tracing::warn!(%track_id, error = %e, "could not list a deleted track's transcodes")
        }
    }
    for key in keys.into_iter().filter(|k| !k.is_empty()) {
        if let Err(e) = core.storage.delete(&key).await {
            tracing::warn!(%key, %track_id, error = %e, "could not delete an object of a deleted track");
        }
    }
}

/// An album page: the album and its tracks the user may see, in disc and track order.
/// "Not found" when the user may see none of it.
pub async fn album(
    core: &Core,
    user: &CurrentUser,
    album_id: &str,
) -> Result<(AlbumView, Vec<TrackView>)> {
    let album = repo::album(&core.db, &user.id, album_id)
        .await?
        .ok_or(Error::NotFound("album"))?;
    let tracks = repo::list_album_tracks(&core.db, &user.id, album_id).await?;
    Ok((album, tracks))
}

/// An artist page: the artist, their albums (newest first) and their most played tracks.
/// "Not found" when the user may see none of their tracks.
pub async fn artist(
    core: &Core,
    user: &CurrentUser,
    artist_id: &str,
) -> Result<(ArtistView, Vec<AlbumView>, Vec<TrackView>)> {
    let artist = repo::artist(&core.db, &user.id, artist_id)
        .await?
        .ok_or(Error::NotFound("artist"))?;
    let albums = repo::list_artist_albums(&core.db, &user.id, artist_id).await?;
    let top = repo::list_artist_top_tracks(&core.db, &user.id, artist_id, 10).await?;
    Ok((artist, albums, top))
}

/// Most rows one page of a list returns.
pub const MAX_PAGE: i64 = 500;

fn page_bounds(offset: i64, limit: i64) -> Result<(i64, i64)> {
    if offset < 0 || !(1..=MAX_PAGE).contains(&limit) {
        return Err(Error::Invalid(format!(
            "pages start at 0 and hold 1 to {MAX_PAGE} rows"
        )));
    }
    Ok((offset, limit))
}

/// One page of the tracks the user may see, sorted, with how many there are in all.
pub async fn tracks_page(
    core: &Core,
    user: &CurrentUser,
    sort: TrackSort,
    desc: bool,
    offset: i64,
    limit: i64,
) -> Result<(Vec<TrackView>, i64)> {
    let (offset, limit) = page_bounds(offset, limit)?;
    let tracks = repo::list_page(&core.db, &user.id, sort, desc, offset, limit).await?;
    let total = repo::count_visible(&core.db, &user.id).await?;
    Ok((tracks, total))
}

/// One page of albums the user may see: by title, or most recently added first.
pub async fn albums_page(
    core: &Core,
    user: &CurrentUser,
    recent: bool,
    offset: i64,
    limit: i64,
) -> Result<Vec<AlbumView>> {
    let (offset, limit) = page_bounds(offset, limit)?;
    repo::list_albums(&core.db, &user.id, recent, offset, limit).await
}

/// One page of artists the user may see, by name.
pub async fn artists_page(
    core: &Core,
    user: &CurrentUser,
    offset: i64,
    limit: i64,
) -> Result<Vec<ArtistView>> {
    let (offset, limit) = page_bounds(offset, limit)?;
    repo::list_artists(&core.db, &user.id, offset, limit).await
}
