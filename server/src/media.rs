//! Uploads (streamed to object storage), signed media streaming with byte ranges, covers.

use crate::AppState;
use app::ssr::user_of_session as session_user;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use backend::playback::{self, ByteRange, Denied, RangeError};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

fn json_error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": msg.into() }))).into_response()
}

/// A domain error as this module's answer. The match names every variant, so a new kind
/// of failure forces a decision here; the wording is this module's own (its answers are
/// JSON for the upload widgets and plain statuses for media elements).
pub(crate) fn refused(e: backend::Error) -> Response {
    use backend::Error as E;
    let mb = |bytes: u64| bytes / 1024 / 1024;
    let (status, message, retry_after) = match e {
        E::Unauthenticated => (
            StatusCode::UNAUTHORIZED,
            "Please sign in first.".into(),
            None,
        ),
        E::Forbidden => (
            StatusCode::FORBIDDEN,
            "You are not allowed to do that.".into(),
            None,
        ),
        E::AccountDisabled => (
            StatusCode::FORBIDDEN,
            "This account has been disabled.".into(),
            None,
        ),
        E::NotFound(what) => (
            StatusCode::NOT_FOUND,
            format!("That {what} does not exist."),
            None,
        ),
        E::Invalid(msg) => (StatusCode::BAD_REQUEST, app::error::upper_first(&msg), None),
        // Sign-in failures: no media route signs anyone in, but a session check may end
        // in one of these; each is the client's to fix.
        E::EmailTaken
        | E::WeakPassword(_)
        | E::BadCredentials
        | E::SecondFactorRequired
        | E::BadCode
        | E::EmailNotVerified => (
            StatusCode::BAD_REQUEST,
            app::error::upper_first(&e.to_string()),
            None,
        ),
        E::Throttled { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many requests. Try again in {retry_after_secs} s."),
            Some(retry_after_secs),
        ),
        E::Unavailable {
            what,
            retry_after_secs,
        } => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "The {what} is not answering right now. Please try again in {retry_after_secs} s."
            ),
            Some(retry_after_secs),
        ),
        E::TooLarge { limit } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The file is too large (limit {} MB).", mb(limit)),
            None,
        ),
        E::QuotaExceeded { quota } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "Your storage is full ({} MB). Delete some of your uploads or ask an admin for more room.",
                mb(quota)
            ),
            None,
        ),
        ref e @ (E::Storage(_) | E::Unexpected(_)) if backend::storage::out_of_space(e) => {
            // Nothing of the file is kept (the store deleted what it had written).
            tracing::error!(error = %format!("{e:#}"), "refused: the storage disk is full");
            (
                StatusCode::INSUFFICIENT_STORAGE,
                "The server has no room left to store this file, so it was not kept. \
                 Please tell the server's admin."
                    .into(),
                None,
            )
        }
        e @ (E::Database(_) | E::Storage(_) | E::Unexpected(_)) => {
            tracing::error!(error = %format!("{e:#}"), "unexpected error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side. Please try again.".into(),
                None,
            )
        }
    };
    let mut res = json_error(status, message);
    if let Some(secs) = retry_after {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        // The rest of a refused body is not read: close rather than drain it.
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

#[derive(Deserialize)]
pub struct UploadQuery {
    filename: String,
}

#[derive(Serialize)]
struct UploadedJob {
    id: String,
    filename: String,
    size_bytes: i64,
    state: &'static str,
}

/// `POST /api/uploads?filename=NAME` with the file as the raw body.
pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Query(q): Query<UploadQuery>,
    body: Body,
) -> Response {
    let core = &state.core;
    let user = match session_user(core, &session).await {
        Ok(Some(u)) => u,
        Ok(None) => return json_error(StatusCode::UNAUTHORIZED, "Please sign in to upload."),
        Err(e) => return refused(e),
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let stream = body.into_data_stream().map_err(|e| e.to_string());
    match backend::imports::create_upload(core, &user, &q.filename, declared, Box::pin(stream))
        .await
    {
        Ok(job) => (
            StatusCode::CREATED,
            Json(UploadedJob {
                id: job.id,
                filename: job.filename,
                size_bytes: job.size_bytes,
                state: job.state.as_str(),
            }),
        )
            .into_response(),
        Err(e) => refused(e),
    }
}

#[derive(Deserialize)]
pub struct StreamQuery {
    t: Option<String>,
}

/// `GET /stream/{track}?t=TOKEN`: the rendition, honouring `Range`.
pub async fn stream(
    State(state): State<AppState>,
    Path(track_id): Path<String>,
    Query(q): Query<StreamQuery>,
    session: Session,
    headers: HeaderMap,
) -> Response {
    let core = &state.core;
    let session_user = match session_user(core, &session).await {
        Ok(u) => u.map(|u| u.id),
        Err(e) => return refused(e),
    };
    let access =
        match playback::authorize_stream(core, q.t.as_deref(), &track_id, session_user.as_deref())
            .await
        {
            Ok(Ok(a)) => a,
            Ok(Err(Denied::Unauthorized)) => {
                return json_error(
                    StatusCode::UNAUTHORIZED,
                    "This stream link is invalid or has expired.",
                );
            }
            Ok(Err(Denied::Forbidden)) => {
                return json_error(StatusCode::FORBIDDEN, "You may not play this track.");
            }
            Err(e) => return refused(e),
        };
    if core.config.storage.stream_redirect {
        // Hand the bytes over to object storage: a presigned URL that dies no later than
        // the token (and within five minutes). Range headers carry over the redirect.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let secs = access.expires_at.saturating_sub(now).clamp(1, 300);
        match core
            .storage
            .presigned_get(&access.rendition_key, std::time::Duration::from_secs(secs))
            .await
        {
            Ok(Some(url)) => {
                return Response::builder()
                    .status(StatusCode::TEMPORARY_REDIRECT)
                    .header(header::LOCATION, url.as_str())
                    .header(header::CACHE_CONTROL, "no-store")
                    .body(Body::empty())
                    .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
            }
            Ok(None) => {}
            Err(e) => return refused(e),
        }
    }
    let key = access.rendition_key.clone();
    ranged(
        &headers,
        access.bytes,
        &[
            (header::CONTENT_TYPE, "audio/mp4".into()),
            (header::CACHE_CONTROL, "private, max-age=600".into()),
        ],
        |start, end| async move { core.storage.get_range(&key, start, end).await },
    )
    .await
}

/// Answers a request for `total` bytes that `read(start, end)` (end exclusive) reads,
/// honouring `Range`: the whole body, the satisfiable range asked for (206), or 416.
pub(crate) async fn ranged<F, Fut>(
    headers: &HeaderMap,
    total: u64,
    extra: &[(header::HeaderName, String)],
    read: F,
) -> Response
where
    F: FnOnce(u64, u64) -> Fut,
    Fut: std::future::Future<Output = backend::Result<backend::storage::RangeRead>>,
{
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|h| playback::parse_range(h, total));
    // `partial` is the satisfiable range asked for; without one the whole body is served.
    let partial = match range {
        None | Some(Err(RangeError::Malformed)) => None,
        Some(Ok(r)) => Some(r),
        Some(Err(RangeError::Unsatisfiable)) => {
            return Response::builder()
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{total}"))
                .header(header::ACCEPT_RANGES, "bytes")
                .body(Body::empty())
                .unwrap_or_else(|_| StatusCode::RANGE_NOT_SATISFIABLE.into_response());
        }
    };
    let span = partial.or((total > 0).then(|| ByteRange {
        start: 0,
        end: total - 1,
    }));
    let body = match span {
        None => Body::empty(),
        Some(r) => match read(r.start, r.end + 1).await {
            Ok(read) => Body::from_stream(read.stream),
            Err(e) => return refused(e),
        },
    };
    let mut b = Response::builder()
        .status(if partial.is_some() {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        })
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_LENGTH, span.map_or(0, |r| r.len()))
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    for (name, value) in extra {
        b = b.header(name, value);
    }
    if let Some(r) = partial {
        b = b.header(header::CONTENT_RANGE, r.content_range(total));
    }
    b.body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[derive(serde::Deserialize)]
