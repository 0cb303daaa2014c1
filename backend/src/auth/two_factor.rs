//! Two-factor authentication: TOTP enrollment confirmed by a code, single-use recovery
//! codes stored hashed, replay protection by time step (atomic, so parallel submits of one
//! code cannot both pass), and the second step of a login. TOTP secrets (pending and
//! confirmed) are stored sealed with the server key, bound to their user, so a copy of
//! the database alone cannot make codes, and a secret moved to another user's row does
//! not open.

use super::audit::{self, Factor, Outcome, Pathway};
use super::repo::two_factor as two_factor_repo;
use super::{password, repo, totp};
use crate::infra::actor::{CurrentUser, Role};
use crate::{Core, Error, Result, new_id, now_ms};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

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
    /// The way in the first step took, and from where (for security events).
    #[serde(default)]
    pub pathway: Pathway,
    #[serde(default)]
    pub from: Option<IpAddr>,
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
    use two_factor_repo::SecretColumn;
    let rows = two_factor_repo::stored_totp_secrets(db).await?;
    let mut sealed = 0;
    for r in rows {
        let id = r.id;
        for (column, stored) in [
            (SecretColumn::Active, r.totp_secret),
            (SecretColumn::Pending, r.totp_pending_secret),
        ] {
            let Some(clear) = stored else {
                continue;
            };
            if crate::sealed::SecretKey::is_sealed(&clear) {
                continue;
            }
            let value = key.seal(&seal_purpose(&id), clear.as_bytes())?;
            two_factor_repo::replace_totp_secret(db, column, &id, &clear, &value).await?;
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
    two_factor_repo::replace_recovery_codes(&mut tx, &user.id, &hashes(&codes), now_ms()).await?;
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
    two_factor_repo::replace_recovery_codes(&mut tx, &user.id, &hashes(&codes), now_ms()).await?;
    tx.commit().await?;
    Ok(codes)
}

async fn reauthenticate(core: &Core, user_id: &str, password: &str, code: &str) -> Result<()> {
    password::check_current(&core.db, user_id, password).await?;
    if repo::totp_secret(&core.db, user_id).await?.is_none() {
        return Err(Error::Invalid("two-factor authentication is off".into()));
    }
    use_code(core, user_id, code).await.map(|_| ())
}

/// `code` as an authenticator code (its digits, spaces left out), or `None` when it is
/// not one (then it may be a recovery code).
fn authenticator_code(code: &str) -> Option<String> {
    let compact: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    (compact.len() == totp::DIGITS && compact.bytes().all(|b| b.is_ascii_digit()))
        .then_some(compact)
}

/// Wrong authenticator codes in a row after which codes from the app are refused until a
/// recovery code is used: guessing six digits at the throttle's pace would otherwise go on
/// for ever (about 1,400 tries a day).
pub const MAX_TOTP_FAILURES: i64 = 100;

/// Accepts a TOTP code (each time step once) or an unused recovery code, and uses it up;
/// answers which of the two it was. After [`MAX_TOTP_FAILURES`] wrong codes in a row,
/// only a recovery code is taken (it resets the count). A refused code is a security
/// event.
pub async fn use_code(core: &Core, user_id: &str, code: &str) -> Result<Factor> {
    let refused = |factor, outcome| {
        audit::second_factor_refused(user_id, factor, outcome);
        Error::BadCode
    };
    let Some(stored) = repo::totp_secret(&core.db, user_id).await? else {
        return Err(Error::BadCode);
    };
    if let Some(compact) = authenticator_code(code) {
        if two_factor_repo::totp_failures(&core.db, user_id).await? >= MAX_TOTP_FAILURES {
            audit::second_factor_refused(user_id, Factor::AuthenticatorCode, Outcome::Locked);
            return Err(Error::Invalid(format!(
                "{MAX_TOTP_FAILURES} wrong codes in a row: sign in with one of your recovery codes"
            )));
        }
        // Opened only for a TOTP code: recovery codes work even when the secret does not
        // open (a server key lost or changed).
        let secret = totp::decode_secret(&open_secret(core, user_id, &stored)?)?;
        // One statement decides, so two parallel submits of the same code cannot both win.
        let (matched, accepted) = match totp::matching_step(&secret, &compact, now_secs()) {
            Some(step) => (
                true,
                repo::advance_totp_step(&core.db, user_id, step_i64(step)).await?,
            ),
            None => (false, false),
        };
        if accepted {
            two_factor_repo::reset_totp_failures(&core.db, user_id).await?;
            return Ok(Factor::AuthenticatorCode);
        }
        two_factor_repo::count_totp_failure(&core.db, user_id).await?;
        // A code of this time window (or the one before) that was used already.
        let outcome = if matched {
            Outcome::Replayed
        } else {
            Outcome::Refused
        };
        return Err(refused(Factor::AuthenticatorCode, outcome));
    }
    let normalized = normalize_recovery_code(code);
    if normalized.is_empty() {
        return Err(refused(Factor::RecoveryCode, Outcome::Refused));
    }
    if use_recovery_code(core, user_id, &normalized).await? {
        two_factor_repo::reset_totp_failures(&core.db, user_id).await?;
        tracing::info!(%user_id, "recovery code used");
        return Ok(Factor::RecoveryCode);
    }
    Err(refused(Factor::RecoveryCode, Outcome::Refused))
}

/// Uses up the recovery code `normalized` if it is one of the user's unused ones: a
/// 124-bit code by its SHA-256, else one of the older 50-bit codes, kept as Argon2id of
/// their SHA-256.
async fn use_recovery_code(core: &Core, user_id: &str, normalized: &str) -> Result<bool> {
    let sha = hash_code(normalized);
    let now = now_ms();
    if two_factor_repo::use_recovery_code(&core.db, user_id, ("sha256", &sha), now).await? {
        return Ok(true);
    }
    for phc in two_factor_repo::recovery_codes_of(&core.db, user_id, "argon2id").await? {
        if password::verify(sha.clone(), phc.clone()).await? {
            return two_factor_repo::use_recovery_code(&core.db, user_id, ("argon2id", &phc), now)
                .await;
        }
    }
    Ok(false)
}

/// Wraps the SHA-256 of each recovery code made before codes carried 124 bits (50-bit
/// codes, whose unsalted hashes could be searched through) in Argon2id with a salt; run
/// once per database at start-up.
pub async fn wrap_legacy_recovery_codes(db: &sqlx::AnyPool) -> Result<()> {
    let legacy = two_factor_repo::legacy_recovery_codes(db).await?;
    let n = legacy.len();
    for (user_id, sha) in legacy {
        let phc = password::hash(sha.clone()).await?;
        two_factor_repo::wrap_legacy_recovery_code(db, &user_id, &sha, &phc).await?;
    }
    if n > 0 {
        tracing::info!(codes = n, "older recovery codes are now kept as Argon2id");
    }
    Ok(())
}

/// The second step of a login: a valid code turns the pending login into a real one.
/// Wrong codes count against the pending login; after too many, or after five minutes,
/// the password step must be repeated.
pub async fn complete_login(
    core: &Core,
    pending: &mut PendingLogin,
    code: &str,
) -> Result<CurrentUser> {
    let (pathway, from) = (pending.pathway, pending.from);
    let user_id = pending.user_id.clone();
    let event = |factor, outcome| audit::sign_in(pathway, factor, outcome, Some(&user_id), from);
    // Which factor the code looks like, for the events that come before it is checked.
    let looks_like = if authenticator_code(code).is_some() {
        Factor::AuthenticatorCode
    } else {
        Factor::RecoveryCode
    };
    if now_ms() - pending.started_at > PENDING_TTL_MS || pending.attempts >= PENDING_MAX_ATTEMPTS {
        event(looks_like, Outcome::Expired);
        return Err(Error::Unauthenticated);
    }
    let key = [super::throttle::Key::account(&pending.user_id)];
    // Counted before the code is checked, so codes guessed in parallel all count.
    if let Err(e) = super::throttle::begin(&core.db, &key).await {
        if matches!(e, Error::Throttled { .. }) {
            event(looks_like, Outcome::Throttled);
        }
        return Err(e);
    }
    pending.attempts += 1;
    let factor = match use_code(core, &pending.user_id, code).await {
        Ok(factor) => factor,
        Err(e) => {
            if matches!(e, Error::BadCode) {
                crate::infra::metrics::count_auth_failure(
                    crate::infra::metrics::AuthFailure::SecondFactor,
                );
                event(looks_like, Outcome::Refused);
            } else {
                super::throttle::forgive(&core.db, &key).await?;
                if matches!(e, Error::Invalid(_)) {
                    event(looks_like, Outcome::Locked);
                }
            }
            return Err(e);
        }
    };
    super::throttle::forgive(&core.db, &key).await?;
    let user = repo::find_by_id(&core.db, &pending.user_id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    if repo::is_disabled(&core.db, &user.id).await? {
        event(factor, Outcome::Disabled);
        return Err(Error::AccountDisabled);
    }
    if let Some(token) = pending.sso_link.take() {
        super::sso::complete_link(core, &token, &user.id).await?;
    }
    let login_id = new_id();
    repo::insert_login(&core.db, &login_id, &user.id, now_ms()).await?;
    event(factor, Outcome::Success);
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

/// Recovery codes look like `k7m2q-9xwvt-3hpfa-u8dnr-wz4cs`: 25 characters from an
/// alphabet of 31 without look-alikes, 123.9 random bits (ASVS 6.5.2 asks 112 for a
/// secret kept as a fast hash).
fn new_recovery_codes() -> Vec<String> {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    (0..RECOVERY_CODES)
        .map(|_| {
            let s: Vec<char> = (0..RECOVERY_CODE_CHARS)
                .map(|_| RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())] as char)
                .collect();
            s.chunks(5)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// Characters of a recovery code (without its dashes).
pub const RECOVERY_CODE_CHARS: usize = 25;

/// Random bits a recovery code carries.
pub fn recovery_code_bits() -> f64 {
    RECOVERY_CODE_CHARS as f64 * (RECOVERY_ALPHABET.len() as f64).log2()
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
        pathway: Pathway::Web,
        from: None,
    }
}

/// [`pending_for`] by way of `pathway` from the client address `from` (for the security
/// event of the second step).
pub fn pending_via(user_id: &str, pathway: Pathway, from: IpAddr) -> PendingLogin {
    PendingLogin {
        pathway,
        from: Some(from),
        ..pending_for(user_id)
    }
}
