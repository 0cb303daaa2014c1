//! Tokens for non-browser clients: a 15-minute Ed25519 JWT access token and an opaque,
//! rotating 30-day refresh token.
//!
//! Each token login is a row in `logins` (so it shows in the sessions list, and logout
//! elsewhere, a password change, a reset or an admin disabling the account end it) and a
//! refresh-token family. Every refresh uses its token up and issues the next; presenting a
//! used token again means it was stolen or replayed, and the whole family is revoked.
//! Access tokens are checked against the live login on every request, so they too stop
//! the moment the login ends.

use super::repo::refresh as refresh_repo;
use super::service::LoginStep;
use super::{password, repo, two_factor};
use crate::infra::actor::CurrentUser;
use crate::keys::{Keyring, TokenError};
use crate::{Core, Error, Result, new_id, now_ms};
use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

pub use crate::config::ACCESS_TTL_SECS;
pub const REFRESH_TTL_SECS: u64 = 30 * 24 * 3600;
/// Access tokens are for other machines, whose clocks may differ a little: a minute of
/// leeway on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: u64 = 60;
pub const API_AUDIENCE: &str = "refrain-api";
/// The JOSE header `typ` of an access token (RFC 9068).
pub const ACCESS_TYP: &str = "at+jwt";
const ISSUER: &str = "refrain";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// User id.
    pub sub: String,
    pub exp: u64,
    pub nbf: u64,
    pub iat: u64,
    pub jti: String,
    /// The login (token family) the token belongs to.
    pub sid: String,
}

/// What the token endpoint answers (RFC 6749 section 5.1).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenPair {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub refresh_token: String,
    pub refresh_expires_in: u64,
}

/// The password grant: email and password, plus a code (TOTP or recovery) when two-factor
/// is on. Throttled exactly like the login form.
pub async fn issue_with_password(
    core: &Core,
    email: &str,
    password: &str,
    code: Option<&str>,
    from: IpAddr,
    user_agent: Option<&str>,
) -> Result<TokenPair> {
    let user = match super::login_via(
        core,
        super::audit::Pathway::Api,
        email,
        password,
        from,
        None,
    )
    .await?
    {
        LoginStep::Done(user) => user,
        LoginStep::NeedsCode(mut pending) => {
            let Some(code) = code.filter(|c| !c.trim().is_empty()) else {
                return Err(Error::SecondFactorRequired);
            };
            two_factor::complete_login(core, &mut pending, code).await?
        }
    };
    super::logins::describe(core, &user.login_id, user_agent, Some(from)).await?;
    let refresh = password::random_token();
    let now = now_ms();
    insert_refresh(&core.db, &refresh, &user, now).await?;
    super::audit::key_made(&user.id, super::audit::KeyKind::ApiToken, &user.login_id);
    pair(core, &user, refresh).await
}

/// The refresh grant: uses `refresh_token` up and issues a new pair in the same family.
/// A token presented a second time revokes the family.
pub async fn refresh(core: &Core, refresh_token: &str) -> Result<TokenPair> {
    let hash = password::sha256_hex(refresh_token.trim());
    let now = now_ms();
    let Some((login_id, user_id)) = refresh_repo::live(&core.db, &hash, now).await? else {
        return Err(replayed(core, &hash, now).await);
    };
    // The login must still be live: not logged out, disabled or timed out. (Checked
    // before the transaction: it records the use of the login, a write of its own.)
    let user = match super::user_for_login(core, &login_id).await? {
        Some(u) if u.id == user_id => u,
        _ => return Err(Error::Unauthenticated),
    };
    let next = password::random_token();
    let mut tx = crate::db::begin(&core.db).await?;
    if !refresh_repo::use_up(&mut *tx, &hash, now).await? {
        // A parallel refresh with the same token won: this one is a replay.
        tx.rollback().await?;
        return Err(replayed(core, &hash, now).await);
    }
    insert_refresh(&mut *tx, &next, &user, now).await?;
    tx.commit().await?;
    pair(core, &user, next).await
}

