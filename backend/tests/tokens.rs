//! Signing keys, stream tokens and API tokens on both databases: shared keys, rotation
//! with a grace period, JWT attacks (algorithms, key ids, key URLs, claims, leeway),
//! refresh-token rotation, reuse detection and absolute expiry.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::api_tokens::{self, AccessClaims, TokenPair};
use backend::auth::{self, CurrentUser, two_factor};
use backend::keys::TokenError;
use backend::playback::token::{self as stream_token, StreamClaims};
use backend::testing::Backend;
use backend::{Core, Error};
use base64::Engine;

const PW: &str = "violet-harbour-87";
const LOCAL: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

fn now() -> u64 {
    u64::try_from(backend::now_ms() / 1000).unwrap()
}

fn header_of(token: &str) -> serde_json::Value {
    let h = token.split('.').next().unwrap();
    serde_json::from_slice(&b64().decode(h).unwrap()).unwrap()
}

/// The private key of RFC 8037 Appendix A.1, public knowledge: an attacker's key as good
/// as any other. Ed25519 PKCS#8 is a fixed prefix and the 32-byte seed `d`.
fn attacker_key() -> jsonwebtoken::EncodingKey {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend(
        b64()
            .decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
            .unwrap(),
    );
    jsonwebtoken::EncodingKey::from_ed_der(&der)
}
/// RFC 8037 A.1's public key `x`.
const ATTACKER_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

/// `claims` under `header` (whatever it says), signed with the attacker's Ed25519 key.
fn signed_by_attacker(header: &serde_json::Value, claims: &impl serde::Serialize) -> String {
    let input = format!(
        "{}.{}",
        b64().encode(serde_json::to_vec(header).unwrap()),
        b64().encode(serde_json::to_vec(claims).unwrap())
    );
    let sig = jsonwebtoken::crypto::sign(
        input.as_bytes(),
        &attacker_key(),
        jsonwebtoken::Algorithm::EdDSA,
    )
    .unwrap();
    format!("{input}.{sig}")
}

/// `token` with its header replaced by `header`, its payload and signature kept.
fn reheadered(token: &str, header: &serde_json::Value) -> String {
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    parts[0] = b64().encode(serde_json::to_vec(header).unwrap());
    parts.join(".")
}

/// A loopback listener that records who connects to it: where a `jku` or `x5u` header
/// points, to show nothing ever fetched it.
struct Canary {
    addr: std::net::SocketAddr,
    accepted: tokio::sync::mpsc::UnboundedReceiver<std::net::SocketAddr>,
}

impl Canary {
    async fn start() -> Canary {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, accepted) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((_, peer)) = listener.accept().await {
                if tx.send(peer).is_err() {
                    break;
                }
            }
        });
        Canary { addr, accepted }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// How many connections it accepted from others: it connects once itself and counts
    /// the connections accepted before its own (connections are accepted in order).
    async fn connections_from_others(mut self) -> usize {
        let probe = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let me = probe.local_addr().unwrap();
        let mut others = 0;
        while let Some(peer) = self.accepted.recv().await {
            if peer == me {
                return others;
            }
            others += 1;
        }
        panic!("the canary stopped listening");
    }
}

/// Access claims for `user` valid from `iat` for `ttl` seconds.
fn access_claims(user: &CurrentUser, iat: u64, ttl: u64) -> AccessClaims {
    AccessClaims {
        iss: "refrain".into(),
        aud: api_tokens::API_AUDIENCE.into(),
        sub: user.id.clone(),
        exp: iat + ttl,
        nbf: iat,
        iat,
        jti: backend::new_id(),
        sid: user.login_id.clone(),
    }
}

async fn token_pair(core: &Core, email: &str) -> (CurrentUser, TokenPair) {
    let user = auth::signup(core, email, PW).await.unwrap();
    let pair = api_tokens::issue_with_password(core, email, PW, None, LOCAL, Some("curl/8.5"))
        .await
        .unwrap();
    (user, pair)
}

async fn resolves(core: &Core, access: &str) -> Option<String> {
    api_tokens::user_for_access_token(core, access)
        .await
        .unwrap()
        .map(|u| u.email)
}

