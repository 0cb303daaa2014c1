//! Limits on every door: a request rate per client (in memory on each node, or shared by
//! all nodes through Redis when `REFRAIN_REDIS_URL` is set), stricter rates for the
//! expensive kinds of request, and a time limit on producing an answer. Refusals are 429
//! (rate) or 503 (time) with `Retry-After`, and are counted for `/metrics`.
//!
//! Rates are counted in fixed one-minute windows per client address (an IPv6 client by its
//! /64, which one host controls). A client may therefore send up to twice its limit across
//! a window boundary; in exchange a check is one map update (or one Redis round trip).

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use backend::config::RateLimits;
use std::collections::HashMap;
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a request is counted as, besides `General`, which every request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    General,
    Search,
    Uploads,
    UrlImports,
    Images,
}

const CLASSES: [Class; 5] = [
    Class::General,
    Class::Search,
    Class::Uploads,
    Class::UrlImports,
    Class::Images,
];

impl Class {
    fn label(self) -> &'static str {
        match self {
            Class::General => "general",
            Class::Search => "search",
            Class::Uploads => "uploads",
            Class::UrlImports => "url_imports",
            Class::Images => "images",
        }
    }

    fn index(self) -> usize {
        CLASSES.iter().position(|c| *c == self).unwrap_or(0)
    }

    fn limit(self, l: &RateLimits) -> u32 {
        match self {
            Class::General => l.general,
            Class::Search => l.search,
            Class::Uploads => l.uploads,
            Class::UrlImports => l.url_imports,
            Class::Images => l.images,
        }
    }
}

/// Whether `path` is the server function `name` (`/api/<name><hash digits>`).
fn server_fn(path: &str, name: &str) -> bool {
    path.strip_prefix("/api/")
        .and_then(|rest| rest.strip_prefix(name))
        .is_some_and(|hash| !hash.is_empty() && hash.bytes().all(|b| b.is_ascii_digit()))
}

/// The stricter kind a request also counts as, if any.
pub fn classify(method: &Method, path: &str) -> Option<Class> {
    if server_fn(path, "search") || server_fn(path, "youtube_search") {
        return Some(Class::Search);
    }
    if let Some(m) = path.strip_prefix("/rest/") {
        let m = m.strip_suffix(".view").unwrap_or(m);
        return matches!(m, "search" | "search2" | "search3").then_some(Class::Search);
    }
    if server_fn(path, "import_from_url") || server_fn(path, "import_from_youtube") {
        return Some(Class::UrlImports);
    }
    if *method == Method::POST {
        if path == "/api/uploads" {
            return Some(Class::Uploads);
        }
        if path == "/api/avatar" || (path.starts_with("/api/albums/") && path.ends_with("/cover")) {
            return Some(Class::Images);
        }
    }
    None
}

