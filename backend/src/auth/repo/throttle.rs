//! SQL of sign-in throttling: one `auth_throttle` row per account or client address.

use crate::Result;
use sqlx::Executor;

/// When the key's wait ends, if it failed within the window starting at `window_start`.
#[tracing::instrument(name = "sql auth.throttle_blocked_until_within", skip_all)]
pub async fn blocked_until_within<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    key: &str,
    window_start: i64,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT blocked_until FROM auth_throttle WHERE key = $1 AND first_failure_at > $2",
    )
    .bind(key)
    .bind(window_start)
    .fetch_optional(db)
    .await?)
}

/// When the key's wait ends, if it has a row.
#[tracing::instrument(name = "sql auth.throttle_blocked_until", skip_all)]
pub async fn blocked_until<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    key: &str,
) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT blocked_until FROM auth_throttle WHERE key = $1")
            .bind(key)
            .fetch_optional(db)
            .await?,
    )
}

/// Counts one try against `key` unless it must wait: the count after it, or None (nothing
/// counted) while the key waits. One statement, so parallel tries all count. `free` tries
/// are allowed before a wait; `max_wait` caps one.
#[tracing::instrument(name = "sql auth.throttle_count_try", skip_all)]
pub async fn count_try<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    key: &str,
    now: i64,
    window_start: i64,
    free: i64,
    max_wait: i64,
) -> Result<Option<i64>> {
    // The count after this try, and (past the free tries) the wait it sets: one second
    // doubling per try over, at most max_wait. A row older than the window starts over
    // at one.
    let n = "CASE WHEN auth_throttle.first_failure_at <= $3 THEN 1
                  ELSE auth_throttle.failures + 1 END";
    let sql = format!(
        "INSERT INTO auth_throttle (key, failures, first_failure_at, blocked_until)
         VALUES ($1, 1, $2, 0)
         ON CONFLICT (key) DO UPDATE SET
           failures = {n},
           first_failure_at = CASE WHEN auth_throttle.first_failure_at <= $3 THEN $2
                                   ELSE auth_throttle.first_failure_at END,
           blocked_until = CASE WHEN {n} > $4 THEN $2 + CASE
               WHEN {n} - $4 - 1 >= 20 THEN $5
               WHEN (CAST(1000 AS BIGINT) << CAST({n} - $4 - 1 AS INTEGER)) > $5 THEN $5
               ELSE (CAST(1000 AS BIGINT) << CAST({n} - $4 - 1 AS INTEGER)) END
             ELSE 0 END
         WHERE auth_throttle.blocked_until <= $2 OR auth_throttle.first_failure_at <= $3
         RETURNING failures"
    );
    Ok(sqlx::query_scalar(&sql)
        .bind(key)
        .bind(now)
        .bind(window_start)
        .bind(free)
        .bind(max_wait)
        .fetch_optional(db)
        .await?)
}

/// Takes back one counted try (and the wait it set, while the count is within the `free`
/// tries again).
#[tracing::instrument(name = "sql auth.throttle_forgive", skip_all)]
pub async fn forgive<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    key: &str,
    free: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE auth_throttle SET failures = failures - 1,
           blocked_until = CASE WHEN failures - 1 > $2 THEN blocked_until ELSE 0 END
         WHERE key = $1 AND failures > 0",
    )
    .bind(key)
    .bind(free)
    .execute(db)
    .await?;
    Ok(())
}

/// Forgets the key's failures.
#[tracing::instrument(name = "sql auth.throttle_clear", skip_all)]
pub async fn clear<'e, E: Executor<'e, Database = sqlx::Any>>(db: E, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM auth_throttle WHERE key = $1")
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}
