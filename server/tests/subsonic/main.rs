//! The OpenSubsonic API (`/rest`) on the real router: app keys made in Settings, every
//! authentication mode and its refusals, both formats, form posts, and the system
//! methods, each answer checked against the spec's response schema (`common::subsonic`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::StatusCode;
use serde_json::Value;
use server_fn::ServerFn;

#[path = "../common/mod.rs"]
mod common;
use common::subsonic as schema;
use common::*;

mod auth;
mod browsing;
mod guessing;
mod media;
mod playlists;
mod streaming;

/// Signs up `email` and makes a key of `kind` (`api_key` or `app_password`) in Settings;
/// returns the client and the secret.
async fn user_with_key(srv: &Srv, email: &str, kind: &str) -> (reqwest::Client, String) {
    let c = client();
    signup(&c, srv, email).await;
    let secret = make_key(srv, &c, kind).await;
    (c, secret)
}

async fn make_key(srv: &Srv, c: &reqwest::Client, kind: &str) -> String {
    let made: app::appkeys::NewAppKey = call(
        c,
        srv,
        app::appkeys::CreateAppKey::PATH,
        &[("name", "Phone"), ("kind", kind), ("password", PW)],
    )
    .await
    .wire()
    .await
    .unwrap();
    made.secret
}

/// GETs `/rest/<method>` with `params` plus `f=json`; the answer's `subsonic-response`.
/// A method that changes nothing is asked again for XML, which must carry the same tree
/// (`schema::xml_matches_json`): so every read answer the tests check field by field in
/// JSON is checked in XML too.
async fn rest(srv: &Srv, method: &str, params: &[(&str, &str)]) -> (StatusCode, Value) {
    let get = |format: Option<&'static str>| {
        let f: Vec<(&str, &str)> = format.map(|f| ("f", f)).into_iter().collect();
        reqwest::Client::new()
            .get(format!("{}/rest/{method}", srv.base))
            .query(params)
            .query(&[("v", "1.16.1"), ("c", "test")])
            .query(&f)
            .send()
    };
    let r = get(Some("json")).await.unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    schema::envelope(&v);
    let answer = v["subsonic-response"].clone();
    // Successful reads only (a refused call asked twice would count twice against the
    // throttle), and not those whose second answer can differ from the first: random
    // picks, what is playing (its minutes), a scan in progress.
    let read_only = ["get", "search", "ping", "tokenInfo"]
        .iter()
        .any(|p| method.starts_with(p));
    let varies = ["getRandomSongs", "getNowPlaying", "getScanStatus"].contains(&method)
        || params.iter().any(|(k, v)| *k == "type" && *v == "random");
    if read_only && !varies && answer["status"] == "ok" {
        let xml = get(None).await.unwrap();
        assert_eq!(xml.status(), status, "{method}: XML answered otherwise");
        schema::xml_matches_json(&xml.text().await.unwrap(), &answer);
    }
    (status, answer)
}

fn error_code(r: &Value) -> i64 {
    assert_eq!(r["status"], "failed", "{r}");
    r["error"]["code"].as_i64().unwrap()
}

/// Uploads a tone with `tags` as the client's user and imports it.
async fn upload(srv: &Srv, c: &reqwest::Client, name: &str, tags: &[(&str, &str)]) {
    let r = c
        .post(format!("{}/api/uploads?filename={name}", srv.base))
        .body(backend::testing::sine_mp3(3, tags))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    worker::dispatch::drain(&srv.core).await.unwrap();
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}
