//! Single sign-on with OpenID Connect: Google, or any issuer found by discovery.
//!
//! The protocol is the `openidconnect` crate's: discovery, the authorization code flow
//! with PKCE (S256), `state` (single use, stored hashed, ten minutes; the web layer also
//! binds it to the browser's session) and `nonce`, the code redeemed at the token endpoint
//! (client secret sent as HTTP Basic), and the ID token's checks: its signature against
//! the issuer's published keys (asymmetric algorithms only: a token signed with the client
//! secret, or `none`, is refused) and its claims (`iss`, `aud`, `exp`, `iat`, `nonce`).
//! Around it, this module keeps what the crate leaves to its caller: discovery and keys
//! cached per provider (an unknown key id refetches the keys, at most once a minute), the
//! flows in the database, `azp`, the subject's length, and every HTTP call on our own
//! client (no redirects, ten seconds, answers of bounded size).
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

use super::audit::{self, Factor, Outcome as AuditOutcome, Pathway};
pub use super::identities::Identity;
use super::identities::{identity_of, provider, provider_name};
use super::repo::sso::{self as sso_repo, Vouched};
use super::service::LoginStep;
use super::{password, repo, two_factor};
use crate::config::{EmailVerification, SsoProvider};
use crate::infra::actor::{CurrentUser, Role};
pub use crate::infra::sso_cache::SsoCache;
use crate::infra::sso_cache::{Http, HttpError, Issuer};
use crate::{Core, Error, Result, new_id, now_ms};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenClaims, CoreIdTokenVerifier,
    CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreTokenResponse,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, DiscoveryError,
    IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    SignatureVerificationError, TokenResponse,
};
use std::borrow::Cow;
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
/// `amr` values that mean more than a password (RFC 8176).
const MULTI_FACTOR: [&str; 9] = [
    "mfa", "otp", "hwk", "swk", "sc", "fpt", "face", "iris", "pop",
];
/// The ID token signatures accepted: the issuer's published (asymmetric) keys only. The
/// crate would take the algorithms the issuer advertises, HS256 with the client secret
/// among them for some; `none` is never in this list either.
const SIGNING_ALGS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// An error and its causes, for the log (the crate's errors say "Request failed" and keep
/// the reason in their source).
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The ID token claims read.
#[derive(Debug, Clone)]
pub struct IdClaims {
    pub sub: String,
    pub email: Option<String>,
    /// `email_verified`: a boolean, or (some issuers) the string "true".
    pub email_verified: bool,
    /// `amr`: how the issuer authenticated the user (RFC 8176).
    pub amr: Vec<String>,
    pub name: Option<String>,
}

impl IdClaims {
    fn from_token(c: &CoreIdTokenClaims) -> IdClaims {
        IdClaims {
            sub: c.subject().as_str().to_string(),
            email: c.email().map(|e| e.as_str().to_string()),
            email_verified: c.email_verified() == Some(true),
            amr: c
                .auth_method_refs()
                .map(|a| a.iter().map(|m| m.as_str().to_string()).collect())
                .unwrap_or_default(),
            name: c
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_string()),
        }
    }

    pub fn email_is_verified(&self) -> bool {
        self.email_verified
    }

    /// Whether the issuer says the sign-in took more than a password.
    pub fn multi_factor(&self) -> bool {
        self.amr.iter().any(|m| MULTI_FACTOR.contains(&m.as_str()))
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
    /// The ID token, as the provider sent it (compact JWS), not verified yet.
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
        .providers
        .iter()
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect()
}

/// The origins a form on Refrain's pages may be sent on to (CSP `form-action`): connecting
/// a sign-in is a form post answered with a redirect to the provider, and browsers hold
/// that redirect to the page's `form-action`. Each provider's issuer, and its
/// authorization endpoint once discovery has named it (when that is elsewhere).
pub fn form_action_origins(core: &Core) -> Vec<String> {
    let origin = |u: &str| {
        url::Url::parse(u)
            .ok()
            .map(|u| u.origin())
            .filter(url::Origin::is_tuple)
            .map(|o| o.ascii_serialization())
    };
    let mut list: Vec<String> = core
        .config
        .sso
        .providers
        .iter()
        .filter_map(|p| origin(&p.issuer))
        .collect();
    // Without waiting: a page is not held up by a discovery under way.
    if let Ok(issuers) = core.sso.issuers.try_read() {
        list.extend(
            issuers
                .values()
                .filter_map(|i| origin(i.metadata.authorization_endpoint().as_str())),
        );
    }
    list.sort();
    list.dedup();
    list
}

