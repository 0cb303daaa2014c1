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

use backend::ops::escape;

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
    /// Requests and connections refused by the limits.
    pub counters: Arc<crate::limits::Counters>,
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

pub async fn render(
    State(state): State<crate::AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Some(answer) = worker::ops::refused(&state.core, peer.ip(), &headers) {
        return answer;
    }
    let mut out = String::new();
    state.metrics.render_requests(&mut out);
    state.metrics.counters.render(&mut out);
    backend::ops::render_auth_failures(&mut out);
    backend::ops::render_operational(&state.core, &mut out).await;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    )
        .into_response()
}
