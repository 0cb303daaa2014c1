//! Walking a music folder without ever leaving it. Paths are compared by components after
//! canonicalization (`/music-private` is not inside `/music`), symlinks are followed only
//! when they resolve inside the root, and a directory reached twice (a symlink loop) is
//! walked once. Everything skipped is reported with its reason.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// File extensions the scan takes for audio (lower case).
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "mp3", "flac", "m4a", "mp4", "aac", "ogg", "oga", "opus", "wav", "aif", "aiff", "ape", "wv",
    "mpc",
];

/// An audio file found under a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Path relative to the root, `/`-separated, as the folder shows it.
    pub rel_path: String,
    pub size: u64,
    pub mtime_ms: i64,
    /// Device and inode of the file (of a symlink's target).
    pub identity: super::open::Identity,
}

/// Something under a root that was not taken, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub rel_path: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Walked {
    pub files: Vec<Found>,
    pub skipped: Vec<Skipped>,
}

/// Canonical form of a configured folder: absolute, symlinks resolved, a directory.
pub fn canonical_root(path: &Path) -> Result<PathBuf, String> {
    if !path.is_absolute() {
        return Err(format!("{} is not an absolute path", path.display()));
    }
    let c = std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !c.is_dir() {
        return Err(format!("{} is not a folder", path.display()));
    }
    if c.to_str().is_none() {
        return Err(format!("{} is not a UTF-8 path", path.display()));
    }
    Ok(c)
}

/// System folders that are never a music folder, with everything under them.
const SYSTEM_TREES: &[&str] = &["/etc", "/proc", "/sys", "/dev", "/boot", "/root"];
/// Folders that are never a music folder themselves (their subfolders may be:
/// `/var/lib/mpd/music`, `/home/anna/Music`).
const SYSTEM_FOLDERS: &[&str] = &["/", "/home", "/usr", "/var", "/var/lib"];

/// Why the canonical folder `candidate` may not be a music folder, if it may not: a
/// system location, or outside every folder of `allow_roots` when that is not empty.
pub fn refused_location(candidate: &Path, allow_roots: &[PathBuf]) -> Option<String> {
    if SYSTEM_FOLDERS.iter().any(|s| candidate == Path::new(s)) {
        return Some(format!(
            "{} is a system folder: choose the folder that holds your music",
            candidate.display()
        ));
    }
    if let Some(s) = SYSTEM_TREES
        .iter()
        .find(|s| candidate.starts_with(Path::new(s)))
    {
        return Some(format!(
            "{} is inside the system folder {s}, which is never a music folder",
            candidate.display()
        ));
    }
    if !allow_roots.is_empty() {
        let inside = allow_roots.iter().any(|a| {
            std::fs::canonicalize(a)
                .map(|a| candidate.starts_with(a))
                .unwrap_or(false)
        });
        if !inside {
            let allowed: Vec<String> = allow_roots
                .iter()
                .map(|a| a.display().to_string())
                .collect();
            return Some(format!(
                "{} is outside the folders music may come from here ({}, set by REFRAIN_LIBRARY_ALLOW_ROOTS)",
                candidate.display(),
                allowed.join(", ")
            ));
        }
    }
    None
}

fn is_audio(name: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty() && AUDIO_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
    })
}

fn mtime_ms(m: &std::fs::Metadata) -> i64 {
    m.mtime()
        .saturating_mul(1000)
        .saturating_add(m.mtime_nsec() / 1_000_000)
}

/// Walks `root` (canonical, from [`canonical_root`]). Hidden entries (a leading `.`) are
/// left out silently, as are files that are not audio by their extension.
pub fn walk(root: &Path) -> Walked {
    let mut w = Walker::new(root);
    w.stack.push((root.to_path_buf(), String::new()));
    w.drain();
    w.out
}

/// Walks only `rel_paths` under `root` (files, or folders with all below them), as a
/// folder watch reports them; paths that no longer exist yield nothing. The same rules
/// as [`walk`]: nothing outside the root, nothing hidden, each folder once.
pub fn walk_paths(root: &Path, rel_paths: &[String]) -> Walked {
    let mut w = Walker::new(root);
    for rel in rel_paths {
        let p = Path::new(rel);
        let normal = !p.is_absolute()
            && p.components().all(|c| match c {
                std::path::Component::Normal(n) => !n.to_string_lossy().starts_with('.'),
                _ => false,
            });
        if !normal || rel.is_empty() {
            continue;
        }
        let full = root.join(p);
        // Its folder must itself resolve inside the root (no symlinked parent).
        let parent_inside = full
            .parent()
            .and_then(|d| std::fs::canonicalize(d).ok())
            .is_some_and(|d| d.starts_with(root));
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if parent_inside && std::fs::symlink_metadata(&full).is_ok() {
            w.entry(full.clone(), name, rel.trim_end_matches('/').to_string());
        }
    }
    w.drain();
    let mut seen = HashSet::new();
    w.out.files.retain(|f| seen.insert(f.rel_path.clone()));
    w.out
}

