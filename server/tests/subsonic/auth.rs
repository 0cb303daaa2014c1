//! Authentication at `/rest`: API keys, app passwords, every refusal, side doors, tokens.

use crate::common::subsonic as schema;
use crate::common::*;
use crate::{error_code, rest, user_with_key};
use backend::testing::Backend;
use reqwest::StatusCode;
use serde_json::Value;
use server_fn::ServerFn;

async fn api_keys_work_in_both_formats_by_get_and_post(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let (_, key) = user_with_key(&srv, "keys@example.com", "api_key").await;
    assert!(key.starts_with("rfk_"));

    let (status, r) = rest(&srv, "ping", &[("apiKey", &key)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(r["status"], "ok", "{r}");

    // `.view`, XML by default.
    let xml = reqwest::get(format!(
        "{}/rest/ping.view?apiKey={key}&v=1.16.1&c=t",
        srv.base
    ))
    .await
    .unwrap();
    assert!(
        xml.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    let body = xml.text().await.unwrap();
    assert!(body.starts_with("<?xml"), "{body}");
    assert!(body.contains("status=\"ok\"") && body.contains("openSubsonic=\"true\""));

    // A form post (the formPost extension).
    let posted: Value = reqwest::Client::new()
        .post(format!("{}/rest/getLicense.view", srv.base))
        .form(&[
            ("apiKey", key.as_str()),
            ("f", "json"),
            ("v", "1.16.1"),
            ("c", "t"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    schema::envelope(&posted);
    let r = &posted["subsonic-response"];
    schema::license(&r["license"]);
    assert_eq!(r["license"]["valid"], true);

    let (_, r) = rest(&srv, "getOpenSubsonicExtensions", &[("apiKey", &key)]).await;
    schema::extensions(&r["openSubsonicExtensions"]);
    let names: Vec<&str> = r["openSubsonicExtensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"apiKeyAuthentication") && names.contains(&"formPost"));

    let (_, r) = rest(&srv, "tokenInfo", &[("apiKey", &key)]).await;
    schema::token_info(&r["tokenInfo"]);
    assert_eq!(r["tokenInfo"]["username"], "keys@example.com");

    let (_, r) = rest(
        &srv,
        "getUser",
        &[("apiKey", &key), ("username", "keys@example.com")],
    )
    .await;
    schema::user(&r["user"]);
    assert_eq!(r["user"]["streamRole"], true);
    let (_, r) = rest(
        &srv,
        "getUser",
        &[("apiKey", &key), ("username", "someone@example.com")],
    )
    .await;
    assert_eq!(error_code(&r), 50);

    let (_, r) = rest(&srv, "getMusicFolders", &[("apiKey", &key)]).await;
    schema::music_folders(&r["musicFolders"]);

    // Unknown methods and JSONP get the spec's error, never a 500.
    let (status, r) = rest(&srv, "getPodcastsOfTheMoon", &[("apiKey", &key)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&r), 0);
    let r = reqwest::get(format!(
        "{}/rest/ping?apiKey={key}&f=jsonp&callback=x",
        srv.base
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["subsonic-response"]["status"], "failed");
}

async fn every_refusal_gets_its_error_code(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let (c, key) = user_with_key(&srv, "refused@example.com", "api_key").await;
    let (_, r) = rest(&srv, "ping", &[("apiKey", &key)]).await;
    assert_eq!(r["status"], "ok");

    let (_, r) = rest(&srv, "ping", &[]).await;
    assert_eq!(error_code(&r), 10);
    // Except the one method the spec makes public.
    let (_, r) = rest(&srv, "getOpenSubsonicExtensions", &[]).await;
    assert_eq!(r["status"], "ok", "{r}");
    schema::extensions(&r["openSubsonicExtensions"]);
    let (_, r) = rest(&srv, "ping", &[("apiKey", "rfk_nonsense")]).await;
    assert_eq!(error_code(&r), 44);
    let (_, r) = rest(
        &srv,
        "ping",
        &[("apiKey", &key), ("u", "refused@example.com")],
    )
    .await;
    assert_eq!(error_code(&r), 43);
    // The account password never works here, in clear or as a token.
    let (_, r) = rest(&srv, "ping", &[("u", "refused@example.com"), ("p", PW)]).await;
    assert_eq!(error_code(&r), 40);
    let t = backend::subsonic::keys::subsonic_token(PW, "abcdef");
    let (_, r) = rest(
        &srv,
        "ping",
        &[("u", "refused@example.com"), ("t", &t), ("s", "abcdef")],
    )
    .await;
    assert_eq!(error_code(&r), 40);

    // A key needs the current password to be made.
    let r = call(
        &c,
        &srv,
        app::appkeys::CreateAppKey::PATH,
        &[
            ("name", "x"),
            ("kind", "api_key"),
            ("password", "wrong-guess-123"),
        ],
    )
    .await;
    assert!(!r.status().is_success());

    // Another user cannot revoke it; its owner can, and it stops at once.
    let other = client();
    signup(&other, &srv, "other@example.com").await;
    let keys: Vec<app::appkeys::AppKeyItem> = call(&c, &srv, app::appkeys::ListAppKeys::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].last_used_at.is_some(), "use is recorded");
    let theirs: Vec<app::appkeys::AppKeyItem> =
        call(&other, &srv, app::appkeys::ListAppKeys::PATH, &[])
            .await
            .wire()
            .await
            .unwrap();
    assert!(theirs.is_empty());
    let r = call(
        &other,
        &srv,
        app::appkeys::RevokeAppKey::PATH,
        &[("key_id", &keys[0].id)],
    )
    .await;
    assert!(!r.status().is_success());
    let (_, r) = rest(&srv, "ping", &[("apiKey", &key)]).await;
    assert_eq!(r["status"], "ok");
    let r = call(
        &c,
        &srv,
        app::appkeys::RevokeAppKey::PATH,
        &[("key_id", &keys[0].id)],
    )
    .await;
    assert!(r.status().is_success());
    let (_, r) = rest(&srv, "ping", &[("apiKey", &key)]).await;
    assert_eq!(error_code(&r), 44);
}

async fn legacy_clients_sign_with_an_app_password(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let (_, app_pw) = user_with_key(&srv, "Legacy@Example.com", "app_password").await;
    assert_eq!(app_pw.len(), 27);

    let t = backend::subsonic::keys::subsonic_token(&app_pw, "c19b2d");
    let (_, r) = rest(
        &srv,
        "ping",
        &[("u", "legacy@example.com"), ("t", &t), ("s", "c19b2d")],
    )
    .await;
    assert_eq!(r["status"], "ok", "{r}");
    // The same token with another salt is refused.
    let (_, r) = rest(
        &srv,
        "ping",
        &[("u", "legacy@example.com"), ("t", &t), ("s", "c19b2e")],
    )
    .await;
    assert_eq!(error_code(&r), 40);
    // `p=` in clear and hex-encoded.
    let (_, r) = rest(&srv, "ping", &[("u", "legacy@example.com"), ("p", &app_pw)]).await;
    assert_eq!(r["status"], "ok");
    let hex: String = app_pw.bytes().map(|b| format!("{b:02x}")).collect();
    let (_, r) = rest(
        &srv,
        "ping",
        &[("u", "legacy@example.com"), ("p", &format!("enc:{hex}"))],
    )
    .await;
    assert_eq!(r["status"], "ok");
    // tokenInfo is for API keys.
    let (_, r) = rest(
        &srv,
        "tokenInfo",
        &[("u", "legacy@example.com"), ("p", &app_pw)],
    )
    .await;
    assert_eq!(error_code(&r), 42);

    // Stored sealed, never in clear.
    let stored: String = sqlx::query_scalar("SELECT sealed_secret FROM app_keys")
        .fetch_one(&srv.core.db)
        .await
        .unwrap();
    assert!(stored.starts_with("v1.") && !stored.contains(&app_pw));

    // A disabled account stops at once.
    sqlx::query("UPDATE users SET disabled_at = 1 WHERE email = 'legacy@example.com'")
        .execute(&srv.core.db)
        .await
        .unwrap();
    let (_, r) = rest(&srv, "ping", &[("u", "legacy@example.com"), ("p", &app_pw)]).await;
    assert_eq!(error_code(&r), 40);
}

/// An account with two-factor on uses apps through its keys (each made by a user who
/// passed the second factor to sign in), and a key made by the domain for it works.
async fn two_factor_accounts_use_apps_through_keys(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let user = backend::auth::signup(&srv.core, "mfa-app@example.com", PW)
        .await
        .unwrap();
    turn_on_two_factor(&srv.core, &user).await;
    use backend::subsonic::keys::{self, KeyKind};
    let api = keys::create(&srv.core, &user, "Feishin", KeyKind::ApiKey, PW)
        .await
        .unwrap();
    let pw = keys::create(&srv.core, &user, "DSub", KeyKind::AppPassword, PW)
        .await
        .unwrap();
    assert!(
        keys::create(&srv.core, &user, "x", KeyKind::ApiKey, "wrong-password-1")
            .await
            .is_err()
    );
    let (_, r) = rest(&srv, "ping", &[("apiKey", &api.secret)]).await;
    assert_eq!(r["status"], "ok", "{r}");
    let (_, r) = rest(
        &srv,
        "ping",
        &[("u", "mfa-app@example.com"), ("p", &pw.secret)],
    )
    .await;
    assert_eq!(r["status"], "ok", "{r}");
    let listed = keys::list(&srv.core, &user).await.unwrap();
    assert_eq!(listed.len(), 2);
}

/// Matrix row 3, side-door authentication at `/rest`: an unknown user with an empty
/// password (in clear, hex-encoded, or as the token of the empty password), a known user
/// with the same, and the SQL wildcards `%` and `_` (alone or in an address) as the user
/// name with a real app password: all refused, since the user is matched exactly. `/rest`
/// refuses as the Subsonic spec has it, with HTTP 200 and error 40 ("wrong username or
/// password") in the body, not HTTP 401: the matrix's "401" is read as "refused".
async fn side_doors_refuse_empty_passwords_and_wildcard_users(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let (_, app_pw) = user_with_key(&srv, "side@example.com", "app_password").await;
    let empty_t = backend::subsonic::keys::subsonic_token("", "abcdef");
    let real_t = backend::subsonic::keys::subsonic_token(&app_pw, "abcdef");
    let mut attempts: Vec<Vec<(&str, &str)>> = Vec::new();
    for u in ["nobody@example.com", "side@example.com"] {
        attempts.push(vec![("u", u), ("p", "")]);
        attempts.push(vec![("u", u), ("p", "enc:")]);
        attempts.push(vec![("u", u), ("t", &empty_t), ("s", "abcdef")]);
    }
    for u in ["%", "_", "%@example.com", "sid_@example.com"] {
        attempts.push(vec![("u", u), ("p", &app_pw)]);
        attempts.push(vec![("u", u), ("t", &real_t), ("s", "abcdef")]);
    }
    // 14 refusals: fewer than the address's free tries, so none is throttled.
    assert!(attempts.len() < usize::try_from(backend::auth::throttle::ADDRESS_FREE).unwrap());
    for params in &attempts {
        let (status, r) = rest(&srv, "ping", params).await;
        assert_eq!(status, StatusCode::OK, "{params:?}");
        assert_eq!(error_code(&r), 40, "{params:?}: {r}");
    }
    // The same app password under the exact name works, in both forms.
    for params in [
        vec![("u", "side@example.com"), ("p", app_pw.as_str())],
        vec![("u", "side@example.com"), ("t", &real_t), ("s", "abcdef")],
    ] {
        let (_, r) = rest(&srv, "ping", &params).await;
        assert_eq!(r["status"], "ok", "{params:?}: {r}");
    }
}

/// Matrix row 3, "API token with no user": an access token signed with the server's own
/// key, well formed and unexpired, whose `sub` names no user (with a made-up login, and
/// with the live login of a real user) gets 401 at `/api/v1`; the genuine token of that
/// login gets in, so it is the missing user that is refused, not the signature.
async fn an_api_token_naming_no_user_is_refused(b: Backend) {
    use backend::auth::api_tokens::{self, AccessClaims};
    let srv = start(b, 1 << 20).await;
    signup(&client(), &srv, "real@example.com").await;
    let backend::auth::LoginStep::Done(real) = backend::auth::login(
        &srv.core,
        "real@example.com",
        PW,
        std::net::IpAddr::from([127, 0, 0, 1]),
    )
    .await
    .unwrap() else {
        panic!("no second factor is on")
    };
    let now = u64::try_from(backend::now_ms() / 1000).unwrap();
    let claims = |sub: &str, sid: &str| AccessClaims {
        iss: "refrain".into(),
        aud: api_tokens::API_AUDIENCE.into(),
        sub: sub.into(),
        exp: now + 600,
        nbf: now,
        iat: now,
        jti: backend::new_id(),
        sid: sid.into(),
    };
    let me = |token: String| {
        let url = format!("{}/api/v1/me", srv.base);
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let ghost = backend::new_id();
    for (sub, sid) in [
        (ghost.as_str(), backend::new_id()),
        (ghost.as_str(), real.login_id.clone()),
        ("", real.login_id.clone()),
    ] {
        let t = api_tokens::sign_claims(&srv.core.keys.api, &claims(sub, &sid))
            .await
            .unwrap();
        assert_eq!(me(t).await, StatusCode::UNAUTHORIZED, "sub {sub:?}");
    }
    let t = api_tokens::sign_claims(&srv.core.keys.api, &claims(&real.id, &real.login_id))
        .await
        .unwrap();
    assert_eq!(me(t).await, StatusCode::OK);
}

backend::on_both_databases!(
    side_doors_refuse_empty_passwords_and_wildcard_users,
    an_api_token_naming_no_user_is_refused,
    two_factor_accounts_use_apps_through_keys,
    api_keys_work_in_both_formats_by_get_and_post,
    every_refusal_gets_its_error_code,
    legacy_clients_sign_with_an_app_password,
);
