//! Media work for imports: ffprobe validation, tag reading with lofty (bounded, on the
//! pool in [`tag_pool`]), cover extraction, transcoding to fragmented MP4 AAC with
//! ffmpeg, and the rendition's fragment index.

pub mod tag_pool;

use crate::imports::{Loudness, SegmentIndex};
use serde::Deserialize;
use std::path::Path;
use std::process::Stdio;
use tokio::process::Command;

/// A failure of the input itself: the job fails with this text and is not retried.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Rejected(pub String);

/// ffmpeg and ffprobe, and the limits every run of them is held to: a file that takes
/// longer than `timeout` to process is rejected (the child is killed), no single
/// allocation may exceed [`MAX_ALLOC`] (a frame or picture claiming gigabytes), and
/// through `prlimit` the process gets at most [`MAX_ADDRESS_SPACE`] of memory, CPU time
/// for a few times `timeout` (a child the worker lost stops on its own) and files of at
/// most [`MAX_OUTPUT_FILE`]. Every input is read with the demuxer its first bytes name
/// ([`sniff`]) and may open local files and pipes only.
#[derive(Debug, Clone)]
pub struct Tools {
    pub ffmpeg: String,
    pub ffprobe: String,
    /// `prlimit`, or empty to run the tools without those limits.
    pub prlimit: String,
    pub timeout: std::time::Duration,
    /// lofty gets this long for one file's tags ([`read_tags`]).
    pub tag_timeout: std::time::Duration,
}

/// ffmpeg's `-max_alloc`: the largest single memory block it may allocate.
pub const MAX_ALLOC: &str = "268435456";
/// The address space ffmpeg and ffprobe may use (threads reserve stacks, so this is well
/// above what they touch).
pub const MAX_ADDRESS_SPACE: u64 = 4 << 30;
/// The largest file ffmpeg may write (a two-hour FLAC rendition is about 1 GB).
pub const MAX_OUTPUT_FILE: u64 = 4 << 30;
/// ffprobe only reads headers: it gets at most this long.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

impl Tools {
    pub fn of(config: &crate::Config) -> Tools {
        Tools {
            ffmpeg: config.media.ffmpeg.clone(),
            ffprobe: config.media.ffprobe.clone(),
            prlimit: config.media.prlimit.clone(),
            timeout: std::time::Duration::from_secs(config.media.timeout_secs),
            tag_timeout: std::time::Duration::from_secs(config.media.tag_read_timeout_secs),
        }
    }

    /// `program`, started under the limits.
    fn limited(&self, program: &str) -> Command {
        if self.prlimit.is_empty() {
            return Command::new(program);
        }
        let mut c = Command::new(&self.prlimit);
        c.arg(format!("--as={MAX_ADDRESS_SPACE}"))
            .arg(format!(
                "--cpu={}",
                self.timeout.as_secs().saturating_mul(4).max(60)
            ))
            .arg(format!("--fsize={MAX_OUTPUT_FILE}"))
            .arg("--")
            .arg(program);
        c
    }

    /// ffmpeg under the limits, with `-max_alloc`.
    pub fn ffmpeg(&self) -> Command {
        let mut c = self.limited(&self.ffmpeg);
        c.args(["-max_alloc", MAX_ALLOC]);
        c
    }

    fn ffprobe(&self) -> Command {
        let mut c = self.limited(&self.ffprobe);
        c.args(["-max_alloc", MAX_ALLOC]);
        c
    }
}

/// What a file's first bytes say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniff {
    /// An audio container, by the name of the ffmpeg demuxer that reads it.
    Audio(&'static str),
    /// Nothing Refrain reads: a playlist, a concat script, text, an image...
    Unknown,
    /// An ID3v2 tag comes first; the container starts at this offset.
    SkipTo(u64),
}

/// How many bytes [`demuxer_for`] looks at.
pub const SNIFF_BYTES: usize = 16;