pub struct CoverQuery {
    /// Display size in pixels: the smallest thumbnail at least that wide is served.
    s: Option<u32>,
}

/// `GET /covers/{track}[?s=PIXELS]`: the cover art of a track the user may see, as a
/// square thumbnail when a size is asked for (and the import made them). A track's cover
/// never changes, so it is cached for a year and revalidated by ETag.
pub async fn cover(
    State(state): State<AppState>,
    Path(track_id): Path<String>,
    Query(q): Query<CoverQuery>,
    session: Session,
    headers: HeaderMap,
) -> Response {
    let core = &state.core;
    let user = match session_user(core, &session).await {
        Ok(Some(u)) => u,
        Ok(None) => return StatusCode::UNAUTHORIZED.into_response(),
        Err(e) => return refused(e),
    };
    let obj = match backend::library::cover_object(core, &user, &track_id, q.s).await {
        Ok(o) => o,
        Err(backend::Error::NotFound(_)) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => return refused(e),
    };
    match serve_cover(core, &obj, &headers).await {
        Ok(answer) => answer,
        Err(e) => refused(e),
    }
}

/// A cover object as an answer: cached for a year (a cover's key never changes its bytes)
/// and revalidated by ETag, for the web player's `/covers` and Subsonic's `getCoverArt`.
pub(crate) async fn serve_cover(
    core: &backend::Core,
    obj: &backend::library::CoverObject,
    headers: &HeaderMap,
) -> Result<Response, backend::Error> {
    let etag = obj.etag();
    let cache = [
        (header::ETAG, etag.clone()),
        (
            header::CACHE_CONTROL,
            "private, max-age=31536000, immutable".to_string(),
        ),
    ];
    if if_none_match(headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    let bytes = core.storage.get_bytes(&obj.key).await?;
    Ok((cache, [(header::CONTENT_TYPE, obj.mime.to_string())], bytes).into_response())
}

/// Whether the request's `If-None-Match` names `etag`.
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

/// The signed-in user of a picture upload, or the answer to give instead.
async fn uploader(
    core: &backend::Core,
    session: &Session,
) -> Result<backend::auth::CurrentUser, Response> {
    match session_user(core, session).await {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(json_error(
            StatusCode::UNAUTHORIZED,
            "Please sign in first.",
        )),
        Err(e) => Err(refused(e)),
    }
}

/// Why a picture upload was refused, as an answer: in a picture's words where they
/// differ, else as every refusal is answered ([`refused`]).
fn picture_refused(e: backend::Error) -> Response {
    match e {
        backend::Error::TooLarge { limit } => json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The picture is too large (limit {} MB).",
                limit / 1024 / 1024
            ),
        ),
        backend::Error::Forbidden => json_error(
            StatusCode::FORBIDDEN,
            "Only admins and the uploader of the whole album can change its cover.",
        ),
        backend::Error::NotFound(_) => {
            json_error(StatusCode::NOT_FOUND, "That album does not exist.")
        }
        e => refused(e),
    }
}

