//! Kafka transport for the outbox. The relay publishes committed outbox rows with an
//! idempotent producer, keyed by aggregate id (one aggregate's events stay in one
//! partition, in order), and marks a row published only after the broker acknowledged it.
//! A crash between the two publishes a duplicate, which handlers ignore by event id.

use super::{Event, repo};
use crate::config::KafkaConfig;
use crate::db::Kind;
use crate::{Core, Result};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;

pub const IMPORTS: &str = "imports";
pub const NOTIFICATIONS: &str = "notifications";
pub const PLAYBACK: &str = "playback";
pub const DEAD_LETTER: &str = "dead-letter";

/// The topic (without prefix) an event type is published to.
pub fn topic_of(event_type: &str) -> &'static str {
    match event_type.split('.').next() {
        Some("import") => IMPORTS,
        Some("play") => PLAYBACK,
        _ => NOTIFICATIONS,
    }
}

pub fn producer(k: &KafkaConfig) -> Result<FutureProducer> {
    ClientConfig::new()
        .set("bootstrap.servers", &k.brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.timeout.ms", "15000")
        .set("linger.ms", "5")
        .set("topic.metadata.refresh.interval.ms", "5000")
        .create()
        .map_err(|e| anyhow::anyhow!("Kafka producer: {e}").into())
}

/// Creates the project's topics if they do not exist yet.
pub async fn ensure_topics(k: &KafkaConfig) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &k.brokers)
        .create()
        .map_err(|e| anyhow::anyhow!("Kafka admin client: {e}"))?;
    let names: Vec<String> = [IMPORTS, NOTIFICATIONS, PLAYBACK, DEAD_LETTER]
        .iter()
        .map(|t| k.topic(t))
        .collect();
    let topics: Vec<NewTopic> = names
        .iter()
        .map(|n| NewTopic::new(n, k.partitions, TopicReplication::Fixed(1)))
        .collect();
    let results = admin
        .create_topics(
            &topics,
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .map_err(|e| anyhow::anyhow!("creating Kafka topics: {e}"))?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(anyhow::anyhow!("creating Kafka topic {name}: {code}").into());
            }
        }
    }
    Ok(())
}

/// The wire form of an event: JSON body, aggregate id as key, event id as a header.
pub fn encode(ev: &Event) -> Result<Vec<u8>> {
    serde_json::to_vec(ev).map_err(|e| anyhow::anyhow!("encode event: {e}").into())
}

/// Publishes pending outbox rows in commit order; returns how many were published.
/// On PostgreSQL rows are claimed with `FOR UPDATE SKIP LOCKED`, so relays on several
/// nodes never publish the same row at the same time.
pub async fn publish_pending(
    core: &Core,
    k: &KafkaConfig,
    producer: &FutureProducer,
) -> Result<usize> {
    let mut published = 0;
    loop {
        let n = match crate::db::kind(&core.db) {
            Kind::Postgres => {
                let mut tx = crate::db::begin(&core.db).await?;
                let batch = repo::claim_pending(&mut *tx, 256).await?;
                if !batch.is_empty() {
                    crate::failpoint::stop_if_armed("relay-before-publish").await;
                }
                let sent = send_all(k, producer, &batch).await;
                if !sent.published.is_empty() {
                    crate::failpoint::stop_if_armed("relay-after-publish").await;
                }
                repo::mark_all_published(&mut *tx, &sent.published).await?;
                tx.commit().await?;
                sent.finish()?
            }
            Kind::Sqlite => {
                let batch = repo::pending(&core.db, 256).await?;
                if !batch.is_empty() {
                    crate::failpoint::stop_if_armed("relay-before-publish").await;
                }
                let sent = send_all(k, producer, &batch).await;
                if !sent.published.is_empty() {
                    crate::failpoint::stop_if_armed("relay-after-publish").await;
                }
                repo::mark_all_published(&core.db, &sent.published).await?;
                sent.finish()?
            }
        };
        published += n;
        if n == 0 {
            return Ok(published);
        }
    }
}

struct Sent {
    published: Vec<i64>,
    first_error: Option<crate::Error>,
}

impl Sent {
    /// How many were published, or the first error when any send failed (the failed rows
    /// stay pending and are retried).
    fn finish(self) -> Result<usize> {
        match self.first_error {
            Some(e) => Err(e),
            None => Ok(self.published.len()),
        }
    }
}

/// Sends a batch with all messages in flight at once (enqueued in commit order, which the
/// idempotent producer keeps per partition) and waits for every acknowledgement.
async fn send_all(k: &KafkaConfig, producer: &FutureProducer, batch: &[repo::Pending]) -> Sent {
    let results =
        futures::future::join_all(batch.iter().map(|p| send(k, producer, &p.event))).await;
    let mut sent = Sent {
        published: Vec::new(),
        first_error: None,
    };
    for (p, r) in batch.iter().zip(results) {
        match r {
            Ok(()) => sent.published.push(p.seq),
            Err(e) => {
                if sent.first_error.is_none() {
                    sent.first_error = Some(e);
                }
            }
        }
    }
    sent
}