async fn nodes_on_one_database_share_keys_and_purposes_never_share_one(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let config = b.config(dir.path()).await;
    let a = Core::init(config.clone()).await.unwrap();
    let node_b = Core::init(config).await.unwrap();
    let stream_kid = a.keys.stream.signing_kid().await.unwrap();
    let api_kid = a.keys.api.signing_kid().await.unwrap();
    assert_eq!(stream_kid, node_b.keys.stream.signing_kid().await.unwrap());
    assert_eq!(api_kid, node_b.keys.api.signing_kid().await.unwrap());
    assert_ne!(stream_kid, api_kid);
    let t = stream_token::sign(&a.keys.stream, &StreamClaims::new("u", "t", "l", 60))
        .await
        .unwrap();
    assert!(
        stream_token::verify(&node_b.keys.stream, &t)
            .await
            .unwrap()
            .is_ok()
    );
    assert_eq!(header_of(&t)["kid"], stream_kid.as_str());
}

async fn stream_tokens_refuse_expiry_tampering_other_audiences_and_alg_none(b: Backend) {
    let (core, _d) = b.core().await;
    let ring = &core.keys.stream;
    let ok = StreamClaims::new("u1", "t1", "l1", 60);
    let t = stream_token::sign(ring, &ok).await.unwrap();
    assert_eq!(
        stream_token::verify(ring, &t).await.unwrap(),
        Ok(ok.clone())
    );

    // Verified again: its signature is remembered, its claims are still checked (asked
    // for another audience, the same token is refused).
    assert_eq!(
        stream_token::verify(ring, &t).await.unwrap(),
        Ok(ok.clone())
    );
    let mut other_audience = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    other_audience.set_audience(&[api_tokens::API_AUDIENCE]);
    assert_eq!(
        ring.verify::<StreamClaims>(&t, stream_token::STREAM_TYP, &other_audience)
            .await
            .unwrap(),
        Err(TokenError::Invalid)
    );

    let expired = StreamClaims {
        exp: now() - 2,
        ..ok.clone()
    };
    let t2 = stream_token::sign(ring, &expired).await.unwrap();
    assert_eq!(
        stream_token::verify(ring, &t2).await.unwrap(),
        Err(TokenError::Expired)
    );

    // Another track, another user or a later expiry pasted under this token's signature.
    let edits = [
        StreamClaims {
            trk: "t2".into(),
            ..ok.clone()
        },
        StreamClaims {
            sub: "u2".into(),
            ..ok.clone()
        },
        StreamClaims {
            exp: ok.exp + 86_400,
            ..ok.clone()
        },
    ];
    for edited in edits {
        let mut parts: Vec<String> = t.split('.').map(String::from).collect();
        parts[1] = b64().encode(serde_json::to_vec(&edited).unwrap());
        assert_eq!(
            stream_token::verify(ring, &parts.join(".")).await.unwrap(),
            Err(TokenError::Invalid),
            "{edited:?}"
        );
    }

    let api_aud = StreamClaims {
        aud: api_tokens::API_AUDIENCE.into(),
        ..ok.clone()
    };
    let t3 = stream_token::sign(ring, &api_aud).await.unwrap();
    assert_eq!(
        stream_token::verify(ring, &t3).await.unwrap(),
        Err(TokenError::Invalid)
    );

    let none = format!(
        "{}.{}.",
        b64().encode(br#"{"alg":"none","typ":"refrain-stream+jwt"}"#),
        b64().encode(serde_json::to_vec(&ok).unwrap())
    );
    assert_eq!(
        stream_token::verify(ring, &none).await.unwrap(),
        Err(TokenError::Invalid)
    );

    // A key from another server (another database) is unknown here.
    let (elsewhere, _d2) = b.core().await;
    let foreign = stream_token::sign(&elsewhere.keys.stream, &ok)
        .await
        .unwrap();
    assert_eq!(
        stream_token::verify(ring, &foreign).await.unwrap(),
        Err(TokenError::Invalid)
    );
}

async fn password_grant_issues_a_token_pair_that_names_its_key(b: Backend) {
    let (core, _d) = b.core().await;
    let (user, pair) = token_pair(&core, "api@example.com").await;
    assert_eq!(pair.token_type, "Bearer");
    assert_eq!(pair.expires_in, 900);
    assert_eq!(pair.refresh_expires_in, 30 * 24 * 3600);
    let h = header_of(&pair.access_token);
    assert_eq!(h["alg"], "EdDSA");
    assert_eq!(h["typ"], "at+jwt");
    assert_eq!(
        h["kid"],
        core.keys.api.signing_kid().await.unwrap().as_str()
    );
    let claims = api_tokens::verify_access(&core.keys.api, &pair.access_token)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claims.sub, user.id);
    assert_eq!(claims.aud, "refrain-api");
    assert_eq!(claims.iss, "refrain");
    assert_eq!(claims.exp - claims.iat, 900);
    assert!(!claims.jti.is_empty());
    assert_eq!(
        resolves(&core, &pair.access_token).await.as_deref(),
        Some("api@example.com")
    );
    // Refresh tokens are stored hashed, never as issued.
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM refresh_tokens")
        .fetch_all(&core.db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], pair.refresh_token);
    // The token login shows in the account's sessions list.
    let logins = auth::logins::list(&core, &user).await.unwrap();
    assert!(logins.iter().any(|l| l.device == "curl"), "{logins:?}");
    // A wrong password gets no tokens.
    let wrong = api_tokens::issue_with_password(
        &core,
        "api@example.com",
        "wrong-pass-123",
        None,
        LOCAL,
        None,
    )
    .await;
    assert!(matches!(wrong, Err(Error::BadCredentials)), "{wrong:?}");
}

