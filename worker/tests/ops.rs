//! The worker's own health, readiness and metrics endpoints (`REFRAIN_WORKER_PORT`), on a
//! real listener: what a Kubernetes probe and Prometheus read.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::testing::{Backend, sine_mp3};
use backend::{Core, auth, imports};
use bytes::Bytes;

async fn serve(core: &Core) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(worker::ops::serve(
        core.clone(),
        listener,
        std::future::pending(),
    ));
    base
}

async fn the_worker_answers_health_readiness_and_metrics(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let config = b.config(dir.path()).await;
    let core = Core::init(config.clone()).await.unwrap();
    let base = serve(&core).await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{base}{path}")).send();

    let r = get("/healthz").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ok");
    let r = get("/readyz").await.unwrap();
    assert_eq!(r.status(), 200);
    let ready: serde_json::Value = r.json().await.unwrap();
    let db = if matches!(b, Backend::Sqlite) {
        "sqlite"
    } else {
        "postgres"
    };
    assert_eq!(ready[db], "ok", "{ready}");
    assert_eq!(ready["storage"], "ok", "{ready}");

    // One import through the handlers, then the figures.
    let user = auth::signup(&core, "ops@example.com", "violet-harbour-87")
        .await
        .unwrap();
    let body = futures::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from(sine_mp3(
        1,
        &[("title", "Counted")],
    )))]);
    imports::create_upload(&core, &user, "counted.mp3", None, body)
        .await
        .unwrap();
    worker::dispatch::drain(&core).await.unwrap();
    let text = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(
        text.contains(r#"refrain_worker_events_total{topic="import.requested",outcome="done"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"refrain_import_jobs{state="done"} 1"#),
        "{text}"
    );
    assert!(text.contains("refrain_outbox_backlog 0"), "{text}");

    // Not for anyone else: through a proxy it is not there; with a token, only for it.
    let r = http
        .get(format!("{base}/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // Without the token or REFRAIN_METRICS_LOOPBACK, not even for this machine.
    let mut closed = config.clone();
    closed.telemetry.metrics_loopback = false;
    let closed = serve(&Core::init(closed).await.unwrap()).await;
    let r = http.get(format!("{closed}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = http.get(format!("{closed}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut with_token = config;
    with_token.telemetry.metrics_token = Some(backend::config::Redacted(
        "worker-metrics-token-0123456789".into(),
    ));
    let guarded = serve(&Core::init(with_token).await.unwrap()).await;
    let r = http.get(format!("{guarded}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .get(format!("{guarded}/metrics"))
        .bearer_auth("worker-metrics-token-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Health stays open to the probes.
    let r = http.get(format!("{guarded}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

backend::on_both_databases!(the_worker_answers_health_readiness_and_metrics);
