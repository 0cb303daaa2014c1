//! The import desk: every job (admins) or one's own (everyone) with its state, source,
//! owner, size, length and failure; retry of a failed job, cancel of a waiting or running
//! one, and purging finished jobs.
//!
//! A retry queues the job again with a new `import.requested` event in the same
//! transaction, so it is handled once however often the event is delivered, and a second
//! retry of the same failure finds the job no longer failed. A cancel of a waiting job
//! settles it at once; a running one is flagged, and the worker handling it stops its
//! ffmpeg, cleans up and settles it as cancelled (`cancelled_job`).

use super::repo::JobState;
use crate::infra::actor::{CurrentUser, Role};
use crate::{Core, Error, Result, events, now_ms};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// Whose jobs a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every user's (admins).
    All,
    /// The caller's own (scan registrations excluded).
    Own,
}

/// What the desk shows of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeskJob {
    pub id: String,
    pub owner_email: Option<String>,
    pub filename: String,
    /// `upload`, `url`, `youtube` or `scan`.
    pub source: String,
    pub source_url: Option<String>,
    /// `queued`, `processing`, `done`, `failed` or `cancelled`.
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

/// Which jobs to list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    /// One of [`DeskJob::state`]'s values; all when `None`.
    pub state: Option<String>,
    /// One of [`DeskJob::source`]'s values; all when `None`.
    pub source: Option<String>,
    pub offset: i64,
    pub limit: i64,
}

/// Most rows one page of the desk holds.
pub const MAX_PAGE: i64 = 200;
/// The reason a cancelled job shows.
pub const CANCELLED: &str = "cancelled";

const STATE_SQL: &str =
    "CASE WHEN j.state = 'failed' AND j.cancelled_at IS NOT NULL THEN 'cancelled' ELSE j.state END";

async fn check_scope(core: &Core, user: &CurrentUser, scope: Scope) -> Result<()> {
    match scope {
        Scope::All => crate::admin::require_admin(core, user).await,
        Scope::Own => Ok(()),
    }
}

/// A page of jobs, newest first.
pub async fn list(
    core: &Core,
    user: &CurrentUser,
    scope: Scope,
    f: &Filter,
) -> Result<Vec<DeskJob>> {
    check_scope(core, user, scope).await?;
    if f.offset < 0 || !(1..=MAX_PAGE).contains(&f.limit) {
        return Err(Error::Invalid(format!("pages hold 1 to {MAX_PAGE} jobs")));
    }
    let mut conds = vec!["j.archived = 0".to_string()];
    let mut args: Vec<String> = Vec::new();
    if scope == Scope::Own {
        args.push(user.id.clone());
        conds.push(format!(
            "j.user_id = ${} AND j.source <> 'scan'",
            args.len() + 2
        ));
    }
    if let Some(state) = &f.state {
        conds.push(match state.as_str() {
            "queued" | "processing" | "done" => {
                args.push(state.clone());
                format!("j.state = ${}", args.len() + 2)
            }
            "failed" => "j.state = 'failed' AND j.cancelled_at IS NULL".into(),
            "cancelled" => "j.state = 'failed' AND j.cancelled_at IS NOT NULL".into(),
            other => return Err(Error::Invalid(format!("no import state called {other:?}"))),
        });
    }
    if let Some(source) = &f.source {
        if !matches!(source.as_str(), "upload" | "url" | "youtube" | "scan") {
            return Err(Error::Invalid(format!(
                "no import source called {source:?}"
            )));
        }
        args.push(source.clone());
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
    Ok(q.fetch_all(&core.db)
        .await?
        .into_iter()
        .map(|r| {
            let state: String = r.get("shown_state");
            DeskJob {
                id: r.get("id"),
                owner_email: r.get("email"),
                filename: r.get("filename"),
                source: r.get("source"),
                source_url: r.get("source_url"),
                cancelling: state == "processing"
                    && r.get::<Option<i64>, _>("cancel_requested_at").is_some(),
                retryable: state != "done" && r.get::<i64, _>("retryable") == 1,
                state,
                error: r.get("error"),
                size_bytes: r.get("size_bytes"),
                duration_ms: r.get("duration_ms"),
                track_id: r.get("track_id"),
                attempts: r.get("attempts"),
                created_at: r.get("created_at"),
                updated_at: r.get("updated_at"),
            }
        })
        .collect())
}

/// Counts of jobs in a state stop here: past it the desk shows "1,000+", and the count
/// costs the same with a million finished imports as with a hundred.
pub const COUNT_CAP: i64 = 1_000;

/// How many jobs are in each shown state (for the filter's counts), each at most
/// [`COUNT_CAP`] + 1 (which means "more than the cap").
pub async fn counts(core: &Core, user: &CurrentUser, scope: Scope) -> Result<Vec<(String, i64)>> {
    check_scope(core, user, scope).await?;
    let own = match scope {
        Scope::Own => "AND j.user_id = $1 AND j.source <> 'scan'",
        Scope::All => "",
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
                 ) x GROUP BY shown_state",
                cap = COUNT_CAP + 1
            )
        })
        .collect();
    let sql = format!("{} ORDER BY 1", parts.join(" UNION ALL "));
    let mut q = sqlx::query(&sql);
    if scope == Scope::Own {
        q = q.bind(&user.id);
    }
    let rows = q.fetch_all(&core.db).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.get("shown_state"),
                r.get::<i64, _>("n").min(COUNT_CAP + 1),
            )
        })
        .collect())
}

