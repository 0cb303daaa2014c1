//! Streaming: signed, short-lived stream URLs and HTTP byte ranges.

pub mod plays;
mod range;
mod repo;
mod service;
pub mod token;

pub use crate::keys::TokenError;
pub use range::{ByteRange, RangeError, parse_range};
pub use service::{
    Denied, StreamAccess, StreamInfo, authorize_stream, stream_info, stream_info_if_ready,
};
pub use token::{STREAM_AUDIENCE, StreamClaims};
