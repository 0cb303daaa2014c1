use super::open::Identity;
use crate::{Result, new_id, now_ms};
use sqlx::{AnyConnection, Executor, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootRow {
    pub id: String,
    pub path: String,
}

#[tracing::instrument(name = "sql folders.roots", skip_all)]
pub async fn roots<'e, E: Executor<'e, Database = sqlx::Any>>(db: E) -> Result<Vec<RootRow>> {
    let rows = sqlx::query("SELECT id, path FROM library_roots ORDER BY path")
        .fetch_all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| RootRow {
            id: r.get("id"),
            path: r.get("path"),
        })
        .collect())
}

/// Adds a root unless its path is there already; returns whether it was added.
#[tracing::instrument(name = "sql folders.insert_root", skip_all)]
pub async fn insert_root(conn: &mut AnyConnection, path: &str) -> Result<bool> {
    let n = sqlx::query(
        "INSERT INTO library_roots (id, path, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (path) DO NOTHING",
    )
    .bind(new_id())
    .bind(path)
    .bind(now_ms())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

#[tracing::instrument(name = "sql folders.delete_root", skip_all)]
pub async fn delete_root(conn: &mut AnyConnection, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM library_roots WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Files, tracks and unreadable files per root.
#[tracing::instrument(name = "sql folders.root_counts", skip_all)]
pub async fn root_counts<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
) -> Result<Vec<(String, i64, i64, i64)>> {
    let rows = sqlx::query(
        "SELECT root_id, COUNT(*) AS files, COUNT(track_id) AS tracks,
            SUM(CASE WHEN error IS NULL THEN 0 ELSE 1 END) AS failed
         FROM library_files GROUP BY root_id",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.get("root_id"),
                r.get("files"),
                r.get("tracks"),
                r.get::<Option<i64>, _>("failed").unwrap_or(0),
            )
        })
        .collect())
}

#[derive(Debug, Clone)]
pub struct FileRow {
    pub id: String,
    pub root_id: String,
    pub rel_path: String,
    pub size_bytes: i64,
    pub mtime_ms: i64,
    pub content_hash: String,
    pub track_id: Option<String>,
    pub error: Option<String>,
    /// Device and inode as the scan saw them (`None` on rows from before they were kept).
    pub identity: Option<Identity>,
}

const FILE_COLS: &str =
    "id, root_id, rel_path, size_bytes, mtime_ms, content_hash, track_id, error, dev, ino";

fn file_from_row(r: sqlx::any::AnyRow) -> FileRow {
    FileRow {
        id: r.get("id"),
        root_id: r.get("root_id"),
        rel_path: r.get("rel_path"),
        size_bytes: r.get("size_bytes"),
        mtime_ms: r.get("mtime_ms"),
        content_hash: r.get("content_hash"),
        track_id: r.get("track_id"),
        error: r.get("error"),
        identity: Identity::from_db(r.get("dev"), r.get("ino")),
    }
}

#[tracing::instrument(name = "sql folders.files_of_root", skip_all)]
pub async fn files_of_root<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    root_id: &str,
) -> Result<Vec<FileRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {FILE_COLS} FROM library_files WHERE root_id = $1"
    ))
    .bind(root_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(file_from_row).collect())
}

#[tracing::instrument(name = "sql folders.insert_file", skip_all)]
pub async fn insert_file(conn: &mut AnyConnection, f: &FileRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO library_files (id, root_id, rel_path, size_bytes, mtime_ms, content_hash, track_id, error, dev, ino)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&f.id)
    .bind(&f.root_id)
    .bind(&f.rel_path)
    .bind(f.size_bytes)
    .bind(f.mtime_ms)
    .bind(&f.content_hash)
    .bind(&f.track_id)
    .bind(&f.error)
    .bind(f.identity.map(|i| i.to_db().0))
    .bind(f.identity.map(|i| i.to_db().1))
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes a file's row as it is now (path, stat, hash, track, error).
#[tracing::instrument(name = "sql folders.update_file", skip_all)]
pub async fn update_file(conn: &mut AnyConnection, f: &FileRow) -> Result<()> {
    sqlx::query(
        "UPDATE library_files SET root_id = $2, rel_path = $3, size_bytes = $4, mtime_ms = $5,
            content_hash = $6, track_id = $7, error = $8, dev = $9, ino = $10
         WHERE id = $1",
    )
    .bind(&f.id)
    .bind(&f.root_id)
    .bind(&f.rel_path)
    .bind(f.size_bytes)
    .bind(f.mtime_ms)
    .bind(&f.content_hash)
    .bind(&f.track_id)
    .bind(&f.error)
    .bind(f.identity.map(|i| i.to_db().0))
    .bind(f.identity.map(|i| i.to_db().1))
    .execute(conn)
    .await?;
    Ok(())
}

