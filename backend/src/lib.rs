//! Refrain's server-only domain crate: everything the server, the worker and the `app`
//! crate's `ssr` feature share. One folder per domain, each with `repo.rs` (SQL) and
//! `service.rs` (rules and transactions).

pub mod admin;
pub mod artists;
pub mod auth;
pub mod breaker;
pub mod catalog;
pub mod config;
pub mod db;
pub mod downloads;
pub mod error;
pub mod events;
pub mod failpoint;
pub mod folders;
pub mod imports;
pub mod keys;
pub mod library;
pub mod media;
pub mod ops;
pub mod pictures;
pub mod playback;
pub mod playlists;
pub mod queue;
pub mod sealed;
pub mod search;
pub mod state;
pub mod storage;
pub mod subsonic;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

/// Re-exported so crates without their own `anyhow` can build `Error::Unexpected`.
pub use anyhow::Error as AnyError;
pub use config::Config;
pub use error::{Error, Result};
pub use state::Core;

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
