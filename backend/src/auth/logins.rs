//! The signed-in devices a user sees in settings: list them, end one or all others, and
//! change the password (which ends every other login).
//!
//! Ending access ends all of it: "log out everywhere", a password reset, an admin
//! disabling an account and deleting it go through [`end_all_access`], which ends the
//! logins (web sessions and API token logins), revokes every refresh-token family and
//! deletes every app key (Subsonic API keys and app passwords) in one transaction. A
//! password change does the same unless its user keeps their apps signed in.

use super::repo::refresh as refresh_repo;
use super::{password, repo};
use crate::infra::actor::CurrentUser;
use crate::{Core, Error, Result, now_ms};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginInfo {
    pub id: String,
    /// "Chrome on Linux", from the user agent.
    pub device: String,
    pub address: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// The login this request came through.
    pub current: bool,
}

/// Records the device and address of a login that just began.
pub async fn describe(
    core: &Core,
    login_id: &str,
    user_agent: Option<&str>,
    ip: Option<IpAddr>,
) -> Result<()> {
    let ua: Option<String> = user_agent.map(|u| u.chars().take(300).collect());
    let ip = ip
        .filter(|ip| !ip.is_unspecified())
        .map(|ip| ip.to_string());
    let mut tx = crate::db::begin(&core.db).await?;
    repo::describe_login(&mut *tx, login_id, ua.as_deref(), ip.as_deref()).await?;
    super::notices::check_new_device(
        &mut tx,
        login_id,
        &device_name(ua.as_deref()),
        ip.as_deref(),
    )
    .await?;
    tx.commit().await?;
    core.events.wake();
    Ok(())
}

pub async fn list(core: &Core, user: &CurrentUser) -> Result<Vec<LoginInfo>> {
    let now = now_ms();
    let rows = repo::live_logins(
        &core.db,
        &user.id,
        now - core.config.auth.session_absolute_secs * 1000,
        now - core.config.auth.session_ttl_secs * 1000,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| LoginInfo {
            current: r.id == user.login_id,
            device: device_name(r.user_agent.as_deref()),
            address: r.ip,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            id: r.id,
        })
        .collect())
}

/// Ends one of the user's own logins (any other user's id is "not found").
pub async fn end(core: &Core, user: &CurrentUser, login_id: &str) -> Result<()> {
    if repo::revoke_own_login(&core.db, &user.id, login_id, now_ms()).await? {
        core.sessions.forget_logins(&[login_id.to_string()]).await;
        Ok(())
    } else {
        Err(Error::NotFound("session"))
    }
}

/// What [`end_all_access`] ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use = "call `after_commit` once the transaction committed"]
pub struct Ended {
    /// Logins: web sessions and API token logins.
    pub logins: Vec<String>,
    /// Refresh tokens revoked (every family of the ended logins).
    pub refresh_tokens: u64,
    /// App keys deleted: Subsonic API keys and app passwords.
    pub app_keys: u64,
}

impl Ended {
    /// Once the caller's transaction committed: deletes the ended logins' session records
    /// from the session store (Redis or the database) and records the security events of
    /// the keys that ended (`why`: what ended them).
    pub async fn after_commit(&self, core: &Core, user_id: &str, why: &str) {
        use super::audit::{KeyKind, keys_revoked};
        core.sessions.forget_logins(&self.logins).await;
        if self.app_keys > 0 {
            keys_revoked(user_id, KeyKind::ApiKey, None, self.app_keys, why);
        }
        if self.refresh_tokens > 0 {
            keys_revoked(user_id, KeyKind::ApiToken, None, self.refresh_tokens, why);
        }
    }
}

