//! What the server's and the worker's operations endpoints share: who may read
//! `/metrics`, and the figures both expose (import jobs by state, the outbox backlog and
//! its age, and with Kafka the workers' consumer lag) in Prometheus text.

use crate::Core;
use std::fmt::Write;
use std::net::IpAddr;
use std::sync::atomic::Ordering;

pub use crate::infra::metrics::{AuthFailure, count_auth_failure, render_auth_failures};

/// Whether a request may read `/metrics`, which tells how busy Refrain is, what fails and
/// how far behind the queue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsAccess {
    Allowed,
    /// `REFRAIN_METRICS_TOKEN` is set and the request does not bear it: 401.
    Unauthorized,
    /// No token is set and the request is not a direct one from this machine: 404, as if
    /// there were nothing there.
    Hidden,
}

/// With `REFRAIN_METRICS_TOKEN` set, requests bearing it (`Authorization: Bearer`);
/// unset, nobody, unless `REFRAIN_METRICS_LOOPBACK` (`loopback`) lets direct requests
/// from this machine in: a loopback peer and no forwarding header (`forwarded`), which
/// a reverse proxy on this machine would add.
pub fn metrics_access(
    token: Option<&str>,
    loopback: bool,
    peer: IpAddr,
    authorization: Option<&str>,
    forwarded: bool,
) -> MetricsAccess {
    match token {
        Some(token) => {
            let given = authorization
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .unwrap_or_default();
            // Compared as digests, so the time taken says nothing about the token.
            let hash = crate::infra::crypto::sha256_hex;
            if !given.is_empty() && hash(given) == hash(token) {
                MetricsAccess::Allowed
            } else {
                MetricsAccess::Unauthorized
            }
        }
        None if loopback && peer.is_loopback() && !forwarded => MetricsAccess::Allowed,
        None => MetricsAccess::Hidden,
    }
}

/// A Prometheus label value, escaped.
pub fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Appends one unlabelled figure with its `HELP` and `TYPE` lines.
fn figure(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    let _ = writeln!(out, "{name} {value}");
}

/// Appends what kept Subsonic transcodes take (as last counted on this node, when one was
/// kept), their cap, and how many were dropped to stay under it.
fn render_transcode_cache(core: &Core, out: &mut String) {
    use crate::infra::metrics::{TRANSCODES_DROPPED, TRANSCODES_KEPT_BYTES};
    figure(
        out,
        "refrain_transcode_cache_bytes",
        "gauge",
        "Bytes the kept Subsonic transcodes take in object storage (counted when one is kept).",
        TRANSCODES_KEPT_BYTES.load(Ordering::Relaxed),
    );
    figure(
        out,
        "refrain_transcode_cache_limit_bytes",
        "gauge",
        "The most bytes kept transcodes may take (REFRAIN_TRANSCODE_CACHE_MB).",
        core.config.storage.transcode_cache_bytes,
    );
    figure(
        out,
        "refrain_transcode_cache_dropped_total",
        "counter",
        "Kept transcodes dropped, oldest first, to stay under the limit.",
        TRANSCODES_DROPPED.load(Ordering::Relaxed),
    );
}

/// Appends the free and total bytes of the file systems this node writes to: the data
/// directory (uploads on their way, transcodes, the SQLite database) and, with local
/// object storage, the objects directory when it is elsewhere.
fn render_disks(core: &Core, out: &mut String) {
    let mut dirs = vec![("data", core.config.storage.data_dir.clone())];
    if core.config.storage.s3.is_none()
        && !core
            .config
            .storage
            .storage_dir
            .starts_with(&core.config.storage.data_dir)
    {
        dirs.push(("objects", core.config.storage.storage_dir.clone()));
    }
    let figures: Vec<_> = dirs
        .into_iter()
        .filter_map(|(name, dir)| match rustix::fs::statvfs(&dir) {
            Ok(st) => Some((name, st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize)),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "metrics: no disk figures");
                None
            }
        })
        .collect();
    if figures.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "# HELP refrain_disk_free_bytes Bytes free to this process on the disk of a directory Refrain writes to."
    );
    let _ = writeln!(out, "# TYPE refrain_disk_free_bytes gauge");
    for (name, free, _) in &figures {
        let _ = writeln!(out, "refrain_disk_free_bytes{{dir=\"{name}\"}} {free}");
    }
    let _ = writeln!(
        out,
        "# HELP refrain_disk_size_bytes Size of the disk of a directory Refrain writes to."
    );
    let _ = writeln!(out, "# TYPE refrain_disk_size_bytes gauge");
    for (name, _, size) in &figures {
        let _ = writeln!(out, "refrain_disk_size_bytes{{dir=\"{name}\"}} {size}");
    }
}

