//! The app's ground floor: formatting, DOM helpers, covers, the page error and this
//! browser's storage. It names no feature (scripts/layout.py checks), so every feature
//! may stand on it.

pub mod cover;
pub mod dom;
pub mod format;
pub mod page_error;
#[cfg(feature = "hydrate")]
pub mod storage;