async fn password_grant_needs_a_code_when_two_factor_is_on(b: Backend) {
    let (core, _d) = b.core().await;
    let user = auth::signup(&core, "mfa-api@example.com", PW)
        .await
        .unwrap();
    let e = two_factor::begin_enrollment(&core, &user).await.unwrap();
    let secret = auth::totp::decode_secret(&e.secret).unwrap();
    let recovery = two_factor::confirm_enrollment(&core, &user, &auth::totp::code(&secret, now()))
        .await
        .unwrap();
    let none =
        api_tokens::issue_with_password(&core, "mfa-api@example.com", PW, None, LOCAL, None).await;
    assert!(matches!(none, Err(Error::SecondFactorRequired)), "{none:?}");
    let wrong = api_tokens::issue_with_password(
        &core,
        "mfa-api@example.com",
        PW,
        Some("000000"),
        LOCAL,
        None,
    )
    .await;
    assert!(matches!(wrong, Err(Error::BadCode)), "{wrong:?}");
    let next = auth::totp::code(&secret, now() + auth::totp::STEP);
    let pair =
        api_tokens::issue_with_password(&core, "mfa-api@example.com", PW, Some(&next), LOCAL, None)
            .await
            .unwrap();
    assert!(resolves(&core, &pair.access_token).await.is_some());
    // The same code again is a replay.
    let replay =
        api_tokens::issue_with_password(&core, "mfa-api@example.com", PW, Some(&next), LOCAL, None)
            .await;
    assert!(matches!(replay, Err(Error::BadCode)), "{replay:?}");
    // A recovery code works once.
    let rc = api_tokens::issue_with_password(
        &core,
        "mfa-api@example.com",
        PW,
        Some(&recovery[0]),
        LOCAL,
        None,
    )
    .await;
    assert!(rc.is_ok(), "{rc:?}");
}

