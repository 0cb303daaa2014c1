//! The import desk: every job (admins) or one's own (everyone) with its state, source,
//! owner, size, length and failure; retry of a failed job, cancel of a waiting or running
//! one, and purging finished jobs.
//!
//! A retry queues the job again with a new `import.requested` event in the same
//! transaction, so it is handled once however often the event is delivered, and a second
//! retry of the same failure finds the job no longer failed. A cancel of a waiting job
//! settles it at once; a running one is flagged, and the worker handling it stops its
//! ffmpeg, cleans up and settles it as cancelled (`cancelled_job`).

use super::job;
use super::repo::{self, JobState};
use crate::infra::actor::{CurrentUser, Role};
use crate::{Core, Error, Result, events, now_ms};
use serde::{Deserialize, Serialize};

/// Whose jobs a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every user's (admins).
    All,
    /// The caller's own (scan registrations excluded).
    Own,
}

pub use super::repo::DeskJob;

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
pub use super::job::CANCELLED;

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
    if let Some(state) = &f.state
        && !matches!(
            state.as_str(),
            "queued" | "processing" | "done" | "failed" | "cancelled"
        )
    {
        return Err(Error::Invalid(format!("no import state called {state:?}")));
    }
    if let Some(source) = &f.source
        && !matches!(source.as_str(), "upload" | "url" | "youtube" | "scan")
    {
        return Err(Error::Invalid(format!(
            "no import source called {source:?}"
        )));
    }
    let query = repo::DeskQuery {
        owner: (scope == Scope::Own).then_some(user.id.as_str()),
        state: f.state.as_deref(),
        source: f.source.as_deref(),
        offset: f.offset,
        limit: f.limit,
    };
    Ok(repo::desk_page(&core.db, query)
        .await?
        .into_iter()
        .map(|mut j| {
            // A cancel asked of a job that is no longer running is moot; a done job is
            // never tried again.
            j.cancelling &= j.state == "processing";
            j.retryable &= j.state != "done";
            j
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
    let owner = (scope == Scope::Own).then_some(user.id.as_str());
    let rows = repo::desk_counts(&core.db, owner, COUNT_CAP + 1).await?;
    Ok(rows
        .into_iter()
        .map(|(state, n)| (state, n.min(COUNT_CAP + 1)))
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
    if !job::requeue(&mut tx, job_id).await? {
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
    let waiting = job::cancel_waiting(&mut tx, job_id, now).await?;
    let outcome = if waiting {
        Cancelled::Now
    } else {
        if !job::request_cancel(&mut tx, job_id, now).await? {
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
    let files = repo::failed_originals_before(&mut *tx, cutoff).await?;
    let failed = repo::delete_failed_before(&mut *tx, cutoff).await?;
    let orphans = repo::delete_orphaned_done_before(&mut *tx, cutoff).await?;
    let archived = repo::archive_done_before(&mut *tx, cutoff).await?;
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