struct Walker<'a> {
    root: &'a Path,
    out: Walked,
    visited: HashSet<(u64, u64)>,
    /// (directory on disk, its path relative to the root with a trailing `/`)
    stack: Vec<(PathBuf, String)>,
}

impl<'a> Walker<'a> {
    fn new(root: &'a Path) -> Self {
        let mut visited = HashSet::new();
        if let Ok(m) = std::fs::metadata(root) {
            visited.insert((m.dev(), m.ino()));
        }
        Walker {
            root,
            out: Walked::default(),
            visited,
            stack: Vec::new(),
        }
    }

    fn skip(&mut self, rel_path: String, reason: impl Into<String>) {
        self.out.skipped.push(Skipped {
            rel_path,
            reason: reason.into(),
        });
    }

    fn drain(&mut self) {
        while let Some((dir, rel_dir)) = self.stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) => {
                    self.skip(rel_dir, format!("folder not readable: {e}"));
                    continue;
                }
            };
            let mut names: Vec<_> = entries.filter_map(|e| e.ok()).collect();
            names.sort_by_key(|e| e.file_name());
            for entry in names {
                let os_name = entry.file_name();
                let Some(name) = os_name.to_str() else {
                    self.skip(
                        format!("{rel_dir}{}", os_name.to_string_lossy()),
                        "the name is not valid UTF-8",
                    );
                    continue;
                };
                if name.starts_with('.') {
                    continue;
                }
                self.entry(entry.path(), name, format!("{rel_dir}{name}"));
            }
        }
    }

    /// Takes one entry: an audio file is found, a folder is walked later.
    fn entry(&mut self, path: PathBuf, name: &str, rel: String) {
        let Ok(lmeta) = std::fs::symlink_metadata(&path) else {
            return;
        };
        let meta = if lmeta.file_type().is_symlink() {
            // Follow it only if it resolves inside the root.
            let target = match std::fs::canonicalize(&path) {
                Ok(t) => t,
                Err(e) => {
                    self.skip(rel, format!("broken symlink or symlink loop: {e}"));
                    return;
                }
            };
            if !target.starts_with(self.root) {
                self.skip(rel, "symlink points outside the music folder");
                return;
            }
            match std::fs::metadata(&target) {
                Ok(m) => m,
                Err(_) => return,
            }
        } else {
            lmeta
        };
        if meta.is_dir() {
            if !self.visited.insert((meta.dev(), meta.ino())) {
                self.skip(rel, "folder already walked (symlink loop)");
                return;
            }
            self.stack.push((path, format!("{rel}/")));
        } else if meta.is_file() && is_audio(name) {
            self.out.files.push(Found {
                rel_path: rel,
                size: meta.len(),
                mtime_ms: mtime_ms(&meta),
                identity: super::open::Identity::of(&meta),
            });
        }
    }
}

