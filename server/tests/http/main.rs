//! The real router on port 0 with real components: sessions, uploads, streaming.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

mod monitoring;
mod pages;
mod pictures;
mod roles;
mod security;
mod session_store;
mod sessions;
mod streaming;
mod uploads;
