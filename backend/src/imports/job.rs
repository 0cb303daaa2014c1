//! An import job's life: every change of its state is made here (the SQL of each is in
//! `repo`). The upload paths create a job queued (a scan's is done at once); then
//!
//! - `queued` or `processing` -> `processing`: the worker starts it ([`start_job`]), one
//!   more attempt each time;
//! - `processing` -> `done`: the worker made its track ([`finish`], in `finish_job`'s
//!   transaction);
//! - any state but `done` -> `failed`: the worker gave up, with a reason ([`fail_job`]);
//!   [`set_retryable`] then marks its input as still there;
//! - `queued` -> `failed` with the reason [`CANCELLED`]: cancelled before it ran
//!   ([`cancel_waiting`]);
//! - `processing`: a cancel is asked for ([`request_cancel`], read by the worker with
//!   [`cancel_requested`]), and the worker settles it `failed` as cancelled
//!   ([`cancelled_job`]);
//! - `failed` (retryable) -> `queued`: tried again from the desk ([`requeue`]).
//!
//! A `done` job never changes state again.

use super::repo::{self, JobState, JobView};
use crate::{Core, Error, Result, events, now_ms};
use sqlx::AnyConnection;

/// The reason a cancelled job shows.
pub const CANCELLED: &str = "cancelled";

/// Marks a job as being processed (one more attempt); returns the job, or `None` when it
/// is finished or was cancelled meanwhile.
pub async fn start_job(core: &Core, job_id: &str) -> Result<Option<JobView>> {
    let job = repo::get(&core.db, job_id)
        .await?
        .ok_or(Error::NotFound("import job"))?;
    if matches!(job.state, JobState::Done | JobState::Failed) {
        return Ok(None);
    }
    let started = repo::mark_processing(&core.db, job_id, now_ms()).await?;
    Ok(started.then_some(job))
}

/// Marks a job done with its track, inside the caller's transaction.
pub(super) async fn finish(conn: &mut AnyConnection, job_id: &str, track_id: &str) -> Result<()> {
    repo::set_state(&mut *conn, job_id, JobState::Done, None, Some(track_id)).await?;
    Ok(())
}

/// Fails a job with a reason a person can read, and records the event as handled.
pub async fn fail_job(
    core: &Core,
    job_id: &str,
    event_id: Option<(&str, &str)>,
    reason: &str,
) -> Result<()> {
    let mut tx = crate::db::begin(&core.db).await?;
    repo::set_state(&mut *tx, job_id, JobState::Failed, Some(reason), None).await?;
    if let Some((handler, event_id)) = event_id {
        events::repo::mark_processed(&mut *tx, handler, event_id).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Marks a failed job's input as available again (the worker kept the file after
/// transient errors, or the job imports a link).
pub async fn set_retryable(core: &Core, job_id: &str) -> Result<()> {
    repo::set_retryable(&core.db, job_id).await
}

/// Queues a failed job whose input is still there again, inside the caller's
/// transaction: whether it was such a job.
pub(super) async fn requeue(conn: &mut AnyConnection, job_id: &str) -> Result<bool> {
    repo::requeue_failed(&mut *conn, job_id, now_ms()).await
}

/// Cancels a waiting job, inside the caller's transaction: whether it was waiting.
pub(super) async fn cancel_waiting(
    conn: &mut AnyConnection,
    job_id: &str,
    now: i64,
) -> Result<bool> {
    repo::cancel_queued(&mut *conn, job_id, CANCELLED, now).await
}

/// Asks the worker running a job to stop it, inside the caller's transaction: whether it
/// was running.
pub(super) async fn request_cancel(
    conn: &mut AnyConnection,
    job_id: &str,
    now: i64,
) -> Result<bool> {
    repo::request_cancel(&mut *conn, job_id, now).await
}

/// Whether a cancel of this running job was asked for.
pub async fn cancel_requested(core: &Core, job_id: &str) -> Result<bool> {
    let at = repo::cancel_requested_at(&core.db, job_id).await?;
    Ok(matches!(at, Some(Some(_))))
}

/// Settles a running job the worker stopped on request: cancelled, and its event handled.
pub async fn cancelled_job(core: &Core, job_id: &str, event: (&str, &str)) -> Result<()> {
    let now = now_ms();
    let mut tx = crate::db::begin(&core.db).await?;
    repo::settle_cancelled(&mut *tx, job_id, CANCELLED, now).await?;
    events::repo::mark_processed(&mut *tx, event.0, event.1).await?;
    tx.commit().await?;
    Ok(())
}
