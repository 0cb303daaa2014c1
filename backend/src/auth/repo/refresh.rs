//! SQL of the refresh tokens (see [`super::api_tokens`]). Tokens are stored as SHA-256
//! hashes; a family is the login the tokens belong to.

use crate::Result;
use sqlx::{Executor, Row};

#[tracing::instrument(name = "sql auth.refresh.insert", skip_all)]
pub async fn insert<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    token_hash: &str,
    login_id: &str,
    user_id: &str,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, login_id, user_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(login_id)
    .bind(user_id)
    .bind(now)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// The login and user of a live (unused, unrevoked, unexpired) token.
#[tracing::instrument(name = "sql auth.refresh.live", skip_all)]
pub async fn live<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    token_hash: &str,
    now: i64,
) -> Result<Option<(String, String)>> {
    let row = sqlx::query(
        "SELECT login_id, user_id FROM refresh_tokens
         WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.get("login_id"), r.get("user_id"))))
}

/// Uses a live token up. One statement decides, so of two parallel refreshes with one
/// token exactly one wins.
#[tracing::instrument(name = "sql auth.refresh.use_up", skip_all)]
pub async fn use_up<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    token_hash: &str,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE refresh_tokens SET used_at = $2
         WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// The family of a token; with `used_only`, only if the token was used already.
#[tracing::instrument(name = "sql auth.refresh.family_of", skip_all)]
pub async fn family_of<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    token_hash: &str,
    used_only: bool,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT login_id FROM refresh_tokens
         WHERE token_hash = $1 AND ($2 = 0 OR used_at IS NOT NULL)",
    )
    .bind(token_hash)
    .bind(i64::from(used_only))
    .fetch_optional(db)
    .await?)
}

/// The user a token family belongs to.
#[tracing::instrument(name = "sql auth.refresh.user_of_family", skip_all)]
pub async fn user_of_family<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    login_id: &str,
) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT user_id FROM refresh_tokens WHERE login_id = $1 LIMIT 1")
            .bind(login_id)
            .fetch_optional(db)
            .await?,
    )
}

/// Revokes every token of a family.
#[tracing::instrument(name = "sql auth.refresh.revoke_family", skip_all)]
pub async fn revoke_family<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    login_id: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE login_id = $1 AND revoked_at IS NULL",
    )
    .bind(login_id)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Revokes every token family of `user_id` except the one of login `keep` (`""`: keep
/// none). Goes by the user's logins, so the families' index does the work.
#[tracing::instrument(name = "sql auth.refresh.revoke_for_user", skip_all)]
pub async fn revoke_for_user<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    keep: &str,
    now: i64,
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $3
         WHERE login_id IN (SELECT id FROM logins WHERE user_id = $1 AND id <> $2)
           AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(keep)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected())
}