/// Paths never limited: probes from load balancers and the metrics scraper.
fn exempt(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// The key a client is counted under: its address, or an IPv6 address's /64 (the
/// sign-in throttles use the same, [`backend::auth::throttle::client_key`]).
pub use backend::auth::throttle::client_key;

/// Refusals counted since this node started, for `/metrics`.
#[derive(Default)]
pub struct Counters {
    rate_limited: [AtomicU64; CLASSES.len()],
    timed_out: AtomicU64,
    /// Connections refused: [node full, client over its share].
    pub(crate) connections_refused: [AtomicU64; 2],
    /// Connections closed because the request head did not arrive in time.
    pub(crate) header_timeouts: AtomicU64,
}

impl Counters {
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP refrain_rate_limited_total Requests refused with 429 for going over a rate limit, by limit."
        );
        let _ = writeln!(out, "# TYPE refrain_rate_limited_total counter");
        for c in CLASSES {
            let _ = writeln!(
                out,
                "refrain_rate_limited_total{{limit=\"{}\"}} {}",
                c.label(),
                self.rate_limited[c.index()].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP refrain_requests_timed_out_total Requests answered 503 because their answer took too long."
        );
        let _ = writeln!(out, "# TYPE refrain_requests_timed_out_total counter");
        let _ = writeln!(
            out,
            "refrain_requests_timed_out_total {}",
            self.timed_out.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP refrain_connections_refused_total Connections answered 503 and closed at once, by reason."
        );
        let _ = writeln!(out, "# TYPE refrain_connections_refused_total counter");
        for (i, reason) in ["node_full", "client_full"].iter().enumerate() {
            let _ = writeln!(
                out,
                "refrain_connections_refused_total{{reason=\"{reason}\"}} {}",
                self.connections_refused[i].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP refrain_header_timeouts_total Connections closed because a request head did not arrive in time."
        );
        let _ = writeln!(out, "# TYPE refrain_header_timeouts_total counter");
        let _ = writeln!(
            out,
            "refrain_header_timeouts_total {}",
            self.header_timeouts.load(Ordering::Relaxed)
        );
    }
}

/// Counts requests per client and kind in one-minute windows.
pub struct RateLimiter {
    limits: RateLimits,
    /// (kind, client) -> (window number, requests in it).
    memory: Mutex<HashMap<(Class, String), (u64, u32)>>,
    redis: Option<SharedCounts>,
}

/// The counts kept in Redis, so every node sees the same ones.
struct SharedCounts {
    client: redis::Client,
    conn: tokio::sync::OnceCell<redis::aio::ConnectionManager>,
}

/// Longest wait for Redis before this node counts on its own for that request.
const REDIS_WAIT: Duration = Duration::from_millis(250);
const WINDOW_SECS: u64 = 60;

impl RateLimiter {
    pub fn new(limits: RateLimits, redis_url: Option<&str>) -> Self {
        let redis = redis_url.and_then(|url| match redis::Client::open(url) {
            Ok(client) => Some(SharedCounts {
                client,
                conn: tokio::sync::OnceCell::new(),
            }),
            Err(e) => {
                tracing::warn!(error = %e, "rate limits are counted per node: the Redis URL is not usable");
                None
            }
        });
        RateLimiter {
            limits,
            memory: Mutex::new(HashMap::new()),
            redis,
        }
    }

    /// Counts a request of `class` from `client`: Ok, or the seconds to wait.
    pub async fn hit(&self, class: Class, client: &str) -> Result<(), u64> {
        let limit = class.limit(&self.limits);
        if limit == 0 {
            return Ok(());
        }
        let now = backend::now_ms() as u64 / 1000;
        let window = now / WINDOW_SECS;
        let retry_after = WINDOW_SECS - now % WINDOW_SECS;
        let count = match self.shared_count(class, client, window).await {
            Some(n) => n,
            None => self.local_count(class, client, window),
        };
        if count > u64::from(limit) {
            Err(retry_after.max(1))
        } else {
            Ok(())
        }
    }

    fn local_count(&self, class: Class, client: &str, window: u64) -> u64 {
        let Ok(mut m) = self.memory.lock() else {
            return 0;
        };
        // Old windows go once the map has grown, so it stays the size of one minute's
        // clients.
        if m.len() > 50_000 {
            m.retain(|_, (w, _)| *w == window);
        }
        let e = m.entry((class, client.to_string())).or_insert((window, 0));
        if e.0 != window {
            *e = (window, 0);
        }
        e.1 = e.1.saturating_add(1);
        u64::from(e.1)
    }

    /// The count after this request in Redis, or None when there is no Redis or it does
    /// not answer in time (then this node counts on its own).
    async fn shared_count(&self, class: Class, client: &str, window: u64) -> Option<u64> {
        let shared = self.redis.as_ref()?;
        let key = format!("refrain:rate:{}:{client}:{window}", class.label());
        let attempt = async {
            let conn = shared
                .conn
                .get_or_try_init(|| shared.client.get_connection_manager())
                .await?;
            let mut conn = conn.clone();
            let (n,): (u64,) = redis::pipe()
                .atomic()
                .incr(&key, 1u64)
                .expire(&key, (WINDOW_SECS * 2) as i64)
                .ignore()
                .query_async(&mut conn)
                .await?;
            Ok::<u64, redis::RedisError>(n)
        };
        match tokio::time::timeout(REDIS_WAIT, attempt).await {
            Ok(Ok(n)) => Some(n),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "Redis did not count a request; counting on this node");
                None
            }
            Err(_) => {
                tracing::warn!("Redis did not answer in time; counting on this node");
                None
            }
        }
    }
}

/// What the limit middlewares share.
#[derive(Clone)]
pub struct Limits {
    pub rates: Arc<RateLimiter>,
    pub counters: Arc<Counters>,
    pub trusted_proxies: Arc<backend::config::TrustedProxies>,
    pub request_timeout: Duration,
}

impl Limits {
    pub fn new(config: &backend::Config, counters: Arc<Counters>) -> Self {
        Limits {
            rates: Arc::new(RateLimiter::new(
                config.rate_limits,
                config.redis.url.as_deref(),
            )),
            counters,
            trusted_proxies: Arc::new(config.server.trusted_proxies.clone()),
            request_timeout: Duration::from_secs(config.server.request_timeout_secs),
        }
    }
}

