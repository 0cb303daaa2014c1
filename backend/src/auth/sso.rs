//! Single sign-on with OpenID Connect: Google, or any issuer found by discovery.
//!
//! The authorization code flow with PKCE (S256), `state` (single use, stored hashed, ten
//! minutes; the web layer also binds it to the browser's session) and `nonce`. The ID
//! token's signature is checked against the issuer's published keys (asymmetric
//! algorithms only: a token signed with the client secret, or `none`, is refused) and its
//! claims (`iss`, `aud`, `azp`, `exp`, `iat`, `nonce`).
//!
//! An account is found by the issuer's subject. A first sign-in whose email belongs to an
//! account links to it only when the provider verified that email and the account's
//! password is given (or the admin turned auto-linking on and the account's own address
//! is verified too: anyone may sign up with an address they do not own, and wait for its
//! owner's sign-in); otherwise it makes a new listener account with no password of its
//! own. Accounts with two-factor on still give their code, unless the issuer says the
//! sign-in was multi-factor (`amr`) and the admin trusts that. A signed-in user may
//! connect more sign-ins from Settings.
//!
//! Each link records whether the provider verified its address and whether the account's
//! own address was verified then. Recovering the account (a password reset) or confirming
//! its address drops the sign-ins that were not vouched for that way
//! ([`drop_unvouched_identities`]), and the account's address is told which.

use super::service::{CurrentUser, LoginStep, Role};
use super::{password, repo, two_factor};
use crate::config::{EmailVerification, SsoProvider};
use crate::{Core, Error, Result, new_id, now_ms};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde::Deserialize;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

/// How long a started sign-in may take at the provider.
pub const FLOW_TTL_MS: i64 = 10 * 60 * 1000;
/// How long the "give your password to link" step stays open.
pub const LINK_TTL_MS: i64 = 15 * 60 * 1000;
/// Discovery documents are kept this long (a key the set lacks refetches the keys).
const CACHE_TTL: Duration = Duration::from_secs(3600);
/// The keys are fetched again for an unknown key id at most this often.
const KEYS_REFETCH: Duration = Duration::from_secs(60);
/// Largest discovery, key set or token answer read.
const MAX_ANSWER_BYTES: usize = 256 * 1024;
/// `amr` values that mean more than a password (RFC 8176).
const MULTI_FACTOR: [&str; 9] = [
    "mfa", "otp", "hwk", "swk", "sc", "fpt", "face", "iris", "pop",
];

/// What the issuer publishes at `/.well-known/openid-configuration` that we use.
#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

struct Issuer {
    discovery: Discovery,
    fetched: Instant,
    keys: RwLock<(Instant, JwkSet)>,
}

/// Discovery and keys per provider, fetched on first use and shared by every request.
#[derive(Default)]
pub struct SsoCache {
    issuers: RwLock<HashMap<String, Arc<Issuer>>>,
}

/// The ID token claims read.
#[derive(Debug, Clone, Deserialize)]
pub struct IdClaims {
    pub sub: String,
    pub aud: serde_json::Value,
    #[serde(default)]
    pub azp: Option<String>,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// A boolean, or (some issuers) the string "true".
    #[serde(default)]
    pub email_verified: Option<serde_json::Value>,
    #[serde(default)]
    pub amr: Option<Vec<String>>,
    #[serde(default)]
    pub name: Option<String>,
}

impl IdClaims {
    pub fn email_is_verified(&self) -> bool {
        match &self.email_verified {
            Some(serde_json::Value::Bool(b)) => *b,
            Some(serde_json::Value::String(s)) => s == "true",
            _ => false,
        }
    }

    /// Whether the issuer says the sign-in took more than a password.
    pub fn multi_factor(&self) -> bool {
        self.amr
            .as_ref()
            .is_some_and(|a| a.iter().any(|m| MULTI_FACTOR.contains(&m.as_str())))
    }
}

/// What coming back from the provider leads to.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Signed in, or (two-factor on, not vouched for by the issuer) waiting for a code.
    Login(LoginStep),
    /// An account with this verified email exists: its password links the two. The token
    /// names this pending link (single use, fifteen minutes).
    LinkNeeded { token: String },
    /// A signed-in user connected this sign-in to their account (from Settings).
    Linked { user_id: String, provider: String },
}

