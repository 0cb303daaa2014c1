//! The scaled-out event loop: consume events from Kafka (one consumer group for all
//! workers), apply them with the same handlers as the embedded default, and commit the
//! offset only after the effect is stored. An event that keeps failing is copied to the
//! dead-letter topic with the reason, its subject is settled (a job shows why), and the
//! offset moves on.

use backend::Core;
use backend::config::KafkaConfig;
use backend::events::Event;
use backend::events::kafka::{self, DEAD_LETTER, IMPORTS, NOTIFICATIONS, PLAYBACK};
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::Duration;

pub fn consumer(k: &KafkaConfig) -> anyhow::Result<StreamConsumer> {
    let mut config = ClientConfig::new();
    if let Some(id) = &k.instance_id {
        config.set("group.instance.id", id);
    }
    let c: StreamConsumer = config
        .set("bootstrap.servers", &k.brokers)
        .set("group.id", &k.group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "10000")
        // Do not let the broker park an empty fetch for long: events should start at once.
        .set("fetch.wait.max.ms", "50")
        // Notice quickly when topics reappear after a broker restart.
        .set("topic.metadata.refresh.interval.ms", "5000")
        .create()?;
    let topics = [k.topic(IMPORTS), k.topic(NOTIFICATIONS), k.topic(PLAYBACK)];
    let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    c.subscribe(&refs)?;
    Ok(c)
}

/// Consumes until `shutdown`; the event being handled when it fires is finished first.
pub async fn run(
    core: Core,
    k: KafkaConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    tokio::pin!(shutdown);
    // Topics may not exist on a fresh broker; create them rather than assume them.
    loop {
        match kafka::ensure_topics(&k).await {
            Ok(()) => break,
            Err(e) => {
                tracing::warn!(error = %e, "Kafka not ready; retrying");
                tokio::select! {
                    _ = &mut shutdown => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                }
            }
        }
    }
    let mut consumer = consumer(&k)?;
    let dlq = kafka::producer(&k)?;
    tracing::info!(group = %k.group, "worker consuming Kafka");
    let mut failures = 0u32;
    loop {
        let msg = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            m = consumer.recv() => m,
        };
        let msg = match msg {
            Ok(m) => {
                failures = 0;
                m
            }
            Err(e) => {
                tracing::warn!(error = %e, "Kafka receive error");
                failures += 1;
                if failures >= 10 {
                    // The broker came back without our topics or group (or it is a new
                    // cluster): recreate the topics and rejoin with a fresh consumer.
                    // Offsets are only committed after effects, so nothing is skipped.
                    tracing::warn!("resetting the Kafka consumer after repeated errors");
                    if kafka::ensure_topics(&k).await.is_ok()
                        && let Ok(c) = self::consumer(&k)
                    {
                        consumer = c;
                        failures = 0;
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let payload = msg.payload().unwrap_or_default().to_vec();
        let key = msg
            .key()
            .map(|k| String::from_utf8_lossy(k).to_string())
            .unwrap_or_default();
        match serde_json::from_slice::<Event>(&payload) {
            Ok(mut event) => {
                // The message header is where tracing tools put the trace; it wins.
                if let Some(tp) = traceparent_header(&msg) {
                    event.traceparent = Some(tp);
                }
                process(&core, &k, &dlq, &event).await
            }
            Err(e) => {
                tracing::warn!(error = %e, "undecodable event; moving it to the dead-letter topic");
                dead_letter(
                    &k,
                    &dlq,
                    &key,
                    &payload,
                    "unknown",
                    &format!("undecodable: {e}"),
                )
                .await;
            }
        }
        // The effect (or its dead-lettering) is stored: only now move the offset.
        backend::failpoint::stop_if_armed("worker-before-commit").await;
        if let Err(e) = consumer.commit_message(&msg, CommitMode::Sync) {
            tracing::warn!(error = %e, "offset commit failed; the event may be redelivered (harmless)");
        }
    }
}

fn traceparent_header(msg: &impl Message) -> Option<String> {
    use rdkafka::message::Headers;
    let headers = msg.headers()?;
    headers
        .iter()
        .find(|h| h.key == "traceparent")
        .and_then(|h| h.value)
        .and_then(|v| std::str::from_utf8(v).ok())
        .map(str::to_string)
}

async fn process(core: &Core, k: &KafkaConfig, dlq: &FutureProducer, event: &Event) {
    let mut pause = Duration::from_millis(200);
    for attempt in 1..=core.config.events.max_event_attempts {
        match crate::handle(core, event).await {
            Ok(()) => return,
            Err(e) => {
                let msg = format!("{e:#}");
                tracing::warn!(event_id = %event.id, attempt, error = %msg, "event failed");
                if attempt >= core.config.events.max_event_attempts {
                    let body = serde_json::to_vec(event).unwrap_or_default();
                    dead_letter(k, dlq, &event.aggregate_id, &body, &event.id, &msg).await;
                    if let Err(e) = crate::give_up(core, event, &msg).await {
                        tracing::error!(event_id = %event.id, error = %format!("{e:#}"), "could not settle a dead event");
                    }
                    return;
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(10));
            }
        }
    }
}

async fn dead_letter(
    k: &KafkaConfig,
    dlq: &FutureProducer,
    key: &str,
    body: &[u8],
    event_id: &str,
    error: &str,
) {
    let topic = k.topic(DEAD_LETTER);
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: "event-id",
            value: Some(event_id),
        })
        .insert(Header {
            key: "error",
            value: Some(error),
        });
    let record = FutureRecord::to(&topic)
        .key(key)
        .payload(body)
        .headers(headers);
    if let Err((e, _)) = dlq.send(record, Duration::from_secs(15)).await {
        tracing::error!(error = %e, %event_id, "could not write to the dead-letter topic");
    }
}
