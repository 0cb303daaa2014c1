//! SQL of plays: the history and each user's count per track.

use crate::Result;
use sqlx::Executor;

/// Adds a play to the history unless that playback is there already, or its track or user
/// is gone; true when added.
#[tracing::instrument(name = "sql playback.insert_play", skip_all)]
pub async fn insert_play<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    playback_id: &str,
    user_id: &str,
    track_id: &str,
    played_at: i64,
    listened_ms: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "INSERT INTO play_history (id, user_id, track_id, played_at, listened_ms)
         SELECT $1, $2, $3, $4, $5
         WHERE EXISTS (SELECT 1 FROM tracks WHERE id = $3)
           AND EXISTS (SELECT 1 FROM users WHERE id = $2)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(playback_id)
    .bind(user_id)
    .bind(track_id)
    .bind(played_at)
    .bind(listened_ms)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// One more play of `track_id` by `user_id`.
#[tracing::instrument(name = "sql playback.count_play", skip_all)]
pub async fn count_play<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    track_id: &str,
    played_at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO play_counts (user_id, track_id, plays, last_played_at) VALUES ($1, $2, 1, $3)
         ON CONFLICT (user_id, track_id) DO UPDATE SET plays = play_counts.plays + 1,
            last_played_at = CASE WHEN excluded.last_played_at > play_counts.last_played_at
                                  THEN excluded.last_played_at ELSE play_counts.last_played_at END",
    )
    .bind(user_id)
    .bind(track_id)
    .bind(played_at)
    .execute(db)
    .await?;
    Ok(())
}

/// What a stream request needs, in one statement: the user behind the live login
/// `login_id` (within the time-outs; see `auth::repo::user_for_login`), when it was last
/// seen, and the rendition of `track_id` if that user may play it (all `None` if not).
pub struct StreamGrant {
    pub user_id: String,
    pub last_seen: Option<i64>,
    /// `(key, mime, bytes, ready)` of the rendition.
    pub rendition: Option<(String, String, i64, bool)>,
}

#[tracing::instrument(name = "sql playback.stream_grant", skip_all)]
pub async fn stream_grant<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    (login_id, started_after, seen_after): (&str, i64, i64),
    track_id: &str,
) -> Result<Option<StreamGrant>> {
    use sqlx::Row;
    let row = sqlx::query(concat!(
        "SELECT u.id, l.last_seen_at, t.rendition_key, t.rendition_mime, t.rendition_bytes,
                t.rendition_ready
         FROM logins l JOIN users u ON u.id = l.user_id
         LEFT JOIN tracks t ON t.id = $4 AND (t.owner_id = u.id OR t.shared = 1)
         WHERE ",
        crate::auth::repo::live_login!()
    ))
    .bind(login_id)
    .bind(started_after)
    .bind(seen_after)
    .bind(track_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| {
        let key: Option<String> = r.get("rendition_key");
        StreamGrant {
            user_id: r.get("id"),
            last_seen: r.get("last_seen_at"),
            rendition: key.map(|k| {
                (
                    k,
                    r.get("rendition_mime"),
                    r.get("rendition_bytes"),
                    r.get::<i64, _>("rendition_ready") == 1,
                )
            }),
        }
    }))
}