async fn send(k: &KafkaConfig, producer: &FutureProducer, ev: &Event) -> Result<()> {
    let topic = k.topic(topic_of(&ev.topic));
    let body = encode(ev)?;
    let mut headers = OwnedHeaders::new().insert(Header {
        key: "event-id",
        value: Some(ev.id.as_str()),
    });
    // The trace travels as a message header too, where tracing tools look for it.
    if let Some(tp) = &ev.traceparent {
        headers = headers.insert(Header {
            key: "traceparent",
            value: Some(tp.as_str()),
        });
    }
    let record = FutureRecord::to(&topic)
        .key(ev.aggregate_id.as_str())
        .payload(&body)
        .headers(headers);
    producer
        .send(record, Duration::from_secs(15))
        .await
        .map_err(|(e, _)| anyhow::anyhow!("publishing event {} to {topic}: {e}", ev.id))?;
    Ok(())
}

/// Runs the relay until `shutdown`: publishes on every outbox wake-up and at least once a
/// second; while the broker is down, rows simply stay pending and are retried.
pub async fn run_relay(
    core: Core,
    k: KafkaConfig,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut producer = match producer(&k) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "Kafka relay cannot start");
            return;
        }
    };
    let mut topics_ready = false;
    loop {
        // While Kafka's breaker is open the relay waits instead of trying (each try holds
        // its claimed outbox rows until the brokers' time-outs run out).
        let round = core
            .kafka_breaker
            .call(
                async {
                    if !topics_ready {
                        ensure_topics(&k).await?;
                        topics_ready = true;
                    }
                    publish_pending(&core, &k, &producer).await
                },
                // The database's failures are not Kafka's.
                |e| {
                    !matches!(
                        e,
                        crate::Error::Database(_)
                            | crate::Error::Unavailable {
                                what: crate::db::NOT_ANSWERING,
                                ..
                            }
                    )
                },
            )
            .await;
        if let Err(e) = round
            && !matches!(e, crate::Error::Unavailable { .. })
        {
            tracing::warn!(error = %format!("{e:#}"), "relay could not publish; will retry");
            // The broker may have come back empty (or be a new cluster): recheck topics, and
            // start a fresh idempotent producer (its producer id may be unknown there now,
            // which librdkafka treats as fatal for the old instance).
            topics_ready = false;
            if let Ok(p) = self::producer(&k) {
                producer = p;
            }
        }
        tokio::select! {
            _ = &mut shutdown => {
                let _ = producer.flush(Duration::from_secs(5));
                return;
            }
            _ = core.events.woken() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Whether the brokers answer a metadata request (for `/readyz`).
pub async fn ping(k: &KafkaConfig) -> bool {
    let brokers = k.brokers.clone();
    tokio::task::spawn_blocking(move || {
        let Ok(p) = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .create::<FutureProducer>()
        else {
            return false;
        };
        p.client()
            .fetch_metadata(None, Duration::from_secs(2))
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

/// Events published but not yet handled by the workers' group, per topic (for `/metrics`):
/// high watermark minus the group's committed offset (or the low watermark if none).
pub async fn consumer_lag(k: &KafkaConfig) -> Result<Vec<(String, i64)>> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{Offset, TopicPartitionList};
    let k = k.clone();
    tokio::task::spawn_blocking(move || -> Result<Vec<(String, i64)>> {
        let timeout = Duration::from_secs(3);
        // Not subscribed: reading the group's committed offsets does not join the group.
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &k.brokers)
            .set("group.id", &k.group)
            .set("enable.auto.commit", "false")
            .create()
            .map_err(|e| anyhow::anyhow!("Kafka lag client: {e}"))?;
        let mut out = Vec::new();
        for topic in [IMPORTS, NOTIFICATIONS, PLAYBACK].map(|t| k.topic(t)) {
            let md = c
                .fetch_metadata(Some(&topic), timeout)
                .map_err(|e| anyhow::anyhow!("metadata: {e}"))?;
            let Some(t) = md.topics().first() else {
                continue;
            };
            let mut tpl = TopicPartitionList::new();
            for p in t.partitions() {
                tpl.add_partition(&topic, p.id());
            }
            let committed = c
                .committed_offsets(tpl, timeout)
                .map_err(|e| anyhow::anyhow!("offsets: {e}"))?;
            let mut lag = 0i64;
            for e in committed.elements() {
                let (low, high) = c
                    .fetch_watermarks(&topic, e.partition(), timeout)
                    .map_err(|e| anyhow::anyhow!("watermarks: {e}"))?;
                let at = match e.offset() {
                    Offset::Offset(o) => o,
                    _ => low,
                };
                lag += (high - at).max(0);
            }
            out.push((topic, lag));
        }
        Ok(out)
    })
    .await
    .map_err(|e| anyhow::anyhow!("lag task: {e}"))?
}
