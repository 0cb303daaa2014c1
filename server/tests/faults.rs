//! Faults in what Refrain stands on (security matrix row 30), each on a private instance
//! the test starts, never the shared ones the other suites use: its own PostgreSQL
//! stopped and started again in the middle of an import; its own SQLite file write-locked
//! by another connection in the middle of an import; its own small disk filling up under
//! an upload and under ffmpeg's output. Each time: requests answer (a 503 or an error
//! that says what happened) instead of hanging, the server keeps serving, nothing partial
//! is kept, and the import, tried again, ends with exactly one track and one set of
//! objects.
//!
//! "In the middle of an import" is made exact with [`FfmpegGate`]: the import's encode
//! waits at a gate (the job is marked as processing, its results are not yet written)
//! while the test breaks something, then goes on. The disk tests mount a small tmpfs
//! (root only); where mounting is impossible they say so and skip.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use app::error::AppError;
use backend::testing::{Backend, FfmpegGate, PrivatePostgres, SmallDisk, free_port, sine_mp3};
use backend::{Core, imports, library};
use common::{Srv, Wire};
use server_fn::ServerFn;
use std::time::Duration;

/// Only guards against a hang: every step here normally takes a few seconds.
const GUARD: Duration = Duration::from_secs(120);
/// How long a request may take to answer while its database is away. It answers once the
/// pool gives up on a connection (5 s); a request that waited on the database for as long
/// as it pleased would hit this.
const ANSWER: Duration = Duration::from_secs(20);

/// Uploads `body` as `name`; returns the HTTP status and the answer's JSON.
async fn upload(
    c: &reqwest::Client,
    base: &str,
    name: &str,
    body: Vec<u8>,
) -> (reqwest::StatusCode, serde_json::Value) {
    let r = tokio::time::timeout(
        ANSWER,
        c.post(format!("{base}/api/uploads?filename={name}"))
            .body(body)
            .send(),
    )
    .await
    .expect("the upload was answered")
    .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or_default())
}

async fn count(core: &Core, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&core.db).await.unwrap()
}

/// The rows an import leaves, table by table, for comparing with what is expected.
async fn rows(core: &Core) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for (name, sql) in [
        ("import_jobs", "SELECT COUNT(*) FROM import_jobs"),
        ("tracks", "SELECT COUNT(*) FROM tracks"),
        ("artists", "SELECT COUNT(*) FROM artists"),
        (
            "processed import events",
            "SELECT COUNT(*) FROM processed_events WHERE handler = 'import'",
        ),
        (
            "unsettled events",
            "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL",
        ),
    ] {
        out.push((name, count(core, sql).await));
    }
    out
}

/// What a finished import of one file leaves: one job, one track, one artist, its event
/// handled once and settled.
const ONE_IMPORT: [(&str, i64); 5] = [
    ("import_jobs", 1),
    ("tracks", 1),
    ("artists", 1),
    ("processed import events", 1),
    ("unsettled events", 0),
];

/// The objects of one finished import: its original and its rendition, nothing else.
async fn assert_one_set_of_objects(core: &Core, job_id: &str) {
    let (original, rendition, _) = imports::job_object_keys(job_id);
    assert_eq!(
        core.storage.list("").await.unwrap(),
        vec![original, rendition],
        "one set of objects"
    );
}

async fn job(core: &Core, id: &str) -> imports::JobView {
    imports::repo::get(&core.db, id).await.unwrap().unwrap()
}

/// The signed-in user's tracks, as the library page asks for them.
async fn list_tracks(c: &reqwest::Client, srv: &Srv) -> reqwest::Response {
    tokio::time::timeout(
        ANSWER,
        common::call(c, srv, app::library::ListTracks::PATH, &[]),
    )
    .await
    .expect("the request was answered")
}

/// Asserts that `r` is a 503 whose message names the database.
async fn assert_database_unavailable(r: reqwest::Response, what: &str) {
    assert_eq!(
        r.status(),
        reqwest::StatusCode::SERVICE_UNAVAILABLE,
        "{what} while the database is away"
    );
    assert!(
        r.headers().contains_key("retry-after"),
        "{what}: Retry-After"
    );
    match r.app_error().await {
        AppError::Unavailable(m) => assert!(m.contains("atabase"), "{what}: {m}"),
        other => panic!("{what}: {other:?}"),
    }
}

/// A Refrain server (in this process, on port 0) on `config`.
async fn serve(config: backend::Config, dir: tempfile::TempDir) -> Srv {
    let core = Core::init(config).await.unwrap();
    Srv {
        base: common::serve(&core).await,
        core,
        _dir: dir,
    }
}

