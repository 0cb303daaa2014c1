//! Tracks imported before covers were thumbnailed and loudness measured get both in the
//! background: a few at a time, newest first, beside the event handlers. Scanned tracks
//! get their rendition and cover here too, at most `REFRAIN_RENDITIONS_PER_MINUTE`. Each track is
//! claimed first (two workers never do the same one) and marked analysed whatever the
//! outcome, so a file that cannot be analysed is looked at once. Until then a track plays
//! at its own level and shows its original cover.

use crate::import::media;
use backend::Core;
use backend::imports::store_thumbnails;
use backend::library::repo::{self, Unanalysed};
use std::time::Duration;

/// Tracks claimed per round.
const BATCH: i64 = 20;

/// Analyses up to [`BATCH`] tracks; returns how many it looked at.
pub async fn run_once(core: &Core) -> anyhow::Result<usize> {
    let tracks = repo::claim_unanalysed(&core.db, BATCH).await?;
    for t in &tracks {
        let mut t = t.clone();
        let mut made_loudness = None;
        let mut thumbs_made = false;
        if let Some(p) = backend::folders::repo::pending_rendition(&core.db, &t.id).await? {
            match backend::folders::rendition::background(core, &p).await {
                Ok(b) => {
                    made_loudness = b.loudness;
                    t.needs_loudness = b.loudness.is_none();
                    if b.cover {
                        // Thumbnailed already.
                        t.cover_key = None;
                        thumbs_made = true;
                    }
                }
                Err(e) => {
                    tracing::warn!(track_id = %t.id, error = %e, "scanned track not rendered");
                    t.needs_loudness = false;
                }
            }
            let per_minute = core.config.library.renditions_per_minute.max(1);
            tokio::time::sleep(Duration::from_secs(60) / per_minute).await;
        }
        let (thumbs, loudness) = analyse(core, &t).await;
        let (thumbs, loudness) = (thumbs || thumbs_made, made_loudness.or(loudness));
        repo::set_analysed(&core.db, &t.id, thumbs, loudness).await?;
        tracing::info!(track_id = %t.id, thumbs, measured = loudness.is_some(), "track analysed");
    }
    Ok(tracks.len())
}

async fn analyse(core: &Core, t: &Unanalysed) -> (bool, Option<backend::imports::Loudness>) {
    let mut thumbs = false;
    if let Some(key) = &t.cover_key {
        match core.storage.get_bytes(key).await {
            Ok(cover) => match store_thumbnails(core, key, cover.to_vec()).await {
                Ok(made) => thumbs = made,
                Err(e) => tracing::warn!(track_id = %t.id, error = %e, "thumbnails not made"),
            },
            Err(e) => tracing::warn!(track_id = %t.id, error = %e, "cover not readable"),
        }
    }
    let mut loudness = None;
    if t.needs_loudness {
        match measure(core, &t.rendition_key).await {
            Ok(l) => loudness = l,
            Err(e) => tracing::warn!(track_id = %t.id, error = %e, "loudness not measured"),
        }
    }
    (thumbs, loudness)
}

async fn measure(
    core: &Core,
    rendition_key: &str,
) -> anyhow::Result<Option<backend::imports::Loudness>> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("rendition.mp4");
    core.storage.download(rendition_key, &file).await?;
    media::measure_loudness(&media::Tools::of(&core.config), &file).await
}

/// Runs until `shutdown`: a round, then the next at once while there was work, else
/// after a minute (new imports are analysed by the import itself).
pub async fn run(core: Core, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        let pause = match run_once(&core).await {
            Ok(0) => Duration::from_secs(60),
            Ok(_) => Duration::from_millis(100),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "background analysis failed");
                Duration::from_secs(60)
            }
        };
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}
