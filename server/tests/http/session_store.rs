//! Sessions kept in Redis: failing closed when it stops, shared by two nodes.

use crate::common::*;
use backend::Core;
use backend::testing::Backend;
use reqwest::StatusCode;
use server_fn::ServerFn;

/// A private Redis, stopped under a signed-in browser: sessions fail closed (nothing that
/// needs a session answers as if signed in; the server keeps answering), and after Redis
/// comes back (empty) the old cookie is signed out and a new sign-in works.
#[tokio::test]
async fn sessions_fail_closed_when_redis_stops() {
    let port = backend::testing::free_port();
    let start_redis = || {
        let child = tokio::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server (Debian's redis-server package)");
        async move {
            for _ in 0..100 {
                if tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
                {
                    return child;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("the private Redis did not start");
        }
    };
    let mut redis = start_redis().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Backend::Sqlite.config(&dir.path().join("data")).await;
    config.redis.url = Some(format!("redis://127.0.0.1:{port}"));
    config.events.embedded_worker = false;
    let core = Core::init(config).await.unwrap();
    let base = serve(&core).await;
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap();
    let r = c
        .post(format!("{base}{}", app::auth::Signup::PATH))
        .form(&[("email", "closed@example.com"), ("password", PW)])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let me = async |c: &reqwest::Client| {
        let r = c
            .post(format!("{base}{}", app::auth::CurrentUser::PATH))
            .send()
            .await
            .unwrap();
        let ok = r.status().is_success();
        let body = r.text().await.unwrap();
        (ok, body)
    };
    let (ok, body) = me(&c).await;
    assert!(ok && body.contains("closed@example.com"), "{body}");

    redis.kill().await.unwrap();
    let (_, body) = me(&c).await;
    assert!(
        !body.contains("closed@example.com"),
        "signed in without the session store: {body}"
    );
    let r = c
        .post(format!("{base}{}", app::library::ListTracks::PATH))
        .send()
        .await
        .unwrap();
    assert!(!r.status().is_success(), "{}", r.status());
    let r = c.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the server keeps answering");

    // Back, empty: the old cookie is nobody's; signing in again works.
    let _redis = start_redis().await;
    let mut signed_in = false;
    for _ in 0..50 {
        let r = c
            .post(format!("{base}{}", app::auth::Login::PATH))
            .form(&[("email", "closed@example.com"), ("password", PW)])
            .send()
            .await
            .unwrap();
        if r.status().is_success() {
            signed_in = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(signed_in, "no sign-in after Redis came back");
    let (ok, body) = me(&c).await;
    assert!(ok && body.contains("closed@example.com"), "{body}");
}

/// Two server nodes on one PostgreSQL database and one Redis: a login made through one is
/// a login on the other, and the Redis record expires on its own.
#[tokio::test]
async fn two_nodes_share_logins_through_redis() {
    let redis =
        std::env::var("REFRAIN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let dir = tempfile::tempdir().unwrap();
    let mut config = Backend::Postgres.config(&dir.path().join("data")).await;
    config.redis.url = Some(redis);
    config.events.embedded_worker = false;
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let core = Core::init(config.clone()).await.unwrap();
        assert!(matches!(
            core.sessions,
            backend::auth::SessionBackend::Redis(_)
        ));
        nodes.push((serve(&core).await, core));
    }
    let (a, b) = (&nodes[0].0, &nodes[1].0);
    let c = client();
    let r = c
        .post(format!("{a}{}", app::auth::Signup::PATH))
        .form(&[("email", "nodes@example.com"), ("password", PW)])
        .send()
        .await
        .unwrap();
    let cookie = session_cookie(&r).unwrap();
    let me: Option<app::auth::UserInfo> = c
        .post(format!("{b}{}", app::auth::CurrentUser::PATH))
        .send()
        .await
        .unwrap()
        .wire()
        .await
        .unwrap();
    assert_eq!(me.unwrap().email, "nodes@example.com");

    // The record carries the session's expiry as its Redis TTL.
    let id: tower_sessions::session::Id = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("refrain=")
        .parse()
        .unwrap();
    let backend::auth::SessionBackend::Redis(store) = &nodes[0].1.sessions else {
        unreachable!()
    };
    let ttl = store.ttl(&id).await.unwrap();
    assert!(
        ttl > 0 && ttl <= nodes[0].1.config.auth.session_ttl_secs,
        "ttl {ttl}"
    );

    // Logging out through node B ends the session on node A too.
    c.post(format!("{b}{}", app::auth::Logout::PATH))
        .send()
        .await
        .unwrap();
    let me: Option<app::auth::UserInfo> = c
        .post(format!("{a}{}", app::auth::CurrentUser::PATH))
        .send()
        .await
        .unwrap()
        .wire()
        .await
        .unwrap();
    assert!(me.is_none());
    assert_eq!(store.ttl(&id).await.unwrap(), -2, "record deleted");
}
