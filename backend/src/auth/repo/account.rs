//! SQL of deleting one's own account.

use crate::Result;
use sqlx::{AnyConnection, Executor};

/// Enabled admins.
#[tracing::instrument(name = "sql auth.count_active_admins", skip_all)]
pub async fn count_active_admins<'e, E: Executor<'e, Database = sqlx::Any>>(db: E) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL",
    )
    .fetch_one(db)
    .await?)
}

/// The originals of all the user's import jobs.
#[tracing::instrument(name = "sql auth.original_keys_of", skip_all)]
pub async fn original_keys_of<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT original_key FROM import_jobs WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(db)
            .await?,
    )
}

/// The rendition and cover keys of the tracks `user_id` owns.
#[tracing::instrument(name = "sql auth.track_media_of", skip_all)]
pub async fn track_media_of<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<Vec<(String, Option<String>)>> {
    Ok(
        sqlx::query_as("SELECT rendition_key, cover_key FROM tracks WHERE owner_id = $1")
            .bind(user_id)
            .fetch_all(db)
            .await?,
    )
}

/// Deletes the tracks `user_id` owns.
#[tracing::instrument(name = "sql auth.delete_tracks_of", skip_all)]
pub async fn delete_tracks_of(conn: &mut AnyConnection, user_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM tracks WHERE owner_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes the import jobs of `user_id`.
#[tracing::instrument(name = "sql auth.delete_import_jobs_of", skip_all)]
pub async fn delete_import_jobs_of(conn: &mut AnyConnection, user_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM import_jobs WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes the user row (recovery codes, email tokens and the rest go with it, ON DELETE
/// CASCADE).
#[tracing::instrument(name = "sql auth.delete_user", skip_all)]
pub async fn delete_user(conn: &mut AnyConnection, user_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