/// Ends every way into `user_id`'s account, inside the caller's transaction: every login
/// but `keep` (the caller's own, for "log out everywhere else"; `None` ends them all),
/// every refresh-token family but `keep`'s, and every app key. The keys are deleted, not
/// hidden: enabling a disabled account again revives none of it.
pub(crate) async fn end_all_access(
    conn: &mut AnyConnection,
    user_id: &str,
    keep: Option<&str>,
    now: i64,
) -> Result<Ended> {
    let refresh_tokens =
        refresh_repo::revoke_for_user(&mut *conn, user_id, keep.unwrap_or(""), now).await?;
    let logins = match keep {
        Some(k) => repo::revoke_other_logins(&mut *conn, user_id, k, now).await?,
        None => repo::revoke_all_logins(&mut *conn, user_id, now).await?,
    };
    let app_keys = crate::subsonic::keys::delete_all_for_user(&mut *conn, user_id).await?;
    Ok(Ended {
        logins,
        refresh_tokens,
        app_keys,
    })
}

/// "Log out everywhere else": ends every login of the user except the current one, every
/// API token family and every app key; returns how many logins ended.
pub async fn end_others(core: &Core, user: &CurrentUser) -> Result<u64> {
    let mut tx = crate::db::begin(&core.db).await?;
    let ended = end_all_access(&mut tx, &user.id, Some(&user.login_id), now_ms()).await?;
    tx.commit().await?;
    ended
        .after_commit(core, &user.id, "logged out everywhere else")
        .await;
    tracing::info!(
        user_id = %user.id,
        logins = ended.logins.len(),
        app_keys = ended.app_keys,
        "logged out everywhere else"
    );
    Ok(ended.logins.len() as u64)
}

/// Changes the password after checking the current one; every other login ends (API
/// token logins too). With `sign_out_apps` (what Settings offers, ticked), every app key
/// is deleted and every other API token family revoked as well; without it the user's
/// Subsonic apps keep working with their keys.
pub async fn change_password(
    core: &Core,
    user: &CurrentUser,
    current: &str,
    new: &str,
    sign_out_apps: bool,
) -> Result<()> {
    password::check_current(&core.db, &user.id, current).await?;
    let second_factor = repo::totp_secret(&core.db, &user.id).await?.is_some();
    password::check_password_policy(new, &user.email, second_factor)?;
    let new_hash = password::hash(new.to_string()).await?;
    let now = now_ms();
    let mut tx = crate::db::begin(&core.db).await?;
    repo::set_password_hash(&mut *tx, &user.id, &new_hash).await?;
    let ended = if sign_out_apps {
        end_all_access(&mut tx, &user.id, Some(&user.login_id), now).await?
    } else {
        Ended {
            logins: repo::revoke_other_logins(&mut *tx, &user.id, &user.login_id, now).await?,
            ..Ended::default()
        }
    };
    tx.commit().await?;
    ended.after_commit(core, &user.id, "password changed").await;
    tracing::info!(user_id = %user.id, sign_out_apps, "password changed; other logins ended");
    Ok(())
}

/// A short, human name for a user agent ("Firefox on Android"); never the raw string.
pub fn device_name(ua: Option<&str>) -> String {
    let Some(ua) = ua.filter(|u| !u.trim().is_empty()) else {
        return "Unknown device".into();
    };
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") {
        "Opera"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") || ua.contains("CriOS/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if ua.starts_with("curl/") {
        "curl"
    } else {
        "Browser"
    };
    let os = if ua.contains("Android") {
        "Android"
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        "iOS"
    } else if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "macOS"
    } else if ua.contains("Linux") || ua.contains("X11") {
        "Linux"
    } else {
        ""
    };
    if os.is_empty() {
        browser.to_string()
    } else {
        format!("{browser} on {os}")
    }
}

#[cfg(test)]
mod tests {
    use super::device_name;

    #[test]
    fn devices_get_short_names() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
        assert_eq!(device_name(Some(chrome)), "Chrome on Linux");
        let ff = "Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0";
        assert_eq!(device_name(Some(ff)), "Firefox on Android");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(device_name(Some(safari)), "Safari on iOS");
        assert_eq!(device_name(None), "Unknown device");
    }
}
