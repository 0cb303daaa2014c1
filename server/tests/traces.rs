//! One trace from the browser into the worker: a real `refrain` process (PostgreSQL, Kafka
//! through tansu) takes an upload carrying the browser's `traceparent`; the import event
//! goes through the outbox and Kafka to a worker consumer (here, in the test process,
//! exporting as `refrain-worker`); both export their spans over OTLP/HTTP to a receiver,
//! which must see the request as a child of the browser's span and the event's handling
//! in the same trace, as a child of a server span. The server's JSON logs carry the
//! trace id. A server function's call, and the SQL and object-store calls inside requests
//! and jobs, are spans of their own. Needs PostgreSQL and tansu (scripts/services.sh).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::events::kafka;
use backend::testing::{Backend, OtlpReceiver, Proc, env_of, free_port};
use backend::{Core, imports};
use server_fn::ServerFn;
use std::time::{Duration, Instant};

const SERVER: &str = env!("CARGO_BIN_EXE_refrain");
const PW: &str = "violet-harbour-87";

#[tokio::test]
async fn an_upload_is_one_trace_from_the_browser_through_kafka_into_the_worker() {
    let receiver = OtlpReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Backend::Postgres.config(&dir.path().join("data")).await;
    let k = backend::testing::kafka_config(None, 1);
    config.events.kafka = Some(k.clone());
    config.events.embedded_worker = false;
    config.telemetry.otlp_endpoint = Some(receiver.url.clone());
    let core = Core::init(config.clone()).await.unwrap();
    kafka::ensure_topics(&k).await.unwrap();

    // This process is the worker: it exports its spans as refrain-worker would.
    let telemetry = backend::telemetry::init("refrain-worker", &config, "info").unwrap();
    let (stop, mut rx) = tokio::sync::watch::channel(false);
    let (c, kk) = (core.clone(), k.clone());
    let consumer = tokio::spawn(async move {
        worker::kafka::run(c, kk, async move {
            let _ = rx.wait_for(|s| *s).await;
        })
        .await
        .unwrap();
    });

    let port = free_port();
    let mut env = env_of(&config);
    env.extend([
        ("REFRAIN_PORT".to_string(), port.to_string()),
        ("REFRAIN_OTLP_ENDPOINT".to_string(), receiver.url.clone()),
        ("REFRAIN_LOG_FORMAT".to_string(), "json".to_string()),
    ]);
    let mut server = Proc::spawn(SERVER, &["serve"], &env);
    let base = format!("http://127.0.0.1:{port}");
    // The server closes a connection idle for its header timeout (10 s); the test waits
    // for exports between requests, so its client lets idle connections go sooner.
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .pool_idle_timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the server never answered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A server function: its call is a span inside the request's, and its SQL calls are
    // spans inside that.
    let signup_trace = backend::testing::unique();
    let r = client
        .post(format!("{base}{}", app::auth::Signup::PATH))
        .header(
            "traceparent",
            format!("00-{signup_trace}-{}-01", &backend::testing::unique()[..16]),
        )
        .form(&[("email", "traced@example.com"), ("password", PW)])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "signup: {}", r.status());
    let within = Duration::from_secs(60);
    // Named without the hash Leptos appends to the path.
    let signup_fn = app::auth::Signup::PATH
        .rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(|c: char| c.is_ascii_digit());
    let call = receiver
        .wait_for_named(&signup_trace, &format!("server_fn {signup_fn}"))
        .await;
    let request = receiver
        .wait_for_named(&signup_trace, &format!("POST {}", app::auth::Signup::PATH))
        .await;
    assert!(
        receiver.within(&call, &request),
        "{call:?} is not inside {request:?}"
    );
    let sql = receiver
        .wait_for_named(&signup_trace, "sql auth.insert_user")
        .await;
    assert_eq!(
        sql.parent_span_id, call.span_id,
        "{sql:?} is not inside {call:?}"
    );

    // The browser's span: what its client put in the upload's traceparent.
    let trace_id = backend::testing::unique();
    let browser_span = &backend::testing::unique()[..16];
    let r = client
        .post(format!("{base}/api/uploads?filename=traced.mp3"))
        .header("traceparent", format!("00-{trace_id}-{browser_span}-01"))
        .body(backend::testing::sine_mp3(2, &[("title", "Traced")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);

    // The server's log line of the upload names the trace.
    server
        .wait_for_line(&trace_id, Duration::from_secs(30))
        .await;
    // The event in the outbox carries it on.
    let carried: Option<String> =
        sqlx::query_scalar("SELECT traceparent FROM outbox WHERE topic = 'import.requested'")
            .fetch_one(&core.db)
            .await
            .unwrap();
    assert!(
        carried.as_deref().is_some_and(|t| t.contains(&trace_id)),
        "{carried:?}"
    );

    let request = receiver
        .wait_for_named(&trace_id, "POST /api/uploads")
        .await;
    assert_eq!(request.service, "refrain");
    assert_eq!(
        request.parent_span_id, browser_span,
        "the request continues the browser's span"
    );
    // The upload streamed into object storage inside the request.
    let stored = receiver
        .wait_for_named(&trace_id, "object_store put_stream")
        .await;
    assert_eq!(stored.service, "refrain");
    assert!(
        receiver.within(&stored, &request),
        "{stored:?} is not inside {request:?}"
    );
    let handled = receiver
        .wait_for_named(&trace_id, "handle import.requested")
        .await;
    assert_eq!(handled.service, "refrain-worker");
    let server_spans: Vec<String> = receiver
        .spans()
        .into_iter()
        .filter(|s| s.service == "refrain" && s.trace_id == trace_id)
        .map(|s| s.span_id)
        .collect();
    assert!(
        server_spans.contains(&handled.parent_span_id),
        "the worker's span {handled:?} is not a child of the server's {server_spans:?}"
    );
    // And the import itself went through.
    let user = backend::auth::repo::find_by_email(&core.db, "traced@example.com")
        .await
        .unwrap()
        .unwrap();
    let me = backend::auth::CurrentUser {
        id: user.id,
        email: user.email,
        role: backend::auth::Role::parse(&user.role).unwrap(),
        login_id: String::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while imports::list_jobs(&core, &me).await.unwrap()[0].state != imports::JobState::Done {
        assert!(Instant::now() < deadline, "the import never completed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The worker's job read the original and wrote the catalog inside its span.
    for (what, prefix) in [("object-store", "object_store "), ("SQL", "sql ")] {
        let call = receiver
            .wait_for(
                &format!("for the worker's {what} calls in the trace"),
                |s| {
                    s.service == "refrain-worker"
                        && s.trace_id == trace_id
                        && s.name.starts_with(prefix)
                },
                within,
            )
            .await;
        assert!(
            receiver.within(&call, &handled),
            "{call:?} is not inside {handled:?}"
        );
    }
    // A background loop's database calls (the outbox relay asks twice a second) make no
    // traces of their own.
    let strays: Vec<_> = receiver
        .spans()
        .into_iter()
        .filter(|s| s.parent_span_id.is_empty())
        .filter(|s| s.name.starts_with("sql ") || s.name.starts_with("object_store "))
        .collect();
    assert!(
        strays.is_empty(),
        "root spans of background calls: {strays:#?}"
    );

    let _ = stop.send(true);
    consumer.await.unwrap();
    server.kill().await;
    telemetry.shutdown().await;
}
