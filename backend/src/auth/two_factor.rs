//! Two-factor authentication: TOTP enrollment confirmed by a code, single-use recovery
//! codes stored hashed, replay protection by time step (atomic, so parallel submits of one
//! code cannot both pass), and the second step of a login. TOTP secrets (pending and
//! confirmed) are stored sealed with the server key, bound to their user, so a copy of
//! the database alone cannot make codes, and a secret moved to another user's row does
//! not open.

use super::service::{CurrentUser, Role};
use super::{password, repo, totp};
use crate::{Core, Error, Result, new_id, now_ms};
use serde::{Deserialize, Serialize};

pub const ISSUER: &str = "Refrain";
pub const RECOVERY_CODES: usize = 10;
/// How long the password step of a login stays good for the second step.
pub const PENDING_TTL_MS: i64 = 5 * 60 * 1000;
/// Wrong codes allowed per password step before the login must start again.
pub const PENDING_MAX_ATTEMPTS: u32 = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub enabled: bool,
    pub recovery_codes_left: i64,
}

/// What the enrollment page shows: the QR code and the same secret for typing in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Enrollment {
    pub secret: String,
    pub uri: String,
    pub qr_svg: String,
}

/// A login that passed the password step and waits for a code. Kept in the session; it
/// grants nothing else.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    pub user_id: String,
    pub started_at: i64,
    pub attempts: u32,
    /// A single sign-on waiting to be linked to this account (its link token): linked
    /// only once the code is given, so a password alone never links one.
    #[serde(default)]
    pub sso_link: Option<String>,
}

/// What a user's TOTP secret is bound to when sealed.
fn seal_purpose(user_id: &str) -> String {
    format!("totp:{user_id}")
}

/// A stored TOTP secret's base32 text: opened when sealed (one stored in clear by an
/// older version is taken as it is; [`seal_stored_secrets`] seals those at the first start-up
/// of this version, once per database).
fn open_secret(core: &Core, user_id: &str, stored: &str) -> Result<String> {
    if !crate::sealed::SecretKey::is_sealed(stored) {
        return Ok(stored.to_string());
    }
    let plain = core
        .secret_key
        .open(&seal_purpose(user_id), stored)
        .map_err(|_| {
            anyhow::anyhow!(
                "a two-factor secret does not open with this node's server key: give every \
                 node the same REFRAIN_SECRET_KEY"
            )
        })?;
    String::from_utf8(plain).map_err(|_| anyhow::anyhow!("a two-factor secret is not text").into())
}

/// Seals the TOTP secrets stored in clear (by a version before they were sealed); run once
/// per database, at the first start-up that finds it not done. Each row changes only if it
/// still holds what was read.
pub async fn seal_stored_secrets(db: &sqlx::AnyPool, key: &crate::sealed::SecretKey) -> Result<()> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT id, totp_secret, totp_pending_secret FROM users
         WHERE totp_secret IS NOT NULL OR totp_pending_secret IS NOT NULL",
    )
    .fetch_all(db)
    .await?;
    let mut sealed = 0;
    for r in rows {
        let id: String = r.get("id");
        for column in ["totp_secret", "totp_pending_secret"] {
            let Some(clear) = r.get::<Option<String>, _>(column) else {
                continue;
            };
            if crate::sealed::SecretKey::is_sealed(&clear) {
                continue;
            }
            let value = key.seal(&seal_purpose(&id), clear.as_bytes())?;
            // The column name is one of the two above, never input.
            sqlx::query(&format!(
                "UPDATE users SET {column} = $3 WHERE id = $1 AND {column} = $2"
            ))
            .bind(&id)
            .bind(&clear)
            .bind(&value)
            .execute(db)
            .await?;
            sealed += 1;
        }
    }
    if sealed > 0 {
        tracing::info!(
            secrets = sealed,
            "two-factor secrets stored in clear are now sealed"
        );
    }
    Ok(())
}

pub async fn status(core: &Core, user: &CurrentUser) -> Result<Status> {
    let enabled = repo::totp_secret(&core.db, &user.id).await?.is_some();
    let left = repo::recovery_codes_left(&core.db, &user.id).await?;
    Ok(Status {
        enabled,
        recovery_codes_left: left,
    })
}

/// Starts (or restarts) enrollment with a new secret; nothing changes for logins until
/// [`confirm_enrollment`] sees a valid code for it.
pub async fn begin_enrollment(core: &Core, user: &CurrentUser) -> Result<Enrollment> {
    if repo::totp_secret(&core.db, &user.id).await?.is_some() {
        return Err(Error::Invalid(
            "two-factor authentication is already on".into(),
        ));
    }
    let secret = totp::encode_secret(&totp::generate_secret());
    let stored = core
        .secret_key
        .seal(&seal_purpose(&user.id), secret.as_bytes())?;
    repo::set_pending_totp(&core.db, &user.id, Some(&stored)).await?;
    let uri = totp::otpauth_uri(&secret, &user.email, ISSUER);
    let qr_svg = totp::qr_svg(&uri)?;
    Ok(Enrollment {
        secret,
        uri,
        qr_svg,
    })
}

/// Turns two-factor on when `code` is valid for the secret being enrolled; returns the
/// recovery codes, shown to the user this once.
pub async fn confirm_enrollment(
    core: &Core,
    user: &CurrentUser,
    code: &str,
) -> Result<Vec<String>> {
    let Some(pending) = repo::pending_totp(&core.db, &user.id).await? else {
        return Err(Error::Invalid(
            "start setting up two-factor authentication first".into(),
        ));
    };
    let secret = totp::decode_secret(&open_secret(core, &user.id, &pending)?)?;
    let step = totp::matching_step(&secret, code, now_secs()).ok_or(Error::BadCode)?;
    let codes = new_recovery_codes();
    let mut tx = crate::db::begin(&core.db).await?;
    if !repo::enable_totp(&mut *tx, &user.id, &pending, step_i64(step)).await? {
        // Someone confirmed (or restarted) enrollment in between.
        return Err(Error::BadCode);
    }
    repo::replace_recovery_codes(&mut tx, &user.id, &hashes(&codes), now_ms()).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, "two-factor authentication enabled");
    Ok(codes)
}

