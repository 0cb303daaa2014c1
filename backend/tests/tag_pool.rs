//! The tag readers' pool (issue 34, bounded work): a read that never returns fails alone
//! with the time-limit error while the other reads, at the same time and after, finish;
//! its thread is abandoned and replaced; past the cap on abandoned threads reads fail at
//! once; a library scan skips a file whose tags hang and registers the rest.
//!
//! The stuck reads are parsers blocked on a gate that is opened only when a test says so:
//! their time limit always passes, whatever the machine's speed. Reads meant to finish
//! get a minute, so a slow machine cannot make them time out. No timing is asserted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::media::Tags;
use backend::media::tag_pool::{self, Parsed, ReadError, Request, TagPool};
use backend::testing::{Backend, sine_mp3};
use backend::{Core, auth, folders, library};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Long enough that no read meant to finish reaches it.
const AMPLE: Duration = Duration::from_secs(60);
/// The stuck reads' limit: it always passes, as they never return before the gate opens.
const SHORT: Duration = Duration::from_millis(20);

/// Holds parsers until opened.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
    }
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

/// A pool whose parser blocks on `gate` for a path named `hang`, panics for `boom`, and
/// otherwise answers at once with the path as the title.
fn pool(threads: usize, gate: &Arc<Gate>) -> TagPool {
    let gate = Arc::clone(gate);
    TagPool::with_parser(threads, move |r: &Request| {
        let name = r.path.to_string_lossy().into_owned();
        if name.starts_with("hang") {
            gate.wait();
            return Err("released".into());
        }
        assert!(!name.starts_with("boom"), "a parser bug");
        Ok(Parsed {
            tags: Tags {
                title: Some(name),
                ..Tags::default()
            },
            duration_ms: 1000,
        })
    })
}

fn request(name: &str) -> Request {
    Request {
        path: name.into(),
        covers: false,
    }
}

/// Reads `n` files (`f0`, `f1`...) at once and checks each gave its own title.
async fn read_all(pool: &TagPool, n: usize) {
    let reads = (0..n).map(|i| pool.read(request(&format!("f{i}")), AMPLE));
    for (i, got) in futures::future::join_all(reads)
        .await
        .into_iter()
        .enumerate()
    {
        assert_eq!(got.unwrap().tags.title, Some(format!("f{i}")));
    }
}

/// Waits until `done` holds (bounded, so a bug fails the test rather than hanging it).
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..6000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test]
async fn a_stuck_read_times_out_alone_and_its_thread_is_replaced() {
    let gate = Arc::new(Gate::default());
    let pool = pool(2, &gate);
    let stuck = pool.read(request("hang"), SHORT);
    let others = read_all(&pool, 20);
    let (stuck, ()) = tokio::join!(stuck, others);
    let err = stuck.unwrap_err();
    assert_eq!(err, ReadError::TimedOut(SHORT));
    assert_eq!(
        err.to_string(),
        "reading tags took longer than 20 ms; the file was skipped"
    );
    let stats = pool.stats();
    assert_eq!((stats.abandoned, stats.threads), (1, 2), "{stats:?}");
    assert_eq!((stats.timed_out, stats.refused), (1, 0), "{stats:?}");
    // Reads after it go on.
    read_all(&pool, 20).await;

    // Once the parser returns, the abandoned thread exits and its result is dropped.
    gate.open();
    until("the abandoned thread exits", || pool.stats().abandoned == 0).await;
    assert_eq!(pool.stats().threads, 2);
    read_all(&pool, 5).await;
}

#[tokio::test]
async fn replacements_keep_reading_while_every_original_thread_is_stuck() {
    let gate = Arc::new(Gate::default());
    let pool = pool(2, &gate);
    let (a, b, ()) = tokio::join!(
        pool.read(request("hang-a"), SHORT),
        pool.read(request("hang-b"), SHORT),
        read_all(&pool, 30),
    );
    assert_eq!(a.unwrap_err(), ReadError::TimedOut(SHORT));
    assert_eq!(b.unwrap_err(), ReadError::TimedOut(SHORT));
    // Both first threads are stuck: only their replacements can have read the others.
    read_all(&pool, 30).await;
    let stats = pool.stats();
    assert_eq!((stats.abandoned, stats.threads), (2, 2), "{stats:?}");
    gate.open();
}