async fn access_tokens_refuse_forgeries_and_other_token_kinds(b: Backend) {
    let (core, _d) = b.core().await;
    let (user, pair) = token_pair(&core, "forge@example.com").await;
    let api = &core.keys.api;
    let kid = api.signing_kid().await.unwrap();
    let claims = access_claims(&user, now(), 900);
    let body = b64().encode(serde_json::to_vec(&claims).unwrap());
    let refused = |r: Result<AccessClaims, TokenError>| assert!(r.is_err(), "accepted: {r:?}");

    // alg: none, with and without a kid.
    for header in [
        format!(r#"{{"alg":"none","typ":"at+jwt","kid":"{kid}"}}"#),
        r#"{"alg":"none","typ":"at+jwt"}"#.to_string(),
    ] {
        let t = format!("{}.{body}.", b64().encode(header));
        refused(api_tokens::verify_access(api, &t).await.unwrap());
    }

    // HS256 "signed" with the public key from the JWKS (the classic key-confusion attack).
    let jwks = api.jwks().await.unwrap();
    let x = jwks["keys"][0]["x"].as_str().unwrap();
    let public = b64().decode(x).unwrap();
    for secret in [public.clone(), x.as_bytes().to_vec()] {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        h.kid = Some(kid.clone());
        h.typ = Some("at+jwt".into());
        let t = jsonwebtoken::encode(
            &h,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&secret),
        )
        .unwrap();
        refused(api_tokens::verify_access(api, &t).await.unwrap());
    }

    // A real signature under a kid this server never issued.
    let mut parts: Vec<String> = pair.access_token.split('.').map(String::from).collect();
    let mut header = header_of(&pair.access_token);
    header["kid"] = "0123456789abcdef".into();
    parts[0] = b64().encode(serde_json::to_vec(&header).unwrap());
    refused(
        api_tokens::verify_access(api, &parts.join("."))
            .await
            .unwrap(),
    );

    // Expired by 61 s (beyond the 60 s leeway) is refused; by 30 s still accepted.
    let t = api_tokens::sign_claims(api, &access_claims(&user, now() - 900 - 61, 900))
        .await
        .unwrap();
    assert_eq!(
        api_tokens::verify_access(api, &t).await.unwrap(),
        Err(TokenError::Expired)
    );
    let t = api_tokens::sign_claims(api, &access_claims(&user, now() - 900 - 30, 900))
        .await
        .unwrap();
    assert!(api_tokens::verify_access(api, &t).await.unwrap().is_ok());

    // Not yet valid (nbf two minutes ahead), and issued in the future.
    let mut future = access_claims(&user, now(), 900);
    future.nbf = now() + 120;
    let t = api_tokens::sign_claims(api, &future).await.unwrap();
    refused(api_tokens::verify_access(api, &t).await.unwrap());
    let t = api_tokens::sign_claims(api, &access_claims(&user, now() + 300, 900))
        .await
        .unwrap();
    refused(api_tokens::verify_access(api, &t).await.unwrap());

    // Wrong audience, wrong issuer, no jti.
    let tweaks: [fn(&mut AccessClaims); 3] = [
        |c| c.aud = "refrain-stream".into(),
        |c| c.iss = "someone-else".into(),
        |c| c.jti = String::new(),
    ];
    for tweak in tweaks {
        let mut c = access_claims(&user, now(), 900);
        tweak(&mut c);
        let t = api_tokens::sign_claims(api, &c).await.unwrap();
        refused(api_tokens::verify_access(api, &t).await.unwrap());
    }
    // Claims of the wrong type or missing, signed by the right key (jsonwebtoken before
    // 10.3 took a string `exp` or `nbf` for no claim at all, CVE-2026-25537): a string
    // expiry long past, a string start in the future, no audience, no issuer.
    let genuine = serde_json::to_value(access_claims(&user, now(), 900)).unwrap();
    let forged: [fn(&mut serde_json::Value, u64); 5] = [
        |c, now| c["exp"] = (now - 3600).to_string().into(),
        |c, now| c["nbf"] = (now + 3600).to_string().into(),
        |c, _| c["exp"] = "never".into(),
        |c, _| drop(c.as_object_mut().unwrap().remove("aud")),
        |c, _| drop(c.as_object_mut().unwrap().remove("iss")),
    ];
    for forge in forged {
        let mut c = genuine.clone();
        forge(&mut c, now());
        let t = core.keys.api.sign("at+jwt", &c).await.unwrap();
        refused(api_tokens::verify_access(api, &t).await.unwrap());
    }
    let st = serde_json::to_value(StreamClaims::new(&user.id, "t1", &user.login_id, 60)).unwrap();
    let forged: [fn(&mut serde_json::Value); 3] = [
        |c| c["exp"] = "99999999999".into(),
        |c| drop(c.as_object_mut().unwrap().remove("aud")),
        |c| drop(c.as_object_mut().unwrap().remove("iss")),
    ];
    for forge in forged {
        let mut c = st.clone();
        forge(&mut c);
        let t = core
            .keys
            .stream
            .sign(backend::playback::token::STREAM_TYP, &c)
            .await
            .unwrap();
        assert!(
            stream_token::verify(&core.keys.stream, &t)
                .await
                .unwrap()
                .is_err(),
            "{c}"
        );
    }
    // The same, unforged, is accepted (so the refusals above are about the claims).
    let t = core.keys.api.sign("at+jwt", &genuine).await.unwrap();
    assert!(api_tokens::verify_access(api, &t).await.unwrap().is_ok());

    // A token with another typ (signed by the right key) is not an access token.
    let t = core.keys.api.sign("JWT", &claims).await.unwrap();
    refused(api_tokens::verify_access(api, &t).await.unwrap());

    // A stream token is not an access token, and an access token is not a stream token.
    let st = stream_token::sign(
        &core.keys.stream,
        &StreamClaims::new(&user.id, "t1", &user.login_id, 60),
    )
    .await
    .unwrap();
    refused(api_tokens::verify_access(api, &st).await.unwrap());
    assert!(resolves(&core, &st).await.is_none());
    assert_eq!(
        stream_token::verify(&core.keys.stream, &pair.access_token)
            .await
            .unwrap(),
        Err(TokenError::Invalid)
    );
    // The genuine token still works.
    assert!(resolves(&core, &pair.access_token).await.is_some());
}

