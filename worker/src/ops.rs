//! The worker's operations endpoints, on `REFRAIN_WORKER_PORT` (default 3100):
//! `/healthz` (the process is alive), `/readyz` (each dependency, 503 when one is down)
//! and `/metrics` (the figures the server shows of import jobs, the outbox and Kafka, and
//! the events this worker handled by topic and outcome), readable by the holder of
//! `REFRAIN_METRICS_TOKEN` or, with `REFRAIN_METRICS_LOOPBACK=true`, by this machine, as
//! the server's. The server uses [`refused`] and
//! [`readiness`] too.

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use backend::Core;
use backend::ops::MetricsAccess;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Mutex;

/// Events handled by this process, by (topic, outcome): `done`, `retry` or `gave_up`.
static HANDLED: Mutex<BTreeMap<(String, &'static str), u64>> = Mutex::new(BTreeMap::new());

/// Counts one event's outcome.
pub fn count(topic: &str, outcome: &'static str) {
    if let Ok(mut m) = HANDLED.lock() {
        *m.entry((topic.to_string(), outcome)).or_default() += 1;
    }
}

/// The answer for a request that may not read the metrics (see
/// [`backend::ops::metrics_access`]), or `None` when it may.
pub fn refused(core: &Core, peer: std::net::IpAddr, headers: &HeaderMap) -> Option<Response> {
    let token = core
        .config
        .telemetry
        .metrics_token
        .as_ref()
        .map(|t| t.0.as_str());
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let forwarded = ["forwarded", "x-forwarded-for", "x-real-ip"]
        .iter()
        .any(|h| headers.contains_key(*h));
    let loopback = core.config.telemetry.metrics_loopback;
    match backend::ops::metrics_access(token, loopback, peer, authorization, forwarded) {
        MetricsAccess::Allowed => None,
        MetricsAccess::Unauthorized => Some(
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
            )
                .into_response(),
        ),
        MetricsAccess::Hidden => Some(StatusCode::NOT_FOUND.into_response()),
    }
}

/// Readiness: each configured dependency by name; 503 when one is down.
pub async fn readiness(core: &Core) -> Response {
    let (ok, body) = backend::ops::readiness_json(core).await;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn metrics(
    State(core): State<Core>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Some(answer) = refused(&core, peer.ip(), &headers) {
        return answer;
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP refrain_worker_events_total Events this worker settled, by topic and outcome."
    );
    let _ = writeln!(out, "# TYPE refrain_worker_events_total counter");
    if let Ok(m) = HANDLED.lock() {
        for ((topic, outcome), n) in m.iter() {
            let _ = writeln!(
                out,
                "refrain_worker_events_total{{topic=\"{}\",outcome=\"{outcome}\"}} {n}",
                backend::ops::escape(topic)
            );
        }
    }
    backend::ops::render_operational(&core, &mut out).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

/// The worker's router.
pub fn router(core: Core) -> axum::Router {
    use axum::routing::get;
    axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State(core): State<Core>| async move { readiness(&core).await }),
        )
        .route("/metrics", get(metrics))
        .with_state(core)
}

/// Serves the router on `listener` until `shutdown`.
pub async fn serve(
    core: Core,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(core).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
