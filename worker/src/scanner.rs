//! Runs library scans beside the event handlers: the one an admin or `refrain scan`
//! queued, and one every `REFRAIN_SCAN_INTERVAL`; and, unless `REFRAIN_LIBRARY_WATCH`
//! is off, watches the music folders so changes are taken in within seconds. Any number
//! of processes may run this; the database lets one scan run at a time. A scan cut off
//! by a stop is taken for dead once it has not reported progress for five minutes, and
//! the next one runs. The same loop prunes the outbox rows handed on longer ago than
//! their retention (an email's within a quarter of an hour: its links are single-use).

use backend::Core;
use backend::folders::watch;
use std::time::Duration;

pub async fn run(core: Core, shutdown: impl std::future::Future<Output = ()>) {
    // The admin page lists REFRAIN_LIBRARY_DIRS from the start, before any scan.
    if let Err(e) = backend::folders::sync_configured(&core).await {
        tracing::warn!(error = %format!("{e:#}"), "recording the configured music folders failed");
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let watching = core.config.library.watch.then(|| {
        let mut rx = stop_rx.clone();
        tokio::spawn(watch::run(
            core.clone(),
            watch::Timing::default(),
            Default::default(),
            async move {
                let _ = rx.wait_for(|s| *s).await;
            },
        ))
    });
    scans(&core, shutdown).await;
    let _ = stop_tx.send(true);
    if let Some(w) = watching {
        let _ = w.await;
    }
}

/// How often the outbox is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

async fn scans(core: &Core, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut pruned_at: Option<std::time::Instant> = None;
    loop {
        if pruned_at.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
            pruned_at = Some(std::time::Instant::now());
            match backend::events::repo::prune(&core.db, backend::now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(rows = n, "pruned handed-on outbox rows"),
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "pruning the outbox failed"),
            }
        }
        let round = async {
            backend::folders::queue_if_due(core).await?;
            backend::folders::run_queued(core).await
        };
        tokio::select! {
            _ = &mut shutdown => return,
            r = round => if let Err(e) = r {
                tracing::warn!(error = %format!("{e:#}"), "library scan round failed");
            },
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}
