//! Typed configuration, loaded once at start-up from `REFRAIN_*` environment variables
//! (secrets may also come from `REFRAIN_*_FILE`), validated with clear messages, and
//! overridable by tests, which build a `Config` directly.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// How long an API access token lives (seconds); refresh tokens renew it. The key grace
/// period must cover it (see `validate`).
pub const ACCESS_TTL_SECS: u64 = 15 * 60;

#[derive(Debug, Clone)]
pub struct Config {
    /// Address the HTTP server binds.
    pub host: IpAddr,
    pub port: u16,
    /// The worker's `/healthz`, `/readyz` and `/metrics` (`REFRAIN_WORKER_PORT`; 0 turns
    /// them off).
    pub worker_port: u16,
    /// Everything the embedded default keeps on disk lives under here.
    pub data_dir: PathBuf,
    /// `sqlite://...` (default: `<data_dir>/refrain.db`) or `postgres://...`.
    pub database_url: String,
    /// Redis for sessions shared by several server nodes; `None` keeps them in the database.
    pub redis_url: Option<String>,
    /// Local object storage root (default: `<data_dir>/objects`), used unless `s3` is set.
    pub storage_dir: PathBuf,
    /// S3-compatible object storage (`REFRAIN_STORAGE_URL=s3://bucket`).
    pub s3: Option<S3Config>,
    /// Serve streams by redirecting to a short-lived presigned URL (S3 only) instead of
    /// passing the bytes through the server.
    pub stream_redirect: bool,
    /// Largest accepted upload in bytes.
    pub max_upload_bytes: u64,
    /// Lifetime of a signed stream URL.
    pub stream_token_ttl_secs: u64,
    /// How long a rotated-out signing key keeps verifying the tokens it signed.
    pub key_grace_secs: u64,
    /// Session idle lifetime.
    pub session_ttl_secs: i64,
    /// A login ends this long after it began, however active (then log in again).
    pub session_absolute_secs: i64,
    /// Set the Secure flag on cookies (serve over HTTPS).
    pub secure_cookies: bool,
    /// Where cargo-leptos put the site (JS/WASM/CSS); `LEPTOS_SITE_ROOT` also works.
    pub site_root: PathBuf,
    /// Run the event handlers in-process, fed from the outbox table.
    pub embedded_worker: bool,
    /// Kafka: when set, a relay publishes the outbox to Kafka and `refrain-worker`
    /// processes consume it; when unset, the outbox is read directly (embedded default).
    pub kafka: Option<KafkaConfig>,
    /// Give up on an event after this many failed attempts.
    pub max_event_attempts: i64,
    pub ffmpeg: String,
    pub ffprobe: String,
    /// util-linux `prlimit`, which starts ffmpeg and ffprobe under memory, CPU time and
    /// file size limits (`REFRAIN_PRLIMIT`; empty runs them without, where it is missing).
    pub prlimit: String,
    /// yt-dlp, for YouTube search and pages that are not audio files (`REFRAIN_YTDLP`;
    /// empty turns both off).
    pub ytdlp: String,
    /// `smtp://host:port` or `smtps://user:pass@host:465`; unset, emails are written as
    /// `.eml` files under `<data dir>/mail` instead.
    pub smtp_url: Option<Redacted>,
    /// The From address of Refrain's emails.
    pub mail_from: String,
    /// The address users reach Refrain at, for links in emails (default `http://host:port`).
    pub public_url: Option<String>,
    /// Whether a new account must confirm its email address before logging in.
    pub email_verification: EmailVerification,
    /// Admin functions refuse admins who have not turned two-factor on.
    pub require_admin_2fa: bool,
    /// Storage a listener's personal uploads may use unless an admin set another quota.
    pub default_quota_bytes: u64,
    /// This account becomes admin when it signs up (otherwise the first account does).
    pub admin_email: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (client addresses for throttling):
    /// addresses or networks (`10.0.0.0/8`, for an ingress whose pods come and go).
    pub trusted_proxies: TrustedProxies,
    /// Music folders scanned into the shared catalog in place (`REFRAIN_LIBRARY_DIRS`,
    /// separated by `:`); admins add more on the admin page.
    pub library_dirs: Vec<PathBuf>,
    /// When not empty, music folders must lie inside one of these
    /// (`REFRAIN_LIBRARY_ALLOW_ROOTS`, separated by `:`), besides never being a system
    /// location or holding Refrain's own data.
    pub library_allow_roots: Vec<PathBuf>,
    /// The most bytes kept Subsonic transcodes may take in object storage
    /// (`REFRAIN_TRANSCODE_CACHE_MB`); past it the oldest are dropped. 0 keeps none.
    pub transcode_cache_bytes: u64,
    /// Rescan the library folders this often (`REFRAIN_SCAN_INTERVAL`, e.g. `30m`, `6h`);
    /// `None` scans only on demand.
    pub scan_interval: Option<std::time::Duration>,
    /// Background renditions of scanned tracks made per minute at most.
    pub renditions_per_minute: u32,
    /// Watch the music folders and take changes in within seconds.
    pub watch_library: bool,
    /// Hosts URL imports may fetch from whatever they resolve to, on any port
    /// (`REFRAIN_IMPORT_ALLOW_HOSTS`: `host`, `host:port`, comma-separated).
    pub import_allow_hosts: Vec<String>,
    /// A URL import's download is given up after this long.
    pub import_timeout_secs: u64,
    /// ffmpeg gets this long for one file before the file is rejected.
    pub media_timeout_secs: u64,
    /// lofty gets this long to read one file's tags (`REFRAIN_TAG_READ_TIMEOUT_SECS`);
    /// over it the file is skipped with that reason (see the media module's tag pool).
    pub tag_read_timeout_secs: u64,
    /// The server key that seals secrets Refrain must read back (Subsonic app passwords):
    /// `REFRAIN_SECRET_KEY` (or `_FILE`), 32 bytes as 64 hex digits or base64url. Unset,
    /// a key is generated once into `<data_dir>/secret.key`; several server nodes must
    /// share one key.
    pub secret_key: Option<Redacted>,
    /// `REFRAIN_METRICS_TOKEN` (or `_FILE`): `/metrics` answers only
    /// requests bearing it. Unset, nobody, unless `metrics_loopback`.
    pub metrics_token: Option<Redacted>,
    /// `REFRAIN_METRICS_LOOPBACK=true`: without a token, direct requests from this
    /// machine (a loopback peer, no forwarding header) may read `/metrics`. Off by
    /// default: a proxy on this machine that adds no forwarding header would otherwise
    /// hand the figures to anyone.
    pub metrics_loopback: bool,
    /// Sign-ups one client address may make within 15 minutes before each further one
    /// waits (`REFRAIN_SIGNUPS_PER_ADDRESS`).
    pub signups_per_address: i64,
    /// Transcodes for Subsonic apps one node runs at once (`REFRAIN_TRANSCODES_MAX`), and
    /// per user (`REFRAIN_TRANSCODES_PER_USER`); past either an app gets 429.
    pub transcodes_max: usize,
    pub transcodes_per_user: usize,
    /// Requests one client may make per minute, by kind (see [`RateLimits`]).
    pub rate_limits: RateLimits,
    /// A request that has not produced its answer's head after this long is answered 503
    /// (`REFRAIN_REQUEST_TIMEOUT_SECS`; uploads are exempt: their body takes its time).
    pub request_timeout_secs: u64,
    /// A connection that has not sent a whole request head this long after it opened (or
    /// after its last answer) is closed (`REFRAIN_HEADER_TIMEOUT_SECS`).
    pub header_timeout_secs: u64,
    /// Open connections one node serves at once (`REFRAIN_MAX_CONNECTIONS`); past it a
    /// new connection is answered 503 and closed.
    pub max_connections: usize,
    /// Open connections from one client address (`REFRAIN_MAX_CONNECTIONS_PER_CLIENT`;
    /// trusted proxies are exempt: they carry many clients).
    pub max_connections_per_client: usize,
    /// Object storage or Kafka failing this many calls in a row opens its circuit
    /// breaker (`REFRAIN_BREAKER_FAILURES`)...
    pub breaker_failures: u32,
    /// ...and calls fail at once for this long before one is let through as a probe
    /// (`REFRAIN_BREAKER_COOLDOWN_SECS`).
    pub breaker_cooldown_secs: u64,
    /// Single sign-on providers the login page offers (OpenID Connect; see [`SsoProvider`]).
    pub sso: Vec<SsoProvider>,
    /// A first single sign-on whose verified email matches an account links to it without
    /// asking for that account's password, when the account's own address is verified too
    /// (`REFRAIN_OIDC_AUTO_LINK`; off by default).
    pub sso_auto_link: bool,
    /// A provider's multi-factor sign-in (`amr`) stands in for Refrain's own second factor
    /// (`REFRAIN_OIDC_TRUST_MFA`; off by default).
    pub sso_trust_mfa: bool,
    /// Where traces go: an OTLP/HTTP endpoint (`REFRAIN_OTLP_ENDPOINT`, e.g.
    /// `http://otel-collector:4318`); unset, spans only give the logs their trace ids.
    pub otlp_endpoint: Option<String>,
    /// One JSON object per log line (`REFRAIN_LOG_FORMAT=json`) instead of text.
    pub log_json: bool,
}

