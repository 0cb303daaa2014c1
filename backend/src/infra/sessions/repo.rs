//! SQL of the database session store (`sessions`). These return sqlx's own errors: the
//! store maps them to tower-sessions' (an id collision, an outage) itself. No spans of
//! their own: a session is read on every request.

use crate::db::Db;
use sqlx::Row;

/// Inserts a new session; an id already taken fails as a unique violation.
pub async fn insert(
    db: &Db,
    id: &str,
    data: &str,
    expiry: i64,
    login_id: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO sessions (id, data, expiry_date, login_id) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(data)
        .bind(expiry)
        .bind(login_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Inserts or replaces a session.
pub async fn upsert(
    db: &Db,
    id: &str,
    data: &str,
    expiry: i64,
    login_id: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id, data, expiry_date, login_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET data = excluded.data,
             expiry_date = excluded.expiry_date, login_id = excluded.login_id",
    )
    .bind(id)
    .bind(data)
    .bind(expiry)
    .bind(login_id)
    .execute(db)
    .await?;
    Ok(())
}

/// A session's data and expiry (unix seconds), if it has not expired at `now`.
pub async fn load(db: &Db, id: &str, now: i64) -> sqlx::Result<Option<(String, i64)>> {
    let row =
        sqlx::query("SELECT data, expiry_date FROM sessions WHERE id = $1 AND expiry_date > $2")
            .bind(id)
            .bind(now)
            .fetch_optional(db)
            .await?;
    Ok(row.map(|r| (r.get("data"), r.get("expiry_date"))))
}

pub async fn delete(db: &Db, id: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes every session of the login.
pub async fn delete_login(db: &Db, login_id: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE login_id = $1")
        .bind(login_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes the sessions expired at `now`.
pub async fn delete_expired(db: &Db, now: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE expiry_date <= $1")
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}
