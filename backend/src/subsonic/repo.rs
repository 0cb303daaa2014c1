//! SQL of what Subsonic apps keep: app keys, bookmarks, "now playing", and the original
//! object of a track. (`catalog.rs` still holds its own queries until the catalog issue
//! replaces it.)

use crate::Result;
use sqlx::{Executor, Row};

// App keys.

#[tracing::instrument(name = "sql subsonic.keys.count_for_user", skip_all)]
pub async fn count_keys<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM app_keys WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(db)
            .await?,
    )
}

/// A new key's row: an API key stores its hash, an app password its sealed secret.
#[derive(Debug, Clone, Copy)]
pub struct NewKey<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    /// `api_key` or `app_password`.
    pub kind: &'a str,
    pub key_hash: Option<&'a str>,
    pub sealed_secret: Option<&'a str>,
    pub created_at: i64,
}

#[tracing::instrument(name = "sql subsonic.keys.insert", skip_all)]
pub async fn insert_key<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    key: NewKey<'_>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO app_keys (id, user_id, name, kind, key_hash, sealed_secret, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(key.id)
    .bind(key.user_id)
    .bind(key.name)
    .bind(key.kind)
    .bind(key.key_hash)
    .bind(key.sealed_secret)
    .bind(key.created_at)
    .execute(db)
    .await?;
    Ok(())
}

/// A key as its owner lists it.
#[derive(Debug, Clone)]
pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// The user's keys, newest first.
#[tracing::instrument(name = "sql subsonic.keys.list", skip_all)]
pub async fn keys_of<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<Vec<KeyRow>> {
    let rows = sqlx::query(
        "SELECT id, name, kind, created_at, last_used_at FROM app_keys WHERE user_id = $1
         ORDER BY created_at DESC, id",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| KeyRow {
            id: r.get("id"),
            name: r.get("name"),
            kind: r.get("kind"),
            created_at: r.get("created_at"),
            last_used_at: r.get("last_used_at"),
        })
        .collect())
}

/// Deletes one of the user's keys: its kind, or None when the user has no such key.
#[tracing::instrument(name = "sql subsonic.keys.delete", skip_all)]
pub async fn delete_key<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    key_id: &str,
    user_id: &str,
) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("DELETE FROM app_keys WHERE id = $1 AND user_id = $2 RETURNING kind")
            .bind(key_id)
            .bind(user_id)
            .fetch_optional(db)
            .await?,
    )
}

/// Deletes every key of `user_id`; how many.
#[tracing::instrument(name = "sql subsonic.keys.delete_all_for_user", skip_all)]
pub async fn delete_all_keys<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM app_keys WHERE user_id = $1")
        .bind(user_id)
        .execute(db)
        .await?
        .rows_affected())
}

/// A key with the account it opens.
#[derive(Debug, Clone)]
pub struct KeyOwner {
    pub key_id: String,
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub disabled: bool,
    pub last_used_at: Option<i64>,
}

const OWNER_COLUMNS: &str = "k.id AS key_id, k.last_used_at, u.id AS user_id, u.email, u.role,
     CASE WHEN u.disabled_at IS NULL THEN 0 ELSE 1 END AS disabled";

fn owner(r: &sqlx::any::AnyRow) -> KeyOwner {
    KeyOwner {
        key_id: r.get("key_id"),
        user_id: r.get("user_id"),
        email: r.get("email"),
        role: r.get("role"),
        disabled: r.get::<i32, _>("disabled") != 0,
        last_used_at: r.get("last_used_at"),
    }
}

/// The API key whose hash is `key_hash`, with its owner.
#[tracing::instrument(name = "sql subsonic.keys.api_key_owner", skip_all)]
pub async fn api_key_owner<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    key_hash: &str,
) -> Result<Option<KeyOwner>> {
    let row = sqlx::query(&format!(
        "SELECT {OWNER_COLUMNS} FROM app_keys k JOIN users u ON u.id = k.user_id
         WHERE k.key_hash = $1 AND k.kind = 'api_key'"
    ))
    .bind(key_hash)
    .fetch_optional(db)
    .await?;
    Ok(row.as_ref().map(owner))
}

