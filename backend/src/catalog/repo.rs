//! Catalog editing SQL: reading what an edit starts from, moving tracks between artists
//! and albums, and taking out albums and artists nothing refers to any more.

use crate::Result;
use crate::library::repo::name_key;
use sqlx::{AnyConnection, Row};

/// A track as the edit form shows it, with what the rules need to know.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrackRow {
    pub id: String,
    pub owner_id: String,
    pub shared: bool,
    pub title: String,
    pub artist_id: String,
    pub artist: String,
    pub album_artist_id: Option<String>,
    pub album_artist: Option<String>,
    pub album_id: Option<String>,
    pub album: Option<String>,
    pub track_no: Option<i64>,
    pub disc_no: Option<i64>,
    pub year: Option<i64>,
    pub genre: Option<String>,
    pub created_at: i64,
    /// Registered by a music-folder scan (its file is the source of truth; it cannot be
    /// deleted here, and a changed file's tags replace edits on the next scan).
    pub from_folder: bool,
}

fn marks(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The tracks among `ids` that exist (in no particular order).
#[tracing::instrument(name = "sql catalog.tracks", skip_all)]
pub async fn tracks(conn: &mut AnyConnection, ids: &[String]) -> Result<Vec<TrackRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT t.id, t.owner_id, t.shared, t.title, t.artist_id, ar.name AS artist, t.album_artist_id,
                aa.name AS album_artist, t.album_id, al.title AS album, t.track_no, t.disc_no, t.year,
                t.genre, t.created_at,
                CAST(CASE WHEN EXISTS (SELECT 1 FROM library_files f WHERE f.track_id = t.id)
                     THEN 1 ELSE 0 END AS BIGINT) AS from_folder
         FROM tracks t JOIN artists ar ON ar.id = t.artist_id
         LEFT JOIN artists aa ON aa.id = t.album_artist_id LEFT JOIN albums al ON al.id = t.album_id
         WHERE t.id IN ({})",
        marks(1, ids.len())
    );
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(id);
    }
    Ok(q.fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| TrackRow {
            id: r.get("id"),
            owner_id: r.get("owner_id"),
            shared: r.get::<i64, _>("shared") == 1,
            title: r.get("title"),
            artist_id: r.get("artist_id"),
            artist: r.get("artist"),
            album_artist_id: r.get("album_artist_id"),
            album_artist: r.get("album_artist"),
            album_id: r.get("album_id"),
            album: r.get("album"),
            track_no: r.get("track_no"),
            disc_no: r.get("disc_no"),
            year: r.get("year"),
            genre: r.get("genre"),
            created_at: r.get("created_at"),
            from_folder: r.get::<i64, _>("from_folder") == 1,
        })
        .collect())
}

/// The ids of the tracks on an album, of an artist (as artist or album artist, or on
/// their albums), for the checks and clean-up of whole-album and whole-artist changes.
#[tracing::instrument(name = "sql catalog.track_ids_of_album", skip_all)]
pub async fn track_ids_of_album(conn: &mut AnyConnection, album_id: &str) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM tracks WHERE album_id = $1 ORDER BY id")
            .bind(album_id)
            .fetch_all(&mut *conn)
            .await?,
    )
}

#[tracing::instrument(name = "sql catalog.track_ids_of_artist", skip_all)]
pub async fn track_ids_of_artist(conn: &mut AnyConnection, artist_id: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM tracks WHERE artist_id = $1
         UNION SELECT id FROM tracks WHERE album_artist_id = $1
         UNION SELECT t.id FROM tracks t JOIN albums al ON al.id = t.album_id WHERE al.artist_id = $1",
    )
    .bind(artist_id)
    .fetch_all(&mut *conn)
    .await?)
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlbumRow {
    pub id: String,
    pub artist_id: String,
    pub artist: String,
    pub title: String,
    pub year: Option<i64>,
    pub cover_key: Option<String>,
}

