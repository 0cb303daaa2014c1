use super::repo::{self, StoredQueue};
use crate::infra::actor::CurrentUser;
use crate::library::TrackView;
use crate::{Core, Error, Result, now_ms};
use std::collections::HashMap;

/// Most tracks a queue holds.
pub const MAX_QUEUE: usize = 1000;

/// A listener's queue as they may play it now.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct QueueState {
    /// In play order; tracks deleted (or no longer visible) since are left out.
    pub tracks: Vec<TrackView>,
    /// The current track's index in `tracks` (0 when empty).
    pub index: usize,
    /// How far into the current track playback was.
    pub position_ms: i64,
    pub updated_at: i64,
}

/// The listener's queue; empty if they never played anything.
pub async fn get(core: &Core, user: &CurrentUser) -> Result<QueueState> {
    let Some(stored) = repo::get(&core.db, &user.id).await? else {
        return Ok(QueueState::default());
    };
    let ids: Vec<String> = serde_json::from_str(&stored.track_ids)
        .map_err(|e| anyhow::anyhow!("stored queue of {} is not a JSON list: {e}", user.id))?;
    let found: HashMap<String, TrackView> = repo::visible_tracks(&core.db, &user.id, &ids)
        .await?
        .into_iter()
        .map(|t| (t.id.clone(), t))
        .collect();
    let current = usize::try_from(stored.position).unwrap_or(0);
    let mut tracks = Vec::with_capacity(ids.len());
    let (mut kept_before, mut current_kept) = (0, false);
    for (i, id) in ids.iter().enumerate() {
        if let Some(t) = found.get(id) {
            kept_before += usize::from(i < current);
            current_kept |= i == current;
            tracks.push(t.clone());
        }
    }
    // The current track is gone: continue with the one after it, from its start.
    let position_ms = if current_kept { stored.position_ms } else { 0 };
    Ok(QueueState {
        index: kept_before.min(tracks.len().saturating_sub(1)),
        tracks,
        position_ms,
        updated_at: stored.updated_at,
    })
}

/// Replaces the listener's queue. Every track must be one they may play; the index must
/// be in the queue (or 0 for an empty one).
pub async fn save(
    core: &Core,
    user: &CurrentUser,
    track_ids: Vec<String>,
    index: usize,
    position_ms: i64,
) -> Result<()> {
    if track_ids.len() > MAX_QUEUE {
        return Err(Error::Invalid(format!(
            "a queue holds at most {MAX_QUEUE} tracks"
        )));
    }
    if index >= track_ids.len().max(1) || position_ms < 0 {
        return Err(Error::Invalid("queue position out of range".into()));
    }
    if track_ids.iter().any(|id| id.is_empty() || id.len() > 64) {
        return Err(Error::NotFound("track"));
    }
    let mut distinct = track_ids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let visible = repo::visible_tracks(&core.db, &user.id, &distinct).await?;
    if visible.len() != distinct.len() {
        return Err(Error::NotFound("track"));
    }
    let stored = StoredQueue {
        track_ids: serde_json::to_string(&track_ids)
            .map_err(|e| anyhow::anyhow!("serialize queue: {e}"))?,
        position: index as i64,
        position_ms,
        updated_at: now_ms(),
    };
    repo::put(&core.db, &user.id, &stored).await
}

/// Moves within the stored queue (the player calls this as it goes).
pub async fn save_position(
    core: &Core,
    user: &CurrentUser,
    index: usize,
    position_ms: i64,
) -> Result<()> {
    if position_ms < 0 {
        return Err(Error::Invalid("queue position out of range".into()));
    }
    let Some(stored) = repo::get(&core.db, &user.id).await? else {
        return Err(Error::NotFound("queue"));
    };
    let len = serde_json::from_str::<Vec<String>>(&stored.track_ids)
        .map_err(|e| anyhow::anyhow!("stored queue of {} is not a JSON list: {e}", user.id))?
        .len();
    if !repo::set_position(
        &core.db,
        &user.id,
        index as i64,
        position_ms,
        len as i64,
        now_ms(),
    )
    .await?
    {
        return Err(Error::Invalid("queue position out of range".into()));
    }
    Ok(())
}