#[tokio::test]
async fn past_the_cap_on_stuck_threads_reads_fail_at_once_until_one_returns() {
    let gate = Arc::new(Gate::default());
    let pool = pool(2, &gate);
    let stuck =
        (0..tag_pool::MAX_ABANDONED).map(|i| pool.read(request(&format!("hang{i}")), SHORT));
    for got in futures::future::join_all(stuck).await {
        assert_eq!(got.unwrap_err(), ReadError::TimedOut(SHORT));
    }
    assert_eq!(pool.stats().abandoned, tag_pool::MAX_ABANDONED);

    let err = pool.read(request("f"), AMPLE).await.unwrap_err();
    assert_eq!(err, ReadError::Saturated(tag_pool::MAX_ABANDONED));
    assert_eq!(
        err.to_string(),
        "too many tag reads are stuck past their time limit (8); the file was skipped until they finish"
    );
    assert_eq!(pool.stats().refused, 1);
    // No thread was started for it: the pool still has its two readers.
    assert_eq!(pool.stats().threads, 2);

    gate.open();
    until("the abandoned threads exit", || pool.stats().abandoned == 0).await;
    read_all(&pool, 10).await;
}

#[tokio::test]
async fn a_parser_panic_fails_that_file_only() {
    let gate = Arc::new(Gate::default());
    let pool = pool(2, &gate);
    let err = pool.read(request("boom"), AMPLE).await.unwrap_err();
    assert_eq!(
        err,
        ReadError::Unreadable("the tag reader failed on this file".into())
    );
    assert_eq!(pool.stats().threads, 2);
    read_all(&pool, 10).await;
}

#[tokio::test]
async fn blocking_callers_get_the_same_answers() {
    let gate = Arc::new(Gate::default());
    let pool = Arc::new(pool(2, &gate));
    let p = Arc::clone(&pool);
    let (stuck, fine) = tokio::task::spawn_blocking(move || {
        (
            p.read_blocking(request("hang"), SHORT),
            p.read_blocking(request("fine"), AMPLE),
        )
    })
    .await
    .unwrap();
    assert_eq!(stuck.unwrap_err(), ReadError::TimedOut(SHORT));
    assert_eq!(fine.unwrap().tags.title.as_deref(), Some("fine"));
    gate.open();
}

#[test]
fn lofty_reads_tags_and_length_and_refuses_what_is_not_audio() {
    let dir = tempfile::tempdir().unwrap();
    let song = dir.path().join("song.mp3");
    std::fs::write(
        &song,
        sine_mp3(2, &[("title", "Harbour Lights"), ("artist", "Pool Band")]),
    )
    .unwrap();
    let broken = dir.path().join("broken.mp3");
    std::fs::write(&broken, b"ID3 this is not an mp3 at all").unwrap();

    let read = |path: &Path| {
        tag_pool::read_with_lofty(&Request {
            path: path.into(),
            covers: true,
        })
    };
    let got = read(&song).unwrap();
    assert_eq!(got.tags.title.as_deref(), Some("Harbour Lights"));
    assert_eq!(got.tags.artist.as_deref(), Some("Pool Band"));
    assert!(got.duration_ms > 1500, "{}", got.duration_ms);
    assert!(read(&broken).is_err());
    assert!(read(&dir.path().join("missing.mp3")).is_err());
}

// --- Through a real scan: the process's pool, with a parser that hangs on marked files.

/// Files starting with this never finish reading.
const HANG_MARK: &[u8] = b"HANG";

/// Makes this test process's pool hang on marked files (lofty for the rest); the stuck
/// reads stay stuck until the process ends.
fn hang_on_marked_files() {
    static GATE: Gate = Gate {
        open: Mutex::new(false),
        opened: Condvar::new(),
    };
    let pool = TagPool::with_parser(tag_pool::default_threads(), |r: &Request| {
        let head = std::fs::read(&r.path).unwrap_or_default();
        if head.starts_with(HANG_MARK) {
            GATE.wait();
        }
        tag_pool::read_with_lofty(r)
    });
    // Both databases' tests install it; the first one wins, and it is the same parser.
    let _ = tag_pool::install_shared(pool);
}