/// The provider is not answering (what went wrong is logged, not shown).
fn unavailable() -> Error {
    Error::Unavailable {
        what: "the sign-in provider",
        retry_after_secs: 30,
    }
}

/// `{issuer}/.well-known/openid-configuration` and the keys it names. The document must
/// name exactly the issuer it was fetched for (OpenID Connect Discovery 4.3); the
/// configured issuer has no trailing slash, and an issuer that names itself with one
/// (`https://tenant.example/`) is asked again under that name.
async fn discover(
    http: &Http,
    issuer: &str,
) -> std::result::Result<CoreProviderMetadata, DiscoveryError<HttpError>> {
    let url = |u: String| IssuerUrl::new(u).map_err(|e| DiscoveryError::Other(e.to_string()));
    match CoreProviderMetadata::discover_async(url(issuer.to_string())?, http).await {
        Err(DiscoveryError::Validation(_)) if !issuer.ends_with('/') => {
            CoreProviderMetadata::discover_async(url(format!("{issuer}/"))?, http).await
        }
        r => r,
    }
}

async fn issuer(core: &Core, p: &SsoProvider) -> Result<Arc<Issuer>> {
    if let Some(i) = core.sso.issuers.read().await.get(&p.id)
        && i.fetched.elapsed() < CACHE_TTL
    {
        return Ok(i.clone());
    }
    let metadata = discover(core.sso.http()?, &p.issuer).await.map_err(|e| {
        tracing::warn!(provider = %p.id, error = %causes(&e), "OpenID discovery failed");
        unavailable()
    })?;
    let client = CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(p.client_id.clone()),
        Some(ClientSecret::new(p.client_secret.0.clone())),
    );
    let keys = metadata.jwks().clone();
    let i = Arc::new(Issuer {
        metadata,
        client,
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

fn redirect_url(redirect_uri: &str) -> Result<RedirectUrl> {
    RedirectUrl::new(redirect_uri.to_string())
        .map_err(|e| anyhow::anyhow!("redirect URI {redirect_uri:?}: {e}").into())
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
    let redirect = redirect_url(redirect_uri)?;
    let state = random_b64(32);
    let nonce = random_b64(32);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let now = now_ms();
    // Sign-ins abandoned at the provider go with the next one started.
    sso_repo::delete_stale_flows(&core.db, now - FLOW_TTL_MS).await?;
    let flow = sso_repo::FlowRow {
        provider: p.id.clone(),
        nonce: nonce.clone(),
        verifier: verifier.secret().clone(),
        redirect_uri: redirect_uri.to_string(),
        link_user_id: link_user_id.map(str::to_string),
        created_at: now,
    };
    sso_repo::insert_flow(&core.db, &password::sha256_hex(&state), &flow).await?;
    let (state_for_url, nonce_for_url) = (state.clone(), nonce);
    let (url, _, _) = i
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state_for_url),
            move || Nonce::new(nonce_for_url),
        )
        // The crate asks for `openid` itself.
        .add_scopes(
            p.scopes
                .iter()
                .filter(|s| s.as_str() != "openid")
                .map(|s| Scope::new(s.clone())),
        )
        .set_pkce_challenge(challenge)
        .set_redirect_uri(Cow::Owned(redirect))
        .url();
    Ok(Started {
        url: url.into(),
        state,
    })
}

