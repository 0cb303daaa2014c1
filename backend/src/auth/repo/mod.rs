//! The SQL of accounts and logins; one file per further concern below.

pub mod account;
pub mod email;
pub mod notices;
pub mod profile;
pub(crate) mod refresh;
pub mod sso;
pub mod throttle;
pub mod two_factor;

use crate::Result;
use sqlx::{AnyConnection, Executor, Row};

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
}

fn user_row(r: sqlx::any::AnyRow) -> UserRow {
    UserRow {
        id: r.get("id"),
        email: r.get("email"),
        password_hash: r.get("password_hash"),
        role: r.get("role"),
    }
}

#[tracing::instrument(name = "sql auth.find_by_email", skip_all)]
pub async fn find_by_email<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    email: &str,
) -> Result<Option<UserRow>> {
    let row = sqlx::query("SELECT id, email, password_hash, role FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(db)
        .await?;
    Ok(row.map(user_row))
}

/// Inserts a user. The configured admin email becomes admin; with none configured, the very
/// first account does (decided inside the one statement).
#[tracing::instrument(name = "sql auth.insert_user", skip_all)]
pub async fn insert_user(
    conn: &mut AnyConnection,
    id: &str,
    email: &str,
    hash: &str,
    now: i64,
    admin_email: Option<&str>,
) -> Result<String> {
    let is_admin_email = admin_email.is_some_and(|a| a == email);
    let first_is_admin = admin_email.is_none();
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, role, created_at, password_set_at)
         VALUES ($1, $2, $3,
                 CASE WHEN $5 = 1 THEN 'admin'
                      WHEN $6 = 1 AND (SELECT COUNT(*) FROM users) = 0 THEN 'admin'
                      ELSE 'listener' END,
                 $4, $4)",
    )
    .bind(id)
    .bind(email)
    .bind(hash)
    .bind(now)
    .bind(i64::from(is_admin_email))
    .bind(i64::from(first_is_admin))
    .execute(&mut *conn)
    .await?;
    let role: String = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(role)
}

#[tracing::instrument(name = "sql auth.insert_login", skip_all)]
pub async fn insert_login<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: &str,
    user_id: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO logins (id, user_id, created_at) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(user_id)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

#[tracing::instrument(name = "sql auth.revoke_login", skip_all)]
pub async fn revoke_login<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE logins SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

/// What makes login `l` (of user `u`) live, for a statement that binds its id to `$1`, the
/// earliest start to `$2` and the earliest last use to `$3`: not revoked, the user not
/// disabled, within the absolute and idle time-outs. Shared with the stream lookup
/// (`playback::repo::stream_grant`), so the two cannot drift apart.
/// (A macro, so the statements stay literals put together at compile time.)
macro_rules! live_login {
    () => {
        "l.id = $1 AND l.revoked_at IS NULL AND u.disabled_at IS NULL
         AND l.created_at > $2 AND COALESCE(l.last_seen_at, l.created_at) > $3"
    };
}
pub(crate) use live_login;

/// The user behind a live login (not revoked, begun after `started_after` and used after
/// `seen_after`), and when the login was last seen (`None`: never since it began).
#[tracing::instrument(name = "sql auth.user_for_login", skip_all)]
pub async fn user_for_login<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    login_id: &str,
    started_after: i64,
    seen_after: i64,
) -> Result<Option<(UserRow, Option<i64>)>> {
    let row = sqlx::query(concat!(
        "SELECT u.id, u.email, u.password_hash, u.role, l.last_seen_at
         FROM logins l JOIN users u ON u.id = l.user_id
         WHERE ",
        live_login!()
    ))
    .bind(login_id)
    .bind(started_after)
    .bind(seen_after)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| {
        let seen = r.get::<Option<i64>, _>("last_seen_at");
        (user_row(r), seen)
    }))
}

/// Records use of a login, at most once per `granularity_ms` (one write a minute, not one
/// per request). Callers that know when it was last seen skip the statement altogether.
#[tracing::instrument(name = "sql auth.touch_login", skip_all)]
pub async fn touch_login<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    login_id: &str,
    now: i64,
    granularity_ms: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE logins SET last_seen_at = $2
         WHERE id = $1 AND (last_seen_at IS NULL OR last_seen_at < $3)",
    )
    .bind(login_id)
    .bind(now)
    .bind(now - granularity_ms)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct LoginRow {
    pub id: String,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
}

/// A user's live logins, most recently used first.
#[tracing::instrument(name = "sql auth.live_logins", skip_all)]
pub async fn live_logins<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    started_after: i64,
    seen_after: i64,
) -> Result<Vec<LoginRow>> {
    let rows = sqlx::query(
        "SELECT id, user_agent, ip, created_at, COALESCE(last_seen_at, created_at) AS seen
         FROM logins
         WHERE user_id = $1 AND revoked_at IS NULL AND created_at > $2
           AND COALESCE(last_seen_at, created_at) > $3
         ORDER BY seen DESC, id",
    )
    .bind(user_id)
    .bind(started_after)
    .bind(seen_after)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| LoginRow {
            id: r.get("id"),
            user_agent: r.get("user_agent"),
            ip: r.get("ip"),
            created_at: r.get("created_at"),
            last_seen_at: r.get("seen"),
        })
        .collect())
}

