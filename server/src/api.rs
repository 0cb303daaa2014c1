//! The HTTP API for non-browser clients (`/api/v1`): the token endpoint (password and
//! refresh grants), revocation, a few resources behind `Authorization: Bearer`, the JWKS
//! and the OpenAPI document. Session cookies count for nothing here, so cross-site
//! requests cannot borrow a browser's login.

use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use backend::auth::CurrentUser;
use backend::auth::api_tokens;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// Largest token request body: an email, a password and a code fit many times over.
const MAX_BODY: usize = 16 * 1024;

pub fn routes() -> Router<AppState> {
    use axum::routing::{get, post};
    Router::new()
        .route("/api/v1/auth/token", post(token))
        .route("/api/v1/auth/revoke", post(revoke))
        .route("/api/v1/me", get(me))
        .route("/api/v1/tracks", get(tracks))
        .route("/api/v1/tracks/{track_id}/stream", get(stream))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/.well-known/jwks.json", get(jwks))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
}

/// The API's errors, answered as RFC 6749-style JSON (`error`, `error_description`).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidGrant(String),
    #[error("this account uses two-factor authentication: send `code` as well")]
    MfaRequired,
    #[error("missing, invalid or expired access token")]
    InvalidToken,
    #[error("not allowed")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("too many attempts; try again in {0} s")]
    Throttled(u64),
    #[error("{0} is not answering; try again in {1} s")]
    Unavailable(&'static str, u64),
    #[error("something went wrong on our side")]
    Internal,
}

impl From<backend::Error> for ApiError {
    fn from(e: backend::Error) -> Self {
        use backend::Error as E;
        match e {
            E::Unauthenticated => ApiError::InvalidToken,
            E::Forbidden => ApiError::Forbidden,
            E::NotFound(what) => ApiError::NotFound(what),
            e @ (E::Invalid(_)
            | E::EmailTaken
            | E::WeakPassword(_)
            | E::TooLarge { .. }
            | E::QuotaExceeded { .. }) => ApiError::InvalidRequest(e.to_string()),
            e @ (E::BadCredentials | E::BadCode | E::AccountDisabled | E::EmailNotVerified) => {
                ApiError::InvalidGrant(e.to_string())
            }
            E::SecondFactorRequired => ApiError::MfaRequired,
            E::Throttled { retry_after_secs } => ApiError::Throttled(retry_after_secs),
            E::Unavailable {
                what,
                retry_after_secs,
            } => ApiError::Unavailable(what, retry_after_secs),
            e @ (E::Database(_) | E::Storage(_) | E::Unexpected(_)) => {
                tracing::error!(error = %format!("{e:#}"), "unexpected error in the API");
                ApiError::Internal
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            ApiError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            ApiError::InvalidGrant(_) => (StatusCode::BAD_REQUEST, "invalid_grant"),
            ApiError::MfaRequired => (StatusCode::UNAUTHORIZED, "mfa_required"),
            ApiError::InvalidToken => (StatusCode::UNAUTHORIZED, "invalid_token"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Throttled(_) => (StatusCode::TOO_MANY_REQUESTS, "slow_down"),
            ApiError::Unavailable(..) => {
                (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable")
            }
            ApiError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        };
        let body = serde_json::json!({ "error": code, "error_description": self.to_string() });
        let mut res = (status, Json(body)).into_response();
        let h = res.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match self {
            ApiError::InvalidToken => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer error="invalid_token""#),
                );
            }
            ApiError::Throttled(secs) | ApiError::Unavailable(_, secs) => {
                h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            _ => {}
        }
        res
    }
}

/// The user of a request's `Authorization: Bearer` access token.
pub struct ApiUser(pub CurrentUser);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::InvalidToken)?;
        api_tokens::user_for_access_token(&state.core, token)
            .await?
            .map(ApiUser)
            .ok_or(ApiError::InvalidToken)
    }
}

/// `POST /api/v1/auth/token`, JSON or form-encoded, with `grant_type` `password`
/// (`email`, `password`, and `code` when two-factor is on) or `refresh_token`.
#[derive(Debug, Deserialize)]
#[serde(tag = "grant_type", rename_all = "snake_case")]
pub enum TokenRequest {
    Password {
        email: String,
        password: String,
        #[serde(default)]
        code: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
    },
}

#[derive(Debug, Deserialize)]
pub struct RevokeRequest {
    refresh_token: String,
}

/// Reads a JSON or `application/x-www-form-urlencoded` body into `T`.
fn parse_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, ApiError> {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let parsed = if ctype.starts_with("application/x-www-form-urlencoded") {
        serde_urlencoded::from_bytes(body).map_err(|e| e.to_string())
    } else if ctype.starts_with("application/json") {
        serde_json::from_slice(body).map_err(|e| e.to_string())
    } else {
        return Err(ApiError::InvalidRequest(
            "send application/json or application/x-www-form-urlencoded".into(),
        ));
    };
    parsed.map_err(|e| ApiError::InvalidRequest(format!("malformed request: {e}")))
}

fn no_store<T: Serialize>(body: T) -> Response {
    let mut res = Json(body).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let core = &state.core;
    let pair = match parse_body::<TokenRequest>(&headers, &body)? {
        TokenRequest::Password {
            email,
            password,
            code,
        } => {
            let xff = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
            let from = backend::auth::throttle::client_ip(
                peer.ip(),
                xff,
                &core.config.server.trusted_proxies,
            );
            let ua = headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok());
            api_tokens::issue_with_password(core, &email, &password, code.as_deref(), from, ua)
                .await?
        }
        TokenRequest::RefreshToken { refresh_token } => {
            match api_tokens::refresh(core, &refresh_token).await {
                Ok(pair) => pair,
                Err(backend::Error::Unauthenticated) => {
                    return Err(ApiError::InvalidGrant(
                        "the refresh token is invalid, expired or already used; log in again"
                            .into(),
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    Ok(no_store(pair))
}

async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let req: RevokeRequest = parse_body(&headers, &body)?;
    api_tokens::revoke(&state.core, &req.refresh_token).await?;
    Ok(no_store(serde_json::json!({})))
}

#[derive(Serialize)]
struct Me {
    id: String,
    email: String,
    role: backend::auth::Role,
    display_name: Option<String>,
}

async fn me(State(state): State<AppState>, ApiUser(user): ApiUser) -> Result<Response, ApiError> {
    let display_name = backend::auth::profile::display_name(&state.core, &user.id).await?;
    Ok(no_store(Me {
        id: user.id,
        email: user.email,
        role: user.role,
        display_name,
    }))
}

async fn tracks(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Response, ApiError> {
    let tracks = backend::library::list_tracks(&state.core, &user).await?;
    Ok(no_store(tracks))
}

async fn stream(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(track_id): Path<String>,
) -> Result<Response, ApiError> {
    let info = backend::playback::stream_info(&state.core, &user, &track_id).await?;
    Ok(no_store(info))
}

async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    let set = state.core.keys.api.jwks().await?;
    let mut res = Json(set).into_response();
    // Short enough that a rotation reaches verifiers well within the grace period.
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwk-set+json"),
    );
    Ok(res)
}

/// The OpenAPI 3.1 description of everything under `/api/v1` and the JWKS.
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        OPENAPI.to_string(),
    )
        .into_response()
}
