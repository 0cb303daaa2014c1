//! Password guessing: throttled by address, known and unknown accounts refused alike.

use crate::common::*;
use crate::{error_code, rest, user_with_key};
use backend::testing::Backend;
use reqwest::StatusCode;
use serde_json::Value;
use server_fn::ServerFn;

async fn repeated_failures_are_throttled(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let (_, app_pw) = user_with_key(&srv, "guess@example.com", "app_password").await;
    let mut throttled = None;
    // Counted per client address (see backend::subsonic::keys), which has more free tries
    // than an account.
    for i in 0..=2 * backend::auth::throttle::ADDRESS_FREE {
        let r = reqwest::get(format!(
            "{}/rest/ping?u=guess@example.com&p=wrong{i}&f=json",
            srv.base
        ))
        .await
        .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some(r);
            break;
        }
    }
    let r = throttled.expect("failures are slowed down");
    assert!(r.headers().contains_key("retry-after"));
    // Even the right password waits now.
    let (status, _) = rest(&srv, "ping", &[("u", "guess@example.com"), ("p", &app_pw)]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// Matrix row 2: a wrong password for a real account and any password for an unknown one
/// get the same status and the very same body, on every pathway that takes a password or
/// an app password: the sign-in form (a server function), the API's password grant and
/// `/rest` (in both of its formats).
async fn unknown_and_known_accounts_are_refused_alike_everywhere(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let (_, app_pw) = user_with_key(&srv, "known@example.com", "app_password").await;
    assert_ne!(app_pw, "wrong-guess-123");
    let answer =
        |r: reqwest::Response| async move { (r.status(), r.bytes().await.unwrap().to_vec()) };
    let web = |email: &'static str| {
        let srv = &srv;
        async move {
            call(
                &client(),
                srv,
                app::auth::Login::PATH,
                &[("email", email), ("password", "wrong-guess-123")],
            )
            .await
        }
    };
    let (known, unknown) = (
        answer(web("known@example.com").await).await,
        answer(web("unknown@example.com").await).await,
    );
    assert_eq!(known.0, StatusCode::BAD_REQUEST);
    assert_eq!(known, unknown, "the sign-in form tells the accounts apart");

    let grant = |email: &'static str| {
        let url = format!("{}/api/v1/auth/token", srv.base);
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&serde_json::json!({
                    "grant_type": "password", "email": email, "password": "wrong-guess-123"
                }))
                .send()
                .await
                .unwrap()
        }
    };
    let (known, unknown) = (
        answer(grant("known@example.com").await).await,
        answer(grant("unknown@example.com").await).await,
    );
    assert!(known.0.is_client_error(), "{:?}", known.0);
    assert_eq!(
        known, unknown,
        "the token endpoint tells the accounts apart"
    );

    for f in ["json", "xml"] {
        let rest = |u: &'static str| {
            let url = format!("{}/rest/ping", srv.base);
            async move {
                reqwest::Client::new()
                    .get(url)
                    .query(&[("u", u), ("p", "wrong-guess-123"), ("f", f)])
                    .query(&[("v", "1.16.1"), ("c", "test")])
                    .send()
                    .await
                    .unwrap()
            }
        };
        let (known, unknown) = (
            answer(rest("known@example.com").await).await,
            answer(rest("unknown@example.com").await).await,
        );
        assert_eq!(known.0, StatusCode::OK);
        assert!(String::from_utf8_lossy(&known.1).contains("40"), "{f}");
        assert_eq!(known, unknown, "/rest ({f}) tells the accounts apart");
    }
}

/// Matrix row 2 at `/rest`: 101 wrong app passwords for one account, each claiming another
/// client address in `X-Forwarded-For`, from a peer that is no trusted proxy (none is
/// configured): the header is ignored, so the guesses all count against the peer's own
/// address, which is slowed down (429 with `Retry-After`) long before the 100th; even the
/// right app password, under yet another claimed address, then waits. The same at the
/// sign-in form (here rather than in the http suite, beside its `/rest` twin).
async fn spoofed_forwarded_for_does_not_spread_guesses(b: Backend) {
    let srv = start(b, 1 << 20).await;
    assert!(
        !srv.core
            .config
            .server
            .trusted_proxies
            .contains(&std::net::IpAddr::from([127, 0, 0, 1]))
    );
    let (_, app_pw) = user_with_key(&srv, "spoofed@example.com", "app_password").await;
    let ping = |password: String, claimed: String| {
        let url = format!("{}/rest/ping", srv.base);
        async move {
            reqwest::Client::new()
                .get(url)
                .header("x-forwarded-for", claimed)
                .query(&[
                    ("u", "spoofed@example.com"),
                    ("p", &password),
                    ("f", "json"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let mut first_throttled = None;
    for i in 0..101u8 {
        let r = ping(format!("wrong-{i}"), format!("198.51.100.{i}")).await;
        match r.status() {
            StatusCode::OK => {
                let v: Value = r.json().await.unwrap();
                assert_eq!(error_code(&v["subsonic-response"]), 40, "attempt {i}");
            }
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(r.headers().contains_key("retry-after"));
                first_throttled.get_or_insert(i);
            }
            other => panic!("attempt {i}: {other}"),
        }
    }
    let free = u8::try_from(backend::auth::throttle::ADDRESS_FREE).unwrap();
    assert!(
        first_throttled.is_some_and(|i| i >= free && i < 100),
        "first throttled at {first_throttled:?}"
    );
    let r = ping(app_pw, "203.0.113.200".into()).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);

    // The sign-in form likewise, from a clean slate: 101 wrong passwords for one account
    // under rotating claimed addresses are slowed down (429) before the 100th.
    sqlx::query("DELETE FROM auth_throttle")
        .execute(&srv.core.db)
        .await
        .unwrap();
    let mut first_throttled = None;
    for i in 0..101u8 {
        let r = client()
            .post(format!("{}{}", srv.base, app::auth::Login::PATH))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .form(&[
                ("email", "spoofed@example.com"),
                ("password", "wrong-guess-123"),
            ])
            .send()
            .await
            .unwrap();
        match r.status() {
            StatusCode::BAD_REQUEST => {}
            StatusCode::TOO_MANY_REQUESTS => {
                first_throttled.get_or_insert(i);
            }
            other => panic!("sign-in attempt {i}: {other}"),
        }
    }
    assert!(
        first_throttled.is_some_and(|i| i < 100),
        "sign-in form: first throttled at {first_throttled:?}"
    );
    // On both pathways every failure was counted against the peer, none against a claimed
    // address.
    let claimed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM auth_throttle WHERE key LIKE 'addr:198.51.100.%' OR key LIKE 'addr:203.0.113.%'",
    )
    .fetch_one(&srv.core.db)
    .await
    .unwrap();
    assert_eq!(claimed, 0);
    let peer: i64 = sqlx::query_scalar("SELECT failures FROM auth_throttle WHERE key = $1")
        .bind("addr:127.0.0.1")
        .fetch_one(&srv.core.db)
        .await
        .unwrap();
    assert!(peer > 0);
}

backend::on_both_databases!(
    unknown_and_known_accounts_are_refused_alike_everywhere,
    spoofed_forwarded_for_does_not_spread_guesses,
    repeated_failures_are_throttled,
);