/// `POST /api/avatar` with the picture as the body: the signed-in user's new picture.
pub async fn upload_avatar(
    State(state): State<AppState>,
    session: Session,
    body: bytes::Bytes,
) -> Response {
    let core = &state.core;
    let user = match uploader(core, &session).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    match backend::auth::profile::set_avatar(core, &user, body).await {
        Ok(key) => (
            StatusCode::OK,
            Json(serde_json::json!({ "url": app::auth::avatar_url(&user.id, &key) })),
        )
            .into_response(),
        Err(e) => picture_refused(e),
    }
}

/// `POST /api/albums/{album}/cover` with the picture as the body: the album's new cover
/// (admins, or the uploader of all of the album).
pub async fn upload_album_cover(
    State(state): State<AppState>,
    Path(album_id): Path<String>,
    session: Session,
    body: bytes::Bytes,
) -> Response {
    let core = &state.core;
    let user = match uploader(core, &session).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    match backend::catalog::set_album_cover(core, &user, &album_id, body).await {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({}))).into_response(),
        Err(e) => picture_refused(e),
    }
}

/// `GET /avatars/{user}`: a user's picture, for any signed-in user (pictures show beside
/// names). The app's URLs carry the picture's version, and the ETag lets a browser
/// revalidate cheaply.
pub async fn avatar(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    session: Session,
    headers: HeaderMap,
) -> Response {
    let core = &state.core;
    match session_user(core, &session).await {
        Ok(Some(_)) => {}
        Ok(None) => return StatusCode::UNAUTHORIZED.into_response(),
        Err(e) => return refused(e),
    }
    let key = match backend::auth::profile::avatar_key(core, &user_id).await {
        Ok(Some(k)) => k,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => return refused(e),
    };
    let etag = format!("\"{}\"", app::auth::avatar_version(&key));
    let cache = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, "private, max-age=86400".to_string()),
    ];
    if if_none_match(&headers, &etag) {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    match core.storage.get_bytes(&key).await {
        Ok(bytes) => (
            cache,
            [(header::CONTENT_TYPE, "image/png".to_string())],
            bytes,
        )
            .into_response(),
        Err(e) => refused(e),
    }
}
