//! Crash points for process-level tests. `REFRAIN_FAILPOINTS=name[,name…]` makes the process
//! stop at the named points (printing `FAILPOINT <name>` to stderr) and wait there forever,
//! so a test can kill it (SIGKILL) at exactly that moment. Unset, as in every deployment,
//! a failpoint costs one lookup in a set read once at start-up.
//!
//! Points: `relay-before-publish` (the relay read a batch of committed outbox rows and has
//! sent none of it); `relay-after-publish` (the broker acknowledged a batch, the outbox
//! rows are not yet marked published); `worker-before-commit` (a Kafka worker stored an event's effect,
//! its offset is not yet committed).

use std::collections::HashSet;
use std::sync::OnceLock;

fn armed() -> &'static HashSet<String> {
    static ARMED: OnceLock<HashSet<String>> = OnceLock::new();
    ARMED.get_or_init(|| {
        std::env::var("REFRAIN_FAILPOINTS")
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    })
}

/// Stops here forever when `name` is armed; returns at once otherwise.
pub async fn stop_if_armed(name: &str) {
    if armed().contains(name) {
        tracing::warn!(failpoint = name, "failpoint reached; waiting to be killed");
        eprintln!("FAILPOINT {name}");
        std::future::pending::<()>().await;
    }
}