/// A started sign-in: where to send the browser, and the `state` it will come back with.
#[derive(Debug, Clone)]
pub struct Started {
    pub url: String,
    pub state: String,
}

/// A code redeemed at the provider's token endpoint (see [`redeem`]).
#[derive(Debug, Clone)]
pub struct Redeemed {
    pub provider: String,
    pub id_token: String,
    pub nonce: String,
    /// Set when a signed-in user started the sign-in to connect it to their account.
    pub link_user_id: Option<String>,
}

/// A pending link, as the link page shows it.
#[derive(Debug, Clone)]
pub struct PendingLink {
    pub email: String,
    pub provider_name: String,
}

/// One sign-in connected to an account, as Settings lists it.
#[derive(Debug, Clone)]
pub struct Identity {
    pub provider: String,
    pub provider_name: String,
    pub email: String,
    pub linked_at: i64,
}

fn random_b64(bytes: usize) -> String {
    use rand::RngCore;
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// The providers configured: (id, name).
pub fn providers(core: &Core) -> Vec<(String, String)> {
    core.config
        .sso
        .iter()
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect()
}

fn provider<'a>(core: &'a Core, id: &str) -> Result<&'a SsoProvider> {
    core.config
        .sso
        .iter()
        .find(|p| p.id == id)
        .ok_or(Error::NotFound("sign-in provider"))
}

fn provider_name(core: &Core, id: &str) -> String {
    provider(core, id).map_or_else(|_| id.to_string(), |p| p.name.clone())
}

