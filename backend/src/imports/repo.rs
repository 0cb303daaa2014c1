use crate::{Result, now_ms};
use serde::{Deserialize, Serialize};
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

// The state changes of a job. `imports::job` is the one module that calls them (and
// `set_state`): read it for what moves a job from one state to another.

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

/// Queued or processing to processing, one more attempt: whether the job moved.
#[tracing::instrument(name = "sql imports.mark_processing", skip_all)]
pub async fn mark_processing<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: &str,
    now: i64,
) -> Result<bool> {
    let started = sqlx::query(
        "UPDATE import_jobs SET state = 'processing', attempts = attempts + 1, updated_at = $2
         WHERE id = $1 AND state IN ('queued', 'processing')",
    )
    .bind(id)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected();
    Ok(started == 1)
}

/// A failed job whose input is still there back to queued: whether the job moved.
#[tracing::instrument(name = "sql imports.requeue_failed", skip_all)]
pub async fn requeue_failed<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: &str,
    now: i64,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE import_jobs SET state = 'queued', error = NULL, cancelled_at = NULL, cancel_requested_at = NULL,
            retryable = 0, updated_at = $2
         WHERE id = $1 AND state = 'failed' AND retryable = 1",
    )
    .bind(id)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected();
    Ok(n != 0)
}

/// A queued job to failed, cancelled with `reason`: whether the job moved.
#[tracing::instrument(name = "sql imports.cancel_queued", skip_all)]
pub async fn cancel_queued<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: &str,
    reason: &str,
    now: i64,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE import_jobs SET state = 'failed', error = $2, cancelled_at = $3, updated_at = $3,
            retryable = CASE WHEN source IN ('url', 'youtube') THEN 1 ELSE 0 END
         WHERE id = $1 AND state = 'queued'",
    )
    .bind(id)
    .bind(reason)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Flags a processing job for its worker to stop: whether it was processing.
#[tracing::instrument(name = "sql imports.request_cancel", skip_all)]
pub async fn request_cancel<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: &str,
    now: i64,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE import_jobs SET cancel_requested_at = $2 WHERE id = $1 AND state = 'processing'",
    )
    .bind(id)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected();
    Ok(n != 0)
}

/// When a cancel of the job was asked for: None for no job, Some(None) for no request.
#[tracing::instrument(name = "sql imports.cancel_requested_at", skip_all)]
pub async fn cancel_requested_at<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: &str,
) -> Result<Option<Option<i64>>> {
    Ok(
        sqlx::query_scalar("SELECT cancel_requested_at FROM import_jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

/// A job that is not done to failed, cancelled with `reason` (its worker stopped it).
#[tracing::instrument(name = "sql imports.settle_cancelled", skip_all)]
pub async fn settle_cancelled<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: &str,
    reason: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE import_jobs SET state = 'failed', error = $2, cancelled_at = $3, updated_at = $3,
            retryable = CASE WHEN source IN ('url', 'youtube') THEN 1 ELSE 0 END
         WHERE id = $1 AND state <> 'done'",
    )
    .bind(id)
    .bind(reason)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Marks a failed job's input as available again.
#[tracing::instrument(name = "sql imports.set_retryable", skip_all)]
pub async fn set_retryable<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: &str,
) -> Result<()> {
    sqlx::query("UPDATE import_jobs SET retryable = 1 WHERE id = $1 AND state = 'failed'")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

// The desk: listing, counting and purging jobs.

/// The state a job shows: a failed one with a cancel time shows as cancelled.
const STATE_SQL: &str =
    "CASE WHEN j.state = 'failed' AND j.cancelled_at IS NOT NULL THEN 'cancelled' ELSE j.state END";

/// Which jobs a desk page lists (values already checked by the desk).
#[derive(Debug, Clone, Copy)]
pub struct DeskQuery<'a> {
    /// Only this user's (scan registrations excluded); everyone's when `None`.
    pub owner: Option<&'a str>,
    /// A shown state: `queued`, `processing`, `done`, `failed` or `cancelled`.
    pub state: Option<&'a str>,
    /// `upload`, `url`, `youtube` or `scan`.
    pub source: Option<&'a str>,
    pub offset: i64,
    pub limit: i64,
}

/// What the desk shows of a job. The repository reads the rows; the desk applies its two
/// rules to `retryable` and `cancelling` (`desk::list`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeskJob {
    pub id: String,
    pub owner_email: Option<String>,
    pub filename: String,
    /// `upload`, `url`, `youtube` or `scan`.
    pub source: String,
    pub source_url: Option<String>,
    /// `queued`, `processing`, `done`, `failed` or `cancelled` (see `STATE_SQL`).
    pub state: String,
    pub error: Option<String>,
    pub size_bytes: i64,
    /// The track's length, once imported.
    pub duration_ms: Option<i64>,
    pub track_id: Option<String>,
    pub attempts: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// A failed job that can be tried again.
    pub retryable: bool,
    /// A running job whose cancel the worker has not acted on yet.
    pub cancelling: bool,
}