/// The demuxer for a file starting with `head`, by its magic numbers. Only these audio
/// containers are ever read: a file that names none (an HLS or M3U playlist renamed
/// `.mp3`, which ffmpeg would otherwise follow to other files or URLs) is refused.
pub fn demuxer_for(head: &[u8]) -> Sniff {
    let at = |i: usize, magic: &[u8]| head.get(i..i + magic.len()) == Some(magic);
    if at(0, b"ID3") && head.len() >= 10 {
        let size = head[6..10]
            .iter()
            .fold(0u64, |n, b| (n << 7) | u64::from(b & 0x7f));
        let footer = if head[5] & 0x10 != 0 { 10 } else { 0 };
        return Sniff::SkipTo(10 + size + footer);
    }
    let demuxer = if at(0, b"fLaC") {
        "flac"
    } else if at(0, b"OggS") {
        "ogg"
    } else if at(0, b"RIFF") && at(8, b"WAVE") {
        "wav"
    } else if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
        "aiff"
    } else if at(4, b"ftyp") {
        "mov"
    } else if at(0, &[0x1a, 0x45, 0xdf, 0xa3]) {
        "matroska"
    } else if at(0, &[0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11]) {
        "asf"
    } else if at(0, b"MAC ") {
        "ape"
    } else if at(0, b"wvpk") {
        "wv"
    } else if at(0, b"caff") {
        "caf"
    } else if head.len() >= 2 && head[0] == 0xff && head[1] & 0xe0 == 0xe0 {
        // An MPEG audio frame: layer bits 00 are ADTS (AAC), the others MP3 (layers I-III).
        if head[1] & 0x06 == 0 { "aac" } else { "mp3" }
    } else {
        return Sniff::Unknown;
    };
    Sniff::Audio(demuxer)
}

/// The demuxer for a file whose bytes `read(offset, len)` gives (see [`demuxer_for`]);
/// after an ID3v2 tag, MP3 unless the bytes say otherwise. `None`: not audio Refrain reads.
pub async fn sniff<F, Fut>(read: F) -> std::io::Result<Option<&'static str>>
where
    F: Fn(u64, usize) -> Fut,
    Fut: std::future::Future<Output = std::io::Result<Vec<u8>>>,
{
    Ok(match demuxer_for(&read(0, SNIFF_BYTES).await?) {
        Sniff::Audio(d) => Some(d),
        Sniff::Unknown => None,
        Sniff::SkipTo(offset) => match demuxer_for(&read(offset, SNIFF_BYTES).await?) {
            Sniff::Audio(d) => Some(d),
            Sniff::Unknown | Sniff::SkipTo(_) => Some("mp3"),
        },
    })
}

/// [`sniff`] for a local file.
pub async fn sniff_file(file: &Path) -> std::io::Result<Option<&'static str>> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let file = file.to_path_buf();
    sniff(|offset, len| {
        let file = file.clone();
        async move {
            let mut f = tokio::fs::File::open(&file).await?;
            f.seek(std::io::SeekFrom::Start(offset)).await?;
            let mut buf = Vec::with_capacity(len);
            f.take(len as u64).read_to_end(&mut buf).await?;
            Ok(buf)
        }
    })
    .await
}

/// Why a file whose bytes name no audio format is refused.
pub fn not_audio() -> Rejected {
    Rejected(
        "this file is not audio Refrain reads: its first bytes name none of MP3, AAC, FLAC, \
         Ogg, Opus, WAV, AIFF, MP4/M4A, WebM/Matroska, WMA, APE, WavPack or CAF"
            .into(),
    )
}

