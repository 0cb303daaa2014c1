//! Limits on every door, through the real accept loop: request rates per client (429 with
//! Retry-After, in memory and shared by nodes through a real Redis), a slowloris client cut
//! off while others are served, connections over a client's share refused, and a request
//! that hangs on a stopped dependency answered 503.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use backend::testing::Backend;
use common::*;
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use server_fn::ServerFn;
use std::net::IpAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Rates are counted in one-minute windows: a test that counts up to a limit starts with
/// at least 20 s of its window left, so the count does not start over half-way.
async fn early_in_a_minute() {
    let secs = backend::now_ms() / 1000 % 60;
    if secs > 40 {
        tokio::time::sleep(Duration::from_secs((61 - secs) as u64)).await;
    }
}

fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

fn retry_after(r: &reqwest::Response) -> u64 {
    r.headers()
        .get(RETRY_AFTER)
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The value of one metrics line (`name{labels}` exactly).
fn figure(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

#[tokio::test]
async fn a_client_over_a_rate_gets_429_with_retry_after_and_others_are_served() {
    let srv = start_with(Backend::Sqlite, |c| {
        c.rate_limits.general = 30;
        c.rate_limits.search = 3;
    })
    .await;
    early_in_a_minute().await;
    let c = client_from("127.0.0.1");
    signup(&c, &srv, "limits@example.com").await;
    let search = |c: reqwest::Client| {
        let url = format!("{}{}", srv.base, app::search::Search::PATH);
        async move { c.post(url).form(&[("q", "tone")]).send().await.unwrap() }
    };
    for _ in 0..3 {
        assert_eq!(search(c.clone()).await.status(), StatusCode::OK);
    }
    // The fourth search within the minute is refused, with the app's own error and when
    // to come back; other requests from the same client still pass.
    let r = search(c.clone()).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&r);
    assert!((1..=60).contains(&wait), "{wait}");
    match r.app_error().await {
        app::error::AppError::RateLimited(m) => assert!(m.contains("try again"), "{m}"),
        other => panic!("{other:?}"),
    }
    let r = c
        .get(format!("{}/api/v1/openapi.json", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Every request counts against the general rate: past it, everything waits...
    let mut refused = None;
    for _ in 0..40 {
        let r = c
            .get(format!("{}/api/v1/openapi.json", srv.base))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(retry_after(&r));
            break;
        }
        assert_eq!(r.status(), StatusCode::OK);
    }
    assert!(refused.is_some(), "never refused");
    // ...but health probes, and another client.
    let r = c.get(format!("{}/healthz", srv.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let other = client_from("127.0.0.2");
    let r = other
        .get(format!("{}/api/v1/openapi.json", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let m = metrics(&srv).await;
    assert!(figure(&m, "refrain_rate_limited_total{limit=\"search\"}") >= 1);
    assert!(figure(&m, "refrain_rate_limited_total{limit=\"general\"}") >= 1);
}

/// With Redis configured, every node counts against the same figure: a client spreading
/// its requests over two nodes gets no more than the limit in all.
#[tokio::test]
async fn nodes_share_rates_through_redis() {
    let redis = std::env::var("REFRAIN_TEST_REDIS_URL")
        .expect("REFRAIN_TEST_REDIS_URL is not set; run scripts/services.sh");
    let dir = tempfile::tempdir().unwrap();
    let mut config = Backend::Sqlite.config(&dir.path().join("data")).await;
    config.events.embedded_worker = false;
    config.redis.url = Some(redis);
    config.rate_limits.general = 6;
    // The client arrives through a proxy on this machine, from an address of its own (so
    // no other test's requests count with it).
    config.server.trusted_proxies = vec!["127.0.0.1".parse::<std::net::IpAddr>().unwrap()].into();
    let core = backend::Core::init(config).await.unwrap();
    let nodes = [serve(&core).await, serve(&core).await];
    early_in_a_minute().await;
    let me = format!("2001:db8:{:x}:{:x}::7", rand_u16(), rand_u16());
    let c = client();
    let mut allowed = 0;
    for i in 0..12 {
        let r = c
            .get(format!("{}/api/v1/openapi.json", nodes[i % 2]))
            .header("x-forwarded-for", &me)
            .send()
            .await
            .unwrap();
        match r.status() {
            StatusCode::OK => allowed += 1,
            StatusCode::TOO_MANY_REQUESTS => assert!(retry_after(&r) >= 1),
            s => panic!("{s}"),
        }
    }
    // Each node alone would have let 6 through, 12 in all.
    assert_eq!(allowed, 6);
}

fn rand_u16() -> u16 {
    (uuid::Uuid::new_v4().as_u128() & 0xffff) as u16
}

/// A client that opens connections and sends its request head a little at a time is cut
/// off after the header time limit; connections past its share are refused at once; and
/// meanwhile everyone else is served.
#[tokio::test]
async fn a_slowloris_client_is_cut_off_while_others_are_served() {
    let srv = start_with(Backend::Sqlite, |c| {
        c.server.header_timeout_secs = 1;
        c.server.max_connections_per_client = 8;
    })
    .await;
    let addr = srv.base.trim_start_matches("http://").to_string();
    let slow_from: IpAddr = "127.0.0.2".parse().unwrap();
    let mut slow = Vec::new();
    for _ in 0..8 {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind((slow_from, 0).into()).unwrap();
        let mut s = sock.connect(addr.parse().unwrap()).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    // The ninth from that address is over its share: a 503 and the connection closed.
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind((slow_from, 0).into()).unwrap();
    let mut extra = sock.connect(addr.parse().unwrap()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), extra.read_to_string(&mut answer))
        .await
        .expect("the refused connection was not closed")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.to_lowercase().contains("retry-after: 1"), "{answer}");

    // Others are served while the slow ones hold their connections.
    let r = client()
        .get(format!("{}/healthz", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // The slow client keeps dribbling header lines; each connection is closed anyway,
    // with no answer to its never-finished request.
    let dribble = async {
        for s in slow.iter_mut() {
            let _ = s.write_all(b"X-Slow: 1\r\n").await;
        }
    };
    dribble.await;
    for mut s in slow {
        let closed = tokio::time::timeout(Duration::from_secs(15), async {
            let mut buf = [0u8; 512];
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    // hyper may answer 408 before it closes.
                    Ok(n) => assert!(
                        buf[..n].starts_with(b"HTTP/1.1 408"),
                        "{}",
                        String::from_utf8_lossy(&buf[..n])
                    ),
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "a slow connection was never closed");
    }
    // Its slots are free again: the same address is served now.
    let r = client_from("127.0.0.2")
        .get(format!("{}/healthz", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let m = metrics(&srv).await;
    assert!(figure(&m, "refrain_header_timeouts_total") >= 8, "{m}");
    assert!(
        figure(
            &m,
            "refrain_connections_refused_total{reason=\"client_full\"}"
        ) >= 1
    );
}

/// Object storage that accepts connections and never answers: a request waiting on it
/// is answered 503 with Retry-After once the request time limit passes, and what it was
/// doing is not half-recorded.
#[tokio::test]
async fn a_request_stuck_on_a_dependency_is_answered_503() {
    let blackhole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", blackhole.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = blackhole.accept().await {
            held.push(s);
        }
    });
    let srv = start_with(Backend::Sqlite, |c| {
        c.server.request_timeout_secs = 1;
        c.storage.s3 = Some(backend::config::S3Config {
            bucket: "refrain".into(),
            prefix: None,
            endpoint: Some(endpoint),
            region: "garage".into(),
            access_key_id: "GKtest".into(),
            secret_access_key: "secret".into(),
            path_style: true,
        });
    })
    .await;
    let c = client();
    signup(&c, &srv, "stuck@example.com").await;
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(64, 64, image::Rgb([9, 9, 9])))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let r = c
        .post(format!("{}/api/avatar", srv.base))
        .body(png)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(retry_after(&r) >= 1);
    assert!(r.text().await.unwrap().contains("took too long"));
    let avatar: Option<String> =
        sqlx::query_scalar("SELECT avatar_key FROM users WHERE email = 'stuck@example.com'")
            .fetch_one(&srv.core.db)
            .await
            .unwrap();
    assert_eq!(avatar, None);
    let m = metrics(&srv).await;
    assert!(figure(&m, "refrain_requests_timed_out_total") >= 1);
}

/// A stand-in for the network between Refrain and its object store: it forwards to the
/// real S3 server (Garage) while `up`, and while down accepts each connection and closes
/// it at once, as a stopped store's host would. It counts the connections it is offered.
struct StoreLink {
    endpoint: String,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    offered: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

async fn store_link(target: &str) -> StoreLink {
    use std::sync::atomic::Ordering;
    let target = target.trim_start_matches("http://").to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let link = StoreLink {
        endpoint: format!("http://{}", listener.local_addr().unwrap()),
        up: Default::default(),
        offered: Default::default(),
    };
    let (up, offered) = (link.up.clone(), link.offered.clone());
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            offered.fetch_add(1, Ordering::SeqCst);
            if !up.load(Ordering::SeqCst) {
                drop(inbound);
                continue;
            }
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut out) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                }
            });
        }
    });
    link
}

