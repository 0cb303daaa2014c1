//! The import desk against the real pipeline: a failed job is retried once (a second
//! retry or a redelivered event changes nothing), a refused upload cannot be retried but a
//! given-up one can, a waiting job is cancelled at once and a running one stops its ffmpeg,
//! admins see and purge every user's jobs while users see and act on their own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::{self, CurrentUser};
use backend::imports::desk::{self, Cancelled, Filter, Scope};
use backend::imports::{self, JobState};
use backend::testing::{Backend, sine_mp3};
use backend::{Core, Error, library};
use bytes::Bytes;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PW: &str = "violet-harbour-87";

/// Serves `/flaky.mp3`: 503 to the first request, the audio to every later one.
async fn flaky_site(mp3: Vec<u8>) -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let mp3 = mp3.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let (head, body) = if n == 0 {
                    (
                        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n".to_string(),
                        Vec::new(),
                    )
                } else {
                    (
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nContent-Length: {}\r\n",
                            mp3.len()
                        ),
                        mp3,
                    )
                };
                let _ = sock
                    .write_all(format!("{head}Connection: close\r\n\r\n").as_bytes())
                    .await;
                let _ = sock.write_all(&body).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (port, hits)
}

struct Setup {
    core: Core,
    admin: CurrentUser,
    bob: CurrentUser,
    _dir: tempfile::TempDir,
}

async fn setup(b: Backend, tweak: impl FnOnce(&mut backend::Config)) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let mut config = b.config(&dir.path().join("data")).await;
    tweak(&mut config);
    let core = Core::init(config).await.unwrap();
    let admin = auth::signup(&core, "admin@example.com", PW).await.unwrap();
    let bob = auth::signup(&core, "bob@example.com", PW).await.unwrap();
    Setup {
        core,
        admin,
        bob,
        _dir: dir,
    }
}

async fn upload(core: &Core, user: &CurrentUser, name: &str, data: Vec<u8>) -> imports::JobView {
    let s = futures::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from(data))]);
    imports::create_upload(core, user, name, None, s)
        .await
        .unwrap()
}

