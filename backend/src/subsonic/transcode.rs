//! Transcoding on the fly for Subsonic apps (`stream` with `format`, `maxBitRate` and
//! `timeOffset`).
//!
//! ffmpeg runs with a fixed argument list (no shell; the codec comes from an allow-list,
//! the bit rate and offset are numbers), reads only files and pipes
//! (`-protocol_whitelist file,pipe`), within `-max_alloc` and the media time limit, and is
//! killed when the client goes away. Each node runs at most [`Gate`]'s number of
//! transcodes at once, and each user at most a few; past that the app gets 429. A whole
//! transcode from the start is kept in object storage (`transcodes/<track>/…`), so the
//! next play of the same song in the same format and rate is served from there with
//! `Range` like any file; the track's deletion deletes them. Rates are quantised to a
//! ladder of [`Codec::rates`] (at most six kept transcodes per codec of a song, whatever
//! rates apps ask for), and all kept transcodes together stay under
//! `REFRAIN_TRANSCODE_CACHE_MB`, the oldest dropped first.

use super::media::{Original, Source};
use crate::infra::metrics::{TRANSCODES_DROPPED, TRANSCODES_KEPT_BYTES};
use crate::{Core, Error, Result};
use bytes::Bytes;
use futures::stream::BoxStream;
use std::process::Stdio;
use std::sync::atomic::Ordering;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Formats an app may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Mp3,
    Opus,
    Aac,
}

impl Codec {
    pub fn parse(s: &str) -> Option<Codec> {
        match s {
            "mp3" => Some(Codec::Mp3),
            "opus" | "ogg" => Some(Codec::Opus),
            "aac" | "m4a" => Some(Codec::Aac),
            _ => None,
        }
    }
    pub fn suffix(self) -> &'static str {
        match self {
            Codec::Mp3 => "mp3",
            Codec::Opus => "opus",
            Codec::Aac => "aac",
        }
    }
    pub fn mime(self) -> &'static str {
        match self {
            Codec::Mp3 => "audio/mpeg",
            Codec::Opus => "audio/ogg",
            Codec::Aac => "audio/aac",
        }
    }
    /// The rate used when the app names no `maxBitRate`.
    pub fn default_kbps(self) -> u32 {
        match self {
            Codec::Mp3 => 192,
            Codec::Opus => 128,
            Codec::Aac => 160,
        }
    }
    /// The rates (kbit/s) transcodes are made at, lowest first: an app's `maxBitRate` gets
    /// the highest one not above it, so every rate an app may name shares six transcodes.
    pub fn rates(self) -> [u32; 6] {
        match self {
            Codec::Mp3 => [64, 96, 128, 192, 256, 320],
            Codec::Opus => [32, 48, 64, 96, 128, 192],
            Codec::Aac => [64, 96, 128, 160, 192, 256],
        }
    }
    /// The rate a transcode for `max_kbps` is made at (0: no limit, the default rate).
    pub fn rate_for(self, max_kbps: u32) -> u32 {
        if max_kbps == 0 {
            return self.default_kbps();
        }
        let rates = self.rates();
        rates
            .iter()
            .rev()
            .find(|r| **r <= max_kbps)
            .copied()
            .unwrap_or(rates[0])
    }
    /// ffmpeg's encoder and container.
    fn encoder(self) -> [&'static str; 4] {
        match self {
            Codec::Mp3 => ["-c:a", "libmp3lame", "-f", "mp3"],
            Codec::Opus => ["-c:a", "libopus", "-f", "ogg"],
            Codec::Aac => ["-c:a", "aac", "-f", "adts"],
        }
    }
}

/// The highest bit rate (kbit/s) an app's `maxBitRate` is taken as.
pub const MAX_KBPS: u32 = 320;

/// What a `stream` request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// The original file as it is.
    Raw,
    Transcode {
        codec: Codec,
        kbps: u32,
        /// Seconds into the song to start at.
        offset: u32,
    },
}

/// Decides between the original and a transcode: `format` (`raw`, `mp3`, `opus`, `aac`),
/// `max_kbps` (0: no limit) and `offset` as the app sent them, and what the original is.
pub fn plan(
    format: Option<&str>,
    max_kbps: u32,
    offset: u32,
    original_suffix: Option<&str>,
    original_kbps: Option<i64>,
) -> Result<Plan> {
    let format = format.map(str::trim).filter(|f| !f.is_empty());
    if format == Some("raw") {
        return Ok(Plan::Raw);
    }
    let codec = match format {
        None => None,
        Some(f) => Some(Codec::parse(f).ok_or_else(|| {
            Error::Invalid(format!(
                "format {:?} is not offered: raw, mp3, opus or aac",
                f.chars().take(20).collect::<String>()
            ))
        })?),
    };
    let within = |kbps: i64| max_kbps == 0 || kbps <= i64::from(max_kbps);
    let same_codec = codec.is_none_or(|c| original_suffix == Some(c.suffix()));
    if offset == 0 && same_codec && original_kbps.is_none_or(within) {
        return Ok(Plan::Raw);
    }
    let codec = codec.unwrap_or(Codec::Mp3);
    let kbps = codec.rate_for(max_kbps.min(MAX_KBPS));
    Ok(Plan::Transcode {
        codec,
        kbps,
        offset,
    })
}

