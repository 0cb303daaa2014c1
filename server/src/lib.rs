//! Refrain's HTTP server: the axum router around the Leptos app, plus the routes that are
//! not server functions (uploads, media streaming, covers, health).
#![recursion_limit = "512"]

mod api;
pub mod limits;
pub mod listen;
mod media;
mod metrics;
pub mod pwa;
mod security;
mod spans;
mod subsonic;

pub use api::OPENAPI;
pub use metrics::Metrics;

use app::{App, shell};
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::HeaderName;
use axum::routing::{get, post};
use backend::Core;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub core: Core,
    pub metrics: Metrics,
}

pub fn leptos_options(core: &Core) -> LeptosOptions {
    let builder = LeptosOptions::builder()
        .output_name("refrain")
        .site_root(core.config.server.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(core.config.addr());
    match hash_file(&core.config.server.site_root) {
        // Leptos joins this to the binary's folder; an absolute path stands for itself.
        Some(f) => builder
            .hash_files(true)
            .hash_file(f.display().to_string().into())
            .build(),
        None => builder.build(),
    }
}

/// The list of hashed asset names the site build wrote (`hash.txt` in the site root; see
/// xtask/src/names.rs). Without one (a site from elsewhere), assets keep their plain names.
fn hash_file(site_root: &std::path::Path) -> Option<std::path::PathBuf> {
    Some(site_root.join("hash.txt"))
        .filter(|p| p.is_file())
        .and_then(|p| std::path::absolute(p).ok())
}

/// The whole application router, ready to serve.
pub fn router(core: Core, leptos_options: LeptosOptions) -> Router {
    app(core, leptos_options).router
}

/// The router and the refusal counters it shares with the accept loop ([`serve_app`]).
pub struct Served {
    pub router: Router,
    pub counters: std::sync::Arc<limits::Counters>,
}

/// Serves `app` on `listener` under the connection limits of `core`'s configuration,
/// until `shutdown` resolves.
pub async fn serve_app(
    core: &Core,
    listener: tokio::net::TcpListener,
    app: Served,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listen::serve(
        listener,
        app.router,
        listen::ConnLimits::from_config(&core.config),
        app.counters,
        shutdown,
    )
    .await
}

/// The whole application, ready to serve with [`serve_app`].
pub fn app(core: Core, leptos_options: LeptosOptions) -> Served {
    let request_metrics = Metrics::default();
    let counters = request_metrics.counters.clone();
    let limits = limits::Limits::new(&core.config, counters.clone());
    let state = AppState {
        leptos_options,
        core: core.clone(),
        metrics: request_metrics.clone(),
    };
    let routes = generate_route_list(App);
    let sessions = SessionManagerLayer::new(core.sessions.clone())
        .with_name(if core.config.server.secure_cookies {
            "__Host-refrain"
        } else {
            "refrain"
        })
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(core.config.server.secure_cookies)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::seconds(core.config.auth.session_ttl_secs),
        ));
    let ctx_core = core.clone();
    let sw = pwa::ServiceWorker::for_site(&core.config.server.site_root);
    let router = Router::new()
        .route(
            "/api/uploads",
            post(media::upload).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/api/avatar",
            post(media::upload_avatar).layer(DefaultBodyLimit::max(
                backend::auth::profile::MAX_AVATAR_BYTES,
            )),
        )
        .route(
            "/api/albums/{album_id}/cover",
            post(media::upload_album_cover)
                .layer(DefaultBodyLimit::max(backend::catalog::MAX_COVER_BYTES)),
        )
        .route("/avatars/{user_id}", get(media::avatar))
        .route("/stream/{track_id}", get(media::stream))
        .route("/covers/{track_id}", get(media::cover))
        .merge(api::routes())
        .merge(subsonic::routes())
        .route("/sw.js", get(move || async move { sw.response() }))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::render))
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(ctx_core.clone());
                provide_context(app::ssr::RequestUser::default());
            },
            {
                let options = state.leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .route_layer(axum::middleware::from_fn_with_state(
            request_metrics,
            metrics::track,
        ))
        .route_layer(axum::middleware::from_fn(spans::server_fn_span))
        // Built assets and public files straight from disk; anything else is the app's 404
        // page. (Leptos's own file handler copies response options of whatever render owns
        // the thread into static responses: a page's 403 and CSP once leaked onto the CSS.)
        .fallback_service(
            tower::ServiceBuilder::new()
                .layer(axum::middleware::from_fn(security::static_cache))
                .service(
                    tower_http::services::ServeDir::new(&core.config.server.site_root)
                        .append_index_html_on_directories(false)
                        // The site build (xtask/) writes a .br and a .gz beside each file.
                        .precompressed_br()
                        .precompressed_gzip()
                        .fallback(axum::handler::Handler::with_state(
                            leptos_axum::file_and_error_handler::<AppState, _>(shell),
                            state.clone(),
                        )),
                ),
        )
        .layer(sessions)
        .layer(axum::middleware::from_fn_with_state(
            limits.clone(),
            limits::time_limit,
        ))
        .layer(axum::middleware::from_fn(security::cross_site_guard))
        .layer(axum::middleware::from_fn_with_state(
            limits,
            limits::rate_limit,
        ))
        .layer(
            // One span per request, with its id; the path only (stream tokens live in the
            // query string and must not reach the logs). It continues the trace the
            // request's `traceparent` names (the browser's, a proxy's), or starts one. In
            // traces it is named by its route (`GET /stream/{track_id}`; the layers of a
            // router run after routing); a static file by its path.
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |req: &axum::http::Request<_>| {
                    let id = req
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    let route = req
                        .extensions()
                        .get::<axum::extract::MatchedPath>()
                        .map_or(req.uri().path(), |m| m.as_str());
                    let span = tracing::info_span!(
                        "request",
                        otel.kind = "server",
                        request_id = %id,
                        method = %req.method(),
                        path = %req.uri().path(),
                        trace_id = tracing::field::Empty,
                    );
                    let parent = req
                        .headers()
                        .get("traceparent")
                        .and_then(|v| v.to_str().ok());
                    let name = format!("{} {route}", req.method());
                    backend::telemetry::continue_trace(&span, name, parent);
                    span
                },
            ),
        )
        .layer(axum::middleware::from_fn_with_state(
            core.config.server.secure_cookies,
            security::headers,
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state);
    Served { router, counters }
}

