//! SQL of the new-device notices: who a login belongs to, the devices of earlier logins,
//! and the one-use links that end a login.

use crate::Result;
use sqlx::{Executor, Row};

/// The user a login belongs to.
#[tracing::instrument(name = "sql auth.user_of_login", skip_all)]
pub async fn user_of_login<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    login_id: &str,
) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar::<_, String>("SELECT user_id FROM logins WHERE id = $1")
            .bind(login_id)
            .fetch_optional(db)
            .await?,
    )
}

/// The user agents of the account's latest logins other than `login_id` (a bounded look
/// back, newest first).
#[tracing::instrument(name = "sql auth.earlier_user_agents", skip_all)]
pub async fn earlier_user_agents<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    login_id: &str,
) -> Result<Vec<Option<String>>> {
    let rows = sqlx::query(
        "SELECT user_agent FROM logins WHERE user_id = $1 AND id <> $2
         ORDER BY created_at DESC LIMIT 500",
    )
    .bind(user_id)
    .bind(login_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .iter()
        .map(|r| r.get::<Option<String>, _>("user_agent"))
        .collect())
}

/// Stores the hash of a link that ends `login_id`.
#[tracing::instrument(name = "sql auth.insert_login_notice_token", skip_all)]
pub async fn insert_login_notice_token<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    token_hash: &str,
    user_id: &str,
    login_id: &str,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO login_notice_tokens
           (token_hash, user_id, login_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(login_id)
    .bind(now)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Marks a live, unused link used: the user and login it names, or None.
#[tracing::instrument(name = "sql auth.use_login_notice_token", skip_all)]
pub async fn use_login_notice_token<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    token_hash: &str,
    now: i64,
) -> Result<Option<(String, String)>> {
    Ok(sqlx::query_as(
        "UPDATE login_notice_tokens SET used_at = $2
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
         RETURNING user_id, login_id",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db)
    .await?)
}
