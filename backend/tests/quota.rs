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
        Some(core.config.storage.default_quota_bytes)
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

/// What the tally must equal: the jobs still running or with a track, summed.
async fn summed(db: &sqlx::AnyPool, user_id: &str) -> u64 {
    let n: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(j.size_bytes), 0) AS BIGINT) FROM import_jobs j
         WHERE j.user_id = $1 AND (j.state IN ('queued', 'processing')
           OR EXISTS (SELECT 1 FROM tracks t WHERE t.import_job_id = j.id))",
    )
    .bind(user_id)
    .fetch_one(db)
    .await
    .unwrap();
    u64::try_from(n).unwrap()
}

/// The kept usage after each change a job or a track can go through: equal to the sum
/// over the user's jobs, and to the figure the change should give.
async fn usage_follows_every_change_to_jobs_and_tracks(b: Backend) {
    use backend::imports::{JobState, repo};
    use backend::testing::{SeedTrack, seed_track};
    let (core, _d) = b.core().await;
    let db = &core.db;
    let fan = auth::signup(&core, "fan@example.com", PW).await.unwrap();
    let other = auth::signup(&core, "other@example.com", PW).await.unwrap();
    let check = async |expected: u64, step: &str| {
        let kept = quota::used_bytes(db, &fan.id).await.unwrap();
        assert_eq!(
            kept,
            summed(db, &fan.id).await,
            "kept usage drifted at: {step}"
        );
        assert_eq!(kept, expected, "at: {step}");
    };
    check(0, "nothing yet").await;
    let song = SeedTrack {
        title: "Song",
        artist: "Someone",
        ..SeedTrack::default()
    };
    let track = seed_track(&core, &fan.id, song.clone()).await;
    seed_track(&core, &other.id, song).await;
    let first: String = sqlx::query_scalar("SELECT import_job_id FROM tracks WHERE id = $1")
        .bind(&track)
        .fetch_one(db)
        .await
        .unwrap();
    check(1, "a queued job with its track").await;
    repo::set_size(db, &first, 1000).await.unwrap();
    check(1000, "the job's size known").await;
    repo::set_state(db, &first, JobState::Done, None, Some(&track))
        .await
        .unwrap();
    check(1000, "done, with its track").await;
    repo::insert(db, "j-failing", &fan.id, "x.mp3", "k2", 500)
        .await
        .unwrap();
    check(1500, "a second job queued").await;
    repo::set_state(db, "j-failing", JobState::Failed, Some("not audio"), None)
        .await
        .unwrap();
    check(1000, "the second job failed").await;
    repo::insert(db, "j-empty", &fan.id, "y.mp3", "k3", 700)
        .await
        .unwrap();
    repo::set_state(db, "j-empty", JobState::Done, None, None)
        .await
        .unwrap();
    check(1000, "a job done without a track").await;
    sqlx::query("UPDATE tracks SET import_job_id = 'j-empty' WHERE id = $1")
        .bind(&track)
        .execute(db)
        .await
        .unwrap();
    check(700, "the track moved to another job").await;
    sqlx::query("DELETE FROM tracks WHERE id = $1")
        .bind(&track)
        .execute(db)
        .await
        .unwrap();
    check(0, "the track deleted").await;
    sqlx::query("DELETE FROM import_jobs WHERE user_id = $1")
        .bind(&fan.id)
        .execute(db)
        .await
        .unwrap();
    check(0, "the jobs deleted").await;
    // The other account's usage never moved.
    assert_eq!(quota::used_bytes(db, &other.id).await.unwrap(), 1);
    assert_eq!(summed(db, &other.id).await, 1);
}

/// Two uploads racing for the last room in a quota: both pass the early check, and the
/// one recorded second is refused, keeping nothing.
async fn racing_uploads_cannot_overshoot_the_quota(b: Backend) {
    let (core, _d) = b.core().await;
    let root = auth::signup(&core, "root@example.com", PW).await.unwrap();
    let listener = auth::signup(&core, "fan@example.com", PW).await.unwrap();
    admin::set_quota(&core, &root, &listener.id, Some(MB))
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        upload(&core, &listener, "a.mp3", 600 * 1024),
        upload(&core, &listener, "b.mp3", 600 * 1024),
    );
    let refused = [&a, &b]
        .iter()
        .filter(|r| matches!(r, Err(Error::QuotaExceeded { .. })))
        .count();
    assert_eq!(
        (a.is_ok() as usize + b.is_ok() as usize, refused),
        (1, 1),
        "{a:?} {b:?}"
    );
    assert_eq!(
        quota::usage(&core, &listener).await.unwrap().used_bytes,
        600 * 1024
    );
    assert_eq!(core.storage.list("originals").await.unwrap().len(), 1);
    assert_eq!(imports::list_jobs(&core, &listener).await.unwrap().len(), 1);
}

backend::on_both_databases!(
    racing_uploads_cannot_overshoot_the_quota,
    uploads_stop_at_the_quota_and_keep_nothing_past_it,
    failed_imports_do_not_count_against_the_quota,
    usage_follows_every_change_to_jobs_and_tracks,
);