/// Refuses a request over one of its client's rates with 429.
pub async fn rate_limit(State(l): State<Limits>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    // Served without a peer address (an in-process caller): nobody to count.
    let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() else {
        return next.run(req).await;
    };
    if exempt(path) {
        return next.run(req).await;
    }
    let xff = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let ip = backend::auth::throttle::client_ip(peer.ip(), xff, &l.trusted_proxies);
    let client = client_key(ip);
    let strict = classify(req.method(), path);
    for class in std::iter::once(Class::General).chain(strict) {
        if let Err(wait) = l.rates.hit(class, &client).await {
            l.counters.rate_limited[class.index()].fetch_add(1, Ordering::Relaxed);
            tracing::info!(limit = class.label(), client = %client, "rate limit reached");
            return answer(
                reads_app_errors(&req),
                StatusCode::TOO_MANY_REQUESTS,
                wait,
                &format!("Too many requests: try again in {wait} s."),
            );
        }
    }
    next.run(req).await
}

/// Answers 503 when a request has not produced its answer in time. Uploads are exempt:
/// reading their body is the handler's work and may take long on a slow link.
pub async fn time_limit(State(l): State<Limits>, req: Request, next: Next) -> Response {
    if req.method() == Method::POST && req.uri().path() == "/api/uploads" {
        return next.run(req).await;
    }
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let app_errors = reads_app_errors(&req);
    match tokio::time::timeout(l.request_timeout, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            l.counters.timed_out.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%method, path = %path, "request took too long; answered 503");
            answer(
                app_errors,
                StatusCode::SERVICE_UNAVAILABLE,
                5,
                "The server took too long to answer. Please try again in a moment.",
            )
        }
    }
}

/// Whether the request is a server function called by the app (which reads its errors
/// in its own encoding), not a plain form post or anything else (which get text).
fn reads_app_errors(req: &Request) -> bool {
    let html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    req.method() == Method::POST && req.uri().path().starts_with("/api/") && !html
}

/// A refusal with `Retry-After`: for a server function called by the app, its error as the
/// app reads it; otherwise plain text.
fn answer(server_fn: bool, status: StatusCode, wait: u64, message: &str) -> Response {
    let mut res = if server_fn {
        let err = if status == StatusCode::TOO_MANY_REQUESTS {
            app::error::AppError::RateLimited(message.to_string())
        } else {
            app::error::AppError::Unavailable(message.to_string())
        };
        match postcard::to_allocvec(&err) {
            Ok(body) => (status, body).into_response(),
            Err(_) => (status, message.to_string()).into_response(),
        }
    } else {
        (status, message.to_string()).into_response()
    };
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    #[test]
    fn the_expensive_requests_are_told_apart() {
        let post = Method::POST;
        assert_eq!(classify(&post, "/api/search123"), Some(Class::Search));
        assert_eq!(classify(&post, "/api/search_more123"), None);
        assert_eq!(classify(&post, "/api/youtube_search9"), Some(Class::Search));
        assert_eq!(
            classify(&Method::GET, "/rest/search3.view"),
            Some(Class::Search)
        );
        assert_eq!(classify(&Method::GET, "/rest/getAlbum"), None);
        assert_eq!(classify(&post, "/api/uploads"), Some(Class::Uploads));
        assert_eq!(
            classify(&post, "/api/import_from_url42"),
            Some(Class::UrlImports)
        );
        assert_eq!(classify(&post, "/api/avatar"), Some(Class::Images));
        assert_eq!(
            classify(&post, "/api/albums/abc/cover"),
            Some(Class::Images)
        );
        assert_eq!(classify(&Method::GET, "/api/avatar"), None);
        assert_eq!(classify(&Method::GET, "/library"), None);
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        assert_eq!(client_key("::ffff:10.0.0.1".parse().unwrap()), "10.0.0.1");
    }

    #[tokio::test]
    async fn a_client_over_its_rate_waits_and_others_do_not() {
        let l = RateLimiter::new(
            RateLimits {
                general: 3,
                search: 1,
                ..RateLimits::default()
            },
            None,
        );
        for _ in 0..3 {
            assert!(l.hit(Class::General, "a").await.is_ok());
        }
        let wait = l.hit(Class::General, "a").await.unwrap_err();
        assert!((1..=60).contains(&wait));
        assert!(l.hit(Class::General, "b").await.is_ok());
        assert!(l.hit(Class::Search, "b").await.is_ok());
        assert!(l.hit(Class::Search, "b").await.is_err());
    }
}
