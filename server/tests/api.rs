//! The `/api/v1` HTTP API on the real router: the token endpoint, bearer access, refresh
//! rotation and reuse, JWT attacks at the door, the JWKS and the OpenAPI document; the
//! Settings password form ending API tokens and Subsonic app keys when its box is ticked.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::testing::Backend;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

mod common;
use common::*;

async fn token(srv: &Srv, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/api/v1/auth/token", srv.base))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn password_grant(srv: &Srv, email: &str) -> Value {
    let r = token(
        srv,
        json!({"grant_type": "password", "email": email, "password": PW}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    r.json().await.unwrap()
}

async fn get_with(srv: &Srv, path: &str, bearer: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}{path}", srv.base))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap()
}

async fn error_code(r: reqwest::Response) -> String {
    let v: Value = r.json().await.unwrap();
    v["error"].as_str().unwrap().to_string()
}

async fn a_client_logs_in_lists_tracks_and_streams_with_a_bearer_token(b: Backend) {
    let srv = start(b, 1 << 24).await;
    let browser = client();
    let (track_id, _, bytes) = with_track(&srv, &browser, "app@example.com").await;

    let pair = password_grant(&srv, "app@example.com").await;
    assert_eq!(pair["token_type"], "Bearer");
    assert_eq!(pair["expires_in"], 900);
    let access = pair["access_token"].as_str().unwrap();

    let me: Value = get_with(&srv, "/api/v1/me", access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "app@example.com");
    assert_eq!(me["role"], "admin");

    let tracks: Value = get_with(&srv, "/api/v1/tracks", access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tracks[0]["id"], track_id.as_str());
    assert_eq!(tracks[0]["title"], "Range Test");

    let info: Value = get_with(&srv, &format!("/api/v1/tracks/{track_id}/stream"), access)
        .await
        .json()
        .await
        .unwrap();
    let url = format!("{}{}", srv.base, info["url"].as_str().unwrap());
    let audio = reqwest::get(&url).await.unwrap();
    assert_eq!(audio.status(), StatusCode::OK);
    assert_eq!(audio.bytes().await.unwrap().len() as u64, bytes);

    // Form-encoded works as well (what OAuth client libraries send).
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/token", srv.base))
        .form(&[
            ("grant_type", "password"),
            ("email", "app@example.com"),
            ("password", PW),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Someone else's track is "not found", not a stream URL.
    let other = client();
    signup(&other, &srv, "other@example.com").await;
    let theirs = password_grant(&srv, "other@example.com").await;
    let r = get_with(
        &srv,
        &format!("/api/v1/tracks/{track_id}/stream"),
        theirs["access_token"].as_str().unwrap(),
    )
    .await;
    // The admin's uploads are the shared catalog: visible to the other account too.
    assert_eq!(r.status(), StatusCode::OK);
    let r = get_with(
        &srv,
        "/api/v1/tracks/no-such-track/stream",
        theirs["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

async fn bad_requests_get_oauth_style_errors(b: Backend) {
    let srv = start(b, 1 << 20).await;
    signup(&client(), &srv, "errors@example.com").await;
    let r = token(
        &srv,
        json!({"grant_type": "password", "email": "errors@example.com", "password": "nope-nope-nope"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r).await, "invalid_grant");
    let r = token(&srv, json!({"grant_type": "client_credentials"})).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r).await, "invalid_request");
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/token", srv.base))
        .body("grant_type=password")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Oversized bodies are refused before parsing.
    let r = token(
        &srv,
        json!({"grant_type": "password", "email": "errors@example.com", "password": "x".repeat(64 * 1024)}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // No token, a malformed header: 401 with a WWW-Authenticate challenge.
    let r = reqwest::get(format!("{}/api/v1/me", srv.base))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let r = get_with(&srv, "/api/v1/me", "garbage").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(r).await, "invalid_token");
}

async fn two_factor_accounts_need_a_code_at_the_token_endpoint(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let user = backend::auth::signup(&srv.core, "mfa@example.com", PW)
        .await
        .unwrap();
    let secret = turn_on_two_factor(&srv.core, &user).await;
    let now = u64::try_from(backend::now_ms() / 1000).unwrap();
    let r = token(
        &srv,
        json!({"grant_type": "password", "email": "mfa@example.com", "password": PW}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(r).await, "mfa_required");
    let code = backend::auth::totp::code(&secret, now + backend::auth::totp::STEP);
    let r = token(
        &srv,
        json!({"grant_type": "password", "email": "mfa@example.com", "password": PW, "code": code}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
}

async fn repeated_failures_at_the_token_endpoint_get_429(b: Backend) {
    let srv = start(b, 1 << 20).await;
    signup(&client(), &srv, "slow@example.com").await;
    let mut last = StatusCode::OK;
    for _ in 0..7 {
        last = token(
            &srv,
            json!({"grant_type": "password", "email": "slow@example.com", "password": "wrong-wrong-wrong"}),
        )
        .await
        .status();
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    let r = token(
        &srv,
        json!({"grant_type": "password", "email": "slow@example.com", "password": PW}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1);
    assert_eq!(error_code(r).await, "slow_down");
}

async fn a_reused_refresh_token_ends_the_login_for_everyone_holding_it(b: Backend) {
    let srv = start(b, 1 << 20).await;
    signup(&client(), &srv, "refresh@example.com").await;
    let first = password_grant(&srv, "refresh@example.com").await;
    let r = token(
        &srv,
        json!({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let second: Value = r.json().await.unwrap();
    let access = second["access_token"].as_str().unwrap();
    assert_eq!(
        get_with(&srv, "/api/v1/me", access).await.status(),
        StatusCode::OK
    );
    // The stolen first token is replayed.
    let r = token(
        &srv,
        json!({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r).await, "invalid_grant");
    assert_eq!(
        get_with(&srv, "/api/v1/me", access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let r = token(
        &srv,
        json!({"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Revocation (logout) ends a login too.
    let pair = password_grant(&srv, "refresh@example.com").await;
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/revoke", srv.base))
        .json(&json!({"refresh_token": pair["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        get_with(&srv, "/api/v1/me", pair["access_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

/// Whether a Subsonic app's API key still answers `ok` at `/rest/ping`.
async fn key_answers_ok(srv: &Srv, key: &str) -> bool {
    let v: Value = reqwest::Client::new()
        .get(format!("{}/rest/ping", srv.base))
        .query(&[
            ("apiKey", key),
            ("v", "1.16.1"),
            ("c", "test"),
            ("f", "json"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["subsonic-response"]["status"] == "ok"
}

/// Signs up in a browser, makes an API key for a Subsonic app and logs an API client in.
async fn with_app_and_api_client(srv: &Srv, email: &str) -> (reqwest::Client, String, Value) {
    let browser = client();
    signup(&browser, srv, email).await;
    let backend::auth::LoginStep::Done(user) =
        backend::auth::login(&srv.core, email, PW, std::net::Ipv4Addr::LOCALHOST.into())
            .await
            .unwrap()
    else {
        panic!("two-factor is off");
    };
    let key = backend::subsonic::keys::create(
        &srv.core,
        &user,
        "Phone",
        backend::subsonic::keys::KeyKind::ApiKey,
        PW,
    )
    .await
    .unwrap()
    .secret;
    assert!(key_answers_ok(srv, &key).await);
    (browser, key, password_grant(srv, email).await)
}

async fn the_settings_password_form_signs_out_apps_when_its_box_is_ticked(b: Backend) {
    use server_fn::ServerFn;
    let srv = start(b, 1 << 20).await;
    let path = app::auth::security::ChangePassword::PATH;
    // Ticked (as the form comes): the app's key and the API client's tokens end.
    let (browser, key, pair) = with_app_and_api_client(&srv, "ticked@example.com").await;
    let r = call(
        &browser,
        &srv,
        path,
        &[
            ("current", PW),
            ("new", "copper-meadow-55"),
            ("sign_out_apps", "true"),
        ],
    )
    .await;
    assert!(r.status().is_success(), "{}", r.status());
    assert!(!key_answers_ok(&srv, &key).await, "the API key still works");
    let r = token(
        &srv,
        json!({"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Unticked (the box sends nothing): the app keeps its key.
    let (browser, key, _) = with_app_and_api_client(&srv, "unticked@example.com").await;
    let r = call(
        &browser,
        &srv,
        path,
        &[("current", PW), ("new", "copper-meadow-55")],
    )
    .await;
    assert!(r.status().is_success(), "{}", r.status());
    assert!(key_answers_ok(&srv, &key).await);
}

async fn stream_tokens_and_access_tokens_never_stand_in_for_each_other(b: Backend) {
    let srv = start(b, 1 << 24).await;
    let browser = client();
    let (track_id, url, _) = with_track(&srv, &browser, "kinds@example.com").await;
    let pair = password_grant(&srv, "kinds@example.com").await;
    let access = pair["access_token"].as_str().unwrap();
    let stream_token = url.split("t=").nth(1).unwrap();
    // A stream token as a bearer token.
    let r = get_with(&srv, "/api/v1/me", stream_token).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // An access token as a stream token.
    let r = reqwest::get(format!("{}/stream/{track_id}?t={access}", srv.base))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A browser session cookie is no bearer token: the API ignores cookies.
    let r = browser
        .get(format!("{}/api/v1/me", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn forged_tokens_are_refused_at_the_door(b: Backend) {
    let srv = start(b, 1 << 20).await;
    signup(&client(), &srv, "forged@example.com").await;
    let pair = password_grant(&srv, "forged@example.com").await;
    let access = pair["access_token"].as_str().unwrap();
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = access.split('.').collect();
    let header: Value = serde_json::from_slice(&e.decode(parts[0]).unwrap()).unwrap();
    let jwks: Value = reqwest::get(format!("{}/.well-known/jwks.json", srv.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let x = jwks["keys"][0]["x"].as_str().unwrap();
    assert_eq!(jwks["keys"][0]["kid"], header["kid"]);

    // alg none with the genuine claims.
    let none = format!(
        "{}.{}.",
        e.encode(format!(
            r#"{{"alg":"none","typ":"at+jwt","kid":{}}}"#,
            header["kid"]
        )),
        parts[1]
    );
    // HS256 signed with the published public key.
    let claims: Value = serde_json::from_slice(&e.decode(parts[1]).unwrap()).unwrap();
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    h.kid = header["kid"].as_str().map(String::from);
    h.typ = Some("at+jwt".into());
    let hs = jsonwebtoken::encode(
        &h,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&e.decode(x).unwrap()),
    )
    .unwrap();
    // A genuine signature with another sub pasted in.
    let mut other = claims.clone();
    other["sub"] = "someone-else".into();
    let pasted = format!(
        "{}.{}.{}",
        parts[0],
        e.encode(serde_json::to_vec(&other).unwrap()),
        parts[2]
    );
    for forged in [none, hs, pasted] {
        let r = get_with(&srv, "/api/v1/me", &forged).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{forged}");
    }
    assert_eq!(
        get_with(&srv, "/api/v1/me", access).await.status(),
        StatusCode::OK
    );
}

async fn jwks_and_openapi_describe_the_api(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let r = reqwest::get(format!("{}/.well-known/jwks.json", srv.base))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/jwk-set+json");
    let jwks: Value = r.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    for k in keys {
        let mut fields: Vec<&str> = k.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["alg", "crv", "kid", "kty", "use", "x"]);
    }
    // The API key only: the stream key is not published.
    let stream_kid = srv.core.keys.stream.signing_kid().await.unwrap();
    assert!(keys.iter().all(|k| k["kid"] != stream_kid.as_str()));

    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", srv.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/auth/token",
        "/api/v1/auth/revoke",
        "/api/v1/me",
        "/api/v1/tracks",
        "/api/v1/tracks/{track_id}/stream",
        "/.well-known/jwks.json",
    ] {
        assert!(paths.contains_key(p), "{p} is not documented");
    }
    // Every documented operation is routed: none answers 404 or 405.
    let c = reqwest::Client::new();
    for (path, ops) in paths {
        let url = format!("{}{}", srv.base, path.replace("{track_id}", "x"));
        for method in ops.as_object().unwrap().keys() {
            let r = match method.as_str() {
                "get" => c.get(&url).send().await.unwrap(),
                "post" => c.post(&url).json(&json!({})).send().await.unwrap(),
                other => panic!("unexpected method {other}"),
            };
            assert!(
                r.status() != StatusCode::NOT_FOUND && r.status() != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}: {}",
                r.status()
            );
        }
    }
    // Every $ref points at something that exists.
    let text = server::OPENAPI;
    for piece in text.split("\"$ref\": \"#/").skip(1) {
        let target = piece.split('"').next().unwrap();
        let mut node = &doc;
        for seg in target.split('/') {
            node = &node[seg];
        }
        assert!(!node.is_null(), "dangling $ref {target}");
    }
}

async fn a_cross_site_post_to_the_token_endpoint_is_refused(b: Backend) {
    let srv = start(b, 1 << 20).await;
    signup(&client(), &srv, "csrf-api@example.com").await;
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/token", srv.base))
        .header("sec-fetch-site", "cross-site")
        .form(&[
            ("grant_type", "password"),
            ("email", "csrf-api@example.com"),
            ("password", PW),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

async fn a_listeners_personal_track_stays_hidden_from_other_api_clients(b: Backend) {
    let srv = start(b, 1 << 24).await;
    signup(&client(), &srv, "root@example.com").await;
    let (track_id, _, _) = with_track(&srv, &client(), "owner@example.com").await;
    signup(&client(), &srv, "snoop@example.com").await;
    let owner = password_grant(&srv, "owner@example.com").await;
    let snoop = password_grant(&srv, "snoop@example.com").await;
    let mine: Value = get_with(
        &srv,
        "/api/v1/tracks",
        owner["access_token"].as_str().unwrap(),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let theirs: Value = get_with(
        &srv,
        "/api/v1/tracks",
        snoop["access_token"].as_str().unwrap(),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(theirs.as_array().unwrap().is_empty(), "{theirs}");
    let r = get_with(
        &srv,
        &format!("/api/v1/tracks/{track_id}/stream"),
        snoop["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

backend::on_both_databases!(
    a_listeners_personal_track_stays_hidden_from_other_api_clients,
    a_client_logs_in_lists_tracks_and_streams_with_a_bearer_token,
    bad_requests_get_oauth_style_errors,
    two_factor_accounts_need_a_code_at_the_token_endpoint,
    repeated_failures_at_the_token_endpoint_get_429,
    a_reused_refresh_token_ends_the_login_for_everyone_holding_it,
    the_settings_password_form_signs_out_apps_when_its_box_is_ticked,
    stream_tokens_and_access_tokens_never_stand_in_for_each_other,
    forged_tokens_are_refused_at_the_door,
    jwks_and_openapi_describe_the_api,
    a_cross_site_post_to_the_token_endpoint_is_refused,
);
