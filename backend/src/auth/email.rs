//! Email flows: verification at sign-up, password reset, change of address. Each sends a
//! single-use link (token hashed at rest) as an email event through the outbox, in the
//! same transaction as the token, so a rolled-back change sends nothing.

use super::{password, repo, throttle};
use crate::config::EmailVerification;
use crate::events::repo::queue_email as queue;
use crate::infra::actor::CurrentUser;
use crate::{Core, Error, Result, now_ms};
use sqlx::AnyConnection;
use std::net::IpAddr;

/// A password-reset link works for 30 minutes.
pub const RESET_TTL_MS: i64 = 30 * 60 * 1000;
/// Verification and change-of-address links work for a day.
pub const CONFIRM_TTL_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Verify,
    Reset,
    Change,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Verify => "verify",
            Purpose::Reset => "reset",
            Purpose::Change => "change",
        }
    }
}

fn new_token() -> String {
    password::random_token()
}

fn hash_token(token: &str) -> String {
    password::sha256_hex(token.trim())
}

/// Stores a token and queues its email, inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
async fn issue(
    conn: &mut AnyConnection,
    user_id: &str,
    purpose: Purpose,
    new_email: Option<&str>,
    to: &str,
    ttl_ms: i64,
    compose: impl FnOnce(&str) -> (String, String),
) -> Result<()> {
    let token = new_token();
    let now = now_ms();
    repo::email::insert_email_token(
        &mut *conn,
        &hash_token(&token),
        user_id,
        purpose.as_str(),
        new_email,
        now,
        now + ttl_ms,
    )
    .await?;
    let (subject, text) = compose(&token);
    queue(conn, user_id, to, subject, text).await
}

/// Uses up a live token of `purpose`; returns its user and, for a change, the new address.
async fn consume(
    conn: &mut AnyConnection,
    token: &str,
    purpose: Purpose,
) -> Result<(String, Option<String>)> {
    let now = now_ms();
    let row =
        repo::email::use_email_token(&mut *conn, &hash_token(token), purpose.as_str(), now).await?;
    match row {
        Some(found) => Ok(found),
        None => Err(Error::Invalid(
            "this link is not valid: it was already used or has expired".into(),
        )),
    }
}

/// Queues the verification email of a new account (called inside the sign-up transaction).
pub(crate) async fn send_verification(
    conn: &mut AnyConnection,
    core: &Core,
    user_id: &str,
    email: &str,
) -> Result<()> {
    if core.config.auth.email_verification == EmailVerification::Off {
        return Ok(());
    }
    let base = core.config.public_url();
    issue(
        conn,
        user_id,
        Purpose::Verify,
        None,
        email,
        CONFIRM_TTL_MS,
        |t| {
            (
                "Confirm your email address for Refrain".into(),
                format!(
                    "Welcome to Refrain!\n\nConfirm that this is your address by opening this link \
                 within 24 hours:\n\n{base}/verify-email?token={t}\n\nIf you did not sign up, \
                 ignore this message.\n"
                ),
            )
        },
    )
    .await
}

/// Sends a fresh verification link to a signed-in user whose address is not yet confirmed.
pub async fn resend_verification(core: &Core, user: &CurrentUser) -> Result<()> {
    if repo::email_verified(&core.db, &user.id).await? {
        return Err(Error::Invalid(
            "your email address is already confirmed".into(),
        ));
    }
    let mut tx = crate::db::begin(&core.db).await?;
    send_verification(&mut tx, core, &user.id, &user.email).await?;
    tx.commit().await?;
    core.events.wake();
    Ok(())
}

/// Confirms the address with a verification link. The sign-ins linked to the account
/// before from unverified addresses are disconnected (and the address told which): the
/// owner of the address now holds the account.
pub async fn verify_email(core: &Core, token: &str) -> Result<()> {
    let mut tx = crate::db::begin(&core.db).await?;
    let (user_id, _) = consume(&mut tx, token, Purpose::Verify).await?;
    repo::email::mark_email_verified(&mut *tx, &user_id, now_ms()).await?;
    super::identities::drop_unvouched_identities(&mut tx, core, &user_id).await?;
    tx.commit().await?;
    core.events.wake();
    Ok(())
}