/// A refresh token that is not live: if it was used before, this is a replay and its
/// family is revoked. Always `Unauthenticated` unless the database fails.
async fn replayed(core: &Core, hash: &str, now: i64) -> Error {
    let revoke = async {
        if let Some(family) = refresh_repo::family_of(&core.db, hash, true).await? {
            revoke_family(&core.db, &family, now).await?;
            let user_id = refresh_repo::user_of_family(&core.db, &family).await?;
            super::audit::sign_in(
                super::audit::Pathway::Api,
                super::audit::Factor::RefreshToken,
                super::audit::Outcome::Replayed,
                user_id.as_deref(),
                None,
            );
            tracing::warn!(login_id = %family, "refresh token presented twice; family revoked");
        }
        Ok::<(), Error>(())
    };
    match revoke.await {
        Ok(()) => Error::Unauthenticated,
        Err(e) => e,
    }
}

/// Ends the login `refresh_token` belongs to (RFC 7009 revocation). Unknown tokens are
/// not an error: the answer must not tell whether a token existed.
pub async fn revoke(core: &Core, refresh_token: &str) -> Result<()> {
    let hash = password::sha256_hex(refresh_token.trim());
    if let Some(family) = refresh_repo::family_of(&core.db, &hash, false).await? {
        revoke_family(&core.db, &family, now_ms()).await?;
    }
    Ok(())
}

/// The user an access token speaks for, if the token is valid and its login still live.
pub async fn user_for_access_token(core: &Core, token: &str) -> Result<Option<CurrentUser>> {
    let claims = match verify_access(&core.keys.api, token).await? {
        Ok(c) => c,
        Err(TokenError::Expired | TokenError::Invalid) => return Ok(None),
    };
    Ok(super::user_for_login(core, &claims.sid)
        .await?
        .filter(|u| u.id == claims.sub))
}

/// Signs an access token for `user` (its login is the token's `sid`).
pub async fn sign_access(ring: &Keyring, user: &CurrentUser) -> Result<String> {
    let now = crate::playback::token::unix_now();
    sign_claims(
        ring,
        &AccessClaims {
            iss: ISSUER.into(),
            aud: API_AUDIENCE.into(),
            sub: user.id.clone(),
            exp: now + ACCESS_TTL_SECS,
            nbf: now,
            iat: now,
            jti: new_id(),
            sid: user.login_id.clone(),
        },
    )
    .await
}

/// Signs arbitrary access claims (tests forge expired or future tokens with it).
pub async fn sign_claims(ring: &Keyring, claims: &AccessClaims) -> Result<String> {
    ring.sign(ACCESS_TYP, claims).await
}

/// Checks an access token: EdDSA with a key of the API ring named by `kid`, `typ`
/// `at+jwt`, issuer, audience, `exp`, `nbf`, `iat` (not in the future) and a `jti`.
pub async fn verify_access(
    ring: &Keyring,
    token: &str,
) -> Result<std::result::Result<AccessClaims, TokenError>> {
    let mut v = Validation::new(Algorithm::EdDSA);
    v.set_audience(&[API_AUDIENCE]);
    v.set_issuer(&[ISSUER]);
    v.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
    v.validate_nbf = true;
    v.leeway = LEEWAY_SECS;
    let claims = match ring.verify::<AccessClaims>(token, ACCESS_TYP, &v).await? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let now = crate::playback::token::unix_now();
    if claims.iat > now + LEEWAY_SECS || claims.jti.trim().is_empty() || claims.sid.is_empty() {
        return Ok(Err(TokenError::Invalid));
    }
    Ok(Ok(claims))
}

async fn pair(core: &Core, user: &CurrentUser, refresh_token: String) -> Result<TokenPair> {
    Ok(TokenPair {
        access_token: sign_access(&core.keys.api, user).await?,
        token_type: "Bearer".into(),
        expires_in: ACCESS_TTL_SECS,
        refresh_token,
        refresh_expires_in: REFRESH_TTL_SECS,
    })
}

async fn insert_refresh<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    db: E,
    token: &str,
    user: &CurrentUser,
    now: i64,
) -> Result<()> {
    let ttl_ms = i64::try_from(REFRESH_TTL_SECS * 1000).unwrap_or(i64::MAX);
    let hash = password::sha256_hex(token);
    refresh_repo::insert(db, &hash, &user.login_id, &user.id, now, now + ttl_ms).await
}

/// Revokes every token of a family and ends its login.
async fn revoke_family(db: &crate::db::Db, login_id: &str, now: i64) -> Result<()> {
    let mut tx = crate::db::begin(db).await?;
    refresh_repo::revoke_family(&mut *tx, login_id, now).await?;
    repo::revoke_login(&mut *tx, login_id, now).await?;
    tx.commit().await?;
    Ok(())
}