/// Verifies an ID token from `provider_id`: its signature with the issuer's published keys
/// (one refetch for a key id the set lacks), an asymmetric algorithm, `iss`, `aud` (no
/// other audience), `azp` when present, `exp`, `iat` and `nonce`.
pub async fn verify_id_token(
    core: &Core,
    provider_id: &str,
    token: &str,
    nonce: &str,
) -> Result<IdClaims> {
    let p = provider(core, provider_id)?;
    let refused = |why: &str| {
        crate::infra::metrics::count_auth_failure(crate::infra::metrics::AuthFailure::SingleSignOn);
        tracing::warn!(provider = %p.id, reason = %why, "ID token refused");
        Error::Invalid(format!("{} sign-in refused: {why}", p.name))
    };
    let token: CoreIdToken = token.parse().map_err(|_| refused("not a token"))?;
    let i = issuer(core, p).await?;
    let nonce = Nonce::new(nonce.to_string());
    let check = |keys: CoreJsonWebKeySet| {
        // A public client's verifier: it never takes the client secret as a key.
        let verifier = CoreIdTokenVerifier::new_public_client(
            ClientId::new(p.client_id.clone()),
            i.metadata.issuer().clone(),
            keys,
        )
        .set_allowed_algs(SIGNING_ALGS);
        token.claims(&verifier, &nonce).cloned()
    };
    let mut verified = check(i.keys.read().await.1.clone());
    if matches!(
        verified,
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey
        ))
    ) {
        // The issuer may have rotated its keys: fetch once more, at most every minute.
        let mut keys = i.keys.write().await;
        if keys.0.elapsed() > KEYS_REFETCH {
            match CoreJsonWebKeySet::fetch_async(i.metadata.jwks_uri(), core.sso.http()?).await {
                Ok(set) => *keys = (Instant::now(), set),
                Err(e) => {
                    tracing::warn!(provider = %p.id, error = %causes(&e), "OpenID keys could not be fetched");
                }
            }
        }
        verified = check(keys.1.clone());
    }
    let claims = verified.map_err(|e| match e {
        ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::DisallowedAlg(_)
            | SignatureVerificationError::NoSignature
            | SignatureVerificationError::UnsupportedAlg(_),
        ) => refused("the token is not signed with the issuer's keys"),
        ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey
            | SignatureVerificationError::AmbiguousKeyId(_),
        ) => refused("signed with a key the issuer does not publish"),
        ClaimsVerificationError::InvalidNonce(_) => {
            refused("the token was not issued for this sign-in")
        }
        other => refused(&causes(&other)),
    })?;
    // The crate leaves `azp` to its caller (OpenID Connect Core 3.1.3.7, step 5).
    if claims
        .authorized_party()
        .is_some_and(|azp| azp.as_str() != p.client_id)
    {
        return Err(refused("the token was issued to another party"));
    }
    let sub = claims.subject().as_str();
    if sub.is_empty() || sub.len() > 255 {
        return Err(refused("no usable subject"));
    }
    Ok(IdClaims::from_token(&claims))
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
    let row = sso_repo::take_flow(&core.db, &password::sha256_hex(state))
        .await?
        .ok_or_else(stale)?;
    if now_ms() - row.created_at > FLOW_TTL_MS {
        return Err(stale());
    }
    let provider_id = row.provider;
    let p = provider(core, &provider_id)?;
    let i = issuer(core, p).await?;
    let redirect = redirect_url(&row.redirect_uri)?;
    let not_accepted = |why: String| {
        tracing::warn!(provider = %p.id, error = %why, "code redemption failed");
        Error::Invalid(format!(
            "{} did not accept this sign-in; start again",
            p.name
        ))
    };
    let request = i
        .client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| {
            // Discovery named no token endpoint.
            tracing::warn!(provider = %p.id, error = %e, "no token endpoint");
            unavailable()
        })?
        .set_pkce_verifier(PkceCodeVerifier::new(row.verifier))
        .set_redirect_uri(Cow::Owned(redirect));
    let answer: CoreTokenResponse = request
        .request_async(core.sso.http()?)
        .await
        .map_err(|e| not_accepted(causes(&e)))?;
    let id_token = answer
        .id_token()
        .ok_or_else(|| not_accepted("no ID token in the answer".into()))?;
    Ok(Redeemed {
        provider: provider_id,
        id_token: id_token.to_string(),
        nonce: row.nonce,
        link_user_id: row.link_user_id,
    })
}

/// Finishes a sign-in the provider sent back with `code` and `state`.
pub async fn finish(core: &Core, state: &str, code: &str) -> Result<Outcome> {
    let refused = |e: Error| {
        if !matches!(e, Error::Unavailable { .. } | Error::Database(_)) {
            audit::sign_in(
                Pathway::Sso,
                Factor::OpenId,
                AuditOutcome::Refused,
                None,
                None,
            );
        }
        e
    };
    let r = redeem(core, state, code).await.map_err(refused)?;
    let claims = verify_id_token(core, &r.provider, &r.id_token, &r.nonce)
        .await
        .map_err(refused)?;
    let p = provider(core, &r.provider)?;
    match r.link_user_id {
        Some(user_id) => connect(core, p, &claims, &user_id).await,
        None => sign_in(core, p, &claims).await,
    }
}

async fn linked_user(core: &Core, provider: &str, subject: &str) -> Result<Option<String>> {
    sso_repo::linked_user(&core.db, provider, subject).await
}

