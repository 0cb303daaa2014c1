//! A span of its own for each server function call, inside the request's span: traces show
//! `server_fn login`, `server_fn list_tracks`... with the SQL and storage calls each made.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashSet;
use std::sync::OnceLock;
use tracing::Instrument;

/// The routes of the registered server functions (`/api/login`, `/sso/start`...).
fn server_fn_paths() -> &'static HashSet<&'static str> {
    static PATHS: OnceLock<HashSet<&'static str>> = OnceLock::new();
    PATHS.get_or_init(|| {
        server_fn::axum::server_fn_paths()
            .map(|(path, _)| path)
            .collect()
    })
}

/// Runs a server function call in a `server_fn <name>` span; other routes as they are.
pub async fn server_fn_span(req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str())
        .filter(|p| server_fn_paths().contains(p));
    let Some(path) = path else {
        return next.run(req).await;
    };
    let name = fn_name(path).to_string();
    let span = tracing::info_span!("server_fn", server_fn = %name);
    backend::telemetry::name(&span, format!("server_fn {name}"));
    error_status(next.run(req).instrument(span).await).await
}

/// An `AppError` a server function builds itself (an unknown sort order or role, an
/// admin check in the app layer) would leave Leptos's default 500; it gets the status its
/// variant names, as the domain's errors do (`From<backend::Error>` in app::error).
async fn error_status(res: Response) -> Response {
    use axum::http::StatusCode;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    // An error answer is a few bytes of postcard; anything else stays a bodiless 500.
    let bytes = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
    if let Ok(e) = postcard::from_bytes::<app::error::AppError>(&bytes) {
        parts.status = e.status();
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// A server function's name from its path: the last segment without the hash Leptos
/// appends to make it unique (`/api/signup14866166550771895546` is `signup`).
fn fn_name(path: &str) -> &str {
    let last = path.rsplit('/').next().unwrap_or(path);
    let name = last.trim_end_matches(|c: char| c.is_ascii_digit());
    if !name.is_empty() && last.len() - name.len() >= 10 {
        name
    } else {
        last
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn server_functions_are_named_without_their_hash() {
        assert_eq!(super::fn_name("/api/signup14866166550771895546"), "signup");
        assert_eq!(super::fn_name("/sso/start"), "start");
        assert_eq!(super::fn_name("/api/step2"), "step2");
    }
}
