//! The ground floor: configuration, the database pool and errors, object storage, the
//! event outbox and its relay, signing keys, session stores, the signed-in actor, crypto
//! helpers, counters, limiters and caches, and `Core`, which holds them. Nothing here
//! imports a domain module (`scripts/layout.py` checks it); the domains stand on it, and
//! `boot.rs` puts them together.

pub mod actor;
pub mod breaker;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod events;
pub mod failpoint;
pub mod gate;
pub mod keys;
pub mod metrics;
pub mod sealed;
pub mod sessions;
pub mod sso_cache;
pub mod state;
pub mod storage;
pub mod telemetry;
