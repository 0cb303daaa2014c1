//! The play queue, stored per listener so playback continues on reload or another device.

mod repo;
mod service;

pub use service::{MAX_QUEUE, QueueState, get, save, save_position};