/// Turns two-factor off; needs the password and a current code (or a recovery code).
pub async fn disable(core: &Core, user: &CurrentUser, password: &str, code: &str) -> Result<()> {
    reauthenticate(core, &user.id, password, code).await?;
    let mut tx = crate::db::begin(&core.db).await?;
    repo::clear_two_factor(&mut tx, &user.id).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, "two-factor authentication disabled");
    Ok(())
}

/// Replaces all recovery codes; needs the password and a current code.
pub async fn regenerate_recovery_codes(
    core: &Core,
    user: &CurrentUser,
    password: &str,
    code: &str,
) -> Result<Vec<String>> {
    reauthenticate(core, &user.id, password, code).await?;
    let codes = new_recovery_codes();
    let mut tx = crate::db::begin(&core.db).await?;
    repo::replace_recovery_codes(&mut tx, &user.id, &hashes(&codes), now_ms()).await?;
    tx.commit().await?;
    Ok(codes)
}

async fn reauthenticate(core: &Core, user_id: &str, password: &str, code: &str) -> Result<()> {
    password::check_current(&core.db, user_id, password).await?;
    if repo::totp_secret(&core.db, user_id).await?.is_none() {
        return Err(Error::Invalid("two-factor authentication is off".into()));
    }
    use_code(core, user_id, code).await
}

/// Accepts a TOTP code (each time step once) or an unused recovery code, and uses it up.
pub async fn use_code(core: &Core, user_id: &str, code: &str) -> Result<()> {
    let Some(stored) = repo::totp_secret(&core.db, user_id).await? else {
        return Err(Error::BadCode);
    };
    let compact: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() == totp::DIGITS && compact.bytes().all(|b| b.is_ascii_digit()) {
        // Opened only for a TOTP code: recovery codes work even when the secret does not
        // open (a server key lost or changed).
        let secret = totp::decode_secret(&open_secret(core, user_id, &stored)?)?;
        let step = totp::matching_step(&secret, &compact, now_secs()).ok_or(Error::BadCode)?;
        // One statement decides, so two parallel submits of the same code cannot both win.
        if repo::advance_totp_step(&core.db, user_id, step_i64(step)).await? {
            return Ok(());
        }
        return Err(Error::BadCode);
    }
    let normalized = normalize_recovery_code(code);
    if normalized.is_empty() {
        return Err(Error::BadCode);
    }
    if repo::use_recovery_code(&core.db, user_id, &hash_code(&normalized), now_ms()).await? {
        tracing::info!(%user_id, "recovery code used");
        return Ok(());
    }
    Err(Error::BadCode)
}

/// The second step of a login: a valid code turns the pending login into a real one.
/// Wrong codes count against the pending login; after too many, or after five minutes,
/// the password step must be repeated.
pub async fn complete_login(
    core: &Core,
    pending: &mut PendingLogin,
    code: &str,
) -> Result<CurrentUser> {
    if now_ms() - pending.started_at > PENDING_TTL_MS || pending.attempts >= PENDING_MAX_ATTEMPTS {
        return Err(Error::Unauthenticated);
    }
    let key = [super::throttle::Key::account(&pending.user_id)];
    // Counted before the code is checked, so codes guessed in parallel all count.
    super::throttle::begin(&core.db, &key).await?;
    pending.attempts += 1;
    if let Err(e) = use_code(core, &pending.user_id, code).await {
        if matches!(e, Error::BadCode) {
            crate::ops::count_auth_failure(crate::ops::AuthFailure::SecondFactor);
        } else {
            super::throttle::forgive(&core.db, &key).await?;
        }
        return Err(e);
    }
    super::throttle::forgive(&core.db, &key).await?;
    let user = repo::find_by_id(&core.db, &pending.user_id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    if repo::is_disabled(&core.db, &user.id).await? {
        return Err(Error::AccountDisabled);
    }
    if let Some(token) = pending.sso_link.take() {
        super::sso::complete_link(core, &token, &user.id).await?;
    }
    let login_id = new_id();
    repo::insert_login(&core.db, &login_id, &user.id, now_ms()).await?;
    Ok(CurrentUser {
        id: user.id,
        email: user.email,
        role: Role::parse(&user.role)?,
        login_id,
    })
}

fn now_secs() -> u64 {
    u64::try_from(now_ms() / 1000).unwrap_or_default()
}

fn step_i64(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

/// Recovery codes look like `k7m2q-9xwvt`: 50 random bits from an alphabet without
/// look-alike characters.
fn new_recovery_codes() -> Vec<String> {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..RECOVERY_CODES)
        .map(|_| {
            let s: String = (0..10)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect();
            format!("{}-{}", &s[..5], &s[5..])
        })
        .collect()
}

fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .take(64)
        .collect()
}

fn hash_code(normalized: &str) -> String {
    password::sha256_hex(normalized)
}

fn hashes(codes: &[String]) -> Vec<String> {
    codes
        .iter()
        .map(|c| hash_code(&normalize_recovery_code(c)))
        .collect()
}

/// A pending login for `user_id` starting now (the password step just passed).
pub fn pending_for(user_id: &str) -> PendingLogin {
    PendingLogin {
        user_id: user_id.to_string(),
        started_at: now_ms(),
        attempts: 0,
        sso_link: None,
    }
}
