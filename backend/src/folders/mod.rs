//! Music folders scanned into the shared catalog in place: admins name folders
//! (`REFRAIN_LIBRARY_DIRS` or the admin page), a scan walks them without leaving them
//! ([`walk`]), registers each audio file as a shared track from its tags, and keeps the
//! catalog in step on rescans (changed, moved and removed files) and, in between, through
//! a folder watch ([`watch`]). Originals are never
//! copied; a track's rendition is made when it is first played or by the background pass
//! ([`rendition`]).

pub mod open;
pub mod rendition;
pub mod repo;
pub mod service;
pub mod walk;
pub mod watch;

pub use service::{
    FolderView, ScanView, add_folder, latest_scan, list_folders, queue_if_due, remove_folder,
    request_scan, run_queued, scan_changes, scan_now, sync_configured,
};
