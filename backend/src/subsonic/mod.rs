//! What the OpenSubsonic API (`/rest`, served by the server crate) needs of the domain:
//! app credentials and authentication ([`keys`]) and the catalog as apps browse it
//! ([`catalog`]).

pub mod bookmarks;
pub mod catalog;
pub mod keys;
pub mod lists;
pub mod media;
pub mod repo;
pub mod transcode;
