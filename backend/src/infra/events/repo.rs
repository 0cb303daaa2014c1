use super::Event;
use crate::{Result, now_ms};
use sqlx::{AnyConnection, Executor, Row};

#[tracing::instrument(name = "sql events.enqueue", skip_all)]
pub async fn enqueue<'e, E: Executor<'e, Database = sqlx::Any>>(db: E, ev: &Event) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox (event_id, topic, aggregate_id, payload, created_at, traceparent)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&ev.id)
    .bind(&ev.topic)
    .bind(&ev.aggregate_id)
    .bind(ev.payload.to_string())
    .bind(now_ms())
    .bind(&ev.traceparent)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Pending {
    pub seq: i64,
    pub attempts: i64,
    pub event: Event,
}

/// Unpublished, live events in commit order.
#[tracing::instrument(name = "sql events.pending", skip_all)]
pub async fn pending<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    limit: i64,
) -> Result<Vec<Pending>> {
    let rows = sqlx::query(
        "SELECT seq, event_id, topic, aggregate_id, payload, attempts, traceparent FROM outbox
         WHERE published_at IS NULL ORDER BY seq LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(pending_row).collect()
}

fn pending_row(r: sqlx::any::AnyRow) -> Result<Pending> {
    let payload: String = r.get("payload");
    Ok(Pending {
        seq: r.get("seq"),
        attempts: r.get("attempts"),
        event: Event {
            id: r.get("event_id"),
            topic: r.get("topic"),
            aggregate_id: r.get("aggregate_id"),
            payload: serde_json::from_str(&payload)
                .map_err(|e| anyhow::anyhow!("outbox payload is not JSON: {e}"))?,
            traceparent: r.get("traceparent"),
        },
    })
}

/// Like `pending`, but locks the rows for this transaction and skips rows another relay
/// holds (PostgreSQL only).
#[tracing::instrument(name = "sql events.claim_pending", skip_all)]
pub async fn claim_pending<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    limit: i64,
) -> Result<Vec<Pending>> {
    let rows = sqlx::query(
        "SELECT seq, event_id, topic, aggregate_id, payload, attempts, traceparent FROM outbox
         WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(pending_row).collect()
}

#[tracing::instrument(name = "sql events.mark_published", skip_all)]
pub async fn mark_published<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    seq: i64,
) -> Result<()> {
    sqlx::query("UPDATE outbox SET published_at = $2 WHERE seq = $1")
        .bind(seq)
        .bind(now_ms())
        .execute(db)
        .await?;
    Ok(())
}

/// Marks many rows published in one statement (`seqs` are integers from the database, so
/// formatting them into the SQL is safe).
#[tracing::instrument(name = "sql events.mark_all_published", skip_all)]
pub async fn mark_all_published<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    seqs: &[i64],
) -> Result<()> {
    if seqs.is_empty() {
        return Ok(());
    }
    let list = seqs
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    sqlx::query(&format!(
        "UPDATE outbox SET published_at = $1 WHERE seq IN ({list})"
    ))
    .bind(now_ms())
    .execute(db)
    .await?;
    Ok(())
}

/// Records a failed attempt; with `dead` the event is given up on (published_at set).
#[tracing::instrument(name = "sql events.mark_failed", skip_all)]
pub async fn mark_failed<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    seq: i64,
    error: &str,
    dead: bool,
) -> Result<()> {
    sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, last_error = $2,
         dead = $3, published_at = CASE WHEN $3 = 1 THEN $4 ELSE published_at END WHERE seq = $1",
    )
    .bind(seq)
    .bind(error)
    .bind(i64::from(dead))
    .bind(now_ms())
    .execute(db)
    .await?;
    Ok(())
}

#[tracing::instrument(name = "sql events.is_processed", skip_all)]
pub async fn is_processed<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    handler: &str,
    event_id: &str,
) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM processed_events WHERE handler = $1 AND event_id = $2",
    )
    .bind(handler)
    .bind(event_id)
    .fetch_one(db)
    .await?;
    Ok(n > 0)
}

/// Records that `handler` applied `event_id`; returns false if it already had.
#[tracing::instrument(name = "sql events.mark_processed", skip_all)]
pub async fn mark_processed<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    handler: &str,
    event_id: &str,
) -> Result<bool> {
    let res = sqlx::query(
        "INSERT INTO processed_events (handler, event_id, processed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(handler)
    .bind(event_id)
    .bind(now_ms())
    .execute(db)
    .await?;
    Ok(res.rows_affected() == 1)
}

#[tracing::instrument(name = "sql events.backlog", skip_all)]
pub async fn backlog<'e, E: Executor<'e, Database = sqlx::Any>>(db: E) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(db)
            .await?,
    )
}

/// When the oldest event not yet handed on was written (None: there is none).
#[tracing::instrument(name = "sql events.oldest_pending", skip_all)]
pub async fn oldest_pending<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT MIN(created_at) FROM outbox WHERE published_at IS NULL")
            .fetch_one(db)
            .await?,
    )
}

/// How long an email's outbox row is kept once it was handed on (delivered, or passed to
/// Kafka): its body holds single-use links, which must not outlive their use in the
/// database.
pub const EMAIL_RETENTION_MS: i64 = 15 * 60 * 1000;
/// How long any other outbox row is kept once it was handed on (for looking into what
/// happened).
pub const RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

/// Deletes the outbox rows handed on (published, or given up on) longer ago than their
/// retention; returns how many. Rows not yet handed on are never touched.
#[tracing::instrument(name = "sql events.prune", skip_all)]
pub async fn prune<'e, E: Executor<'e, Database = sqlx::Any>>(db: E, now: i64) -> Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM outbox WHERE published_at IS NOT NULL
           AND published_at < CASE WHEN topic = $1 THEN $2 ELSE $3 END",
    )
    .bind(super::EMAIL_REQUESTED)
    .bind(now - EMAIL_RETENTION_MS)
    .bind(now - RETENTION_MS)
    .execute(db)
    .await?
    .rows_affected())
}

/// Queues an email about `user_id`'s account, inside the caller's transaction (the
/// worker sends it once the transaction commits).
pub async fn queue_email(
    conn: &mut AnyConnection,
    user_id: &str,
    to: &str,
    subject: String,
    text: String,
) -> Result<()> {
    let msg = super::EmailMessage {
        to: to.to_string(),
        subject,
        text,
    };
    let payload =
        serde_json::to_value(&msg).map_err(|e| anyhow::anyhow!("encode email event: {e}"))?;
    enqueue(
        &mut *conn,
        &Event::new(super::EMAIL_REQUESTED, user_id, payload),
    )
    .await?;
    Ok(())
}
