//! Watching the music folders: a file added, changed, moved or removed is in the catalog
//! within seconds, without a full rescan. File system events (inotify, through the
//! `notify` crate) are collected until the folder has been quiet for a moment, then just
//! those paths are scanned ([`super::service::scan_changes`]). Every few seconds the
//! watch checks each folder is still there: a folder that went away (an unmounted disk)
//! is watched again when it comes back, and then scanned whole, since changes made while
//! it was away were never seen.

use super::repo;
use crate::Core;
use notify::{EventKind, RecursiveMode, Watcher};
use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often folders are checked, and how long a folder must be quiet before its
/// changes are scanned.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub check_every: Duration,
    pub quiet_for: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            check_every: Duration::from_secs(5),
            quiet_for: Duration::from_millis(1500),
        }
    }
}

/// What the watch is doing, for the admin page and tests.
#[derive(Debug, Default)]
pub struct WatchState {
    inner: Mutex<StateInner>,
}

#[derive(Debug, Default)]
struct StateInner {
    watched: HashSet<String>,
    missing: HashSet<String>,
}

impl WatchState {
    /// Whether the folder with this root id is being watched now.
    pub fn is_watched(&self, root_id: &str) -> bool {
        self.inner
            .lock()
            .map(|s| s.watched.contains(root_id))
            .unwrap_or(false)
    }
    /// Whether the folder was found missing at the last check.
    pub fn is_missing(&self, root_id: &str) -> bool {
        self.inner
            .lock()
            .map(|s| s.missing.contains(root_id))
            .unwrap_or(false)
    }
    fn set(&self, root_id: &str, watched: bool, missing: bool) {
        if let Ok(mut s) = self.inner.lock() {
            if watched {
                s.watched.insert(root_id.to_string());
            } else {
                s.watched.remove(root_id);
            }
            if missing {
                s.missing.insert(root_id.to_string());
            } else {
                s.missing.remove(root_id);
            }
        }
    }
}

struct Watched {
    path: PathBuf,
    /// Device and inode of the folder when the watch was set.
    identity: (u64, u64),
}

fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_dir())
        .map(|m| (m.dev(), m.ino()))
}

/// Runs until `shutdown`. Errors are logged; the watch keeps going.
pub async fn run(
    core: Core,
    timing: Timing,
    state: Arc<WatchState>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<notify::Result<notify::Event>>();
    let mut watcher = match notify::recommended_watcher(move |ev| {
        let _ = tx.send(ev);
    }) {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(error = %e, "cannot watch the music folders; scans still run");
            return;
        }
    };
    let mut watched: HashMap<String, Watched> = HashMap::new();
    let mut missing: HashSet<String> = HashSet::new();
    // root id → relative paths that changed
    let mut pending: HashMap<String, HashSet<String>> = HashMap::new();
    let mut last_event = Instant::now();
    let mut ticker = tokio::time::interval(timing.check_every.min(timing.quiet_for));
    let mut last_check: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            Some(ev) = rx.recv() => {
                match ev {
                    Ok(ev) if !matches!(ev.kind, EventKind::Access(_)) => {
                        for p in &ev.paths {
                            if let Some((root_id, rel)) = locate(&watched, p) {
                                pending.entry(root_id).or_default().insert(rel);
                            }
                        }
                        last_event = Instant::now();
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "folder watch error"),
                }
            }
            _ = ticker.tick() => {
                if last_check.is_none_or(|t| t.elapsed() >= timing.check_every) {
                    last_check = Some(Instant::now());
                    if let Err(e) = check_folders(&core, &mut watcher, &mut watched, &mut missing, &state).await {
                        tracing::warn!(error = %format!("{e:#}"), "checking the music folders failed");
                    }
                }
                if !pending.is_empty() && last_event.elapsed() >= timing.quiet_for {
                    let changes: HashMap<String, Vec<String>> = pending
                        .iter()
                        .map(|(k, v)| (k.clone(), v.iter().cloned().collect()))
                        .collect();
                    match super::service::scan_changes(&core, &changes).await {
                        Ok(Some(_)) => pending.clear(),
                        // Another scan runs: keep the changes for the next round.
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(error = %format!("{e:#}"), "scanning watched changes failed");
                            pending.clear();
                        }
                    }
                }
            }
        }
    }
}

/// The watched folder a path is in, and the path relative to it (compared by
/// components).
fn locate(watched: &HashMap<String, Watched>, path: &Path) -> Option<(String, String)> {
    watched.iter().find_map(|(id, w)| {
        let rel = path.strip_prefix(&w.path).ok()?;
        let rel = rel.to_str()?;
        (!rel.is_empty()).then(|| (id.clone(), rel.to_string()))
    })
}

/// Watches folders that are new or came back, forgets removed or missing ones; a folder
/// that came back is queued for a full scan.
async fn check_folders(
    core: &Core,
    watcher: &mut notify::RecommendedWatcher,
    watched: &mut HashMap<String, Watched>,
    missing: &mut HashSet<String>,
    state: &WatchState,
) -> crate::Result<()> {
    let roots = repo::roots(&core.db).await?;
    let ids: HashSet<&str> = roots.iter().map(|r| r.id.as_str()).collect();
    let gone: Vec<String> = watched
        .keys()
        .filter(|id| !ids.contains(id.as_str()))
        .cloned()
        .collect();
    for id in gone {
        if let Some(w) = watched.remove(&id) {
            let _ = watcher.unwatch(&w.path);
        }
        state.set(&id, false, false);
    }
    for r in roots {
        let path = PathBuf::from(&r.path);
        let now = tokio::task::spawn_blocking({
            let p = path.clone();
            move || identity(&p)
        })
        .await
        .map_err(|e| anyhow::anyhow!("folder check: {e}"))?;
        match (watched.get(&r.id).map(|w| w.identity), now) {
            (Some(old), Some(new)) if old == new => {}
            (_, Some(new)) => {
                if let Some(w) = watched.remove(&r.id) {
                    let _ = watcher.unwatch(&w.path);
                }
                match watcher.watch(&path, RecursiveMode::Recursive) {
                    Ok(()) => {
                        let came_back = missing.remove(&r.id);
                        watched.insert(
                            r.id.clone(),
                            Watched {
                                path: path.clone(),
                                identity: new,
                            },
                        );
                        state.set(&r.id, true, false);
                        tracing::info!(folder = %r.path, came_back, "watching music folder");
                        if came_back {
                            let mut conn = core.db.acquire().await?;
                            repo::queue_scan(&mut conn, None).await?;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(folder = %r.path, error = %e, "cannot watch music folder");
                        state.set(&r.id, false, false);
                    }
                }
            }
            (_, None) => {
                if let Some(w) = watched.remove(&r.id) {
                    let _ = watcher.unwatch(&w.path);
                    tracing::warn!(folder = %r.path, "music folder went away; watching for its return");
                }
                missing.insert(r.id.clone());
                state.set(&r.id, false, true);
            }
        }
    }
    Ok(())
}
