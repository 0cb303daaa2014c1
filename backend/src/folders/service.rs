use super::repo::{self, Counts, FileRow, RootRow, ScanRow};
use super::walk::{self, Found};
use crate::infra::actor::CurrentUser;
use crate::library::repo::{self as library_repo, NewTrack};
use crate::{Core, Error, Result, new_id};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A music folder as the admin page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderView {
    pub id: String,
    pub path: String,
    pub files: i64,
    pub tracks: i64,
    pub failed: i64,
    /// Set by `REFRAIN_LIBRARY_DIRS` (removed there, not on the page).
    pub configured: bool,
}

/// A scan and its progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanView {
    pub id: String,
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    /// `None` for a scan of every folder; what a watch saw otherwise.
    pub scope: Option<String>,
    pub counts: Counts,
    /// What was skipped or could not be read (at most [`REPORT_LINES`] lines).
    pub report: Vec<String>,
    pub error: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

impl From<ScanRow> for ScanView {
    fn from(r: ScanRow) -> Self {
        ScanView {
            id: r.id,
            state: r.state,
            scope: r.scope,
            counts: r.counts,
            report: r
                .report
                .lines()
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect(),
            error: r.error,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
        }
    }
}

pub const REPORT_LINES: usize = 100;
/// Files read and registered per transaction.
const BATCH: usize = 100;
/// A running scan that has not reported progress for this long is taken for dead.
const STALE_MS: i64 = 5 * 60 * 1000;
const MAX_PATH: usize = 4096;

/// The canonical paths of `REFRAIN_LIBRARY_DIRS` (off the async threads: a hung network
/// mount must not stall the server).
async fn configured_roots(core: &Core) -> Result<Vec<PathBuf>> {
    let dirs = core.config.library.dirs.clone();
    Ok(tokio::task::spawn_blocking(move || {
        dirs.iter()
            .filter_map(|d| walk::canonical_root(d).ok())
            .collect()
    })
    .await
    .map_err(|e| anyhow::anyhow!("folder check: {e}"))?)
}

/// Why `candidate` cannot be a music folder beside `existing` ones, if it cannot.
fn overlap(core: &Core, candidate: &Path, existing: &[RootRow]) -> Option<String> {
    if let Some(why) = walk::refused_location(candidate, &core.config.library.allow_roots) {
        return Some(why);
    }
    for r in existing {
        let other = Path::new(&r.path);
        if candidate == other {
            return Some(format!("{} is a music folder already", candidate.display()));
        }
        if candidate.starts_with(other) || other.starts_with(candidate) {
            return Some(format!(
                "{} overlaps the music folder {} (one would be scanned twice)",
                candidate.display(),
                other.display()
            ));
        }
    }
    for own in [
        &core.config.storage.data_dir,
        &core.config.storage.storage_dir,
    ] {
        if let Ok(own) = std::fs::canonicalize(own)
            && (candidate.starts_with(&own) || own.starts_with(candidate))
        {
            return Some(format!(
                "{} overlaps Refrain's own data folder {}",
                candidate.display(),
                own.display()
            ));
        }
    }
    None
}

/// Records the folders of `REFRAIN_LIBRARY_DIRS` (a missing or overlapping one is logged
/// and left out).
pub async fn sync_configured(core: &Core) -> Result<()> {
    for dir in &core.config.library.dirs {
        let d = dir.clone();
        let canon = match tokio::task::spawn_blocking(move || walk::canonical_root(&d))
            .await
            .map_err(|e| anyhow::anyhow!("folder check: {e}"))?
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(folder = %dir.display(), error = %e, "music folder not available");
                continue;
            }
        };
        let existing = repo::roots(&core.db).await?;
        if existing.iter().any(|r| Path::new(&r.path) == canon) {
            continue;
        }
        if let Some(why) = overlap(core, &canon, &existing) {
            tracing::warn!(folder = %dir.display(), reason = %why, "music folder left out");
            continue;
        }
        let mut conn = core.db.acquire().await?;
        repo::insert_root(&mut conn, &canon.to_string_lossy()).await?;
    }
    Ok(())
}