#[tracing::instrument(name = "sql folders.delete_file", skip_all)]
pub async fn delete_file(conn: &mut AnyConnection, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM library_files WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Where a scanned track's file is: its music folder, the path inside it, and the file's
/// identity as the scan saw it. Opened only through [`super::open`].
#[derive(Debug, Clone)]
pub struct ScannedFile {
    pub root: String,
    pub rel_path: String,
    pub identity: Option<Identity>,
}

/// The file a scanned track plays from.
#[tracing::instrument(name = "sql folders.file_of_track", skip_all)]
pub async fn file_of_track<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    track_id: &str,
) -> Result<Option<ScannedFile>> {
    let row = sqlx::query(
        "SELECT r.path, f.rel_path, f.dev, f.ino FROM library_files f JOIN library_roots r ON r.id = f.root_id
         WHERE f.track_id = $1",
    )
    .bind(track_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| ScannedFile {
        root: r.get("path"),
        rel_path: r.get("rel_path"),
        identity: Identity::from_db(r.get("dev"), r.get("ino")),
    }))
}

/// The earliest admin: the owner of what scheduled and command-line scans add.
#[tracing::instrument(name = "sql folders.first_admin", skip_all)]
pub async fn first_admin<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL ORDER BY created_at, id LIMIT 1",
    )
    .fetch_optional(db)
    .await?)
}

// ---- scans ----

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    pub seen: i64,
    pub added: i64,
    pub changed: i64,
    pub moved: i64,
    pub removed: i64,
    pub failed: i64,
}

#[derive(Debug, Clone)]
pub struct ScanRow {
    pub id: String,
    pub state: String,
    pub requested_by: Option<String>,
    /// `None` for a scan of every folder; what a watch saw otherwise.
    pub scope: Option<String>,
    pub counts: Counts,
    pub report: String,
    pub error: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

const SCAN_COLS: &str = "id, state, requested_by, scope, seen, added, changed, moved, removed, failed, report, error, created_at, started_at, finished_at";

fn scan_from_row(r: sqlx::any::AnyRow) -> ScanRow {
    ScanRow {
        id: r.get("id"),
        state: r.get("state"),
        requested_by: r.get("requested_by"),
        scope: r.get("scope"),
        counts: Counts {
            seen: r.get("seen"),
            added: r.get("added"),
            changed: r.get("changed"),
            moved: r.get("moved"),
            removed: r.get("removed"),
            failed: r.get("failed"),
        },
        report: r.get("report"),
        error: r.get("error"),
        created_at: r.get("created_at"),
        started_at: r.get("started_at"),
        finished_at: r.get("finished_at"),
    }
}

/// Queues a scan; `None` when one is queued already (at most one waits).
#[tracing::instrument(name = "sql folders.queue_scan", skip_all)]
pub async fn queue_scan(
    conn: &mut AnyConnection,
    requested_by: Option<&str>,
) -> Result<Option<String>> {
    let id = new_id();
    let n = sqlx::query(
        "INSERT INTO library_scans (id, state, requested_by, created_at) VALUES ($1, 'queued', $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(&id)
    .bind(requested_by)
    .bind(now_ms())
    .execute(conn)
    .await?
    .rows_affected();
    Ok((n == 1).then_some(id))
}

#[tracing::instrument(name = "sql folders.scan_in_state", skip_all)]
pub async fn scan_in_state<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    state: &str,
) -> Result<Option<ScanRow>> {
    let row = sqlx::query(&format!(
        "SELECT {SCAN_COLS} FROM library_scans WHERE state = $1"
    ))
    .bind(state)
    .fetch_optional(db)
    .await?;
    Ok(row.map(scan_from_row))
}

#[tracing::instrument(name = "sql folders.latest_scan", skip_all)]
pub async fn latest_scan<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
) -> Result<Option<ScanRow>> {
    let row = sqlx::query(&format!(
        "SELECT {SCAN_COLS} FROM library_scans ORDER BY created_at DESC, id LIMIT 1"
    ))
    .fetch_optional(db)
    .await?;
    Ok(row.map(scan_from_row))
}

