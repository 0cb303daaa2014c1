//! Circuit breakers for the services a request may wait on (object storage; Kafka for the
//! relay and the operations endpoints). After `failures` outages in a row the breaker
//! opens: for `cooldown`, calls fail at once with [`Error::Unavailable`] (a 503 with
//! `Retry-After` at the edge) instead of each waiting out its own timeouts and retries
//! while requests pile up. Then one call is let through as a probe; its success closes
//! the breaker, its failure opens it for another cooldown.

use crate::{Error, Result};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Breaker {
    /// What is behind it, for messages and metrics: "object storage", "Kafka".
    pub what: &'static str,
    failures: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Outages in a row.
    failed: u32,
    /// Open until then.
    open_until: Option<Instant>,
    /// A probe is out (the cooldown passed and one call was let through).
    probing: bool,
}

impl Breaker {
    pub fn new(what: &'static str, failures: u32, cooldown: Duration) -> Self {
        Breaker {
            what,
            failures: failures.max(1),
            cooldown,
            state: Mutex::new(State::default()),
        }
    }

    /// Whether calls are being refused now (for `/metrics` and `/readyz`).
    pub fn is_open(&self) -> bool {
        self.state.lock().is_ok_and(|s| s.open_until.is_some())
    }

    /// Lets a call through, or refuses it with [`Error::Unavailable`] while open.
    pub fn allow(&self) -> Result<()> {
        let Ok(mut s) = self.state.lock() else {
            return Ok(());
        };
        let Some(until) = s.open_until else {
            return Ok(());
        };
        let now = Instant::now();
        if now < until || s.probing {
            let left = until.saturating_duration_since(now);
            return Err(Error::Unavailable {
                what: self.what,
                retry_after_secs: left.as_secs().max(1),
            });
        }
        s.probing = true;
        Ok(())
    }

    /// Records a call's outcome: `true` when the service answered (even with "not found").
    pub fn record(&self, answered: bool) {
        let Ok(mut s) = self.state.lock() else {
            return;
        };
        if answered {
            if s.open_until.is_some() {
                tracing::info!(service = self.what, "answering again; circuit closed");
            }
            *s = State::default();
            return;
        }
        s.failed = s.failed.saturating_add(1);
        if s.probing || s.failed >= self.failures {
            if s.open_until.is_none() || s.probing {
                tracing::warn!(
                    service = self.what,
                    failures = s.failed,
                    cooldown_secs = self.cooldown.as_secs(),
                    "not answering; circuit open: calls fail at once until a probe succeeds"
                );
            }
            s.open_until = Some(Instant::now() + self.cooldown);
            s.probing = false;
        }
    }

    /// Runs `call` through the breaker; `outage` tells which errors mean the service did
    /// not answer (as opposed to answering "no").
    pub async fn call<T>(
        &self,
        call: impl Future<Output = Result<T>>,
        outage: impl Fn(&Error) -> bool,
    ) -> Result<T> {
        self.allow()?;
        let r = call.await;
        self.record(!matches!(&r, Err(e) if outage(e)));
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_failures_in_a_row_and_a_probe_closes_it() {
        let b = Breaker::new("thing", 3, Duration::from_millis(0));
        b.record(false);
        b.record(false);
        b.record(true);
        b.record(false);
        b.record(false);
        assert!(
            b.allow().is_ok(),
            "a success in between starts the count over"
        );
        b.record(false);
        assert!(b.is_open());
        // Cooldown over (zero): one probe goes, the next waits for its outcome.
        assert!(b.allow().is_ok());
        assert!(matches!(b.allow(), Err(Error::Unavailable { .. })));
        b.record(false);
        assert!(b.is_open());
        assert!(b.allow().is_ok());
        b.record(true);
        assert!(!b.is_open());
        assert!(b.allow().is_ok());
    }

    #[test]
    fn while_open_calls_are_refused_with_the_time_left() {
        let b = Breaker::new("thing", 1, Duration::from_secs(30));
        b.record(false);
        match b.allow() {
            Err(Error::Unavailable {
                what,
                retry_after_secs,
            }) => {
                assert_eq!(what, "thing");
                assert!((1..=30).contains(&retry_after_secs));
            }
            other => panic!("{other:?}"),
        }
    }
}