pub async fn list_folders(core: &Core, admin: &CurrentUser) -> Result<Vec<FolderView>> {
    crate::admin::require_admin(core, admin).await?;
    let counts: HashMap<String, (i64, i64, i64)> = repo::root_counts(&core.db)
        .await?
        .into_iter()
        .map(|(id, f, t, x)| (id, (f, t, x)))
        .collect();
    let configured = configured_roots(core).await?;
    Ok(repo::roots(&core.db)
        .await?
        .into_iter()
        .map(|r| {
            let (files, tracks, failed) = counts.get(&r.id).copied().unwrap_or_default();
            FolderView {
                configured: configured.iter().any(|c| Path::new(&r.path) == c),
                id: r.id,
                path: r.path,
                files,
                tracks,
                failed,
            }
        })
        .collect())
}

/// Adds a music folder (admins). It must exist, be readable by the server and not
/// overlap another music folder or Refrain's own data.
pub async fn add_folder(core: &Core, admin: &CurrentUser, path: &str) -> Result<()> {
    crate::admin::require_admin(core, admin).await?;
    let path = path.trim();
    if path.is_empty() || path.len() > MAX_PATH {
        return Err(Error::Invalid("give the folder's full path".into()));
    }
    let p = PathBuf::from(path);
    let canon = tokio::task::spawn_blocking(move || walk::canonical_root(&p))
        .await
        .map_err(|e| anyhow::anyhow!("folder check: {e}"))?
        .map_err(Error::Invalid)?;
    let existing = repo::roots(&core.db).await?;
    if let Some(why) = overlap(core, &canon, &existing) {
        return Err(Error::Invalid(why));
    }
    let canon = canon.to_string_lossy().into_owned();
    let mut tx = crate::db::begin(&core.db).await?;
    repo::insert_root(&mut tx, &canon).await?;
    crate::admin::audit(&mut tx, admin, "library.folder_add", None, &canon).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a music folder (admins): its tracks leave the catalog; the files stay.
pub async fn remove_folder(core: &Core, admin: &CurrentUser, root_id: &str) -> Result<()> {
    crate::admin::require_admin(core, admin).await?;
    let root = repo::roots(&core.db)
        .await?
        .into_iter()
        .find(|r| r.id == root_id)
        .ok_or(Error::NotFound("music folder"))?;
    if repo::scan_in_state(&core.db, "running").await?.is_some() {
        return Err(Error::Invalid(
            "a scan is running: remove the folder when it has finished".into(),
        ));
    }
    if configured_roots(core)
        .await?
        .iter()
        .any(|c| Path::new(&root.path) == c)
    {
        return Err(Error::Invalid(
            "this folder is set by REFRAIN_LIBRARY_DIRS: remove it there".into(),
        ));
    }
    for f in repo::files_of_root(&core.db, &root.id).await? {
        if let Some(t) = &f.track_id {
            remove_track(core, t).await?;
        }
    }
    let mut tx = crate::db::begin(&core.db).await?;
    repo::delete_root(&mut tx, &root.id).await?;
    crate::admin::audit(&mut tx, admin, "library.folder_remove", None, &root.path).await?;
    tx.commit().await?;
    Ok(())
}

/// Queues a scan of every music folder (admins); when one is queued already, that one.
pub async fn request_scan(core: &Core, admin: &CurrentUser) -> Result<ScanView> {
    crate::admin::require_admin(core, admin).await?;
    let mut tx = crate::db::begin(&core.db).await?;
    if let Some(id) = repo::queue_scan(&mut tx, Some(&admin.id)).await? {
        crate::admin::audit(&mut tx, admin, "library.scan", Some(&id), "scan requested").await?;
    }
    tx.commit().await?;
    repo::scan_in_state(&core.db, "queued")
        .await?
        .or(repo::scan_in_state(&core.db, "running").await?)
        .map(ScanView::from)
        .ok_or(Error::NotFound("scan"))
}

/// The newest scan (admins).
pub async fn latest_scan(core: &Core, admin: &CurrentUser) -> Result<Option<ScanView>> {
    crate::admin::require_admin(core, admin).await?;
    Ok(repo::latest_scan(&core.db).await?.map(ScanView::from))
}

/// Whether a library scan is queued or running, and how many files the newest scan has
/// seen: what any listener's app may ask (Subsonic `getScanStatus`); the folders, counts
/// and reports stay on the admin page.
pub async fn scan_progress(core: &Core) -> Result<(bool, i64)> {
    Ok(match repo::latest_scan(&core.db).await? {
        Some(s) => (
            matches!(s.state.as_str(), "queued" | "running"),
            s.counts.seen,
        ),
        None => (false, 0),
    })
}

/// Queues a scan when `REFRAIN_SCAN_INTERVAL` has passed since the last one ended.
pub async fn queue_if_due(core: &Core) -> Result<bool> {
    let Some(every) = core.config.library.scan_interval else {
        return Ok(false);
    };
    let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
    if let Some(last) = repo::last_finished_at(&core.db).await?
        && crate::now_ms().saturating_sub(last) < every_ms
    {
        return Ok(false);
    }
    if repo::scan_in_state(&core.db, "running").await?.is_some() {
        return Ok(false);
    }
    let mut conn = core.db.acquire().await?;
    Ok(repo::queue_scan(&mut conn, None).await?.is_some())
}

/// Runs the queued scan, if there is one and no other is running; returns it finished.
pub async fn run_queued(core: &Core) -> Result<Option<ScanView>> {
    repo::fail_stale(&core.db, STALE_MS).await?;
    let claimed = {
        let mut conn = core.db.acquire().await?;
        repo::claim_queued(&mut conn).await?
    };
    let Some(scan) = claimed else {
        return Ok(None);
    };
    tracing::info!(scan_id = %scan.id, "library scan started");
    finish(core, &scan, run(core, &scan, &Scope::All).await)
        .await
        .map(Some)
}

/// Scans just the paths a folder watch saw change (root id → paths relative to it);
/// `None` when another scan runs (try again shortly).
pub async fn scan_changes(
    core: &Core,
    changes: &HashMap<String, Vec<String>>,
) -> Result<Option<ScanView>> {
    repo::fail_stale(&core.db, STALE_MS).await?;
    let n: usize = changes.values().map(Vec::len).sum();
    let scope = format!(
        "{n} changed path{} seen by the folder watch",
        if n == 1 { "" } else { "s" }
    );
    let started = {
        let mut conn = core.db.acquire().await?;
        repo::start_partial_scan(&mut conn, &scope).await?
    };
    let Some(scan) = started else {
        return Ok(None);
    };
    let outcome = run(core, &scan, &Scope::Paths(changes.clone())).await;
    finish(core, &scan, outcome).await.map(Some)
}

async fn finish(core: &Core, scan: &ScanRow, outcome: Result<()>) -> Result<ScanView> {
    let error = match &outcome {
        Ok(()) => None,
        Err(e) => {
            tracing::error!(scan_id = %scan.id, error = %format!("{e:#}"), "library scan failed");
            Some(match e {
                Error::Invalid(m) => m.clone(),
                _ => "the scan stopped on an internal error (see the server log)".to_string(),
            })
        }
    };
    repo::finish_scan(&core.db, &scan.id, error.as_deref()).await?;
    let done = repo::get_scan(&core.db, &scan.id)
        .await?
        .ok_or(Error::NotFound("scan"))?;
    tracing::info!(scan_id = %scan.id, counts = ?done.counts, scope = ?done.scope, "library scan finished");
    Ok(done.into())
}

/// What a scan looks at.
enum Scope {
    /// Every file of every folder.
    All,
    /// These paths (files, or folders with all below them) of these folders, by root id.
    Paths(HashMap<String, Vec<String>>),
}

/// `refrain scan`: queues a scan (unless one waits) and runs what is queued now, here.
pub async fn scan_now(core: &Core) -> Result<Option<ScanView>> {
    {
        let mut conn = core.db.acquire().await?;
        if repo::queue_scan(&mut conn, None).await?.is_some() {
            crate::admin::cli_audit(&mut conn, "library.scan", "library", "scan requested").await?;
        }
    }
    run_queued(core).await
}

/// What a scan read from a file: its tags (no picture) and length.
pub struct FileMeta {
    pub tags: crate::media::Tags,
    pub duration_ms: i64,
}

/// Reads tags and length (no pictures: covers come with the background pass), within
/// `limit` (`REFRAIN_TAG_READ_TIMEOUT_SECS`). Blocking.
pub fn read_meta(path: &Path, limit: std::time::Duration) -> std::result::Result<FileMeta, String> {
    crate::media::read_tags_and_length(path, limit)
        .map(|(tags, duration_ms)| FileMeta { tags, duration_ms })
}

/// A file to read: new, or changed since the last scan.
struct Work {
    root: RootRow,
    found: Found,
    /// The row it had, when it changed.
    existing: Option<FileRow>,
}

/// What reading one file gave.
struct Read {
    work: Work,
    hash: std::result::Result<String, String>,
    meta: std::result::Result<FileMeta, String>,
}

struct Progress {
    id: String,
    counts: Counts,
    report: Vec<String>,
    saved: std::time::Instant,
}

impl Progress {
    fn note(&mut self, line: String) {
        if self.report.len() < REPORT_LINES {
            self.report.push(line);
        }
    }
    async fn save(&mut self, core: &Core, force: bool) -> Result<()> {
        if force || self.saved.elapsed() >= std::time::Duration::from_millis(500) {
            repo::save_progress(&core.db, &self.id, &self.counts, &self.report.join("\n")).await?;
            self.saved = std::time::Instant::now();
        }
        Ok(())
    }
}

async fn run(core: &Core, scan: &ScanRow, scope: &Scope) -> Result<()> {
    sync_configured(core).await?;
    let owner = match &scan.requested_by {
        Some(id) => Some(id.clone()),
        None => repo::first_admin(&core.db).await?,
    };
    let Some(owner) = owner else {
        return Err(Error::Invalid(
            "there is no admin account yet to own the scanned tracks: sign up first".into(),
        ));
    };
    let mut p = Progress {
        id: scan.id.clone(),
        counts: Counts::default(),
        report: Vec::new(),
        saved: std::time::Instant::now(),
    };
    // Walk every folder first, so a file that moved between folders is recognized.
    let mut work = Vec::new();
    let mut vanished: Vec<FileRow> = Vec::new();
    for root in repo::roots(&core.db).await? {
        let targets = match scope {
            Scope::All => None,
            Scope::Paths(m) => match m.get(&root.id) {
                Some(t) => Some(t.clone()),
                None => continue,
            },
        };
        let path = PathBuf::from(&root.path);
        let only = targets.clone();
        let walked = tokio::task::spawn_blocking(move || {
            walk::canonical_root(&path).map(|canon| {
                let w = match &only {
                    None => walk::walk(&canon),
                    Some(t) => walk::walk_paths(&canon, t),
                };
                (canon, w)
            })
        })
        .await
        .map_err(|e| anyhow::anyhow!("walk: {e}"))?;
        let mut known = repo::files_of_root(&core.db, &root.id).await?;
        if let Some(t) = &targets {
            // Only what lies at or under the changed paths can have vanished.
            known.retain(|f| {
                t.iter().any(|p| {
                    let p = p.trim_end_matches('/');
                    f.rel_path == p || f.rel_path.starts_with(&format!("{p}/"))
                })
            });
        }
        let walked = match walked {
            Ok((canon, w)) if canon == Path::new(&root.path) => w,
            Ok(_) | Err(_) => {
                p.note(format!(
                    "{}: the folder is not there (unmounted?); its {} files stay in the catalog",
                    root.path,
                    known.len()
                ));
                continue;
            }
        };
        if targets.is_none() && walked.files.is_empty() && !known.is_empty() {
            p.note(format!(
                "{}: the folder is empty (unmounted?); its {} files stay in the catalog",
                root.path,
                known.len()
            ));
            continue;
        }
        for s in walked.skipped {
            p.note(format!("{}/{}: {}", root.path, s.rel_path, s.reason));
        }
        let mut known: HashMap<String, FileRow> =
            known.into_iter().map(|f| (f.rel_path.clone(), f)).collect();
        p.counts.seen += i64::try_from(walked.files.len()).unwrap_or(i64::MAX);
        for found in walked.files {
            match known.remove(&found.rel_path) {
                // Unchanged, and either a track or known unreadable: only stat'ed. (A
                // row whose track went with its owner's account is registered again.)
                // (A file replaced by another with the same size and time is changed
                // too: its device and inode differ.)
                Some(f)
                    if f.size_bytes == i64::try_from(found.size).unwrap_or(-1)
                        && f.mtime_ms == found.mtime_ms
                        && f.identity.is_none_or(|i| i == found.identity)
                        && (f.track_id.is_some() || f.error.is_some()) => {}
                Some(f) => work.push(Work {
                    root: root.clone(),
                    found,
                    existing: Some(f),
                }),
                None => work.push(Work {
                    root: root.clone(),
                    found,
                    existing: None,
                }),
            }
        }
        vanished.extend(known.into_values());
    }
    p.save(core, true).await?;

    let mut by_hash: HashMap<String, Vec<FileRow>> = HashMap::new();
    let mut credits = Credits::default();
    for f in vanished {
        by_hash.entry(f.content_hash.clone()).or_default().push(f);
    }
    let tag_limit = std::time::Duration::from_secs(core.config.media.tag_read_timeout_secs);
    while !work.is_empty() {
        let batch: Vec<Work> = work.drain(..work.len().min(BATCH)).collect();
        let read = tokio::task::spawn_blocking(move || {
            batch
                .into_iter()
                .map(|w| {
                    // Opened as playing opens it: inside the folder, the file walked.
                    let opened = match super::open::open(
                        Path::new(&w.root.path),
                        &w.found.rel_path,
                        Some(w.found.identity),
                    ) {
                        Ok(o) => o,
                        Err(refused) => {
                            let e = refused.to_string();
                            return Read {
                                work: w,
                                hash: Err(e.clone()),
                                meta: Err(e),
                            };
                        }
                    };
                    let full = opened.tool_path();
                    let hash = walk::content_hash(full).map_err(|e| format!("not readable: {e}"));
                    let meta = match &hash {
                        Ok(_) => read_meta(full, tag_limit),
                        Err(e) => Err(e.clone()),
                    };
                    Read {
                        work: w,
                        hash,
                        meta,
                    }
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| anyhow::anyhow!("read files: {e}"))?;
        apply_batch(core, &owner, read, &mut by_hash, &mut credits, &mut p).await?;
        p.save(core, false).await?;
    }

    for f in by_hash.into_values().flatten() {
        if let Some(t) = &f.track_id {
            remove_track(core, t).await?;
        }
        let mut conn = core.db.acquire().await?;
        repo::delete_file(&mut conn, &f.id).await?;
        p.counts.removed += 1;
        p.save(core, false).await?;
    }
    p.save(core, true).await
}

async fn apply_batch(
    core: &Core,
    owner: &str,
    read: Vec<Read>,
    by_hash: &mut HashMap<String, Vec<FileRow>>,
    credits: &mut Credits,
    p: &mut Progress,
) -> Result<()> {
    let mut removals = Vec::new();
    let mut tx = crate::db::begin(&core.db).await?;
    for r in read {
        let Read { work, hash, meta } = r;
        let size = i64::try_from(work.found.size).unwrap_or(i64::MAX);
        let path = format!("{}/{}", work.root.path, work.found.rel_path);
        let hash = hash.unwrap_or_default();
        // A new path whose content vanished from another path: the same file, moved.
        if work.existing.is_none()
            && !hash.is_empty()
            && let Some(mut moved) = by_hash.get_mut(&hash).and_then(Vec::pop)
        {
            moved.root_id = work.root.id.clone();
            moved.rel_path = work.found.rel_path.clone();
            moved.size_bytes = size;
            moved.mtime_ms = work.found.mtime_ms;
            moved.identity = Some(work.found.identity);
            repo::update_file(&mut tx, &moved).await?;
            p.counts.moved += 1;
            continue;
        }
        let mut row = work.existing.clone().unwrap_or_else(|| FileRow {
            id: new_id(),
            root_id: work.root.id.clone(),
            rel_path: work.found.rel_path.clone(),
            size_bytes: size,
            mtime_ms: work.found.mtime_ms,
            content_hash: hash.clone(),
            track_id: None,
            error: None,
            identity: None,
        });
        row.size_bytes = size;
        row.mtime_ms = work.found.mtime_ms;
        row.identity = Some(work.found.identity);
        row.content_hash = hash;
        match meta {
            Ok(m) => {
                row.error = None;
                row.track_id = Some(match &row.track_id {
                    Some(t) => {
                        retag(&mut tx, credits, t, &m).await?;
                        t.clone()
                    }
                    None => register(&mut tx, credits, owner, &work, &m).await?,
                });
                if work.existing.is_some() {
                    p.counts.changed += 1;
                } else {
                    p.counts.added += 1;
                }
            }
            Err(reason) => {
                p.note(format!("{path}: {reason}"));
                p.counts.failed += 1;
                if let Some(t) = row.track_id.take() {
                    removals.push(t);
                }
                row.error = Some(reason);
            }
        }
        if work.existing.is_some() {
            repo::update_file(&mut tx, &row).await?;
        } else {
            repo::insert_file(&mut tx, &row).await?;
        }
    }
    tx.commit().await?;
    for t in removals {
        remove_track(core, &t).await?;
    }
    Ok(())
}

fn title_of(m: &FileMeta, rel_path: &str) -> String {
    m.tags.title.clone().unwrap_or_else(|| {
        crate::media::title_from_filename(rel_path.rsplit('/').next().unwrap_or(rel_path))
    })
}

/// Artist and album ids a scan has seen already, so a library of many tracks per album
/// looks each up once (the upserts and the album's search entry cost most of a file on
/// PostgreSQL). Lives for one scan.
#[derive(Default)]
struct Credits {
    artists: HashMap<String, String>,
    albums: HashMap<(String, String), String>,
}

impl Credits {
    async fn artist(&mut self, conn: &mut sqlx::AnyConnection, name: &str) -> Result<String> {
        let key = name.trim().to_lowercase();
        if let Some(id) = self.artists.get(&key) {
            return Ok(id.clone());
        }
        let id = library_repo::upsert_artist(conn, name).await?;
        self.artists.insert(key, id.clone());
        Ok(id)
    }

    async fn album(
        &mut self,
        conn: &mut sqlx::AnyConnection,
        artist_id: &str,
        title: &str,
        year: Option<i64>,
    ) -> Result<String> {
        let key = (artist_id.to_string(), title.trim().to_lowercase());
        if let Some(id) = self.albums.get(&key) {
            return Ok(id.clone());
        }
        let id = library_repo::upsert_album(conn, artist_id, title, year, None).await?;
        self.albums.insert(key, id.clone());
        Ok(id)
    }

    /// Artist, album artist and album ids for a file's tags (created when new).
    async fn of(
        &mut self,
        conn: &mut sqlx::AnyConnection,
        m: &FileMeta,
    ) -> Result<(String, Option<String>, Option<String>)> {
        let artist = m
            .tags
            .artist
            .clone()
            .or(m.tags.album_artist.clone())
            .unwrap_or_else(|| "Unknown Artist".into());
        let artist_id = self.artist(conn, &artist).await?;
        let album_artist_id = match &m.tags.album_artist {
            Some(a) => Some(self.artist(conn, a).await?),
            None => None,
        };
        let album_id = match &m.tags.album {
            Some(title) => {
                let owner = album_artist_id.as_deref().unwrap_or(&artist_id).to_string();
                Some(self.album(conn, &owner, title, m.tags.year).await?)
            }
            None => None,
        };
        Ok((artist_id, album_artist_id, album_id))
    }
}

/// A new file becomes a shared track without a rendition yet.
async fn register(
    conn: &mut sqlx::AnyConnection,
    credits: &mut Credits,
    owner: &str,
    w: &Work,
    m: &FileMeta,
) -> Result<String> {
    let job_id = new_id();
    crate::imports::repo::insert_scanned(
        &mut *conn,
        &job_id,
        owner,
        &w.found.rel_path,
        i64::try_from(w.found.size).unwrap_or(i64::MAX),
    )
    .await?;
    let (artist_id, album_artist_id, album_id) = credits.of(conn, m).await?;
    let id = new_id();
    library_repo::insert_track(
        conn,
        &NewTrack {
            rendition_key: format!("renditions/{id}.mp4"),
            id,
            import_job_id: job_id,
            owner_id: owner.to_string(),
            shared: true,
            title: title_of(m, &w.found.rel_path),
            artist_id,
            album_artist_id,
            album_id,
            track_no: m.tags.track_no,
            disc_no: m.tags.disc_no,
            year: m.tags.year,
            genre: m.tags.genre.clone(),
            lyrics: m.tags.lyrics.clone(),
            duration_ms: m.duration_ms,
            original_key: String::new(),
            rendition_bytes: 0,
            rendition_mime: String::new(),
            segment_index: String::new(),
            cover_key: None,
            cover_thumbs: false,
            loudness: None,
            rendition_ready: false,
        },
    )
    .await
}

/// A changed file: its track takes the new tags and gets a new rendition.
async fn retag(
    conn: &mut sqlx::AnyConnection,
    credits: &mut Credits,
    track_id: &str,
    m: &FileMeta,
) -> Result<()> {
    let (artist_id, album_artist_id, album_id) = credits.of(conn, m).await?;
    let title = repo::track_title(&mut *conn, track_id).await?;
    let title = m.tags.title.clone().unwrap_or(title);
    repo::retag_track(
        &mut *conn,
        track_id,
        &repo::Retag {
            title,
            artist_id,
            album_artist_id,
            album_id,
            track_no: m.tags.track_no,
            disc_no: m.tags.disc_no,
            year: m.tags.year,
            genre: m.tags.genre.clone(),
            lyrics: m.tags.lyrics.clone(),
            duration_ms: m.duration_ms,
        },
    )
    .await?;
    crate::search::repo::reindex_track(conn, track_id).await
}

/// Takes a scanned track out of the catalog (likes, plays and playlist entries go with
/// it) and deletes its rendition and cover; the file itself is never touched.
async fn remove_track(core: &Core, track_id: &str) -> Result<()> {
    let Some(keys) = library_repo::owned_keys(&core.db, track_id).await? else {
        return Ok(());
    };
    library_repo::delete_track(&core.db, track_id).await?;
    crate::library::delete_objects(core, track_id, keys).await;
    Ok(())
}
