//! The embedded event queue: reads the outbox table directly, in commit order, and hands
//! each event to [`crate::handle`]. A failing event is retried with back-off and given up
//! on after `max_event_attempts`.

use backend::Core;
use backend::events::repo;
use std::time::Duration;

/// Processes every pending event once; returns how many were settled.
pub async fn drain(core: &Core) -> anyhow::Result<usize> {
    let mut settled = 0;
    loop {
        let batch = repo::pending(&core.db, 16).await?;
        if batch.is_empty() {
            return Ok(settled);
        }
        let mut progressed = false;
        for p in batch {
            match crate::handle(core, &p.event).await {
                Ok(()) => {
                    repo::mark_published(&core.db, p.seq).await?;
                    settled += 1;
                    progressed = true;
                }
                Err(e) => {
                    let msg = format!("{e:#}");
                    let dead = p.attempts + 1 >= core.config.events.max_event_attempts;
                    tracing::warn!(event_id = %p.event.id, attempt = p.attempts + 1, dead, error = %msg, "event failed");
                    if dead {
                        crate::give_up(core, &p.event, &msg).await?;
                        settled += 1;
                        progressed = true;
                    }
                    repo::mark_failed(&core.db, p.seq, &msg, dead).await?;
                }
            }
        }
        if !progressed {
            return Ok(settled);
        }
    }
}

/// Runs forever: drains on every wake-up and at least once a second (retrying failures
/// with a growing pause). Stops when `shutdown` resolves, after the current event.
pub async fn run(core: Core, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut pause = Duration::from_millis(250);
    loop {
        match drain(&core).await {
            Ok(_) => pause = Duration::from_millis(250),
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "event dispatcher error");
                pause = (pause * 2).min(Duration::from_secs(30));
            }
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = core.events.woken() => {}
            _ = tokio::time::sleep(pause.max(Duration::from_secs(1))) => {}
        }
    }
}
