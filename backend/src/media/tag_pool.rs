//! Tag reading with lofty, bounded: every lofty parse in Refrain (library scans, imports,
//! covers of scanned tracks) runs on a small pool of long-lived threads, so one hostile
//! file costs at most its own time limit and the files around it go on at full speed.
//!
//! - **Threads.** A fixed number of reader threads (one per core, at least two) take jobs
//!   from one queue; they start on the first read and live as long as the process.
//! - **Time limit.** Each job carries its deadline (`REFRAIN_TAG_READ_TIMEOUT_SECS`, 10 s),
//!   counted from the moment a thread starts parsing it, not from when it was queued. A
//!   watchdog thread answers a job that passes it with "reading tags took longer than
//!   N s; the file was skipped", retires the thread that runs it and starts a replacement,
//!   so the pool keeps its full number of readers while one is stuck.
//! - **Threads, not processes.** A process per file would cost a scan of 20,000 files
//!   20,000 process starts (scans read thousands of files a second in-process), and a
//!   process pool would need the tags serialized across a pipe. The price of threads:
//!   Rust cannot kill one. A retired thread is only abandoned: it runs until lofty
//!   returns, then exits and its result is dropped; one stuck for good (a parser loop, a
//!   hung network mount) stays until the process restarts. While [`MAX_ABANDONED`]
//!   threads are abandoned and still running, new reads fail at once ("too many tag
//!   reads are stuck") instead of starting threads without bound; each abandoned thread
//!   that returns makes room again. `/metrics` counts both (see [`figures`]).
//! - **Size caps.** Files over [`MAX_FILE_BYTES`] are refused before lofty opens them;
//!   no single tag item may allocate more than [`ALLOCATION_LIMIT`] (lofty's
//!   per-thread allocation limit, set on every reader thread); embedded pictures over
//!   [`MAX_PICTURE_BYTES`] are ignored (the tags are kept).
//!
//! The pool takes its parse function as a value ([`TagPool::with_parser`]), so tests can
//! run it with a parser that never returns.

use super::Tags;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// The time limit of one read when the configuration says nothing
/// (`REFRAIN_TAG_READ_TIMEOUT_SECS`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Abandoned reader threads (past their time limit, still inside lofty) beyond which new
/// reads fail at once.
pub const MAX_ABANDONED: usize = 8;
/// Files larger than this are refused before lofty opens them (a WAV file cannot be larger;
/// a two-hour 24-bit/192 kHz FLAC is about 3 GB).
pub const MAX_FILE_BYTES: u64 = 4 << 30;
/// The most one tag item (a frame, a picture) may allocate: lofty's `allocation_limit`,
/// raised from its 16 MiB default so a large scanned cover does not cost the whole tag.
pub const ALLOCATION_LIMIT: usize = 64 << 20;
/// Embedded pictures larger than this are ignored.
pub const MAX_PICTURE_BYTES: usize = 20 << 20;
/// Longest time limit honoured (a larger one is cut to this).
const LONGEST_TIMEOUT: Duration = Duration::from_secs(86_400);

/// Reads given up at their time limit in this process (all pools).
static TIMED_OUT: AtomicU64 = AtomicU64::new(0);
/// Reads refused at once because too many threads were abandoned (all pools).
static REFUSED: AtomicU64 = AtomicU64::new(0);
/// Abandoned threads still running (all pools).
static ABANDONED: AtomicU64 = AtomicU64::new(0);

/// What to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub path: PathBuf,
    /// Read embedded pictures too (a scan does not: covers come with the background pass).
    pub covers: bool,
}

/// What a read gave: the tags (with the cover when asked) and the length in ms (0 when
/// the file does not say).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    pub tags: Tags,
    pub duration_ms: i64,
}

/// A parse function: the reason as text when the file cannot be read.
pub type ParseFn = dyn Fn(&Request) -> Result<Parsed, String> + Send + Sync;

/// Why a read gave no tags.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The parser refused the file (not audio, broken, too large...).
    #[error("{0}")]
    Unreadable(String),
    /// The read passed its time limit; its thread was abandoned.
    #[error("reading tags took longer than {}; the file was skipped", seconds(*.0))]
    TimedOut(Duration),
    /// Too many abandoned threads are still running.
    #[error(
        "too many tag reads are stuck past their time limit ({0}); the file was skipped until they finish"
    )]
    Saturated(usize),
    /// No reader thread could be started.
    #[error("cannot start a tag reader thread: {0}")]
    NoThread(String),
    /// The pool dropped the job without an answer (it was shut down).
    #[error("the tag reader stopped before reading the file")]
    Stopped,
}

