//! A real `refrain-worker` process is killed (SIGKILL) while ffmpeg transcodes an upload.
//! The event's offset was never committed, so a restarted worker gets it again and the job
//! completes with one track and one set of objects. Needs PostgreSQL and tansu
//! (scripts/services.sh).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::events::kafka;
use backend::imports::{self, JobState};
use backend::testing::{Backend, Proc, env_of};
use backend::{Core, auth, library};
use bytes::Bytes;
use std::time::{Duration, Instant};

const WORKER: &str = env!("CARGO_BIN_EXE_refrain-worker");

/// Pids of the processes whose parent is `parent` and whose command name is `name`.
fn children_named(parent: u32, name: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ..."; comm may hold spaces, so split at the last ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = &stat[open + 1..close];
        let ppid = stat[close + 1..].split_whitespace().nth(1);
        if comm == name && ppid == Some(parent.to_string().as_str()) {
            out.push(pid);
        }
    }
    out
}

#[tokio::test]
async fn a_worker_killed_mid_transcode_completes_the_job_after_restart_with_one_track() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Backend::Postgres.config(&dir.path().join("data")).await;
    let mut k = backend::testing::kafka_config(None, 1);
    // The restarted worker comes back under the same static member id, as a restarted
    // container or systemd unit would.
    k.instance_id = Some(format!("worker-{}", backend::testing::unique()));
    config.events.kafka = Some(k.clone());
    config.events.embedded_worker = false;
    let core = Core::init(config.clone()).await.unwrap();
    kafka::ensure_topics(&k).await.unwrap();
    let user = auth::signup(&core, "killed@example.com", "violet-harbour-87")
        .await
        .unwrap();
    // The relay runs here; the worker is a separate process.
    let (stop, mut rx) = tokio::sync::watch::channel(false);
    let (c, kk) = (core.clone(), k.clone());
    tokio::spawn(async move {
        kafka::run_relay(c, kk, async move {
            let _ = rx.wait_for(|s| *s).await;
        })
        .await
    });

    let worker = Proc::spawn(WORKER, &[], &env_of(&config));
    let pid = worker.pid();
    // Long enough that the transcode is still running when we look for it.
    let body = futures::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from(
        backend::testing::sine_mp3(240, &[("title", "Interrupted")]),
    ))]);
    let job = imports::create_upload(&core, &user, "interrupted.mp3", None, body)
        .await
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(90);
    let ffmpeg = loop {
        if let Some(p) = children_named(pid, "ffmpeg").first() {
            break *p;
        }
        assert!(Instant::now() < deadline, "the worker never started ffmpeg");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    worker.kill().await;
    // The orphaned ffmpeg only writes to the dead worker's scratch directory; stop it so it
    // does not compete for the CPU.
    let _ = std::process::Command::new("kill")
        .args(["-9", &ffmpeg.to_string()])
        .status();
    let j = imports::list_jobs(&core, &user).await.unwrap()[0].clone();
    assert_eq!(j.state, JobState::Processing, "killed mid-job");
    assert_eq!(
        library::repo::count_tracks_for_job(&core.db, &job.id)
            .await
            .unwrap(),
        0
    );

    let worker = Proc::spawn(WORKER, &[], &env_of(&config));
    let deadline = Instant::now() + Duration::from_secs(180);
    let j = loop {
        let j = imports::list_jobs(&core, &user).await.unwrap()[0].clone();
        if matches!(j.state, JobState::Done | JobState::Failed) {
            break j;
        }
        assert!(Instant::now() < deadline, "the job never completed: {j:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(j.state, JobState::Done, "{:?}", j.error);
    assert_eq!(
        library::repo::count_tracks_for_job(&core.db, &job.id)
            .await
            .unwrap(),
        1
    );
    let tracks = library::list_tracks(&core, &user).await.unwrap();
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].title, "Interrupted");
    let (original, rendition, _) = imports::job_object_keys(&job.id);
    let mut objects = core.storage.list("").await.unwrap();
    objects.sort();
    assert_eq!(objects, vec![original, rendition], "one set of objects");
    let _ = stop.send(true);
    worker.kill().await;
}

