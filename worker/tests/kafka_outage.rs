//! Matrix row 29: the broker stops for 60 s (`OUTAGE_SECS`) while uploads and plays
//! continue: they are accepted, readiness reports Kafka down, and once the broker is back
//! every job completes and every play counts exactly once, the plays of one listener (one
//! message key) published in the order they were made. Runs its own tansu on a free port
//! so other tests keep their broker.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth;
use backend::imports::{self, JobState};
use backend::testing::{Backend, free_port};
use backend::{Core, library};
use bytes::Bytes;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

async fn broker(port: u16) -> Child {
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new("tansu")
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("tansu on PATH (scripts/setup.sh installs it)");
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "tansu did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child
}

fn kafka_up(report: &[(&str, Result<(), String>)]) -> bool {
    report.iter().any(|(n, r)| *n == "kafka" && r.is_ok())
}

#[tokio::test]
async fn uploads_survive_a_broker_outage_and_complete_when_it_returns() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("info,rdkafka=warn")
        .with_test_writer()
        .try_init();
    let port = free_port();
    let mut tansu = broker(port).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Backend::Postgres.config(&dir.path().join("data")).await;
    let k = backend::testing::kafka_config(Some(format!("127.0.0.1:{port}")), 1);
    config.events.kafka = Some(k.clone());
    config.events.embedded_worker = false;
    let core = Core::init(config).await.unwrap();
    let user = auth::signup(&core, "outage@example.com", "violet-harbour-87")
        .await
        .unwrap();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let (c1, k1, mut r1) = (core.clone(), k.clone(), rx.clone());
    tokio::spawn(async move {
        backend::events::kafka::run_relay(c1, k1, async move {
            let _ = r1.wait_for(|s| *s).await;
        })
        .await
    });
    let (c2, k2, mut r2) = (core.clone(), k.clone(), rx.clone());
    tokio::spawn(async move {
        worker::kafka::run(c2, k2, async move {
            let _ = r2.wait_for(|s| *s).await;
        })
        .await
        .unwrap()
    });

    let upload = |name: &'static str| {
        let (core, user) = (core.clone(), user.clone());
        async move {
            let s = futures::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from(
                backend::testing::sine_mp3(2, &[]),
            ))]);
            imports::create_upload(&core, &user, name, None, s)
                .await
                .unwrap()
        }
    };
    let wait_done = |ids: Vec<String>| {
        let (core, user) = (core.clone(), user.clone());
        async move {
            let deadline = Instant::now() + Duration::from_secs(90);
            loop {
                let jobs = imports::list_jobs(&core, &user).await.unwrap();
                if ids.iter().all(|id| {
                    jobs.iter()
                        .any(|j| &j.id == id && j.state == JobState::Done)
                }) {
                    return;
                }
                assert!(Instant::now() < deadline, "jobs never completed: {jobs:?}");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    };

    let before = upload("before.mp3").await;
    wait_done(vec![before.id.clone()]).await;
    assert!(kafka_up(&backend::state::readiness(&core).await));

    let track = imports::list_jobs(&core, &user)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.id == before.id)
        .and_then(|j| j.track_id)
        .unwrap();

    tansu.kill().await.unwrap();
    let during = vec![
        upload("during-1.mp3").await.id,
        upload("during-2.mp3").await.id,
    ];
    // Five plays of one listener: one message key, an order to keep.
    let run = backend::new_id();
    let plays: Vec<String> = (0..5).map(|i| format!("outage-{run}-{i}")).collect();
    let start = backend::now_ms() - 60_000;
    for (i, p) in plays.iter().enumerate() {
        backend::playback::plays::record_play_at(&core, &user, &track, p, 2_000, start + i as i64)
            .await
            .unwrap();
    }
    assert!(
        !kafka_up(&backend::state::readiness(&core).await),
        "readiness must report Kafka down"
    );
    let outage = std::env::var("OUTAGE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    tokio::time::sleep(Duration::from_secs(outage)).await;
    // Nothing was lost while the broker was away: the events wait in the outbox.
    assert!(backend::events::repo::backlog(&core.db).await.unwrap() >= 7);

    let _tansu = broker(port).await;
    wait_done(during).await;
    assert!(kafka_up(&backend::state::readiness(&core).await));
    assert_eq!(library::list_tracks(&core, &user).await.unwrap().len(), 3);

    // Every play counted once (the worker applies a redelivery as nothing new).
    let deadline = Instant::now() + Duration::from_secs(90);
    let counted = || async {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM play_history WHERE user_id = $1")
            .bind(&user.id)
            .fetch_one(&core.db)
            .await
            .unwrap();
        n
    };
    while counted().await < 5 {
        assert!(Instant::now() < deadline, "the plays were never applied");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let times: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(plays), 0) AS BIGINT) FROM play_counts WHERE user_id = $1",
    )
    .bind(&user.id)
    .fetch_one(&core.db)
    .await
    .unwrap();
    assert_eq!((counted().await, times), (5, 5));
    // In the order they were made, on the broker.
    let topic = k.topic(backend::events::kafka::PLAYBACK);
    let seen = backend::testing::read_topic(&k, &topic, 10, Duration::from_secs(10)).await;
    let mut order: Vec<String> = Vec::new();
    for m in seen.iter().filter(|m| m.key == user.id) {
        let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
        let id = v["payload"]["playback_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if !order.contains(&id) {
            order.push(id);
        }
    }
    assert_eq!(order, plays);
    let _ = stop.send(true);
}
