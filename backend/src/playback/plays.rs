//! Play counts and history. The player reports a playback once it counts (30 seconds, or
//! half the track when that is shorter); the report becomes a `play.recorded` event in the
//! outbox, and its handler adds the play to the history and the user's count, once per
//! playback however often the event is delivered.

use crate::events::{self, Event};
use crate::infra::actor::CurrentUser;
use crate::library::repo as library_repo;
use crate::{Core, Error, Result, now_ms};
use serde::{Deserialize, Serialize};

/// A play counts after this much listening, or half the track if that is shorter.
pub const COUNTS_AFTER_MS: i64 = 30_000;

/// The payload of [`events::PLAY_RECORDED`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlayRecorded {
    /// Made by the player, one per playback: a playback counts once.
    pub playback_id: String,
    pub user_id: String,
    pub track_id: String,
    pub listened_ms: i64,
    pub played_at: i64,
}

/// Whether `listened_ms` of a `duration_ms` track is a play.
pub fn counts(listened_ms: i64, duration_ms: i64) -> bool {
    listened_ms >= COUNTS_AFTER_MS || listened_ms.saturating_mul(2) >= duration_ms
}

/// Records a play of a track the user may play; refused (and nothing recorded) when too
/// little was heard or the playback id is malformed.
pub async fn record_play(
    core: &Core,
    user: &CurrentUser,
    track_id: &str,
    playback_id: &str,
    listened_ms: i64,
) -> Result<()> {
    record_play_at(core, user, track_id, playback_id, listened_ms, now_ms()).await
}

/// [`record_play`] of a play that happened at `played_at` (a Subsonic app's scrobble of
/// a play made offline); a time in the future counts as now.
pub async fn record_play_at(
    core: &Core,
    user: &CurrentUser,
    track_id: &str,
    playback_id: &str,
    listened_ms: i64,
    played_at: i64,
) -> Result<()> {
    let valid_id = (16..=64).contains(&playback_id.len())
        && playback_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !valid_id {
        return Err(Error::Invalid("malformed playback id".into()));
    }
    let track = library_repo::stream_row(&core.db, track_id, &user.id)
        .await?
        .ok_or(Error::NotFound("track"))?;
    if !counts(listened_ms, track.duration_ms) {
        return Err(Error::Invalid(
            "a play counts after 30 seconds, or half of a shorter track".into(),
        ));
    }
    let play = PlayRecorded {
        playback_id: playback_id.to_string(),
        user_id: user.id.clone(),
        track_id: track_id.to_string(),
        listened_ms: listened_ms.min(track.duration_ms),
        played_at: played_at.min(now_ms()),
    };
    let payload = serde_json::to_value(&play).map_err(|e| anyhow::anyhow!("play event: {e}"))?;
    events::repo::enqueue(
        &core.db,
        &Event::new(events::PLAY_RECORDED, &user.id, payload),
    )
    .await?;
    core.events.wake();
    Ok(())
}

/// The handler of [`events::PLAY_RECORDED`]: adds the play to the history and the count in
/// one transaction with the event's idempotency record. A play of a track deleted in the
/// meantime is dropped.
pub async fn apply_play(
    core: &Core,
    event_id: &str,
    handler: &str,
    p: &PlayRecorded,
) -> Result<()> {
    let mut tx = crate::db::begin(&core.db).await?;
    if events::repo::is_processed(&mut *tx, handler, event_id).await? {
        return Ok(());
    }
    let added = super::repo::insert_play(
        &mut *tx,
        &p.playback_id,
        &p.user_id,
        &p.track_id,
        p.played_at,
        p.listened_ms,
    )
    .await?;
    if added {
        super::repo::count_play(&mut *tx, &p.user_id, &p.track_id, p.played_at).await?;
    }
    events::repo::mark_processed(&mut *tx, handler, event_id).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::counts;

    #[test]
    fn a_play_counts_after_30_seconds_or_half_a_shorter_track() {
        let three_minutes = 180_000;
        assert!(!counts(29_999, three_minutes));
        assert!(counts(30_000, three_minutes));
        let forty_seconds = 40_000;
        assert!(!counts(19_999, forty_seconds));
        assert!(counts(20_000, forty_seconds));
    }
}
