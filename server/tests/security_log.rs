//! The logs of a real run keep secrets out and security events in: a `refrain` process
//! (embedded default, JSON logs, debug level for Refrain's own crates) is signed up to,
//! streams a track with its signed URL, is called over `/rest` with an API key, an app
//! password as `p=` (clear and `enc:`) and as `t`+`s`, and with wrong ones, and has a
//! password reset link redeemed. Nothing it printed may contain any of those secrets, and
//! each sign-in attempt, refused credential, key made and the redeemed link is one
//! structured security event.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use backend::testing::{Backend, Proc, env_of, free_port, link_token, queued_emails};
use common::Wire;
use server_fn::ServerFn;
use std::time::{Duration, Instant};

const SERVER: &str = env!("CARGO_BIN_EXE_refrain");
const PW: &str = "violet-harbour-87";
const NEW_PW: &str = "copper-meadow-55";
const EMAIL: &str = "logged@example.com";

/// The JSON log lines of kind `security` (a security event) with every `field: value`.
fn events<'a>(lines: &'a [String], fields: &[(&str, &str)]) -> Vec<&'a String> {
    lines
        .iter()
        .filter(|l| {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(l) else {
                return false;
            };
            let f = &v["fields"];
            v["target"] == "refrain::security"
                && fields.iter().all(|(k, want)| f[*k].as_str() == Some(want))
        })
        .collect()
}

