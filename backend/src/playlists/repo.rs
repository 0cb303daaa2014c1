//! SQL of playlists and their entries.

use crate::Result;
use crate::library::repo::{TRACK_COLUMNS, TRACK_JOINS, TrackView, track_view};
use sqlx::{AnyConnection, Executor, Row};

/// A playlist as listed, for the viewer `$1` (counts and cover from what they may see).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlaylistView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub public: bool,
    pub owner_id: String,
    /// The owner's display name, if they set one (never their email).
    pub owner_name: Option<String>,
    pub tracks: i64,
    pub duration_ms: i64,
    pub cover_track_id: Option<String>,
    pub cover_v: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Columns of a [`PlaylistView`] of playlists `p` with owners `u`, for the viewer `$1`.
pub(crate) const PLAYLIST_COLUMNS: &str = "p.id, p.name, p.description, p.public, p.owner_id,
    u.display_name AS owner_name, p.created_at, p.updated_at,
    (SELECT COUNT(*) FROM playlist_tracks e JOIN tracks t ON t.id = e.track_id
       WHERE e.playlist_id = p.id AND (t.owner_id = $1 OR t.shared = 1)) AS tracks,
    (SELECT CAST(COALESCE(SUM(t.duration_ms), 0) AS BIGINT) FROM playlist_tracks e JOIN tracks t ON t.id = e.track_id
       WHERE e.playlist_id = p.id AND (t.owner_id = $1 OR t.shared = 1)) AS duration_ms,
    (SELECT t.id || ' ' || t.cover_key FROM playlist_tracks e JOIN tracks t ON t.id = e.track_id
       WHERE e.playlist_id = p.id AND (t.owner_id = $1 OR t.shared = 1) AND t.cover_key IS NOT NULL
       ORDER BY e.position LIMIT 1) AS cover_ref";

pub(crate) fn playlist_view(r: sqlx::any::AnyRow) -> PlaylistView {
    let (cover_track_id, cover_v) = crate::library::repo::cover_ref(&r);
    PlaylistView {
        id: r.get("id"),
        name: r.get("name"),
        description: r.get("description"),
        public: r.get::<i64, _>("public") == 1,
        owner_id: r.get("owner_id"),
        owner_name: r.get("owner_name"),
        tracks: r.get("tracks"),
        duration_ms: r.get("duration_ms"),
        cover_track_id,
        cover_v,
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    }
}

/// A playlist `viewer_id` may open: their own, or a public one.
#[tracing::instrument(name = "sql playlists.get", skip_all)]
pub async fn get<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    viewer_id: &str,
    id: &str,
) -> Result<Option<PlaylistView>> {
    let row = sqlx::query(&format!(
        "SELECT {PLAYLIST_COLUMNS} FROM playlists p JOIN users u ON u.id = p.owner_id
         WHERE p.id = $2 AND (p.owner_id = $1 OR p.public = 1)"
    ))
    .bind(viewer_id)
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(playlist_view))
}

