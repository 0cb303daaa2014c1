//! Prometheus metrics at `/metrics`: request latency by route, import jobs by state, and
//! the outbox backlog and its age. Hand-rolled text exposition (a few series do not need
//! a metrics framework).

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Hist {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// (method, route, status)
type SeriesKey = (String, String, u16);

#[derive(Clone, Default)]
pub struct Metrics {
    requests: Arc<Mutex<BTreeMap<SeriesKey, Hist>>>,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, secs: f64) {
        let Ok(mut m) = self.requests.lock() else {
            return;
        };
        let h = m
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    fn render_requests(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP http_request_duration_seconds Time to answer a request, by route."
        );
        let _ = writeln!(out, "# TYPE http_request_duration_seconds histogram");
        let Ok(m) = self.requests.lock() else { return };
        for ((method, route, status), h) in m.iter() {
            let labels = format!(
                "method=\"{method}\",route=\"{}\",status=\"{status}\"",
                escape(route)
            );
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                    h.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Route-level middleware (added with `route_layer`, so the matched route is known).
pub async fn track(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    let start = Instant::now();
    let res = next.run(req).await;
    metrics.observe(
        &method,
        &route,
        res.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    res
}

/// Why a request may not read the metrics, as the answer to give (`None`: it may) (which tell how busy the server is, what fails
/// and how far behind the queue is): with `REFRAIN_METRICS_TOKEN` set, one bearing it
/// (401 otherwise); unset, a direct request from this machine only: a loopback peer and
/// no forwarding header, which a reverse proxy on this machine would add (404 otherwise,
/// as if there were nothing there).
pub fn refused(
    token: Option<&str>,
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
) -> Option<Response> {
    use axum::http::{StatusCode, header};
    match token {
        Some(token) => {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            // Compared as digests, so the time taken says nothing about the token.
            let hash = backend::auth::sha256_hex;
            if !given.is_empty() && hash(given.trim()) == hash(token) {
                None
            } else {
                Some(
                    (
                        StatusCode::UNAUTHORIZED,
                        [(header::WWW_AUTHENTICATE, "Bearer")],
                    )
                        .into_response(),
                )
            }
        }
        None => {
            let forwarded = ["forwarded", "x-forwarded-for", "x-real-ip"]
                .iter()
                .any(|h| headers.contains_key(*h));
            if peer.is_loopback() && !forwarded {
                None
            } else {
                Some(StatusCode::NOT_FOUND.into_response())
            }
        }
    }
}

pub async fn render(
    State(state): State<crate::AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
) -> Response {
    let token = state.core.config.metrics_token.as_ref();
    if let Some(answer) = refused(token.map(|t| t.0.as_str()), peer.ip(), &headers) {
        return answer;
    }
    let mut out = String::new();
    state.metrics.render_requests(&mut out);
    match backend::state::operational_figures(&state.core).await {
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
    if let Some(k) = &state.core.config.kafka {
        match backend::events::kafka::consumer_lag(k).await {
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
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    )
        .into_response()
}