/// Files the worker wrote to `<data dir>/mail` (no SMTP server is configured, so each email
/// it sends is one file there).
fn emails_sent(data_dir: &std::path::Path) -> usize {
    std::fs::read_dir(data_dir.join("mail"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".eml"))
                .count()
        })
        .unwrap_or(0)
}

/// A real `refrain-worker` process is killed (SIGKILL) after it stored an event's effect
/// and before it committed the event's offset (failpoint `worker-before-commit`). The
/// restarted worker is given the event again and does not repeat the effect: one track
/// and one set of objects for an import, one message for an email.
#[tokio::test]
async fn a_worker_killed_after_the_effect_before_the_offset_commit_does_not_repeat_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Backend::Postgres.config(&dir.path().join("data")).await;
    let mut k = backend::testing::kafka_config(None, 1);
    k.instance_id = Some(format!("worker-{}", backend::testing::unique()));
    config.events.kafka = Some(k.clone());
    config.events.embedded_worker = false;
    let core = Core::init(config.clone()).await.unwrap();
    kafka::ensure_topics(&k).await.unwrap();
    let user = auth::signup(&core, "once@example.com", "violet-harbour-87")
        .await
        .unwrap();
    // The sign-up's own events are not what this test follows.
    backend::testing::settle_outbox(&core.db).await;
    let (stop, mut rx) = tokio::sync::watch::channel(false);
    let (c, kk) = (core.clone(), k.clone());
    tokio::spawn(async move {
        kafka::run_relay(c, kk, async move {
            let _ = rx.wait_for(|s| *s).await;
        })
        .await
    });
    // Two events with effects of different kinds: rows and objects, and a message sent.
    let body = futures::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from(
        backend::testing::sine_mp3(2, &[("title", "Only Once")]),
    ))]);
    let job = imports::create_upload(&core, &user, "once.mp3", None, body)
        .await
        .unwrap();
    let email = backend::events::Event::new(
        backend::events::EMAIL_REQUESTED,
        &user.id,
        serde_json::to_value(backend::events::EmailMessage {
            to: "once@example.com".into(),
            subject: "Sent once".into(),
            text: "Hello".into(),
        })
        .unwrap(),
    );
    backend::events::repo::enqueue(&core.db, &email)
        .await
        .unwrap();
    core.events.wake();
    let tracks = || library::repo::count_tracks_for_job(&core.db, &job.id);

    // No health port (another test's worker may hold the default one).
    let mut env = env_of(&config);
    env.push(("REFRAIN_WORKER_PORT".into(), "0".into()));
    let plain = env.clone();
    env.push(("REFRAIN_FAILPOINTS".into(), "worker-before-commit".into()));
    let mut worker = Proc::spawn(WORKER, &[], &env);
    worker
        .wait_for_line("FAILPOINT worker-before-commit", Duration::from_secs(120))
        .await;
    worker.kill().await;
    // The first event's effect is stored (which event came first depends on the topics'
    // order of delivery); its offset is not committed.
    let effects = (
        tracks().await.unwrap(),
        emails_sent(&config.storage.data_dir),
    );
    assert!(
        effects == (1, 0) || effects == (0, 1),
        "one effect before the kill: {effects:?}"
    );

    // The restarted worker gets that event again, and the other one.
    let worker = Proc::spawn(WORKER, &[], &plain);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let lag = kafka::consumer_lag(&k).await.unwrap();
        let done = tracks().await.unwrap() == 1 && emails_sent(&config.storage.data_dir) == 1;
        if done && lag.iter().all(|(_, n)| *n == 0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the events were never all handled: lag {lag:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Every offset is committed, and each effect happened once.
    assert_eq!(tracks().await.unwrap(), 1);
    assert_eq!(emails_sent(&config.storage.data_dir), 1);
    let j = imports::list_jobs(&core, &user).await.unwrap()[0].clone();
    assert_eq!(j.state, JobState::Done, "{:?}", j.error);
    assert_eq!(library::list_tracks(&core, &user).await.unwrap().len(), 1);
    let (original, rendition, _) = imports::job_object_keys(&job.id);
    let mut objects = core.storage.list("").await.unwrap();
    objects.sort();
    assert_eq!(objects, vec![original, rendition], "one set of objects");
    let _ = stop.send(true);
    worker.kill().await;
}
