//! Import jobs: an upload is streamed to object storage, recorded as a job and announced
//! with an `import.requested` event in the same transaction. The worker's pipeline does
//! the media work and finishes the job through `finish_job`/`fail_job` here.

pub mod desk;
pub mod fetch;
pub mod job;
pub mod proxy;
pub mod quota;
pub mod repo;
mod service;
pub mod ytdlp;

pub use job::{fail_job, start_job};
pub use repo::{JobState, JobView};
pub use service::{
    FinishedImport, create_from_url, create_from_youtube, create_upload, fetch_original,
    finish_job, job_object_keys, list_jobs, store_thumbnails, validate_filename,
};

use serde::{Deserialize, Serialize};

/// Fragment index of a fragmented MP4 rendition: where the init segment ends and where
/// each fragment starts (start time in ms, byte offset).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SegmentIndex {
    pub init_end: u64,
    pub segments: Vec<(u64, u64)>,
}

/// Integrated loudness and true peak of a track (EBU R128), measured at import.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loudness {
    /// Integrated loudness in LUFS.
    pub lufs: f64,
    /// True peak in dBTP.
    pub peak_db: f64,
}

/// Widths (and heights: thumbnails are square) of the cover thumbnails made at import.
pub const COVER_SIZES: [u32; 3] = [96, 320, 640];

/// Object key of a cover thumbnail: beside the original, `covers/<job>-<size>.jpg`.
pub fn thumb_key(cover_key: &str, size: u32) -> String {
    let stem = cover_key
        .strip_suffix(".jpg")
        .or_else(|| cover_key.strip_suffix(".png"))
        .unwrap_or(cover_key);
    format!("{stem}-{size}.jpg")
}

/// The smallest thumbnail at least `want` pixels wide (the largest when none is).
pub fn thumb_size_for(want: u32) -> u32 {
    COVER_SIZES
        .iter()
        .copied()
        .find(|s| *s >= want)
        .unwrap_or(COVER_SIZES[COVER_SIZES.len() - 1])
}

/// The rendition's encoder delay: ffmpeg's AAC encoder puts 1024 priming samples before
/// the audio, and fragmented MP4 has no edit list to hide them. The player trims them
/// with append windows for gapless playback.
pub const RENDITION_PRIMING_SAMPLES: u32 = 1024;
/// The rendition's sample rate (the transcoder resamples everything to it).
pub const RENDITION_SAMPLE_RATE: u32 = 44_100;

/// Loudness the player normalizes to (LUFS), as Spotify's default and YouTube do.
pub const TARGET_LUFS: f64 = -14.0;

/// The gain (dB) that brings a track to [`TARGET_LUFS`]. The player only turns tracks down
/// (an audio element's volume cannot exceed 1), so a quiet track plays as it is: the gain
/// is at most 0, and at least -24 dB.
pub fn normalization_gain_db(l: Loudness) -> f64 {
    if !l.lufs.is_finite() {
        return 0.0;
    }
    (TARGET_LUFS - l.lufs).clamp(-24.0, 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_sit_beside_the_original() {
        assert_eq!(thumb_key("covers/j1.jpg", 96), "covers/j1-96.jpg");
        assert_eq!(thumb_key("covers/j1.png", 640), "covers/j1-640.jpg");
        assert_eq!(thumb_size_for(1), 96);
        assert_eq!(thumb_size_for(97), 320);
        assert_eq!(thumb_size_for(5000), 640);
    }

    #[test]
    fn gain_turns_loud_tracks_down_only() {
        let g = |lufs| normalization_gain_db(Loudness { lufs, peak_db: 0.0 });
        assert_eq!(g(-8.0), -6.0);
        assert_eq!(g(-14.0), 0.0);
        assert_eq!(g(-30.0), 0.0);
        assert_eq!(g(10.0), -24.0);
        assert_eq!(g(f64::NAN), 0.0);
    }
}
