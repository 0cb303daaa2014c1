//! Search over what a user may see: tracks, albums and artists, as you type.
//!
//! One interface over two engines: SQLite FTS5 and PostgreSQL full-text search, ranking
//! alike (by the fields the words are found in, in SQL both run). The application folds
//! text itself ([`text`]) so both see the same words, and tolerates one typo per word by correcting it from a vocabulary
//! table that both databases keep the same way.

pub mod repo;
mod service;
pub mod text;

pub use service::{
    GROUP_HITS, MAX_QUERY_CHARS, MAX_QUERY_WORDS, SearchResults, TRACK_HITS, index_missing, search,
};