#[tokio::test]
async fn postgres_restarted_mid_import_answers_503_meanwhile_and_imports_exactly_once() {
    let pg = PrivatePostgres::start().await;
    let gate = FfmpegGate::new();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Backend::Sqlite.config(&dir.path().join("data")).await;
    config.database.url = pg.url();
    config.events.embedded_worker = false;
    config.media.ffmpeg = gate.program.clone();
    let srv = serve(config, dir).await;
    let c = common::client();
    common::signup(&c, &srv, "restart@example.com").await;
    let (status, uploaded) = upload(
        &c,
        &srv.base,
        "restart.mp3",
        sine_mp3(3, &[("title", "Through a Restart")]),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{uploaded}");
    let job_id = uploaded["id"].as_str().unwrap().to_string();

    // The import starts; PostgreSQL stops while ffmpeg encodes.
    let importing = tokio::spawn({
        let core = srv.core.clone();
        async move { worker::dispatch::drain(&core).await }
    });
    gate.wait_until_held(GUARD).await;
    pg.stop().await;
    gate.open();
    // The import cannot store its results: it gives up on this attempt (leaving its event
    // to be tried again) instead of waiting for the database.
    let attempt = tokio::time::timeout(GUARD, importing)
        .await
        .expect("the import attempt ended")
        .unwrap();
    assert!(attempt.is_err(), "{attempt:?}");
    // The original stays for the retry. The rendition may stay too: whether the track
    // row that points at it was committed cannot be known while the database is away,
    // and the retry writes it again under the same key.
    let (original, rendition, _) = imports::job_object_keys(&job_id);
    let kept = srv.core.storage.list("").await.unwrap();
    assert!(kept.contains(&original), "{kept:?}");
    assert!(
        kept.iter().all(|k| *k == original || *k == rendition),
        "{kept:?}"
    );
    let objects = kept.len();

    // Requests answer, with a 503 that says what is wrong.
    assert_database_unavailable(list_tracks(&c, &srv).await, "a server function").await;
    let (status, body) = upload(&c, &srv.base, "during.mp3", sine_mp3(1, &[])).await;
    assert_eq!(
        status,
        reqwest::StatusCode::SERVICE_UNAVAILABLE,
        "an upload: {body}"
    );
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("atabase"),
        "{body}"
    );
    let ready = tokio::time::timeout(ANSWER, c.get(format!("{}/readyz", srv.base)).send())
        .await
        .expect("/readyz answered")
        .unwrap();
    assert_eq!(ready.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    // The server itself keeps running.
    let health = c.get(format!("{}/healthz", srv.base)).send().await.unwrap();
    assert_eq!(health.status(), reqwest::StatusCode::OK);
    assert_eq!(
        srv.core.storage.list("").await.unwrap().len(),
        objects,
        "the refused upload kept no object"
    );

    // PostgreSQL is back: the event is tried again and the import completes, once.
    pg.start_again().await;
    tokio::time::timeout(GUARD, worker::dispatch::drain(&srv.core))
        .await
        .expect("the retry ended")
        .unwrap();
    let j = job(&srv.core, &job_id).await;
    assert_eq!(j.state, imports::JobState::Done, "{:?}", j.error);
    assert_eq!(
        library::repo::count_tracks_for_job(&srv.core.db, &job_id)
            .await
            .unwrap(),
        1
    );
    assert_eq!(rows(&srv.core).await, ONE_IMPORT);
    assert_one_set_of_objects(&srv.core, &job_id).await;
    let tracks: Vec<app::model::TrackItem> = list_tracks(&c, &srv).await.wire().await.unwrap();
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].title, "Through a Restart");
}

