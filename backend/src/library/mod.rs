//! The catalog: artists, albums and tracks, and who may see them.
//!
//! Visibility: a track is visible to its owner, and to everyone when it is in the shared
//! catalog. Uploads by admins and artists go to the shared catalog (an artist's credited
//! to their artist profile); a listener's uploads are personal. Enforced in the SQL.

pub mod repo;
mod service;

pub(crate) use service::delete_objects;

pub use repo::{AlbumView, ArtistView, NewTrack, TrackSort, TrackView};
pub use service::{
    CoverObject, MAX_PAGE, album, albums_page, artist, artists_page, cover_object, delete_track,
    liked_albums, liked_tracks, list_tracks, recently_played, set_album_liked, set_liked,
    tracks_page,
};
