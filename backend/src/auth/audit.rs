//! Security events (ASVS 16.3.1, 16.3.2): one structured log line per sign-in attempt,
//! per refused or replayed second factor, per refused authorization and per key made or
//! revoked, all under the log target [`TARGET`] with the field `security` naming the
//! kind, so an operator can route them apart (`RUST_LOG=refrain::security=info`) or alert
//! on them. They carry who (a user id, or `unknown`), how (pathway and factor), what came
//! of it and the client's address: never a password, code, token, key or link. A `/rest`
//! client authenticates on every call, so its successes are logged when its key was last
//! recorded as used more than a minute ago, its failures every time.

use std::net::IpAddr;

/// The log target of every security event.
pub const TARGET: &str = "refrain::security";

/// The way in a sign-in attempt took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pathway {
    /// The sign-in page.
    #[default]
    Web,
    /// `POST /api/v1/token` (the password and refresh grants).
    Api,
    /// A `/rest` (Subsonic) client.
    Subsonic,
    /// Single sign-on through an OpenID provider.
    Sso,
    /// A password-reset link.
    ResetLink,
}

impl Pathway {
    pub fn as_str(self) -> &'static str {
        match self {
            Pathway::Web => "web",
            Pathway::Api => "api",
            Pathway::Subsonic => "subsonic",
            Pathway::Sso => "sso",
            Pathway::ResetLink => "reset_link",
        }
    }
}

/// What was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Password,
    AuthenticatorCode,
    RecoveryCode,
    /// A Subsonic app password, sent as `p=`.
    AppPassword,
    /// A Subsonic app password proven by `t` and `s`.
    AppToken,
    ApiKey,
    RefreshToken,
    ResetLink,
    OpenId,
}

impl Factor {
    pub fn as_str(self) -> &'static str {
        match self {
            Factor::Password => "password",
            Factor::AuthenticatorCode => "authenticator_code",
            Factor::RecoveryCode => "recovery_code",
            Factor::AppPassword => "app_password",
            Factor::AppToken => "app_token",
            Factor::ApiKey => "api_key",
            Factor::RefreshToken => "refresh_token",
            Factor::ResetLink => "reset_link",
            Factor::OpenId => "openid",
        }
    }
}

/// What came of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Signed in.
    Success,
    /// The first factor held; a second one is asked for.
    SecondFactorNeeded,
    /// Wrong credentials (or an unknown account).
    Refused,
    /// A code or token that was valid once, presented again.
    Replayed,
    /// Too many failures: not even checked.
    Throttled,
    /// Right credentials, but the account is disabled.
    Disabled,
    /// Right credentials, but the address is not confirmed yet.
    Unverified,
    /// Authenticator codes are refused until a recovery code is used.
    Locked,
    /// The pending sign-in ran out of time or tries.
    Expired,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::SecondFactorNeeded => "second_factor_needed",
            Outcome::Refused => "refused",
            Outcome::Replayed => "replayed",
            Outcome::Throttled => "throttled",
            Outcome::Disabled => "disabled",
            Outcome::Unverified => "unverified",
            Outcome::Locked => "locked",
            Outcome::Expired => "expired",
        }
    }
}

/// The account field: a user id, or `unknown`.
fn account(user_id: Option<&str>) -> &str {
    user_id.unwrap_or("unknown")
}

/// The client field: a (possibly forwarded) address, or `-` where none is known.
fn client(from: Option<IpAddr>) -> String {
    from.map_or_else(|| "-".to_string(), |ip| ip.to_string())
}

/// One sign-in attempt.
pub fn sign_in(
    pathway: Pathway,
    factor: Factor,
    outcome: Outcome,
    user_id: Option<&str>,
    from: Option<IpAddr>,
) {
    let (pathway, factor, result) = (pathway.as_str(), factor.as_str(), outcome.as_str());
    let (account, client) = (account(user_id), client(from));
    match outcome {
        Outcome::Success | Outcome::SecondFactorNeeded => tracing::info!(
            target: "refrain::security",
            security = "sign_in", pathway, factor, outcome = result, account, %client,
            "sign-in attempt"
        ),
        _ => tracing::warn!(
            target: "refrain::security",
            security = "sign_in", pathway, factor, outcome = result, account, %client,
            "sign-in attempt"
        ),
    }
}

/// A second-factor code refused outside a sign-in (turning two-factor off, new recovery
/// codes), or inside one (then [`sign_in`] follows with the pathway).
pub fn second_factor_refused(user_id: &str, factor: Factor, outcome: Outcome) {
    tracing::warn!(
        target: "refrain::security",
        security = "second_factor",
        factor = factor.as_str(),
        outcome = outcome.as_str(),
        account = user_id,
        "second factor refused"
    );
}

/// A signed-in user asked for something their role or ownership does not allow.
pub fn refused(user_id: &str, action: &str) {
    tracing::warn!(
        target: "refrain::security",
        security = "authorization_refused",
        account = user_id,
        action,
        "authorization refused"
    );
}

/// A credential that opens the account without its password: an app key or password, an
/// API token family (its first refresh token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    ApiKey,
    AppPassword,
    ApiToken,
}

impl KeyKind {
    fn as_str(self) -> &'static str {
        match self {
            KeyKind::ApiKey => "api_key",
            KeyKind::AppPassword => "app_password",
            KeyKind::ApiToken => "api_token",
        }
    }
}

/// A key made (`key_id` names it; never its secret).
pub fn key_made(user_id: &str, kind: KeyKind, key_id: &str) {
    tracing::info!(
        target: "refrain::security",
        security = "key_made",
        account = user_id,
        kind = kind.as_str(),
        key_id,
        "key made"
    );
}

/// Keys revoked: one by its owner (`key_id`), or `count` of them at once when access ended
/// (`why`: a reset, an admin disabling the account, "log out everywhere"...).
pub fn keys_revoked(user_id: &str, kind: KeyKind, key_id: Option<&str>, count: u64, why: &str) {
    tracing::info!(
        target: "refrain::security",
        security = "key_revoked",
        account = user_id,
        kind = kind.as_str(),
        key_id = key_id.unwrap_or("-"),
        count,
        why,
        "keys revoked"
    );
}