/// Another connection takes SQLite's write lock (`BEGIN IMMEDIATE`) while an import
/// encodes, and holds it past the busy timeout (10 s): the import's write gives up
/// cleanly (nothing of it is kept) and reads keep answering, since readers never wait for
/// a writer in WAL mode; a write request answers 503 and keeps no object. Once the lock
/// is released, the event tried again makes exactly one track.
#[tokio::test]
async fn a_sqlite_write_lock_held_mid_import_fails_the_attempt_cleanly_and_the_retry_imports_once()
{
    let gate = FfmpegGate::new();
    let srv = common::start_with(Backend::Sqlite, |c| c.media.ffmpeg = gate.program.clone()).await;
    let c = common::client();
    common::signup(&c, &srv, "locked@example.com").await;
    let (status, uploaded) = upload(
        &c,
        &srv.base,
        "locked.mp3",
        sine_mp3(3, &[("title", "Behind a Lock")]),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{uploaded}");
    let job_id = uploaded["id"].as_str().unwrap().to_string();
    let importing = tokio::spawn({
        let core = srv.core.clone();
        async move { worker::dispatch::drain(&core).await }
    });
    gate.wait_until_held(GUARD).await;

    let mut locker = {
        use sqlx::Connection;
        sqlx::SqliteConnection::connect(&srv.core.config.database.url)
            .await
            .unwrap()
    };
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut locker)
        .await
        .unwrap();
    gate.open();

    // While it is held: reads answer...
    let tracks: Vec<app::model::TrackItem> = list_tracks(&c, &srv).await.wire().await.unwrap();
    assert!(tracks.is_empty());
    let page = c.get(format!("{}/library", srv.base)).send().await.unwrap();
    let status = page.status();
    let text = page.text().await.unwrap();
    assert!(
        status.is_success(),
        "{status}: {}",
        &text[..text.len().min(2000)]
    );
    // ...a write request answers once the busy timeout runs out, and keeps nothing...
    let (status, body) = upload(&c, &srv.base, "meanwhile.mp3", sine_mp3(1, &[])).await;
    assert_eq!(
        status,
        reqwest::StatusCode::SERVICE_UNAVAILABLE,
        "an upload: {body}"
    );
    // ...and the import's attempt gives up.
    let attempt = tokio::time::timeout(GUARD, importing)
        .await
        .expect("the import attempt ended")
        .unwrap();
    assert!(attempt.is_err(), "{attempt:?}");
    // No object of the refused upload; the job's rendition may stay (it is written again
    // under the same key, as after the PostgreSQL restart above).
    let (original, rendition, _) = imports::job_object_keys(&job_id);
    let kept = srv.core.storage.list("").await.unwrap();
    assert!(kept.contains(&original), "{kept:?}");
    assert!(
        kept.iter().all(|k| *k == original || *k == rendition),
        "{kept:?}"
    );
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    drop(locker);
    assert_eq!(
        count(&srv.core, "SELECT COUNT(*) FROM tracks").await,
        0,
        "no partial rows"
    );

    tokio::time::timeout(GUARD, worker::dispatch::drain(&srv.core))
        .await
        .expect("the retry ended")
        .unwrap();
    let j = job(&srv.core, &job_id).await;
    assert_eq!(j.state, imports::JobState::Done, "{:?}", j.error);
    assert_eq!(rows(&srv.core).await, ONE_IMPORT);
    assert_one_set_of_objects(&srv.core, &job_id).await;
}

/// A write lock held for less than the busy timeout only delays the import.
#[tokio::test]
async fn a_short_sqlite_write_lock_mid_import_only_delays_it() {
    let gate = FfmpegGate::new();
    let srv = common::start_with(Backend::Sqlite, |c| c.media.ffmpeg = gate.program.clone()).await;
    let c = common::client();
    common::signup(&c, &srv, "waits@example.com").await;
    let (status, uploaded) = upload(&c, &srv.base, "waits.mp3", sine_mp3(2, &[])).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{uploaded}");
    let job_id = uploaded["id"].as_str().unwrap().to_string();
    let importing = tokio::spawn({
        let core = srv.core.clone();
        async move { worker::dispatch::drain(&core).await }
    });
    gate.wait_until_held(GUARD).await;
    let mut locker = {
        use sqlx::Connection;
        sqlx::SqliteConnection::connect(&srv.core.config.database.url)
            .await
            .unwrap()
    };
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut locker)
        .await
        .unwrap();
    gate.open();
    tokio::time::sleep(Duration::from_secs(2)).await;
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    tokio::time::timeout(GUARD, importing)
        .await
        .expect("the import ended")
        .unwrap()
        .unwrap();
    assert_eq!(job(&srv.core, &job_id).await.state, imports::JobState::Done);
    assert_eq!(rows(&srv.core).await, ONE_IMPORT);
    assert_one_set_of_objects(&srv.core, &job_id).await;
}

/// Mounts a small disk, or says (printed in the test's output) why this machine cannot.
fn small_disk(bytes: u64) -> Option<SmallDisk> {
    match SmallDisk::mount(bytes) {
        Ok(d) => Some(d),
        Err(why) => {
            eprintln!("SKIPPED: this test needs to mount a small tmpfs (run as root): {why}");
            None
        }
    }
}

