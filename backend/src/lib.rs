//! Refrain's server-only domain crate: everything the server, the worker and the `app`
//! crate's `ssr` feature share. One folder per domain, each with `repo.rs` (SQL) and
//! `service.rs` (rules and transactions), standing on `infra/` (the ground floor, which
//! imports no domain); `boot.rs` assembles the domains at start-up.

pub mod admin;
pub mod artists;
pub mod auth;
pub mod boot;
pub mod catalog;
pub mod downloads;
pub mod folders;
pub mod imports;
pub mod library;
pub mod media;
pub mod ops;
pub mod pictures;
pub mod playback;
pub mod playlists;
pub mod queue;
pub mod search;
pub mod subsonic;
#[cfg(feature = "testing")]
pub mod testing;

/// The ground floor: what every domain stands on, importing none of them.
pub mod infra;
// The ground floor's modules keep the paths they had before they moved there.
/// `Core` and its start-up and readiness, under the path they had.
pub use boot as state;
pub use infra::{breaker, config, db, error, events, failpoint, keys, sealed, storage, telemetry};

/// Re-exported so crates without their own `anyhow` can build `Error::Unexpected`.
pub use anyhow::Error as AnyError;
pub use config::Config;
pub use error::{Error, Result};
pub use infra::state::Core;

/// Current time as Unix milliseconds; the schema stores every timestamp this way.
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