fn claimed_email(p: &SsoProvider, claims: &IdClaims) -> Result<String> {
    let email = claims
        .email
        .as_deref()
        .ok_or_else(|| Error::Invalid(format!("{} did not share an email address", p.name)))?;
    crate::infra::actor::normalize_email(email)
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
        if core.config.sso.auto_link && repo::email_verified(&core.db, &user.id).await? {
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
        sso_repo::delete_stale_links(&core.db, now - LINK_TTL_MS).await?;
        let link = sso_repo::LinkRow {
            provider: p.id.clone(),
            subject: claims.sub.clone(),
            email: email.clone(),
            created_at: now,
        };
        sso_repo::insert_link(&core.db, &password::sha256_hex(&token), &user.id, &link).await?;
        return Ok(Outcome::LinkNeeded { token });
    }
    let verified = claims.email_is_verified();
    if !verified && core.config.auth.email_verification == EmailVerification::Required {
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
    sso_repo::set_sso_account(&mut tx, &id, verified.then_some(now), display_name).await?;
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

async fn insert_identity<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    db: E,
    provider: &str,
    subject: &str,
    user_id: &str,
    email: &str,
    vouched: Vouched,
) -> Result<()> {
    sso_repo::insert_identity(db, provider, subject, user_id, email, now_ms(), vouched).await
}

/// Opens a login for `user_id`, or asks for its second factor.
async fn login_as(core: &Core, user_id: &str, claims: &IdClaims) -> Result<LoginStep> {
    let event =
        |outcome| audit::sign_in(Pathway::Sso, Factor::OpenId, outcome, Some(user_id), None);
    if repo::is_disabled(&core.db, user_id).await? {
        event(AuditOutcome::Disabled);
        return Err(Error::AccountDisabled);
    }
    if core.config.auth.email_verification == EmailVerification::Required
        && !repo::email_verified(&core.db, user_id).await?
    {
        event(AuditOutcome::Unverified);
        return Err(Error::EmailNotVerified);
    }
    let trusted_mfa = core.config.sso.trust_mfa && claims.multi_factor();
    if !trusted_mfa && repo::totp_secret(&core.db, user_id).await?.is_some() {
        event(AuditOutcome::SecondFactorNeeded);
        let mut pending = two_factor::pending_for(user_id);
        pending.pathway = Pathway::Sso;
        return Ok(LoginStep::NeedsCode(pending));
    }
    let user = repo::find_by_id(&core.db, user_id)
        .await?
        .ok_or(Error::NotFound("account"))?;
    let login_id = new_id();
    repo::insert_login(&core.db, &login_id, user_id, now_ms()).await?;
    event(AuditOutcome::Success);
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
    let row = sso_repo::pending_link(&core.db, &password::sha256_hex(token))
        .await?
        .ok_or_else(link_expired)?;
    if now_ms() - row.created_at > LINK_TTL_MS {
        return Err(link_expired());
    }
    Ok(PendingLink {
        email: row.email,
        provider_name: provider_name(core, &row.provider),
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
    match super::service::login_via(core, Pathway::Sso, &link.email, password_given, from, None)
        .await?
    {
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
    let row = sso_repo::take_link(&core.db, &password::sha256_hex(token), user_id)
        .await?
        .ok_or_else(link_expired)?;
    if now_ms() - row.created_at > LINK_TTL_MS {
        return Err(link_expired());
    }
    let provider = row.provider;
    let subject = row.subject;
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
            insert_identity(&core.db, &provider, &subject, user_id, &row.email, vouched).await?;
        }
    }
    tracing::info!(user_id = %user_id, provider = %provider, "sign-in linked by password");
    Ok(())
}

/// The sign-ins connected to `user`'s account, and whether it has a password of its own.
pub async fn identities(core: &Core, user: &CurrentUser) -> Result<(Vec<Identity>, bool)> {
    let rows = sso_repo::identities_of(&core.db, &user.id).await?;
    let list = rows.into_iter().map(|r| identity_of(core, r)).collect();
    Ok((list, has_password(core, &user.id).await?))
}

async fn has_password(core: &Core, user_id: &str) -> Result<bool> {
    let set = sso_repo::password_set_at(&core.db, user_id).await?;
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
    sso_repo::delete_identity(&core.db, &user.id, provider).await?;
    tracing::info!(user_id = %user.id, provider = %provider, "sign-in disconnected");
    Ok(())
}
