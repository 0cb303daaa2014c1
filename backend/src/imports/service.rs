use super::repo::{self, JobView};
use crate::events::{self, Event, ImportRequested};
use crate::infra::actor::CurrentUser;
use crate::library::repo::{self as library_repo, NewTrack};
use crate::{Core, Error, Result, new_id};
use bytes::Bytes;
use futures::Stream;

pub const MAX_FILENAME: usize = 255;

/// Cleans a client-supplied file name: no path parts, no control characters, bounded length.
pub fn validate_filename(name: &str) -> Result<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim().to_string();
    if clean.is_empty() || clean == "." || clean == ".." {
        return Err(Error::Invalid("the file needs a name".into()));
    }
    if clean.chars().count() > MAX_FILENAME {
        return Err(Error::Invalid(format!(
            "file names are limited to {MAX_FILENAME} characters"
        )));
    }
    Ok(clean)
}

/// Object keys belonging to a job; deterministic, so a re-run overwrites rather than adds.
pub fn job_object_keys(job_id: &str) -> (String, String, String) {
    (
        format!("originals/{job_id}"),
        format!("renditions/{job_id}.mp4"),
        format!("covers/{job_id}"),
    )
}

/// The `import.requested` event of a job.
pub(super) fn import_requested(job_id: &str) -> Result<Event> {
    Ok(Event::new(
        events::IMPORT_REQUESTED,
        job_id,
        serde_json::to_value(ImportRequested {
            job_id: job_id.to_string(),
        })
        .map_err(|e| anyhow::anyhow!("serialize event: {e}"))?,
    ))
}

/// Streams an upload into storage, then records the job and its event in one transaction.
/// Over the size limit, or on an empty body, nothing is kept.
pub async fn create_upload<S, E>(
    core: &Core,
    user: &CurrentUser,
    filename: &str,
    declared_len: Option<u64>,
    body: S,
) -> Result<JobView>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let filename = validate_filename(filename)?;
    let max = core.config.storage.max_upload_bytes;
    if declared_len.is_some_and(|n| n > max) {
        return Err(Error::TooLarge { limit: max });
    }
    // A listener's upload also has to fit in what is left of their quota: checked here
    // to refuse early, and again when the job is recorded (below), where uploads racing
    // each other are counted one after the other.
    let quota = super::quota::quota_of(core, user).await?;
    let room = match quota {
        Some(q) => q.saturating_sub(super::quota::used_bytes(&core.db, &user.id).await?),
        None => u64::MAX,
    };
    let quota_error = || Error::QuotaExceeded {
        quota: quota.unwrap_or_default(),
    };
    if room == 0 || declared_len.is_some_and(|n| n > room) {
        return Err(quota_error());
    }
    let limit = max.min(room);
    let job_id = new_id();
    let (original_key, _, _) = job_object_keys(&job_id);
    let size = match core.storage.put_stream(&original_key, body, limit).await {
        Err(Error::TooLarge { .. }) if room < max => return Err(quota_error()),
        other => other?,
    };
    if size == 0 {
        core.storage.delete(&original_key).await?;
        return Err(Error::Invalid("the file is empty".into()));
    }
    let size_i64 = i64::try_from(size).map_err(|_| Error::TooLarge { limit })?;
    let ev = import_requested(&job_id)?;
    let recorded = async {
        let mut tx = crate::db::begin(&core.db).await?;
        repo::insert(
            &mut *tx,
            &job_id,
            &user.id,
            &filename,
            &original_key,
            size_i64,
        )
        .await?;
        // The job's bytes are in the user's tally now (a trigger adds them, holding the
        // tally's row until this commits), so this sees every upload recorded before it.
        if let Some(q) = quota {
            let used = repo::used_bytes(&mut *tx, &user.id).await?;
            if used.and_then(|u| u64::try_from(u).ok()).unwrap_or(0) > q {
                return Err(quota_error());
            }
        }
        events::repo::enqueue(&mut *tx, &ev).await?;
        tx.commit().await?;
        Ok::<_, Error>(())
    }
    .await;
    if let Err(e) = recorded {
        // Keep no orphan object when the job could not be recorded.
        let _ = core.storage.delete(&original_key).await;
        return Err(e);
    }
    core.events.wake();
    tracing::info!(job_id = %job_id, bytes = size, "upload stored; import queued");
    repo::get(&core.db, &job_id)
        .await?
        .ok_or(Error::NotFound("import job"))
}