/// Appends the figures the database and Kafka give (both processes expose them), and the
/// node's disks.
pub async fn render_operational(core: &Core, out: &mut String) {
    render_disks(core, out);
    render_transcode_cache(core, out);
    for (name, kind, help, value) in crate::media::tag_pool::figures() {
        figure(out, name, kind, help, value);
    }
    if core.storage.kind() == "s3" || core.config.events.kafka.is_some() {
        let _ = writeln!(
            out,
            "# HELP refrain_circuit_open 1 while calls to a service fail at once because it stopped answering."
        );
        let _ = writeln!(out, "# TYPE refrain_circuit_open gauge");
    }
    if core.storage.kind() == "s3" {
        let _ = writeln!(
            out,
            "refrain_circuit_open{{service=\"object_storage\"}} {}",
            u8::from(core.storage.breaker_open())
        );
    }
    match crate::state::operational_figures(core).await {
        Ok(f) => {
            let _ = writeln!(out, "# HELP refrain_import_jobs Import jobs by state.");
            let _ = writeln!(out, "# TYPE refrain_import_jobs gauge");
            for (st, n) in &f.jobs_by_state {
                let _ = writeln!(out, "refrain_import_jobs{{state=\"{st}\"}} {n}");
            }
            let _ = writeln!(
                out,
                "# HELP refrain_outbox_backlog Events not yet published."
            );
            let _ = writeln!(out, "# TYPE refrain_outbox_backlog gauge");
            let _ = writeln!(out, "refrain_outbox_backlog {}", f.outbox_backlog);
            let _ = writeln!(
                out,
                "# HELP refrain_outbox_oldest_age_seconds Age of the oldest unpublished event."
            );
            let _ = writeln!(out, "# TYPE refrain_outbox_oldest_age_seconds gauge");
            let _ = writeln!(
                out,
                "refrain_outbox_oldest_age_seconds {}",
                f.outbox_oldest_age_secs
            );
        }
        Err(e) => tracing::warn!(error = %e, "metrics: database figures unavailable"),
    }
    if let Some(k) = &core.config.events.kafka {
        let _ = writeln!(
            out,
            "refrain_circuit_open{{service=\"kafka\"}} {}",
            u8::from(core.kafka_breaker.is_open())
        );
        let lag = core
            .kafka_breaker
            .call(crate::events::kafka::consumer_lag(k), |_| true)
            .await;
        match lag {
            Ok(lags) => {
                let _ = writeln!(
                    out,
                    "# HELP refrain_kafka_consumer_lag Events published but not yet handled by the workers."
                );
                let _ = writeln!(out, "# TYPE refrain_kafka_consumer_lag gauge");
                for (topic, lag) in lags {
                    let _ = writeln!(
                        out,
                        "refrain_kafka_consumer_lag{{topic=\"{}\"}} {lag}",
                        escape(&topic)
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "metrics: Kafka consumer lag unavailable"),
        }
    }
}

/// The readiness report as JSON (each dependency by name: "ok" or why not) and whether
/// all are up.
pub async fn readiness_json(core: &Core) -> (bool, serde_json::Value) {
    let report = crate::state::readiness(core).await;
    let ok = report.iter().all(|(_, r)| r.is_ok());
    let body: serde_json::Map<String, serde_json::Value> = report
        .into_iter()
        .map(|(name, r)| {
            (
                name.to_string(),
                r.map_or_else(|e| e.into(), |()| "ok".into()),
            )
        })
        .collect();
    (ok, serde_json::Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_for_this_machine_or_the_token_holder() {
        let local: IpAddr = "127.0.0.1".parse().unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let remote = IpAddr::from([203, 0, 113, 9]);
        use MetricsAccess::*;
        // Nobody without a token or the explicit setting, not even this machine.
        assert_eq!(metrics_access(None, false, local, None, false), Hidden);
        assert_eq!(metrics_access(None, true, local, None, false), Allowed);
        assert_eq!(metrics_access(None, true, local, None, true), Hidden);
        assert_eq!(metrics_access(None, true, remote, None, false), Hidden);
        let t = Some("a-long-metrics-token-1234");
        for loopback in [false, true] {
            assert_eq!(
                metrics_access(t, loopback, local, None, false),
                Unauthorized
            );
            assert_eq!(
                metrics_access(t, loopback, remote, Some("Bearer nope"), false),
                Unauthorized
            );
            assert_eq!(
                metrics_access(
                    t,
                    loopback,
                    remote,
                    Some("Bearer a-long-metrics-token-1234"),
                    true
                ),
                Allowed
            );
        }
    }
}
