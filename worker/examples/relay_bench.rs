//! Benchmark (not a test): outbox-to-consumer latency through Kafka and relay throughput.
//!
//! Needs PostgreSQL and a Kafka-protocol broker (see scripts/services.sh). Run with
//! `bench/relay.sh`. It commits events to the outbox one at a time while the relay runs and
//! a consumer measures commit-to-receipt latency (p50/p99); then it commits a backlog of
//! N events at once and times the relay publishing them all (events per second).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::events::{Event, kafka, repo};
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let samples: usize = std::env::var("SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let mut config = backend::testing::Backend::Postgres.config(dir.path()).await;
    let k = backend::testing::kafka_config(None, 3);
    config.events.kafka = Some(k.clone());
    config.events.embedded_worker = false;
    let core = backend::Core::init(config).await.unwrap();
    kafka::ensure_topics(&k).await.unwrap();

    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &k.brokers)
        .set("group.id", &k.group)
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "50")
        .create()
        .unwrap();
    consumer
        .subscribe(&[&k.topic(kafka::NOTIFICATIONS)])
        .unwrap();

    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let relay = tokio::spawn(kafka::run_relay(core.clone(), k.clone(), async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    }));

    // Latency: one event at a time, commit (and wake the relay) to receipt.
    let mut lat = Vec::with_capacity(samples);
    for i in 0..samples {
        let ev = Event::new(
            "bench.ping",
            &format!("agg-{}", i % 8),
            serde_json::json!({ "i": i }),
        );
        let t0 = Instant::now();
        repo::enqueue(&core.db, &ev).await.unwrap();
        core.events.wake();
        loop {
            let m = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
                .await
                .expect("event")
                .unwrap();
            let got: Event = serde_json::from_slice(m.payload().unwrap()).unwrap();
            if got.id == ev.id {
                break;
            }
        }
        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    println!(
        "outbox-to-consumer latency over {samples} events (ms): p50 {:.1}  p99 {:.1}  max {:.1}",
        p(0.5),
        p(0.99),
        lat[lat.len() - 1]
    );

    // Throughput: a backlog of n committed events, published by the relay.
    let _ = stop_tx.send(true);
    relay.await.unwrap();
    for i in 0..n {
        let ev = Event::new(
            "bench.ping",
            &format!("agg-{}", i % 64),
            serde_json::json!({ "i": i }),
        );
        repo::enqueue(&core.db, &ev).await.unwrap();
    }
    let producer = kafka::producer(&k).unwrap();
    let t0 = Instant::now();
    let published = kafka::publish_pending(&core, &k, &producer).await.unwrap();
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "relay: published {published} events in {secs:.2} s = {:.0} events/s",
        published as f64 / secs
    );
}
