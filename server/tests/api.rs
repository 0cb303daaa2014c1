//! The `/api/v1` HTTP API on the real router: the token endpoint, bearer access, refresh
//! rotation, reuse and expiry, JWT attacks at the door (no key fetched from where a header
//! points), the JWKS and the OpenAPI document; signed stream URLs bound to their user,
//! track, expiry and live account; the Settings password form ending API tokens and
//! Subsonic app keys when its box is ticked.

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
    let path = app::settings::ChangePassword::PATH;
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
    let mut forged = vec![none, hs, pasted];
    // The genuine signature under another header: RS256, Ed448, key ids this server never
    // made (unknown, a path, SQL).
    let reheadered = |fields: Value| {
        let mut h = header.clone();
        for (k, v) in fields.as_object().unwrap() {
            h[k] = v.clone();
        }
        format!(
            "{}.{}.{}",
            e.encode(serde_json::to_vec(&h).unwrap()),
            parts[1],
            parts[2]
        )
    };
    for fields in [
        json!({"alg": "RS256"}),
        json!({"alg": "Ed448"}),
        json!({"kid": "0123456789abcdef"}),
        json!({"kid": "../../x"}),
        json!({"kid": "' OR 1=1"}),
    ] {
        forged.push(reheadered(fields));
    }
    // Signed with an attacker's Ed25519 key (RFC 8037 A.1's, well known) that a header
    // names by URL (`jku`, `x5u`, at a loopback canary) or carries (`jwk`).
    let canary = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let canary_addr = canary.local_addr().unwrap();
    let (seen, mut accepted) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((_, peer)) = canary.accept().await {
            if seen.send(peer).is_err() {
                break;
            }
        }
    });
    let mut pkcs8 = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    pkcs8.extend(
        e.decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
            .unwrap(),
    );
    let attacker = jsonwebtoken::EncodingKey::from_ed_der(&pkcs8);
    let jwk =
        json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
    for (name, value) in [
        ("jku", json!(format!("http://{canary_addr}/jwks.json"))),
        ("x5u", json!(format!("http://{canary_addr}/cert.pem"))),
        ("jwk", jwk),
    ] {
        for kid in [header["kid"].clone(), json!("feedfacecafebeef")] {
            let mut h = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid});
            h[name] = value.clone();
            let input = format!("{}.{}", e.encode(serde_json::to_vec(&h).unwrap()), parts[1]);
            let sig = jsonwebtoken::crypto::sign(
                input.as_bytes(),
                &attacker,
                jsonwebtoken::Algorithm::EdDSA,
            )
            .unwrap();
            forged.push(format!("{input}.{sig}"));
        }
    }
    for forged in forged {
        let r = get_with(&srv, "/api/v1/me", &forged).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{forged}");
        assert_eq!(error_code(r).await, "invalid_token", "{forged}");
    }
    // Nothing connected to the canary: it is connected to once now, and that connection
    // is the first it accepts (connections are accepted in order).
    let probe = tokio::net::TcpStream::connect(canary_addr).await.unwrap();
    assert_eq!(
        accepted.recv().await,
        Some(probe.local_addr().unwrap()),
        "something fetched a key from where a token header pointed"
    );
    assert_eq!(
        get_with(&srv, "/api/v1/me", access).await.status(),
        StatusCode::OK
    );
}

/// A refresh token past its absolute expiry gets `invalid_grant` (RFC 6749 §5.2 answers
/// 400 at the token endpoint, not 401); within its lifetime the same token works.
async fn a_refresh_token_past_its_absolute_expiry_gets_invalid_grant(b: Backend) {
    let srv = start(b, 1 << 20).await;
    signup(&client(), &srv, "expiry@example.com").await;
    let pair = password_grant(&srv, "expiry@example.com").await;
    let set_expiry = |at: i64| {
        let db = srv.core.db.clone();
        async move {
            sqlx::query("UPDATE refresh_tokens SET expires_at = $1")
                .bind(at)
                .execute(&db)
                .await
                .unwrap()
                .rows_affected()
        }
    };
    assert_eq!(set_expiry(backend::now_ms() - 1000).await, 1);
    let refresh = json!({"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]});
    let r = token(&srv, refresh.clone()).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r).await, "invalid_grant");
    assert_eq!(set_expiry(backend::now_ms() + 60_000).await, 1);
    assert_eq!(token(&srv, refresh).await.status(), StatusCode::OK);
}

