//! The import pipeline: one `import.requested` event in, one track (or a failed job with a
//! readable reason) out. Re-running it for the same event changes nothing.

/// Media work moved to the domain crate (the server also makes renditions on demand).
pub use backend::media;

use backend::imports::{self, FinishedImport, JobView};
use backend::{Core, events};
use media::Rejected;

pub const HANDLER: &str = "import";

/// Handles one import event. `Ok` means the event is settled (done, failed for a reason the
/// user can read, or already handled); `Err` is a transient failure worth retrying.
pub async fn handle(core: &Core, event_id: &str, job_id: &str) -> anyhow::Result<()> {
    if events::repo::is_processed(&core.db, HANDLER, event_id).await? {
        tracing::debug!(%event_id, "import event already handled");
        return Ok(());
    }
    let Some(job) = imports::start_job(core, job_id).await? else {
        return Ok(());
    };
    let work = tempfile::tempdir()?;
    // A cancel from the import desk stops the work where it is: dropping `run` kills its
    // ffmpeg (kill_on_drop) and the temporary files go with `work`.
    let outcome = tokio::select! {
        r = run(core, &job, work.path()) => r,
        r = cancel_asked(core, &job.id) => {
            r?;
            tracing::info!(job_id = %job.id, "import cancelled while running");
            remove_objects(core, &job.id, true).await;
            imports::job::cancelled_job(core, &job.id, (HANDLER, event_id)).await?;
            return Ok(());
        }
    };
    match outcome {
        Ok(Ok(f)) => {
            let track_id = imports::finish_job(core, &job, event_id, HANDLER, f).await?;
            tracing::info!(job_id = %job.id, %track_id, "import done");
            Ok(())
        }
        Ok(Err(Rejected(reason))) => {
            tracing::info!(job_id = %job.id, %reason, "import rejected");
            remove_objects(core, &job.id, true).await;
            imports::fail_job(core, &job.id, Some((HANDLER, event_id)), &reason).await?;
            if job.source_url.is_some() {
                // A link can be fetched again (the site may be back, or fixed).
                imports::job::set_retryable(core, &job.id).await?;
            }
            Ok(())
        }
        Err(e) => {
            // Transient: leave the original for the retry, drop what this attempt made.
            remove_objects(core, &job.id, false).await;
            Err(e)
        }
    }
    // `work` is dropped here: temporary files go with it.
}

/// Resolves once a cancel of the running job is asked for (checked every half second).
async fn cancel_asked(core: &Core, job_id: &str) -> anyhow::Result<()> {
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        if imports::job::cancel_requested(core, job_id).await? {
            return Ok(());
        }
    }
}

/// Gives up on a job after repeated transient failures. Its file is kept (until a purge)
/// so the import desk can try it again.
pub async fn give_up(core: &Core, event_id: &str, job_id: &str, error: &str) -> anyhow::Result<()> {
    remove_objects(core, job_id, false).await;
    let reason = format!("import failed after several attempts: {error}");
    imports::fail_job(core, job_id, Some((HANDLER, event_id)), &reason).await?;
    let job = imports::repo::get(&core.db, job_id).await?;
    let input_left = match &job {
        Some(j) if j.source_url.is_some() => true,
        Some(j) => core.storage.exists(&j.original_key).await.unwrap_or(false),
        None => false,
    };
    if input_left {
        imports::job::set_retryable(core, job_id).await?;
    }
    Ok(())
}

async fn remove_objects(core: &Core, job_id: &str, original_too: bool) {
    let (original, rendition, cover) = imports::job_object_keys(job_id);
    let mut keys = vec![rendition, format!("{cover}.jpg"), format!("{cover}.png")];
    keys.extend(
        imports::COVER_SIZES
            .iter()
            .map(|s| imports::thumb_key(&format!("{cover}.jpg"), *s)),
    );
    if original_too {
        keys.push(original);
    }
    for k in keys {
        if let Err(e) = core.storage.delete(&k).await {
            tracing::warn!(key = %k, error = %e, "could not delete an object after a failed import");
        }
    }
}

async fn run(
    core: &Core,
    job: &JobView,
    dir: &std::path::Path,
) -> anyhow::Result<Result<FinishedImport, Rejected>> {
    let (original_key, rendition_key, cover_prefix) = imports::job_object_keys(&job.id);
    // A URL import fetches its file first (checked against SSRF at every hop).
    if let Err(r) = imports::fetch_original(core, job).await? {
        return Ok(Err(r));
    }
    let input = dir.join("original");
    core.storage.download(&original_key, &input).await?;

    let tools = media::Tools::of(&core.config);
    let probe = match media::probe(&tools, &input).await? {
        Ok(p) => p,
        Err(r) => return Ok(Err(r)),
    };
    let tags = media::merge_probe_tags(media::read_tags(&input, tools.tag_timeout).await, &probe);

    let output = dir.join("rendition.mp4");
    let loudness = match media::transcode(&tools, &input, &output).await? {
        Ok(l) => l,
        Err(r) => return Ok(Err(r)),
    };
    // The rendition's real length: a truncated file's header may promise more than it has.
    let duration_ms = match media::probe(&tools, &output).await? {
        Ok(p) => p.duration_ms,
        Err(r) => return Ok(Err(r)),
    };
    let data = tokio::fs::read(&output).await?;
    let index = match media::segment_index(&data) {
        Ok(i) => i,
        Err(e) => {
            return Ok(Err(Rejected(format!(
                "the audio could not be converted ({e})"
            ))));
        }
    };
    let rendition_bytes = i64::try_from(data.len())?;
    core.storage
        .put(&rendition_key, bytes::Bytes::from(data))
        .await?;

    let (cover_key, cover_thumbs) = match &tags.cover {
        Some((bytes, mime)) => {
            let key = format!(
                "{cover_prefix}.{}",
                if mime == "image/png" { "png" } else { "jpg" }
            );
            // A picture that does not decode within the limits (8192 pixels a side, 256 MB)
            // is dropped: browsers would choke on it just the same.
            if imports::store_thumbnails(core, &key, bytes.clone()).await? {
                core.storage
                    .put(&key, bytes::Bytes::from(bytes.clone()))
                    .await?;
                (Some(key), true)
            } else {
                (None, false)
            }
        }
        None => (None, false),
    };

    Ok(Ok(FinishedImport {
        title: tags
            .title
            .clone()
            .unwrap_or_else(|| media::title_from_filename(&job.filename)),
        artist: tags
            .artist
            .clone()
            .or(tags.album_artist.clone())
            .unwrap_or_else(|| "Unknown Artist".into()),
        album_artist: tags.album_artist.clone(),
        album: tags.album.clone(),
        track_no: tags.track_no,
        disc_no: tags.disc_no,
        year: tags.year,
        genre: tags.genre.clone(),
        lyrics: tags.lyrics.clone(),
        duration_ms,
        rendition_bytes,
        rendition_mime: media::RENDITION_MIME.into(),
        segment_index: index,
        cover_key,
        cover_thumbs,
        loudness,
    }))
}
