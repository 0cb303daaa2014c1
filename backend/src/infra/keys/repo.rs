use crate::Result;
use sqlx::{Executor, Row};

pub struct KeyRow {
    pub kid: String,
    pub pkcs8_b64: String,
    pub live: bool,
}

/// Live keys and those retired after `retired_after`, oldest first.
#[tracing::instrument(name = "sql keys.usable", skip_all)]
pub async fn usable<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    purpose: &str,
    retired_after: i64,
) -> Result<Vec<KeyRow>> {
    let rows = sqlx::query(
        "SELECT kid, pkcs8_b64, retired_at FROM signing_keys
         WHERE purpose = $1 AND (retired_at IS NULL OR retired_at > $2)
         ORDER BY created_at, kid",
    )
    .bind(purpose)
    .bind(retired_after)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| KeyRow {
            kid: r.get("kid"),
            pkcs8_b64: r.get("pkcs8_b64"),
            live: r.get::<Option<i64>, _>("retired_at").is_none(),
        })
        .collect())
}

#[tracing::instrument(name = "sql keys.insert", skip_all)]
pub async fn insert<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    kid: &str,
    purpose: &str,
    pkcs8_b64: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO signing_keys (kid, purpose, pkcs8_b64, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (kid) DO NOTHING",
    )
    .bind(kid)
    .bind(purpose)
    .bind(pkcs8_b64)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

#[tracing::instrument(name = "sql keys.retire_live", skip_all)]
pub async fn retire_live<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    purpose: &str,
    now: i64,
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE signing_keys SET retired_at = $2 WHERE purpose = $1 AND retired_at IS NULL",
    )
    .bind(purpose)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected())
}

/// Replaces a key's stored form (sealing one kept in clear), if it is still `was`.
#[tracing::instrument(name = "sql keys.restore", skip_all)]
pub async fn restore<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    kid: &str,
    was: &str,
    now: &str,
) -> Result<()> {
    sqlx::query("UPDATE signing_keys SET pkcs8_b64 = $3 WHERE kid = $1 AND pkcs8_b64 = $2")
        .bind(kid)
        .bind(was)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}
