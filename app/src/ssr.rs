//! Server-side helpers for server functions: state and the signed-in user.

use crate::error::AppError;
use backend::Core;
use backend::auth::CurrentUser;
use leptos::prelude::*;
use tower_sessions::Session;

pub const LOGIN_KEY: &str = backend::auth::SESSION_LOGIN_KEY;
/// A login that passed the password and waits for a second-factor code.
pub const PENDING_KEY: &str = "pending_login";
/// The `state` of the single sign-on this browser started (see [`crate::auth::sso`]).
const SSO_STATE_KEY: &str = "sso_state";
/// Why the last single sign-on failed, shown once by the page it lands on.
const SSO_ERROR_KEY: &str = "sso_error";

#[track_caller]
pub fn core() -> Result<Core, AppError> {
    let at = std::panic::Location::caller();
    use_context::<Core>().ok_or_else(|| {
        tracing::error!(%at, "Core missing from the server function context");
        AppError::Internal
    })
}

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|e| {
        tracing::error!(error = %e, "no session layer");
        AppError::Internal
    })
}

fn session_err(e: tower_sessions::session::Error) -> AppError {
    tracing::error!(error = %e, "session store error");
    AppError::Internal
}

/// The user behind `session`, if it is signed in and its login is still live; a session
/// whose login ended is emptied. Shared by server functions and plain axum routes.
pub async fn user_of_session(
    core: &Core,
    session: &Session,
) -> Result<Option<CurrentUser>, backend::Error> {
    let store = |e: tower_sessions::session::Error| {
        use tower_sessions::session_store::Error as StoreError;
        match e {
            // Its database is away: a 503, as for any query (backend::db::is_outage).
            tower_sessions::session::Error::Store(StoreError::Backend(m))
                if m == backend::db::SESSION_STORE_NOT_ANSWERING =>
            {
                backend::Error::Unavailable {
                    what: backend::db::NOT_ANSWERING,
                    retry_after_secs: 5,
                }
            }
            e => backend::Error::Unexpected(backend::AnyError::msg(format!("session store: {e}"))),
        }
    };
    let Some(login_id) = session.get::<String>(LOGIN_KEY).await.map_err(store)? else {
        return Ok(None);
    };
    let user = backend::auth::user_for_login(core, &login_id).await?;
    if user.is_none() {
        session.flush().await.map_err(store)?;
    }
    Ok(user)
}

/// The signed-in user as looked up once per request: the layout and each of a page's
/// resources ask, and all but the first get the answer the first one found.
#[derive(Clone, Default)]
pub struct RequestUser(std::sync::Arc<tokio::sync::Mutex<Option<Option<CurrentUser>>>>);

impl RequestUser {
    /// Forgets the answer (the session just changed hands).
    async fn forget() {
        if let Some(c) = use_context::<RequestUser>() {
            *c.0.lock().await = None;
        }
    }
}

/// The user of this request's session, if signed in and the login is still live.
pub async fn current_user() -> Result<Option<CurrentUser>, AppError> {
    let (core, session) = (core()?, session().await?);
    let Some(cache) = use_context::<RequestUser>() else {
        return Ok(user_of_session(&core, &session).await?);
    };
    // Held across the lookup, so requests made together wait for one lookup.
    let mut slot = cache.0.lock().await;
    if let Some(user) = &*slot {
        return Ok(user.clone());
    }
    let user = user_of_session(&core, &session).await?;
    *slot = Some(user.clone());
    Ok(user)
}

pub async fn require_user() -> Result<CurrentUser, AppError> {
    match current_user().await? {
        Some(u) => Ok(u),
        None => Err(backend::Error::Unauthenticated.into()),
    }
}

/// Gives this page a fresh nonce (Leptos puts it on its inline scripts) and sends the
/// Content-Security-Policy naming it: no other inline script runs.
pub fn content_security_policy() {
    leptos::nonce::provide_nonce();
    let Some(nonce) = leptos::nonce::use_nonce() else {
        return;
    };
    // Presigned stream redirects fetch from the object store's origin.
    let connect_extra = use_context::<Core>()
        .and_then(|c| backend::storage::redirect_origin(&c.config))
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    // Settings' *Connect* buttons post a form answered with a redirect to the sign-in
    // provider, and browsers hold that redirect to `form-action` too.
    let form_extra: String = use_context::<Core>()
        .map(|c| backend::auth::sso::form_action_origins(&c))
        .unwrap_or_default()
        .iter()
        .map(|o| format!(" {o}"))
        .collect();
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'nonce-{nonce}'; style-src-attr 'unsafe-inline'; \
         img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'{connect_extra}; \
         font-src 'self'; manifest-src 'self'; worker-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'{form_extra}; frame-ancestors 'none'"
    );
    if let (Some(res), Ok(value)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        axum::http::HeaderValue::from_str(&csp),
    ) {
        res.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
}

pub use crate::error::plain_form_post;

/// The client's address for throttling: the peer, or what a trusted proxy forwarded.
pub async fn client_ip() -> Result<std::net::IpAddr, AppError> {
    let core = core()?;
    let peer = leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .await
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let headers = leptos_axum::extract::<axum::http::HeaderMap>()
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "no request headers");
            AppError::Internal
        })?;
    let xff = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    Ok(backend::auth::throttle::client_ip(
        peer,
        xff,
        &core.config.server.trusted_proxies,
    ))
}

