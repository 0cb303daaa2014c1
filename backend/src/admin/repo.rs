//! SQL of administration: the user list, the changes admins make to accounts, and the
//! audit log.

use crate::Result;
use crate::infra::actor::Role;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Executor, Row};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub created_at: i64,
    pub disabled: bool,
    pub two_factor: bool,
    pub last_seen_at: Option<i64>,
    /// The quota an admin set (None: the server default).
    pub quota_bytes: Option<i64>,
    pub used_bytes: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: String,
    pub actor_email: Option<String>,
    pub action: String,
    pub target_email: Option<String>,
    pub detail: String,
    pub created_at: i64,
}

/// Users whose email is LIKE `pattern` (escaped with `\`), newest first, at most `limit`.
#[tracing::instrument(name = "sql admin.users", skip_all)]
pub async fn users<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    pattern: &str,
    limit: i64,
) -> Result<Vec<UserSummary>> {
    let sql = "SELECT u.id, u.email, u.role, u.created_at, u.disabled_at, u.totp_secret,
                (SELECT MAX(COALESCE(l.last_seen_at, l.created_at)) FROM logins l WHERE l.user_id = u.id) AS seen,
                u.quota_bytes,
                COALESCE((SELECT ut.bytes FROM usage_tallies ut WHERE ut.user_id = u.id), 0) AS used
         FROM users u
         WHERE u.email LIKE $1 ESCAPE '\\'
         ORDER BY u.created_at DESC, u.id
         LIMIT $2";
    let rows = sqlx::query(sql)
        .bind(pattern)
        .bind(limit)
        .fetch_all(db)
        .await?;
    rows.into_iter()
        .map(|r| {
            let role: String = r.get("role");
            Ok(UserSummary {
                id: r.get("id"),
                email: r.get("email"),
                role: Role::parse(&role)?,
                created_at: r.get("created_at"),
                disabled: r.get::<Option<i64>, _>("disabled_at").is_some(),
                two_factor: r.get::<Option<String>, _>("totp_secret").is_some(),
                last_seen_at: r.get("seen"),
                quota_bytes: r.get("quota_bytes"),
                used_bytes: r.get("used"),
            })
        })
        .collect()
}

/// The user's address, if the user exists.
#[tracing::instrument(name = "sql admin.email_of", skip_all)]
pub async fn email_of(conn: &mut AnyConnection, user_id: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// One entry of the audit log.
#[tracing::instrument(name = "sql admin.insert_audit", skip_all)]
pub async fn insert_audit(
    conn: &mut AnyConnection,
    id: &str,
    actor_id: &str,
    action: &str,
    target: Option<&str>,
    detail: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (id, actor_id, action, target_id, detail, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(actor_id)
    .bind(action)
    .bind(target)
    .bind(detail)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[tracing::instrument(name = "sql admin.set_role", skip_all)]
pub async fn set_role(conn: &mut AnyConnection, user_id: &str, role: &str) -> Result<()> {
    sqlx::query("UPDATE users SET role = $2 WHERE id = $1")
        .bind(user_id)
        .bind(role)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Disables the account at `at`, or (None) enables it.
#[tracing::instrument(name = "sql admin.set_disabled_at", skip_all)]
pub async fn set_disabled_at(
    conn: &mut AnyConnection,
    user_id: &str,
    at: Option<i64>,
) -> Result<()> {
    sqlx::query("UPDATE users SET disabled_at = $2 WHERE id = $1")
        .bind(user_id)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Sets the account's quota (None: the server default).
#[tracing::instrument(name = "sql admin.set_quota", skip_all)]
pub async fn set_quota(
    conn: &mut AnyConnection,
    user_id: &str,
    quota_bytes: Option<i64>,
) -> Result<()> {
    sqlx::query("UPDATE users SET quota_bytes = $2 WHERE id = $1")
        .bind(user_id)
        .bind(quota_bytes)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The newest audit entries, at most `limit`.
#[tracing::instrument(name = "sql admin.audit_log", skip_all)]
pub async fn audit_log<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    limit: i64,
) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query(
        "SELECT a.id, a.action, a.detail, a.created_at, actor.email AS actor_email,
                target.email AS target_email
         FROM audit_log a
         LEFT JOIN users actor ON actor.id = a.actor_id
         LEFT JOIN users target ON target.id = a.target_id
         ORDER BY a.seq DESC
         LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AuditEntry {
            id: r.get("id"),
            actor_email: r.get("actor_email"),
            action: r.get("action"),
            target_email: r.get("target_email"),
            detail: r.get("detail"),
            created_at: r.get("created_at"),
        })
        .collect())
}

/// Makes the account an admin and enables it.
#[tracing::instrument(name = "sql admin.promote", skip_all)]
pub async fn promote(conn: &mut AnyConnection, user_id: &str) -> Result<()> {
    sqlx::query("UPDATE users SET role = 'admin', disabled_at = NULL WHERE id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Makes a new account an admin.
#[tracing::instrument(name = "sql admin.make_admin", skip_all)]
pub async fn make_admin(conn: &mut AnyConnection, user_id: &str) -> Result<()> {
    sqlx::query("UPDATE users SET role = 'admin' WHERE id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