/// Where a track's transcodes are kept.
pub fn cache_prefix(track_id: &str) -> String {
    format!("transcodes/{track_id}/")
}

pub fn cache_key(track_id: &str, codec: Codec, kbps: u32) -> String {
    format!("{}{kbps}k.{}", cache_prefix(track_id), codec.suffix())
}

pub use crate::infra::gate::{Gate, Permit};

/// A transcode being made: its bytes as ffmpeg writes them.
pub struct Transcode {
    pub stream: BoxStream<'static, std::io::Result<Bytes>>,
    pub mime: &'static str,
}

struct Running {
    child: tokio::process::Child,
    out: tokio::process::ChildStdout,
    /// The whole output so far, to keep when it ends well (a transcode from the start).
    keep: Option<(tempfile::NamedTempFile, tokio::fs::File, String)>,
    core: Core,
    _permit: Permit,
    /// A scanned original stays open while ffmpeg reads it through `/proc/<pid>/fd/N`
    /// (closing it would free the number for another file).
    _source: Option<crate::folders::open::Opened>,
    deadline: tokio::time::Instant,
}

/// Starts transcoding `original` as `codec` at `kbps` from `offset` seconds.
pub async fn start(
    core: &Core,
    original: &Original,
    (codec, kbps, offset): (Codec, u32, u32),
    permit: Permit,
) -> Result<Transcode> {
    let tools = crate::media::Tools::of(&core.config);
    // The demuxer the file's first bytes name, forced (as at import).
    let demuxer = crate::media::sniff(|at, len| async move {
        let end = at.saturating_add(len as u64).min(original.bytes);
        if at >= end {
            return Ok(Vec::new());
        }
        let read = original
            .range(core, at, end)
            .await
            .map_err(std::io::Error::other)?;
        let mut head = Vec::with_capacity(len);
        let mut s = read.stream;
        while let Some(piece) = futures::StreamExt::next(&mut s).await {
            head.extend_from_slice(&piece.map_err(std::io::Error::other)?);
        }
        Ok(head)
    })
    .await
    .map_err(|e| anyhow::anyhow!("cannot read the original: {e}"))?
    .ok_or_else(|| Error::Invalid(crate::media::not_audio().0))?;
    let mut cmd = tools.ffmpeg();
    cmd.args(["-nostdin", "-hide_banner", "-loglevel", "error"])
        .args(["-protocol_whitelist", "file,pipe", "-f", demuxer]);
    if offset > 0 {
        cmd.arg("-ss").arg(offset.to_string());
    }
    let local = match &original.source {
        Source::File(f) => Some(f.tool_path().to_path_buf()),
        Source::Object(k) => core.storage.local_path(k),
    };
    match &local {
        Some(p) => {
            cmd.arg("-i").arg(format!("file:{}", p.display()));
            cmd.stdin(Stdio::null());
        }
        None => {
            cmd.args(["-i", "pipe:0"]);
            cmd.stdin(Stdio::piped());
        }
    }
    let enc = codec.encoder();
    cmd.args(["-map", "0:a:0", "-vn", "-map_metadata", "-1"])
        .args(&enc[..2])
        .arg("-b:a")
        .arg(format!("{kbps}k"))
        .args(&enc[2..])
        .arg("pipe:1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot run ffmpeg: {e}"))?;
    if local.is_none()
        && let Some(mut stdin) = child.stdin.take()
    {
        // An object in S3: fed to ffmpeg as it arrives.
        let read = original.range(core, 0, original.bytes).await?;
        tokio::spawn(async move {
            let mut s = read.stream;
            while let Some(Ok(piece)) = futures::StreamExt::next(&mut s).await {
                if stdin.write_all(&piece).await.is_err() {
                    break;
                }
            }
        });
    }
    let out = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("ffmpeg has no stdout"))?;
    let keep = if offset == 0 {
        let tmp = tempfile::NamedTempFile::new().map_err(anyhow::Error::from)?;
        let f = tokio::fs::File::from_std(tmp.reopen().map_err(anyhow::Error::from)?);
        Some((tmp, f, cache_key(&original.song.track.id, codec, kbps)))
    } else {
        None
    };
    let state = Running {
        child,
        out,
        keep,
        core: core.clone(),
        _permit: permit,
        _source: match &original.source {
            Source::File(f) => Some(f.clone()),
            Source::Object(_) => None,
        },
        deadline: tokio::time::Instant::now() + tools.timeout,
    };
    let stream = futures::stream::unfold(Some(state), |state| async move {
        let mut st = state?;
        let mut buf = vec![0u8; 64 * 1024];
        let read = tokio::time::timeout_at(st.deadline, st.out.read(&mut buf)).await;
        match read {
            Ok(Ok(0)) => {
                finish(st).await;
                None
            }
            Ok(Ok(n)) => {
                buf.truncate(n);
                if let Some((_, f, _)) = &mut st.keep
                    && f.write_all(&buf).await.is_err()
                {
                    st.keep = None;
                }
                Some((Ok(Bytes::from(buf)), Some(st)))
            }
            Ok(Err(e)) => Some((Err(e), None)),
            Err(_) => Some((
                Err(std::io::Error::other("the transcode ran out of time")),
                None,
            )),
        }
    });
    Ok(Transcode {
        stream: Box::pin(stream),
        mime: codec.mime(),
    })
}

