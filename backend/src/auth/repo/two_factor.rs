//! SQL of the second factor's guards: the count of wrong authenticator codes in a row, and
//! recovery codes by how they are stored (see `migrations/*/20261214000030_*`).

use crate::Result;
use sqlx::{AnyConnection, Executor, Row};

/// Wrong authenticator codes in a row for `user_id`.
#[tracing::instrument(name = "sql auth.totp_failures", skip_all)]
pub async fn totp_failures<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT totp_failures FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(db)
            .await?
            .unwrap_or(0),
    )
}

#[tracing::instrument(name = "sql auth.count_totp_failure", skip_all)]
pub async fn count_totp_failure<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<()> {
    sqlx::query("UPDATE users SET totp_failures = totp_failures + 1 WHERE id = $1")
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}

#[tracing::instrument(name = "sql auth.reset_totp_failures", skip_all)]
pub async fn reset_totp_failures<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<()> {
    sqlx::query("UPDATE users SET totp_failures = 0 WHERE id = $1 AND totp_failures <> 0")
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Replaces all of `user_id`'s recovery codes by these SHA-256 hashes (of 124-bit codes).
#[tracing::instrument(name = "sql auth.replace_recovery_codes", skip_all)]
pub async fn replace_recovery_codes(
    conn: &mut AnyConnection,
    user_id: &str,
    hashes: &[String],
    now: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for h in hashes {
        sqlx::query(
            "INSERT INTO recovery_codes (user_id, code_hash, created_at, scheme)
             VALUES ($1, $2, $3, 'sha256')",
        )
        .bind(user_id)
        .bind(h)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Uses up the unused recovery code stored as `stored` (under `scheme`); whether it did.
/// One statement decides, so two parallel submits of one code cannot both win.
#[tracing::instrument(name = "sql auth.use_recovery_code", skip_all)]
pub async fn use_recovery_code<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    (scheme, stored): (&str, &str),
    now: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE recovery_codes SET used_at = $4
         WHERE user_id = $1 AND scheme = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .bind(user_id)
    .bind(scheme)
    .bind(stored)
    .bind(now)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// `user_id`'s unused recovery codes stored under `scheme`.
#[tracing::instrument(name = "sql auth.recovery_codes_of", skip_all)]
pub async fn recovery_codes_of<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    scheme: &str,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT code_hash FROM recovery_codes WHERE user_id = $1 AND scheme = $2 AND used_at IS NULL",
    )
    .bind(user_id)
    .bind(scheme)
    .fetch_all(db)
    .await?)
}

/// Every recovery code still stored the legacy way: (user, SHA-256 hash).
#[tracing::instrument(name = "sql auth.legacy_recovery_codes", skip_all)]
pub async fn legacy_recovery_codes<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT user_id, code_hash FROM recovery_codes WHERE scheme = 'legacy'")
        .fetch_all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.get("user_id"), r.get("code_hash")))
        .collect())
}

/// Stores a legacy code's hash wrapped in Argon2id (`phc`), if it is still the legacy row.
#[tracing::instrument(name = "sql auth.wrap_legacy_recovery_code", skip_all)]
pub async fn wrap_legacy_recovery_code<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    sha256: &str,
    phc: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE recovery_codes SET code_hash = $3, scheme = 'argon2id'
         WHERE user_id = $1 AND code_hash = $2 AND scheme = 'legacy'",
    )
    .bind(user_id)
    .bind(sha256)
    .bind(phc)
    .execute(db)
    .await?;
    Ok(())
}

/// The authenticator secrets of a user, active and pending, as stored.
#[derive(Debug, Clone)]
pub struct StoredSecrets {
    pub id: String,
    pub totp_secret: Option<String>,
    pub totp_pending_secret: Option<String>,
}

/// A column holding an authenticator secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretColumn {
    Active,
    Pending,
}

impl SecretColumn {
    fn name(self) -> &'static str {
        match self {
            SecretColumn::Active => "totp_secret",
            SecretColumn::Pending => "totp_pending_secret",
        }
    }
}

/// Every user with an authenticator secret, active or pending.
#[tracing::instrument(name = "sql auth.stored_totp_secrets", skip_all)]
pub async fn stored_totp_secrets<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
) -> Result<Vec<StoredSecrets>> {
    let rows = sqlx::query(
        "SELECT id, totp_secret, totp_pending_secret FROM users
         WHERE totp_secret IS NOT NULL OR totp_pending_secret IS NOT NULL",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| StoredSecrets {
            id: r.get("id"),
            totp_secret: r.get("totp_secret"),
            totp_pending_secret: r.get("totp_pending_secret"),
        })
        .collect())
}

/// Replaces a secret with `value` if the column still holds `old`.
#[tracing::instrument(name = "sql auth.replace_totp_secret", skip_all)]
pub async fn replace_totp_secret<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    column: SecretColumn,
    user_id: &str,
    old: &str,
    value: &str,
) -> Result<()> {
    let column = column.name();
    // The column name is one of the two above, never input.
    sqlx::query(&format!(
        "UPDATE users SET {column} = $3 WHERE id = $1 AND {column} = $2"
    ))
    .bind(user_id)
    .bind(old)
    .bind(value)
    .execute(db)
    .await?;
    Ok(())
}
