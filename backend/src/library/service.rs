use super::repo::{self, TrackView};
use crate::auth::CurrentUser;
use crate::{Core, Error, Result};

/// The library page's track list (newest first, capped until paging arrives).
pub async fn list_tracks(core: &Core, user: &CurrentUser) -> Result<Vec<TrackView>> {
    repo::list_visible(&core.db, &user.id, 5000).await
}

/// Cover image bytes of a track the user may see.
pub async fn cover_for(
    core: &Core,
    user: &CurrentUser,
    track_id: &str,
) -> Result<(bytes::Bytes, String)> {
    let key = repo::cover_key(&core.db, track_id, &user.id)
        .await?
        .ok_or(Error::NotFound("cover"))?;
    let mime = if key.ends_with(".png") {
        "image/png"
    } else {
        "image/jpeg"
    };
    Ok((core.storage.get_bytes(&key).await?, mime.to_string()))
}
