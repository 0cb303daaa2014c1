//! Listeners' personal uploads stay within a quota an admin can change; an upload that
//! would not fit is refused and leaves nothing behind. Both databases.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::{self, CurrentUser};
use backend::imports::{self, quota};
use backend::testing::Backend;
use backend::{Core, Error, admin};
use bytes::Bytes;

const PW: &str = "violet-harbour-87";
const MB: u64 = 1024 * 1024;

async fn upload(
    core: &Core,
    user: &CurrentUser,
    name: &str,
    size: usize,
) -> backend::Result<imports::JobView> {
    let body = futures::stream::iter(
        vec![
            Bytes::from(vec![7u8; size / 2]),
            Bytes::from(vec![7u8; size - size / 2]),
        ]
        .into_iter()
        .map(Ok::<_, std::io::Error>),
    );
    imports::create_upload(core, user, name, None, body).await
}

async fn uploads_stop_at_the_quota_and_keep_nothing_past_it(b: Backend) {
    let (core, _d) = b.core().await;
    let root = auth::signup(&core, "root@example.com", PW).await.unwrap();
    let listener = auth::signup(&core, "fan@example.com", PW).await.unwrap();
    assert_eq!(
        quota::usage(&core, &listener).await.unwrap().quota_bytes,
        Some(core.config.default_quota_bytes)
    );
    admin::set_quota(&core, &root, &listener.id, Some(MB))
        .await
        .unwrap();
    upload(&core, &listener, "a.mp3", 600 * 1024).await.unwrap();
    let usage = quota::usage(&core, &listener).await.unwrap();
    assert_eq!(usage.used_bytes, 600 * 1024);
    assert_eq!(usage.quota_bytes, Some(MB));
    // The second file does not fit in what is left: refused while streaming, not stored.
    let r = upload(&core, &listener, "b.mp3", 600 * 1024).await;
    assert!(
        matches!(r, Err(Error::QuotaExceeded { quota }) if quota == MB),
        "{r:?}"
    );
    assert_eq!(core.storage.list("originals").await.unwrap().len(), 1);
    assert_eq!(imports::list_jobs(&core, &listener).await.unwrap().len(), 1);
    // The admin (shared catalog) has no quota.
    upload(&core, &root, "big.mp3", 2 * MB as usize)
        .await
        .unwrap();
    // Back to the default: room again.
    admin::set_quota(&core, &root, &listener.id, None)
        .await
        .unwrap();
    upload(&core, &listener, "b.mp3", 600 * 1024).await.unwrap();
    let log = admin::audit_log(&core, &root, 5).await.unwrap();
    assert_eq!(log[0].action, "quota.set");
    assert!(log[1].detail.contains("set to 1 MB"), "{}", log[1].detail);
}

async fn failed_imports_do_not_count_against_the_quota(b: Backend) {
    let (core, _d) = b.core().await;
    let root = auth::signup(&core, "root@example.com", PW).await.unwrap();
    let listener = auth::signup(&core, "fan@example.com", PW).await.unwrap();
    admin::set_quota(&core, &root, &listener.id, Some(MB))
        .await
        .unwrap();
    let j = upload(&core, &listener, "bad.mp3", 900 * 1024)
        .await
        .unwrap();
    imports::fail_job(&core, &j.id, None, "not audio")
        .await
        .unwrap();
    assert_eq!(quota::used_bytes(&core.db, &listener.id).await.unwrap(), 0);
    upload(&core, &listener, "good.mp3", 900 * 1024)
        .await
        .unwrap();
}

backend::on_both_databases!(
    uploads_stop_at_the_quota_and_keep_nothing_past_it,
    failed_imports_do_not_count_against_the_quota,
);