/// Starts a signed-in session for `user` under a fresh session id (no fixation).
pub async fn begin_session(user: &CurrentUser) -> Result<(), AppError> {
    RequestUser::forget().await;
    let session = session().await?;
    session.cycle_id().await.map_err(session_err)?;
    let _ = session
        .remove::<backend::auth::two_factor::PendingLogin>(PENDING_KEY)
        .await
        .map_err(session_err)?;
    session
        .insert(LOGIN_KEY, &user.login_id)
        .await
        .map_err(session_err)?;
    // What the sessions list shows about this device.
    let ua = leptos_axum::extract::<axum::http::HeaderMap>()
        .await
        .ok()
        .and_then(|h| {
            h.get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
    let ip = client_ip().await.ok();
    let core = core()?;
    backend::auth::logins::describe(&core, &user.login_id, ua.as_deref(), ip).await?;
    remember_device(&core, &user.id).await?;
    Ok(())
}

/// The cookie naming a browser its account signed in from before (see
/// `backend::auth::device_token`); `__Host-` with secure cookies.
fn device_cookie_name(core: &backend::Core) -> &'static str {
    if core.config.server.secure_cookies {
        "__Host-refrain-device"
    } else {
        "refrain-device"
    }
}

/// The request's device cookie, if it carries one.
pub async fn device_cookie() -> Option<String> {
    let core = core().ok()?;
    let name = device_cookie_name(&core);
    let headers = leptos_axum::extract::<axum::http::HeaderMap>().await.ok()?;
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(tower_sessions::cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// Gives the browser that just signed in a device token for `user_id` (a year; kept
/// across logouts, which is what makes it a known device).
async fn remember_device(core: &backend::Core, user_id: &str) -> Result<(), AppError> {
    use tower_sessions::cookie::{Cookie, SameSite, time::Duration};
    let token = backend::auth::device_token(core, user_id)?;
    let cookie = Cookie::build((device_cookie_name(core), token))
        .path("/")
        .http_only(true)
        .secure(core.config.server.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(Duration::days(365))
        .build();
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(v) = axum::http::HeaderValue::from_str(&cookie.to_string())
    {
        res.append_header(axum::http::header::SET_COOKIE, v);
    }
    Ok(())
}

/// Keeps a password-checked login waiting for its code. The session grants nothing else:
/// only [`LOGIN_KEY`] makes a session signed in.
pub async fn begin_pending_login(
    pending: &backend::auth::two_factor::PendingLogin,
) -> Result<(), AppError> {
    RequestUser::forget().await;
    let session = session().await?;
    session.cycle_id().await.map_err(session_err)?;
    let _ = session
        .remove::<String>(LOGIN_KEY)
        .await
        .map_err(session_err)?;
    session
        .insert(PENDING_KEY, pending)
        .await
        .map_err(session_err)?;
    Ok(())
}

/// The second login step: a code completes the pending login and starts the real session.
pub async fn complete_pending_login(code: &str) -> Result<(), AppError> {
    use backend::auth::two_factor::{self, PendingLogin};
    let (core, session) = (core()?, session().await?);
    let Some(mut pending) = session
        .get::<PendingLogin>(PENDING_KEY)
        .await
        .map_err(session_err)?
    else {
        return Err(backend::Error::Unauthenticated.into());
    };
    match two_factor::complete_login(&core, &mut pending, code).await {
        Ok(user) => begin_session(&user).await,
        Err(e) => {
            if matches!(e, backend::Error::Unauthenticated) {
                let _ = session
                    .remove::<PendingLogin>(PENDING_KEY)
                    .await
                    .map_err(session_err)?;
            } else {
                session
                    .insert(PENDING_KEY, &pending)
                    .await
                    .map_err(session_err)?;
            }
            Err(e.into())
        }
    }
}

/// Keeps the `state` of a sign-in this browser starts at a provider.
pub async fn remember_sso_state(state: &str) -> Result<(), AppError> {
    session()
        .await?
        .insert(SSO_STATE_KEY, state)
        .await
        .map_err(session_err)
}

/// The `state` of the sign-in this browser started, once.
pub async fn take_sso_state() -> Result<Option<String>, AppError> {
    session()
        .await?
        .remove::<String>(SSO_STATE_KEY)
        .await
        .map_err(session_err)
}

/// Keeps why a sign-in at a provider failed, for the page the browser lands on.
pub async fn remember_sso_error(why: &str) -> Result<(), AppError> {
    session()
        .await?
        .insert(SSO_ERROR_KEY, why)
        .await
        .map_err(session_err)
}

/// Why the last sign-in at a provider failed in this browser, once.
pub async fn take_sso_error() -> Result<Option<String>, AppError> {
    session()
        .await?
        .remove::<String>(SSO_ERROR_KEY)
        .await
        .map_err(session_err)
}

pub async fn end_session() -> Result<(), AppError> {
    RequestUser::forget().await;
    let core = core()?;
    let session = session().await?;
    if let Some(login_id) = session
        .get::<String>(LOGIN_KEY)
        .await
        .map_err(session_err)?
    {
        backend::auth::logout(&core, &login_id).await?;
    }
    session.flush().await.map_err(session_err)?;
    Ok(())
}