/// ffmpeg's input options for a local `file`: its demuxer forced (by [`sniff_file`]),
/// only local files and pipes allowed, then `-i file:<path>`.
pub async fn input_args(file: &Path) -> anyhow::Result<Result<Vec<std::ffi::OsString>, Rejected>> {
    let Some(demuxer) = sniff_file(file).await? else {
        return Ok(Err(not_audio()));
    };
    let mut path = std::ffi::OsString::from("file:");
    path.push(file.as_os_str());
    Ok(Ok(vec![
        "-protocol_whitelist".into(),
        "file,pipe".into(),
        "-f".into(),
        demuxer.into(),
        "-i".into(),
        path,
    ]))
}

/// Runs `cmd` to its end within `limit`; over it, the child is killed (kill_on_drop) and
/// the file rejected.
async fn run_limited(
    mut cmd: Command,
    limit: std::time::Duration,
    program: &str,
) -> anyhow::Result<Result<std::process::Output, Rejected>> {
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    match tokio::time::timeout(limit, cmd.output()).await {
        Ok(out) => {
            Ok(Ok(out.map_err(|e| {
                anyhow::anyhow!("cannot run {program}: {e}")
            })?))
        }
        Err(_) => Ok(Err(Rejected(format!(
            "the file took longer than {} s to process",
            limit.as_secs()
        )))),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub duration_ms: i64,
    pub codec: String,
    /// Tags as ffprobe sees them (used when lofty cannot read the container).
    pub tags: std::collections::HashMap<String, String>,
}

#[derive(Deserialize)]
struct FfprobeOut {
    #[serde(default)]
    streams: Vec<FfStream>,
    format: Option<FfFormat>,
}
#[derive(Deserialize)]
struct FfStream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    duration: Option<String>,
    #[serde(default)]
    disposition: std::collections::HashMap<String, i64>,
}
#[derive(Deserialize)]
struct FfFormat {
    duration: Option<String>,
    #[serde(default)]
    tags: std::collections::HashMap<String, String>,
}