async fn shown(core: &Core, user: &CurrentUser, scope: Scope, id: &str) -> desk::DeskJob {
    let all = desk::list(
        core,
        user,
        scope,
        &Filter {
            limit: 200,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    all.into_iter()
        .find(|j| j.id == id)
        .expect("job on the desk")
}

async fn a_failed_job_is_retried_once_and_then_imports(b: Backend) {
    let mp3 = sine_mp3(2, &[("title", "Second Try"), ("artist", "Flaky")]);
    let (site, hits) = flaky_site(mp3).await;
    let s = setup(b, |c| {
        c.imports.allow_hosts = vec![format!("127.0.0.1:{site}")]
    })
    .await;
    let job = imports::create_from_url(
        &s.core,
        &s.bob,
        &format!("http://127.0.0.1:{site}/flaky.mp3"),
    )
    .await
    .unwrap();
    worker::dispatch::drain(&s.core).await.unwrap();
    let j = shown(&s.core, &s.bob, Scope::Own, &job.id).await;
    assert_eq!(j.state, "failed");
    assert!(j.error.as_deref().unwrap().contains("503"), "{:?}", j.error);
    assert!(j.retryable);
    assert_eq!(j.attempts, 1);

    desk::retry(&s.core, &s.bob, &job.id).await.unwrap();
    // A second press before the worker got to it: refused, nothing queued twice.
    let e = desk::retry(&s.core, &s.bob, &job.id).await.unwrap_err();
    assert!(matches!(e, Error::Invalid(_)), "{e:?}");
    worker::dispatch::drain(&s.core).await.unwrap();
    let j = shown(&s.core, &s.admin, Scope::All, &job.id).await;
    assert_eq!(j.state, "done", "{:?}", j.error);
    assert_eq!((j.attempts, j.retryable), (2, false));
    assert_eq!(j.owner_email.as_deref(), Some("bob@example.com"));
    assert!(j.duration_ms.unwrap() > 1500);
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    // Every event of the job delivered again: still one track, nothing fetched again.
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT event_id, topic, aggregate_id, payload FROM outbox WHERE aggregate_id = $1",
    )
    .bind(&job.id)
    .fetch_all(&s.core.db)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2, "the retry wrote one new event");
    for (id, topic, aggregate_id, payload) in rows {
        let ev = backend::events::Event {
            id,
            topic,
            aggregate_id,
            payload: serde_json::from_str(&payload).unwrap(),
            traceparent: None,
        };
        worker::handle(&s.core, &ev).await.unwrap();
    }
    assert_eq!(
        library::list_tracks(&s.core, &s.bob).await.unwrap().len(),
        1
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    let e = desk::retry(&s.core, &s.bob, &job.id).await.unwrap_err();
    assert!(
        matches!(e, Error::Invalid(_)),
        "a done job is not retried: {e:?}"
    );
}

async fn a_refused_upload_cannot_be_retried_but_a_given_up_one_can(b: Backend) {
    let s = setup(b, |_| {}).await;
    let junk = upload(
        &s.core,
        &s.bob,
        "notes.mp3",
        b"words, not music\n".repeat(50),
    )
    .await;
    worker::dispatch::drain(&s.core).await.unwrap();
    let j = shown(&s.core, &s.bob, Scope::Own, &junk.id).await;
    assert_eq!((j.state.as_str(), j.retryable), ("failed", false));
    let e = desk::retry(&s.core, &s.bob, &junk.id).await.unwrap_err();
    assert!(matches!(e, Error::Invalid(m) if m.contains("upload it again")));

    // A job the worker gave up on after transient errors keeps its file for a retry.
    let good = upload(
        &s.core,
        &s.bob,
        "tune.mp3",
        sine_mp3(2, &[("title", "Kept")]),
    )
    .await;
    let ev = backend::events::repo::pending(&s.core.db, 10)
        .await
        .unwrap()
        .remove(0);
    worker::give_up(&s.core, &ev.event, "object storage unreachable")
        .await
        .unwrap();
    backend::events::repo::mark_failed(&s.core.db, ev.seq, "object storage unreachable", true)
        .await
        .unwrap();
    let j = shown(&s.core, &s.bob, Scope::Own, &good.id).await;
    assert_eq!(
        (j.state.as_str(), j.retryable),
        ("failed", true),
        "{:?}",
        j.error
    );
    assert!(s.core.storage.exists(&good.original_key).await.unwrap());
    desk::retry(&s.core, &s.bob, &good.id).await.unwrap();
    worker::dispatch::drain(&s.core).await.unwrap();
    assert_eq!(
        shown(&s.core, &s.bob, Scope::Own, &good.id).await.state,
        "done"
    );
    assert_eq!(
        library::list_tracks(&s.core, &s.bob).await.unwrap()[0].title,
        "Kept"
    );
}

/// Whether process `pid` is gone (or only a zombie waiting to be reaped).
fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

async fn a_waiting_job_is_cancelled_at_once_and_a_running_one_stops_its_ffmpeg(b: Backend) {
    // ffmpeg stands in as a script that records its PID and hangs, as a long transcode
    // would; the real ffprobe still checks the file first.
    let tools = tempfile::tempdir().unwrap();
    let pid_file = tools.path().join("ffmpeg.pid");
    let fake = tools.path().join("ffmpeg");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho $$ > '{}'\nexec sleep 300\n",
            pid_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let fake_path = fake.to_str().unwrap().to_string();
    let s = setup(b, |c| c.media.ffmpeg = fake_path).await;

    let waiting = upload(&s.core, &s.bob, "wait.mp3", sine_mp3(2, &[])).await;
    assert_eq!(
        desk::cancel(&s.core, &s.bob, &waiting.id).await.unwrap(),
        Cancelled::Now
    );
    assert_eq!(
        shown(&s.core, &s.bob, Scope::Own, &waiting.id).await.state,
        "cancelled"
    );
    assert!(!s.core.storage.exists(&waiting.original_key).await.unwrap());
    worker::dispatch::drain(&s.core).await.unwrap();
    assert_eq!(
        shown(&s.core, &s.bob, Scope::Own, &waiting.id).await.state,
        "cancelled"
    );

    let running = upload(&s.core, &s.bob, "run.mp3", sine_mp3(2, &[])).await;
    let core = s.core.clone();
    let worker = tokio::spawn(async move { worker::dispatch::drain(&core).await });
    let mut pid = None;
    for _ in 0..600 {
        if let Ok(p) = std::fs::read_to_string(&pid_file)
            && let Ok(p) = p.trim().parse::<u32>()
        {
            pid = Some(p);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let pid = pid.expect("the transcode started");
    assert!(!process_gone(pid));
    assert_eq!(
        shown(&s.core, &s.bob, Scope::Own, &running.id).await.state,
        "processing"
    );
    // Someone else's job is not theirs to cancel.
    let carol = auth::signup(&s.core, "carol@example.com", PW)
        .await
        .unwrap();
    let e = desk::cancel(&s.core, &carol, &running.id)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e:?}");

    assert_eq!(
        desk::cancel(&s.core, &s.admin, &running.id).await.unwrap(),
        Cancelled::Requested
    );
    assert!(
        shown(&s.core, &s.bob, Scope::Own, &running.id)
            .await
            .cancelling
    );
    worker.await.unwrap().unwrap();
    let j = shown(&s.core, &s.bob, Scope::Own, &running.id).await;
    assert_eq!(
        (j.state.as_str(), j.error.as_deref()),
        ("cancelled", Some(desk::CANCELLED))
    );
    for _ in 0..100 {
        if process_gone(pid) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(process_gone(pid), "ffmpeg {pid} still runs");
    assert!(
        s.core.storage.list("").await.unwrap().is_empty(),
        "objects left behind"
    );
    assert!(
        library::list_tracks(&s.core, &s.bob)
            .await
            .unwrap()
            .is_empty()
    );
    let e = desk::cancel(&s.core, &s.bob, &running.id)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Invalid(_)), "{e:?}");
    let audit = backend::admin::audit_log(&s.core, &s.admin, 10)
        .await
        .unwrap();
    assert!(audit.iter().any(|a| a.action == "import.cancel"));
}

async fn admins_see_and_purge_every_users_jobs_users_their_own(b: Backend) {
    let s = setup(b, |_| {}).await;
    let old_done = upload(&s.core, &s.bob, "old.mp3", sine_mp3(1, &[("title", "Old")])).await;
    let old_failed = upload(&s.core, &s.admin, "old-junk.mp3", b"junk".repeat(100)).await;
    worker::dispatch::drain(&s.core).await.unwrap();
    let recent_failed = upload(&s.core, &s.bob, "new-junk.mp3", b"junk".repeat(100)).await;
    worker::dispatch::drain(&s.core).await.unwrap();
    let ten_days_ago = backend::now_ms() - 10 * 86_400_000;
    for (id, at) in [
        (&old_done.id, ten_days_ago),
        (&old_failed.id, ten_days_ago - 60_000),
    ] {
        sqlx::query("UPDATE import_jobs SET updated_at = $2, created_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(&s.core.db)
            .await
            .unwrap();
    }
    let page = |state: Option<&str>| Filter {
        state: state.map(Into::into),
        limit: 50,
        ..Default::default()
    };
    let ids = |jobs: Vec<desk::DeskJob>| jobs.into_iter().map(|j| j.id).collect::<Vec<_>>();
    assert_eq!(
        ids(desk::list(&s.core, &s.admin, Scope::All, &page(None))
            .await
            .unwrap()),
        [
            recent_failed.id.clone(),
            old_done.id.clone(),
            old_failed.id.clone()
        ]
    );
    assert_eq!(
        ids(
            desk::list(&s.core, &s.admin, Scope::All, &page(Some("failed")))
                .await
                .unwrap()
        ),
        [recent_failed.id.clone(), old_failed.id.clone()]
    );
    assert_eq!(
        ids(desk::list(&s.core, &s.bob, Scope::Own, &page(None))
            .await
            .unwrap()),
        [recent_failed.id.clone(), old_done.id.clone()]
    );
    let counts = desk::counts(&s.core, &s.admin, Scope::All).await.unwrap();
    assert_eq!(counts, [("done".to_string(), 1), ("failed".to_string(), 2)]);
    for e in [
        desk::list(&s.core, &s.bob, Scope::All, &page(None))
            .await
            .unwrap_err(),
        desk::purge(&s.core, &s.bob, 7).await.unwrap_err(),
    ] {
        assert!(matches!(e, Error::Forbidden), "{e:?}");
    }
    let e = desk::retry(&s.core, &s.bob, &old_failed.id)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e:?}");
    let e = desk::list(&s.core, &s.admin, Scope::All, &page(Some("lost")))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Invalid(_)), "{e:?}");

    let purged = desk::purge(&s.core, &s.admin, 7).await.unwrap();
    assert_eq!((purged.deleted, purged.archived), (1, 1));
    assert_eq!(
        ids(desk::list(&s.core, &s.admin, Scope::All, &page(None))
            .await
            .unwrap()),
        [recent_failed.id.as_str()]
    );
    // The archived job's track still plays and keeps its record.
    let tracks = library::list_tracks(&s.core, &s.bob).await.unwrap();
    assert_eq!(tracks.len(), 1);
    let job = imports::repo::get(&s.core.db, &old_done.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.state, JobState::Done);
    assert!(
        imports::repo::get(&s.core.db, &old_failed.id)
            .await
            .unwrap()
            .is_none()
    );
}