/// An OpenID Connect provider: `REFRAIN_OIDC_ISSUER`, `_CLIENT_ID`, `_CLIENT_SECRET` (or
/// `_FILE`), `_NAME`, `_SCOPES`; or Google (`REFRAIN_GOOGLE_CLIENT_ID`, `_SECRET`).
#[derive(Debug, Clone)]
pub struct SsoProvider {
    /// `oidc` or `google`: what the sign-in links and the linked identities name.
    pub id: String,
    /// What the button says: "Continue with {name}".
    pub name: String,
    /// Discovery is read from `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Redacted,
    pub scopes: Vec<String>,
}

/// Requests per client address per minute (`0`: no limit of that kind). Every request
/// counts against `general`; the expensive kinds count against their own limit as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// `REFRAIN_RATE_LIMIT`: all requests (health probes and `/metrics` aside).
    pub general: u32,
    /// `REFRAIN_RATE_LIMIT_SEARCH`: searches (the web search, YouTube search, Subsonic
    /// `search2`/`search3`).
    pub search: u32,
    /// `REFRAIN_RATE_LIMIT_UPLOADS`: uploaded files.
    pub uploads: u32,
    /// `REFRAIN_RATE_LIMIT_URL_IMPORTS`: imports from a URL or YouTube.
    pub url_imports: u32,
    /// `REFRAIN_RATE_LIMIT_IMAGES`: pictures decoded and resized on upload (avatars,
    /// album covers).
    pub images: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            general: 1200,
            search: 240,
            uploads: 300,
            url_imports: 30,
            images: 30,
        }
    }
}

