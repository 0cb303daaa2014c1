//! What the server sends about tracks, albums and artists, shared by several features
//! (the player, lists, search, downloads).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackRef {
    pub id: String,
    pub title: String,
    pub artist: String,
    pub has_cover: bool,
    #[serde(default)]
    pub cover_v: String,
    pub duration_ms: i64,
    /// In the listener's Liked Songs (as far as this page knows).
    #[serde(default)]
    pub liked: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackItem {
    pub id: String,
    pub title: String,
    pub artist: String,
    pub artist_id: String,
    pub album: Option<String>,
    pub album_id: Option<String>,
    pub duration_ms: i64,
    pub has_cover: bool,
    /// The cover's version, for its URL.
    #[serde(default)]
    pub cover_v: String,
    /// The signed-in user may edit or delete it (their own upload, or they are an admin).
    pub can_delete: bool,
    /// In the signed-in user's Liked Songs.
    pub liked: bool,
    /// How often the signed-in user played it.
    pub plays: i64,
}

impl TrackItem {
    /// What the player needs of it.
    pub fn to_ref(&self) -> TrackRef {
        TrackRef {
            id: self.id.clone(),
            title: self.title.clone(),
            artist: self.artist.clone(),
            has_cover: self.has_cover,
            cover_v: self.cover_v.clone(),
            duration_ms: self.duration_ms,
            liked: self.liked,
        }
    }
}

/// Everything the player needs to stream a track through Media Source Extensions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamInfo {
    pub url: String,
    pub mime: String,
    pub duration_ms: i64,
    pub bytes: i64,
    pub init_end: u64,
    pub segments: Vec<(u64, u64)>,
    /// Encoder delay at the start (seconds), trimmed for gapless playback.
    pub priming_secs: f64,
    /// Loudness normalization gain (dB, at most 0), if measured at import.
    pub gain_db: Option<f64>,
}

#[cfg(feature = "ssr")]
pub(crate) fn track_items(
    user: &backend::auth::CurrentUser,
    tracks: Vec<backend::library::TrackView>,
) -> Vec<TrackItem> {
    let admin = user.role == backend::auth::Role::Admin;
    tracks
        .into_iter()
        .map(|t| TrackItem {
            can_delete: admin || t.owner_id == user.id,
            id: t.id,
            title: t.title,
            artist: t.artist,
            artist_id: t.artist_id,
            album: t.album,
            album_id: t.album_id,
            duration_ms: t.duration_ms,
            has_cover: t.has_cover,
            cover_v: t.cover_v,
            liked: t.liked,
            plays: t.plays,
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlbumItem {
    pub id: String,
    pub title: String,
    pub artist_id: String,
    pub artist: String,
    pub year: Option<i64>,
    /// A track whose cover stands for the album (covers are served per track).
    pub cover_track_id: Option<String>,
    #[serde(default)]
    pub cover_v: String,
    pub tracks: i64,
    /// The listener liked the album.
    #[serde(default)]
    pub liked: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtistItem {
    pub id: String,
    pub name: String,
    pub tracks: i64,
}

#[cfg(feature = "ssr")]
pub(crate) fn album_item(a: backend::library::AlbumView) -> AlbumItem {
    AlbumItem {
        id: a.id,
        title: a.title,
        artist_id: a.artist_id,
        artist: a.artist,
        year: a.year,
        cover_track_id: a.cover_track_id,
        cover_v: a.cover_v,
        tracks: a.tracks,
        liked: a.liked,
    }
}

#[cfg(feature = "ssr")]
pub(crate) fn artist_item(a: backend::library::ArtistView) -> ArtistItem {
    ArtistItem {
        id: a.id,
        name: a.name,
        tracks: a.tracks,
    }
}
