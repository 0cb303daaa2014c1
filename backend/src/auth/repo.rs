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

/// Inserts a user; the very first account becomes admin, decided inside the one statement.
pub async fn insert_user(
    conn: &mut AnyConnection,
    id: &str,
    email: &str,
    hash: &str,
    now: i64,
) -> Result<String> {
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, role, created_at)
         VALUES ($1, $2, $3, CASE WHEN (SELECT COUNT(*) FROM users) = 0 THEN 'admin' ELSE 'listener' END, $4)",
    )
    .bind(id)
    .bind(email)
    .bind(hash)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let role: String = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(role)
}

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

/// The user behind a live (not revoked) login.
pub async fn user_for_login<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    login_id: &str,
) -> Result<Option<UserRow>> {
    let row = sqlx::query(
        "SELECT u.id, u.email, u.password_hash, u.role FROM logins l JOIN users u ON u.id = l.user_id
         WHERE l.id = $1 AND l.revoked_at IS NULL",
    )
    .bind(login_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(user_row))
}