/// After ffmpeg's last byte: keeps the transcode if ffmpeg ended well.
async fn finish(mut st: Running) {
    let ok = st.child.wait().await.is_ok_and(|s| s.success());
    if let (true, Some((tmp, mut f, key))) = (ok, st.keep.take()) {
        if f.flush().await.is_err() {
            return;
        }
        drop(f);
        if let Err(e) = st.core.storage.put_file(&key, tmp.path()).await {
            tracing::warn!(%key, error = %e, "a transcode could not be kept");
            return;
        }
        if let Err(e) = keep_under_cap(&st.core).await {
            tracing::warn!(error = %e, "kept transcodes could not be trimmed");
        }
    }
}

/// Drops the oldest kept transcodes until all of them take at most
/// `REFRAIN_TRANSCODE_CACHE_MB`; returns the bytes kept.
pub async fn keep_under_cap(core: &Core) -> Result<u64> {
    let cap = core.config.storage.transcode_cache_bytes;
    let kept = core.storage.list_sized("transcodes/").await?;
    let mut total: u64 = kept.iter().map(|k| k.1).sum();
    for (key, bytes, _) in kept {
        if total <= cap {
            break;
        }
        core.storage.delete(&key).await?;
        total = total.saturating_sub(bytes);
        TRANSCODES_DROPPED.fetch_add(1, Ordering::Relaxed);
        tracing::info!(%key, bytes, "kept transcode dropped (cache full)");
    }
    TRANSCODES_KEPT_BYTES.store(total, Ordering::Relaxed);
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_original_is_served_unless_the_app_needs_otherwise() {
        let p = |f, max, off, suf, kbps| plan(f, max, off, suf, kbps).unwrap();
        assert_eq!(p(None, 0, 0, Some("flac"), Some(900)), Plan::Raw);
        assert_eq!(p(Some("raw"), 128, 30, Some("flac"), Some(900)), Plan::Raw);
        assert_eq!(p(None, 320, 0, Some("mp3"), Some(192)), Plan::Raw);
        assert_eq!(p(Some("mp3"), 0, 0, Some("mp3"), Some(192)), Plan::Raw);
        assert_eq!(
            p(None, 128, 0, Some("flac"), Some(900)),
            Plan::Transcode {
                codec: Codec::Mp3,
                kbps: 128,
                offset: 0
            }
        );
        assert_eq!(
            p(Some("opus"), 0, 0, Some("mp3"), Some(192)),
            Plan::Transcode {
                codec: Codec::Opus,
                kbps: 128,
                offset: 0
            }
        );
        assert_eq!(
            p(Some("aac"), 1000, 0, Some("flac"), None),
            Plan::Transcode {
                codec: Codec::Aac,
                kbps: 256,
                offset: 0
            }
        );
        assert_eq!(
            p(None, 0, 60, Some("mp3"), Some(192)),
            Plan::Transcode {
                codec: Codec::Mp3,
                kbps: 192,
                offset: 60
            }
        );
        assert!(plan(Some("wav; rm -rf /"), 0, 0, None, None).is_err());
    }

    #[test]
    fn rates_are_quantised_never_above_what_the_app_allows() {
        for codec in [Codec::Mp3, Codec::Opus, Codec::Aac] {
            let mut made = std::collections::BTreeSet::new();
            for max in 1..=2000 {
                let r = codec.rate_for(max);
                assert!(codec.rates().contains(&r));
                assert!(r <= max || r == codec.rates()[0], "{codec:?} {max} -> {r}");
                made.insert(r);
            }
            assert_eq!(made.len(), 6, "{codec:?}");
            assert_eq!(codec.rate_for(0), codec.default_kbps());
            assert!(codec.rates().contains(&codec.default_kbps()));
        }
        assert_eq!(Codec::Mp3.rate_for(200), 192);
        assert_eq!(Codec::Opus.rate_for(8), 32);
    }

    #[test]
    fn the_gate_caps_all_and_each_user() {
        let g = Gate::new(3, 2);
        let a1 = g.enter("a").unwrap();
        let _a2 = g.enter("a").unwrap();
        assert!(g.enter("a").is_none(), "two per user");
        let _b1 = g.enter("b").unwrap();
        assert!(g.enter("c").is_none(), "three in all");
        drop(a1);
        assert!(g.enter("c").is_some(), "a place came free");
    }
}