/// A cheap identity for a file's content: SHA-256 over its size and its first and last
/// 64 KiB (a full hash of every file would make a scan as slow as reading the library).
pub fn content_hash(path: &Path) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    const PART: u64 = 64 * 1024;
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(&len.to_be_bytes());
    let mut buf = vec![0u8; PART as usize];
    let n = (&mut f).take(PART).read(&mut buf)?;
    ctx.update(&buf[..n]);
    if len > PART {
        f.seek(SeekFrom::Start(len.saturating_sub(PART).max(PART)))?;
        let mut tail = Vec::with_capacity(PART as usize);
        f.take(PART).read_to_end(&mut tail)?;
        ctx.update(&tail);
    }
    Ok(ctx
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::symlink;

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"not really audio").unwrap();
    }

    #[test]
    fn walk_stays_inside_the_root() {
        let top = tempfile::tempdir().unwrap();
        let music = top.path().join("music");
        touch(&music.join("a/one.mp3"));
        touch(&music.join("a/cover.jpg"));
        touch(&music.join(".hidden/secret.mp3"));
        touch(&music.join("b/Two.FLAC"));
        // A sibling sharing the root's name as a prefix, and a link into it.
        touch(&top.path().join("music-private/diary.mp3"));
        symlink(top.path().join("music-private"), music.join("private")).unwrap();
        symlink(
            top.path().join("music-private/diary.mp3"),
            music.join("d.mp3"),
        )
        .unwrap();
        // A loop, and a link to a file inside.
        symlink(&music, music.join("a/loop")).unwrap();
        symlink(music.join("a/one.mp3"), music.join("alias.mp3")).unwrap();
        symlink(music.join("nowhere"), music.join("broken.mp3")).unwrap();

        let root = canonical_root(&music).unwrap();
        let w = walk(&root);
        let mut files: Vec<_> = w.files.iter().map(|f| f.rel_path.as_str()).collect();
        files.sort();
        assert_eq!(files, ["a/one.mp3", "alias.mp3", "b/Two.FLAC"]);
        let reason = |p: &str| {
            w.skipped
                .iter()
                .find(|s| s.rel_path == p)
                .map(|s| s.reason.clone())
                .unwrap_or_default()
        };
        assert!(reason("private").contains("outside"), "{:?}", w.skipped);
        assert!(reason("d.mp3").contains("outside"));
        assert!(reason("a/loop").contains("loop"));
        assert!(reason("broken.mp3").contains("broken"));

        // Reading goes through the same rules (and is tested with them in `open`).
        let open = |p: &str| super::super::open::open(&root, p, None);
        assert!(open("a/one.mp3").is_ok());
        assert!(open("d.mp3").is_err());
        assert!(open("../music-private/diary.mp3").is_err());
        assert!(open("/etc/passwd").is_err());
    }

    #[test]
    fn system_locations_are_never_music_folders() {
        let p = |s: &str| refused_location(Path::new(s), &[]);
        for bad in [
            "/",
            "/etc",
            "/etc/ssl",
            "/proc/self",
            "/sys",
            "/dev/shm",
            "/boot",
            "/root",
            "/root/Music",
            "/var/lib",
            "/var",
            "/usr",
            "/home",
        ] {
            assert!(p(bad).is_some(), "{bad} was allowed");
        }
        for good in [
            "/var/lib/mpd/music",
            "/home/anna/Music",
            "/srv/music",
            "/mnt/nas",
            "/etcetera",
        ] {
            assert_eq!(p(good), None, "{good} was refused");
        }
        let top = tempfile::tempdir().unwrap();
        let allowed = top.path().join("shares");
        std::fs::create_dir_all(allowed.join("music")).unwrap();
        let canon = std::fs::canonicalize(&allowed).unwrap();
        let roots = [allowed.clone()];
        assert_eq!(refused_location(&canon.join("music"), &roots), None);
        let why = refused_location(Path::new("/srv/music"), &roots).unwrap();
        assert!(why.contains("REFRAIN_LIBRARY_ALLOW_ROOTS"), "{why}");
    }

    #[test]
    fn walk_paths_takes_only_what_changed() {
        let top = tempfile::tempdir().unwrap();
        let music = top.path().join("music");
        touch(&music.join("a/one.mp3"));
        touch(&music.join("a/two.mp3"));
        touch(&music.join("b/three.mp3"));
        touch(&top.path().join("elsewhere/x.mp3"));
        symlink(top.path().join("elsewhere"), music.join("out")).unwrap();
        let root = canonical_root(&music).unwrap();
        let paths = |ps: &[&str]| {
            let mut v: Vec<String> =
                walk_paths(&root, &ps.iter().map(|p| p.to_string()).collect::<Vec<_>>())
                    .files
                    .into_iter()
                    .map(|f| f.rel_path)
                    .collect();
            v.sort();
            v
        };
        assert_eq!(paths(&["a/one.mp3"]), ["a/one.mp3"]);
        assert_eq!(paths(&["a", "a/one.mp3"]), ["a/one.mp3", "a/two.mp3"]);
        assert!(
            paths(&[
                "gone.mp3",
                "../elsewhere/x.mp3",
                "out/x.mp3",
                "out",
                ".hidden"
            ])
            .is_empty()
        );
    }

    #[test]
    fn content_hash_follows_content_not_name() {
        let d = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(d.path().join("x"), &big).unwrap();
        std::fs::write(d.path().join("y"), &big).unwrap();
        let mut other = big.clone();
        *other.last_mut().unwrap() ^= 1;
        std::fs::write(d.path().join("z"), &other).unwrap();
        let h = |n: &str| content_hash(&d.path().join(n)).unwrap();
        assert_eq!(h("x"), h("y"));
        assert_ne!(h("x"), h("z"));
    }
}
