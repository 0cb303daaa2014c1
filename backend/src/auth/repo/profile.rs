//! SQL of the profile: display name and picture.

use crate::Result;
use sqlx::Executor;

#[tracing::instrument(name = "sql auth.display_name", skip_all)]
pub async fn display_name<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<Option<Option<String>>> {
    Ok(
        sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(db)
            .await?,
    )
}

#[tracing::instrument(name = "sql auth.set_display_name", skip_all)]
pub async fn set_display_name<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    value: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE users SET display_name = $2 WHERE id = $1")
        .bind(user_id)
        .bind(value)
        .execute(db)
        .await?;
    Ok(())
}

#[tracing::instrument(name = "sql auth.avatar_key", skip_all)]
pub async fn avatar_key<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<Option<Option<String>>> {
    Ok(
        sqlx::query_scalar("SELECT avatar_key FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(db)
            .await?,
    )
}

/// Sets (`Some`) or clears (`None`) the picture's key.
#[tracing::instrument(name = "sql auth.set_avatar_key", skip_all)]
pub async fn set_avatar_key<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    key: Option<&str>,
) -> Result<()> {
    let q = match key {
        Some(key) => sqlx::query("UPDATE users SET avatar_key = $2 WHERE id = $1")
            .bind(user_id)
            .bind(key),
        None => sqlx::query("UPDATE users SET avatar_key = NULL WHERE id = $1").bind(user_id),
    };
    q.execute(db).await?;
    Ok(())
}
