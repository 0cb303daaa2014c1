//! Catalog editing: fixing a track's tags, editing, merging and deleting albums and
//! artists, album covers, and one field set on many tracks at once.
//!
//! Admins may change anything; everyone else only their own uploads (an album as a whole
//! only when they uploaded every track of it), and an artist account's tracks stay
//! credited to its profile. Every change is audited and re-indexed for search in the
//! transaction that makes it; albums and artists left without tracks go with it.

pub mod repo;
mod service;

pub use repo::TrackRow;
pub use service::*;
