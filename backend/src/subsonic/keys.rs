//! Credentials for Subsonic apps, and how a `/rest` request proves who it is.
//!
//! - An **API key** (OpenSubsonic `apiKeyAuthentication`, `apiKey=`): 256 random bits
//!   shown once, stored as its SHA-256.
//! - An **app password** for legacy clients that only know `u` + `t` (md5 of password and
//!   salt) + `s`, or `p=`: Refrain generates it (the account password never works here),
//!   and stores it sealed with the server key, since checking a token needs the secret.
//!
//! Both are made, named and revoked by their user in Settings and work for accounts with
//! two-factor on (each is a credential of its own, made by a user who passed it). A
//! revoked key or a disabled account stops at once: every request reads the key and the
//! account. Ending an account's access deletes all its keys ([`delete_all_for_user`]): a
//! password reset, an admin disabling it, "log out everywhere", and a password change
//! unless its user keeps them. Failed attempts are throttled per client address only: a key
//! or app password carries over 110 random bits, so counting per account would protect
//! nothing and would let a stranger's failures keep the owner's apps out. Each made or
//! revoked key, each refused attempt and each first use after a while is a security event.

use super::repo;
use crate::auth::audit::{self, Factor, Outcome, Pathway};
use crate::auth::throttle;
use crate::infra::actor::{CurrentUser, Role};
use crate::infra::crypto::{random_token, sha256_hex};
use crate::{Core, Error, Result, new_id, now_ms};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The purpose sealed app passwords are bound to.
const SEAL_PURPOSE: &str = "subsonic-app-password";
/// Keys a user may hold (API keys and app passwords together).
pub const MAX_KEYS: i64 = 50;
/// Longest key name.
pub const MAX_NAME: usize = 80;
/// `last_used_at` is written at most this often per key.
const TOUCH_EVERY_MS: i64 = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyKind {
    ApiKey,
    AppPassword,
}

impl KeyKind {
    fn as_str(self) -> &'static str {
        match self {
            KeyKind::ApiKey => "api_key",
            KeyKind::AppPassword => "app_password",
        }
    }
    fn parse(s: &str) -> KeyKind {
        if s == "app_password" {
            KeyKind::AppPassword
        } else {
            KeyKind::ApiKey
        }
    }
}

/// A key as Settings lists it (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AppKey {
    pub id: String,
    pub name: String,
    pub kind: KeyKind,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A new key with its secret, shown to its user once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewAppKey {
    pub key: AppKey,
    pub secret: String,
}

/// How a `/rest` request says who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    ApiKey(String),
    /// `u` + `t` + `s`: `token` is md5(password + salt) in hex.
    Token {
        user: String,
        token: String,
        salt: String,
    },
    /// `u` + `p` (plain or `enc:` hex).
    Password {
        user: String,
        password: String,
    },
}

/// Why a request's credentials were refused, in the Subsonic error code's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("required parameter is missing: give apiKey, or u with t and s, or u with p")]
    Missing,
    #[error("multiple conflicting authentication mechanisms provided")]
    Conflicting,
    #[error(
        "wrong username or password (use an app password from Settings, not the account password)"
    )]
    WrongPassword,
    #[error("invalid API key")]
    InvalidApiKey,
    #[error("too many attempts; try again in {0} s")]
    Throttled(u64),
    #[error("this account is disabled")]
    Disabled,
}

impl Credentials {
    /// Reads the credential parameters of a request (`get` looks one up by name).
    pub fn from_params<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> std::result::Result<Credentials, AuthError> {
        let api_key = get("apiKey").filter(|s| !s.is_empty());
        let user = get("u").filter(|s| !s.is_empty());
        let (token, salt, password) = (get("t"), get("s"), get("p"));
        if let Some(k) = api_key {
            if user.is_some() || token.is_some() || password.is_some() {
                return Err(AuthError::Conflicting);
            }
            return Ok(Credentials::ApiKey(k.to_string()));
        }
        let user = user.ok_or(AuthError::Missing)?.to_string();
        match (token, salt, password) {
            (Some(_), _, Some(_)) => Err(AuthError::Conflicting),
            (Some(t), Some(s), None) if !t.is_empty() && !s.is_empty() => Ok(Credentials::Token {
                user,
                token: t.to_ascii_lowercase(),
                salt: s.to_string(),
            }),
            (None, _, Some(p)) => Ok(Credentials::Password {
                user,
                password: decode_password(p).ok_or(AuthError::WrongPassword)?,
            }),
            _ => Err(AuthError::Missing),
        }
    }
}

/// `p=` is the password, or `enc:` and its UTF-8 bytes in hex.
fn decode_password(p: &str) -> Option<String> {
    match p.strip_prefix("enc:") {
        Some(hex) => {
            if hex.len() % 2 != 0 {
                return None;
            }
            let bytes = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok())
                .collect::<Option<Vec<u8>>>()?;
            String::from_utf8(bytes).ok()
        }
        None => Some(p.to_string()),
    }
}