/// A linked sign-in as read from `user_identities` (`provider`, `email`, `created_at`).
fn identity_of(core: &Core, r: &sqlx::any::AnyRow) -> Identity {
    let provider: String = r.get("provider");
    Identity {
        provider_name: provider_name(core, &provider),
        provider,
        email: r.get("email"),
        linked_at: r.get("created_at"),
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// Reads a JSON answer of bounded size.
async fn json<T: serde::de::DeserializeOwned>(r: reqwest::Response) -> anyhow::Result<T> {
    let r = r.error_for_status()?;
    if r.content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
    {
        anyhow::bail!("answer too large");
    }
    let body = r.bytes().await?;
    if body.len() > MAX_ANSWER_BYTES {
        anyhow::bail!("answer too large");
    }
    Ok(serde_json::from_slice(&body)?)
}

/// The provider is not answering (what went wrong is logged, not shown).
fn unavailable() -> Error {
    Error::Unavailable {
        what: "the sign-in provider",
        retry_after_secs: 30,
    }
}

async fn issuer(core: &Core, p: &SsoProvider) -> Result<Arc<Issuer>> {
    if let Some(i) = core.sso.issuers.read().await.get(&p.id)
        && i.fetched.elapsed() < CACHE_TTL
    {
        return Ok(i.clone());
    }
    let url = format!("{}/.well-known/openid-configuration", p.issuer);
    let d: Discovery = match http().get(&url).send().await {
        Ok(r) => json(r).await,
        Err(e) => Err(e.into()),
    }
    .map_err(|e| {
        tracing::warn!(provider = %p.id, error = %e, "OpenID discovery failed");
        unavailable()
    })?;
    // The document must name the issuer it was fetched for (OpenID Connect Discovery 4.3).
    if d.issuer.trim_end_matches('/') != p.issuer {
        tracing::warn!(provider = %p.id, named = %d.issuer, "discovery names another issuer");
        return Err(unavailable());
    }
    let keys = fetch_keys(&d.jwks_uri).await.map_err(|e| {
        tracing::warn!(provider = %p.id, error = %e, "OpenID keys could not be fetched");
        unavailable()
    })?;
    let i = Arc::new(Issuer {
        discovery: d,
        fetched: Instant::now(),
        keys: RwLock::new((Instant::now(), keys)),
    });
    core.sso
        .issuers
        .write()
        .await
        .insert(p.id.clone(), i.clone());
    Ok(i)
}

async fn fetch_keys(uri: &str) -> anyhow::Result<JwkSet> {
    json(http().get(uri).send().await?).await
}

/// Starts a sign-in at `provider_id`: the provider's authorization URL. `redirect_uri` is
/// `<public URL>/sso/callback`; `link_user_id` names the signed-in user connecting
/// this sign-in to their account.
pub async fn begin(
    core: &Core,
    provider_id: &str,
    redirect_uri: &str,
    link_user_id: Option<&str>,
) -> Result<Started> {
    let p = provider(core, provider_id)?;
    let i = issuer(core, p).await?;
    let state = random_b64(32);
    let nonce = random_b64(32);
    let verifier = random_b64(32);
    let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        verifier.as_bytes(),
    ));
    let now = now_ms();
    // Sign-ins abandoned at the provider go with the next one started.
    sqlx::query("DELETE FROM sso_flows WHERE created_at < $1")
        .bind(now - FLOW_TTL_MS)
        .execute(&core.db)
        .await?;
    sqlx::query(
        "INSERT INTO sso_flows (state_hash, provider, nonce, verifier, redirect_uri, link_user_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(password::sha256_hex(&state))
    .bind(&p.id)
    .bind(&nonce)
    .bind(&verifier)
    .bind(redirect_uri)
    .bind(link_user_id)
    .bind(now)
    .execute(&core.db)
    .await?;
    let mut url = url::Url::parse(&i.discovery.authorization_endpoint)
        .map_err(|e| anyhow::anyhow!("{} authorization endpoint: {e}", p.name))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &p.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", &p.scopes.join(" "))
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    Ok(Started {
        url: url.into(),
        state,
    })
}

/// Verifies an ID token from `provider_id`: its signature with the issuer's published keys
/// (one refetch for a key id the set lacks), an asymmetric algorithm, `iss`, `aud` (and
/// `azp` when there are several audiences), `exp`, `iat` and `nonce`.
pub async fn verify_id_token(
    core: &Core,
    provider_id: &str,
    token: &str,
    nonce: &str,
) -> Result<IdClaims> {
    let p = provider(core, provider_id)?;
    let refused = |why: &str| {
        crate::ops::count_auth_failure(crate::ops::AuthFailure::SingleSignOn);
        tracing::warn!(provider = %p.id, reason = %why, "ID token refused");
        Error::Invalid(format!("{} sign-in refused: {why}", p.name))
    };
    let header = jsonwebtoken::decode_header(token).map_err(|_| refused("not a token"))?;
    let alg = header.alg;
    if !matches!(
        alg,
        Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512
            | Algorithm::ES256
            | Algorithm::ES384
            | Algorithm::EdDSA
    ) {
        return Err(refused("the token is not signed with the issuer's keys"));
    }
    let i = issuer(core, p).await?;
    let find = |set: &JwkSet| match &header.kid {
        Some(kid) => set.find(kid).cloned(),
        None if set.keys.len() == 1 => set.keys.first().cloned(),
        None => None,
    };
    let mut jwk = find(&i.keys.read().await.1);
    if jwk.is_none() {
        // The issuer may have rotated its keys: fetch once more, at most every minute.
        let mut keys = i.keys.write().await;
        if keys.0.elapsed() > KEYS_REFETCH
            && let Ok(set) = fetch_keys(&i.discovery.jwks_uri).await
        {
            *keys = (Instant::now(), set);
        }
        jwk = find(&keys.1);
    }
    let jwk = jwk.ok_or_else(|| refused("signed with a key the issuer does not publish"))?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| refused("an unusable key"))?;
    let mut v = Validation::new(alg);
    v.set_issuer(&[i.discovery.issuer.as_str()]);
    v.set_audience(&[p.client_id.as_str()]);
    v.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    v.leeway = 60;
    let claims = jsonwebtoken::decode::<IdClaims>(token, &key, &v)
        .map_err(|e| refused(&e.to_string()))?
        .claims;
    if claims.nonce.as_deref() != Some(nonce) {
        return Err(refused("the token was not issued for this sign-in"));
    }
    if claims.aud.as_array().is_some_and(|a| a.len() > 1)
        && claims.azp.as_deref() != Some(p.client_id.as_str())
    {
        return Err(refused("the token was issued to another party"));
    }
    if claims.sub.is_empty() || claims.sub.len() > 255 {
        return Err(refused("no usable subject"));
    }
    Ok(claims)
}

