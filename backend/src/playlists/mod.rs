//! Playlists: ordered lists of tracks that belong to a listener, private or public.
//!
//! Only the owner changes a playlist. A public one can be opened, played and copied by
//! anyone signed in; a private one is "not found" for everyone else. Whoever looks at a
//! playlist sees only the tracks they may play themselves (someone's personal upload in
//! their public playlist stays theirs).

pub mod repo;
mod service;

pub use repo::PlaylistView;
pub use service::{
    MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_TRACKS, PlaylistPage, add_tracks, copy, create,
    delete, get, list_mine, move_entry, remove_entry, replace, update,
};
