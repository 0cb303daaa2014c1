//! The bytes Subsonic apps ask for: a track's original file (an upload's object, or a
//! scanned file in its music folder) and cover art by Subsonic `coverArt` id.

use super::catalog::{self, Song};
use crate::folders::open::Opened;
use crate::infra::actor::CurrentUser;
use crate::storage::RangeRead;
use crate::{Core, Error, Result};

/// Where an original lives.
#[derive(Debug, Clone)]
pub enum Source {
    Object(String),
    /// A scanned file, open and checked to be inside its music folder.
    File(Opened),
}

/// A track's original file, as uploaded or scanned.
#[derive(Debug, Clone)]
pub struct Original {
    pub source: Source,
    pub bytes: u64,
    /// The file's name (for `Content-Disposition`).
    pub filename: String,
    pub mime: &'static str,
    pub song: Song,
}

impl Original {
    /// Bytes `start..end` (end exclusive).
    pub async fn range(&self, core: &Core, start: u64, end: u64) -> Result<RangeRead> {
        match &self.source {
            Source::Object(key) => core.storage.get_range(key, start, end).await,
            Source::File(f) => crate::storage::open_file_range(f.file.clone(), start, end).await,
        }
    }
}

/// The original file of a song the user may play.
pub async fn original(core: &Core, user: &CurrentUser, id: &str) -> Result<Original> {
    let song = catalog::get_song(core, user, id).await?;
    let key = super::repo::original_key(&core.db, id).await?;
    let filename = song
        .filename
        .clone()
        .map(|f| f.rsplit(['/', '\\']).next().unwrap_or_default().to_string())
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| format!("{}.{}", song.track.title, song.suffix().unwrap_or_default()));
    let mime = song.content_type();
    let (source, bytes) = if key.is_empty() {
        // A scanned track: its file in the music folder, opened and checked now.
        let file = crate::folders::repo::file_of_track(&core.db, id)
            .await?
            .ok_or(Error::NotFound("original file"))?;
        let opened = crate::folders::rendition::locate(&file).await?;
        let len = opened.len;
        (Source::File(opened), len)
    } else {
        let len = core.storage.size(&key).await?;
        (Source::Object(key), len)
    };
    Ok(Original {
        source,
        bytes,
        filename,
        mime,
        song,
    })
}

/// What a Subsonic `coverArt` id names: a song (`<track id>`), an album (`al-<id>`), an
/// artist (`ar-<id>`, their newest album's cover) or a playlist (`pl-<id>`, its first
/// track's cover).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoverId {
    Track(String),
    Album(String),
    Artist(String),
    Playlist(String),
}

impl CoverId {
    pub fn parse(id: &str) -> CoverId {
        if let Some(x) = id.strip_prefix("al-") {
            CoverId::Album(x.into())
        } else if let Some(x) = id.strip_prefix("ar-") {
            CoverId::Artist(x.into())
        } else if let Some(x) = id.strip_prefix("pl-") {
            CoverId::Playlist(x.into())
        } else {
            CoverId::Track(id.strip_prefix("tr-").unwrap_or(id).into())
        }
    }
}

/// Pixel sizes a cover may be asked for (larger asks get the largest, the original).
pub const MAX_COVER_SIZE: u32 = 2000;

/// The cover object for `id` at `size`, among what the user may see.
pub async fn cover(
    core: &Core,
    user: &CurrentUser,
    id: &str,
    size: Option<u32>,
) -> Result<crate::library::CoverObject> {
    let track_id = match CoverId::parse(id) {
        CoverId::Track(t) => t,
        CoverId::Album(a) => catalog::one_album(core, user, &a)
            .await?
            .album
            .cover_track_id
            .ok_or(Error::NotFound("cover"))?,
        CoverId::Artist(a) => catalog::get_artist(core, user, &a)
            .await?
            .1
            .into_iter()
            .find_map(|al| al.album.cover_track_id)
            .ok_or(Error::NotFound("cover"))?,
        CoverId::Playlist(p) => crate::playlists::get(core, user, &p)
            .await?
            .entries
            .into_iter()
            .find(|e| e.track.has_cover)
            .map(|e| e.track.id)
            .ok_or(Error::NotFound("cover"))?,
    };
    let size = size.map(|s| s.clamp(16, MAX_COVER_SIZE));
    crate::library::cover_object(core, user, &track_id, size).await
}

#[cfg(test)]
mod tests {
    use super::CoverId;

    #[test]
    fn cover_ids_name_what_they_cover() {
        assert_eq!(CoverId::parse("al-x"), CoverId::Album("x".into()));
        assert_eq!(CoverId::parse("ar-x"), CoverId::Artist("x".into()));
        assert_eq!(CoverId::parse("pl-x"), CoverId::Playlist("x".into()));
        assert_eq!(CoverId::parse("tr-x"), CoverId::Track("x".into()));
        assert_eq!(CoverId::parse("x"), CoverId::Track("x".into()));
    }
}