/// md5(password + salt) in lowercase hex, as Subsonic clients make their token.
pub fn subsonic_token(password: &str, salt: &str) -> String {
    let mut h = Md5::new();
    h.update(password.as_bytes());
    h.update(salt.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn check_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() {
        return Err(Error::Invalid(
            "give the key a name (the app it is for)".into(),
        ));
    }
    if n.chars().count() > MAX_NAME || n.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "a key's name is at most {MAX_NAME} characters of text"
        )));
    }
    Ok(n.to_string())
}

/// App passwords are 24 letters and digits without look-alikes, grouped by six with
/// dashes, so they can be typed on a phone.
fn new_app_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..4)
        .map(|_| {
            (0..6)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Makes an API key or an app password for `user`, who proves their current password
/// (a key opens the whole library to whoever holds it).
pub async fn create(
    core: &Core,
    user: &CurrentUser,
    name: &str,
    kind: KeyKind,
    password: &str,
) -> Result<NewAppKey> {
    let name = check_name(name)?;
    crate::auth::password::check_current(&core.db, &user.id, password).await?;
    let held = repo::count_keys(&core.db, &user.id).await?;
    if held >= MAX_KEYS {
        return Err(Error::Invalid(format!(
            "at most {MAX_KEYS} app keys: revoke one you no longer use"
        )));
    }
    let (secret, hash, sealed) = match kind {
        KeyKind::ApiKey => {
            let s = format!("rfk_{}", random_token());
            let h = sha256_hex(&s);
            (s, Some(h), None)
        }
        KeyKind::AppPassword => {
            let s = new_app_password();
            let sealed = core.secret_key.seal(SEAL_PURPOSE, s.as_bytes())?;
            (s, None, Some(sealed))
        }
    };
    let key = AppKey {
        id: new_id(),
        name,
        kind,
        created_at: now_ms(),
        last_used_at: None,
    };
    let row = repo::NewKey {
        id: &key.id,
        user_id: &user.id,
        name: &key.name,
        kind: kind.as_str(),
        key_hash: hash.as_deref(),
        sealed_secret: sealed.as_deref(),
        created_at: key.created_at,
    };
    repo::insert_key(&core.db, row).await?;
    audit::key_made(&user.id, audit_kind(kind), &key.id);
    Ok(NewAppKey { key, secret })
}

/// The user's keys, newest first.
pub async fn list(core: &Core, user: &CurrentUser) -> Result<Vec<AppKey>> {
    let rows = repo::keys_of(&core.db, &user.id).await?;
    Ok(rows
        .into_iter()
        .map(|r| AppKey {
            id: r.id,
            name: r.name,
            kind: KeyKind::parse(&r.kind),
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        })
        .collect())
}

/// Revokes one of the user's keys (another user's key is "not found").
pub async fn revoke(core: &Core, user: &CurrentUser, key_id: &str) -> Result<()> {
    let gone = repo::delete_key(&core.db, key_id, &user.id).await?;
    let Some(kind) = gone else {
        return Err(Error::NotFound("app key"));
    };
    audit::keys_revoked(
        &user.id,
        audit_kind(KeyKind::parse(&kind)),
        Some(key_id),
        1,
        "revoked by its owner",
    );
    Ok(())
}

fn audit_kind(kind: KeyKind) -> audit::KeyKind {
    match kind {
        KeyKind::ApiKey => audit::KeyKind::ApiKey,
        KeyKind::AppPassword => audit::KeyKind::AppPassword,
    }
}

/// Deletes every API key and app password of `user_id`, inside the caller's transaction;
/// returns how many. What ends an account's access (a password reset, an admin disabling
/// it, "log out everywhere", a password change that asks for it) calls this with the
/// logins' revocation: the keys are deleted, not hidden, so enabling the account again
/// revives none.
pub async fn delete_all_for_user<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<u64> {
    repo::delete_all_keys(db, user_id).await
}

/// Who a `/rest` request is, from its credentials; `from` is the client's address (for
/// throttling). The user's `login_id` is `app:<key id>`.
pub async fn authenticate(
    core: &Core,
    creds: &Credentials,
    from: IpAddr,
) -> std::result::Result<CurrentUser, AuthError> {
    let internal = |e: Error| {
        tracing::error!(error = %format!("{e:#}"), "subsonic authentication failed to run");
        AuthError::WrongPassword
    };
    let factor = match creds {
        Credentials::ApiKey(_) => Factor::ApiKey,
        Credentials::Token { .. } => Factor::AppToken,
        Credentials::Password { .. } => Factor::AppPassword,
    };
    let event = |outcome, user_id: Option<&str>| {
        audit::sign_in(Pathway::Subsonic, factor, outcome, user_id, Some(from));
    };
    // Per address only (see the module's notes): failures elsewhere never keep a key out.
    let keys = [throttle::Key::address(from)];
    match throttle::check(&core.db, &keys).await {
        Err(Error::Throttled { retry_after_secs }) => {
            event(Outcome::Throttled, None);
            return Err(AuthError::Throttled(retry_after_secs));
        }
        Err(e) => return Err(internal(e)),
        Ok(()) => {}
    }
    let found = match creds {
        Credentials::ApiKey(k) => repo::api_key_owner(&core.db, &sha256_hex(k))
            .await
            .map_err(internal)?,
        Credentials::Token { user, .. } | Credentials::Password { user, .. } => {
            let rows = repo::app_passwords_of(&core.db, &user.trim().to_lowercase())
                .await
                .map_err(internal)?;
            let mut hit = None;
            for (owner, sealed) in rows {
                let Ok(secret) = core.secret_key.open(SEAL_PURPOSE, &sealed) else {
                    tracing::warn!("an app password does not open with this server key");
                    continue;
                };
                let secret = String::from_utf8_lossy(&secret);
                let ok = match creds {
                    Credentials::Token { token, salt, .. } => crate::auth::totp::constant_time_eq(
                        subsonic_token(&secret, salt).as_bytes(),
                        token.as_bytes(),
                    ),
                    Credentials::Password { password, .. } => {
                        crate::auth::totp::constant_time_eq(secret.as_bytes(), password.as_bytes())
                    }
                    Credentials::ApiKey(_) => false,
                };
                if ok {
                    hit = Some(owner);
                    break;
                }
            }
            hit
        }
    };
    let Some(found) = found else {
        crate::infra::metrics::count_auth_failure(
            crate::infra::metrics::AuthFailure::AppCredentials,
        );
        event(Outcome::Refused, None);
        throttle::record_failure(&core.db, &keys)
            .await
            .map_err(internal)?;
        return Err(match creds {
            Credentials::ApiKey(_) => AuthError::InvalidApiKey,
            _ => AuthError::WrongPassword,
        });
    };
    if found.disabled {
        event(Outcome::Disabled, Some(&found.user_id));
        return Err(AuthError::Disabled);
    }
    let now = now_ms();
    if found.last_used_at.is_none_or(|t| now - t > TOUCH_EVERY_MS) {
        event(Outcome::Success, Some(&found.user_id));
        let _ = repo::touch_key(&core.db, &found.key_id, now).await;
    }
    Ok(CurrentUser {
        id: found.user_id,
        email: found.email,
        role: Role::parse(&found.role).unwrap_or(Role::Listener),
        login_id: format!("app:{}", found.key_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params<'a>(list: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> + 'a {
        move |k| list.iter().find(|(n, _)| *n == k).map(|(_, v)| *v)
    }

    #[test]
    fn reads_each_mechanism_and_refuses_mixtures() {
        assert_eq!(
            Credentials::from_params(params(&[("apiKey", "k")])),
            Ok(Credentials::ApiKey("k".into()))
        );
        assert_eq!(
            Credentials::from_params(params(&[("apiKey", "k"), ("u", "a@b.c")])),
            Err(AuthError::Conflicting)
        );
        assert_eq!(
            Credentials::from_params(params(&[("u", "a"), ("t", "AB"), ("s", "x")])),
            Ok(Credentials::Token {
                user: "a".into(),
                token: "ab".into(),
                salt: "x".into()
            })
        );
        assert_eq!(
            Credentials::from_params(params(&[("u", "a"), ("t", "ab"), ("s", "x"), ("p", "y")])),
            Err(AuthError::Conflicting)
        );
        assert_eq!(
            Credentials::from_params(params(&[("u", "a"), ("p", "enc:736563726574")])),
            Ok(Credentials::Password {
                user: "a".into(),
                password: "secret".into()
            })
        );
        assert_eq!(
            Credentials::from_params(params(&[("u", "a"), ("t", "ab")])),
            Err(AuthError::Missing)
        );
        assert_eq!(
            Credentials::from_params(params(&[])),
            Err(AuthError::Missing)
        );
        assert_eq!(
            Credentials::from_params(params(&[("u", "a"), ("p", "enc:7")])),
            Err(AuthError::WrongPassword)
        );
    }

    #[test]
    fn token_is_md5_of_password_and_salt() {
        // The example of the Subsonic API documentation.
        assert_eq!(
            subsonic_token("sesame", "c19b2d"),
            "26719a1196d2a940705a59634eb18eab"
        );
    }

    #[test]
    fn app_passwords_are_long_and_typeable() {
        let p = new_app_password();
        assert_eq!(p.len(), 27);
        assert!(
            p.split('-')
                .all(|g| g.len() == 6 && g.chars().all(|c| c.is_ascii_alphanumeric()))
        );
        assert_ne!(p, new_app_password());
    }
}