/// A setting that must never be printed (it may hold a password).
#[derive(Clone, PartialEq, Eq)]
pub struct Redacted(pub String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailVerification {
    /// Log in only after following the link sent at sign-up.
    Required,
    /// The link is sent; the account works before it is followed.
    Optional,
    /// No verification email.
    Off,
}

#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// `host:port[,host:port...]`
    pub brokers: String,
    /// Prepended to every topic name (default `refrain.`).
    pub topic_prefix: String,
    /// Consumer group of the workers.
    pub group: String,
    /// Partitions for topics the project creates.
    pub partitions: i32,
    /// Static group membership (`group.instance.id`): a worker restarted under the same id
    /// takes over its partitions at once instead of waiting for the broker to notice.
    pub instance_id: Option<String>,
}

impl KafkaConfig {
    pub fn topic(&self, name: &str) -> String {
        format!("{}{name}", self.topic_prefix)
    }
}

#[derive(Clone)]
pub struct S3Config {
    pub bucket: String,
    /// Optional key prefix inside the bucket (`s3://bucket/prefix`).
    pub prefix: Option<String>,
    /// e.g. `http://127.0.0.1:3900` for a self-hosted server; AWS when unset.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Path-style requests (`endpoint/bucket/key`), as self-hosted servers want.
    pub path_style: bool,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("path_style", &self.path_style)
            .finish()
    }
}

/// A `:`-separated list of absolute paths (`REFRAIN_LIBRARY_DIRS` and the like); empty
/// entries are left out.
fn absolute_paths(name: &str, v: &str) -> std::result::Result<Vec<PathBuf>, ConfigError> {
    let paths: Vec<PathBuf> = v
        .split(':')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect();
    match paths.iter().find(|p| !p.is_absolute()) {
        Some(p) => Err(err(
            name,
            format!("{} is not an absolute path", p.display()),
        )),
        None => Ok(paths),
    }
}

/// `90s`, `30m`, `6h`, `1d` (a plain number is seconds); at least a minute.
pub fn parse_duration(s: &str) -> Option<std::time::Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    (secs >= 60).then(|| std::time::Duration::from_secs(secs))
}

#[derive(Debug, thiserror::Error)]
#[error("configuration error in {var}: {message}")]
pub struct ConfigError {
    pub var: String,
    pub message: String,
}

fn err(var: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var: var.to_string(),
        message: message.into(),
    }
}

