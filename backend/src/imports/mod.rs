//! Import jobs: an upload is streamed to object storage, recorded as a job and announced
//! with an `import.requested` event in the same transaction. The worker's pipeline does
//! the media work and finishes the job through `finish_job`/`fail_job` here.

pub mod quota;
pub mod repo;
mod service;

pub use repo::{JobState, JobView};
pub use service::{
    FinishedImport, create_upload, fail_job, finish_job, job_object_keys, list_jobs, start_job,
    validate_filename,
};

use serde::{Deserialize, Serialize};

/// Fragment index of a fragmented MP4 rendition: where the init segment ends and where
/// each fragment starts (start time in ms, byte offset).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SegmentIndex {
    pub init_end: u64,
    pub segments: Vec<(u64, u64)>,
}