fn stale() -> Error {
    Error::Invalid("this sign-in was already used or took too long; start again".into())
}

/// Takes the flow `state` names (once: a second use finds nothing) and redeems `code` for
/// the provider's ID token, unverified (see [`verify_id_token`]).
pub async fn redeem(core: &Core, state: &str, code: &str) -> Result<Redeemed> {
    if state.len() > 256 || code.len() > 4096 {
        return Err(stale());
    }
    let row = sqlx::query(
        "DELETE FROM sso_flows WHERE state_hash = $1
         RETURNING provider, nonce, verifier, redirect_uri, link_user_id, created_at",
    )
    .bind(password::sha256_hex(state))
    .fetch_optional(&core.db)
    .await?
    .ok_or_else(stale)?;
    if now_ms() - row.get::<i64, _>("created_at") > FLOW_TTL_MS {
        return Err(stale());
    }
    let provider_id: String = row.get("provider");
    let p = provider(core, &provider_id)?;
    let i = issuer(core, p).await?;
    let verifier: String = row.get("verifier");
    let redirect_uri: String = row.get("redirect_uri");
    #[derive(Deserialize)]
    struct TokenAnswer {
        id_token: String,
    }
    let sent = http()
        .post(&i.discovery.token_endpoint)
        .basic_auth(
            url::form_urlencoded::byte_serialize(p.client_id.as_bytes()).collect::<String>(),
            Some(
                url::form_urlencoded::byte_serialize(p.client_secret.0.as_bytes())
                    .collect::<String>(),
            ),
        )
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await;
    let answer: TokenAnswer = match sent {
        Ok(r) => json(r).await,
        Err(e) => Err(e.into()),
    }
    .map_err(|e| {
        tracing::warn!(provider = %p.id, error = %e, "code redemption failed");
        Error::Invalid(format!(
            "{} did not accept this sign-in; start again",
            p.name
        ))
    })?;
    Ok(Redeemed {
        provider: provider_id,
        id_token: answer.id_token,
        nonce: row.get("nonce"),
        link_user_id: row.get("link_user_id"),
    })
}

/// Finishes a sign-in the provider sent back with `code` and `state`.
pub async fn finish(core: &Core, state: &str, code: &str) -> Result<Outcome> {
    let r = redeem(core, state, code).await?;
    let claims = verify_id_token(core, &r.provider, &r.id_token, &r.nonce).await?;
    let p = provider(core, &r.provider)?;
    match r.link_user_id {
        Some(user_id) => connect(core, p, &claims, &user_id).await,
        None => sign_in(core, p, &claims).await,
    }
}

async fn linked_user(core: &Core, provider: &str, subject: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT user_id FROM user_identities WHERE provider = $1 AND subject = $2",
    )
    .bind(provider)
    .bind(subject)
    .fetch_optional(&core.db)
    .await?)
}

fn claimed_email(p: &SsoProvider, claims: &IdClaims) -> Result<String> {
    let email = claims
        .email
        .as_deref()
        .ok_or_else(|| Error::Invalid(format!("{} did not share an email address", p.name)))?;
    super::service::normalize_email(email)
}

/// Connects a sign-in to the signed-in user who started it.
async fn connect(
    core: &Core,
    p: &SsoProvider,
    claims: &IdClaims,
    user_id: &str,
) -> Result<Outcome> {
    match linked_user(core, &p.id, &claims.sub).await? {
        Some(owner) if owner == user_id => {}
        Some(_) => {
            return Err(Error::Invalid(format!(
                "this {} account already signs in to another Refrain account",
                p.name
            )));
        }
        None => {
            let email = claims
                .email
                .as_deref()
                .map(str::to_lowercase)
                .unwrap_or_default();
            let vouched = Vouched {
                email: !email.is_empty() && claims.email_is_verified(),
                account: repo::email_verified(&core.db, user_id).await?,
            };
            insert_identity(&core.db, &p.id, &claims.sub, user_id, &email, vouched).await?;
            tracing::info!(user_id = %user_id, provider = %p.id, "sign-in connected");
        }
    }
    Ok(Outcome::Linked {
        user_id: user_id.to_string(),
        provider: p.name.clone(),
    })
}

