//! The few statements the database layer runs itself: the health ping and the record of
//! one-time maintenance passes.

use super::Db;
use crate::Result;

/// Whether the database answers a trivial query. The error is sqlx's own: readiness
/// reports it as "not answering" without logging it as an outage.
pub async fn ping(db: &Db) -> std::result::Result<(), sqlx::Error> {
    sqlx::query_scalar::<_, i64>("SELECT 1")
        .fetch_one(db)
        .await
        .map(|_| ())
}

/// Whether the one-time pass `name` has run on this database (see `maintenance_done`).
#[tracing::instrument(name = "sql db.maintenance_done", skip_all)]
pub async fn maintenance_done(db: &Db, name: &str) -> Result<bool> {
    let done: Option<i64> =
        sqlx::query_scalar("SELECT done_at FROM maintenance_done WHERE name = $1")
            .bind(name)
            .fetch_optional(db)
            .await?;
    Ok(done.is_some())
}

/// Records that the one-time pass `name` has run (a second node recording it too is fine:
/// the passes are idempotent).
#[tracing::instrument(name = "sql db.mark_maintenance_done", skip_all)]
pub async fn mark_maintenance_done(db: &Db, name: &str) -> Result<()> {
    sqlx::query("INSERT INTO maintenance_done (name, done_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(crate::now_ms())
        .execute(db)
        .await?;
    Ok(())
}