/// "10 s", or "250 ms" below a second or between whole seconds.
fn seconds(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// What a pool is doing (for tests and logs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Reader threads serving the queue (abandoned ones not counted).
    pub threads: usize,
    /// Threads abandoned at their time limit and still inside the parser.
    pub abandoned: usize,
    /// Jobs waiting for a thread.
    pub queued: usize,
    /// Jobs being parsed now.
    pub running: usize,
    /// Reads given up at their time limit since the pool started.
    pub timed_out: u64,
    /// Reads refused at once because too many threads were abandoned.
    pub refused: u64,
}

/// A fixed number of long-lived parser threads with a watchdog (see the module doc).
pub struct TagPool {
    shared: Arc<Shared>,
}

struct Shared {
    parse: Box<ParseFn>,
    threads: usize,
    max_abandoned: usize,
    state: Mutex<State>,
    /// Readers wait here for jobs.
    work: Condvar,
    /// The watchdog waits here for the next deadline or a new running job.
    watch: Condvar,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    /// By reader id: the job it is parsing. A reader that finds its entry gone was
    /// abandoned by the watchdog.
    running: HashMap<u64, Running>,
    /// Readers serving the queue.
    live: usize,
    abandoned: usize,
    next_id: u64,
    watchdog: bool,
    closed: bool,
    timed_out: u64,
    refused: u64,
}

type Reply = oneshot::Sender<Result<Parsed, ReadError>>;

struct Job {
    request: Request,
    timeout: Duration,
    reply: Reply,
}

struct Running {
    deadline: Instant,
    timeout: Duration,
    path: PathBuf,
    reply: Reply,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TagPool {
    /// A pool of `threads` readers (at least one) running `parse`, with the
    /// [`MAX_ABANDONED`] cap. Threads start on the first read.
    pub fn with_parser(
        threads: usize,
        parse: impl Fn(&Request) -> Result<Parsed, String> + Send + Sync + 'static,
    ) -> TagPool {
        TagPool::with_limits(threads, MAX_ABANDONED, parse)
    }

    /// [`TagPool::with_parser`] with another cap on abandoned threads.
    pub fn with_limits(
        threads: usize,
        max_abandoned: usize,
        parse: impl Fn(&Request) -> Result<Parsed, String> + Send + Sync + 'static,
    ) -> TagPool {
        TagPool {
            shared: Arc::new(Shared {
                parse: Box::new(parse),
                threads: threads.max(1),
                max_abandoned,
                state: Mutex::new(State::default()),
                work: Condvar::new(),
                watch: Condvar::new(),
            }),
        }
    }

    /// Reads `request` on a pool thread within `timeout`.
    pub async fn read(&self, request: Request, timeout: Duration) -> Result<Parsed, ReadError> {
        self.submit(request, timeout)
            .await
            .unwrap_or(Err(ReadError::Stopped))
    }

    /// [`TagPool::read`] for blocking code (a `spawn_blocking` closure); it panics when
    /// called on an async thread, as waiting there would stall it.
    pub fn read_blocking(&self, request: Request, timeout: Duration) -> Result<Parsed, ReadError> {
        self.submit(request, timeout)
            .blocking_recv()
            .unwrap_or(Err(ReadError::Stopped))
    }

    pub fn stats(&self) -> Stats {
        let s = self.shared.lock();
        Stats {
            threads: s.live,
            abandoned: s.abandoned,
            queued: s.queue.len(),
            running: s.running.len(),
            timed_out: s.timed_out,
            refused: s.refused,
        }
    }

    fn submit(
        &self,
        request: Request,
        timeout: Duration,
    ) -> oneshot::Receiver<Result<Parsed, ReadError>> {
        let (reply, answer) = oneshot::channel();
        let mut state = self.shared.lock();
        if state.abandoned >= self.shared.max_abandoned {
            state.refused += 1;
            REFUSED.fetch_add(1, Ordering::Relaxed);
            let _ = reply.send(Err(ReadError::Saturated(state.abandoned)));
            return answer;
        }
        if let Err(e) = ensure_threads(&self.shared, &mut state) {
            let _ = reply.send(Err(ReadError::NoThread(e)));
            return answer;
        }
        state.queue.push_back(Job {
            request,
            timeout: timeout.min(LONGEST_TIMEOUT),
            reply,
        });
        drop(state);
        self.shared.work.notify_one();
        answer
    }
}

impl Drop for TagPool {
    /// Readers finish what is queued, then exit; abandoned ones exit when their parse
    /// returns.
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.work.notify_all();
        self.shared.watch.notify_all();
    }
}