/// The account behind verified `claims`: linked before, linked now, or made now.
async fn sign_in(core: &Core, p: &SsoProvider, claims: &IdClaims) -> Result<Outcome> {
    if let Some(user_id) = linked_user(core, &p.id, &claims.sub).await? {
        return Ok(Outcome::Login(login_as(core, &user_id, claims).await?));
    }
    let email = claimed_email(p, claims)?;
    if let Some(user) = repo::find_by_email(&core.db, &email).await? {
        if !claims.email_is_verified() {
            return Err(Error::Invalid(format!(
                "an account with {email} exists, but {} has not verified that address, so the two cannot be linked; log in with your password",
                p.name
            )));
        }
        // Auto-linking needs the account's own address verified as well: an account
        // made with somebody else's address (never confirmed) must not receive their
        // sign-in. Such an account is linked only by its password, as without
        // auto-linking (its owner can prove the address with a reset link).
        if core.config.sso_auto_link && repo::email_verified(&core.db, &user.id).await? {
            let vouched = Vouched {
                email: true,
                account: true,
            };
            insert_identity(&core.db, &p.id, &claims.sub, &user.id, &email, vouched).await?;
            tracing::info!(user_id = %user.id, provider = %p.id, "sign-in linked by email");
            return Ok(Outcome::Login(login_as(core, &user.id, claims).await?));
        }
        let token = random_b64(32);
        let now = now_ms();
        sqlx::query("DELETE FROM sso_links WHERE created_at < $1")
            .bind(now - LINK_TTL_MS)
            .execute(&core.db)
            .await?;
        sqlx::query(
            "INSERT INTO sso_links (token_hash, provider, subject, user_id, email, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(password::sha256_hex(&token))
        .bind(&p.id)
        .bind(&claims.sub)
        .bind(&user.id)
        .bind(&email)
        .bind(now)
        .execute(&core.db)
        .await?;
        return Ok(Outcome::LinkNeeded { token });
    }
    let verified = claims.email_is_verified();
    if !verified && core.config.email_verification == EmailVerification::Required {
        return Err(Error::Invalid(format!(
            "{} has not verified {email}; verify it there, or sign up with a password",
            p.name
        )));
    }
    // A new listener with no password of its own: an argon2 hash of a secret nobody
    // keeps (a reset link sets a real one), so the password login fails as for any wrong
    // password, in the same time.
    let unusable = password::hash(password::random_token()).await?;
    let id = new_id();
    let now = now_ms();
    let mut tx = crate::db::begin(&core.db).await?;
    let role = super::service::insert_account(&mut tx, core, &id, &email, &unusable, now).await?;
    let display_name =
        claims.name.as_deref().map(str::trim).filter(|n| {
            !n.is_empty() && n.chars().count() <= 80 && !n.chars().any(char::is_control)
        });
    sqlx::query(
        "UPDATE users SET password_set_at = NULL, email_verified_at = $2, display_name = $3
         WHERE id = $1",
    )
    .bind(&id)
    .bind(verified.then_some(now))
    .bind(display_name)
    .execute(&mut *tx)
    .await?;
    let vouched = Vouched {
        email: verified,
        account: verified,
    };
    insert_identity(&mut *tx, &p.id, &claims.sub, &id, &email, vouched).await?;
    if !verified {
        super::email::send_verification(&mut tx, core, &id, &email).await?;
    }
    super::notices::record_registered(&mut tx, &id).await?;
    tx.commit().await?;
    core.events.wake();
    tracing::info!(user_id = %id, role = %role, provider = %p.id, "account created by single sign-on");
    Ok(Outcome::Login(login_as(core, &id, claims).await?))
}

/// What vouched for a link when it was made.
#[derive(Debug, Clone, Copy)]
struct Vouched {
    /// The provider verified the address the sign-in came with.
    email: bool,
    /// The account's own address was verified.
    account: bool,
}

async fn insert_identity<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    db: E,
    provider: &str,
    subject: &str,
    user_id: &str,
    email: &str,
    vouched: Vouched,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO user_identities
           (provider, subject, user_id, email, created_at, email_verified, account_verified)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(provider)
    .bind(subject)
    .bind(user_id)
    .bind(email)
    .bind(now_ms())
    .bind(i64::from(vouched.email))
    .bind(i64::from(vouched.account))
    .execute(db)
    .await?;
    Ok(())
}