#[tokio::test]
async fn secrets_stay_out_of_the_logs_and_security_events_are_in() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Backend::Sqlite.config(&dir.path().join("data")).await;
    config.server.public_url = Some("https://music.example".into());
    let core = backend::Core::init(config.clone()).await.unwrap();
    let port = free_port();
    let mut env = env_of(&config);
    env.extend([
        ("REFRAIN_PORT".to_string(), port.to_string()),
        ("REFRAIN_LOG_FORMAT".to_string(), "json".to_string()),
        (
            "REFRAIN_PUBLIC_URL".to_string(),
            "https://music.example".to_string(),
        ),
    ]);
    let mut server = Proc::spawn_logging(
        SERVER,
        &["serve"],
        &env,
        "info,backend=debug,server=debug,app=debug,worker=debug,tower_http=debug,sqlx=warn",
    );
    let base = format!("http://127.0.0.1:{port}");
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while c.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the server never answered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let call = |path: &'static str, form: Vec<(&'static str, String)>| {
        let c = c.clone();
        let url = format!("{base}{path}");
        async move { c.post(url).form(&form).send().await.unwrap() }
    };
    let r = call(
        app::auth::Signup::PATH,
        vec![("email", EMAIL.into()), ("password", PW.into())],
    )
    .await;
    assert!(r.status().is_success(), "signup: {}", r.status());

    // A wrong password on the sign-in page.
    let r = call(
        app::auth::Login::PATH,
        vec![
            ("email", EMAIL.into()),
            ("password", "not-my-password-1".into()),
        ],
    )
    .await;
    assert!(!r.status().is_success());
    // And the right one.
    let r = call(
        app::auth::Login::PATH,
        vec![("email", EMAIL.into()), ("password", PW.into())],
    )
    .await;
    assert!(r.status().is_success(), "login: {}", r.status());

    // A track, streamed through its signed URL.
    let r = c
        .post(format!("{base}/api/uploads?filename=logged.mp3"))
        .body(backend::testing::sine_mp3(3, &[("title", "Logged")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let deadline = Instant::now() + Duration::from_secs(60);
    let info: app::model::StreamInfo = loop {
        let tracks: Vec<app::model::TrackItem> = call(app::library::ListTracks::PATH, vec![])
            .await
            .wire()
            .await
            .unwrap();
        if let Some(t) = tracks.first() {
            let r = call(
                app::player::api::StreamTrack::PATH,
                vec![("track_id", t.id.clone())],
            )
            .await;
            if r.status().is_success() {
                break r.wire().await.unwrap();
            }
        }
        assert!(Instant::now() < deadline, "the upload was never imported");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let stream_url = format!("{base}{}", info.url);
    let stream_token = url::Url::parse(&stream_url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "t")
        .map(|(_, v)| v.into_owned())
        .expect("a signed stream URL carries a token");
    let r = c.get(&stream_url).send().await.unwrap();
    assert!(r.status().is_success(), "stream: {}", r.status());
    assert!(!r.bytes().await.unwrap().is_empty());

    // An API key and an app password, used over /rest every way there is.
    let mut made = Vec::new();
    for kind in ["api_key", "app_password"] {
        let k: app::appkeys::NewAppKey = call(
            app::appkeys::CreateAppKey::PATH,
            vec![
                ("name", format!("My {kind}")),
                ("kind", kind.into()),
                ("password", PW.into()),
            ],
        )
        .await
        .wire()
        .await
        .unwrap();
        made.push(k.secret);
    }
    let (api_key, app_password) = (made[0].clone(), made[1].clone());
    let salt = "5a1tf0r10g5";
    let token = backend::subsonic::keys::subsonic_token(&app_password, salt);
    let hex: String = app_password.bytes().map(|b| format!("{b:02x}")).collect();
    let enc = format!("enc:{hex}");
    let rest = |method: &'static str, auth: Vec<(&'static str, String)>| {
        let url = format!("{base}/rest/{method}");
        async move {
            let r = reqwest::Client::new()
                .get(url)
                .query(&auth)
                .query(&[("v", "1.16.1"), ("c", "logtest"), ("f", "json")])
                .send()
                .await
                .unwrap();
            let status = r.status();
            (status, r.bytes().await.unwrap())
        }
    };
    let ok = |body: &[u8]| {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        v["subsonic-response"]["status"] == "ok"
    };
    let (_, body) = rest("ping", vec![("apiKey", api_key.clone())]).await;
    assert!(ok(&body), "apiKey: {}", String::from_utf8_lossy(&body));
    let (_, body) = rest(
        "ping",
        vec![("u", EMAIL.into()), ("p", app_password.clone())],
    )
    .await;
    assert!(ok(&body), "p=: {}", String::from_utf8_lossy(&body));
    let (_, body) = rest("ping", vec![("u", EMAIL.into()), ("p", enc.clone())]).await;
    assert!(ok(&body), "p=enc: {}", String::from_utf8_lossy(&body));
    let (_, body) = rest(
        "ping",
        vec![
            ("u", EMAIL.into()),
            ("t", token.clone()),
            ("s", salt.into()),
        ],
    )
    .await;
    assert!(ok(&body), "t+s: {}", String::from_utf8_lossy(&body));
    let songs = rest(
        "search3",
        vec![("apiKey", api_key.clone()), ("query", "Logged".into())],
    )
    .await
    .1;
    let songs: serde_json::Value = serde_json::from_slice(&songs).unwrap();
    let song_id = songs["subsonic-response"]["searchResult3"]["song"][0]["id"]
        .as_str()
        .expect("search3 finds the track")
        .to_string();
    let r = reqwest::Client::new()
        .get(format!("{base}/rest/stream"))
        .query(&[("apiKey", api_key.as_str()), ("id", &song_id)])
        .query(&[("v", "1.16.1"), ("c", "logtest")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "rest stream: {}", r.status());
    // Wrong ones: each refused, and each an event.
    let wrong_key = "rfk_0000000000000000000000000000000000000000000";
    let wrong_password = "wrong1-wrong2-wrong3-wrong4";
    let (_, body) = rest("ping", vec![("apiKey", wrong_key.into())]).await;
    assert!(!ok(&body));
    let (_, body) = rest(
        "ping",
        vec![("u", EMAIL.into()), ("p", wrong_password.into())],
    )
    .await;
    assert!(!ok(&body));

    // A password reset, from the link in the email.
    let r = call(
        app::auth::RequestPasswordReset::PATH,
        vec![("email", EMAIL.into())],
    )
    .await;
    assert!(r.status().is_success(), "reset request: {}", r.status());
    let deadline = Instant::now() + Duration::from_secs(30);
    let reset_token = loop {
        let found = queued_emails(&core.db)
            .await
            .iter()
            .find_map(|m| link_token(&m.text, "/reset-password"));
        if let Some(t) = found {
            break t;
        }
        assert!(Instant::now() < deadline, "no reset email was queued");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let r = call(
        app::auth::ResetPassword::PATH,
        vec![("token", reset_token.clone()), ("password", NEW_PW.into())],
    )
    .await;
    assert!(r.status().is_success(), "reset: {}", r.status());

    let lines = server
        .lines_through("password reset by email", Duration::from_secs(30))
        .await
        .to_vec();
    assert!(lines.len() > 20, "too few log lines to mean anything");
    let secrets = [
        ("the account password", PW.to_string()),
        ("the new password", NEW_PW.to_string()),
        ("the wrong password", "not-my-password-1".to_string()),
        ("the stream token", stream_token),
        ("the API key", api_key),
        ("the app password", app_password),
        ("the app password, hex-encoded", enc[4..].to_string()),
        ("the Subsonic token t", token),
        ("the wrong API key", wrong_key.to_string()),
        ("the wrong app password", wrong_password.to_string()),
        ("the reset link's token", reset_token),
    ];
    for line in &lines {
        for (what, secret) in &secrets {
            assert!(
                !line.contains(secret.as_str()),
                "{what} reached the logs: {line}"
            );
        }
    }

    // The security events, one per attempt and key.
    let count = |fields: &[(&str, &str)]| events(&lines, fields).len();
    assert_eq!(
        count(&[
            ("security", "sign_in"),
            ("pathway", "web"),
            ("outcome", "refused")
        ]),
        1,
        "the wrong password"
    );
    assert_eq!(
        count(&[
            ("security", "sign_in"),
            ("pathway", "web"),
            ("outcome", "success")
        ]),
        1,
        "the right password"
    );
    for (factor, outcome) in [
        ("api_key", "success"),
        ("app_password", "success"),
        ("api_key", "refused"),
        ("app_password", "refused"),
    ] {
        assert!(
            count(&[
                ("security", "sign_in"),
                ("pathway", "subsonic"),
                ("factor", factor),
                ("outcome", outcome),
            ]) >= 1,
            "no /rest {factor} {outcome} event"
        );
    }
    assert_eq!(count(&[("security", "key_made"), ("kind", "api_key")]), 1);
    assert_eq!(
        count(&[("security", "key_made"), ("kind", "app_password")]),
        1
    );
    assert_eq!(
        count(&[
            ("security", "sign_in"),
            ("pathway", "reset_link"),
            ("outcome", "success"),
        ]),
        1
    );
    // The reset ended the keys, and said so.
    assert!(
        count(&[
            ("security", "key_revoked"),
            ("why", "password reset by email")
        ]) >= 1
    );
    // Every event names its account (a user id, or "unknown") and, where a request made
    // it, the client.
    let refused = events(&lines, &[("security", "sign_in"), ("outcome", "refused")]);
    for l in refused {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(v["fields"]["account"].is_string(), "{l}");
        assert_ne!(v["fields"]["client"], "-", "{l}");
    }
    server.kill().await;
}