/// RFC 8725 §2.1, §3.1, §3.10: only EdDSA, only our own keys. Other algorithms, odd key
/// ids and headers naming a key elsewhere (`jku`, `x5u`) or carrying one (`jwk`) are all
/// refused, and nothing is fetched from where they point.
async fn access_tokens_refuse_other_algorithms_odd_key_ids_and_key_urls(b: Backend) {
    let (core, _d) = b.core().await;
    let (user, pair) = token_pair(&core, "headers@example.com").await;
    let api = &core.keys.api;
    let genuine = header_of(&pair.access_token);
    let kid = genuine["kid"].as_str().unwrap().to_string();
    let claims = access_claims(&user, now(), 900);
    let with = |fields: serde_json::Value| {
        let mut h = genuine.clone();
        for (k, v) in fields.as_object().unwrap() {
            h[k] = v.clone();
        }
        h
    };
    let sig_of_len = |token: &str, n: usize| {
        let mut parts: Vec<&str> = token.split('.').collect();
        let sig = b64().encode(vec![0x5a; n]);
        parts[2] = &sig;
        parts.join(".")
    };
    let mut forged = Vec::new();
    // RS256 and Ed448 (an algorithm jsonwebtoken does not even name), with the genuine
    // signature and with one of the length their algorithm makes.
    for (alg, len) in [("RS256", 256), ("Ed448", 114)] {
        let t = reheadered(&pair.access_token, &with(serde_json::json!({ "alg": alg })));
        forged.push(sig_of_len(&t, len));
        forged.push(t);
    }
    // EdDSA over Ed448 named by the curve, with an Ed448-sized signature.
    let t = reheadered(
        &pair.access_token,
        &with(serde_json::json!({ "crv": "Ed448" })),
    );
    forged.push(sig_of_len(&t, 114));
    // Key ids this server never made: unknown, a path, SQL.
    for odd in ["0123456789abcdef", "../../x", "' OR 1=1", "' OR 1=1 --"] {
        forged.push(reheadered(
            &pair.access_token,
            &with(serde_json::json!({ "kid": odd })),
        ));
    }
    // Signed by the attacker, whose key is at a URL (`jku`, `x5u`) or in the header
    // (`jwk`), under the attacker's kid, under ours and under none.
    let canary = Canary::start().await;
    let attacker_kid: String =
        ring::digest::digest(&ring::digest::SHA256, &b64().decode(ATTACKER_X).unwrap()).as_ref()
            [..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
    let jwk = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": ATTACKER_X});
    for key_kid in [Some(attacker_kid.as_str()), Some(kid.as_str()), None] {
        for (name, value) in [
            ("jku", canary.url("/jwks.json").into()),
            ("x5u", canary.url("/cert.pem").into()),
            ("jwk", jwk.clone()),
        ] {
            let mut h = serde_json::json!({"alg": "EdDSA", "typ": "at+jwt"});
            h[name] = value;
            if let Some(k) = key_kid {
                h["kid"] = k.into();
            }
            forged.push(signed_by_attacker(&h, &claims));
        }
    }
    // The attacker's tokens are well made: they verify with the attacker's key.
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    v.set_audience(&[api_tokens::API_AUDIENCE]);
    let attacker_public = jsonwebtoken::DecodingKey::from_ed_components(ATTACKER_X).unwrap();
    let last = forged.last().unwrap();
    assert!(jsonwebtoken::decode::<AccessClaims>(last, &attacker_public, &v).is_ok());

    for t in &forged {
        assert_eq!(
            api_tokens::verify_access(api, t).await.unwrap(),
            Err(TokenError::Invalid),
            "{}",
            header_of(t)
        );
        assert!(resolves(&core, t).await.is_none(), "{}", header_of(t));
    }
    assert_eq!(canary.connections_from_others().await, 0);
    // The genuine token, untouched, still works.
    assert!(resolves(&core, &pair.access_token).await.is_some());
}

/// A key id not shaped like the ones Refrain makes (16 lowercase hex digits) is refused
/// without the database: with it closed, such tokens are still simply invalid. A kid of
/// our shape that the ring does not know does re-read the keys (another node may have
/// rotated; at most once a second, by purpose, never by kid): with the database closed
/// that attempt fails, which shows the probe would see a query.
async fn odd_key_ids_are_refused_without_reading_the_keys(b: Backend) {
    let (core, _d) = b.core().await;
    let (_, pair) = token_pair(&core, "kid-shape@example.com").await;
    let api = &core.keys.api;
    let genuine = header_of(&pair.access_token);
    let with_kid = |kid: &str| {
        let mut h = genuine.clone();
        h["kid"] = kid.into();
        reheadered(&pair.access_token, &h)
    };
    // Past the one second an unknown kid must wait before the keys are re-read.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    core.db.close().await;
    for kid in [
        "../../x",
        "' OR 1=1",
        "",
        "0123456789ABCDEF",
        "0123456789abcdef0",
        "x'; DROP TABLE signing_keys; --",
    ] {
        assert_eq!(
            api_tokens::verify_access(api, &with_kid(kid))
                .await
                .unwrap(),
            Err(TokenError::Invalid),
            "{kid}"
        );
    }
    // The genuine token is checked from memory too.
    assert!(
        api_tokens::verify_access(api, &pair.access_token)
            .await
            .unwrap()
            .is_ok()
    );
    assert!(
        api_tokens::verify_access(api, &with_kid("0123456789abcdef"))
            .await
            .is_err(),
        "an unknown kid of our shape should have re-read the keys"
    );
}

/// API access tokens have 60 s of leeway on `exp` (README, "API for other clients"):
/// expired by 59 s is accepted, by 61 s refused. Stream tokens have none: expired a
/// second ago is refused.
async fn expiry_leeway_is_sixty_seconds_for_access_tokens_and_none_for_stream_urls(b: Backend) {
    let (core, _d) = b.core().await;
    let (user, _) = token_pair(&core, "leeway@example.com").await;
    let api = &core.keys.api;
    assert_eq!(api_tokens::LEEWAY_SECS, 60);
    let t = api_tokens::sign_claims(api, &access_claims(&user, now() - 900 - 59, 900))
        .await
        .unwrap();
    assert!(api_tokens::verify_access(api, &t).await.unwrap().is_ok());
    let t = api_tokens::sign_claims(api, &access_claims(&user, now() - 900 - 61, 900))
        .await
        .unwrap();
    assert_eq!(
        api_tokens::verify_access(api, &t).await.unwrap(),
        Err(TokenError::Expired)
    );

    let ring = &core.keys.stream;
    let fresh = StreamClaims::new(&user.id, "t1", &user.login_id, 60);
    let t = stream_token::sign(ring, &fresh).await.unwrap();
    assert!(stream_token::verify(ring, &t).await.unwrap().is_ok());
    let a_second_ago = StreamClaims {
        iat: now() - 60,
        exp: now() - 1,
        ..fresh
    };
    let t = stream_token::sign(ring, &a_second_ago).await.unwrap();
    assert_eq!(
        stream_token::verify(ring, &t).await.unwrap(),
        Err(TokenError::Expired)
    );
}

/// A refresh token past its absolute expiry (30 days) is refused; the same token within
/// its lifetime works, so the refusal is the expiry's.
async fn a_refresh_token_past_its_absolute_expiry_is_refused(b: Backend) {
    let (core, _d) = b.core().await;
    let (_, pair) = token_pair(&core, "expired-rt@example.com").await;
    let set_expiry = |at: i64| {
        let db = core.db.clone();
        async move {
            let n = sqlx::query("UPDATE refresh_tokens SET expires_at = $1")
                .bind(at)
                .execute(&db)
                .await
                .unwrap()
                .rows_affected();
            assert_eq!(n, 1);
        }
    };
    set_expiry(backend::now_ms() - 1000).await;
    let r = api_tokens::refresh(&core, &pair.refresh_token).await;
    assert!(matches!(r, Err(Error::Unauthenticated)), "{r:?}");
    set_expiry(backend::now_ms() + 60_000).await;
    assert!(
        api_tokens::refresh(&core, &pair.refresh_token)
            .await
            .is_ok()
    );
}

async fn refresh_rotates_and_a_reused_refresh_token_revokes_the_family(b: Backend) {
    let (core, _d) = b.core().await;
    let (_, first) = token_pair(&core, "rotate@example.com").await;
    let second = api_tokens::refresh(&core, &first.refresh_token)
        .await
        .unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    let third = api_tokens::refresh(&core, &second.refresh_token)
        .await
        .unwrap();
    assert!(resolves(&core, &third.access_token).await.is_some());

    // Someone replays the first (already used) token: the whole family ends.
    let replay = api_tokens::refresh(&core, &first.refresh_token).await;
    assert!(matches!(replay, Err(Error::Unauthenticated)), "{replay:?}");
    let after = api_tokens::refresh(&core, &third.refresh_token).await;
    assert!(matches!(after, Err(Error::Unauthenticated)), "{after:?}");
    assert!(resolves(&core, &third.access_token).await.is_none());
    assert!(resolves(&core, &first.access_token).await.is_none());
    // Garbage is simply refused.
    assert!(matches!(
        api_tokens::refresh(&core, "not-a-token").await,
        Err(Error::Unauthenticated)
    ));
    // Another login of the same account is untouched.
    let other = api_tokens::issue_with_password(&core, "rotate@example.com", PW, None, LOCAL, None)
        .await
        .unwrap();
    assert!(
        api_tokens::refresh(&core, &other.refresh_token)
            .await
            .is_ok()
    );
}

async fn parallel_refreshes_of_one_token_let_exactly_one_through(b: Backend) {
    let (core, _d) = b.core().await;
    let (_, pair) = token_pair(&core, "race@example.com").await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let core = core.clone();
            let t = pair.refresh_token.clone();
            tokio::spawn(async move { api_tokens::refresh(&core, &t).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(Error::Unauthenticated) => {}
            Err(e) => panic!("unexpected: {e:?}"),
        }
    }
    assert_eq!(ok, 1);
}

async fn tokens_stop_at_once_when_the_account_is_disabled_or_the_login_revoked(b: Backend) {
    let (core, _d) = b.core().await;
    let admin = auth::signup(&core, "boss@example.com", PW).await.unwrap();
    let (user, pair) = token_pair(&core, "victim@example.com").await;
    assert!(resolves(&core, &pair.access_token).await.is_some());
    backend::admin::set_disabled(&core, &admin, &user.id, true)
        .await
        .unwrap();
    assert!(resolves(&core, &pair.access_token).await.is_none());
    assert!(
        api_tokens::refresh(&core, &pair.refresh_token)
            .await
            .is_err()
    );
    backend::admin::set_disabled(&core, &admin, &user.id, false)
        .await
        .unwrap();

    let pair = api_tokens::issue_with_password(&core, "victim@example.com", PW, None, LOCAL, None)
        .await
        .unwrap();
    assert!(resolves(&core, &pair.access_token).await.is_some());
    api_tokens::revoke(&core, &pair.refresh_token)
        .await
        .unwrap();
    assert!(resolves(&core, &pair.access_token).await.is_none());
    assert!(
        api_tokens::refresh(&core, &pair.refresh_token)
            .await
            .is_err()
    );
    // Revoking an unknown token is not an error (the answer tells nothing).
    api_tokens::revoke(&core, "unknown").await.unwrap();
}

async fn rotated_keys_keep_verifying_for_the_grace_period_only(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let config = b.config(dir.path()).await;
    let node = Core::init(config.clone()).await.unwrap();
    let cli = Core::init(config.clone()).await.unwrap();
    let (user, before) = token_pair(&node, "keys@example.com").await;
    let old_kid = node.keys.api.signing_kid().await.unwrap();
    let old_stream = stream_token::sign(&node.keys.stream, &StreamClaims::new("u", "t", "l", 300))
        .await
        .unwrap();

    let rotated = backend::admin::rotate_signing_keys(&cli).await.unwrap();
    assert_eq!(rotated.len(), 2);
    let new_kid = rotated.iter().find(|(p, _)| *p == "api").unwrap().1.clone();
    assert_ne!(new_kid, old_kid);

    // A node started after the rotation signs with the new key and still verifies old
    // tokens; its JWKS lists both keys.
    let fresh = Core::init(config.clone()).await.unwrap();
    assert_eq!(fresh.keys.api.signing_kid().await.unwrap(), new_kid);
    assert!(resolves(&fresh, &before.access_token).await.is_some());
    assert!(
        stream_token::verify(&fresh.keys.stream, &old_stream)
            .await
            .unwrap()
            .is_ok()
    );
    let kids: Vec<String> = fresh.keys.api.jwks().await.unwrap()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    assert!(
        kids.contains(&old_kid) && kids.contains(&new_kid),
        "{kids:?}"
    );
    // The JWKS holds public keys only.
    for k in fresh.keys.api.jwks().await.unwrap()["keys"]
        .as_array()
        .unwrap()
    {
        assert!(k.get("d").is_none());
        assert_eq!(k["kty"], "OKP");
    }

    // The node that was running meets a token under the new key: it re-reads its keys.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let newer = api_tokens::sign_access(&fresh.keys.api, &user)
        .await
        .unwrap();
    assert_eq!(header_of(&newer)["kid"], new_kid.as_str());
    assert!(resolves(&node, &newer).await.is_some());

    // Past the grace period the old key verifies nothing (on a node that loads now).
    let past = backend::now_ms() - i64::try_from(config.auth.key_grace_secs * 1000).unwrap() - 1000;
    sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NOT NULL")
        .bind(past)
        .execute(&fresh.db)
        .await
        .unwrap();
    let later = Core::init(config).await.unwrap();
    assert!(resolves(&later, &before.access_token).await.is_none());
    assert!(resolves(&later, &newer).await.is_some());
    assert_eq!(
        later.keys.api.jwks().await.unwrap()["keys"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let audit: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'keys.rotate'")
            .fetch_one(&later.db)
            .await
            .unwrap();
    assert_eq!(audit, 1);
}

/// The signing keys' private halves are stored sealed with the server key; one stored in
/// clear by an older version is sealed when a node reads it (tokens it signed stay good),
/// and a node with another server key refuses to start, saying what to fix.
async fn signing_keys_are_sealed_at_rest(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let config = b.config(dir.path()).await;
    let core = Core::init(config.clone()).await.unwrap();
    let rows = || async {
        sqlx::query_as::<_, (String, String, String)>(
            "SELECT kid, purpose, pkcs8_b64 FROM signing_keys ORDER BY kid",
        )
        .fetch_all(&core.db)
        .await
        .unwrap()
    };
    let stored = rows().await;
    assert_eq!(stored.len(), 2);
    for (kid, _, value) in &stored {
        assert!(value.starts_with("v1."), "{kid}: {value}");
    }
    // The stream key back in clear, as versions before this one kept it.
    let (kid, purpose, value) = stored.iter().find(|r| r.1 == "stream").unwrap().clone();
    let pkcs8 = core
        .secret_key
        .open(&format!("signing-key:{purpose}"), &value)
        .unwrap();
    sqlx::query("UPDATE signing_keys SET pkcs8_b64 = $2 WHERE kid = $1")
        .bind(&kid)
        .bind(base64::engine::general_purpose::STANDARD.encode(&pkcs8))
        .execute(&core.db)
        .await
        .unwrap();
    let t = stream_token::sign(&core.keys.stream, &StreamClaims::new("u", "t", "l", 60))
        .await
        .unwrap();
    let node_b = Core::init(config.clone()).await.unwrap();
    assert!(
        stream_token::verify(&node_b.keys.stream, &t)
            .await
            .unwrap()
            .is_ok()
    );
    let resealed = rows().await;
    assert!(
        resealed.iter().all(|(_, _, v)| v.starts_with("v1.")),
        "{resealed:?}"
    );
    assert_eq!(
        resealed.iter().map(|r| &r.0).collect::<Vec<_>>(),
        stored.iter().map(|r| &r.0).collect::<Vec<_>>()
    );
    // A node with another server key cannot read them, and says why.
    let mut other = config;
    other.auth.secret_key = Some(backend::config::Redacted("00".repeat(32)));
    let e = Core::init(other)
        .await
        .err()
        .expect("started with the wrong key");
    assert!(format!("{e:#}").contains("REFRAIN_SECRET_KEY"), "{e:#}");
}

backend::on_both_databases!(
    signing_keys_are_sealed_at_rest,
    nodes_on_one_database_share_keys_and_purposes_never_share_one,
    stream_tokens_refuse_expiry_tampering_other_audiences_and_alg_none,
    password_grant_issues_a_token_pair_that_names_its_key,
    password_grant_needs_a_code_when_two_factor_is_on,
    access_tokens_refuse_forgeries_and_other_token_kinds,
    refresh_rotates_and_a_reused_refresh_token_revokes_the_family,
    parallel_refreshes_of_one_token_let_exactly_one_through,
    tokens_stop_at_once_when_the_account_is_disabled_or_the_login_revoked,
    rotated_keys_keep_verifying_for_the_grace_period_only,
    access_tokens_refuse_other_algorithms_odd_key_ids_and_key_urls,
    odd_key_ids_are_refused_without_reading_the_keys,
    expiry_leeway_is_sixty_seconds_for_access_tokens_and_none_for_stream_urls,
    a_refresh_token_past_its_absolute_expiry_is_refused,
);