/// The job, if the user may act on it (theirs, or they are an admin). Someone else's job
/// is "not found" to a non-admin.
async fn job_for(core: &Core, user: &CurrentUser, job_id: &str) -> Result<(super::JobView, bool)> {
    let job = super::repo::get(&core.db, job_id)
        .await?
        .ok_or(Error::NotFound("import job"))?;
    let other = job.user_id != user.id;
    if other {
        if user.role != Role::Admin {
            return Err(Error::NotFound("import job"));
        }
        crate::admin::require_admin(core, user).await?;
    }
    Ok((job, other))
}

/// Queues a failed job again. Refused for a job that is not failed (already retried,
/// done, running) or whose file is gone (a refused upload must be uploaded again).
pub async fn retry(core: &Core, user: &CurrentUser, job_id: &str) -> Result<()> {
    let (job, other) = job_for(core, user, job_id).await?;
    if job.state != JobState::Failed {
        return Err(Error::Invalid(
            "only failed imports can be tried again".into(),
        ));
    }
    let ev = super::service::import_requested(job_id)?;
    let mut tx = crate::db::begin(&core.db).await?;
    let n = sqlx::query(
        "UPDATE import_jobs SET state = 'queued', error = NULL, cancelled_at = NULL, cancel_requested_at = NULL,
            retryable = 0, updated_at = $2
         WHERE id = $1 AND state = 'failed' AND retryable = 1",
    )
    .bind(job_id)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(Error::Invalid(
            "this import's file is gone (it was refused or cancelled): upload it again".into(),
        ));
    }
    events::repo::enqueue(&mut *tx, &ev).await?;
    if other {
        crate::admin::audit(
            &mut tx,
            user,
            "import.retry",
            Some(&job.user_id),
            &format!("import {job_id} ({:?}) queued again", job.filename),
        )
        .await?;
    }
    tx.commit().await?;
    core.events.wake();
    Ok(())
}

/// What a cancel did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cancelled {
    /// It was waiting: it is cancelled.
    Now,
    /// It is running: the worker stops it within a second or so.
    Requested,
}

/// Cancels a waiting or running job.
pub async fn cancel(core: &Core, user: &CurrentUser, job_id: &str) -> Result<Cancelled> {
    let (job, other) = job_for(core, user, job_id).await?;
    let now = now_ms();
    let mut tx = crate::db::begin(&core.db).await?;
    let waiting = sqlx::query(
        "UPDATE import_jobs SET state = 'failed', error = $2, cancelled_at = $3, updated_at = $3,
            retryable = CASE WHEN source IN ('url', 'youtube') THEN 1 ELSE 0 END
         WHERE id = $1 AND state = 'queued'",
    )
    .bind(job_id)
    .bind(CANCELLED)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    let outcome = if waiting {
        Cancelled::Now
    } else {
        let n = sqlx::query(
            "UPDATE import_jobs SET cancel_requested_at = $2 WHERE id = $1 AND state = 'processing'",
        )
        .bind(job_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Invalid(
                "only waiting or running imports can be cancelled".into(),
            ));
        }
        Cancelled::Requested
    };
    if other {
        crate::admin::audit(
            &mut tx,
            user,
            "import.cancel",
            Some(&job.user_id),
            &format!("import {job_id} ({:?}) cancelled", job.filename),
        )
        .await?;
    }
    tx.commit().await?;
    if waiting && job.source != "scan" {
        // Nothing will use the file any more (a link is fetched again on a retry).
        if let Err(e) = core.storage.delete(&job.original_key).await {
            tracing::debug!(key = %job.original_key, error = %e, "no original to delete after a cancel");
        }
    }
    Ok(outcome)
}

