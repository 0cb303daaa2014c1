//! Artist accounts. A listener asks to become an artist under a name; an admin approves
//! (the account becomes an artist linked to that artist profile) or declines. Artists
//! publish to the shared catalog, and their uploads are credited to their profile
//! whatever the files' tags say, so nobody can publish in another artist's name.

mod repo;
mod service;

pub use repo::ArtistRequest;
pub use service::{ArtistStatus, check_name, decide, pending_requests, request, status};
