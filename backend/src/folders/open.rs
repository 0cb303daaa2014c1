//! The one way a scanned file is opened for reading: web renditions, Subsonic `stream`
//! and `download`, transcodes and cover extraction all come through [`open`].
//!
//! The check is made on the open file itself, not on its name, so nothing can be swapped
//! between the check and the read: the file is opened (following symlinks, as the scan
//! does for those that stay inside the folder), then the kernel is asked where the open
//! file really is (`/proc/self/fd/N`), and that place must lie inside the music folder.
//! A file whose device and inode differ from what the scan recorded was replaced since
//! (by a hard link to a file elsewhere, say) and is refused until a scan has read it.
//! Tools that take a path (ffmpeg, ffprobe, the tag reader) are given
//! `/proc/<pid>/fd/N`, which names the file already opened and checked.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// A file's identity on its disk: device and inode numbers, as the scan saw them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub dev: u64,
    pub ino: u64,
}

impl Identity {
    pub fn of(meta: &std::fs::Metadata) -> Self {
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }

    /// As stored (SQL has no unsigned 64-bit integer: the bits are kept as they are).
    pub fn to_db(self) -> (i64, i64) {
        (self.dev as i64, self.ino as i64)
    }

    /// From stored columns; `None` for rows written before identities were recorded.
    pub fn from_db(dev: Option<i64>, ino: Option<i64>) -> Option<Self> {
        Some(Identity {
            dev: dev? as u64,
            ino: ino? as u64,
        })
    }
}

/// Why a scanned file was not opened.
#[derive(Debug)]
pub enum Refused {
    /// The path, or where it leads, is not inside the music folder.
    Outside,
    /// Not the file the scan read (another device and inode).
    Replaced,
    /// Not a regular file (a folder, a pipe, a device).
    NotAFile,
    /// Missing or unreadable.
    Unreadable(std::io::Error),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Outside => f.write_str("this track's file is no longer in its music folder"),
            Refused::Replaced => f.write_str(
                "this track's file was replaced since the last scan: it plays again once the folder is scanned",
            ),
            Refused::NotAFile => f.write_str("this track's file is not a regular file"),
            Refused::Unreadable(e) => write!(f, "this track's file cannot be read: {e}"),
        }
    }
}

/// A scanned file, open and checked.
#[derive(Debug, Clone)]
pub struct Opened {
    pub file: Arc<File>,
    pub len: u64,
    pub identity: Identity,
    /// Where it really is (inside the folder).
    pub real_path: PathBuf,
    tool_path: PathBuf,
}

impl Opened {
    /// A path naming this open file for a tool that takes paths (`/proc/<pid>/fd/N`
    /// where the kernel offers it); valid while this value (or a clone) lives.
    pub fn tool_path(&self) -> &Path {
        &self.tool_path
    }
}

/// Opens `rel_path` under the music folder `root` for reading, if the open file lies
/// inside `root` and, when `expected` is known, is the file the scan recorded. Blocking:
/// call it off the async threads.
pub fn open(root: &Path, rel_path: &str, expected: Option<Identity>) -> Result<Opened, Refused> {
    let rel = Path::new(rel_path);
    if rel_path.is_empty()
        || rel.is_absolute()
        || rel.components().any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err(Refused::Outside);
    }
    let root = std::fs::canonicalize(root).map_err(Refused::Unreadable)?;
    // Non-blocking, so that a pipe put in a file's place cannot hang the open; reads of
    // a regular file are not affected by the flag.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(root.join(rel))
        .map_err(Refused::Unreadable)?;
    let meta = file.metadata().map_err(Refused::Unreadable)?;
    if !meta.is_file() {
        return Err(Refused::NotAFile);
    }
    let identity = Identity::of(&meta);
    let fd = file.as_raw_fd();
    let (real_path, tool_path) = match std::fs::read_link(format!("/proc/self/fd/{fd}")) {
        Ok(real) => (
            real,
            PathBuf::from(format!("/proc/{}/fd/{fd}", std::process::id())),
        ),
        // No /proc: resolve the name again and require it to be the very file opened.
        Err(_) => {
            let real = std::fs::canonicalize(root.join(rel)).map_err(Refused::Unreadable)?;
            let again = std::fs::metadata(&real).map_err(Refused::Unreadable)?;
            if Identity::of(&again) != identity {
                return Err(Refused::Outside);
            }
            (real.clone(), real)
        }
    };
    if !real_path.starts_with(&root) || real_path == root {
        return Err(Refused::Outside);
    }
    if expected.is_some_and(|e| e != identity) {
        return Err(Refused::Replaced);
    }
    Ok(Opened {
        file: Arc::new(file),
        len: meta.len(),
        identity,
        real_path,
        tool_path,
    })
}

/// [`open`] off the async threads.
pub async fn open_async(
    root: PathBuf,
    rel_path: String,
    expected: Option<Identity>,
) -> crate::Result<Result<Opened, Refused>> {
    tokio::task::spawn_blocking(move || open(&root, &rel_path, expected))
        .await
        .map_err(|e| anyhow::anyhow!("open task: {e}").into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::symlink;

    #[test]
    fn opens_only_inside_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("music");
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::write(root.join("a/x.mp3"), b"inside").unwrap();
        std::fs::write(dir.path().join("secret.key"), b"secret").unwrap();
        symlink(root.join("a/x.mp3"), root.join("a/in.mp3")).unwrap();
        symlink(dir.path().join("secret.key"), root.join("a/out.mp3")).unwrap();
        symlink(dir.path(), root.join("up")).unwrap();

        let ok = open(&root, "a/x.mp3", None).unwrap();
        let mut s = String::new();
        File::open(ok.tool_path())
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "inside");
        assert_eq!(ok.len, 6);
        // A symlink that stays inside is followed, as the scan follows it.
        let inside = open(&root, "a/in.mp3", None).unwrap();
        assert_eq!(inside.identity, ok.identity);
        for bad in [
            "a/out.mp3",
            "up/secret.key",
            "../secret.key",
            "/etc/passwd",
            "",
        ] {
            assert!(
                matches!(open(&root, bad, None), Err(Refused::Outside)),
                "{bad} was opened"
            );
        }
        assert!(matches!(open(&root, "a", None), Err(Refused::NotAFile)));
        assert!(matches!(
            open(&root, "a/missing.mp3", None),
            Err(Refused::Unreadable(_))
        ));
    }

    #[test]
    fn a_replaced_file_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("x.mp3"), b"first").unwrap();
        let seen = open(root, "x.mp3", None).unwrap().identity;
        assert!(open(root, "x.mp3", Some(seen)).is_ok());
        // Replaced by another file (a rename over it, as a hard link would be).
        std::fs::write(root.join("y.mp3"), b"other").unwrap();
        std::fs::rename(root.join("y.mp3"), root.join("x.mp3")).unwrap();
        assert!(matches!(
            open(root, "x.mp3", Some(seen)),
            Err(Refused::Replaced)
        ));
        let (d, i) = seen.to_db();
        assert_eq!(Identity::from_db(Some(d), Some(i)), Some(seen));
        assert_eq!(Identity::from_db(None, Some(i)), None);
    }
}