/// A signed stream URL plays only its own track, for its own user, until its expiry and
/// while its account is enabled: without a token, with the user, track or expiry edited
/// (not re-signed), on another track of the same user and after the account is disabled
/// it is refused. It lives no longer than the configured TTL (at most 10 minutes).
async fn a_stream_url_is_bound_to_its_user_track_expiry_and_live_account(b: Backend) {
    use backend::playback::token::StreamClaims;
    use server_fn::ServerFn;
    let srv = start(b, 1 << 24).await;
    let admin = backend::auth::signup(&srv.core, "root@example.com", PW)
        .await
        .unwrap();
    let c = client();
    let (track_a, url, _) = with_track(&srv, &c, "hotlink@example.com").await;
    upload(
        &c,
        &srv,
        "second.mp3",
        backend::testing::sine_mp3(8, &[("title", "Second Track")]),
    )
    .await;
    let tracks: Vec<app::model::TrackItem> = call(&c, &srv, app::library::ListTracks::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    let track_b = tracks
        .iter()
        .map(|t| t.id.clone())
        .find(|id| *id != track_a)
        .expect("a second track");

    // Hotlinked: no cookie, only the URL.
    let get = |u: String| async move { reqwest::get(u).await.unwrap().status() };
    assert_eq!(get(url.clone()).await, StatusCode::OK);
    assert_eq!(
        get(format!("{}/stream/{track_a}", srv.base)).await,
        StatusCode::UNAUTHORIZED
    );

    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let token = url.split("t=").nth(1).unwrap().to_string();
    let parts: Vec<&str> = token.split('.').collect();
    let claims = backend::playback::token::verify(&srv.core.keys.stream, &token)
        .await
        .unwrap()
        .unwrap();
    let ttl = srv.core.config.auth.stream_token_ttl_secs;
    assert_eq!(claims.exp - claims.iat, ttl);
    assert!(ttl <= 600, "stream URLs live {ttl} s");

    // Claims edited under the genuine signature: the user, the expiry, the track.
    let edits = [
        StreamClaims {
            sub: admin.id.clone(),
            ..claims.clone()
        },
        StreamClaims {
            exp: claims.exp + 86_400,
            ..claims.clone()
        },
        StreamClaims {
            trk: track_b.clone(),
            ..claims.clone()
        },
    ];
    for edited in edits {
        let t = format!(
            "{}.{}.{}",
            parts[0],
            e.encode(serde_json::to_vec(&edited).unwrap()),
            parts[2]
        );
        let track = &edited.trk;
        assert_eq!(
            get(format!("{}/stream/{track}?t={t}", srv.base)).await,
            StatusCode::UNAUTHORIZED,
            "{edited:?}"
        );
    }
    // Track A's URL for track B, which its user may play: forbidden.
    assert_eq!(
        get(format!("{}/stream/{track_b}?t={token}", srv.base)).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(get(url.clone()).await, StatusCode::OK);

    // The account is disabled: its URL stops at once, with or without its cookie.
    backend::admin::set_disabled(&srv.core, &admin, &claims.sub, true)
        .await
        .unwrap();
    assert_eq!(get(url.clone()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        c.get(&url).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
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
    a_refresh_token_past_its_absolute_expiry_gets_invalid_grant,
    a_stream_url_is_bound_to_its_user_track_expiry_and_live_account,
);