/// Object storage that stops answering trips its circuit breaker: after a few failed
/// calls, requests needing it are answered 503 with Retry-After without trying it at all
/// (no connection is offered to it); when it answers again, a probe closes the breaker.
#[tokio::test]
async fn a_stopped_object_store_is_answered_503_at_once_until_it_is_back() {
    use std::sync::atomic::Ordering;
    let mut s3 = backend::testing::s3_config();
    let link = store_link(s3.endpoint.as_deref().unwrap()).await;
    s3.endpoint = Some(link.endpoint.clone());
    let srv = start_with(Backend::Sqlite, |c| {
        c.storage.s3 = Some(s3);
        c.limits.breaker_failures = 3;
        c.limits.breaker_cooldown_secs = 1;
    })
    .await;
    let c = client();
    signup(&c, &srv, "breaker@example.com").await;
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(64, 64, image::Rgb([1, 2, 3])))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let upload = || {
        let (c, url, png) = (c.clone(), format!("{}/api/avatar", srv.base), png.clone());
        async move { c.post(url).body(png).send().await.unwrap() }
    };

    // The store is down: each try fails (the first few after trying the store)...
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let r = upload().await;
        statuses.push(r.status());
        if r.status() == StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
    }
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::SERVICE_UNAVAILABLE),
        "{statuses:?}"
    );
    assert!(link.offered.load(Ordering::SeqCst) >= 3);
    // ...and once the breaker is open, the answer comes without touching the store.
    let offered = link.offered.load(Ordering::SeqCst);
    let r = upload().await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(retry_after(&r) >= 1);
    let body = r.text().await.unwrap();
    assert!(body.contains("object storage is not answering"), "{body}");
    assert_eq!(link.offered.load(Ordering::SeqCst), offered);
    let m = metrics(&srv).await;
    assert_eq!(
        figure(&m, "refrain_circuit_open{service=\"object_storage\"}"),
        1
    );
    let avatar: Option<String> =
        sqlx::query_scalar("SELECT avatar_key FROM users WHERE email = 'breaker@example.com'")
            .fetch_one(&srv.core.db)
            .await
            .unwrap();
    assert_eq!(avatar, None);

    // The store is back: after the cooldown a probe goes through and all is served again.
    link.up.store(true, Ordering::SeqCst);
    let mut served = false;
    for _ in 0..60 {
        if upload().await.status() == StatusCode::OK {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(served, "never served again");
    let m = metrics(&srv).await;
    assert_eq!(
        figure(&m, "refrain_circuit_open{service=\"object_storage\"}"),
        0
    );
}

/// Kafka not answering: after failed checks in a row `/readyz` says so at once (the
/// circuit is open: the brokers are not asked again until the cooldown passes), and
/// `/metrics` shows the open circuit.
#[tokio::test]
async fn kafka_not_answering_opens_its_circuit() {
    // A port where nothing listens.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let brokers = dead.local_addr().unwrap().to_string();
    drop(dead);
    let srv = start_with(Backend::Sqlite, |c| {
        c.events.kafka = Some(backend::config::KafkaConfig {
            brokers,
            topic_prefix: "breaker.".into(),
            group: "breaker".into(),
            partitions: 1,
            instance_id: None,
        });
        c.limits.breaker_failures = 2;
        c.limits.breaker_cooldown_secs = 600;
    })
    .await;
    let c = client();
    let mut bodies = Vec::new();
    for _ in 0..4 {
        let r = c.get(format!("{}/readyz", srv.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        bodies.push(r.text().await.unwrap());
    }
    assert!(!bodies[0].contains("circuit open"), "{bodies:?}");
    assert!(bodies[1].contains("not answering"), "{bodies:?}");
    assert!(
        bodies[2].contains("not answering (circuit open)"),
        "{bodies:?}"
    );
    assert!(
        bodies[3].contains("not answering (circuit open)"),
        "{bodies:?}"
    );
    let m = metrics(&srv).await;
    assert_eq!(figure(&m, "refrain_circuit_open{service=\"kafka\"}"), 1);
}
