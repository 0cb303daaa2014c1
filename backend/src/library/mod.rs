//! The catalog: artists, albums and tracks, and who may see them.
//!
//! Visibility: a track is visible to its owner, and to everyone when it is in the shared
//! catalog. Uploads by admins and artists go to the shared catalog (an artist's credited
//! to their artist profile); a listener's uploads are personal. Enforced in the SQL.

pub mod repo;
mod service;

pub use repo::{AlbumView, ArtistView, NewTrack, TrackView};
pub use service::{
    album, artist, cover_for, delete_track, liked_tracks, list_tracks, recently_played, set_liked,
};
