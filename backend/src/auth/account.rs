//! Deleting one's own account and everything in it, after re-authenticating.

use super::{password, repo, two_factor};
use crate::infra::actor::{CurrentUser, Role};
use crate::{Core, Error, Result};

/// Deletes the account of `user` with its uploads, tracks, sessions and tokens. Needs the
/// password, and a current code (or recovery code) when two-factor is on. The last admin
/// cannot delete themselves (make another admin first).
pub async fn delete_account(
    core: &Core,
    user: &CurrentUser,
    password: &str,
    code: Option<&str>,
) -> Result<()> {
    password::check_current(&core.db, &user.id, password).await?;
    if repo::totp_secret(&core.db, &user.id).await?.is_some() {
        let code = code
            .filter(|c| !c.trim().is_empty())
            .ok_or(Error::BadCode)?;
        two_factor::use_code(core, &user.id, code).await?;
    }
    if user.role == Role::Admin {
        let admins = repo::account::count_active_admins(&core.db).await?;
        if admins <= 1 {
            return Err(Error::Invalid(
                "you are the only admin: make another account admin before deleting yours".into(),
            ));
        }
    }
    // Every object the account owns: originals of all its jobs, and its tracks' media.
    let mut keys = repo::account::original_keys_of(&core.db, &user.id).await?;
    let media = repo::account::track_media_of(&core.db, &user.id).await?;
    for (rendition, cover) in media {
        keys.push(rendition);
        keys.extend(cover);
    }
    keys.extend(super::profile::avatar_key(core, &user.id).await?);
    let mut tx = crate::db::begin(&core.db).await?;
    super::notices::record(
        &mut tx,
        super::notices::USER_DELETED,
        &user.id,
        &super::notices::UserDeleted {
            user_id: user.id.clone(),
            email: user.email.clone(),
        },
    )
    .await?;
    repo::account::delete_tracks_of(&mut tx, &user.id).await?;
    repo::account::delete_import_jobs_of(&mut tx, &user.id).await?;
    // Every way in ends first, in this transaction (the rows would also go with the
    // account's, ON DELETE CASCADE, but not through a path that forgets one).
    let ended = super::logins::end_all_access(&mut tx, &user.id, None, crate::now_ms()).await?;
    // Recovery codes, email tokens and the rest go with the row (ON DELETE CASCADE).
    repo::account::delete_user(&mut tx, &user.id).await?;
    tx.commit().await?;
    core.events.wake();
    ended.after_commit(core, &user.id, "account deleted").await;
    for key in keys {
        if let Err(e) = core.storage.delete(&key).await {
            tracing::warn!(%key, error = %e, "could not delete an object of a deleted account");
        }
    }
    tracing::info!(user_id = %user.id, "account deleted with its data");
    Ok(())
}