/// The owner of a playlist, if it exists.
#[tracing::instrument(name = "sql playlists.owner", skip_all)]
pub async fn owner<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: &str,
) -> Result<Option<(String, bool)>> {
    let row = sqlx::query("SELECT owner_id, public FROM playlists WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| (r.get("owner_id"), r.get::<i64, _>("public") == 1)))
}

/// `user_id`'s playlists, most recently changed first.
#[tracing::instrument(name = "sql playlists.list_owned", skip_all)]
pub async fn list_owned<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<Vec<PlaylistView>> {
    let rows = sqlx::query(&format!(
        "SELECT {PLAYLIST_COLUMNS} FROM playlists p JOIN users u ON u.id = p.owner_id
         WHERE p.owner_id = $1 ORDER BY p.updated_at DESC, p.id LIMIT 1000"
    ))
    .bind(user_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(playlist_view).collect())
}

/// Playlists `user_id` may open: their own and everyone's public ones, most recently
/// changed first (at most 1,000).
#[tracing::instrument(name = "sql playlists.list_visible", skip_all)]
pub async fn list_visible<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<Vec<PlaylistView>> {
    let rows = sqlx::query(&format!(
        "SELECT {PLAYLIST_COLUMNS} FROM playlists p JOIN users u ON u.id = p.owner_id
         WHERE p.owner_id = $1 OR p.public = 1 ORDER BY p.updated_at DESC, p.id LIMIT 1000"
    ))
    .bind(user_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(playlist_view).collect())
}

#[tracing::instrument(name = "sql playlists.insert", skip_all)]
pub async fn insert(
    conn: &mut AnyConnection,
    id: &str,
    owner_id: &str,
    name: &str,
    description: &str,
    public: bool,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO playlists (id, owner_id, name, description, public, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(id)
    .bind(owner_id)
    .bind(name)
    .bind(description)
    .bind(i64::from(public))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Changes playlist `id` if `owner_id` owns it (the owner is checked in the statement
/// itself, so no change of hands between a check and the write can slip through);
/// whether it did.
#[tracing::instrument(name = "sql playlists.update", skip_all)]
pub async fn update(
    conn: &mut AnyConnection,
    (id, owner_id): (&str, &str),
    name: &str,
    description: &str,
    public: bool,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE playlists SET name = $3, description = $4, public = $5, updated_at = $6
         WHERE id = $1 AND owner_id = $2",
    )
    .bind(id)
    .bind(owner_id)
    .bind(name)
    .bind(description)
    .bind(i64::from(public))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks playlist `id` changed now if `owner_id` owns it; whether it did. The first write
/// of a change to its entries: it also makes the transaction the playlist's only writer.
#[tracing::instrument(name = "sql playlists.touch", skip_all)]
pub async fn touch(
    conn: &mut AnyConnection,
    (id, owner_id): (&str, &str),
    now: i64,
) -> Result<bool> {
    let done = sqlx::query("UPDATE playlists SET updated_at = $3 WHERE id = $1 AND owner_id = $2")
        .bind(id)
        .bind(owner_id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes playlist `id` if `owner_id` owns it; whether it did.
#[tracing::instrument(name = "sql playlists.delete", skip_all)]
pub async fn delete<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    (id, owner_id): (&str, &str),
) -> Result<bool> {
    let done = sqlx::query("DELETE FROM playlists WHERE id = $1 AND owner_id = $2")
        .bind(id)
        .bind(owner_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// How many entries a playlist has (whoever may see them).
#[tracing::instrument(name = "sql playlists.len", skip_all)]
pub async fn len(conn: &mut AnyConnection, id: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM playlist_tracks WHERE playlist_id = $1")
            .bind(id)
            .fetch_one(conn)
            .await?,
    )
}

#[tracing::instrument(name = "sql playlists.append", skip_all)]
pub async fn append(
    conn: &mut AnyConnection,
    playlist_id: &str,
    track_id: &str,
    position: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO playlist_tracks (id, playlist_id, track_id, position, added_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(crate::new_id())
    .bind(playlist_id)
    .bind(track_id)
    .bind(position)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The position of entry `entry_id` in playlist `playlist_id`.
#[tracing::instrument(name = "sql playlists.position_of", skip_all)]
pub async fn position_of(
    conn: &mut AnyConnection,
    playlist_id: &str,
    entry_id: &str,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT position FROM playlist_tracks WHERE id = $1 AND playlist_id = $2",
    )
    .bind(entry_id)
    .bind(playlist_id)
    .fetch_optional(conn)
    .await?)
}

#[tracing::instrument(name = "sql playlists.remove_entry", skip_all)]
pub async fn remove_entry(
    conn: &mut AnyConnection,
    playlist_id: &str,
    entry_id: &str,
    position: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM playlist_tracks WHERE id = $1")
        .bind(entry_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE playlist_tracks SET position = position - 1 WHERE playlist_id = $1 AND position > $2",
    )
    .bind(playlist_id)
    .bind(position)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Removes every entry of playlist `playlist_id`.
#[tracing::instrument(name = "sql playlists.clear", skip_all)]
pub async fn clear(conn: &mut AnyConnection, playlist_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM playlist_tracks WHERE playlist_id = $1")
        .bind(playlist_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves the entry at `from` to `to`, shifting those between (positions stay dense).
#[tracing::instrument(name = "sql playlists.move_entry", skip_all)]
pub async fn move_entry(
    conn: &mut AnyConnection,
    playlist_id: &str,
    entry_id: &str,
    from: i64,
    to: i64,
) -> Result<()> {
    if from < to {
        sqlx::query(
            "UPDATE playlist_tracks SET position = position - 1
             WHERE playlist_id = $1 AND position > $2 AND position <= $3",
        )
        .bind(playlist_id)
        .bind(from)
        .bind(to)
        .execute(&mut *conn)
        .await?;
    } else {
        sqlx::query(
            "UPDATE playlist_tracks SET position = position + 1
             WHERE playlist_id = $1 AND position >= $3 AND position < $2",
        )
        .bind(playlist_id)
        .bind(from)
        .bind(to)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("UPDATE playlist_tracks SET position = $2 WHERE id = $1")
        .bind(entry_id)
        .bind(to)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A playlist entry with its track, as `viewer_id` may see it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EntryView {
    pub entry_id: String,
    pub track: TrackView,
}

/// The entries of a playlist whose tracks `viewer_id` may play, in order.
#[tracing::instrument(name = "sql playlists.entries", skip_all)]
pub async fn entries<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    viewer_id: &str,
    playlist_id: &str,
) -> Result<Vec<EntryView>> {
    let rows = sqlx::query(&format!(
        "SELECT e.id AS entry_id, {TRACK_COLUMNS} FROM playlist_tracks e JOIN tracks t ON t.id = e.track_id
         {TRACK_JOINS} WHERE e.playlist_id = $2 AND (t.owner_id = $1 OR t.shared = 1)
         ORDER BY e.position"
    ))
    .bind(viewer_id)
    .bind(playlist_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| EntryView {
            entry_id: r.get("entry_id"),
            track: track_view(r),
        })
        .collect())
}

/// Whether `user_id` may play `track_id`.
#[tracing::instrument(name = "sql playlists.playable", skip_all)]
pub async fn playable(conn: &mut AnyConnection, user_id: &str, track_id: &str) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM tracks WHERE id = $1 AND (owner_id = $2 OR shared = 1)")
            .bind(track_id)
            .bind(user_id)
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}
