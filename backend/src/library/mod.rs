//! The catalog: artists, albums and tracks, and who may see them.
//!
//! Visibility (until roles arrive): a track is visible to its owner, and to everyone when
//! it is in the shared catalog. Uploads by an admin go to the shared catalog; uploads by
//! anyone else are personal.

pub mod repo;
mod service;

pub use repo::{NewTrack, TrackView};
pub use service::{cover_for, delete_track, list_tracks};