/// Starts the watchdog and the readers that are missing; `Err` when the pool is left
/// without a watchdog or without any reader.
fn ensure_threads(shared: &Arc<Shared>, state: &mut State) -> Result<(), String> {
    let mut failure = None;
    if !state.watchdog {
        let s = Arc::clone(shared);
        match std::thread::Builder::new()
            .name("tag-watchdog".into())
            .spawn(move || watchdog(&s))
        {
            Ok(_) => state.watchdog = true,
            Err(e) => failure = Some(e.to_string()),
        }
    }
    while state.live < shared.threads {
        let id = state.next_id;
        state.next_id += 1;
        let s = Arc::clone(shared);
        match std::thread::Builder::new()
            .name(format!("tag-reader-{id}"))
            .spawn(move || serve(&s, id))
        {
            Ok(_) => state.live += 1,
            Err(e) => {
                failure = Some(e.to_string());
                break;
            }
        }
    }
    if state.watchdog && state.live > 0 {
        Ok(())
    } else {
        Err(failure.unwrap_or_else(|| "no thread".into()))
    }
}

/// A reader: takes jobs until the pool closes, or until the watchdog abandons it.
fn serve(shared: &Arc<Shared>, id: u64) {
    loop {
        let request = {
            let mut state = shared.lock();
            let job = loop {
                match state.queue.pop_front() {
                    // The caller went away: nothing to read for.
                    Some(job) if job.reply.is_closed() => continue,
                    Some(job) => break job,
                    None if state.closed => {
                        state.live -= 1;
                        return;
                    }
                    None => {
                        state = shared
                            .work
                            .wait(state)
                            .unwrap_or_else(PoisonError::into_inner)
                    }
                }
            };
            let now = Instant::now();
            state.running.insert(
                id,
                Running {
                    deadline: now + job.timeout,
                    timeout: job.timeout,
                    path: job.request.path.clone(),
                    reply: job.reply,
                },
            );
            job.request
        };
        shared.watch.notify_one();
        // A panic in the parser fails this file only.
        let out =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (shared.parse)(&request)))
                .unwrap_or_else(|_| Err("the tag reader failed on this file".to_string()));
        let mut state = shared.lock();
        match state.running.remove(&id) {
            Some(r) => {
                let _ = r.reply.send(out.map_err(ReadError::Unreadable));
            }
            // Abandoned: its caller has had the timeout; the result is dropped.
            None => {
                state.abandoned -= 1;
                ABANDONED.fetch_sub(1, Ordering::Relaxed);
                tracing::info!(
                    file = %shown(&request.path).display(),
                    "an abandoned tag read returned; its thread exits"
                );
                return;
            }
        }
    }
}

/// The watchdog: answers jobs past their deadline, abandons their readers and starts
/// replacements.
fn watchdog(shared: &Arc<Shared>) {
    let mut state = shared.lock();
    loop {
        let now = Instant::now();
        let expired: Vec<u64> = state
            .running
            .iter()
            .filter(|(_, r)| r.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in &expired {
            if let Some(r) = state.running.remove(id) {
                state.live -= 1;
                state.abandoned += 1;
                state.timed_out += 1;
                TIMED_OUT.fetch_add(1, Ordering::Relaxed);
                ABANDONED.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    file = %shown(&r.path).display(),
                    limit = %seconds(r.timeout),
                    abandoned = state.abandoned,
                    "reading tags took too long: the file is skipped, its thread abandoned and replaced"
                );
                let _ = r.reply.send(Err(ReadError::TimedOut(r.timeout)));
            }
        }
        if state.closed && state.running.is_empty() {
            state.watchdog = false;
            return;
        }
        if !expired.is_empty()
            && !state.closed
            && let Err(e) = ensure_threads(shared, &mut state)
            && state.live == 0
        {
            // Nobody left to read what waits: say so rather than leave it waiting.
            for job in state.queue.drain(..) {
                let _ = job.reply.send(Err(ReadError::NoThread(e.clone())));
            }
        }
        let next = state.running.values().map(|r| r.deadline).min();
        state = match next {
            Some(deadline) => {
                shared
                    .watch
                    .wait_timeout(state, deadline.saturating_duration_since(now))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            None => shared
                .watch
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner),
        };
    }
}

/// The file a `/proc/<pid>/fd/N` path names, for logs.
fn shown(path: &Path) -> PathBuf {
    if path.starts_with("/proc") {
        std::fs::read_link(path).unwrap_or_else(|_| path.to_path_buf())
    } else {
        path.to_path_buf()
    }
}

/// Reader threads per pool by default: one per core, at least two.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(2, std::num::NonZero::get)
        .max(2)
}

