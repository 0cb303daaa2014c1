//! Events through a real Kafka-protocol broker (tansu, started by scripts/services.sh at
//! `REFRAIN_TEST_KAFKA_BROKERS`, default 127.0.0.1:9092). Each test uses its own topics
//! and consumer group, and a fresh PostgreSQL database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::{self, CurrentUser};
use backend::config::KafkaConfig;
use backend::events::{self, kafka, repo as outbox};
use backend::imports::{self, JobState};
use backend::testing::Backend;
use backend::{Core, library};
use bytes::Bytes;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Headers;
use std::time::{Duration, Instant};

struct Env {
    core: Core,
    k: KafkaConfig,
    user: CurrentUser,
    stop: tokio::sync::watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

async fn start(b: Backend) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let mut config = b.config(&dir.path().join("data")).await;
    let k = backend::testing::kafka_config(None, 1);
    config.events.kafka = Some(k.clone());
    config.events.embedded_worker = false;
    config.events.max_event_attempts = 2;
    let core = Core::init(config).await.unwrap();
    kafka::ensure_topics(&k).await.unwrap();
    let user = auth::signup(&core, "kafka@example.com", "violet-harbour-87")
        .await
        .unwrap();
    // The sign-up's own event (its welcome) is not what these tests count.
    backend::testing::settle_outbox(&core.db).await;
    let (stop, mut rx) = tokio::sync::watch::channel(false);
    let (c, kk) = (core.clone(), k.clone());
    tokio::spawn(async move {
        worker::kafka::run(c, kk, async move {
            let _ = rx.wait_for(|s| *s).await;
        })
        .await
        .unwrap();
    });
    Env {
        core,
        k,
        user,
        stop,
        _dir: dir,
    }
}

async fn upload(e: &Env, name: &str) -> imports::JobView {
    let s = futures::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from(
        backend::testing::sine_mp3(2, &[]),
    ))]);
    imports::create_upload(&e.core, &e.user, name, None, s)
        .await
        .unwrap()
}

async fn job_state(e: &Env, id: &str) -> imports::JobView {
    imports::list_jobs(&e.core, &e.user)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.id == id)
        .unwrap()
}

