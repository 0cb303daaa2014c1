//! Uploads: the size limit, empty bodies, the storage quota.

use crate::common::*;
use backend::testing::Backend;
use reqwest::StatusCode;
use server_fn::ServerFn;

/// An upload past a listener's quota is a 413 that says so.
async fn an_upload_past_the_quota_is_413_with_a_reason(b: Backend) {
    let srv = start(b, 64 << 20).await;
    let root = backend::auth::signup(&srv.core, "root@example.com", PW)
        .await
        .unwrap();
    let c = client();
    signup(&c, &srv, "full@example.com").await;
    let fan = backend::admin::list_users(&srv.core, &root, "full@", 1)
        .await
        .unwrap();
    backend::admin::set_quota(&srv.core, &root, &fan[0].id, Some(1 << 20))
        .await
        .unwrap();
    let r = c
        .post(format!("{}/api/uploads?filename=big.mp3", srv.base))
        .body(vec![1u8; 2 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.text().await.unwrap().contains("storage is full"));
}

async fn upload_over_the_limit_is_413_and_stores_nothing(b: Backend) {
    let srv = start(b, 64 * 1024).await;
    let c = client();
    signup(&c, &srv, "big@example.com").await;
    let r = c
        .post(format!("{}/api/uploads?filename=big.mp3", srv.base))
        .body(vec![0u8; 200 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(srv.core.storage.list("").await.unwrap().is_empty());
    let jobs: Vec<app::library::ImportItem> = call(&c, &srv, app::library::ListImports::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    assert!(jobs.is_empty());
}

async fn empty_upload_is_400_with_a_reason(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let c = client();
    signup(&c, &srv, "empty@example.com").await;
    let r = c
        .post(format!("{}/api/uploads?filename=e.mp3", srv.base))
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("empty"));
}

backend::on_both_databases!(
    upload_over_the_limit_is_413_and_stores_nothing,
    empty_upload_is_400_with_a_reason,
    an_upload_past_the_quota_is_413_with_a_reason,
);