/// The file name a link gives its download: its last path segment, else its host.
fn filename_of(url: &url::Url) -> String {
    let last = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .map(|s| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    validate_filename(&last)
        .or_else(|_| validate_filename(url.host_str().unwrap_or("download")))
        .unwrap_or_else(|_| "download".into())
}

/// Queues an import of the audio file at `link`: checked here (scheme, port, host), and
/// again when the worker fetches it (every resolved address and redirect hop). The job
/// and its event are written in one transaction; the worker fetches the file.
pub async fn create_from_url(core: &Core, user: &CurrentUser, link: &str) -> Result<JobView> {
    let allow = super::fetch::AllowList(core.config.imports.allow_hosts.clone());
    let url = super::fetch::parse_link(link, &allow).map_err(|r| Error::Invalid(r.0))?;
    let name = filename_of(&url);
    queue_link(core, user, &url, "url", &name).await
}

/// Queues the audio of a YouTube video (a search result) for import through yt-dlp;
/// `title` names the job until the file's own tags name the track.
pub async fn create_from_youtube(
    core: &Core,
    user: &CurrentUser,
    video_id: &str,
    title: &str,
) -> Result<JobView> {
    if !super::ytdlp::is_video_id(video_id) {
        return Err(Error::Invalid("that is not a YouTube video".into()));
    }
    if !super::ytdlp::enabled(&core.config) {
        return Err(Error::Invalid(
            "importing from YouTube is turned off on this server".into(),
        ));
    }
    let url = url::Url::parse(&format!("https://www.youtube.com/watch?v={video_id}"))
        .map_err(|e| anyhow::anyhow!("video url: {e}"))?;
    let name = validate_filename(&format!("{}.m4a", title.trim()))
        .unwrap_or_else(|_| format!("youtube-{video_id}.m4a"));
    queue_link(core, user, &url, "youtube", &name).await
}

async fn queue_link(
    core: &Core,
    user: &CurrentUser,
    url: &url::Url,
    source: &str,
    filename: &str,
) -> Result<JobView> {
    if let Some(q) = super::quota::quota_of(core, user).await?
        && super::quota::used_bytes(&core.db, &user.id).await? >= q
    {
        return Err(Error::QuotaExceeded { quota: q });
    }
    let job_id = new_id();
    let (original_key, _, _) = job_object_keys(&job_id);
    let ev = import_requested(&job_id)?;
    let mut tx = crate::db::begin(&core.db).await?;
    repo::insert_url(
        &mut *tx,
        &job_id,
        &user.id,
        filename,
        &original_key,
        (source, url.as_str()),
    )
    .await?;
    events::repo::enqueue(&mut *tx, &ev).await?;
    tx.commit().await?;
    core.events.wake();
    repo::get(&core.db, &job_id)
        .await?
        .ok_or(Error::NotFound("import job"))
}

/// Fetches a URL import's audio into its original's place (once: a retry finds it there)
/// within the size limit, the uploader's quota and `REFRAIN_IMPORT_TIMEOUT_SECS`.
/// `Err(Rejected)` is a reason for the user; `Err` of the outer result is worth retrying.
pub async fn fetch_original(
    core: &Core,
    job: &JobView,
) -> Result<std::result::Result<(), crate::media::Rejected>> {
    use crate::media::Rejected;
    use futures::TryStreamExt;
    let Some(link) = job.source_url.as_deref() else {
        return Ok(Ok(()));
    };
    if job.size_bytes > 0 && core.storage.exists(&job.original_key).await? {
        return Ok(Ok(()));
    }
    let allow = super::fetch::AllowList(core.config.imports.allow_hosts.clone());
    let url = match super::fetch::parse_link(link, &allow) {
        Ok(u) => u,
        Err(r) => return Ok(Err(Rejected(r.0))),
    };
    // This job counts towards the quota with size 0 until its file is here.
    let room = match super::quota::quota_of_account(core, &job.user_id).await? {
        Some(Some(q)) => q.saturating_sub(super::quota::used_bytes(&core.db, &job.user_id).await?),
        Some(None) => u64::MAX,
        None => return Ok(Err(Rejected("the account is gone".into()))),
    };
    let limit = core.config.storage.max_upload_bytes.min(room);
    if job.source == "youtube" {
        return ytdlp_original(core, job, link, limit, room).await;
    }
    let timeout = std::time::Duration::from_secs(core.config.imports.timeout_secs);
    let client =
        super::fetch::client(allow, timeout).map_err(|e| anyhow::anyhow!("http client: {e}"))?;
    let why = |e: &reqwest::Error| -> String {
        if let Some(r) = super::fetch::refusal(e) {
            r.0
        } else if e.is_timeout() {
            format!(
                "the download did not finish within {} s",
                core.config.imports.timeout_secs
            )
        } else if e.is_connect() {
            "the site could not be reached".into()
        } else {
            "the download failed".into()
        }
    };
    let resp = match client.get(url).send().await {
        Ok(r) => r,
        Err(e) => return Ok(Err(Rejected(why(&e)))),
    };
    let status = resp.status();
    if !status.is_success() {
        return Ok(Err(Rejected(format!("the link answered {status}"))));
    }
    let kind = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if kind.starts_with("text/html") || kind.starts_with("application/xhtml") {
        // A page: yt-dlp may find the audio on it (a video site, an <audio> element).
        drop(resp);
        return ytdlp_original(core, job, link, limit, room).await;
    }
    if resp.content_length().is_some_and(|n| n > limit) {
        return Ok(Err(Rejected(too_large(limit, room))));
    }
    let body = resp.bytes_stream().map_err(|e| why(&e));
    let stored = match core
        .storage
        .put_stream(&job.original_key, Box::pin(body), limit)
        .await
    {
        Ok(0) => Err("the link gave an empty file".to_string()),
        Ok(n) => Ok(n),
        Err(Error::TooLarge { .. }) => Err(too_large(limit, room)),
        // A broken download: `why` said what happened.
        Err(Error::Invalid(m)) => Err(m.trim_start_matches("upload interrupted: ").to_string()),
        Err(e) => return Err(e),
    };
    match stored {
        Ok(n) => {
            repo::set_size(&core.db, &job.id, i64::try_from(n).unwrap_or(i64::MAX)).await?;
            Ok(Ok(()))
        }
        Err(m) => {
            let _ = core.storage.delete(&job.original_key).await;
            Ok(Err(Rejected(m)))
        }
    }
}

/// Has yt-dlp fetch the audio of the page at `link` (through the guard proxy) into the
/// job's original.
async fn ytdlp_original(
    core: &Core,
    job: &JobView,
    link: &str,
    limit: u64,
    room: u64,
) -> Result<std::result::Result<(), crate::media::Rejected>> {
    use crate::media::Rejected;
    let dir = tempfile::tempdir().map_err(anyhow::Error::from)?;
    let file = match super::ytdlp::download(
        &core.config,
        link,
        dir.path(),
        limit,
        core.config.imports.timeout_secs,
    )
    .await?
    {
        Ok(f) => f,
        Err(r) => return Ok(Err(r)),
    };
    let size = tokio::fs::metadata(&file)
        .await
        .map_err(anyhow::Error::from)?
        .len();
    if size == 0 {
        return Ok(Err(Rejected("the page gave an empty file".into())));
    }
    if size > limit {
        return Ok(Err(Rejected(too_large(limit, room))));
    }
    core.storage.put_file(&job.original_key, &file).await?;
    repo::set_size(&core.db, &job.id, i64::try_from(size).unwrap_or(i64::MAX)).await?;
    Ok(Ok(()))
}

fn too_large(limit: u64, room: u64) -> String {
    if room <= limit {
        "the file would go past your storage quota".into()
    } else {
        let size = if limit >= 1024 * 1024 {
            format!("{} MB", limit / 1024 / 1024)
        } else {
            format!("{} KB", limit / 1024)
        };
        format!("the file is larger than the limit of {size}")
    }
}

pub async fn list_jobs(core: &Core, user: &CurrentUser) -> Result<Vec<JobView>> {
    repo::list_for_user(&core.db, &user.id, 200).await
}

/// What the pipeline learned about a file.
#[derive(Debug, Clone, Default)]
pub struct FinishedImport {
    pub title: String,
    pub artist: String,
    pub album_artist: Option<String>,
    pub album: Option<String>,
    pub track_no: Option<i64>,
    pub disc_no: Option<i64>,
    pub year: Option<i64>,
    pub genre: Option<String>,
    pub lyrics: Option<String>,
    pub duration_ms: i64,
    pub rendition_bytes: i64,
    pub rendition_mime: String,
    pub segment_index: super::SegmentIndex,
    pub cover_key: Option<String>,
    /// Whether thumbnails ([`super::COVER_SIZES`]) were made beside the cover.
    pub cover_thumbs: bool,
    pub loudness: Option<super::Loudness>,
}

/// Creates artist, album and track rows, marks the job done and records the event as
/// processed, all in one transaction. Running it twice yields one track.
pub async fn finish_job(
    core: &Core,
    job: &JobView,
    event_id: &str,
    handler: &str,
    f: FinishedImport,
) -> Result<String> {
    let (original_key, rendition_key, _) = job_object_keys(&job.id);
    let uploader = repo::uploader(&core.db, &job.user_id).await?;
    // Admins and artists publish to the shared catalog; an artist's tracks are credited to
    // their profile whatever the tags say. Everyone else's uploads are personal.
    let shared = matches!(uploader.role.as_deref(), Some("admin" | "artist"));
    let profile = uploader
        .artist_id
        .filter(|_| uploader.role.as_deref() == Some("artist"));
    let mut tx = crate::db::begin(&core.db).await?;
    let (artist_id, album_artist_id) = match profile {
        Some(p) => (p.clone(), f.album.as_ref().map(|_| p)),
        None => {
            let artist_id = library_repo::upsert_artist(&mut tx, &f.artist).await?;
            let album_artist_id = match &f.album_artist {
                Some(a) => Some(library_repo::upsert_artist(&mut tx, a).await?),
                None => None,
            };
            (artist_id, album_artist_id)
        }
    };
    let album_id = match &f.album {
        Some(title) => {
            let owner = album_artist_id.as_deref().unwrap_or(&artist_id).to_string();
            Some(
                library_repo::upsert_album(&mut tx, &owner, title, f.year, f.cover_key.as_deref())
                    .await?,
            )
        }
        None => None,
    };
    let track_id = library_repo::insert_track(
        &mut tx,
        &NewTrack {
            id: new_id(),
            import_job_id: job.id.clone(),
            owner_id: job.user_id.clone(),
            shared,
            title: f.title,
            artist_id,
            album_artist_id,
            album_id,
            track_no: f.track_no,
            disc_no: f.disc_no,
            year: f.year,
            genre: f.genre,
            lyrics: f.lyrics,
            duration_ms: f.duration_ms,
            original_key,
            rendition_key,
            rendition_bytes: f.rendition_bytes,
            rendition_mime: f.rendition_mime,
            segment_index: serde_json::to_string(&f.segment_index)
                .map_err(|e| anyhow::anyhow!("serialize index: {e}"))?,
            cover_key: f.cover_key,
            cover_thumbs: f.cover_thumbs,
            loudness: f.loudness,
            rendition_ready: true,
        },
    )
    .await?;
    super::job::finish(&mut tx, &job.id, &track_id).await?;
    events::repo::mark_processed(&mut *tx, handler, event_id).await?;
    tx.commit().await?;
    Ok(track_id)
}

/// Makes and stores a cover's thumbnails ([`super::COVER_SIZES`]); false when the picture
/// cannot be decoded within the limits (8192 pixels a side, 256 MB), which fails nothing:
/// the caller then keeps no cover.
pub async fn store_thumbnails(core: &Core, cover_key: &str, data: Vec<u8>) -> Result<bool> {
    let thumbs = match tokio::task::spawn_blocking(move || crate::pictures::cover_thumbnails(&data))
        .await
        .map_err(|e| anyhow::anyhow!("thumbnails: {e}"))?
    {
        Ok(t) => t,
        Err(e) => {
            tracing::info!(%cover_key, error = %e, "cover art not decodable");
            return Ok(false);
        }
    };
    for (size, jpeg) in thumbs {
        core.storage
            .put(&super::thumb_key(cover_key, size), Bytes::from(jpeg))
            .await?;
    }
    Ok(true)
}