/// Runs ffprobe; anything without a decodable audio stream of positive length is rejected.
pub async fn probe(tools: &Tools, file: &Path) -> anyhow::Result<Result<Probe, Rejected>> {
    let input = match input_args(file).await? {
        Ok(a) => a,
        Err(r) => return Ok(Err(r)),
    };
    let mut cmd = tools.ffprobe();
    cmd.args([
        "-v",
        "error",
        "-show_format",
        "-show_streams",
        "-of",
        "json",
    ])
    .args(&input)
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    let out = match run_limited(cmd, PROBE_TIMEOUT.min(tools.timeout), &tools.ffprobe).await? {
        Ok(o) => o,
        Err(r) => return Ok(Err(r)),
    };
    if !out.status.success() {
        return Ok(Err(Rejected(
            "this file is not audio Refrain can read".into(),
        )));
    }
    let parsed: FfprobeOut = serde_json::from_slice(&out.stdout)
        .map_err(|e| anyhow::anyhow!("unexpected ffprobe output: {e}"))?;
    let audio = parsed.streams.iter().find(|s| {
        s.codec_type.as_deref() == Some("audio")
            && s.disposition.get("attached_pic").copied().unwrap_or(0) == 0
    });
    let Some(audio) = audio else {
        return Ok(Err(Rejected("this file has no audio stream".into())));
    };
    let secs = audio
        .duration
        .as_deref()
        .or(parsed.format.as_ref().and_then(|f| f.duration.as_deref()))
        .and_then(|d| d.parse::<f64>().ok())
        .unwrap_or(0.0);
    if secs.is_nan() || secs <= 0.05 {
        return Ok(Err(Rejected("this file contains no playable audio".into())));
    }
    let tags = parsed
        .format
        .map(|f| {
            f.tags
                .into_iter()
                .map(|(k, v)| (k.to_lowercase(), v))
                .collect()
        })
        .unwrap_or_default();
    Ok(Ok(Probe {
        duration_ms: (secs * 1000.0).round() as i64,
        codec: audio.codec_name.clone().unwrap_or_default(),
        tags,
    }))
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tags {
    pub title: Option<String>,
    pub artist: Option<String>,
    pub album_artist: Option<String>,
    pub album: Option<String>,
    pub track_no: Option<i64>,
    pub disc_no: Option<i64>,
    pub year: Option<i64>,
    pub genre: Option<String>,
    /// Embedded lyrics (plain, or LRC with time stamps), see [`clean_lyrics`].
    pub lyrics: Option<String>,
    /// Embedded front cover (or first picture): bytes and MIME type.
    pub cover: Option<(Vec<u8>, String)>,
}

/// Trimmed, without control characters, at most 500 characters; `None` when empty.
fn clean(s: Option<impl AsRef<str>>) -> Option<String> {
    s.map(|s| {
        s.as_ref()
            .trim()
            .chars()
            .filter(|c| !c.is_control())
            .take(500)
            .collect::<String>()
    })
    .filter(|s| !s.is_empty())
}

/// Reads tags and the embedded cover with lofty, on the tag readers' pool within `limit`
/// (see [`tag_pool`]). An unreadable tag is not an error: the caller falls back to
/// ffprobe's tags and then to the file name.
pub async fn read_tags(file: &Path, limit: std::time::Duration) -> Tags {
    let request = tag_pool::Request {
        path: file.to_path_buf(),
        covers: true,
    };
    match tag_pool::shared().read(request, limit).await {
        Ok(parsed) => parsed.tags,
        Err(tag_pool::ReadError::Unreadable(_)) => Tags::default(),
        Err(e) => {
            tracing::warn!(file = %file.display(), error = %e, "tags not read");
            Tags::default()
        }
    }
}

/// Longest lyrics kept (characters).
pub const MAX_LYRICS: usize = 20_000;

/// Lyrics as kept: lines (`\n`), no other control characters, trimmed, at most
/// [`MAX_LYRICS`] characters; `None` when empty.
pub fn clean_lyrics(s: Option<&str>) -> Option<String> {
    let s = s?.replace("\r\n", "\n").replace('\r', "\n");
    let kept: String = s
        .chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .take(MAX_LYRICS)
        .collect();
    let kept = kept.trim();
    (!kept.is_empty()).then(|| kept.to_string())
}

/// Reads tags (no pictures) and the length in ms, for a library scan, on the tag
/// readers' pool within `limit`: a file lofty cannot read, or of no length, or not read
/// in time, is refused with the reason. Blocking: call it off the async threads.
pub fn read_tags_and_length(
    path: &Path,
    limit: std::time::Duration,
) -> Result<(Tags, i64), String> {
    let request = tag_pool::Request {
        path: path.to_path_buf(),
        covers: false,
    };
    let parsed = tag_pool::shared()
        .read_blocking(request, limit)
        .map_err(|e| e.to_string())?;
    if parsed.duration_ms < 50 {
        return Err("this file contains no playable audio".into());
    }
    Ok((parsed.tags, parsed.duration_ms))
}

fn sniff_image(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(&[0x89, b'P', b'N', b'G']) {
        Some("image/png")
    } else if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// Fills gaps in lofty's tags from ffprobe's.
pub fn merge_probe_tags(mut t: Tags, probe: &Probe) -> Tags {
    let get = |k: &str| clean(probe.tags.get(k));
    let num = |k: &str| {
        probe
            .tags
            .get(k)
            .and_then(|v| v.split('/').next())
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
    t.title = t.title.or_else(|| get("title"));
    t.artist = t.artist.or_else(|| get("artist"));
    t.album_artist = t.album_artist.or_else(|| get("album_artist"));
    t.album = t.album.or_else(|| get("album"));
    t.genre = t.genre.or_else(|| get("genre"));
    t.track_no = t.track_no.or_else(|| num("track"));
    t.disc_no = t.disc_no.or_else(|| num("disc"));
    t.year = t.year.or_else(|| {
        probe
            .tags
            .get("date")
            .and_then(|d| d.get(..4))
            .and_then(|y| y.parse().ok())
    });
    t
}

/// "01 - Artist - Title.mp3" → "01 - Artist - Title": the title when tags are missing.
pub fn title_from_filename(name: &str) -> String {
    let stem = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= 5 => stem,
        _ => name,
    };
    let t = stem.replace('_', " ").trim().to_string();
    if t.is_empty() { "Untitled".into() } else { t }
}

pub const RENDITION_MIME: &str = "audio/mp4; codecs=\"mp4a.40.2\"";

/// Runs ffmpeg on `input`'s first audio stream through the `ebur128` loudness meter (which
/// passes the audio on unchanged and prints its summary at the end), then `output_args`.
/// Returns whether it succeeded and what it printed.
async fn ffmpeg_metered(
    tools: &Tools,
    input: &Path,
    output_args: &[&str],
) -> anyhow::Result<Result<(bool, String), Rejected>> {
    ffmpeg_run(
        tools,
        input,
        &["-af", "ebur128=framelog=verbose:peak=true"],
        output_args,
    )
    .await
}

/// Runs ffmpeg on `input`'s first audio stream with `filter_args`, then `output_args`.
/// Returns whether it succeeded and what it printed.
async fn ffmpeg_run(
    tools: &Tools,
    input: &Path,
    filter_args: &[&str],
    output_args: &[&str],
) -> anyhow::Result<Result<(bool, String), Rejected>> {
    let input = match input_args(input).await? {
        Ok(a) => a,
        Err(r) => return Ok(Err(r)),
    };
    let mut cmd = tools.ffmpeg();
    cmd.args([
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-loglevel",
        "info",
        "-y",
    ])
    .args(&input)
    .args(["-map", "0:a:0"])
    .args(filter_args)
    .args(output_args)
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    Ok(run_limited(cmd, tools.timeout, &tools.ffmpeg)
        .await?
        .map(|out| {
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        }))
}

/// Transcodes to fragmented MP4 AAC (2 s fragments) that Media Source Extensions can play,
/// measuring loudness (EBU R128, with true peak) at the same time in a second ffmpeg (the
/// AAC encoder uses one core; metering in the same process made a four-minute import 40%
/// slower, on another core it costs no time).
pub async fn transcode(
    tools: &Tools,
    input: &Path,
    output: &Path,
) -> anyhow::Result<Result<Option<Loudness>, Rejected>> {
    let output = output.to_string_lossy();
    let meter = ffmpeg_metered(tools, input, &["-f", "null", "-"]);
    let encode_args = [
        "-vn",
        "-sn",
        "-dn",
        "-map_metadata",
        "-1",
        "-c:a",
        "aac",
        "-b:a",
        "192k",
        "-ar",
        "44100",
        "-ac",
        "2",
        "-movflags",
        "+empty_moov+default_base_moof",
        "-frag_duration",
        "2000000",
        "-f",
        "mp4",
        &output,
    ];
    let encode = ffmpeg_run(tools, input, &[], &encode_args);
    let (encoded, metered) = tokio::join!(encode, meter);
    let (ok, msg) = match encoded? {
        Ok(m) => m,
        Err(r) => return Ok(Err(r)),
    };
    if ok {
        let loudness = match metered? {
            Ok((true, m)) => parse_ebur128(&m),
            Ok((false, _)) | Err(_) => None,
        };
        return Ok(Ok(loudness));
    }
    // A full disk is no fault of the file: worth trying again (the caller keeps the
    // original), not a reason to refuse it.
    if out_of_space(&msg) {
        anyhow::bail!("no space left on the server's disk for the converted audio");
    }
    Ok(Err(Rejected(format!(
        "the audio could not be decoded ({})",
        last_line(&msg)
    ))))
}

/// Whether ffmpeg's messages say its output's disk is full (ENOSPC, or a disk quota).
fn out_of_space(msg: &str) -> bool {
    msg.contains("No space left on device") || msg.contains("Disk quota exceeded")
}

/// The last line ffmpeg printed (its reason for failing), at most 200 characters.
fn last_line(msg: &str) -> String {
    msg.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("unknown error")
        .chars()
        .take(200)
        .collect()
}

/// How a scanned file becomes a rendition fast enough to play on first press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quick {
    /// The codec plays in Media Source as it is (AAC, FLAC, Opus): the audio is copied
    /// bit for bit into fragmented MP4.
    Copy(&'static str),
    /// Anything else is decoded and stored as FLAC (lossless, and encoding it is about
    /// 700 times faster than real time here, where AAC is about 60).
    Flac,
}

impl Quick {
    /// The way for a codec as ffprobe names it.
    pub fn for_codec(codec: &str) -> Quick {
        match codec {
            "aac" => Quick::Copy("mp4a.40.2"),
            "flac" => Quick::Copy("flac"),
            "opus" => Quick::Copy("opus"),
            _ => Quick::Flac,
        }
    }

    pub fn mime(self) -> String {
        let codec = match self {
            Quick::Copy(c) => c,
            Quick::Flac => "flac",
        };
        format!("audio/mp4; codecs=\"{codec}\"")
    }
}

/// Packages `input`'s first audio stream as fragmented MP4 the quick way (see [`Quick`]).
pub async fn quick_rendition(
    tools: &Tools,
    input: &Path,
    output: &Path,
    how: Quick,
) -> anyhow::Result<Result<(), Rejected>> {
    let codec: &[&str] = match how {
        Quick::Copy(_) => &["-c:a", "copy"],
        Quick::Flac => &["-c:a", "flac", "-compression_level", "0"],
    };
    let input = match input_args(input).await? {
        Ok(a) => a,
        Err(r) => return Ok(Err(r)),
    };
    let mut cmd = tools.ffmpeg();
    cmd.args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(&input)
        .args(["-map", "0:a:0", "-vn", "-sn", "-dn", "-map_metadata", "-1"])
        .args(codec)
        .args([
            "-strict",
            "experimental",
            "-movflags",
            "+empty_moov+default_base_moof",
            "-frag_duration",
            "2000000",
            "-f",
            "mp4",
        ])
        .arg(output)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let out = match run_limited(cmd, tools.timeout, &tools.ffmpeg).await? {
        Ok(o) => o,
        Err(r) => return Ok(Err(r)),
    };
    if out.status.success() {
        return Ok(Ok(()));
    }
    let msg = String::from_utf8_lossy(&out.stderr);
    Ok(Err(Rejected(format!(
        "the audio could not be read ({})",
        last_line(&msg)
    ))))
}

/// Measures a file's loudness (decoding it once, writing nothing).
pub async fn measure_loudness(tools: &Tools, input: &Path) -> anyhow::Result<Option<Loudness>> {
    Ok(
        match ffmpeg_metered(tools, input, &["-f", "null", "-"]).await? {
            Ok((true, msg)) => parse_ebur128(&msg),
            Ok((false, _)) | Err(_) => None,
        },
    )
}

/// Reads integrated loudness and true peak from the `ebur128` filter's summary. Silence
/// measures as -70 LUFS and a peak of -inf; values are kept within -99..20.
pub fn parse_ebur128(log: &str) -> Option<Loudness> {
    let summary = &log[log.rfind("Summary:")?..];
    let value = |section: &str, label: &str| -> Option<f64> {
        let rest = &summary[summary.find(section)?..];
        let line = rest.lines().find(|l| l.trim_start().starts_with(label))?;
        let v = line.trim_start()[label.len()..].split_whitespace().next()?;
        let v: f64 = v.parse().ok()?;
        Some(if v.is_nan() {
            -99.0
        } else {
            v.clamp(-99.0, 20.0)
        })
    };
    Some(Loudness {
        lufs: value("Integrated loudness:", "I:")?,
        peak_db: value("True peak:", "Peak:")?,
    })
}

/// Reads the fragment index of a fragmented MP4: init segment end, and for each `moof`
/// its start time (from `tfdt` and the track's `mdhd` timescale) and byte offset.
pub fn segment_index(data: &[u8]) -> anyhow::Result<SegmentIndex> {
    let mut timescale: Option<u64> = None;
    let mut index = SegmentIndex::default();
    let mut pos = 0usize;
    while pos + 8 <= data.len() {
        let (size, kind, header) = box_header(data, pos)?;
        let body = &data[pos + header..pos + size];
        match &kind {
            b"moov" => {
                timescale = find_box(body, &[b"trak", b"mdia", b"mdhd"])
                    .map(mdhd_timescale)
                    .transpose()?
            }
            b"moof" => {
                if index.init_end == 0 {
                    index.init_end = pos as u64;
                }
                let ts = timescale.ok_or_else(|| anyhow::anyhow!("moof before moov"))?;
                let tfdt = find_box(body, &[b"traf", b"tfdt"])
                    .ok_or_else(|| anyhow::anyhow!("moof without tfdt"))?;
                let t = tfdt_time(tfdt)?;
                index
                    .segments
                    .push((t.saturating_mul(1000) / ts.max(1), pos as u64));
            }
            _ => {}
        }
        pos += size;
    }
    if index.segments.is_empty() {
        anyhow::bail!("the rendition has no fragments");
    }
    Ok(index)
}

fn box_header(data: &[u8], pos: usize) -> anyhow::Result<(usize, [u8; 4], usize)> {
    let rd32 = |p: usize| -> anyhow::Result<u32> {
        Ok(u32::from_be_bytes(
            data.get(p..p + 4)
                .ok_or_else(|| anyhow::anyhow!("truncated box"))?
                .try_into()?,
        ))
    };
    let size32 = rd32(pos)? as usize;
    let kind: [u8; 4] = data
        .get(pos + 4..pos + 8)
        .ok_or_else(|| anyhow::anyhow!("truncated box"))?
        .try_into()?;
    let (size, header) = match size32 {
        0 => (data.len() - pos, 8),
        1 => {
            let hi = rd32(pos + 8)? as u64;
            let lo = rd32(pos + 12)? as u64;
            (usize::try_from((hi << 32) | lo)?, 16)
        }
        n => (n, 8),
    };
    if size < header || pos + size > data.len() {
        anyhow::bail!("box {:?} overruns the file", String::from_utf8_lossy(&kind));
    }
    Ok((size, kind, header))
}

/// Finds the body of the first box along `path` inside `data`.
fn find_box<'a>(data: &'a [u8], path: &[&[u8; 4]]) -> Option<&'a [u8]> {
    let (first, rest) = path.split_first()?;
    let mut pos = 0;
    while pos + 8 <= data.len() {
        let (size, kind, header) = box_header(data, pos).ok()?;
        if &kind == *first {
            let body = &data[pos + header..pos + size];
            return if rest.is_empty() {
                Some(body)
            } else {
                find_box(body, rest)
            };
        }
        pos += size;
    }
    None
}