impl Config {
    /// Defaults for a data directory; used by tests and as the base for `from_env`.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Config {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 3000,
            worker_port: 3100,
            database_url: format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("refrain.db").display()
            ),
            redis_url: None,
            storage_dir: data_dir.join("objects"),
            s3: None,
            stream_redirect: false,
            data_dir,
            max_upload_bytes: 500 * 1024 * 1024,
            stream_token_ttl_secs: 600,
            key_grace_secs: 3600,
            session_ttl_secs: 14 * 24 * 3600,
            session_absolute_secs: 30 * 24 * 3600,
            secure_cookies: false,
            site_root: PathBuf::from("target/site"),
            embedded_worker: true,
            kafka: None,
            max_event_attempts: 5,
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
            prlimit: "prlimit".into(),
            ytdlp: "yt-dlp".into(),
            trusted_proxies: TrustedProxies::default(),
            admin_email: None,
            require_admin_2fa: false,
            default_quota_bytes: 2 * 1024 * 1024 * 1024,
            smtp_url: None,
            mail_from: "Refrain <refrain@localhost>".into(),
            public_url: None,
            email_verification: EmailVerification::Optional,
            library_dirs: Vec::new(),
            library_allow_roots: Vec::new(),
            transcode_cache_bytes: 2048 * 1024 * 1024,
            scan_interval: None,
            renditions_per_minute: 60,
            watch_library: true,
            import_allow_hosts: Vec::new(),
            import_timeout_secs: 600,
            media_timeout_secs: 900,
            tag_read_timeout_secs: 10,
            secret_key: None,
            metrics_token: None,
            metrics_loopback: false,
            signups_per_address: 10,
            transcodes_max: 4,
            transcodes_per_user: 2,
            rate_limits: RateLimits::default(),
            request_timeout_secs: 30,
            header_timeout_secs: 10,
            max_connections: 1024,
            max_connections_per_client: 64,
            breaker_failures: 5,
            breaker_cooldown_secs: 10,
            sso: Vec::new(),
            sso_auto_link: false,
            sso_trust_mfa: false,
            otlp_endpoint: None,
            log_json: false,
        }
    }

    /// Where links in emails point.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.addr()))
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads configuration through `get`, so tests can pass a map instead of the process env.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| -> Result<Option<String>, ConfigError> {
            if let Some(v) = get(name) {
                return Ok(Some(v));
            }
            let file_var = format!("{name}_FILE");
            match get(&file_var) {
                Some(path) => std::fs::read_to_string(&path)
                    .map(|s| Some(s.trim().to_string()))
                    .map_err(|e| err(&file_var, format!("cannot read {path}: {e}"))),
                None => Ok(None),
            }
        };
        fn parse<T: std::str::FromStr>(
            name: &str,
            v: Option<String>,
        ) -> Result<Option<T>, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            v.map(|s| {
                s.trim()
                    .parse::<T>()
                    .map_err(|e| err(name, format!("{s:?}: {e}")))
            })
            .transpose()
        }

        let data_dir = var("REFRAIN_DATA_DIR")?.unwrap_or_else(|| "./refrain-data".into());
        let mut c = Config::for_data_dir(data_dir);
        if let Some(v) = parse("REFRAIN_HOST", var("REFRAIN_HOST")?)? {
            c.host = v;
        }
        if let Some(v) = parse("REFRAIN_PORT", var("REFRAIN_PORT")?)? {
            c.port = v;
        }
        if let Some(v) = parse("REFRAIN_WORKER_PORT", var("REFRAIN_WORKER_PORT")?)? {
            c.worker_port = v;
        }
        if let Some(v) = var("REFRAIN_DATABASE_URL")?.or(var("DATABASE_URL")?) {
            c.database_url = v;
        }
        if let Some(v) = parse("REFRAIN_TRANSCODES_MAX", var("REFRAIN_TRANSCODES_MAX")?)? {
            c.transcodes_max = v;
        }
        if let Some(v) = parse(
            "REFRAIN_TRANSCODES_PER_USER",
            var("REFRAIN_TRANSCODES_PER_USER")?,
        )? {
            c.transcodes_per_user = v;
        }
        if let Some(v) = var("REFRAIN_SECRET_KEY")? {
            crate::sealed::SecretKey::parse(&v)
                .map_err(|e| err("REFRAIN_SECRET_KEY", e.to_string()))?;
            c.secret_key = Some(Redacted(v));
        }
        if let Some(v) = parse(
            "REFRAIN_SIGNUPS_PER_ADDRESS",
            var("REFRAIN_SIGNUPS_PER_ADDRESS")?,
        )? {
            if v < 1 {
                return Err(err("REFRAIN_SIGNUPS_PER_ADDRESS", "must be at least 1"));
            }
            c.signups_per_address = v;
        }
        for (name, field) in [
            ("REFRAIN_RATE_LIMIT", &mut c.rate_limits.general),
            ("REFRAIN_RATE_LIMIT_SEARCH", &mut c.rate_limits.search),
            ("REFRAIN_RATE_LIMIT_UPLOADS", &mut c.rate_limits.uploads),
            (
                "REFRAIN_RATE_LIMIT_URL_IMPORTS",
                &mut c.rate_limits.url_imports,
            ),
            ("REFRAIN_RATE_LIMIT_IMAGES", &mut c.rate_limits.images),
        ] {
            if let Some(v) = parse(name, var(name)?)? {
                *field = v;
            }
        }
        if let Some(v) = parse::<u32>("REFRAIN_BREAKER_FAILURES", var("REFRAIN_BREAKER_FAILURES")?)?
        {
            if v == 0 {
                return Err(err("REFRAIN_BREAKER_FAILURES", "must be at least 1"));
            }
            c.breaker_failures = v;
        }
        for (name, field) in [
            ("REFRAIN_REQUEST_TIMEOUT_SECS", &mut c.request_timeout_secs),
            ("REFRAIN_HEADER_TIMEOUT_SECS", &mut c.header_timeout_secs),
            (
                "REFRAIN_BREAKER_COOLDOWN_SECS",
                &mut c.breaker_cooldown_secs,
            ),
        ] {
            if let Some(v) = parse::<u64>(name, var(name)?)? {
                if v == 0 {
                    return Err(err(name, "must be at least 1"));
                }
                *field = v;
            }
        }
        for (name, field) in [
            ("REFRAIN_MAX_CONNECTIONS", &mut c.max_connections),
            (
                "REFRAIN_MAX_CONNECTIONS_PER_CLIENT",
                &mut c.max_connections_per_client,
            ),
        ] {
            if let Some(v) = parse::<usize>(name, var(name)?)? {
                if v == 0 {
                    return Err(err(name, "must be at least 1"));
                }
                *field = v;
            }
        }
        if let Some(v) = var("REFRAIN_METRICS_TOKEN")? {
            let v = v.trim().to_string();
            if v.len() < 16 {
                return Err(err(
                    "REFRAIN_METRICS_TOKEN",
                    "must be at least 16 characters (a long random string)",
                ));
            }
            c.metrics_token = Some(Redacted(v));
        }
        if let Some(v) = var("REFRAIN_REDIS_URL")?.or(var("REDIS_URL")?) {
            c.redis_url = Some(v).filter(|s| !s.trim().is_empty());
        }
        if let Some(v) = var("REFRAIN_STORAGE_DIR")? {
            c.storage_dir = v.into();
        }
        if let Some(url) = var("REFRAIN_STORAGE_URL")? {
            if let Some(rest) = url.strip_prefix("s3://") {
                let rest = rest.trim_end_matches('/');
                let (bucket, prefix) = match rest.split_once('/') {
                    Some((b, p)) => (b.to_string(), Some(p.to_string())),
                    None => (rest.to_string(), None),
                };
                if bucket.is_empty() {
                    return Err(err(
                        "REFRAIN_STORAGE_URL",
                        "use s3://BUCKET or s3://BUCKET/PREFIX",
                    ));
                }
                let need = |name: &str| -> Result<String, ConfigError> {
                    var(name)?
                        .ok_or_else(|| err(name, "required when REFRAIN_STORAGE_URL is s3://"))
                };
                let endpoint = var("REFRAIN_S3_ENDPOINT")?;
                c.s3 = Some(S3Config {
                    bucket,
                    prefix,
                    path_style: parse("REFRAIN_S3_PATH_STYLE", var("REFRAIN_S3_PATH_STYLE")?)?
                        .unwrap_or(endpoint.is_some()),
                    endpoint,
                    region: var("REFRAIN_S3_REGION")?.unwrap_or_else(|| "us-east-1".into()),
                    access_key_id: need("REFRAIN_S3_ACCESS_KEY_ID")?,
                    secret_access_key: need("REFRAIN_S3_SECRET_ACCESS_KEY")?,
                });
            } else if let Some(path) = url.strip_prefix("file://") {
                c.storage_dir = path.into();
            } else {
                return Err(err(
                    "REFRAIN_STORAGE_URL",
                    "use s3://BUCKET or file:///path",
                ));
            }
        }
        if let Some(v) = parse("REFRAIN_STREAM_REDIRECT", var("REFRAIN_STREAM_REDIRECT")?)? {
            c.stream_redirect = v;
        }
        if let Some(v) = parse::<u64>("REFRAIN_MAX_UPLOAD_MB", var("REFRAIN_MAX_UPLOAD_MB")?)? {
            c.max_upload_bytes = v.saturating_mul(1024 * 1024);
        }
        if let Some(v) = parse("REFRAIN_MAX_UPLOAD_BYTES", var("REFRAIN_MAX_UPLOAD_BYTES")?)? {
            c.max_upload_bytes = v;
        }
        if let Some(v) = parse::<u64>(
            "REFRAIN_TRANSCODE_CACHE_MB",
            var("REFRAIN_TRANSCODE_CACHE_MB")?,
        )? {
            c.transcode_cache_bytes = v.saturating_mul(1024 * 1024);
        }
        if let Some(v) = parse(
            "REFRAIN_STREAM_TOKEN_TTL_SECS",
            var("REFRAIN_STREAM_TOKEN_TTL_SECS")?,
        )? {
            c.stream_token_ttl_secs = v;
        }
        if let Some(v) = parse("REFRAIN_KEY_GRACE_SECS", var("REFRAIN_KEY_GRACE_SECS")?)? {
            c.key_grace_secs = v;
        }
        if let Some(v) = parse("REFRAIN_SESSION_TTL_SECS", var("REFRAIN_SESSION_TTL_SECS")?)? {
            c.session_ttl_secs = v;
        }
        if let Some(v) = parse(
            "REFRAIN_SESSION_ABSOLUTE_SECS",
            var("REFRAIN_SESSION_ABSOLUTE_SECS")?,
        )? {
            c.session_absolute_secs = v;
        }
        if let Some(v) = parse("REFRAIN_SECURE_COOKIES", var("REFRAIN_SECURE_COOKIES")?)? {
            c.secure_cookies = v;
        }
        if let Some(v) = var("REFRAIN_SITE_ROOT")?.or(var("LEPTOS_SITE_ROOT")?) {
            c.site_root = v.into();
        }
        if let Some(brokers) = var("REFRAIN_KAFKA_BROKERS")?.filter(|b| !b.trim().is_empty()) {
            c.kafka = Some(KafkaConfig {
                brokers,
                topic_prefix: var("REFRAIN_KAFKA_TOPIC_PREFIX")?
                    .unwrap_or_else(|| "refrain.".into()),
                group: var("REFRAIN_KAFKA_GROUP")?.unwrap_or_else(|| "refrain-workers".into()),
                partitions: parse("REFRAIN_KAFKA_PARTITIONS", var("REFRAIN_KAFKA_PARTITIONS")?)?
                    .unwrap_or(3),
                instance_id: var("REFRAIN_KAFKA_INSTANCE_ID")?.filter(|v| !v.trim().is_empty()),
            });
            // The workers consume Kafka; the server only relays.
            c.embedded_worker = false;
        }
        if let Some(v) = parse("REFRAIN_EMBEDDED_WORKER", var("REFRAIN_EMBEDDED_WORKER")?)? {
            c.embedded_worker = v;
        }
        if let Some(v) = parse(
            "REFRAIN_MAX_EVENT_ATTEMPTS",
            var("REFRAIN_MAX_EVENT_ATTEMPTS")?,
        )? {
            c.max_event_attempts = v;
        }
        if let Some(v) = parse(
            "REFRAIN_REQUIRE_ADMIN_2FA",
            var("REFRAIN_REQUIRE_ADMIN_2FA")?,
        )? {
            c.require_admin_2fa = v;
        }
        if let Some(v) = parse::<u64>("REFRAIN_DEFAULT_QUOTA_MB", var("REFRAIN_DEFAULT_QUOTA_MB")?)?
        {
            c.default_quota_bytes = v * 1024 * 1024;
        }
        if let Some(v) = var("REFRAIN_SMTP_URL")?.filter(|v| !v.trim().is_empty()) {
            if !(v.starts_with("smtp://") || v.starts_with("smtps://")) {
                return Err(err(
                    "REFRAIN_SMTP_URL",
                    "must start with smtp:// or smtps://",
                ));
            }
            c.smtp_url = Some(Redacted(v));
        }
        if let Some(v) = var("REFRAIN_MAIL_FROM")? {
            c.mail_from = v;
        }
        if let Some(v) = var("REFRAIN_PUBLIC_URL")?.filter(|v| !v.trim().is_empty()) {
            c.public_url = Some(v.trim_end_matches('/').to_string());
        }
        if let Some(v) = var("REFRAIN_EMAIL_VERIFICATION")? {
            c.email_verification = match v.trim() {
                "required" => EmailVerification::Required,
                "optional" => EmailVerification::Optional,
                "off" => EmailVerification::Off,
                other => {
                    return Err(err(
                        "REFRAIN_EMAIL_VERIFICATION",
                        format!("{other:?}: use required, optional or off"),
                    ));
                }
            };
        }
        if let Some(v) = var("REFRAIN_ADMIN_EMAIL")?.filter(|v| !v.trim().is_empty()) {
            c.admin_email = Some(super::actor::normalize_email(&v).map_err(|_| {
                err(
                    "REFRAIN_ADMIN_EMAIL",
                    format!("{v:?} is not an email address"),
                )
            })?);
        }
        if let Some(v) = var("REFRAIN_TRUSTED_PROXIES")? {
            c.trusted_proxies = TrustedProxies(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        s.parse::<ProxyNet>().map_err(|why| {
                            err(
                                "REFRAIN_TRUSTED_PROXIES",
                                format!("{s:?}: {why} (use a comma-separated list of addresses or networks such as 10.0.0.0/8)"),
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?,
            );
        }
        if let Some(v) = var("REFRAIN_FFMPEG")? {
            c.ffmpeg = v;
        }
        if let Some(v) = var("REFRAIN_FFPROBE")? {
            c.ffprobe = v;
        }
        if let Some(v) = var("REFRAIN_PRLIMIT")? {
            c.prlimit = v.trim().to_string();
        }
        if let Some(v) = var("REFRAIN_YTDLP")? {
            c.ytdlp = v.trim().to_string();
        }
        if let Some(v) = var("REFRAIN_LIBRARY_DIRS")? {
            c.library_dirs = absolute_paths("REFRAIN_LIBRARY_DIRS", &v)?;
        }
        if let Some(v) = var("REFRAIN_LIBRARY_ALLOW_ROOTS")? {
            c.library_allow_roots = absolute_paths("REFRAIN_LIBRARY_ALLOW_ROOTS", &v)?;
        }
        if let Some(v) = var("REFRAIN_SCAN_INTERVAL")?.filter(|v| !v.trim().is_empty()) {
            c.scan_interval = Some(parse_duration(&v).ok_or_else(|| {
                err(
                    "REFRAIN_SCAN_INTERVAL",
                    format!("{v:?}: use a number with s, m, h or d (at least 1m), e.g. 6h"),
                )
            })?);
        }
        if let Some(v) = parse(
            "REFRAIN_RENDITIONS_PER_MINUTE",
            var("REFRAIN_RENDITIONS_PER_MINUTE")?,
        )? {
            if v == 0 {
                return Err(err("REFRAIN_RENDITIONS_PER_MINUTE", "must be at least 1"));
            }
            c.renditions_per_minute = v;
        }
        if let Some(v) = parse("REFRAIN_METRICS_LOOPBACK", var("REFRAIN_METRICS_LOOPBACK")?)? {
            c.metrics_loopback = v;
        }
        if let Some(v) = parse("REFRAIN_LIBRARY_WATCH", var("REFRAIN_LIBRARY_WATCH")?)? {
            c.watch_library = v;
        }
        if let Some(v) = var("REFRAIN_IMPORT_ALLOW_HOSTS")? {
            c.import_allow_hosts = v
                .split(',')
                .map(|h| h.trim().to_lowercase())
                .filter(|h| !h.is_empty())
                .collect();
        }
        if let Some(v) = parse(
            "REFRAIN_MEDIA_TIMEOUT_SECS",
            var("REFRAIN_MEDIA_TIMEOUT_SECS")?,
        )? {
            if v == 0 {
                return Err(err("REFRAIN_MEDIA_TIMEOUT_SECS", "must be at least 1"));
            }
            c.media_timeout_secs = v;
        }
        if let Some(v) = parse(
            "REFRAIN_TAG_READ_TIMEOUT_SECS",
            var("REFRAIN_TAG_READ_TIMEOUT_SECS")?,
        )? {
            if v == 0 {
                return Err(err("REFRAIN_TAG_READ_TIMEOUT_SECS", "must be at least 1"));
            }
            c.tag_read_timeout_secs = v;
        }
        if let Some(v) = parse(
            "REFRAIN_IMPORT_TIMEOUT_SECS",
            var("REFRAIN_IMPORT_TIMEOUT_SECS")?,
        )? {
            if v == 0 {
                return Err(err("REFRAIN_IMPORT_TIMEOUT_SECS", "must be at least 1"));
            }
            c.import_timeout_secs = v;
        }
        if let Some(issuer) = var("REFRAIN_OIDC_ISSUER")?.filter(|v| !v.trim().is_empty()) {
            let issuer = issuer.trim().trim_end_matches('/').to_string();
            check_issuer("REFRAIN_OIDC_ISSUER", &issuer)?;
            let need = |name: &str| -> Result<String, ConfigError> {
                var(name)?
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| err(name, "required when REFRAIN_OIDC_ISSUER is set"))
            };
            let scopes: Vec<String> = var("REFRAIN_OIDC_SCOPES")?
                .unwrap_or_else(|| "openid email profile".into())
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            if !scopes.iter().any(|s| s == "openid") || !scopes.iter().any(|s| s == "email") {
                return Err(err(
                    "REFRAIN_OIDC_SCOPES",
                    "must include openid and email (accounts are matched by email)",
                ));
            }
            let name = var("REFRAIN_OIDC_NAME")?
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| {
                    url::Url::parse(&issuer)
                        .ok()
                        .and_then(|u| u.host_str().map(str::to_string))
                        .unwrap_or_else(|| "single sign-on".into())
                });
            c.sso.push(SsoProvider {
                id: "oidc".into(),
                name,
                client_id: need("REFRAIN_OIDC_CLIENT_ID")?,
                client_secret: Redacted(need("REFRAIN_OIDC_CLIENT_SECRET")?),
                issuer,
                scopes,
            });
        }
        if let Some(id) = var("REFRAIN_GOOGLE_CLIENT_ID")?.filter(|v| !v.trim().is_empty()) {
            let secret = var("REFRAIN_GOOGLE_CLIENT_SECRET")?
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| {
                    err(
                        "REFRAIN_GOOGLE_CLIENT_SECRET",
                        "required when REFRAIN_GOOGLE_CLIENT_ID is set",
                    )
                })?;
            c.sso.push(SsoProvider {
                id: "google".into(),
                name: "Google".into(),
                issuer: "https://accounts.google.com".into(),
                client_id: id.trim().to_string(),
                client_secret: Redacted(secret.trim().to_string()),
                scopes: vec!["openid".into(), "email".into(), "profile".into()],
            });
        }
        if let Some(v) = parse("REFRAIN_OIDC_AUTO_LINK", var("REFRAIN_OIDC_AUTO_LINK")?)? {
            c.sso_auto_link = v;
        }
        if let Some(v) = parse("REFRAIN_OIDC_TRUST_MFA", var("REFRAIN_OIDC_TRUST_MFA")?)? {
            c.sso_trust_mfa = v;
        }
        if let Some(v) = var("REFRAIN_OTLP_ENDPOINT")?.filter(|v| !v.trim().is_empty()) {
            let v = v.trim().to_string();
            match url::Url::parse(&v) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                _ => {
                    return Err(err(
                        "REFRAIN_OTLP_ENDPOINT",
                        format!(
                            "{v:?}: use an http:// or https:// URL (an OTLP/HTTP receiver, port 4318)"
                        ),
                    ));
                }
            }
            c.otlp_endpoint = Some(v);
        }
        if let Some(v) = var("REFRAIN_LOG_FORMAT")? {
            c.log_json = match v.trim() {
                "json" => true,
                "text" | "" => false,
                other => {
                    return Err(err(
                        "REFRAIN_LOG_FORMAT",
                        format!("{other:?}: use json or text"),
                    ));
                }
            };
        }
        c.validate()?;
        Ok(c)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if crate::db::Kind::of(&self.database_url).is_none() {
            return Err(err(
                "REFRAIN_DATABASE_URL",
                "use a sqlite://... or postgres://... URL",
            ));
        }
        if let Some(r) = &self.redis_url
            && !(r.starts_with("redis://") || r.starts_with("rediss://"))
        {
            return Err(err(
                "REFRAIN_REDIS_URL",
                "use a redis://... or rediss://... URL",
            ));
        }
        if self.stream_redirect && self.s3.is_none() {
            return Err(err(
                "REFRAIN_STREAM_REDIRECT",
                "needs S3 storage (REFRAIN_STORAGE_URL=s3://...)",
            ));
        }
        if self.kafka.is_some() && self.embedded_worker {
            return Err(err(
                "REFRAIN_EMBEDDED_WORKER",
                "cannot be true with Kafka: run refrain-worker processes",
            ));
        }
        if self.max_event_attempts < 1 {
            return Err(err("REFRAIN_MAX_EVENT_ATTEMPTS", "must be at least 1"));
        }
        if self.max_upload_bytes == 0 {
            return Err(err("REFRAIN_MAX_UPLOAD_BYTES", "must be greater than zero"));
        }
        if self.stream_token_ttl_secs < 30 {
            return Err(err(
                "REFRAIN_STREAM_TOKEN_TTL_SECS",
                "must be at least 30 seconds",
            ));
        }
        // A node signs with a rotated-out key for up to a minute more, and a token lives
        // its lifetime (plus a minute of clock leeway) after that.
        let longest = self.stream_token_ttl_secs.max(ACCESS_TTL_SECS) + 120;
        if self.key_grace_secs < longest {
            return Err(err(
                "REFRAIN_KEY_GRACE_SECS",
                format!(
                    "must be at least {longest} seconds (the longest token lifetime plus two minutes)"
                ),
            ));
        }
        Ok(())
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}

