//! Object storage on a real S3-compatible server (Garage, started by scripts/services.sh):
//! streamed upload, import, Range pass-through, presigned redirect, deletion.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use backend::Core;
use backend::testing::{Backend, s3_config};
use common::client;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, LOCATION, RANGE};
use server_fn::ServerFn;

async fn start(redirect: bool) -> (String, Core, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Backend::Postgres.config(&dir.path().join("data")).await;
    config.storage.s3 = Some(s3_config());
    config.storage.stream_redirect = redirect;
    config.events.embedded_worker = false;
    let core = Core::init(config).await.unwrap();
    assert_eq!(core.storage.kind(), "s3");
    let base = common::serve(&core).await;
    (base, core, dir)
}

async fn imported(base: &str, core: &Core, c: &reqwest::Client) -> (String, String, u64) {
    let r = c
        .post(format!("{base}{}", app::auth::Signup::PATH))
        .form(&[
            ("email", "s3@example.com"),
            ("password", "violet-harbour-87"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let r = c
        .post(format!("{base}/api/uploads?filename=s3.mp3"))
        .body(backend::testing::sine_mp3(6, &[("title", "Bucket Song")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    worker::dispatch::drain(core).await.unwrap();
    let tracks: Vec<app::model::TrackItem> = c
        .post(format!("{base}{}", app::library::ListTracks::PATH))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| postcard::from_bytes(&b).unwrap())
        .unwrap();
    assert_eq!(tracks[0].title, "Bucket Song");
    let info: app::model::StreamInfo = c
        .post(format!("{base}{}", app::player::api::StreamTrack::PATH))
        .form(&[("track_id", tracks[0].id.as_str())])
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| postcard::from_bytes(&b).unwrap())
        .unwrap();
    (
        tracks[0].id.clone(),
        format!("{base}{}", info.url),
        info.bytes as u64,
    )
}

#[tokio::test]
async fn uploads_import_and_stream_with_ranges_from_s3_and_deletion_removes_the_objects() {
    let (base, core, _d) = start(false).await;
    let c = client();
    let (id, url, total) = imported(&base, &core, &c).await;
    let keys = core.storage.list("").await.unwrap();
    assert_eq!(keys.len(), 2, "original and rendition: {keys:?}");

    let r = c.get(&url).header(RANGE, "bytes=4-7").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        r.headers()[CONTENT_RANGE],
        format!("bytes 4-7/{total}").as_str()
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"ftyp");
    let last = c.get(&url).header(RANGE, "bytes=-1").send().await.unwrap();
    assert_eq!(
        last.headers()[CONTENT_RANGE],
        format!("bytes {0}-{0}/{total}", total - 1).as_str()
    );

    let r = c
        .post(format!("{base}{}", app::tracks::DeleteTrack::PATH))
        .form(&[("track_id", id.as_str())])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    assert!(core.storage.list("").await.unwrap().is_empty());
    assert_eq!(
        c.get(&url).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn streams_can_redirect_to_a_short_lived_presigned_url() {
    let (base, core, _d) = start(true).await;
    let c = client();
    let (_, url, total) = imported(&base, &core, &c).await;
    let r = c.get(&url).header(RANGE, "bytes=0-7").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT);
    let presigned = r.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(presigned.contains("X-Amz-Signature="), "{presigned}");
    assert!(presigned.contains("X-Amz-Expires="), "{presigned}");
    // The object store honours the Range itself.
    let r = reqwest::Client::new()
        .get(&presigned)
        .header(RANGE, "bytes=4-7")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        r.headers()[CONTENT_RANGE],
        format!("bytes 4-7/{total}").as_str()
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"ftyp");
    // A tampered presigned URL is refused by the store.
    let bad = presigned.replace("X-Amz-Signature=", "X-Amz-Signature=00");
    assert_eq!(
        reqwest::get(&bad).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
}
