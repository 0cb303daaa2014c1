//! The player's server functions: what it streams, the plays and likes it reports, and
//! the queue it keeps on the server. Their URLs are pinned (`endpoint`) to the names they
//! had before they moved here, so a page of the previous build keeps working.

use crate::error::AppError;
use crate::model::StreamInfo;
use crate::model::TrackItem;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::Postcard;

/// Reports a playback that counts as a play (the player calls it once per playback).
#[server(output = Postcard, endpoint = "record_play2621321219171525520")]
pub async fn record_play(
    track_id: String,
    playback_id: String,
    listened_ms: i64,
) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(
        backend::playback::plays::record_play(&core, &user, &track_id, &playback_id, listened_ms)
            .await?,
    )
}

#[server(output = Postcard, endpoint = "set_liked2621321219171525520")]
pub async fn set_liked(track_id: String, liked: bool) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::library::set_liked(&core, &user, &track_id, liked).await?)
}

#[server(output = Postcard, endpoint = "stream_track2621321219171525520")]
pub async fn stream_track(track_id: String) -> Result<StreamInfo, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let s = backend::playback::stream_info(&core, &user, &track_id).await?;
    Ok(stream_info_of(s))
}

#[cfg(feature = "ssr")]
pub(crate) fn stream_info_of(s: backend::playback::StreamInfo) -> StreamInfo {
    StreamInfo {
        url: s.url,
        mime: s.mime,
        duration_ms: s.duration_ms,
        bytes: s.bytes,
        init_end: s.init_end,
        segments: s.segments,
        priming_secs: s.priming_secs,
        gain_db: s.gain_db,
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueData {
    pub tracks: Vec<TrackItem>,
    pub index: usize,
    pub position_ms: i64,
}

#[server(output = Postcard, endpoint = "get_queue13798045881536016176")]
pub async fn get_queue() -> Result<QueueData, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let q = backend::queue::get(&core, &user).await?;
    Ok(QueueData {
        tracks: crate::model::track_items(&user, q.tracks),
        index: q.index,
        position_ms: q.position_ms,
    })
}

#[server(input = Postcard, output = Postcard, endpoint = "save_queue")]
pub async fn save_queue(
    track_ids: Vec<String>,
    index: usize,
    position_ms: i64,
) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::queue::save(&core, &user, track_ids, index, position_ms).await?)
}

#[server(output = Postcard, endpoint = "save_queue_position")]
pub async fn save_queue_position(index: usize, position_ms: i64) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::queue::save_position(&core, &user, index, position_ms).await?)
}
