//! Browser-facing protections: cross-site request refusal for everything that changes
//! state, server functions only over POST, and response headers (the page's
//! Content-Security-Policy with a per-request nonce is set by `app::shell`).

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Refuses state-changing requests a browser sent from another site. Browsers send
/// `Sec-Fetch-Site` (and `Origin` on POST); clients without either (curl, the API) carry
/// no ambient browser cookies, so they pass.
pub async fn cross_site_guard(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let server_fn = path.starts_with("/api/") && !path.starts_with("/api/v1/");
    if server_fn && req.method() != Method::POST {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "POST")],
            "server functions accept POST only",
        )
            .into_response();
    }
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !same_site(&req) {
        tracing::warn!(path, "cross-site request refused");
        return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
    }
    next.run(req).await
}

fn same_site(req: &Request) -> bool {
    let h = req.headers();
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = h.get(header::ORIGIN) else {
        return true;
    };
    let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// Whether a response is a page (HTML), which is never cached like a built asset.
fn is_page(h: &axum::http::HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"))
}

/// How long browsers may keep files of the site root. Built assets under `/pkg/` carry a
/// hash of their content in their names (a new build gets new names), so they are kept
/// for a year without asking again; other public files are checked after an hour. (Pages
/// get theirs in [`headers`].)
pub async fn static_cache(req: Request, next: Next) -> Response {
    let hashed_asset = req.uri().path().starts_with("/pkg/");
    let mut res = next.run(req).await;
    if res.status().is_success() && !is_page(res.headers()) {
        let policy = if hashed_asset {
            "public, max-age=31536000, immutable"
        } else {
            "public, max-age=3600"
        };
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    res
}

/// Headers on every response (unless the handler set its own); HSTS only when served over
/// HTTPS (secure cookies on).
pub async fn headers(
    axum::extract::State(https): axum::extract::State<bool>,
    req: Request,
    next: Next,
) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    // Pages are per user and change with every action: kept privately, revalidated each
    // time (never the year-long caching of built assets).
    if is_page(h) && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        );
    }
    let mut set = |name: header::HeaderName, value: &'static str| {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "same-origin");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(
        header::HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=()",
    );
    if https {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        );
    }
    res
}