static SHARED: OnceLock<TagPool> = OnceLock::new();

/// The process's pool, reading with lofty ([`read_with_lofty`]). One for the process, as
/// lofty's options are per thread and the cap on stuck threads is meant per process;
/// each caller passes its own time limit.
pub fn shared() -> &'static TagPool {
    SHARED.get_or_init(|| TagPool::with_parser(default_threads(), read_with_lofty))
}

/// Makes `pool` the process's pool (tests: a parser that hangs on some files); `Err`
/// gives it back when the process's pool is already in use.
#[cfg(feature = "testing")]
pub fn install_shared(pool: TagPool) -> Result<(), TagPool> {
    SHARED.set(pool)
}

/// Reads one file with lofty, under the size caps (run on a pool thread).
pub fn read_with_lofty(request: &Request) -> Result<Parsed, String> {
    use lofty::config::{GlobalOptions, ParseOptions, apply_global_options};
    use lofty::prelude::*;
    // lofty keeps its options per thread: set on the thread that parses.
    apply_global_options(GlobalOptions::new().allocation_limit(ALLOCATION_LIMIT));
    let size = std::fs::metadata(&request.path)
        .map_err(|e| format!("not readable: {e}"))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(format!(
            "the file is larger than {} GiB; its tags were not read",
            MAX_FILE_BYTES >> 30
        ));
    }
    let tagged = lofty::probe::Probe::open(&request.path)
        .map_err(|e| format!("not readable: {e}"))?
        .options(ParseOptions::new().read_cover_art(request.covers))
        .guess_file_type()
        .map_err(|e| format!("not readable: {e}"))?
        .read()
        .map_err(|_| "not audio Refrain can read".to_string())?;
    let duration_ms = i64::try_from(tagged.properties().duration().as_millis()).unwrap_or(0);
    let tags = match tagged.primary_tag().or_else(|| tagged.first_tag()) {
        Some(tag) => Tags {
            cover: if request.covers { cover_of(tag) } else { None },
            ..tags_of(tag)
        },
        None => Tags::default(),
    };
    Ok(Parsed { tags, duration_ms })
}

/// The front cover, or the first picture, of at most [`MAX_PICTURE_BYTES`], in PNG or
/// JPEG: bytes and MIME type.
fn cover_of(tag: &lofty::tag::Tag) -> Option<(Vec<u8>, String)> {
    use lofty::picture::{MimeType, PictureType};
    let pictures: Vec<_> = tag
        .pictures()
        .iter()
        .filter(|p| p.data().len() <= MAX_PICTURE_BYTES)
        .collect();
    let pic = pictures
        .iter()
        .find(|p| p.pic_type() == PictureType::CoverFront)
        .or_else(|| pictures.first())?;
    let mime = match pic.mime_type() {
        Some(MimeType::Png) => "image/png",
        Some(MimeType::Jpeg) => "image/jpeg",
        _ => super::sniff_image(pic.data())?,
    };
    Some((pic.data().to_vec(), mime.to_string()))
}

/// The text and number tags of a lofty tag (no picture).
fn tags_of(tag: &lofty::tag::Tag) -> Tags {
    use lofty::prelude::*;
    Tags {
        title: super::clean(tag.title()),
        artist: super::clean(tag.artist()),
        album_artist: super::clean(tag.get_string(&ItemKey::AlbumArtist)),
        album: super::clean(tag.album()),
        track_no: tag.track().map(i64::from),
        disc_no: tag.disk().map(i64::from),
        year: tag.year().map(i64::from),
        genre: super::clean(tag.genre()),
        lyrics: super::clean_lyrics(tag.get_string(&ItemKey::Lyrics)),
        cover: None,
    }
}

/// The tag readers' figures for `/metrics` (this process, all pools): name, type, help
/// and value.
pub fn figures() -> [(&'static str, &'static str, &'static str, u64); 3] {
    [
        (
            "refrain_tag_reads_timed_out_total",
            "counter",
            "Tag reads given up at their time limit (REFRAIN_TAG_READ_TIMEOUT_SECS); the file was skipped.",
            TIMED_OUT.load(Ordering::Relaxed),
        ),
        (
            "refrain_tag_reads_refused_total",
            "counter",
            "Tag reads refused at once because too many readers were stuck past their time limit.",
            REFUSED.load(Ordering::Relaxed),
        ),
        (
            "refrain_tag_readers_abandoned",
            "gauge",
            "Tag reader threads abandoned at their time limit and still inside lofty.",
            ABANDONED.load(Ordering::Relaxed),
        ),
    ]
}