/// A page of jobs not archived, newest first.
#[tracing::instrument(name = "sql imports.desk_page", skip_all)]
pub async fn desk_page<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    f: DeskQuery<'_>,
) -> Result<Vec<DeskJob>> {
    let mut conds = vec!["j.archived = 0".to_string()];
    let mut args: Vec<String> = Vec::new();
    if let Some(owner) = f.owner {
        args.push(owner.to_string());
        conds.push(format!(
            "j.user_id = ${} AND j.source <> 'scan'",
            args.len() + 2
        ));
    }
    if let Some(state) = f.state {
        conds.push(match state {
            "queued" | "processing" | "done" => {
                args.push(state.to_string());
                format!("j.state = ${}", args.len() + 2)
            }
            "failed" => "j.state = 'failed' AND j.cancelled_at IS NULL".into(),
            "cancelled" => "j.state = 'failed' AND j.cancelled_at IS NOT NULL".into(),
            other => return Err(anyhow::anyhow!("no import state called {other:?}").into()),
        });
    }
    if let Some(source) = f.source {
        args.push(source.to_string());
        conds.push(format!("j.source = ${}", args.len() + 2));
    }
    let sql = format!(
        "SELECT j.id, u.email, j.filename, j.source, j.source_url, {STATE_SQL} AS shown_state, j.error,
                j.size_bytes, t.duration_ms, j.track_id, j.attempts, j.created_at, j.updated_at, j.retryable,
                j.cancel_requested_at
         FROM import_jobs j LEFT JOIN users u ON u.id = j.user_id LEFT JOIN tracks t ON t.id = j.track_id
         WHERE {}
         ORDER BY j.created_at DESC, j.id DESC LIMIT $1 OFFSET $2",
        conds.join(" AND ")
    );
    let mut q = sqlx::query(&sql).bind(f.limit).bind(f.offset);
    for a in &args {
        q = q.bind(a);
    }
    Ok(q.fetch_all(db)
        .await?
        .into_iter()
        .map(|r| DeskJob {
            id: r.get("id"),
            owner_email: r.get("email"),
            filename: r.get("filename"),
            source: r.get("source"),
            source_url: r.get("source_url"),
            state: r.get("shown_state"),
            error: r.get("error"),
            size_bytes: r.get("size_bytes"),
            duration_ms: r.get("duration_ms"),
            track_id: r.get("track_id"),
            attempts: r.get("attempts"),
            created_at: r.get("created_at"),
            updated_at: r.get("updated_at"),
            retryable: r.get::<i64, _>("retryable") == 1,
            cancelling: r.get::<Option<i64>, _>("cancel_requested_at").is_some(),
        })
        .collect())
}

