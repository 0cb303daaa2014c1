//! The profile a user edits in settings: a display name shown instead of the email, and
//! a picture.

use super::repo;
use crate::infra::actor::CurrentUser;
use crate::{Core, Error, Result};

/// Longest display name, in characters.
pub const MAX_NAME: usize = 60;

pub async fn display_name(core: &Core, user_id: &str) -> Result<Option<String>> {
    let v = repo::profile::display_name(&core.db, user_id).await?;
    Ok(v.flatten())
}

/// Sets (or with an empty name, clears) the display name. Control characters are refused;
/// surrounding spaces are trimmed.
pub async fn set_display_name(core: &Core, user: &CurrentUser, name: &str) -> Result<()> {
    let name = name.trim();
    if name.chars().count() > MAX_NAME {
        return Err(Error::Invalid(format!(
            "a display name has at most {MAX_NAME} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::Invalid(
            "a display name cannot contain control characters".into(),
        ));
    }
    let value = (!name.is_empty()).then_some(name);
    repo::profile::set_display_name(&core.db, &user.id, value).await?;
    Ok(())
}

/// Largest accepted picture upload.
pub const MAX_AVATAR_BYTES: usize = 5 * 1024 * 1024;
/// Width and height of the stored picture.
pub const AVATAR_SIZE: u32 = 256;

/// The object key of the user's picture, if they set one.
pub async fn avatar_key(core: &Core, user_id: &str) -> Result<Option<String>> {
    let v = repo::profile::avatar_key(&core.db, user_id).await?;
    Ok(v.flatten())
}

/// Sets the user's picture from an uploaded PNG, JPEG, WebP or GIF: cropped to a centred
/// square, scaled to 256x256 and stored as PNG under a new key (the old one is deleted).
/// Anything else is refused with a reason and nothing changes.
pub async fn set_avatar(core: &Core, user: &CurrentUser, upload: bytes::Bytes) -> Result<String> {
    if upload.len() > MAX_AVATAR_BYTES {
        return Err(Error::TooLarge {
            limit: MAX_AVATAR_BYTES as u64,
        });
    }
    let png = tokio::task::spawn_blocking(move || square_png(&upload))
        .await
        .map_err(|e| anyhow::anyhow!("avatar task: {e}"))??;
    let key = format!("avatars/{}/{}.png", user.id, crate::new_id());
    core.storage.put(&key, png.into()).await?;
    let old = avatar_key(core, &user.id).await?;
    let stored = repo::profile::set_avatar_key(&core.db, &user.id, Some(&key)).await;
    if let Err(e) = stored {
        // Keep partial work out: the object without its row goes too.
        let _ = core.storage.delete(&key).await;
        return Err(e);
    }
    if let Some(old) = old {
        delete_quietly(core, &old).await;
    }
    Ok(key)
}

/// Removes the user's picture (the app shows their initial instead).
pub async fn remove_avatar(core: &Core, user: &CurrentUser) -> Result<()> {
    let old = avatar_key(core, &user.id).await?;
    repo::profile::set_avatar_key(&core.db, &user.id, None).await?;
    if let Some(old) = old {
        delete_quietly(core, &old).await;
    }
    Ok(())
}

async fn delete_quietly(core: &Core, key: &str) {
    if let Err(e) = core.storage.delete(key).await {
        tracing::warn!(%key, error = %e, "could not delete a replaced picture");
    }
}

/// Decodes with limits, crops the centre square and scales it to [`AVATAR_SIZE`].
fn square_png(data: &[u8]) -> Result<Vec<u8>> {
    crate::pictures::png(&crate::pictures::square(
        &crate::pictures::decode(data)?,
        AVATAR_SIZE,
    ))
}
