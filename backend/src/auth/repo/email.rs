//! SQL of the email links (verification, reset, change of address) and the address itself.

use crate::Result;
use sqlx::{Executor, Row};

/// Stores an email token's hash.
#[allow(clippy::too_many_arguments)]
#[tracing::instrument(name = "sql auth.insert_email_token", skip_all)]
pub async fn insert_email_token<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    token_hash: &str,
    user_id: &str,
    purpose: &str,
    new_email: Option<&str>,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO email_tokens (token_hash, user_id, purpose, new_email, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(purpose)
    .bind(new_email)
    .bind(now)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Marks a live, unused token of `purpose` used: its user and new address, or None.
#[tracing::instrument(name = "sql auth.use_email_token", skip_all)]
pub async fn use_email_token<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    token_hash: &str,
    purpose: &str,
    now: i64,
) -> Result<Option<(String, Option<String>)>> {
    let row = sqlx::query(
        "UPDATE email_tokens SET used_at = $3
         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
         RETURNING user_id, new_email",
    )
    .bind(token_hash)
    .bind(purpose)
    .bind(now)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.get("user_id"), r.get("new_email"))))
}

/// Marks the address verified at `now`, unless it already was.
#[tracing::instrument(name = "sql auth.mark_email_verified", skip_all)]
pub async fn mark_email_verified<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE users SET email_verified_at = $2 WHERE id = $1 AND email_verified_at IS NULL",
    )
    .bind(user_id)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Like [`mark_email_verified`], in the statement a password reset uses.
#[tracing::instrument(name = "sql auth.keep_email_verified", skip_all)]
pub async fn keep_email_verified<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $2) WHERE id = $1",
    )
    .bind(user_id)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// The user's address (the user must exist).
#[tracing::instrument(name = "sql auth.email_of", skip_all)]
pub async fn email_of<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<String> {
    Ok(sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(db)
        .await?)
}

/// Sets a new, verified address. Another account's address fails as a unique violation.
#[tracing::instrument(name = "sql auth.set_email", skip_all)]
pub async fn set_email<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    email: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE users SET email = $2, email_verified_at = $3 WHERE id = $1")
        .bind(user_id)
        .bind(email)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}
