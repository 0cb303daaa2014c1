//! SQL of play queues.

use crate::Result;
use crate::library::repo::{TRACK_COLUMNS, TRACK_JOINS, TrackView, track_view};
use sqlx::{Executor, Row};

pub struct StoredQueue {
    pub track_ids: String,
    pub position: i64,
    pub position_ms: i64,
    pub updated_at: i64,
}

#[tracing::instrument(name = "sql queue.get", skip_all)]
pub async fn get<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<Option<StoredQueue>> {
    let row = sqlx::query(
        "SELECT track_ids, position, position_ms, updated_at FROM play_queues WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| StoredQueue {
        track_ids: r.get("track_ids"),
        position: r.get("position"),
        position_ms: r.get("position_ms"),
        updated_at: r.get("updated_at"),
    }))
}

#[tracing::instrument(name = "sql queue.put", skip_all)]
pub async fn put<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    q: &StoredQueue,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO play_queues (user_id, track_ids, position, position_ms, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id) DO UPDATE SET track_ids = excluded.track_ids,
            position = excluded.position, position_ms = excluded.position_ms,
            updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(&q.track_ids)
    .bind(q.position)
    .bind(q.position_ms)
    .bind(q.updated_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Moves the current position; false when the listener has no queue or `position` is not
/// in it.
#[tracing::instrument(name = "sql queue.set_position", skip_all)]
pub async fn set_position<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    position: i64,
    position_ms: i64,
    len: i64,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE play_queues SET position = $2, position_ms = $3, updated_at = $5
         WHERE user_id = $1 AND $2 < $4",
    )
    .bind(user_id)
    .bind(position)
    .bind(position_ms)
    .bind(len)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// Track views of `ids` that `user_id` may see (in no particular order).
#[tracing::instrument(name = "sql queue.visible_tracks", skip_all)]
pub async fn visible_tracks<'e, E: Executor<'e, Database = sqlx::Any> + Copy>(
    db: E,
    user_id: &str,
    ids: &[String],
) -> Result<Vec<TrackView>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let marks = (0..chunk.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {TRACK_COLUMNS} FROM tracks t {TRACK_JOINS}
             WHERE t.id IN ({marks}) AND (t.owner_id = $1 OR t.shared = 1)"
        );
        let mut q = sqlx::query(&sql).bind(user_id);
        for id in chunk {
            q = q.bind(id);
        }
        out.extend(q.fetch_all(db).await?.into_iter().map(track_view));
    }
    Ok(out)
}
