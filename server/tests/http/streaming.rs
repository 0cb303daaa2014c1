//! Streaming: byte ranges and the signed stream URL.

use crate::common::*;
use backend::playback::{STREAM_AUDIENCE, StreamClaims};
use backend::testing::Backend;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, RANGE};

async fn stream_serves_byte_ranges(b: Backend) {
    let srv = start(b, 1 << 24).await;
    let c = client();
    let (_, url, total) = with_track(&srv, &c, "ranges@example.com").await;

    let get = |range: Option<&'static str>| {
        let mut rb = c.get(&url);
        if let Some(r) = range {
            rb = rb.header(RANGE, r);
        }
        rb.send()
    };
    let whole = get(None).await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    let body = whole.bytes().await.unwrap();
    assert_eq!(body.len() as u64, total);

    let first = get(Some("bytes=0-0")).await.unwrap();
    assert_eq!(first.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        first.headers()[CONTENT_RANGE],
        format!("bytes 0-0/{total}").as_str()
    );
    assert_eq!(first.bytes().await.unwrap().as_ref(), &body[..1]);

    let last = c
        .get(&url)
        .header(RANGE, format!("bytes={}-{}", total - 1, total - 1))
        .send()
        .await
        .unwrap();
    assert_eq!(last.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        last.headers()[CONTENT_RANGE],
        format!("bytes {0}-{0}/{total}", total - 1).as_str()
    );
    assert_eq!(
        last.bytes().await.unwrap().as_ref(),
        &body[body.len() - 1..]
    );

    let suffix = get(Some("bytes=-100")).await.unwrap();
    assert_eq!(suffix.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        suffix.headers()[CONTENT_RANGE],
        format!("bytes {}-{}/{total}", total - 100, total - 1).as_str()
    );
    assert_eq!(
        suffix.bytes().await.unwrap().as_ref(),
        &body[body.len() - 100..]
    );

    let middle = c
        .get(&url)
        .header(RANGE, "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(middle.bytes().await.unwrap().as_ref(), &body[1000..2000]);

    let beyond = c
        .get(&url)
        .header(RANGE, format!("bytes={total}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        beyond.headers()[CONTENT_RANGE],
        format!("bytes */{total}").as_str()
    );
}

async fn stream_requires_a_valid_token_for_that_track(b: Backend) {
    let srv = start(b, 1 << 24).await;
    let c = client();
    let (id, url, _) = with_track(&srv, &c, "tokens@example.com").await;
    assert_eq!(c.get(&url).send().await.unwrap().status(), StatusCode::OK);

    let missing = format!("{}/stream/{id}", srv.base);
    assert_eq!(
        c.get(&missing).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    let mut tampered = url.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(
        c.get(&tampered).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    // A correctly signed token that expired a second ago.
    let token = url.split("t=").nth(1).unwrap();
    let claims = backend::playback::token::verify(&srv.core.keys.stream, token)
        .await
        .unwrap()
        .unwrap();
    let expired = StreamClaims {
        exp: claims.iat - 1,
        iat: claims.iat - 600,
        ..claims.clone()
    };
    let expired_url = format!(
        "{}/stream/{id}?t={}",
        srv.base,
        backend::playback::token::sign(&srv.core.keys.stream, &expired)
            .await
            .unwrap()
    );
    assert_eq!(
        c.get(&expired_url).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    // Another track's path with this track's token.
    let wrong_track = format!("{}/stream/other-track?t={token}", srv.base);
    assert_eq!(
        c.get(&wrong_track).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );

    // A token with another audience is not a stream token.
    let other_aud = StreamClaims {
        aud: "refrain-api".into(),
        ..claims
    };
    assert_ne!(other_aud.aud, STREAM_AUDIENCE);
    let other_url = format!(
        "{}/stream/{id}?t={}",
        srv.base,
        backend::playback::token::sign(&srv.core.keys.stream, &other_aud)
            .await
            .unwrap()
    );
    assert_eq!(
        c.get(&other_url).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn another_signed_in_user_cannot_use_my_stream_url(b: Backend) {
    let srv = start(b, 1 << 24).await;
    let owner = client();
    let (_, url, _) = with_track(&srv, &owner, "owner@example.com").await;
    let intruder = client();
    signup(&intruder, &srv, "intruder@example.com").await;
    assert_eq!(
        intruder.get(&url).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
}

backend::on_both_databases!(
    stream_serves_byte_ranges,
    stream_requires_a_valid_token_for_that_track,
    another_signed_in_user_cannot_use_my_stream_url,
);