/// Whether a cancel of this running job was asked for.
pub async fn cancel_requested(core: &Core, job_id: &str) -> Result<bool> {
    let at: Option<Option<i64>> =
        sqlx::query_scalar("SELECT cancel_requested_at FROM import_jobs WHERE id = $1")
            .bind(job_id)
            .fetch_optional(&core.db)
            .await?;
    Ok(matches!(at, Some(Some(_))))
}

/// Settles a running job the worker stopped on request: cancelled, and its event handled.
pub async fn cancelled_job(core: &Core, job_id: &str, event: (&str, &str)) -> Result<()> {
    let now = now_ms();
    let mut tx = crate::db::begin(&core.db).await?;
    sqlx::query(
        "UPDATE import_jobs SET state = 'failed', error = $2, cancelled_at = $3, updated_at = $3,
            retryable = CASE WHEN source IN ('url', 'youtube') THEN 1 ELSE 0 END
         WHERE id = $1 AND state <> 'done'",
    )
    .bind(job_id)
    .bind(CANCELLED)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    events::repo::mark_processed(&mut *tx, event.0, event.1).await?;
    tx.commit().await?;
    Ok(())
}

/// What a purge did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purged {
    /// Failed and cancelled jobs, and finished ones whose track is gone.
    pub deleted: u64,
    /// Finished jobs whose track remains (the row is its record): hidden from the desk.
    pub archived: u64,
}

/// Purges jobs finished more than `older_than_days` days ago (admins, every user's; 0:
/// all finished jobs). Kept files of failed jobs are deleted.
pub async fn purge(core: &Core, user: &CurrentUser, older_than_days: i64) -> Result<Purged> {
    crate::admin::require_admin(core, user).await?;
    if !(0..=3650).contains(&older_than_days) {
        return Err(Error::Invalid("days must be between 0 and 3650".into()));
    }
    let cutoff = now_ms() - older_than_days * 86_400_000;
    let mut tx = crate::db::begin(&core.db).await?;
    let files: Vec<String> = sqlx::query_scalar(
        "SELECT original_key FROM import_jobs WHERE state = 'failed' AND updated_at < $1 AND source <> 'scan'
           AND original_key <> ''",
    )
    .bind(cutoff)
    .fetch_all(&mut *tx)
    .await?;
    let failed = sqlx::query("DELETE FROM import_jobs WHERE state = 'failed' AND updated_at < $1")
        .bind(cutoff)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let orphans = sqlx::query(
        "DELETE FROM import_jobs WHERE state = 'done' AND updated_at < $1
           AND NOT EXISTS (SELECT 1 FROM tracks t WHERE t.import_job_id = import_jobs.id)",
    )
    .bind(cutoff)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let archived = sqlx::query(
        "UPDATE import_jobs SET archived = 1 WHERE state = 'done' AND updated_at < $1 AND archived = 0",
    )
    .bind(cutoff)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let purged = Purged {
        deleted: failed + orphans,
        archived,
    };
    crate::admin::audit(
        &mut tx,
        user,
        "import.purge",
        None,
        &format!(
            "finished imports older than {older_than_days} days: {} deleted, {} archived",
            purged.deleted, purged.archived
        ),
    )
    .await?;
    tx.commit().await?;
    for key in files {
        if let Err(e) = core.storage.delete(&key).await {
            tracing::debug!(%key, error = %e, "no kept original to delete");
        }
    }
    Ok(purged)
}

/// Marks a failed job's input as available again (the worker kept the file after
/// transient errors, or the job imports a link).
pub async fn set_retryable(core: &Core, job_id: &str) -> Result<()> {
    sqlx::query("UPDATE import_jobs SET retryable = 1 WHERE id = $1 AND state = 'failed'")
        .bind(job_id)
        .execute(&core.db)
        .await?;
    Ok(())
}