#[tracing::instrument(name = "sql auth.describe_login", skip_all)]
pub async fn describe_login<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    login_id: &str,
    user_agent: Option<&str>,
    ip: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE logins SET user_agent = $2, ip = $3 WHERE id = $1")
        .bind(login_id)
        .bind(user_agent)
        .bind(ip)
        .execute(db)
        .await?;
    Ok(())
}

/// Revokes one of `user_id`'s logins; false when there is no such live login of theirs.
#[tracing::instrument(name = "sql auth.revoke_own_login", skip_all)]
pub async fn revoke_own_login<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    login_id: &str,
    now: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE logins SET revoked_at = $3 WHERE id = $2 AND user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(login_id)
    .bind(now)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Revokes all of `user_id`'s logins except `keep`; returns the ids of those that ended.
#[tracing::instrument(name = "sql auth.revoke_other_logins", skip_all)]
pub async fn revoke_other_logins<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    keep: &str,
    now: i64,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "UPDATE logins SET revoked_at = $3 WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL
         RETURNING id",
    )
    .bind(user_id)
    .bind(keep)
    .bind(now)
    .fetch_all(db)
    .await?)
}

#[tracing::instrument(name = "sql auth.set_password_hash", skip_all)]
pub async fn set_password_hash<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    hash: &str,
) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $2, password_set_at = $3 WHERE id = $1")
        .bind(user_id)
        .bind(hash)
        .bind(crate::now_ms())
        .execute(db)
        .await?;
    Ok(())
}

#[tracing::instrument(name = "sql auth.find_by_id", skip_all)]
pub async fn find_by_id<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: &str,
) -> Result<Option<UserRow>> {
    let row = sqlx::query("SELECT id, email, password_hash, role FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(user_row))
}

#[tracing::instrument(name = "sql auth.password_hash", skip_all)]
pub async fn password_hash<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<Option<(String, bool)>> {
    let row: Option<(String, Option<i64>)> =
        sqlx::query_as("SELECT password_hash, password_set_at FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(hash, set)| (hash, set.is_some())))
}

/// The confirmed TOTP secret (base32), when two-factor is on.
#[tracing::instrument(name = "sql auth.totp_secret", skip_all)]
pub async fn totp_secret<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<Option<String>> {
    let v: Option<Option<String>> =
        sqlx::query_scalar("SELECT totp_secret FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(db)
            .await?;
    Ok(v.flatten())
}

#[tracing::instrument(name = "sql auth.pending_totp", skip_all)]
pub async fn pending_totp<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<Option<String>> {
    let v: Option<Option<String>> =
        sqlx::query_scalar("SELECT totp_pending_secret FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(db)
            .await?;
    Ok(v.flatten())
}

#[tracing::instrument(name = "sql auth.set_pending_totp", skip_all)]
pub async fn set_pending_totp<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    secret: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE users SET totp_pending_secret = $2 WHERE id = $1")
        .bind(user_id)
        .bind(secret)
        .execute(db)
        .await?;
    Ok(())
}

/// Moves `secret` from pending to confirmed, if it is still the one pending.
#[tracing::instrument(name = "sql auth.enable_totp", skip_all)]
pub async fn enable_totp<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    secret: &str,
    step: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL,
                totp_last_step = $3
         WHERE id = $1 AND totp_pending_secret = $2 AND totp_secret IS NULL",
    )
    .bind(user_id)
    .bind(secret)
    .bind(step)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Turns two-factor off for `user_id`: secret, pending secret, last step and recovery codes.
#[tracing::instrument(name = "sql auth.clear_two_factor", skip_all)]
pub async fn clear_two_factor(conn: &mut AnyConnection, user_id: &str) -> Result<()> {
    sqlx::query(
        "UPDATE users SET totp_secret = NULL, totp_pending_secret = NULL, totp_last_step = NULL
         WHERE id = $1",
    )
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records `step` as used when it is later than the last used one; false means replay.
#[tracing::instrument(name = "sql auth.advance_totp_step", skip_all)]
pub async fn advance_totp_step<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    step: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE users SET totp_last_step = $2
         WHERE id = $1 AND totp_secret IS NOT NULL
           AND (totp_last_step IS NULL OR totp_last_step < $2)",
    )
    .bind(user_id)
    .bind(step)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

#[tracing::instrument(name = "sql auth.recovery_codes_left", skip_all)]
pub async fn recovery_codes_left<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(db)
    .await?)
}

#[tracing::instrument(name = "sql auth.is_disabled", skip_all)]
pub async fn is_disabled<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<bool> {
    let v: Option<Option<i64>> = sqlx::query_scalar("SELECT disabled_at FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(db)
        .await?;
    Ok(matches!(v, Some(Some(_))))
}

#[tracing::instrument(name = "sql auth.email_verified", skip_all)]
pub async fn email_verified<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<bool> {
    let v: Option<Option<i64>> =
        sqlx::query_scalar("SELECT email_verified_at FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(db)
            .await?;
    Ok(matches!(v, Some(Some(_))))
}

/// Ends every login of `user_id` (after a password reset).
#[tracing::instrument(name = "sql auth.revoke_all_logins", skip_all)]
pub async fn revoke_all_logins<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    now: i64,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "UPDATE logins SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL RETURNING id",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(db)
    .await?)
}