/// An issuer is reached over HTTPS; plain HTTP only on this machine (a test provider).
fn check_issuer(var: &str, issuer: &str) -> Result<(), ConfigError> {
    let url = url::Url::parse(issuer).map_err(|e| err(var, format!("{issuer:?}: {e}")))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(err(
            var,
            format!("{issuer:?}: use an https:// issuer URL (plain http only on loopback)"),
        )),
    }
}

/// A trusted proxy: one address, or a network in CIDR notation (`10.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet {
    addr: IpAddr,
    prefix: u8,
}

impl ProxyNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl From<IpAddr> for ProxyNet {
    fn from(addr: IpAddr) -> Self {
        let addr = addr.to_canonical();
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        ProxyNet { addr, prefix }
    }
}

impl std::str::FromStr for ProxyNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| "not an IP address".to_string())?;
        let net = ProxyNet::from(addr);
        let Some(prefix) = prefix else {
            return Ok(net);
        };
        let max = net.prefix;
        match prefix.parse::<u8>() {
            Ok(p) if p <= max => Ok(ProxyNet { prefix: p, ..net }),
            _ => Err(format!("the prefix length must be 0 to {max}")),
        }
    }
}

/// The trusted proxies (`REFRAIN_TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<ProxyNet>);

impl TrustedProxies {
    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(*ip))
    }
}

