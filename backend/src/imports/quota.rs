//! Listeners' personal uploads live within a quota (server default, or what an admin set).
//! Usage counts the originals of jobs still running and of tracks that exist. Admins and
//! artists import into the shared catalog and have no quota.

use crate::infra::actor::{CurrentUser, Role};
use crate::{Core, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    pub used_bytes: u64,
    /// None: no quota applies (admins and artists).
    pub quota_bytes: Option<u64>,
}

/// Bytes counted against `user_id`'s quota: the originals of jobs still queued or
/// processing and of jobs a track came from, kept in `usage_tallies` by triggers.
pub async fn used_bytes(db: &sqlx::AnyPool, user_id: &str) -> Result<u64> {
    let n = super::repo::used_bytes(db, user_id).await?;
    Ok(n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
}

pub async fn quota_of(core: &Core, user: &CurrentUser) -> Result<Option<u64>> {
    Ok(quota_of_account(core, &user.id).await?.flatten())
}

/// The quota of account `user_id`: `None` when the account is gone, `Some(None)` when no
/// quota applies (admins and artists).
pub async fn quota_of_account(core: &Core, user_id: &str) -> Result<Option<Option<u64>>> {
    let Some((role, quota_bytes)) = super::repo::role_and_quota(&core.db, user_id).await? else {
        return Ok(None);
    };
    if role != Role::Listener.as_str() {
        return Ok(Some(None));
    }
    Ok(Some(Some(
        quota_bytes
            .and_then(|q| u64::try_from(q).ok())
            .unwrap_or(core.config.storage.default_quota_bytes),
    )))
}

pub async fn usage(core: &Core, user: &CurrentUser) -> Result<Usage> {
    Ok(Usage {
        used_bytes: used_bytes(&core.db, &user.id).await?,
        quota_bytes: quota_of(core, user).await?,
    })
}