/// After the owner of `user_id`'s address proved it (a password reset, a confirmed
/// address; also the command line's reset), inside that transaction: drops the sign-ins
/// nobody vouched for when they were linked, which someone else may have linked before:
/// those whose address the provider had not verified, and those linked to another
/// address while the account's own was not yet verified. The account's address is told
/// which went (provider and address), through the outbox like every email. Returns them.
pub(crate) async fn drop_unvouched_identities(
    conn: &mut AnyConnection,
    core: &Core,
    user_id: &str,
) -> Result<Vec<Identity>> {
    let Some(account_email) =
        sqlx::query_scalar::<_, String>("SELECT email FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?
    else {
        return Ok(Vec::new());
    };
    let rows = sqlx::query(
        "DELETE FROM user_identities
         WHERE user_id = $1
           AND (email_verified = 0 OR (account_verified = 0 AND email <> $2))
         RETURNING provider, email, created_at",
    )
    .bind(user_id)
    .bind(&account_email)
    .fetch_all(&mut *conn)
    .await?;
    let mut dropped: Vec<Identity> = rows.iter().map(|r| identity_of(core, r)).collect();
    if dropped.is_empty() {
        return Ok(dropped);
    }
    dropped.sort_by(|a, b| (a.linked_at, &a.provider).cmp(&(b.linked_at, &b.provider)));
    let list = dropped
        .iter()
        .map(|i| {
            let address = if i.email.is_empty() {
                "no address given".to_string()
            } else {
                i.email.clone()
            };
            format!("  - {} ({address})", i.provider_name)
        })
        .collect::<Vec<_>>()
        .join("\n");
    let base = core.config.public_url();
    super::email::queue(
        conn,
        user_id,
        &account_email,
        "Sign-ins removed from your Refrain account".into(),
        format!(
            "The password of your Refrain account was reset, or its address confirmed, so \
             these sign-ins were disconnected from it: they were connected from an address \
             nobody had verified, and may not be yours:\n\n\
             {list}\n\nIf one is yours, sign in and connect it again in Settings \
             ({base}/settings). An account without a password of its own gets one with \
             Forgot your password? on the login page.\n"
        ),
    )
    .await?;
    tracing::info!(%user_id, dropped = dropped.len(), "unverified sign-ins disconnected");
    Ok(dropped)
}

/// Opens a login for `user_id`, or asks for its second factor.
async fn login_as(core: &Core, user_id: &str, claims: &IdClaims) -> Result<LoginStep> {
    if repo::is_disabled(&core.db, user_id).await? {
        return Err(Error::AccountDisabled);
    }
    if core.config.email_verification == EmailVerification::Required
        && !repo::email_verified(&core.db, user_id).await?
    {
        return Err(Error::EmailNotVerified);
    }
    let trusted_mfa = core.config.sso_trust_mfa && claims.multi_factor();
    if !trusted_mfa && repo::totp_secret(&core.db, user_id).await?.is_some() {
        return Ok(LoginStep::NeedsCode(two_factor::pending_for(user_id)));
    }
    let user = repo::find_by_id(&core.db, user_id)
        .await?
        .ok_or(Error::NotFound("account"))?;
    let login_id = new_id();
    repo::insert_login(&core.db, &login_id, user_id, now_ms()).await?;
    Ok(LoginStep::Done(CurrentUser {
        id: user.id,
        email: user.email,
        role: Role::parse(&user.role)?,
        login_id,
    }))
}

fn link_expired() -> Error {
    Error::Invalid("this link step has expired; sign in again".into())
}

/// The pending link `token` names (for the page that asks for the password).
pub async fn pending_link(core: &Core, token: &str) -> Result<PendingLink> {
    let row =
        sqlx::query("SELECT provider, email, created_at FROM sso_links WHERE token_hash = $1")
            .bind(password::sha256_hex(token))
            .fetch_optional(&core.db)
            .await?
            .ok_or_else(link_expired)?;
    if now_ms() - row.get::<i64, _>("created_at") > LINK_TTL_MS {
        return Err(link_expired());
    }
    Ok(PendingLink {
        email: row.get("email"),
        provider_name: provider_name(core, &row.get::<String, _>("provider")),
    })
}

/// The link step: the existing account's password (checked and throttled as the web
/// login's) links the pending sign-in and signs in. With two-factor on, the link waits in
/// the pending login until its code is given.
pub async fn link_with_password(
    core: &Core,
    token: &str,
    password_given: &str,
    from: std::net::IpAddr,
) -> Result<LoginStep> {
    let link = pending_link(core, token).await?;
    match super::service::login(core, &link.email, password_given, from).await? {
        LoginStep::Done(user) => {
            if let Err(e) = complete_link(core, token, &user.id).await {
                super::service::logout(core, &user.login_id).await?;
                return Err(e);
            }
            Ok(LoginStep::Done(user))
        }
        LoginStep::NeedsCode(mut pending) => {
            pending.sso_link = Some(token.to_string());
            Ok(LoginStep::NeedsCode(pending))
        }
    }
}

/// Links the pending sign-in `token` names to `user_id` (its account), once.
pub(crate) async fn complete_link(core: &Core, token: &str, user_id: &str) -> Result<()> {
    let row = sqlx::query(
        "DELETE FROM sso_links WHERE token_hash = $1 AND user_id = $2
         RETURNING provider, subject, email, created_at",
    )
    .bind(password::sha256_hex(token))
    .bind(user_id)
    .fetch_optional(&core.db)
    .await?
    .ok_or_else(link_expired)?;
    if now_ms() - row.get::<i64, _>("created_at") > LINK_TTL_MS {
        return Err(link_expired());
    }
    let provider: String = row.get("provider");
    let subject: String = row.get("subject");
    match linked_user(core, &provider, &subject).await? {
        Some(owner) if owner == user_id => {}
        Some(_) => {
            return Err(Error::Invalid(
                "this sign-in is linked to another account".into(),
            ));
        }
        None => {
            // A pending link exists only for an address the provider verified (see
            // `sign_in`), the account's own.
            let vouched = Vouched {
                email: true,
                account: repo::email_verified(&core.db, user_id).await?,
            };
            insert_identity(
                &core.db,
                &provider,
                &subject,
                user_id,
                &row.get::<String, _>("email"),
                vouched,
            )
            .await?;
        }
    }
    tracing::info!(user_id = %user_id, provider = %provider, "sign-in linked by password");
    Ok(())
}

/// The sign-ins connected to `user`'s account, and whether it has a password of its own.
pub async fn identities(core: &Core, user: &CurrentUser) -> Result<(Vec<Identity>, bool)> {
    let rows = sqlx::query(
        "SELECT provider, email, created_at FROM user_identities WHERE user_id = $1
         ORDER BY created_at",
    )
    .bind(&user.id)
    .fetch_all(&core.db)
    .await?;
    let list = rows.iter().map(|r| identity_of(core, r)).collect();
    Ok((list, has_password(core, &user.id).await?))
}

async fn has_password(core: &Core, user_id: &str) -> Result<bool> {
    let set: Option<Option<i64>> =
        sqlx::query_scalar("SELECT password_set_at FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&core.db)
            .await?;
    Ok(matches!(set, Some(Some(_))))
}

/// Disconnects `provider` from `user`'s account; the last way to sign in stays until a
/// password is set.
pub async fn unlink(core: &Core, user: &CurrentUser, provider: &str) -> Result<()> {
    let (list, password) = identities(core, user).await?;
    if !list.iter().any(|i| i.provider == provider) {
        return Err(Error::NotFound("linked sign-in"));
    }
    if !password && list.len() == 1 {
        return Err(Error::Invalid(
            "this is how you sign in: set a password first (Forgot your password? on the login page sends a link)"
                .into(),
        ));
    }
    sqlx::query("DELETE FROM user_identities WHERE user_id = $1 AND provider = $2")
        .bind(&user.id)
        .bind(provider)
        .execute(&core.db)
        .await?;
    tracing::info!(user_id = %user.id, provider = %provider, "sign-in disconnected");
    Ok(())
}