impl From<Vec<IpAddr>> for TrustedProxies {
    fn from(v: Vec<IpAddr>) -> Self {
        TrustedProxies(v.into_iter().map(ProxyNet::from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn scan_settings_are_checked() {
        assert_eq!(
            parse_duration("6h"),
            Some(std::time::Duration::from_secs(21_600))
        );
        assert_eq!(
            parse_duration("90"),
            Some(std::time::Duration::from_secs(90))
        );
        assert_eq!(parse_duration("30s"), None);
        assert_eq!(parse_duration("5 parsecs"), None);
        let env: HashMap<&str, &str> =
            [("REFRAIN_LIBRARY_DIRS", "/srv/music:relative/path")].into();
        let e = Config::from_lookup(|k| env.get(k).map(|s| s.to_string())).unwrap_err();
        assert_eq!(e.var, "REFRAIN_LIBRARY_DIRS");
        let env: HashMap<&str, &str> = [
            ("REFRAIN_LIBRARY_DIRS", "/srv/music: /mnt/more "),
            ("REFRAIN_SCAN_INTERVAL", "2h"),
        ]
        .into();
        let c = Config::from_lookup(|k| env.get(k).map(|s| s.to_string())).unwrap();
        assert_eq!(
            c.library_dirs,
            vec![PathBuf::from("/srv/music"), PathBuf::from("/mnt/more")]
        );
        assert_eq!(c.scan_interval, Some(std::time::Duration::from_secs(7200)));
        assert!(c.library_allow_roots.is_empty());
        let env: HashMap<&str, &str> = [("REFRAIN_LIBRARY_ALLOW_ROOTS", "/srv:music")].into();
        let e = Config::from_lookup(|k| env.get(k).map(|s| s.to_string())).unwrap_err();
        assert_eq!(e.var, "REFRAIN_LIBRARY_ALLOW_ROOTS");
        let env: HashMap<&str, &str> = [("REFRAIN_LIBRARY_ALLOW_ROOTS", "/srv/music:/mnt")].into();
        let c = Config::from_lookup(|k| env.get(k).map(|s| s.to_string())).unwrap();
        assert_eq!(
            c.library_allow_roots,
            vec![PathBuf::from("/srv/music"), PathBuf::from("/mnt")]
        );
    }

    #[test]
    fn bad_port_names_the_variable() {
        let env: HashMap<&str, &str> = [("REFRAIN_PORT", "eighty")].into();
        let e = Config::from_lookup(|k| env.get(k).map(|s| s.to_string())).unwrap_err();
        assert_eq!(e.var, "REFRAIN_PORT");
    }

    #[test]
    fn s3_storage_needs_credentials_and_hides_the_secret() {
        let env: HashMap<&str, &str> = [("REFRAIN_STORAGE_URL", "s3://media")].into();
        let e = Config::from_lookup(|k| env.get(k).map(|s| s.to_string())).unwrap_err();
        assert_eq!(e.var, "REFRAIN_S3_ACCESS_KEY_ID");
        let env: HashMap<&str, &str> = [
            ("REFRAIN_STORAGE_URL", "s3://media"),
            ("REFRAIN_S3_ENDPOINT", "http://127.0.0.1:3900"),
            ("REFRAIN_S3_ACCESS_KEY_ID", "GK1"),
            ("REFRAIN_S3_SECRET_ACCESS_KEY", "very-secret"),
        ]
        .into();
        let c = Config::from_lookup(|k| env.get(k).map(|s| s.to_string())).unwrap();
        let s3 = c.s3.clone().unwrap();
        assert!(s3.path_style);
        assert_eq!(s3.bucket, "media");
        assert!(!format!("{c:?}").contains("very-secret"));
    }

    #[test]
    fn single_sign_on_settings_are_checked() {
        let lookup = |pairs: &[(&str, &str)]| {
            let env: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Config::from_lookup(|k| env.get(k).cloned())
        };
        let e = lookup(&[("REFRAIN_OIDC_ISSUER", "http://id.example.com")]).unwrap_err();
        assert_eq!(e.var, "REFRAIN_OIDC_ISSUER");
        let e = lookup(&[("REFRAIN_OIDC_ISSUER", "https://id.example.com/")]).unwrap_err();
        assert_eq!(e.var, "REFRAIN_OIDC_CLIENT_ID");
        let base = [
            (
                "REFRAIN_OIDC_ISSUER",
                "https://id.example.com/realms/music/",
            ),
            ("REFRAIN_OIDC_CLIENT_ID", "refrain"),
            ("REFRAIN_OIDC_CLIENT_SECRET", "s3cret-value"),
        ];
        let e = lookup(&[
            base[0],
            base[1],
            base[2],
            ("REFRAIN_OIDC_SCOPES", "openid profile"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "REFRAIN_OIDC_SCOPES");
        let e =
            lookup(&[("REFRAIN_GOOGLE_CLIENT_ID", "x.apps.googleusercontent.com")]).unwrap_err();
        assert_eq!(e.var, "REFRAIN_GOOGLE_CLIENT_SECRET");
        let c = lookup(&[
            base[0],
            base[1],
            base[2],
            ("REFRAIN_GOOGLE_CLIENT_ID", "x.apps.googleusercontent.com"),
            ("REFRAIN_GOOGLE_CLIENT_SECRET", "g-secret"),
        ])
        .unwrap();
        assert_eq!(c.sso.len(), 2);
        assert_eq!(c.sso[0].issuer, "https://id.example.com/realms/music");
        assert_eq!(c.sso[0].name, "id.example.com");
        assert_eq!(c.sso[1].issuer, "https://accounts.google.com");
        assert!(!c.sso_auto_link && !c.sso_trust_mfa);
        let printed = format!("{c:?}");
        assert!(!printed.contains("s3cret-value") && !printed.contains("g-secret"));
        let c = lookup(&[
            ("REFRAIN_OIDC_ISSUER", "http://127.0.0.1:3400"),
            base[1],
            base[2],
        ])
        .unwrap();
        assert_eq!(c.sso[0].issuer, "http://127.0.0.1:3400");
    }

    #[test]
    fn upload_limit_in_megabytes() {
        let env: HashMap<&str, &str> =
            [("REFRAIN_MAX_UPLOAD_MB", "3"), ("REFRAIN_DATA_DIR", "/d")].into();
        let c = Config::from_lookup(|k| env.get(k).map(|s| s.to_string())).unwrap();
        assert_eq!(c.max_upload_bytes, 3 * 1024 * 1024);
        assert_eq!(c.storage_dir, PathBuf::from("/d/objects"));
    }
}