#[tracing::instrument(name = "sql folders.get_scan", skip_all)]
pub async fn get_scan<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: &str,
) -> Result<Option<ScanRow>> {
    let row = sqlx::query(&format!(
        "SELECT {SCAN_COLS} FROM library_scans WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(scan_from_row))
}

/// When the newest scan that ran to its end finished.
#[tracing::instrument(name = "sql folders.last_finished_at", skip_all)]
pub async fn last_finished_at<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT MAX(finished_at) FROM library_scans WHERE state IN ('done', 'failed')",
    )
    .fetch_one(db)
    .await?)
}

/// A running scan whose process stopped beating for `stale_ms` is failed, so the next
/// one can run.
#[tracing::instrument(name = "sql folders.fail_stale", skip_all)]
pub async fn fail_stale<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    stale_ms: i64,
) -> Result<u64> {
    let now = now_ms();
    Ok(sqlx::query(
        "UPDATE library_scans SET state = 'failed', finished_at = $1,
            error = 'interrupted: the process running it stopped'
         WHERE state = 'running' AND COALESCE(heartbeat_at, started_at, created_at) < $2",
    )
    .bind(now)
    .bind(now - stale_ms)
    .execute(db)
    .await?
    .rows_affected())
}

/// Starts a scan of part of the library at once (a watch's changes); `None` when another
/// scan runs.
#[tracing::instrument(name = "sql folders.start_partial_scan", skip_all)]
pub async fn start_partial_scan(conn: &mut AnyConnection, scope: &str) -> Result<Option<ScanRow>> {
    let id = new_id();
    let now = now_ms();
    let n = sqlx::query(
        "INSERT INTO library_scans (id, state, scope, created_at, started_at, heartbeat_at)
         VALUES ($1, 'running', $2, $3, $3, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(&id)
    .bind(scope)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(None);
    }
    get_scan(&mut *conn, &id).await
}

/// Starts the queued scan unless one runs; returns it when this caller won it.
#[tracing::instrument(name = "sql folders.claim_queued", skip_all)]
pub async fn claim_queued(conn: &mut AnyConnection) -> Result<Option<ScanRow>> {
    let Some(q) = scan_in_state(&mut *conn, "queued").await? else {
        return Ok(None);
    };
    if scan_in_state(&mut *conn, "running").await?.is_some() {
        return Ok(None);
    }
    let now = now_ms();
    // The unique index on active states lets only one UPDATE make a scan 'running'.
    let won = sqlx::query(
        "UPDATE library_scans SET state = 'running', started_at = $2, heartbeat_at = $2
         WHERE id = $1 AND state = 'queued'
           AND NOT EXISTS (SELECT 1 FROM library_scans WHERE state = 'running')",
    )
    .bind(&q.id)
    .bind(now)
    .execute(&mut *conn)
    .await;
    match won {
        Ok(r) if r.rows_affected() == 1 => get_scan(&mut *conn, &q.id).await,
        Ok(_) => Ok(None),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[tracing::instrument(name = "sql folders.save_progress", skip_all)]
pub async fn save_progress<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: &str,
    c: &Counts,
    report: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE library_scans SET seen = $2, added = $3, changed = $4, moved = $5, removed = $6,
            failed = $7, report = $8, heartbeat_at = $9
         WHERE id = $1",
    )
    .bind(id)
    .bind(c.seen)
    .bind(c.added)
    .bind(c.changed)
    .bind(c.moved)
    .bind(c.removed)
    .bind(c.failed)
    .bind(report)
    .bind(now_ms())
    .execute(db)
    .await?;
    Ok(())
}

#[tracing::instrument(name = "sql folders.finish_scan", skip_all)]
pub async fn finish_scan<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: &str,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE library_scans SET state = $2, error = $3, finished_at = $4 WHERE id = $1")
        .bind(id)
        .bind(if error.is_some() { "failed" } else { "done" })
        .bind(error)
        .bind(now_ms())
        .execute(db)
        .await?;
    Ok(())
}