/// How many jobs (not archived; `owner`'s only, scans excluded, when given) are in each
/// shown state, each counted up to `cap`.
#[tracing::instrument(name = "sql imports.desk_counts", skip_all)]
pub async fn desk_counts<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    owner: Option<&str>,
    cap: i64,
) -> Result<Vec<(String, i64)>> {
    let own = match owner {
        Some(_) => "AND j.user_id = $1 AND j.source <> 'scan'",
        None => "",
    };
    // One bounded walk of the (state, created_at) index per stored state; cancelled jobs
    // are failed ones with a cancel time.
    let parts: Vec<String> = ["queued", "processing", "done", "failed"]
        .iter()
        .map(|state| {
            format!(
                "SELECT shown_state, COUNT(*) AS n FROM (
                   SELECT {STATE_SQL} AS shown_state FROM import_jobs j
                   WHERE j.state = '{state}' AND j.archived = 0 {own} LIMIT {cap}
                 ) x GROUP BY shown_state"
            )
        })
        .collect();
    let sql = format!("{} ORDER BY 1", parts.join(" UNION ALL "));
    let mut q = sqlx::query(&sql);
    if let Some(owner) = owner {
        q = q.bind(owner);
    }
    let rows = q.fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.get("shown_state"), r.get::<i64, _>("n")))
        .collect())
}

/// The kept originals of failed jobs last changed before `cutoff` (scans have none).
#[tracing::instrument(name = "sql imports.failed_originals_before", skip_all)]
pub async fn failed_originals_before<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    cutoff: i64,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT original_key FROM import_jobs WHERE state = 'failed' AND updated_at < $1 AND source <> 'scan'
           AND original_key <> ''",
    )
    .bind(cutoff)
    .fetch_all(db)
    .await?)
}

/// Deletes failed jobs last changed before `cutoff`; how many.
#[tracing::instrument(name = "sql imports.delete_failed_before", skip_all)]
pub async fn delete_failed_before<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    cutoff: i64,
) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM import_jobs WHERE state = 'failed' AND updated_at < $1")
            .bind(cutoff)
            .execute(db)
            .await?
            .rows_affected(),
    )
}

/// Deletes done jobs last changed before `cutoff` whose track is gone; how many.
#[tracing::instrument(name = "sql imports.delete_orphaned_done_before", skip_all)]
pub async fn delete_orphaned_done_before<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    cutoff: i64,
) -> Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM import_jobs WHERE state = 'done' AND updated_at < $1
           AND NOT EXISTS (SELECT 1 FROM tracks t WHERE t.import_job_id = import_jobs.id)",
    )
    .bind(cutoff)
    .execute(db)
    .await?
    .rows_affected())
}

/// Archives (hides from the desk) done jobs last changed before `cutoff`; how many.
#[tracing::instrument(name = "sql imports.archive_done_before", skip_all)]
pub async fn archive_done_before<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    cutoff: i64,
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE import_jobs SET archived = 1 WHERE state = 'done' AND updated_at < $1 AND archived = 0",
    )
    .bind(cutoff)
    .execute(db)
    .await?
    .rows_affected())
}

// Quota.

/// Bytes in `user_id`'s usage tally, if it has one.
#[tracing::instrument(name = "sql imports.used_bytes", skip_all)]
pub async fn used_bytes<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT bytes FROM usage_tallies WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(db)
            .await?,
    )
}

/// The account's role and the quota an admin set, if the account exists.
#[tracing::instrument(name = "sql imports.role_and_quota", skip_all)]
pub async fn role_and_quota<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<Option<(String, Option<i64>)>> {
    let row = sqlx::query("SELECT role, quota_bytes FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| (r.get("role"), r.get("quota_bytes"))))
}

// Figures.

/// How many jobs are in each stored state (states with none are left out).
#[tracing::instrument(name = "sql imports.count_by_state", skip_all)]
pub async fn count_by_state<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
) -> Result<Vec<(String, i64)>> {
    let rows =
        sqlx::query("SELECT state, COUNT(*) AS n FROM import_jobs GROUP BY state ORDER BY state")
            .fetch_all(db)
            .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.get("state"), r.get("n")))
        .collect())
}