/// Readiness: each configured dependency by name; 503 when one is down.
async fn readyz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    worker::ops::readiness(&state.core).await
}

/// Starts the router on `listener`, with the embedded worker when configured. Returns when
/// `shutdown` resolves and in-flight requests have finished.
pub async fn serve(
    core: Core,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let options = leptos_options(&core);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    if let Some(k) = core.config.events.kafka.clone() {
        let c = core.clone();
        let mut rx = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            backend::events::kafka::run_relay(c, k, async move {
                let _ = rx.wait_for(|s| *s).await;
            })
            .await;
        }));
    }
    if core.config.events.embedded_worker {
        let c = core.clone();
        let mut rx = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            worker::dispatch::run(c, async move {
                let _ = rx.wait_for(|s| *s).await;
            })
            .await;
        }));
        let c = core.clone();
        let mut rx = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            worker::backfill::run(c, async move {
                let _ = rx.wait_for(|s| *s).await;
            })
            .await;
        }));
        let c = core.clone();
        let mut rx = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            worker::scanner::run(c, async move {
                let _ = rx.wait_for(|s| *s).await;
            })
            .await;
        }));
    }
    {
        let store = core.sessions.clone();
        let mut rx = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                if let Err(e) = store.delete_expired().await {
                    tracing::warn!(error = %e, "deleting expired sessions failed");
                }
                tokio::select! {
                    _ = rx.wait_for(|s| *s) => return,
                    _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
                }
            }
        }));
    }
    let app = app(core.clone(), options);
    serve_app(&core, listener, app, shutdown).await?;
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}
