use crate::{Result, now_ms};
use sqlx::{Executor, Row};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Processing,
    Done,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Processing => "processing",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "queued" => JobState::Queued,
            "processing" => JobState::Processing,
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            other => return Err(anyhow::anyhow!("unknown job state {other:?}").into()),
        })
    }
}

#[derive(Debug, Clone)]
pub struct JobView {
    pub id: String,
    pub user_id: String,
    pub filename: String,
    pub original_key: String,
    pub size_bytes: i64,
    pub state: JobState,
    pub error: Option<String>,
    pub track_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// `upload`, `url`, `youtube` or `scan`.
    pub source: String,
    /// The link of a URL import.
    pub source_url: Option<String>,
}

fn from_row(r: sqlx::any::AnyRow) -> Result<JobView> {
    Ok(JobView {
        id: r.get("id"),
        user_id: r.get("user_id"),
        filename: r.get("filename"),
        original_key: r.get("original_key"),
        size_bytes: r.get("size_bytes"),
        state: JobState::parse(&r.get::<String, _>("state"))?,
        error: r.get("error"),
        track_id: r.get("track_id"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
        source: r.get("source"),
        source_url: r.get("source_url"),
    })
}

const COLS: &str = "id, user_id, filename, original_key, size_bytes, state, error, track_id, created_at, updated_at, source, source_url";

#[tracing::instrument(name = "sql imports.insert", skip_all)]
pub async fn insert<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: &str,
    user_id: &str,
    filename: &str,
    original_key: &str,
    size: i64,
) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO import_jobs (id, user_id, filename, original_key, size_bytes, state, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'queued', $6, $6)",
    )
    .bind(id)
    .bind(user_id)
    .bind(filename)
    .bind(original_key)
    .bind(size)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// A link import (`source` `url` or `youtube`): queued with no original yet (the worker
/// fetches it).
#[tracing::instrument(name = "sql imports.insert_url", skip_all)]
pub async fn insert_url<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: &str,
    user_id: &str,
    filename: &str,
    original_key: &str,
    (source, url): (&str, &str),
) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO import_jobs (id, user_id, filename, original_key, size_bytes, state, created_at, updated_at, source, source_url)
         VALUES ($1, $2, $3, $4, 0, 'queued', $5, $5, $7, $6)",
    )
    .bind(id)
    .bind(user_id)
    .bind(filename)
    .bind(original_key)
    .bind(now)
    .bind(url)
    .bind(source)
    .execute(db)
    .await?;
    Ok(())
}

/// Records the size of an original once it is fetched.
#[tracing::instrument(name = "sql imports.set_size", skip_all)]
pub async fn set_size<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: &str,
    size: i64,
) -> Result<()> {
    sqlx::query("UPDATE import_jobs SET size_bytes = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(size)
        .bind(now_ms())
        .execute(db)
        .await?;
    Ok(())
}

/// The job of a file a library scan registered: done at once (the track exists), with no
/// object of its own (the file stays in its folder).
#[tracing::instrument(name = "sql imports.insert_scanned", skip_all)]
pub async fn insert_scanned<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: &str,
    user_id: &str,
    rel_path: &str,
    size: i64,
) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO import_jobs (id, user_id, filename, original_key, size_bytes, state, created_at, updated_at, source)
         VALUES ($1, $2, $3, '', $4, 'done', $5, $5, 'scan')",
    )
    .bind(id)
    .bind(user_id)
    .bind(rel_path)
    .bind(size)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

#[tracing::instrument(name = "sql imports.get", skip_all)]
pub async fn get<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: &str,
) -> Result<Option<JobView>> {
    let row = sqlx::query(&format!("SELECT {COLS} FROM import_jobs WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.map(from_row).transpose()
}

#[tracing::instrument(name = "sql imports.list_for_user", skip_all)]
pub async fn list_for_user<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    limit: i64,
) -> Result<Vec<JobView>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM import_jobs WHERE user_id = $1 AND source <> 'scan' ORDER BY created_at DESC, id LIMIT $2"
    ))
    .bind(user_id)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Moves a job to `state` unless it is already done (a finished job never goes back).
#[tracing::instrument(name = "sql imports.set_state", skip_all)]
pub async fn set_state<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: &str,
    state: JobState,
    error: Option<&str>,
    track_id: Option<&str>,
) -> Result<bool> {
    let res = sqlx::query(
        "UPDATE import_jobs SET state = $2, error = $3, track_id = COALESCE($4, track_id), updated_at = $5
         WHERE id = $1 AND state <> 'done'",
    )
    .bind(id)
    .bind(state.as_str())
    .bind(error)
    .bind(track_id)
    .bind(now_ms())
    .execute(db)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// Who uploaded a job: their role and artist profile (both `None` if the account is gone).
pub struct Uploader {
    pub role: Option<String>,
    pub artist_id: Option<String>,
}

#[tracing::instrument(name = "sql imports.uploader", skip_all)]
pub async fn uploader<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<Uploader> {
    let row = sqlx::query("SELECT role, artist_id FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(db)
        .await?;
    Ok(match row {
        Some(r) => Uploader {
            role: Some(r.get("role")),
            artist_id: r.get("artist_id"),
        },
        None => Uploader {
            role: None,
            artist_id: None,
        },
    })
}