/// The app passwords (sealed) of the account with address `email`, with their owner.
#[tracing::instrument(name = "sql subsonic.keys.app_passwords_of", skip_all)]
pub async fn app_passwords_of<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    email: &str,
) -> Result<Vec<(KeyOwner, String)>> {
    let rows = sqlx::query(&format!(
        "SELECT {OWNER_COLUMNS}, k.sealed_secret FROM app_keys k
         JOIN users u ON u.id = k.user_id
         WHERE u.email = $1 AND k.kind = 'app_password'"
    ))
    .bind(email)
    .fetch_all(db)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (owner(r), r.get("sealed_secret")))
        .collect())
}

#[tracing::instrument(name = "sql subsonic.keys.touch", skip_all)]
pub async fn touch_key<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    key_id: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE app_keys SET last_used_at = $2 WHERE id = $1")
        .bind(key_id)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

// Bookmarks.

/// A bookmark as stored.
#[derive(Debug, Clone)]
pub struct BookmarkRow {
    pub track_id: String,
    pub position_ms: i64,
    pub comment: String,
    pub created_at: i64,
    pub changed_at: i64,
}

/// The user's bookmarks, the most recently changed first.
#[tracing::instrument(name = "sql subsonic.bookmarks.list", skip_all)]
pub async fn bookmarks_of<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<Vec<BookmarkRow>> {
    let rows = sqlx::query(
        "SELECT track_id, position_ms, comment, created_at, changed_at FROM bookmarks
         WHERE user_id = $1 ORDER BY changed_at DESC, track_id",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| BookmarkRow {
            track_id: r.get("track_id"),
            position_ms: r.get("position_ms"),
            comment: r.get("comment"),
            created_at: r.get("created_at"),
            changed_at: r.get("changed_at"),
        })
        .collect())
}

/// Creates the user's bookmark on the track or moves it.
#[tracing::instrument(name = "sql subsonic.bookmarks.save", skip_all)]
pub async fn upsert_bookmark<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    track_id: &str,
    position_ms: i64,
    comment: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO bookmarks (user_id, track_id, position_ms, comment, created_at, changed_at)
         VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (user_id, track_id) DO UPDATE SET position_ms = $3, comment = $4, changed_at = $5",
    )
    .bind(user_id)
    .bind(track_id)
    .bind(position_ms)
    .bind(comment)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

#[tracing::instrument(name = "sql subsonic.bookmarks.count", skip_all)]
pub async fn count_bookmarks<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM bookmarks WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(db)
            .await?,
    )
}

#[tracing::instrument(name = "sql subsonic.bookmarks.delete", skip_all)]
pub async fn delete_bookmark<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    track_id: &str,
) -> Result<()> {
    sqlx::query("DELETE FROM bookmarks WHERE user_id = $1 AND track_id = $2")
        .bind(user_id)
        .bind(track_id)
        .execute(db)
        .await?;
    Ok(())
}

// Now playing.

/// Notes that the user's app `client` plays the track since `now`.
#[tracing::instrument(name = "sql subsonic.now_playing.set", skip_all)]
pub async fn set_now_playing<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    client: &str,
    track_id: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO now_playing (user_id, client, track_id, started_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, client) DO UPDATE SET track_id = $3, started_at = $4",
    )
    .bind(user_id)
    .bind(client)
    .bind(track_id)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// What the user's apps play at `now` (a song counts until it would have ended, plus a
/// minute): track, client and start, newest first.
#[tracing::instrument(name = "sql subsonic.now_playing.list", skip_all)]
pub async fn now_playing_of<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    now: i64,
) -> Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query(
        "SELECT n.track_id, n.client, n.started_at FROM now_playing n JOIN tracks t ON t.id = n.track_id
         WHERE n.user_id = $1 AND n.started_at + t.duration_ms + 60000 > $2
         ORDER BY n.started_at DESC",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.get("track_id"), r.get("client"), r.get("started_at")))
        .collect())
}

// Media.

/// The track's original object key (empty for a scanned file); the track must exist.
#[tracing::instrument(name = "sql subsonic.original_key", skip_all)]
pub async fn original_key<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    track_id: &str,
) -> Result<String> {
    Ok(
        sqlx::query_scalar("SELECT original_key FROM tracks WHERE id = $1")
            .bind(track_id)
            .fetch_one(db)
            .await?,
    )
}
