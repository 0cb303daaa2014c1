//! Matrix row 28, (b) and (c): a real `refrain` process is killed (SIGKILL) after the
//! business transaction committed and before its event was published, and between
//! publishing an outbox batch to Kafka and marking it published. Restarted, it publishes
//! what it had not (b), or publishes the row again and the worker ignores the duplicate
//! (c): one track either way. Needs PostgreSQL and tansu (scripts/services.sh).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::events::{kafka, repo as outbox};
use backend::imports::{self, JobState};
use backend::testing::{Backend, Proc, env_of, read_topic};
use backend::{Core, auth, library};
use bytes::Bytes;
use std::time::{Duration, Instant};

const SERVER: &str = env!("CARGO_BIN_EXE_refrain");

/// An account with one upload whose job and event are committed and not yet published;
/// the test process only writes to the database and runs the worker, the relay runs in
/// the server processes the tests start.
struct Uploaded {
    _dir: tempfile::TempDir,
    config: backend::Config,
    k: backend::config::KafkaConfig,
    core: Core,
    user: auth::CurrentUser,
    job: imports::JobView,
    event_id: String,
}

async fn uploaded(email: &str, title: &str) -> Uploaded {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Backend::Postgres.config(&dir.path().join("data")).await;
    let k = backend::testing::kafka_config(None, 1);
    config.events.kafka = Some(k.clone());
    config.events.embedded_worker = false;
    let core = Core::init(config.clone()).await.unwrap();
    kafka::ensure_topics(&k).await.unwrap();
    let user = auth::signup(&core, email, "violet-harbour-87")
        .await
        .unwrap();
    // The sign-up's own event (its welcome) is not what these tests follow.
    backend::testing::settle_outbox(&core.db).await;
    let body = futures::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from(
        backend::testing::sine_mp3(2, &[("title", title)]),
    ))]);
    let job = imports::create_upload(&core, &user, "upload.mp3", None, body)
        .await
        .unwrap();
    let event_id = outbox::pending(&core.db, 10).await.unwrap()[0]
        .event
        .id
        .clone();
    Uploaded {
        _dir: dir,
        config,
        k,
        core,
        user,
        job,
        event_id,
    }
}

/// Runs a Kafka worker in this process until the user's one job is done; the returned
/// sender stops it.
async fn worker_until_done(
    core: &Core,
    k: &backend::config::KafkaConfig,
    user: &auth::CurrentUser,
) -> tokio::sync::watch::Sender<bool> {
    let (stop, mut rx) = tokio::sync::watch::channel(false);
    let (c, kk) = (core.clone(), k.clone());
    tokio::spawn(async move {
        worker::kafka::run(c, kk, async move {
            let _ = rx.wait_for(|s| *s).await;
        })
        .await
        .unwrap();
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    while imports::list_jobs(core, user).await.unwrap()[0].state != JobState::Done {
        assert!(Instant::now() < deadline, "the job never completed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop
}

#[tokio::test]
async fn a_relay_killed_between_publish_and_mark_publishes_a_duplicate_the_worker_ignores() {
    let Uploaded {
        _dir,
        config,
        k,
        core,
        user,
        job,
        event_id,
    } = uploaded("crash@example.com", "Twice Sent").await;

    let mut env = env_of(&config);
    env.push(("REFRAIN_FAILPOINTS".into(), "relay-after-publish".into()));
    let mut server = Proc::spawn(SERVER, &["serve"], &env);
    server
        .wait_for_line("FAILPOINT relay-after-publish", Duration::from_secs(60))
        .await;
    // The broker has the event; the row is not marked. Kill the process right there.
    let imports_topic = k.topic(kafka::IMPORTS);
    let seen = read_topic(&k, &imports_topic, 1, Duration::from_secs(30)).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("event-id"), Some(event_id.as_str()));
    server.kill().await;
    assert_eq!(outbox::backlog(&core.db).await.unwrap(), 1, "still pending");

    // A worker handles the first delivery.
    let stop = worker_until_done(&core, &k, &user).await;

    // The server comes back without the failpoint and publishes the row again.
    let server = Proc::spawn(SERVER, &["serve"], &env_of(&config));
    let deadline = Instant::now() + Duration::from_secs(60);
    while outbox::backlog(&core.db).await.unwrap() > 0 {
        assert!(
            Instant::now() < deadline,
            "the row was never marked published"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seen = read_topic(&k, &imports_topic, 2, Duration::from_secs(30)).await;
    assert_eq!(seen.len(), 2, "the duplicate reached the broker");
    assert!(seen.iter().all(|m| m.header("event-id") == Some(&event_id)));
    // Wait until the workers' group has handled the duplicate too.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let lag = kafka::consumer_lag(&k).await.unwrap();
        if lag.iter().all(|(_, n)| *n == 0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the duplicate was never consumed: {lag:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        library::repo::count_tracks_for_job(&core.db, &job.id)
            .await
            .unwrap(),
        1
    );
    assert_eq!(library::list_tracks(&core, &user).await.unwrap().len(), 1);
    let _ = stop.send(true);
    server.kill().await;
}

/// (b): the upload committed its job and event; the relay read the row and is killed
/// before sending it. Nothing reached the broker; after a restart the event is published
/// once and the job completes with one track.
#[tokio::test]
async fn a_relay_killed_after_commit_before_publish_publishes_after_restart() {
    let Uploaded {
        _dir,
        config,
        k,
        core,
        user,
        job,
        event_id,
    } = uploaded("late@example.com", "Sent Late").await;

    let mut env = env_of(&config);
    env.push(("REFRAIN_FAILPOINTS".into(), "relay-before-publish".into()));
    let mut server = Proc::spawn(SERVER, &["serve"], &env);
    server
        .wait_for_line("FAILPOINT relay-before-publish", Duration::from_secs(60))
        .await;
    server.kill().await;
    let imports_topic = k.topic(kafka::IMPORTS);
    assert!(
        read_topic(&k, &imports_topic, 1, Duration::from_secs(5))
            .await
            .is_empty(),
        "nothing was sent before the kill"
    );
    assert_eq!(outbox::backlog(&core.db).await.unwrap(), 1, "still pending");

    let server = Proc::spawn(SERVER, &["serve"], &env_of(&config));
    let deadline = Instant::now() + Duration::from_secs(60);
    while outbox::backlog(&core.db).await.unwrap() > 0 {
        assert!(Instant::now() < deadline, "the row was never published");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seen = read_topic(&k, &imports_topic, 2, Duration::from_secs(10)).await;
    assert_eq!(seen.len(), 1, "published once");
    assert_eq!(seen[0].header("event-id"), Some(event_id.as_str()));

    let stop = worker_until_done(&core, &k, &user).await;
    assert_eq!(
        library::repo::count_tracks_for_job(&core.db, &job.id)
            .await
            .unwrap(),
        1
    );
    let _ = stop.send(true);
    server.kill().await;
}