/// Waits (bounded) until nothing is left on `disk` (a partial file's removal may finish
/// just after the answer went out).
async fn wait_until_empty(disk: &SmallDisk) {
    let deadline = tokio::time::Instant::now() + GUARD;
    while !disk.files().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "left on the disk: {:?}",
            disk.files()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The object store is a 1 MiB disk; a 3 MiB upload fills it. The answer says the
/// server has no room, the partial file is deleted, no job row is written, and the server
/// goes on taking (and importing) uploads that fit.
#[tokio::test]
async fn an_upload_that_fills_the_disk_keeps_nothing_and_the_server_goes_on() {
    let Some(disk) = small_disk(1 << 20) else {
        return;
    };
    let path = disk.path.clone();
    let srv = common::start_with(Backend::Sqlite, |c| c.storage.storage_dir = path).await;
    let c = common::client();
    common::signup(&c, &srv, "full@example.com").await;
    let (status, body) = upload(&c, &srv.base, "big.bin", vec![0x5a; 3 << 20]).await;
    assert_eq!(status, reqwest::StatusCode::INSUFFICIENT_STORAGE, "{body}");
    let msg = body["error"].as_str().unwrap_or_default();
    assert!(msg.contains("room"), "{msg}");
    wait_until_empty(&disk).await;
    assert_eq!(
        count(&srv.core, "SELECT COUNT(*) FROM import_jobs").await,
        0
    );
    assert!(srv.core.storage.list("").await.unwrap().is_empty());

    // The server goes on: an upload that fits is taken and imported.
    let (status, uploaded) = upload(
        &c,
        &srv.base,
        "small.mp3",
        sine_mp3(2, &[("title", "Fits")]),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{uploaded}");
    let job_id = uploaded["id"].as_str().unwrap().to_string();
    worker::dispatch::drain(&srv.core).await.unwrap();
    assert_eq!(job(&srv.core, &job_id).await.state, imports::JobState::Done);
    assert_eq!(rows(&srv.core).await, ONE_IMPORT);
    assert_one_set_of_objects(&srv.core, &job_id).await;
}

const SERVER: &str = env!("CARGO_BIN_EXE_refrain");

/// A real `refrain` process whose temporary folder (where ffmpeg writes the rendition)
/// is a disk with room for the upload's original but not for its rendition. The import
/// fails with a reason that says so, and is not taken for a broken file: the original is
/// kept and the job can be tried again. Nothing partial is left (no temporary file, no
/// rendition, no track row), and the server keeps serving. With room again, the retry
/// makes exactly one track.
#[tokio::test]
async fn ffmpeg_output_that_fills_the_disk_fails_the_import_cleanly_and_a_retry_imports_once() {
    let original = sine_mp3(30, &[("title", "Room to Breathe")]);
    // The original is copied there first; the rendition (AAC at 192 kbit/s, about
    // 720 KB) does not fit in what is left.
    let Some(disk) = small_disk(original.len() as u64 + (64 << 10)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = Backend::Sqlite.config(&dir.path().join("data")).await;
    config.events.embedded_worker = true;
    config.events.max_event_attempts = 2;
    // This process writes the upload; the server process imports it.
    let core = Core::init(config.clone()).await.unwrap();
    let user = backend::auth::signup(&core, "tmpfull@example.com", common::PW)
        .await
        .unwrap();
    let port = free_port();
    let mut env = backend::testing::env_of(&config);
    env.extend([
        ("REFRAIN_PORT".to_string(), port.to_string()),
        ("TMPDIR".to_string(), disk.path.display().to_string()),
    ]);
    let server = backend::testing::Proc::spawn(SERVER, &["serve"], &env);
    let base = format!("http://127.0.0.1:{port}");
    let c = common::client();
    let deadline = tokio::time::Instant::now() + GUARD;
    while c.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server never answered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let body = futures::stream::iter(vec![Ok::<_, std::io::Error>(bytes::Bytes::from(original))]);
    let job_id = imports::create_upload(&core, &user, "room.mp3", None, body)
        .await
        .unwrap()
        .id;
    let deadline = tokio::time::Instant::now() + GUARD;
    let failed = loop {
        let j = job(&core, &job_id).await;
        if matches!(j.state, imports::JobState::Done | imports::JobState::Failed) {
            break j;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the import never ended"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(failed.state, imports::JobState::Failed);
    let why = failed.error.unwrap_or_default();
    assert!(
        why.contains("space"),
        "the reason says the disk is full: {why}"
    );
    assert!(
        !why.contains("decode"),
        "not taken for a broken file: {why}"
    );
    wait_until_empty(&disk).await;
    assert_eq!(count(&core, "SELECT COUNT(*) FROM tracks").await, 0);
    let (original_key, _, _) = imports::job_object_keys(&job_id);
    assert_eq!(
        core.storage.list("").await.unwrap(),
        vec![original_key],
        "the original is kept for a retry; no rendition"
    );
    let health = c.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), reqwest::StatusCode::OK);

    // With room again, the import is tried again and completes, once.
    disk.resize(64 << 20);
    imports::desk::retry(&core, &user, &job_id).await.unwrap();
    let deadline = tokio::time::Instant::now() + GUARD;
    loop {
        let j = job(&core, &job_id).await;
        if j.state == imports::JobState::Done {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the retry never completed: {j:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Two events (the upload's, given up on, and the retry's), one track.
    let mut expected = ONE_IMPORT.to_vec();
    expected[3].1 = 2;
    assert_eq!(rows(&core).await, expected);
    assert_one_set_of_objects(&core, &job_id).await;
    wait_until_empty(&disk).await;
    server.kill().await;
}