/// State counts stop one past the cap (the desk shows "1,000+"), so they cost the same for
/// a user with a million imports; below it they are exact, and lists stay newest first.
async fn job_counts_stop_past_the_cap_and_pages_stay_newest_first(b: Backend) {
    let s = setup(b, |_| {}).await;
    let cap = desk::COUNT_CAP;
    let bob = s.bob.id.clone();
    // Finished jobs straight into the table (importing this many would take minutes).
    for chunk in (0..cap + 5).collect::<Vec<_>>().chunks(200) {
        let mut sql = String::from(
            "INSERT INTO import_jobs (id, user_id, filename, original_key, size_bytes, state, created_at, updated_at) VALUES ",
        );
        for (n, i) in chunk.iter().enumerate() {
            if n > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "('job{i:05}', $1, 'f{i}.mp3', 'k', 1, 'done', {i}, {i})"
            ));
        }
        sqlx::query(&sql)
            .bind(&bob)
            .execute(&s.core.db)
            .await
            .unwrap();
    }
    sqlx::query("INSERT INTO import_jobs (id, user_id, filename, original_key, size_bytes, state, created_at, updated_at) VALUES ('waiting', $1, 'w.mp3', 'k', 1, 'queued', 5, 5)")
        .bind(&bob)
        .execute(&s.core.db)
        .await
        .unwrap();
    for scope in [Scope::Own, Scope::All] {
        let user = if scope == Scope::Own {
            &s.bob
        } else {
            &s.admin
        };
        let counts = desk::counts(&s.core, user, scope).await.unwrap();
        assert_eq!(
            counts,
            [("done".to_string(), cap + 1), ("queued".to_string(), 1)],
            "{scope:?}"
        );
    }
    let newest = desk::list(
        &s.core,
        &s.bob,
        Scope::Own,
        &Filter {
            limit: 3,
            offset: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let ids: Vec<_> = newest.iter().map(|j| j.id.as_str()).collect();
    let last = cap + 4;
    assert_eq!(
        ids,
        [1, 2, 3].map(|k| format!("job{:05}", last - k)),
        "newest first, from the offset"
    );
}

backend::on_both_databases!(
    job_counts_stop_past_the_cap_and_pages_stay_newest_first,
    a_failed_job_is_retried_once_and_then_imports,
    a_refused_upload_cannot_be_retried_but_a_given_up_one_can,
    a_waiting_job_is_cancelled_at_once_and_a_running_one_stops_its_ffmpeg,
    admins_see_and_purge_every_users_jobs_users_their_own,
);