fn be(d: &[u8], at: usize, n: usize) -> anyhow::Result<u64> {
    let b = d
        .get(at..at + n)
        .ok_or_else(|| anyhow::anyhow!("truncated full box"))?;
    Ok(b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x)))
}

fn mdhd_timescale(b: &[u8]) -> anyhow::Result<u64> {
    match b.first() {
        Some(1) => be(b, 4 + 16, 4),
        _ => be(b, 4 + 8, 4),
    }
}

fn tfdt_time(b: &[u8]) -> anyhow::Result<u64> {
    match b.first() {
        Some(1) => be(b, 4, 8),
        _ => be(b, 4, 4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_known_by_their_first_bytes_only() {
        let cases: [(&[u8], Sniff); 12] = [
            (b"fLaC\0\0\0\x22", Sniff::Audio("flac")),
            (b"OggS\0\x02", Sniff::Audio("ogg")),
            (b"RIFF\x24\0\0\0WAVEfmt ", Sniff::Audio("wav")),
            (b"\0\0\0\x20ftypM4A ", Sniff::Audio("mov")),
            (&[0x1a, 0x45, 0xdf, 0xa3, 0x9f], Sniff::Audio("matroska")),
            (&[0xff, 0xfb, 0x90, 0x64], Sniff::Audio("mp3")),
            (&[0xff, 0xf1, 0x50, 0x80], Sniff::Audio("aac")),
            // An ID3v2 tag of 257 bytes (syncsafe 0x02 0x01), no footer.
            (b"ID3\x04\0\0\0\0\x02\x01", Sniff::SkipTo(10 + 257)),
            (b"#EXTM3U\n#EXT-X-", Sniff::Unknown),
            (b"ffconcat version", Sniff::Unknown),
            (b"\x89PNG\r\n\x1a\n", Sniff::Unknown),
            (b"", Sniff::Unknown),
        ];
        for (head, want) in cases {
            assert_eq!(demuxer_for(head), want, "{head:?}");
        }
    }

    #[tokio::test]
    async fn the_tools_run_under_memory_cpu_and_file_size_limits() {
        let tools = Tools {
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
            prlimit: "prlimit".into(),
            timeout: std::time::Duration::from_secs(30),
            tag_timeout: tag_pool::DEFAULT_TIMEOUT,
        };
        let out = tools
            .limited("cat")
            .arg("/proc/self/limits")
            .output()
            .await
            .unwrap();
        let limits = String::from_utf8_lossy(&out.stdout);
        let limit = |name: &str| {
            limits
                .lines()
                .find(|l| l.starts_with(name))
                .map(|l| {
                    l[name.len()..]
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_string()
                })
                .unwrap_or_default()
        };
        assert_eq!(
            limit("Max address space"),
            MAX_ADDRESS_SPACE.to_string(),
            "{limits}"
        );
        assert_eq!(
            limit("Max file size"),
            MAX_OUTPUT_FILE.to_string(),
            "{limits}"
        );
        assert_eq!(limit("Max cpu time"), "120", "{limits}");
    }

    #[test]
    fn title_from_filename_drops_extension() {
        assert_eq!(title_from_filename("My_Song.flac"), "My Song");
        assert_eq!(title_from_filename("noext"), "noext");
        assert_eq!(title_from_filename(".mp3"), ".mp3");
    }

    #[test]
    fn ebur128_summary_is_read() {
        let log = "size=79kB\n[Parsed_ebur128_0 @ 0x5] Summary:\n\n  Integrated loudness:\n    I:         -21.8 LUFS\n    Threshold: -31.8 LUFS\n\n  Loudness range:\n    LRA:        20.0 LU\n\n  True peak:\n    Peak:       -inf dBFS\n[aac @ 0x5] Qavg: 845.623\n";
        assert_eq!(
            parse_ebur128(log),
            Some(Loudness {
                lufs: -21.8,
                peak_db: -99.0
            })
        );
        assert_eq!(parse_ebur128("no summary here"), None);
    }

    #[test]
    fn segment_index_rejects_garbage() {
        assert!(segment_index(b"hello world, not an mp4").is_err());
    }

    #[test]
    fn ffprobe_tags_fill_gaps() {
        let p = Probe {
            duration_ms: 1,
            codec: "mp3".into(),
            tags: [
                ("title".to_string(), "T".to_string()),
                ("track".to_string(), "4/12".to_string()),
            ]
            .into(),
        };
        let t = merge_probe_tags(
            Tags {
                artist: Some("A".into()),
                ..Default::default()
            },
            &p,
        );
        assert_eq!(
            (t.title.as_deref(), t.artist.as_deref(), t.track_no),
            (Some("T"), Some("A"), Some(4))
        );
    }
}