/// Waits (bounded) until the job settles; the bound only guards against a hang.
async fn settled(e: &Env, id: &str) -> imports::JobView {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let j = job_state(e, id).await;
        if matches!(j.state, JobState::Done | JobState::Failed) {
            return j;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} never settled: {:?}",
            j.state
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn an_upload_reaches_the_worker_through_kafka_and_takes_effect_once(b: Backend) {
    let e = start(b).await;
    let producer = kafka::producer(&e.k).unwrap();
    let first = upload(&e, "first.mp3").await;
    assert_eq!(
        kafka::publish_pending(&e.core, &e.k, &producer)
            .await
            .unwrap(),
        1
    );
    assert_eq!(outbox::backlog(&e.core.db).await.unwrap(), 0);
    assert_eq!(settled(&e, &first.id).await.state, JobState::Done);

    // The relay died after publishing but before marking: the row is published again.
    sqlx::query("UPDATE outbox SET published_at = NULL WHERE topic = $1")
        .bind(events::IMPORT_REQUESTED)
        .execute(&e.core.db)
        .await
        .unwrap();
    assert_eq!(
        kafka::publish_pending(&e.core, &e.k, &producer)
            .await
            .unwrap(),
        1
    );
    // One partition keeps order: once a later event is done, the duplicate was handled.
    let second = upload(&e, "second.mp3").await;
    kafka::publish_pending(&e.core, &e.k, &producer)
        .await
        .unwrap();
    assert_eq!(settled(&e, &second.id).await.state, JobState::Done);
    assert_eq!(
        library::repo::count_tracks_for_job(&e.core.db, &first.id)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        library::list_tracks(&e.core, &e.user).await.unwrap().len(),
        2
    );
    let _ = e.stop.send(true);
}

/// Welcome emails queued by the worker for `to`, once it has handled the sign-up.
async fn welcomes(core: &Core, to: &str) -> usize {
    backend::testing::queued_emails(&core.db)
        .await
        .iter()
        .filter(|m| m.to == to && m.subject == "Welcome to Refrain")
        .count()
}

async fn welcomed(core: &Core, to: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while welcomes(core, to).await == 0 {
        assert!(Instant::now() < deadline, "{to} was never welcomed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A lifecycle event goes through Kafka to the worker, which queues its email once, even
/// when the event is delivered twice.
async fn a_sign_up_is_welcomed_through_kafka_once(b: Backend) {
    let e = start(b).await;
    let producer = kafka::producer(&e.k).unwrap();
    auth::signup(&e.core, "joined@example.com", "violet-harbour-87")
        .await
        .unwrap();
    kafka::publish_pending(&e.core, &e.k, &producer)
        .await
        .unwrap();
    welcomed(&e.core, "joined@example.com").await;
    // Published again (a relay that died before marking it): handled once all the same.
    sqlx::query("UPDATE outbox SET published_at = NULL WHERE topic = $1")
        .bind(backend::auth::notices::USER_REGISTERED)
        .execute(&e.core.db)
        .await
        .unwrap();
    kafka::publish_pending(&e.core, &e.k, &producer)
        .await
        .unwrap();
    // One partition keeps order: once a later sign-up is welcomed, the duplicate was handled.
    auth::signup(&e.core, "later@example.com", "violet-harbour-87")
        .await
        .unwrap();
    kafka::publish_pending(&e.core, &e.k, &producer)
        .await
        .unwrap();
    welcomed(&e.core, "later@example.com").await;
    assert_eq!(welcomes(&e.core, "joined@example.com").await, 1);
    let _ = e.stop.send(true);
}

async fn a_rolled_back_change_publishes_nothing(b: Backend) {
    let e = start(b).await;
    let producer = kafka::producer(&e.k).unwrap();
    let mut tx = e.core.db.begin().await.unwrap();
    let ev = events::Event::new(
        events::IMPORT_REQUESTED,
        "job-x",
        serde_json::json!({ "job_id": "job-x" }),
    );
    outbox::enqueue(&mut *tx, &ev).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(outbox::backlog(&e.core.db).await.unwrap(), 0);
    assert_eq!(
        kafka::publish_pending(&e.core, &e.k, &producer)
            .await
            .unwrap(),
        0
    );
    let _ = e.stop.send(true);
}

async fn a_poison_event_lands_in_the_dead_letter_topic_and_its_job_says_why(b: Backend) {
    let e = start(b).await;
    let producer = kafka::producer(&e.k).unwrap();
    let j = upload(&e, "vanished.mp3").await;
    let event_id = outbox::pending(&e.core.db, 10).await.unwrap()[0]
        .event
        .id
        .clone();
    // The original disappears from storage: every attempt fails.
    e.core.storage.delete(&j.original_key).await.unwrap();
    kafka::publish_pending(&e.core, &e.k, &producer)
        .await
        .unwrap();
    let j = settled(&e, &j.id).await;
    assert_eq!(j.state, JobState::Failed);
    assert!(
        j.error
            .as_deref()
            .unwrap_or_default()
            .contains("after several attempts"),
        "{:?}",
        j.error
    );

    let dlq: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &e.k.brokers)
        .set("group.id", format!("{}-dlq", e.k.group))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    dlq.subscribe(&[&e.k.topic(kafka::DEAD_LETTER)]).unwrap();
    let m = tokio::time::timeout(Duration::from_secs(60), dlq.recv())
        .await
        .expect("a dead letter")
        .unwrap();
    let headers = m.headers().unwrap();
    let header = |name: &str| {
        headers
            .iter()
            .find(|h| h.key == name)
            .and_then(|h| h.value)
            .map(|v| String::from_utf8_lossy(v).to_string())
    };
    assert_eq!(header("event-id").as_deref(), Some(event_id.as_str()));
    assert!(!header("error").unwrap_or_default().is_empty());
    let _ = e.stop.send(true);
}

async fn consumer_lag_counts_published_but_unhandled_events(b: Backend) {
    let e = start(b).await;
    // Stop the worker first, so what is published stays unhandled.
    let _ = e.stop.send(true);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let producer = kafka::producer(&e.k).unwrap();
    let a = upload(&e, "lag-1.mp3").await;
    let b2 = upload(&e, "lag-2.mp3").await;
    assert_eq!(
        kafka::publish_pending(&e.core, &e.k, &producer)
            .await
            .unwrap(),
        2
    );
    let imports_lag =
        |lag: &[(String, i64)]| lag.iter().find(|(t, _)| t.ends_with(".imports")).unwrap().1;
    let lag = kafka::consumer_lag(&e.k).await.unwrap();
    assert!(imports_lag(&lag) > 0, "{lag:?}");
    // A worker comes back, handles both, and the lag drops to zero.
    let (stop, mut rx) = tokio::sync::watch::channel(false);
    let (c, kk) = (e.core.clone(), e.k.clone());
    tokio::spawn(async move {
        worker::kafka::run(c, kk, async move {
            let _ = rx.wait_for(|s| *s).await;
        })
        .await
        .unwrap();
    });
    settled(&e, &a.id).await;
    settled(&e, &b2.id).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lag = kafka::consumer_lag(&e.k).await.unwrap();
        if imports_lag(&lag) == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "lag never reached zero: {lag:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = stop.send(true);
}

mod postgres {
    use super::*;
    #[tokio::test]
    async fn a_sign_up_is_welcomed_through_kafka_once() {
        super::a_sign_up_is_welcomed_through_kafka_once(Backend::Postgres).await
    }
    #[tokio::test]
    async fn consumer_lag_counts_published_but_unhandled_events() {
        super::consumer_lag_counts_published_but_unhandled_events(Backend::Postgres).await
    }
    #[tokio::test]
    async fn an_upload_reaches_the_worker_through_kafka_and_takes_effect_once() {
        super::an_upload_reaches_the_worker_through_kafka_and_takes_effect_once(Backend::Postgres)
            .await
    }
    #[tokio::test]
    async fn a_rolled_back_change_publishes_nothing() {
        super::a_rolled_back_change_publishes_nothing(Backend::Postgres).await
    }
    #[tokio::test]
    async fn a_poison_event_lands_in_the_dead_letter_topic_and_its_job_says_why() {
        super::a_poison_event_lands_in_the_dead_letter_topic_and_its_job_says_why(Backend::Postgres)
            .await
    }
}

mod sqlite {
    use super::*;
    #[tokio::test]
    async fn a_sign_up_is_welcomed_through_kafka_once() {
        super::a_sign_up_is_welcomed_through_kafka_once(Backend::Sqlite).await
    }
    #[tokio::test]
    async fn an_upload_reaches_the_worker_through_kafka_and_takes_effect_once() {
        super::an_upload_reaches_the_worker_through_kafka_and_takes_effect_once(Backend::Sqlite)
            .await
    }
}