async fn a_scan_skips_a_file_whose_tags_hang_and_registers_the_rest(b: Backend) {
    hang_on_marked_files();
    let dir = tempfile::tempdir().unwrap();
    let mut config = b.config(dir.path()).await;
    // Every file of the scan gets this long; the good ones need a few milliseconds.
    config.media.tag_read_timeout_secs = 3;
    let core = Core::init(config).await.unwrap();
    let admin = auth::signup(&core, "admin@example.com", "violet-harbour-87")
        .await
        .unwrap();

    let music = tempfile::tempdir().unwrap();
    let root = music.path();
    std::fs::write(
        root.join("01 First.mp3"),
        sine_mp3(2, &[("title", "Lighthouse Morning")]),
    )
    .unwrap();
    std::fs::write(
        root.join("02 Second.mp3"),
        sine_mp3(2, &[("title", "Quarry Echo")]),
    )
    .unwrap();
    let mut stuck = HANG_MARK.to_vec();
    stuck.extend(sine_mp3(2, &[("title", "Never Read")]));
    std::fs::write(root.join("stuck.mp3"), stuck).unwrap();

    folders::add_folder(&core, &admin, root.to_str().unwrap())
        .await
        .unwrap();
    folders::request_scan(&core, &admin).await.unwrap();
    let s = folders::run_queued(&core)
        .await
        .unwrap()
        .expect("a scan ran");
    assert_eq!(s.state, "done", "{s:?}");
    assert_eq!(
        (s.counts.seen, s.counts.added, s.counts.failed),
        (3, 2, 1),
        "{s:?}"
    );
    assert!(
        s.report.iter().any(|l| l.contains("stuck.mp3")
            && l.contains("reading tags took longer than 3 s; the file was skipped")),
        "{:?}",
        s.report
    );
    let mut titles: Vec<String> = library::list_tracks(&core, &admin)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.title)
        .collect();
    titles.sort();
    assert_eq!(titles, ["Lighthouse Morning", "Quarry Echo"]);
}

backend::on_both_databases!(a_scan_skips_a_file_whose_tags_hang_and_registers_the_rest);

/// Matrix row 26: damaged copies of real files in six formats (cut short, bytes flipped,
/// size fields of 0xFFFFFFFF or zero, slices repeated), read by the real parser through
/// the pool. Every read settles, with tags, a reason, or the time limit; none takes the
/// pool down, and a clean file reads afterwards. (A corpus made by a coverage-guided
/// fuzzer would need cargo-fuzz, which needs a nightly toolchain this machine kind cannot
/// fetch; these mutants are seeded and the same on every run.)
#[tokio::test]
async fn damaged_files_in_every_format_settle_and_leave_the_pool_working() {
    let pool = TagPool::with_parser(2, tag_pool::read_with_lofty);
    let dir = tempfile::tempdir().unwrap();
    let tags = [
        ("title", "Mutant"),
        ("artist", "Alice Example; Bob Example"),
        ("album", "Corpus"),
        ("genre", "Noise"),
    ];
    let mut paths = Vec::new();
    for (n, ext) in ["mp3", "flac", "m4a", "ogg", "mka", "wav"]
        .iter()
        .enumerate()
    {
        let base = backend::testing::sine(1, &tags, ext);
        for (i, (what, bytes)) in backend::testing::mutants(&base, 40, 0x5eed + n as u64)
            .into_iter()
            .enumerate()
        {
            let path = dir.path().join(format!("m{i}.{ext}"));
            std::fs::write(&path, bytes).unwrap();
            paths.push((format!("{ext} {what}"), path));
        }
    }
    let reads = paths.iter().map(|(_, p)| {
        pool.read(
            Request {
                path: p.clone(),
                covers: true,
            },
            Duration::from_secs(10),
        )
    });
    let (mut read, mut refused, mut stuck) = (0, 0, 0);
    for ((what, _), got) in paths.iter().zip(futures::future::join_all(reads).await) {
        match got {
            Ok(_) => read += 1,
            Err(ReadError::Unreadable(why)) => {
                assert!(!why.trim().is_empty(), "{what}: no reason");
                refused += 1;
            }
            Err(ReadError::TimedOut(_)) => stuck += 1,
            Err(e) => panic!("{what}: {e}"),
        }
    }
    assert_eq!(read + refused + stuck, paths.len());
    println!(
        "{} damaged files: {read} read, {refused} refused, {stuck} past the limit",
        paths.len()
    );
    let clean = dir.path().join("clean.mp3");
    std::fs::write(&clean, sine_mp3(1, &[("title", "Clean")])).unwrap();
    let got = pool
        .read(
            Request {
                path: clean,
                covers: false,
            },
            AMPLE,
        )
        .await
        .unwrap();
    assert_eq!(got.tags.title.as_deref(), Some("Clean"));
}