/// Starts a password reset. The answer never says whether the address has an account;
/// requests are throttled per address and per account.
pub async fn request_password_reset(core: &Core, email: &str, from: IpAddr) -> Result<()> {
    let Ok(email) = crate::infra::actor::normalize_email(email) else {
        return Ok(());
    };
    let keys = [
        throttle::Key::account(&format!("reset:{email}")),
        throttle::Key::address(from),
    ];
    // Every request counts, so the links cannot be used to flood someone's inbox.
    throttle::begin(&core.db, &keys).await?;
    let Some(user) = repo::find_by_email(&core.db, &email).await? else {
        return Ok(());
    };
    if repo::is_disabled(&core.db, &user.id).await? {
        return Ok(());
    }
    let base = core.config.public_url();
    let mut tx = crate::db::begin(&core.db).await?;
    issue(
        &mut tx,
        &user.id,
        Purpose::Reset,
        None,
        &email,
        RESET_TTL_MS,
        |t| {
            (
                "Reset your Refrain password".into(),
                format!(
                    "Someone asked to reset the password of your Refrain account.\n\nChoose a new \
                 password within 30 minutes here:\n\n{base}/reset-password?token={t}\n\n\
                 If it was not you, ignore this message: your password stays as it is.\n"
                ),
            )
        },
    )
    .await?;
    tx.commit().await?;
    core.events.wake();
    Ok(())
}

/// Sets a new password with a reset link. Every way into the account ends: its sessions,
/// API token families and app keys (a phished account is closed again once recovered);
/// sign-ins linked from unverified addresses are disconnected, and the address told which.
/// The user then logs in as usual, with their second factor when it is on (a reset never
/// bypasses it).
pub async fn reset_password(core: &Core, token: &str, new_password: &str) -> Result<()> {
    use super::audit::{Factor, Outcome, Pathway, sign_in};
    let mut tx = crate::db::begin(&core.db).await?;
    let (user_id, _) = match consume(&mut tx, token, Purpose::Reset).await {
        Ok(found) => found,
        Err(e) => {
            sign_in(
                Pathway::ResetLink,
                Factor::ResetLink,
                Outcome::Refused,
                None,
                None,
            );
            return Err(e);
        }
    };
    let email = repo::email::email_of(&mut *tx, &user_id).await?;
    let second_factor = repo::totp_secret(&mut *tx, &user_id).await?.is_some();
    password::check_password_policy(new_password, &email, second_factor)?;
    let hash = password::hash(new_password.to_string()).await?;
    let now = now_ms();
    repo::set_password_hash(&mut *tx, &user_id, &hash).await?;
    let ended = super::logins::end_all_access(&mut tx, &user_id, None, now).await?;
    // Following the link proved control of the address.
    repo::email::keep_email_verified(&mut *tx, &user_id, now).await?;
    super::identities::drop_unvouched_identities(&mut tx, core, &user_id).await?;
    tx.commit().await?;
    core.events.wake();
    throttle::clear(&core.db, &throttle::Key::account(&email)).await?;
    sign_in(
        Pathway::ResetLink,
        Factor::ResetLink,
        Outcome::Success,
        Some(&user_id),
        None,
    );
    ended
        .after_commit(core, &user_id, "password reset by email")
        .await;
    tracing::info!(
        %user_id,
        app_keys = ended.app_keys,
        "password reset by email; all sessions, tokens and app keys ended"
    );
    Ok(())
}

/// Starts a change of address: the link goes to the new address and must be followed there.
pub async fn request_email_change(
    core: &Core,
    user: &CurrentUser,
    current_password: &str,
    new_email: &str,
) -> Result<()> {
    let new_email = crate::infra::actor::normalize_email(new_email)?;
    password::check_current(&core.db, &user.id, current_password).await?;
    if new_email == user.email {
        return Err(Error::Invalid("that is already your address".into()));
    }
    if repo::find_by_email(&core.db, &new_email).await?.is_some() {
        return Err(Error::EmailTaken);
    }
    let base = core.config.public_url();
    let mut tx = crate::db::begin(&core.db).await?;
    issue(
        &mut tx,
        &user.id,
        Purpose::Change,
        Some(&new_email),
        &new_email,
        CONFIRM_TTL_MS,
        |t| {
            (
                "Confirm your new email address for Refrain".into(),
                format!(
                    "Open this link within 24 hours to make this the address of your Refrain \
                     account:\n\n{base}/confirm-email?token={t}\n\nIf you did not ask for this, \
                     ignore this message.\n"
                ),
            )
        },
    )
    .await?;
    tx.commit().await?;
    core.events.wake();
    Ok(())
}

/// Follows a change-of-address link; returns the new address.
pub async fn confirm_email_change(core: &Core, token: &str) -> Result<String> {
    let mut tx = crate::db::begin(&core.db).await?;
    let (user_id, new_email) = consume(&mut tx, token, Purpose::Change).await?;
    let new_email = new_email.ok_or_else(|| anyhow::anyhow!("change token without address"))?;
    let r = repo::email::set_email(&mut *tx, &user_id, &new_email, now_ms()).await;
    match r {
        Ok(()) => {}
        Err(Error::Database(sqlx::Error::Database(db))) if db.is_unique_violation() => {
            return Err(Error::EmailTaken);
        }
        Err(e) => return Err(e),
    }
    tx.commit().await?;
    tracing::info!(%user_id, "email address changed");
    Ok(new_email)
}
