use super::audit::{self, Factor, Outcome, Pathway};
use super::{password, repo, throttle};
use crate::{Core, Error, Result, new_id, now_ms};
use std::net::IpAddr;

pub use crate::infra::actor::{CurrentUser, Role, normalize_email};

/// [`signup`] for a visitor at `from`: past `REFRAIN_SIGNUPS_PER_ADDRESS` sign-ups from
/// one address within the window, each waits longer (429 with the wait), so nobody makes
/// the server hash passwords for accounts by the thousand.
pub async fn signup_from(
    core: &Core,
    email: &str,
    password: &str,
    from: IpAddr,
) -> Result<CurrentUser> {
    let key = throttle::Key::signups(from, core.config.auth.signups_per_address);
    throttle::begin(&core.db, &[key]).await?;
    signup(core, email, password).await
}

/// Creates an account and signs it in. The first account becomes admin.
pub async fn signup(core: &Core, email: &str, password: &str) -> Result<CurrentUser> {
    let email = normalize_email(email)?;
    password::check_password_policy(password, &email, false)?;
    if repo::find_by_email(&core.db, &email).await?.is_some() {
        return Err(Error::EmailTaken);
    }
    let hash = password::hash(password.to_string()).await?;
    let id = new_id();
    let login_id = new_id();
    let now = now_ms();
    let mut tx = crate::db::begin(&core.db).await?;
    let role = insert_account(&mut tx, core, &id, &email, &hash, now).await?;
    repo::insert_login(&mut *tx, &login_id, &id, now).await?;
    super::email::send_verification(&mut tx, core, &id, &email).await?;
    super::notices::record_registered(&mut tx, &id).await?;
    tx.commit().await?;
    core.events.wake();
    tracing::info!(user_id = %id, role = %role, "account created");
    Ok(CurrentUser {
        id,
        email,
        role: Role::parse(&role)?,
        login_id,
    })
}

/// Inserts a new account in `conn` (the configured admin email, or the very first
/// account, becomes admin); returns its role. A concurrent sign-up with the same email
/// that won the race answers `EmailTaken`. The caller records its `user.registered`
/// event ([`super::notices::record_registered`]) last, after the account's other rows.
pub(crate) async fn insert_account(
    conn: &mut sqlx::AnyConnection,
    core: &Core,
    id: &str,
    email: &str,
    hash: &str,
    now: i64,
) -> Result<String> {
    let admin_email = core.config.auth.admin_email.as_deref();
    let role = match repo::insert_user(conn, id, email, hash, now, admin_email).await {
        Ok(role) => role,
        Err(Error::Database(sqlx::Error::Database(db))) if db.is_unique_violation() => {
            return Err(Error::EmailTaken);
        }
        Err(e) => return Err(e),
    };
    Ok(role)
}

/// A fixed argon2id hash checked when the email is unknown, so both failures cost the same.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$J5GQ5Vd6Vb8Z4Zr7zQqvYg0H8m5mB0nA1pXUuC8JxjU";

/// What a correct password leads to: a login, or (with two-factor on) a pending login
/// that only a code can complete.
#[derive(Debug, Clone)]
pub enum LoginStep {
    Done(CurrentUser),
    NeedsCode(super::two_factor::PendingLogin),
}

/// Checks the password; opens a new login unless two-factor authentication is on.
/// Failures are throttled per account and per client address `from`; an unknown email
/// costs and answers exactly like a wrong password. The sign-in page's way in.
pub async fn login(core: &Core, email: &str, password: &str, from: IpAddr) -> Result<LoginStep> {
    login_via(core, Pathway::Web, email, password, from, None).await
}

/// What a device token is sealed for.
const DEVICE_PURPOSE: &str = "known-device";

/// A token for the browser that just signed in to `user_id` (kept as a long-lived cookie),
/// naming a device id of its own. The account's owner signing in again from this browser
/// is counted against the device, not the account (OWASP's "device cookies"): a stranger's
/// wrong passwords slow down everyone but the devices the account has used before.
pub fn device_token(core: &Core, user_id: &str) -> Result<String> {
    let device = crate::infra::crypto::random_token();
    core.secret_key
        .seal(DEVICE_PURPOSE, format!("{user_id}\n{device}").as_bytes())
}

/// The device id a token names, if the token was made for `user_id` by this server.
fn known_device(core: &Core, token: Option<&str>, user_id: &str) -> Option<String> {
    let plain = core.secret_key.open(DEVICE_PURPOSE, token?).ok()?;
    let plain = String::from_utf8(plain).ok()?;
    let (owner, device) = plain.split_once('\n')?;
    (owner == user_id).then(|| device.to_string())
}