#[tracing::instrument(name = "sql catalog.album", skip_all)]
pub async fn album(conn: &mut AnyConnection, album_id: &str) -> Result<Option<AlbumRow>> {
    let row = sqlx::query(
        "SELECT al.id, al.artist_id, ar.name, al.title, al.year, al.cover_key
         FROM albums al JOIN artists ar ON ar.id = al.artist_id WHERE al.id = $1",
    )
    .bind(album_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| AlbumRow {
        id: r.get("id"),
        artist_id: r.get("artist_id"),
        artist: r.get("name"),
        title: r.get("title"),
        year: r.get("year"),
        cover_key: r.get("cover_key"),
    }))
}

/// The other album of `artist_id` called `title` (case-insensitively), if there is one.
#[tracing::instrument(name = "sql catalog.album_named", skip_all)]
pub async fn album_named(
    conn: &mut AnyConnection,
    artist_id: &str,
    title: &str,
    except: &str,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM albums WHERE artist_id = $1 AND title_key = $2 AND id <> $3",
    )
    .bind(artist_id)
    .bind(name_key(title))
    .bind(except)
    .fetch_optional(&mut *conn)
    .await?)
}

/// An artist's name, if the artist exists.
#[tracing::instrument(name = "sql catalog.artist_name", skip_all)]
pub async fn artist_name(conn: &mut AnyConnection, artist_id: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT name FROM artists WHERE id = $1")
        .bind(artist_id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// The other artist called `name` (case-insensitively), if there is one.
#[tracing::instrument(name = "sql catalog.artist_named", skip_all)]
pub async fn artist_named(
    conn: &mut AnyConnection,
    name: &str,
    except: &str,
) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM artists WHERE name_key = $1 AND id <> $2")
            .bind(name_key(name))
            .bind(except)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// The account whose artist profile `artist_id` is, if any.
#[tracing::instrument(name = "sql catalog.account_of_artist", skip_all)]
pub async fn account_of_artist(
    conn: &mut AnyConnection,
    artist_id: &str,
) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT email FROM users WHERE artist_id = $1")
            .bind(artist_id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// The artist profile of an artist account: (id, name).
#[tracing::instrument(name = "sql catalog.profile_of", skip_all)]
pub async fn profile_of(
    conn: &mut AnyConnection,
    user_id: &str,
) -> Result<Option<(String, String)>> {
    let row = sqlx::query(
        "SELECT ar.id, ar.name FROM users u JOIN artists ar ON ar.id = u.artist_id WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| (r.get("id"), r.get("name"))))
}

/// Who owns the tracks of an album: (tracks, tracks owned by `user_id`, tracks
/// `user_id` may see).
#[tracing::instrument(name = "sql catalog.album_owners", skip_all)]
pub async fn album_owners(
    conn: &mut AnyConnection,
    album_id: &str,
    user_id: &str,
) -> Result<(i64, i64, i64)> {
    let r = sqlx::query(
        "SELECT COUNT(*) AS n,
                COALESCE(SUM(CASE WHEN owner_id = $2 THEN 1 ELSE 0 END), 0) AS mine,
                COALESCE(SUM(CASE WHEN owner_id = $2 OR shared = 1 THEN 1 ELSE 0 END), 0) AS visible
         FROM tracks WHERE album_id = $1",
    )
    .bind(album_id)
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok((r.get("n"), r.get("mine"), r.get("visible")))
}

/// The fields an edit writes onto a track.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackFields {
    pub title: String,
    pub artist_id: String,
    pub album_artist_id: Option<String>,
    pub album_id: Option<String>,
    pub track_no: Option<i64>,
    pub disc_no: Option<i64>,
    pub year: Option<i64>,
    pub genre: Option<String>,
}

#[tracing::instrument(name = "sql catalog.update_track", skip_all)]
pub async fn update_track(conn: &mut AnyConnection, id: &str, f: &TrackFields) -> Result<()> {
    sqlx::query(
        "UPDATE tracks SET title = $2, artist_id = $3, album_artist_id = $4, album_id = $5, track_no = $6,
            disc_no = $7, year = $8, genre = $9
         WHERE id = $1",
    )
    .bind(id)
    .bind(&f.title)
    .bind(&f.artist_id)
    .bind(&f.album_artist_id)
    .bind(&f.album_id)
    .bind(f.track_no)
    .bind(f.disc_no)
    .bind(f.year)
    .bind(&f.genre)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Makes an album count as added no earlier than `at` (a track moved onto it).
#[tracing::instrument(name = "sql catalog.album_added_at_least", skip_all)]
pub async fn album_added_at_least(conn: &mut AnyConnection, album_id: &str, at: i64) -> Result<()> {
    sqlx::query("UPDATE albums SET added_at = CASE WHEN added_at < $2 THEN $2 ELSE added_at END WHERE id = $1")
        .bind(album_id)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[tracing::instrument(name = "sql catalog.update_album", skip_all)]
pub async fn update_album(
    conn: &mut AnyConnection,
    id: &str,
    artist_id: &str,
    title: &str,
    year: Option<i64>,
) -> Result<()> {
    sqlx::query(
        "UPDATE albums SET artist_id = $2, title = $3, title_key = $4, year = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(artist_id)
    .bind(title)
    .bind(name_key(title))
    .bind(year)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Credits every track of an album to the album's artist as album artist (none where
/// that is the track's own artist).
#[tracing::instrument(name = "sql catalog.set_album_artist_of_tracks", skip_all)]
pub async fn set_album_artist_of_tracks(
    conn: &mut AnyConnection,
    album_id: &str,
    artist_id: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE tracks SET album_artist_id = CASE WHEN artist_id = $2 THEN NULL ELSE $2 END
         WHERE album_id = $1",
    )
    .bind(album_id)
    .bind(artist_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Moves everything of album `from` onto `into` (tracks, likes, a missing cover or year)
/// and deletes `from`.
#[tracing::instrument(name = "sql catalog.move_album", skip_all)]
pub async fn move_album(conn: &mut AnyConnection, from: &str, into: &str) -> Result<()> {
    sqlx::query("UPDATE tracks SET album_id = $2 WHERE album_id = $1")
        .bind(from)
        .bind(into)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO album_likes (user_id, album_id, created_at)
         SELECT user_id, $2, created_at FROM album_likes WHERE album_id = $1
         ON CONFLICT (user_id, album_id) DO NOTHING",
    )
    .bind(from)
    .bind(into)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE albums SET cover_key = COALESCE(albums.cover_key, f.cover_key), year = COALESCE(albums.year, f.year),
            added_at = CASE WHEN albums.added_at < f.added_at THEN f.added_at ELSE albums.added_at END
         FROM (SELECT cover_key, year, added_at FROM albums WHERE id = $1) f
         WHERE albums.id = $2",
    )
    .bind(from)
    .bind(into)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM albums WHERE id = $1")
        .bind(from)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The albums of an artist: (id, title).
#[tracing::instrument(name = "sql catalog.albums_of", skip_all)]
pub async fn albums_of(conn: &mut AnyConnection, artist_id: &str) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT id, title FROM albums WHERE artist_id = $1 ORDER BY id")
        .bind(artist_id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.get("id"), r.get("title")))
        .collect())
}

/// Credits everything of artist `from` to `into` (tracks as artist and album artist,
/// albums, an artist account's profile) and deletes `from`. Albums that would collide
/// must have been merged first.
#[tracing::instrument(name = "sql catalog.move_artist", skip_all)]
pub async fn move_artist(conn: &mut AnyConnection, from: &str, into: &str) -> Result<()> {
    for sql in [
        "UPDATE tracks SET artist_id = $2 WHERE artist_id = $1",
        "UPDATE tracks SET album_artist_id = $2 WHERE album_artist_id = $1",
        "UPDATE albums SET artist_id = $2 WHERE artist_id = $1",
        "UPDATE users SET artist_id = $2 WHERE artist_id = $1",
    ] {
        sqlx::query(sql)
            .bind(from)
            .bind(into)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(
        "UPDATE tracks SET album_artist_id = NULL WHERE album_artist_id = $1 AND artist_id = $1",
    )
    .bind(into)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM artists WHERE id = $1")
        .bind(from)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[tracing::instrument(name = "sql catalog.rename_artist", skip_all)]
pub async fn rename_artist(conn: &mut AnyConnection, id: &str, name: &str) -> Result<()> {
    sqlx::query("UPDATE artists SET name = $2, name_key = $3 WHERE id = $1")
        .bind(id)
        .bind(name)
        .bind(name_key(name))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Points every track of an album at one cover; returns the cover keys they had.
#[tracing::instrument(name = "sql catalog.set_album_cover", skip_all)]
pub async fn set_album_cover(
    conn: &mut AnyConnection,
    album_id: &str,
    key: &str,
) -> Result<Vec<String>> {
    let mut old: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT cover_key FROM tracks WHERE album_id = $1 AND cover_key IS NOT NULL
         UNION SELECT cover_key FROM albums WHERE id = $1 AND cover_key IS NOT NULL",
    )
    .bind(album_id)
    .fetch_all(&mut *conn)
    .await?;
    old.retain(|k| k != key);
    sqlx::query("UPDATE tracks SET cover_key = $2, cover_thumbs = 1 WHERE album_id = $1")
        .bind(album_id)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE albums SET cover_key = $2 WHERE id = $1")
        .bind(album_id)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(old)
}

/// Of `keys`, those no track or album points at any more.
#[tracing::instrument(name = "sql catalog.unreferenced_covers", skip_all)]
pub async fn unreferenced_covers(conn: &mut AnyConnection, keys: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for key in keys {
        let used: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM tracks WHERE cover_key = $1 UNION ALL SELECT 1 FROM albums WHERE cover_key = $1 LIMIT 1",
        )
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
        if used.is_none() {
            out.push(key.clone());
        }
    }
    Ok(out)
}

#[tracing::instrument(name = "sql catalog.delete_tracks", skip_all)]
pub async fn delete_tracks(conn: &mut AnyConnection, ids: &[String]) -> Result<()> {
    for id in ids {
        crate::library::repo::delete_track(&mut *conn, id).await?;
    }
    Ok(())
}

#[tracing::instrument(name = "sql catalog.delete_album", skip_all)]
pub async fn delete_album(conn: &mut AnyConnection, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM albums WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[tracing::instrument(name = "sql catalog.delete_artist", skip_all)]
pub async fn delete_artist(conn: &mut AnyConnection, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM artists WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes the albums among `albums` with no track, then the artists among `artists`
/// nothing refers to (no track, album or account).
#[tracing::instrument(name = "sql catalog.prune", skip_all)]
pub async fn prune(conn: &mut AnyConnection, albums: &[String], artists: &[String]) -> Result<()> {
    for id in albums {
        sqlx::query(
            "DELETE FROM albums WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM tracks WHERE album_id = $1)",
        )
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    for id in artists {
        sqlx::query(
            "DELETE FROM artists WHERE id = $1
               AND NOT EXISTS (SELECT 1 FROM tracks WHERE artist_id = $1)
               AND NOT EXISTS (SELECT 1 FROM tracks WHERE album_artist_id = $1)
               AND NOT EXISTS (SELECT 1 FROM albums WHERE artist_id = $1)
               AND NOT EXISTS (SELECT 1 FROM users WHERE artist_id = $1)",
        )
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Indexes an album or artist again after its name changed.
#[tracing::instrument(name = "sql catalog.reindex", skip_all)]
pub async fn reindex(conn: &mut AnyConnection, kind: &str, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM search_docs WHERE kind = $1 AND ref_id = $2")
        .bind(kind)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    match kind {
        "album" => crate::search::repo::index_album(conn, id).await,
        _ => crate::search::repo::index_artist(conn, id).await,
    }
}
