//! yt-dlp: YouTube search, and the audio of pages that are not audio files themselves
//! (a YouTube video, or any page with an `<audio>` or `<video>` on it).
//!
//! yt-dlp always runs as an argument list the server builds: fixed options, then `--`,
//! then the one piece of user text (a link already checked, or `ytsearch10:` and the
//! words), so nothing a user types is ever read as an option. It gets no configuration
//! files, no cache, an empty environment but `PATH`, a time limit (its process is
//! killed at the end of it), and it must go through a [`GuardProxy`] that applies the
//! link checks of [`super::fetch`] to every connection it opens.

use super::fetch::AllowList;
use super::proxy::GuardProxy;
use crate::media::Rejected;
use crate::{Config, Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::process::Command;

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub id: String,
    pub title: String,
    pub channel: Option<String>,
    pub duration_secs: Option<i64>,
    pub url: String,
}

/// Longest search accepted.
pub const MAX_QUERY: usize = 200;
const SEARCH_SECS: u64 = 30;

pub fn enabled(config: &Config) -> bool {
    !config.media.ytdlp.is_empty()
}

/// A YouTube video id (11 characters of `A-Z a-z 0-9 _ -`).
pub fn is_video_id(id: &str) -> bool {
    id.len() == 11
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The command with the fixed options every run gets.
fn command(config: &Config, proxy: &GuardProxy, home: &Path) -> Command {
    let mut cmd = Command::new(&config.media.ytdlp);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("LANG", "C.UTF-8")
        .args([
            "--ignore-config",
            "--no-cache-dir",
            "--no-warnings",
            "--no-progress",
            "--no-playlist",
            "--no-mtime",
            "--socket-timeout",
            "20",
            "--proxy",
        ])
        .arg(proxy.url())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// yt-dlp's own reason from its error output, short enough to show.
fn reason(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with("ERROR:"))
        .or_else(|| text.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("no reason given")
        .trim_start_matches("ERROR:")
        .trim();
    let mut s: String = line.chars().take(240).collect();
    if line.chars().count() > 240 {
        s.push('…');
    }
    s
}

async fn run(mut cmd: Command, secs: u64) -> std::io::Result<Option<std::process::Output>> {
    match tokio::time::timeout(std::time::Duration::from_secs(secs), cmd.output()).await {
        Ok(out) => out.map(Some),
        Err(_) => Ok(None),
    }
}

/// Searches YouTube for `query`: up to ten videos.
pub async fn search(config: &Config, query: &str) -> Result<Vec<Hit>> {
    let q = query.trim();
    if q.is_empty() {
        return Err(Error::Invalid("type what to search for".into()));
    }
    if q.chars().count() > MAX_QUERY || q.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "a search is at most {MAX_QUERY} characters of text"
        )));
    }
    if !enabled(config) {
        return Err(Error::Invalid(
            "YouTube search is turned off on this server".into(),
        ));
    }
    let home = tempfile::tempdir().map_err(anyhow::Error::from)?;
    let proxy = GuardProxy::start(AllowList(config.imports.allow_hosts.clone()))
        .await
        .map_err(anyhow::Error::from)?;
    let mut cmd = command(config, &proxy, home.path());
    cmd.args(["--flat-playlist", "--dump-json", "--"])
        .arg(format!("ytsearch10:{q}"));
    let out = match run(cmd, SEARCH_SECS).await {
        Ok(Some(o)) => o,
        Ok(None) => return Err(Error::Invalid("YouTube did not answer in time".into())),
        Err(e) => {
            tracing::warn!(error = %e, program = %config.media.ytdlp, "yt-dlp cannot run");
            return Err(Error::Invalid(
                "YouTube search is not available on this server".into(),
            ));
        }
    };
    if !out.status.success() {
        return Err(Error::Invalid(format!(
            "YouTube search failed: {}",
            reason(&out.stderr)
        )));
    }
    Ok(parse_hits(&out.stdout))
}

fn parse_hits(stdout: &[u8]) -> Vec<Hit> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            let id = v["id"].as_str()?.to_string();
            if !is_video_id(&id) {
                return None;
            }
            Some(Hit {
                title: v["title"].as_str().unwrap_or("(untitled)").to_string(),
                channel: v["channel"]
                    .as_str()
                    .or(v["uploader"].as_str())
                    .map(str::to_string),
                duration_secs: v["duration"].as_f64().map(|d| d as i64),
                url: format!("https://www.youtube.com/watch?v={id}"),
                id,
            })
        })
        .collect()
}

/// Downloads the best audio of the page at `url` into `dir` (at most `limit` bytes,
/// within `secs`). `Err(Rejected)` is a reason for the user; `Err` is worth retrying.
pub async fn download(
    config: &Config,
    url: &str,
    dir: &Path,
    limit: u64,
    secs: u64,
) -> anyhow::Result<Result<PathBuf, Rejected>> {
    if !enabled(config) {
        return Ok(Err(Rejected(
            "the link leads to a web page, not to an audio file".into(),
        )));
    }
    let proxy = GuardProxy::start(AllowList(config.imports.allow_hosts.clone())).await?;
    let home = dir.join("home");
    tokio::fs::create_dir_all(&home).await?;
    let mut cmd = command(config, &proxy, &home);
    cmd.args(["-f", "bestaudio/best", "--max-filesize"])
        .arg(limit.to_string())
        .arg("-o")
        .arg(dir.join("media.%(ext)s"))
        .arg("--")
        .arg(url);
    let out = match run(cmd, secs).await {
        Ok(Some(o)) => o,
        Ok(None) => {
            return Ok(Err(Rejected(format!(
                "the download did not finish within {secs} s"
            ))));
        }
        Err(e) => anyhow::bail!("cannot run yt-dlp ({}): {e}", config.media.ytdlp),
    };
    if !out.status.success() {
        return Ok(Err(Rejected(format!(
            "no audio could be taken from the page: {}",
            reason(&out.stderr)
        ))));
    }
    let mut found = None;
    let mut entries = tokio::fs::read_dir(dir).await?;
    while let Some(e) = entries.next_entry().await? {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with("media.") && !name.ends_with(".part") && e.file_type().await?.is_file()
        {
            found = Some(e.path());
        }
    }
    Ok(found.ok_or_else(|| {
        Rejected("no audio could be taken from the page (it may be larger than the limit)".into())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_results_keep_only_video_ids() {
        let out =
            br#"{"id": "dQw4w9WgXcQ", "title": "A song", "channel": "Someone", "duration": 212.0}
{"id": "not a video id", "title": "x"}
garbage
{"id": "abcdefghijk", "title": "Other", "uploader": "Up"}"#;
        let hits = parse_hits(out);
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].url, "https://www.youtube.com/watch?v=dQw4w9WgXcQ");
        assert_eq!(hits[0].duration_secs, Some(212));
        assert_eq!(hits[1].channel.as_deref(), Some("Up"));
    }

    #[test]
    fn the_reason_is_yt_dlps_last_error_line() {
        let err = b"[generic] x: Extracting\nERROR: Unsupported URL: http://example.com/\n";
        assert_eq!(reason(err), "Unsupported URL: http://example.com/");
    }
}