/// [`login`] by way of `pathway` (the API's password grant, linking a single sign-on),
/// which its security event names, from a browser holding `device` (a [`device_token`]
/// it was given at an earlier sign-in): failures from a known device count against that
/// device instead of the account.
pub async fn login_via(
    core: &Core,
    pathway: Pathway,
    email: &str,
    password: &str,
    from: IpAddr,
    device: Option<&str>,
) -> Result<LoginStep> {
    let event = |outcome, user_id: Option<&str>| {
        audit::sign_in(pathway, Factor::Password, outcome, user_id, Some(from));
    };
    let account = email.trim().to_lowercase();
    let checkable = password.chars().count() <= password::MAX_LEN * 4;
    let user = match normalize_email(email) {
        Ok(email) if checkable => repo::find_by_email(&core.db, &email).await?,
        _ => None,
    };
    let known = user
        .as_ref()
        .and_then(|u| known_device(core, device, &u.id));
    let keys = [
        match &known {
            Some(device) => throttle::Key::device(device),
            None => throttle::Key::account(&account),
        },
        throttle::Key::address(from),
    ];
    if let Err(e) = throttle::begin(&core.db, &keys).await {
        if matches!(e, Error::Throttled { .. }) {
            event(Outcome::Throttled, user.as_ref().map(|u| u.id.as_str()));
        }
        return Err(e);
    }
    let phc = user
        .as_ref()
        .map_or(DUMMY_HASH.to_string(), |u| u.password_hash.clone());
    // An unknown email costs a hash check too, so both failures take as long.
    let ok = checkable && password::verify(password.to_string(), phc).await?;
    let user = match user {
        Some(user) if ok => user,
        other => {
            // Counted as a failure already, by `begin`.
            crate::infra::metrics::count_auth_failure(crate::infra::metrics::AuthFailure::Password);
            event(Outcome::Refused, other.as_ref().map(|u| u.id.as_str()));
            return Err(Error::BadCredentials);
        }
    };
    // The account's (or the device's) failures are forgotten; a known device leaves the
    // account's count as it is, so a stranger guessing gets no fresh tries from it.
    throttle::clear(&core.db, &keys[0]).await?;
    throttle::forgive(&core.db, &keys[1..]).await?;
    // Only someone who knows the password learns that the account is disabled.
    if repo::is_disabled(&core.db, &user.id).await? {
        event(Outcome::Disabled, Some(&user.id));
        return Err(Error::AccountDisabled);
    }
    if core.config.auth.email_verification == crate::config::EmailVerification::Required
        && !repo::email_verified(&core.db, &user.id).await?
    {
        event(Outcome::Unverified, Some(&user.id));
        return Err(Error::EmailNotVerified);
    }
    if repo::totp_secret(&core.db, &user.id).await?.is_some() {
        event(Outcome::SecondFactorNeeded, Some(&user.id));
        return Ok(LoginStep::NeedsCode(super::two_factor::pending_via(
            &user.id, pathway, from,
        )));
    }
    let login_id = new_id();
    repo::insert_login(&core.db, &login_id, &user.id, now_ms()).await?;
    event(Outcome::Success, Some(&user.id));
    Ok(LoginStep::Done(CurrentUser {
        id: user.id,
        email: user.email,
        role: Role::parse(&user.role)?,
        login_id,
    }))
}

/// Ends a login server-side: its session and every stream token minted under it stop working.
pub async fn logout(core: &Core, login_id: &str) -> Result<()> {
    repo::revoke_login(&core.db, login_id, now_ms()).await
}

/// How precisely a login's "last seen" is kept.
const LOGIN_SEEN_GRANULARITY_MS: i64 = 60_000;

/// A live login started after the first bound and was last seen after the second (ms):
/// the absolute and idle time-outs, as of `now`.
pub(crate) fn live_login_window(core: &Core, now: i64) -> (i64, i64) {
    (
        now - core.config.auth.session_absolute_secs * 1000,
        now - core.config.auth.session_ttl_secs * 1000,
    )
}

/// Records that a login was used, when it was last seen `last_seen`. A read decides; the
/// write happens once a minute at most (an UPDATE that changes nothing still takes
/// SQLite's write lock, on every request).
pub(crate) async fn login_used(
    core: &Core,
    login_id: &str,
    last_seen: Option<i64>,
    now: i64,
) -> Result<()> {
    if last_seen.is_none_or(|seen| seen < now - LOGIN_SEEN_GRANULARITY_MS) {
        repo::touch_login(&core.db, login_id, now, LOGIN_SEEN_GRANULARITY_MS).await?;
    }
    Ok(())
}

/// The user behind a live login (not revoked, within the idle and absolute time-outs);
/// records that the login was used.
pub async fn user_for_login(core: &Core, login_id: &str) -> Result<Option<CurrentUser>> {
    let now = now_ms();
    let (started_after, seen_after) = live_login_window(core, now);
    match repo::user_for_login(&core.db, login_id, started_after, seen_after).await? {
        Some((u, last_seen)) => {
            login_used(core, login_id, last_seen, now).await?;
            Ok(Some(CurrentUser {
                id: u.id,
                email: u.email,
                role: Role::parse(&u.role)?,
                login_id: login_id.to_string(),
            }))
        }
        None => Ok(None),
    }
}
