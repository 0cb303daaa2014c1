//! Readiness and metrics.

use crate::common::*;
use backend::testing::Backend;
use reqwest::StatusCode;

async fn readiness_names_each_dependency(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let r = client()
        .get(format!("{}/readyz", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: serde_json::Value = r.json().await.unwrap();
    let db = if b == Backend::Sqlite {
        "sqlite"
    } else {
        "postgres"
    };
    assert_eq!(body[db], "ok", "{body}");
    assert_eq!(body["storage"], "ok", "{body}");
    // With the database closed, readiness reports it by name and answers 503.
    srv.core.db.close().await;
    let r = client()
        .get(format!("{}/readyz", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body[db], "not answering", "{body}");
}

async fn metrics_report_latency_by_route_jobs_and_backlog(b: Backend) {
    let srv = start(b, 1 << 24).await;
    let c = client();
    for _ in 0..3 {
        let r = c.get(format!("{}/healthz", srv.base)).send().await.unwrap();
        // Every response carries a request id (also the log span's id).
        assert_eq!(r.headers()["x-request-id"].len(), 36);
    }
    signup(&c, &srv, "metrics@example.com").await;
    // The sign-up's own event (its welcome) is not what this test counts.
    backend::testing::settle_outbox(&srv.core.db).await;
    c.post(format!("{}/api/uploads?filename=m.mp3", srv.base))
        .body("not audio")
        .send()
        .await
        .unwrap();
    let text = metrics(&srv).await;
    assert!(
        text.contains(
            r#"http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/uploads",status="201""#),
        "{text}"
    );
    assert!(
        text.contains(r#"refrain_import_jobs{state="queued"} 1"#),
        "{text}"
    );
    assert!(text.contains("refrain_outbox_backlog 1"), "{text}");
    worker::dispatch::drain(&srv.core).await.unwrap();
    let text = metrics(&srv).await;
    assert!(
        text.contains(r#"refrain_import_jobs{state="failed"} 1"#),
        "{text}"
    );
    assert!(text.contains("refrain_outbox_backlog 0"), "{text}");
    // The data directory's disk, as statvfs sees it: some free, no more than its size.
    let figure = |name: &str| -> u64 {
        let prefix = format!("{name}{{dir=\"data\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("no {prefix} in {text}"))
            .parse()
            .unwrap()
    };
    let (free, size) = (
        figure("refrain_disk_free_bytes"),
        figure("refrain_disk_size_bytes"),
    );
    assert!(free > 0 && free <= size, "free {free} of {size}");
}

/// `/metrics` is not public: without a token only direct requests from this machine read
/// it (one through a proxy, which adds a forwarding header, does not); with
/// `REFRAIN_METRICS_TOKEN` only requests bearing the token.
async fn metrics_are_for_this_machine_or_the_token_holder(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let get = |headers: Vec<(&'static str, String)>| {
        let url = format!("{}/metrics", srv.base);
        async move {
            let mut r = reqwest::Client::new().get(url);
            for (k, v) in headers {
                r = r.header(k, v);
            }
            r.send().await.unwrap().status()
        }
    };
    assert_eq!(get(vec![]).await, StatusCode::OK);
    for h in ["x-forwarded-for", "forwarded", "x-real-ip"] {
        assert_eq!(
            get(vec![(h, "203.0.113.9".into())]).await,
            StatusCode::NOT_FOUND,
            "{h}"
        );
    }
    let token = "metrics-token-0123456789abcdef";
    let srv = start_with(b, |c| {
        c.telemetry.metrics_token = Some(backend::config::Redacted(token.into()));
    })
    .await;
    let get = |auth: Option<String>| {
        let url = format!("{}/metrics", srv.base);
        async move {
            let mut r = reqwest::Client::new().get(url);
            if let Some(a) = auth {
                r = r.header("authorization", a);
            }
            r.send().await.unwrap()
        }
    };
    let r = get(None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        get(Some("Bearer wrong-token-0123456789".into()))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let r = get(Some(format!("Bearer {token}"))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("refrain_outbox_backlog"));
}

backend::on_both_databases!(
    metrics_are_for_this_machine_or_the_token_holder,
    readiness_names_each_dependency,
    metrics_report_latency_by_route_jobs_and_backlog,
);
