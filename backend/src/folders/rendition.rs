//! Renditions of scanned files, made on first play (so a freshly scanned library plays at
//! once) or by the background pass. AAC, FLAC and Opus are copied into fragmented MP4 bit
//! for bit; anything else is stored as FLAC ([`crate::media::Quick`]). Both take a fraction
//! of a second for a four-minute track, where transcoding to AAC takes several seconds.

use super::open::{self, Opened};
use super::repo::{self, PendingRendition};
use crate::media::{self, Quick, Rejected};
use crate::{Core, Error, Result};
use std::path::PathBuf;

/// Makes the track's rendition now when it is a scanned track without one; otherwise
/// does nothing.
pub async fn ensure(core: &Core, track_id: &str) -> Result<()> {
    match repo::pending_rendition(&core.db, track_id).await? {
        Some(p) => make(core, &p).await,
        None => Ok(()),
    }
}

fn unreadable(r: Rejected) -> Error {
    Error::Invalid(format!("this track's file cannot be played: {r}"))
}

/// The track's file, opened and checked to be inside its music folder (and the file the
/// scan read) right before it is read.
pub(crate) async fn locate(file: &repo::ScannedFile) -> Result<Opened> {
    open::open_async(
        PathBuf::from(&file.root),
        file.rel_path.clone(),
        file.identity,
    )
    .await?
    .map_err(|refused| {
        tracing::warn!(root = %file.root, rel_path = %file.rel_path, why = %refused, "scanned file refused");
        Error::Invalid(refused.to_string())
    })
}

/// Makes and stores the rendition of a scanned track and marks it ready. Two callers
/// making the same one write the same object and the same row.
pub async fn make(core: &Core, p: &PendingRendition) -> Result<()> {
    let opened = locate(&p.file).await?;
    let full = opened.tool_path();
    let tools = media::Tools::of(&core.config);
    let probe = media::probe(&tools, full).await?.map_err(unreadable)?;
    let how = Quick::for_codec(&probe.codec);
    let dir = tempfile::tempdir().map_err(|e| anyhow::anyhow!("temporary folder: {e}"))?;
    let out = dir.path().join("rendition.mp4");
    media::quick_rendition(&tools, full, &out, how)
        .await?
        .map_err(unreadable)?;
    let data = tokio::fs::read(&out)
        .await
        .map_err(|e| anyhow::anyhow!("read rendition: {e}"))?;
    let index = media::segment_index(&data)
        .map_err(|e| Error::Invalid(format!("this track's file cannot be played ({e})")))?;
    let bytes = i64::try_from(data.len()).map_err(|e| anyhow::anyhow!("size: {e}"))?;
    core.storage
        .put(&p.rendition_key, bytes::Bytes::from(data))
        .await?;
    let index =
        serde_json::to_string(&index).map_err(|e| anyhow::anyhow!("serialize index: {e}"))?;
    repo::set_rendition(
        &core.db,
        &p.track_id,
        bytes,
        &how.mime(),
        &index,
        probe.duration_ms,
    )
    .await?;
    tracing::info!(track_id = %p.track_id, mime = %how.mime(), bytes, "rendition made");
    Ok(())
}

/// What the background pass made for a scanned track.
pub struct Background {
    /// Measured while transcoding (copied audio is measured afterwards).
    pub loudness: Option<crate::imports::Loudness>,
    /// Whether the embedded cover was stored, with its thumbnails.
    pub cover: bool,
}

/// The background pass for a scanned track: its rendition (copied where the browser
/// plays the codec, else transcoded to AAC like an upload, which is smaller than the
/// on-demand FLAC) and its embedded cover with thumbnails.
pub async fn background(core: &Core, p: &PendingRendition) -> Result<Background> {
    let opened = locate(&p.file).await?;
    let full = opened.tool_path();
    let tools = media::Tools::of(&core.config);
    let probe = media::probe(&tools, full).await?.map_err(unreadable)?;
    let mut loudness = None;
    let made = match Quick::for_codec(&probe.codec) {
        Quick::Flac => {
            let dir = tempfile::tempdir().map_err(|e| anyhow::anyhow!("temporary folder: {e}"))?;
            let out = dir.path().join("rendition.mp4");
            loudness = media::transcode(&tools, full, &out)
                .await?
                .map_err(unreadable)?;
            let data = tokio::fs::read(&out)
                .await
                .map_err(|e| anyhow::anyhow!("read rendition: {e}"))?;
            Some((data, media::RENDITION_MIME.to_string()))
        }
        Quick::Copy(_) => None,
    };
    match made {
        Some((data, mime)) => {
            let index = media::segment_index(&data)
                .map_err(|e| Error::Invalid(format!("this track's file cannot be played ({e})")))?;
            let bytes = i64::try_from(data.len()).map_err(|e| anyhow::anyhow!("size: {e}"))?;
            core.storage
                .put(&p.rendition_key, bytes::Bytes::from(data))
                .await?;
            let index = serde_json::to_string(&index)
                .map_err(|e| anyhow::anyhow!("serialize index: {e}"))?;
            repo::set_rendition(
                &core.db,
                &p.track_id,
                bytes,
                &mime,
                &index,
                probe.duration_ms,
            )
            .await?;
        }
        None => make(core, p).await?,
    }
    let mut cover = false;
    if let Some((data, mime)) = media::read_tags(full, tools.tag_timeout).await.cover {
        let key = format!(
            "covers/{}.{}",
            p.track_id,
            if mime == "image/png" { "png" } else { "jpg" }
        );
        // Thumbnails first: a picture that does not decode within the limits is dropped.
        if crate::imports::store_thumbnails(core, &key, data.clone()).await? {
            core.storage.put(&key, bytes::Bytes::from(data)).await?;
            repo::set_cover(&core.db, &p.track_id, &key).await?;
            cover = true;
        }
    }
    Ok(Background { loudness, cover })
}