// ---- tracks of scanned files ----

/// A scanned track that still needs its rendition.
#[derive(Debug, Clone)]
pub struct PendingRendition {
    pub track_id: String,
    pub rendition_key: String,
    pub file: ScannedFile,
}

#[tracing::instrument(name = "sql folders.pending_rendition", skip_all)]
pub async fn pending_rendition<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    track_id: &str,
) -> Result<Option<PendingRendition>> {
    let row = sqlx::query(
        "SELECT t.id, t.rendition_key, r.path, f.rel_path, f.dev, f.ino
         FROM tracks t JOIN library_files f ON f.track_id = t.id JOIN library_roots r ON r.id = f.root_id
         WHERE t.id = $1 AND t.rendition_ready = 0",
    )
    .bind(track_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| PendingRendition {
        track_id: r.get("id"),
        rendition_key: r.get("rendition_key"),
        file: ScannedFile {
            root: r.get("path"),
            rel_path: r.get("rel_path"),
            identity: Identity::from_db(r.get("dev"), r.get("ino")),
        },
    }))
}

#[tracing::instrument(name = "sql folders.set_rendition", skip_all)]
pub async fn set_rendition<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    track_id: &str,
    bytes: i64,
    mime: &str,
    segment_index: &str,
    duration_ms: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE tracks SET rendition_ready = 1, rendition_bytes = $2, rendition_mime = $3,
            segment_index = $4, duration_ms = $5
         WHERE id = $1",
    )
    .bind(track_id)
    .bind(bytes)
    .bind(mime)
    .bind(segment_index)
    .bind(duration_ms)
    .execute(db)
    .await?;
    Ok(())
}

/// New tags of a changed file.
pub struct Retag {
    pub title: String,
    pub artist_id: String,
    pub album_artist_id: Option<String>,
    pub album_id: Option<String>,
    pub track_no: Option<i64>,
    pub disc_no: Option<i64>,
    pub year: Option<i64>,
    pub genre: Option<String>,
    pub lyrics: Option<String>,
    pub duration_ms: i64,
}

/// Gives a track a changed file's tags; its rendition is made again (on the next play or
/// by the background pass), and its loudness measured again.
#[tracing::instrument(name = "sql folders.retag_track", skip_all)]
pub async fn retag_track(conn: &mut AnyConnection, track_id: &str, t: &Retag) -> Result<()> {
    sqlx::query(
        "UPDATE tracks SET title = $2, artist_id = $3, album_artist_id = $4, album_id = $5,
            track_no = $6, disc_no = $7, year = $8, genre = $9, duration_ms = $10, lyrics = $11,
            rendition_ready = 0, rendition_bytes = 0, analysed = 0, loudness_lufs = NULL,
            true_peak_db = NULL
         WHERE id = $1",
    )
    .bind(track_id)
    .bind(&t.title)
    .bind(&t.artist_id)
    .bind(&t.album_artist_id)
    .bind(&t.album_id)
    .bind(t.track_no)
    .bind(t.disc_no)
    .bind(t.year)
    .bind(&t.genre)
    .bind(t.duration_ms)
    .bind(&t.lyrics)
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives a scanned track its cover, thumbnails made (and its album, when it has none).
#[tracing::instrument(name = "sql folders.set_cover", skip_all)]
pub async fn set_cover(db: &sqlx::AnyPool, track_id: &str, cover_key: &str) -> Result<()> {
    let mut tx = crate::db::begin(db).await?;
    sqlx::query("UPDATE tracks SET cover_key = $2, cover_thumbs = 1 WHERE id = $1")
        .bind(track_id)
        .bind(cover_key)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE albums SET cover_key = $2
         WHERE cover_key IS NULL AND id = (SELECT album_id FROM tracks WHERE id = $1)",
    )
    .bind(track_id)
    .bind(cover_key)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The track's title (the track must exist).
#[tracing::instrument(name = "sql folders.track_title", skip_all)]
pub async fn track_title(conn: &mut AnyConnection, track_id: &str) -> Result<String> {
    Ok(sqlx::query_scalar("SELECT title FROM tracks WHERE id = $1")
        .bind(track_id)
        .fetch_one(&mut *conn)
        .await?)
}
