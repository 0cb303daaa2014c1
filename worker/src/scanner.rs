//! Runs library scans beside the event handlers: the one an admin or `refrain scan`
//! queued, and one every `REFRAIN_SCAN_INTERVAL`. Any number of processes may run this;
//! the database lets one scan run at a time. A scan cut off by a stop is taken for dead
//! once it has not reported progress for five minutes, and the next one runs.

use backend::Core;
use std::time::Duration;

pub async fn run(core: Core, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        let round = async {
            backend::folders::queue_if_due(&core).await?;
            backend::folders::run_queued(&core).await
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
