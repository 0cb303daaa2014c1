//! Upload rules: streaming into storage, size limit, empty files, job + outbox atomicity.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::{self, CurrentUser};
use backend::events::{self, repo as outbox};
use backend::testing::Backend;
use backend::{Core, Error, imports};
use bytes::Bytes;
use futures::stream;

async fn setup(b: Backend, limit: u64) -> (Core, CurrentUser, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = b.config(dir.path()).await;
    config.storage.max_upload_bytes = limit;
    let core = Core::init(config).await.unwrap();
    let user = auth::signup(&core, "up@example.com", "violet-harbour-87")
        .await
        .unwrap();
    // The sign-up's own event (its welcome) is not what these tests count.
    backend::testing::settle_outbox(&core.db).await;
    (core, user, dir)
}

fn body(
    chunks: Vec<Vec<u8>>,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
    stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c))))
}

async fn upload_records_a_queued_job_and_its_event_together(b: Backend) {
    let (core, user, _d) = setup(b, 1024 * 1024).await;
    let job = imports::create_upload(
        &core,
        &user,
        "song.mp3",
        None,
        body(vec![vec![1; 1000], vec![2; 500]]),
    )
    .await
    .unwrap();
    assert_eq!(job.size_bytes, 1500);
    assert_eq!(job.state, imports::JobState::Queued);
    assert_eq!(core.storage.size(&job.original_key).await.unwrap(), 1500);
    let pending = outbox::pending(&core.db, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].event.topic, events::IMPORT_REQUESTED);
    assert_eq!(pending[0].event.payload["job_id"], job.id);
}

async fn upload_over_the_limit_stores_nothing(b: Backend) {
    let (core, user, _d) = setup(b, 1000).await;
    let e = imports::create_upload(
        &core,
        &user,
        "big.mp3",
        None,
        body(vec![vec![0; 600], vec![0; 600]]),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::TooLarge { limit: 1000 }), "{e:?}");
    assert!(core.storage.list("originals").await.unwrap().is_empty());
    assert!(imports::list_jobs(&core, &user).await.unwrap().is_empty());
    assert_eq!(outbox::backlog(&core.db).await.unwrap(), 0);
}

async fn declared_length_over_the_limit_is_refused_before_reading(b: Backend) {
    let (core, user, _d) = setup(b, 1000).await;
    let e = imports::create_upload(&core, &user, "big.mp3", Some(5000), body(vec![]))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }));
    assert!(core.storage.list("originals").await.unwrap().is_empty());
}

async fn empty_upload_is_refused_and_stores_nothing(b: Backend) {
    let (core, user, _d) = setup(b, 1000).await;
    let e = imports::create_upload(&core, &user, "empty.mp3", None, body(vec![]))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Invalid(_)), "{e:?}");
    assert!(core.storage.list("originals").await.unwrap().is_empty());
    assert!(imports::list_jobs(&core, &user).await.unwrap().is_empty());
}

async fn interrupted_upload_stores_nothing(b: Backend) {
    let (core, user, _d) = setup(b, 1 << 20).await;
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from(vec![1u8; 100])),
        Err(std::io::Error::other("connection reset")),
    ];
    let e = imports::create_upload(&core, &user, "cut.mp3", None, stream::iter(chunks))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Invalid(_)), "{e:?}");
    assert!(core.storage.list("originals").await.unwrap().is_empty());
    assert!(imports::list_jobs(&core, &user).await.unwrap().is_empty());
}

#[test]
fn file_names_lose_paths_and_control_characters() {
    assert_eq!(
        imports::validate_filename("../../etc/passwd").unwrap(),
        "passwd"
    );
    assert_eq!(
        imports::validate_filename("C:\\music\\a\u{0}b.mp3").unwrap(),
        "ab.mp3"
    );
    assert!(imports::validate_filename("..").is_err());
    assert!(imports::validate_filename("   ").is_err());
    assert!(imports::validate_filename(&"a".repeat(300)).is_err());
}

/// Matrix row 23: a link whose last segment decodes to a path (`..%2F`, `%5C`) names its
/// import by the file's own name, never by a path; one that names nothing is named by its
/// host.
async fn link_names_lose_encoded_paths(b: Backend) {
    let (core, user, _d) = setup(b, 1 << 20).await;
    for (link, name) in [
        (
            "https://music.example.com/a/..%2F..%2Fetc%2Fpasswd.mp3",
            "passwd.mp3",
        ),
        (
            "https://music.example.com/%5C..%5C..%5Cboot.mp3",
            "boot.mp3",
        ),
        ("https://music.example.com/feed/..%2F", "music.example.com"),
        ("https://music.example.com/%2E%2E", "music.example.com"),
    ] {
        let job = imports::create_from_url(&core, &user, link).await.unwrap();
        assert_eq!(job.filename, name, "{link}");
    }
}

async fn jobs_are_listed_only_to_their_owner(b: Backend) {
    let (core, user, _d) = setup(b, 1 << 20).await;
    let other = auth::signup(&core, "other@example.com", "violet-harbour-87")
        .await
        .unwrap();
    imports::create_upload(&core, &user, "mine.mp3", None, body(vec![vec![1; 10]]))
        .await
        .unwrap();
    assert_eq!(imports::list_jobs(&core, &user).await.unwrap().len(), 1);
    assert!(imports::list_jobs(&core, &other).await.unwrap().is_empty());
}

backend::on_both_databases!(
    upload_records_a_queued_job_and_its_event_together,
    upload_over_the_limit_stores_nothing,
    declared_length_over_the_limit_is_refused_before_reading,
    empty_upload_is_refused_and_stores_nothing,
    interrupted_upload_stores_nothing,
    jobs_are_listed_only_to_their_owner,
    link_names_lose_encoded_paths,
);
