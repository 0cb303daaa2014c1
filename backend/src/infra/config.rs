//! Typed configuration, loaded once at start-up from `REFRAIN_*` environment variables
//! (any may instead be read from a file named by `<NAME>_FILE`, as secrets are), checked
//! with messages that name the variable, and overridable by tests, which build a
//! `Config` directly.
//!
//! `Config` is nested by concern (server, storage, database, events, auth, sso, limits,
//! library, media, telemetry...). Each setting is declared once, in its section's
//! [`section!`] block: its field and type, its variable, its default, whether it is a
//! secret, and its one-line meaning. Loading, the messages for a bad value, and the
//! README's configuration table ([`readme_table`], held to the README by a test) all come
//! from that one declaration. What several settings make together (the S3 store, Kafka,
//! the single sign-on providers) is put together after loading, in [`Config::assemble`].

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// How long an API access token lives (seconds); refresh tokens renew it. The key grace
/// period must cover it (see `validate`).
pub const ACCESS_TTL_SECS: u64 = 15 * 60;

/// One setting, as declared.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The variable (`REFRAIN_...`).
    pub var: &'static str,
    /// Older names still read when the variable is unset (`DATABASE_URL`...).
    pub aliases: &'static [&'static str],
    /// The value used when it is unset, read as a set value would be ("": unset).
    pub default: &'static str,
    /// What the README says the default is, where the value alone would not say it.
    pub shown: &'static str,
    /// Never printed (debug output shows `<redacted>`).
    pub secret: bool,
    /// What it does (the README's "meaning" column).
    pub about: &'static str,
}

/// How a setting's text becomes its value; the error is the message after the variable's
/// name.
pub trait Value: Sized {
    fn parse(s: &str) -> Result<Self, String>;
}

macro_rules! from_str_values {
    ($($t:ty),*) => {$(
        impl Value for $t {
            fn parse(s: &str) -> Result<Self, String> {
                s.trim().parse::<$t>().map_err(|e| format!("{s:?}: {e}"))
            }
        }
    )*};
}
from_str_values!(u16, u32, u64, i32, i64, usize, bool, IpAddr);

impl Value for String {
    fn parse(s: &str) -> Result<Self, String> {
        Ok(s.trim().to_string())
    }
}

impl Value for PathBuf {
    fn parse(s: &str) -> Result<Self, String> {
        Ok(PathBuf::from(s.trim()))
    }
}

impl Value for Redacted {
    fn parse(s: &str) -> Result<Self, String> {
        Ok(Redacted(s.trim().to_string()))
    }
}

/// Empty is unset.
impl<T: Value> Value for Option<T> {
    fn parse(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            Ok(None)
        } else {
            T::parse(s).map(Some)
        }
    }
}

/// A `:`-separated list of absolute paths; empty entries are left out.
impl Value for Vec<PathBuf> {
    fn parse(s: &str) -> Result<Self, String> {
        let paths: Vec<PathBuf> = s
            .split(':')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect();
        match paths.iter().find(|p| !p.is_absolute()) {
            Some(p) => Err(format!("{} is not an absolute path", p.display())),
            None => Ok(paths),
        }
    }
}

impl Value for EmailVerification {
    fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "required" => Ok(EmailVerification::Required),
            "optional" => Ok(EmailVerification::Optional),
            "off" => Ok(EmailVerification::Off),
            other => Err(format!("{other:?}: use required, optional or off")),
        }
    }
}

impl Value for TrustedProxies {
    fn parse(s: &str) -> Result<Self, String> {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<ProxyNet>().map_err(|why| {
                    format!(
                        "{s:?}: {why} (use a comma-separated list of addresses or networks such as 10.0.0.0/8)"
                    )
                })
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }
}

/// Parsers and checks some declarations name instead of their type's own.
mod read {
    use super::Redacted;

    /// A number of megabytes, kept as bytes.
    pub fn megabytes(s: &str) -> Result<u64, String> {
        let mb: u64 = super::Value::parse(s)?;
        Ok(mb.saturating_mul(1024 * 1024))
    }

    pub fn at_least_one<T: PartialOrd + From<u8>>(v: &T) -> Result<(), String> {
        if *v < T::from(1) {
            Err("must be at least 1".into())
        } else {
            Ok(())
        }
    }

    /// A URL without its trailing slash (empty: unset).
    pub fn url_without_slash(s: &str) -> Result<Option<String>, String> {
        let s = s.trim();
        Ok((!s.is_empty()).then(|| s.trim_end_matches('/').to_string()))
    }

    /// Comma-separated host names, lowercased.
    pub fn hosts(s: &str) -> Result<Vec<String>, String> {
        Ok(s.split(',')
            .map(|h| h.trim().to_lowercase())
            .filter(|h| !h.is_empty())
            .collect())
    }

    pub fn duration(s: &str) -> Result<Option<std::time::Duration>, String> {
        if s.trim().is_empty() {
            return Ok(None);
        }
        super::parse_duration(s)
            .map(Some)
            .ok_or_else(|| format!("{s:?}: use a number with s, m, h or d (at least 1m), e.g. 6h"))
    }

    pub fn secret_key(s: &str) -> Result<Option<Redacted>, String> {
        if s.trim().is_empty() {
            return Ok(None);
        }
        crate::infra::sealed::SecretKey::parse(s).map_err(|e| e.to_string())?;
        Ok(Some(Redacted(s.to_string())))
    }

    pub fn smtp_url(s: &str) -> Result<Option<Redacted>, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        if !(s.starts_with("smtp://") || s.starts_with("smtps://")) {
            return Err("must start with smtp:// or smtps://".into());
        }
        Ok(Some(Redacted(s.to_string())))
    }

    pub fn metrics_token(s: &str) -> Result<Option<Redacted>, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        if s.len() < 16 {
            return Err("must be at least 16 characters (a long random string)".into());
        }
        Ok(Some(Redacted(s.to_string())))
    }

    pub fn email(s: &str) -> Result<Option<String>, String> {
        if s.trim().is_empty() {
            return Ok(None);
        }
        crate::infra::actor::normalize_email(s)
            .map(Some)
            .map_err(|_| format!("{s:?} is not an email address"))
    }

    pub fn otlp_endpoint(s: &str) -> Result<Option<String>, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        match url::Url::parse(s) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                Ok(Some(s.to_string()))
            }
            _ => Err(format!(
                "{s:?}: use an http:// or https:// URL (an OTLP/HTTP receiver, port 4318)"
            )),
        }
    }

    /// `json` or `text`: whether log lines are JSON.
    pub fn log_json(s: &str) -> Result<bool, String> {
        match s.trim() {
            "json" => Ok(true),
            "text" | "" => Ok(false),
            other => Err(format!("{other:?}: use json or text")),
        }
    }
}

/// A check of a parsed value; the error is the message after the variable's name.
type Check<T> = fn(&T) -> Result<(), String>;

/// Where settings are read from: the process environment, or a map in tests.
struct Source<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
}

impl Source<'_> {
    /// The variable's text (or its `_FILE`'s contents, or an alias's), and the name it was
    /// found under; `None` when none of them is set.
    fn text(&self, s: &Setting) -> Result<Option<(String, String)>, ConfigError> {
        for name in std::iter::once(&s.var).chain(s.aliases) {
            if let Some(v) = (self.get)(name) {
                return Ok(Some((name.to_string(), v)));
            }
            let file_var = format!("{name}_FILE");
            if let Some(path) = (self.get)(&file_var) {
                return std::fs::read_to_string(&path)
                    .map(|v| Some((file_var.clone(), v.trim().to_string())))
                    .map_err(|e| err(&file_var, format!("cannot read {path}: {e}")));
            }
        }
        Ok(None)
    }

    fn is_set(&self, s: &Setting) -> Result<bool, ConfigError> {
        Ok(self.text(s)?.is_some())
    }

    fn read<T>(
        &self,
        s: &Setting,
        parse: fn(&str) -> Result<T, String>,
        check: Option<Check<T>>,
    ) -> Result<T, ConfigError> {
        let (name, text) = self
            .text(s)?
            .unwrap_or_else(|| (s.var.to_string(), s.default.to_string()));
        let v = parse(&text).map_err(|m| err(&name, m))?;
        if let Some(check) = check {
            check(&v).map_err(|m| err(&name, m))?;
        }
        Ok(v)
    }
}

/// Declares a section: its struct, and for each setting its field, type, variable
/// (`| ALIAS` for older names), default (`shown` for the README where the value alone would
/// not say it), whether it is a secret, a parser and a check other than the type's own,
/// and what it does. Fields after `derived` are put together from the settings after
/// loading ([`Config::assemble`]).
macro_rules! section {
    (
        $(#[doc = $sdoc:literal])*
        $name:ident ($title:literal) {
            $(
                $(#[doc = $doc:literal])*
                $field:ident: $ty:ty = $var:literal $(| $alias:literal)*,
                    default $default:literal
                    $(, shown $shown:literal)?
                    $(, secret $secret:literal)?
                    $(, parse $parse:path)?
                    $(, check $check:path)?
                    , about $about:literal;
            )*
        }
        $(derived {
            $( $(#[doc = $ddoc:literal])* $dfield:ident: $dty:ty = $dinit:expr; )*
        })?
    ) => {
        $(#[doc = $sdoc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            $( $(#[doc = $doc])* pub $field: $ty, )*
            $($( $(#[doc = $ddoc])* pub $dfield: $dty, )*)?
        }

        impl $name {
            /// The section's name in the README.
            pub const TITLE: &'static str = $title;
            /// Its settings, in the order declared.
            pub const SETTINGS: &'static [Setting] = &[$(
                Setting {
                    var: $var,
                    aliases: &[$($alias),*],
                    default: $default,
                    shown: section!(@or $($shown)?, ""),
                    secret: section!(@or $($secret)?, false),
                    about: $about,
                },
            )*];

            fn load(src: &Source<'_>) -> Result<Self, ConfigError> {
                let mut settings = Self::SETTINGS.iter();
                Ok($name {
                    $( $field: src.read::<$ty>(
                        settings.next().ok_or_else(|| err($var, "not declared"))?,
                        section!(@or $($parse)?, <$ty as Value>::parse),
                        section!(@check $($check)?),
                    )?, )*
                    $($( $dfield: $dinit, )*)?
                })
            }

            /// Every setting at its default (the defaults are checked by a test).
            fn defaults() -> Self {
                let none = |_: &str| None;
                Self::load(&Source { get: &none })
                    .unwrap_or_else(|e| panic!("a declared default is not valid: {e}"))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::defaults()
            }
        }
    };
    (@or $given:expr, $default:expr) => { $given };
    (@or , $default:expr) => { $default };
    (@check $check:path) => { Some($check) };
    (@check) => { None };
}

section! {
    /// The HTTP server and its connections.
    ServerConfig ("Server") {
        /// Address the HTTP server binds.
        host: IpAddr = "REFRAIN_HOST", default "127.0.0.1",
            about "address to bind (`0.0.0.0` to listen on the network)";
        port: u16 = "REFRAIN_PORT", default "3000", about "port";
        /// The worker's `/healthz`, `/readyz` and `/metrics` (0 turns them off).
        worker_port: u16 = "REFRAIN_WORKER_PORT", default "3100",
            about "where `refrain-worker` serves `/healthz`, `/readyz` and `/metrics` (on `REFRAIN_HOST`); `0` turns them off";
        /// The address users reach Refrain at, for links in emails.
        public_url: Option<String> = "REFRAIN_PUBLIC_URL", default "", shown "`http://HOST:PORT`",
            parse read::url_without_slash,
            about "the address in email links (set it to your public https URL)";
        /// Where the built site (JS/WASM/CSS) is.
        site_root: PathBuf = "REFRAIN_SITE_ROOT" | "LEPTOS_SITE_ROOT", default "target/site",
            about "where the built JS/WASM/CSS is";
        /// Set the Secure flag on cookies (serve over HTTPS).
        secure_cookies: bool = "REFRAIN_SECURE_COOKIES", default "false",
            about "set `true` behind HTTPS (adds `Secure`, uses the `__Host-` cookie name)";
        /// Reverse proxies whose `X-Forwarded-For` is believed: addresses or networks.
        trusted_proxies: TrustedProxies = "REFRAIN_TRUSTED_PROXIES", default "",
            about "comma-separated proxy addresses or networks (`10.0.0.0/8`, `fd00::/8`: an ingress whose pods come and go) whose `X-Forwarded-For` is believed (for throttling, the rate limits and the sessions list) and whose connections are not capped per client";
        /// A request with no answer's head after this long is answered 503 (uploads are
        /// exempt: their body takes its time).
        request_timeout_secs: u64 = "REFRAIN_REQUEST_TIMEOUT_SECS", default "30", check read::at_least_one,
            about "a request with no answer after this long gets 503 with `Retry-After: 5` (and its work is dropped; what it started in the database is rolled back). Uploads are exempt: their body may take long on a slow link";
        /// A connection that has not sent a whole request head this long after it opened
        /// (or after its last answer) is closed.
        header_timeout_secs: u64 = "REFRAIN_HEADER_TIMEOUT_SECS", default "10", check read::at_least_one,
            about "a connection that has not sent a whole request head this long after it opened (or after its last answer) is closed: a client dribbling headers (slowloris) holds a connection for at most this long";
        /// Open connections one node serves at once; past it a new one gets 503.
        max_connections: usize = "REFRAIN_MAX_CONNECTIONS", default "1024", check read::at_least_one,
            about "open connections one node serves; past it a new connection gets a short 503 with `Retry-After: 1` and is closed";
        /// Open connections from one client address (trusted proxies are exempt).
        max_connections_per_client: usize = "REFRAIN_MAX_CONNECTIONS_PER_CLIENT", default "64", check read::at_least_one,
            about "open connections from one client address (trusted proxies are exempt); past it a new connection gets a short 503 with `Retry-After: 1` and is closed";
    }
}

section! {
    /// Where files live: the data directory, local or S3 object storage, and the limits on
    /// what is stored.
    StorageConfig ("Storage") {
        /// Everything the embedded default keeps on disk lives under here.
        data_dir: PathBuf = "REFRAIN_DATA_DIR", default "./refrain-data",
            about "the SQLite database and local objects live here";
        /// Local object storage root, used unless `s3` is set.
        storage_dir: PathBuf = "REFRAIN_STORAGE_DIR", default "", shown "`<data>/objects`",
            about "local object storage";
        /// `s3://bucket[/prefix]` or `file:///path` (see `s3`).
        storage_url: Option<String> = "REFRAIN_STORAGE_URL", default "",
            about "`s3://bucket[/prefix]` for S3-compatible storage (or `file:///path`)";
        s3_endpoint: Option<String> = "REFRAIN_S3_ENDPOINT", default "", shown "AWS",
            about "e.g. `http://garage:3900` for a self-hosted server";
        s3_region: String = "REFRAIN_S3_REGION", default "us-east-1", about "the bucket's region";
        s3_access_key_id: Option<String> = "REFRAIN_S3_ACCESS_KEY_ID", default "",
            about "S3 credentials: the key id";
        s3_secret_access_key: Option<Redacted> = "REFRAIN_S3_SECRET_ACCESS_KEY", default "", secret true,
            about "S3 credentials: the secret";
        s3_path_style: Option<bool> = "REFRAIN_S3_PATH_STYLE", default "", shown "`true` with an endpoint",
            about "path-style requests, as self-hosted servers want";
        /// Serve streams by redirecting to a short-lived presigned URL (S3 only).
        stream_redirect: bool = "REFRAIN_STREAM_REDIRECT", default "false",
            about "S3 only: answer stream requests with a 307 to a presigned URL (at most 5 minutes, never past the stream token) instead of passing bytes through; browsers then need CORS on the bucket";
        /// Largest accepted upload in bytes.
        max_upload_bytes: u64 = "REFRAIN_MAX_UPLOAD_MB", default "500", parse read::megabytes, check read::at_least_one,
            about "largest upload; bigger ones get `413` and nothing is stored";
        /// The same limit in bytes, when given so (it wins over the megabytes).
        max_upload_bytes_exact: Option<u64> = "REFRAIN_MAX_UPLOAD_BYTES", default "",
            about "the same limit in bytes (wins over `REFRAIN_MAX_UPLOAD_MB`)";
        /// Storage a listener's personal uploads may use unless an admin set another quota.
        default_quota_bytes: u64 = "REFRAIN_DEFAULT_QUOTA_MB", default "2048", parse read::megabytes,
            about "storage a listener's personal uploads may use (admins can set another per user)";
        /// The most bytes kept Subsonic transcodes may take in object storage; past it the
        /// oldest are dropped. 0 keeps none.
        transcode_cache_bytes: u64 = "REFRAIN_TRANSCODE_CACHE_MB", default "2048", parse read::megabytes,
            about "the most kept Subsonic transcodes may take in object storage, all together; past it the oldest are dropped (`0` keeps none)";
    }
    derived {
        /// S3-compatible object storage (`REFRAIN_STORAGE_URL=s3://bucket`).
        s3: Option<S3Config> = None;
    }
}

section! {
    /// The database.
    DatabaseConfig ("Database") {
        /// `sqlite://...` (default: `<data_dir>/refrain.db`) or `postgres://...`.
        url: String = "REFRAIN_DATABASE_URL" | "DATABASE_URL", default "", shown "`sqlite://<data>/refrain.db?mode=rwc`",
            about "`sqlite://...` or `postgres://user:pass@host/db`; migrated at start-up";
    }
}

section! {
    /// Redis, for sessions and rate limits shared by several server nodes.
    RedisConfig ("Redis") {
        /// `None` keeps sessions in the database.
        url: Option<String> = "REFRAIN_REDIS_URL" | "REDIS_URL", default "",
            about "keep sessions in Redis (with expiry) so several server nodes share logins; unset keeps them in the database";
    }
}

section! {
    /// Events: the outbox, Kafka, and where the handlers run.
    EventsConfig ("Events and Kafka") {
        kafka_brokers: Option<String> = "REFRAIN_KAFKA_BROKERS", default "",
            about "`host:port,...`: the server relays the outbox to Kafka and `refrain-worker` processes consume it";
        kafka_topic_prefix: String = "REFRAIN_KAFKA_TOPIC_PREFIX", default "refrain.",
            about "topics `<prefix>imports`, `<prefix>notifications`, `<prefix>playback`, `<prefix>dead-letter` (created at start)";
        kafka_group: String = "REFRAIN_KAFKA_GROUP", default "refrain-workers",
            about "the workers' consumer group";
        kafka_partitions: i32 = "REFRAIN_KAFKA_PARTITIONS", default "3",
            about "partitions of the topics Refrain creates";
        kafka_instance_id: Option<String> = "REFRAIN_KAFKA_INSTANCE_ID", default "",
            about "a worker's stable Kafka group member id (static membership): restarted under the same id, it takes its partitions back at once";
        /// Run the event handlers in-process, fed from the outbox table.
        embedded_worker: bool = "REFRAIN_EMBEDDED_WORKER", default "true", shown "`true` (`false` with Kafka)",
            about "run the event handlers in the server process";
        /// Give up on an event after this many failed attempts.
        max_event_attempts: i64 = "REFRAIN_MAX_EVENT_ATTEMPTS", default "5", check read::at_least_one,
            about "after this many failures an event goes to the dead-letter topic and its job fails with the reason";
    }
    derived {
        /// Kafka: when set, a relay publishes the outbox to Kafka and `refrain-worker`
        /// processes consume it; when unset, the outbox is read directly.
        kafka: Option<KafkaConfig> = None;
    }
}

section! {
    /// Accounts, sessions and tokens.
    AuthConfig ("Accounts and sessions") {
        /// Lifetime of a signed stream URL.
        stream_token_ttl_secs: u64 = "REFRAIN_STREAM_TOKEN_TTL_SECS", default "600",
            about "lifetime of a signed stream URL (the player renews it); checked with no clock leeway, unlike API access tokens";
        /// How long a rotated-out signing key keeps verifying the tokens it signed.
        key_grace_secs: u64 = "REFRAIN_KEY_GRACE_SECS", default "3600",
            about "after `refrain rotate-keys`, how long the old signing keys keep verifying (at least the longest token lifetime plus two minutes)";
        /// Session idle lifetime.
        session_ttl_secs: i64 = "REFRAIN_SESSION_TTL_SECS", default "1209600",
            about "a session ends after this long without activity (14 days)";
        /// A login ends this long after it began, however active.
        session_absolute_secs: i64 = "REFRAIN_SESSION_ABSOLUTE_SECS", default "2592000",
            about "a login ends this long after it began, however active (30 days)";
        /// Whether a new account must confirm its email address before logging in.
        email_verification: EmailVerification = "REFRAIN_EMAIL_VERIFICATION", default "optional",
            about "`required` (log in only after following the sign-up link), `optional` (the link is sent, the account works at once) or `off`";
        /// Admin functions refuse admins who have not turned two-factor on.
        require_admin_2fa: bool = "REFRAIN_REQUIRE_ADMIN_2FA", default "false",
            about "admin functions refuse admins who have not turned two-factor on";
        /// This account becomes admin when it signs up (otherwise the first account does).
        admin_email: Option<String> = "REFRAIN_ADMIN_EMAIL", default "", parse read::email,
            about "this account becomes admin when it signs up; unset, the first account does";
        /// The server key that seals secrets Refrain must read back; unset, one is
        /// generated into `<data_dir>/secret.key` (several nodes must share one).
        secret_key: Option<Redacted> = "REFRAIN_SECRET_KEY", default "", shown "generated into `<data>/secret.key`", secret true, parse read::secret_key,
            about "the server key (32 bytes: 64 hex digits or 43 base64url characters) that seals what the database keeps of secrets the server must read back (ChaCha20-Poly1305, each bound to its use): the Subsonic app passwords, the two-factor (TOTP) secrets (bound to their user too) and the private halves of the token signing keys, so a copy of the database alone can neither make codes nor mint tokens. Secrets stored in clear by an older version are sealed at the first start of this one (once per database; recorded in `maintenance_done`). Several server nodes and workers must share one: set it (or `REFRAIN_SECRET_KEY_FILE`) on each; a PostgreSQL node without it warns at start-up, and a node whose key does not open the stored signing keys refuses to start, saying so. Losing it: app passwords stop working (make new ones), two-factor accounts sign in with a recovery code and set two-factor up again, and `DELETE FROM signing_keys` lets the server make new signing keys (API tokens and stream URLs issued before stop working; sessions are unaffected)";
        /// Sign-ups one client address may make within 15 minutes before each further one
        /// waits.
        signups_per_address: i64 = "REFRAIN_SIGNUPS_PER_ADDRESS", default "10", check read::at_least_one,
            about "sign-ups one client address may make within 15 minutes; each further one waits twice as long as the one before (429)";
    }
}

section! {
    /// Refrain's emails.
    MailConfig ("Email") {
        /// Unset, emails are written as `.eml` files under `<data dir>/mail` instead.
        smtp_url: Option<Redacted> = "REFRAIN_SMTP_URL", default "", secret true, parse read::smtp_url,
            about "`smtp://host:port` or `smtps://user:pass@host:465` for Refrain's emails; unset, each email is written as an `.eml` file to `<data dir>/mail/`";
        /// The From address of Refrain's emails.
        mail_from: String = "REFRAIN_MAIL_FROM", default "Refrain <refrain@localhost>",
            about "the From of those emails";
    }
}

section! {
    /// Single sign-on (OpenID Connect, Google).
    SsoConfig ("Single sign-on") {
        oidc_issuer: Option<String> = "REFRAIN_OIDC_ISSUER", default "",
            about "an OpenID Connect issuer URL (https; plain http only on loopback): its discovery document is read from `/.well-known/openid-configuration`; needs the next two";
        oidc_client_id: Option<String> = "REFRAIN_OIDC_CLIENT_ID", default "",
            about "Refrain's client at that issuer (a confidential client; redirect URI `<public URL>/sso/callback`)";
        oidc_client_secret: Option<Redacted> = "REFRAIN_OIDC_CLIENT_SECRET", default "", secret true,
            about "that client's secret";
        oidc_name: Option<String> = "REFRAIN_OIDC_NAME", default "", shown "the issuer's host",
            about "what the button says: *Continue with NAME*";
        oidc_scopes: String = "REFRAIN_OIDC_SCOPES", default "openid email profile",
            about "scopes asked for (must include `openid` and `email`)";
        google_client_id: Option<String> = "REFRAIN_GOOGLE_CLIENT_ID", default "",
            about "*Continue with Google* (an OAuth client of type Web application in Google Cloud)";
        google_client_secret: Option<Redacted> = "REFRAIN_GOOGLE_CLIENT_SECRET", default "", secret true,
            about "that Google client's secret";
        /// A first sign-in whose verified email matches an account links to it without
        /// asking for that account's password, when the account's own address is verified.
        auto_link: bool = "REFRAIN_OIDC_AUTO_LINK", default "false",
            about "a first sign-in whose address the provider verified links to the account with that address without asking for its password, when that account's own address is verified too (confirmed by a link); otherwise its password is asked as without this setting. With `REFRAIN_EMAIL_VERIFICATION=off` no address is ever confirmed, so nothing links by itself";
        /// A provider's multi-factor sign-in (`amr`) stands in for Refrain's own second
        /// factor.
        trust_mfa: bool = "REFRAIN_OIDC_TRUST_MFA", default "false",
            about "a provider's multi-factor sign-in (`amr`) stands in for the account's own two-factor code";
    }
    derived {
        /// The providers the login page offers, in order (see [`SsoProvider`]).
        providers: Vec<SsoProvider> = Vec::new();
    }
}

section! {
    /// Requests per client address per minute (`0`: no limit of that kind). Every request
    /// counts against `general`; the expensive kinds count against their own limit as well.
    RateLimits ("Rate limits") {
        /// All requests (health probes and `/metrics` aside).
        general: u32 = "REFRAIN_RATE_LIMIT", default "1200",
            about "requests one client address (an IPv6 client: its /64) may make per minute, on every route but `/healthz`, `/readyz` and `/metrics`; past it, 429 with `Retry-After`. Counted on each node, or across all nodes in Redis when `REFRAIN_REDIS_URL` is set. `0`: no limit";
        /// Searches (the web search, YouTube search, Subsonic `search2`/`search3`).
        search: u32 = "REFRAIN_RATE_LIMIT_SEARCH", default "240",
            about "searches (web, YouTube, Subsonic `search2`/`search3`) per minute, counted on top of the general limit";
        /// Uploaded files.
        uploads: u32 = "REFRAIN_RATE_LIMIT_UPLOADS", default "300",
            about "uploaded files per minute, on top of the general limit (the web player sends a refused upload again when `Retry-After` says)";
        /// Imports from a URL or YouTube.
        url_imports: u32 = "REFRAIN_RATE_LIMIT_URL_IMPORTS", default "30",
            about "imports from a link or YouTube per minute, on top of the general limit";
        /// Pictures decoded and resized on upload (avatars, album covers).
        images: u32 = "REFRAIN_RATE_LIMIT_IMAGES", default "30",
            about "pictures resized on upload (avatars, album covers) per minute, on top of the general limit";
    }
}

section! {
    /// What one node takes on at once, and how it protects itself from a failing service.
    LimitsConfig ("Load and failures") {
        /// Transcodes for Subsonic apps one node runs at once; past it an app gets 429.
        transcodes_max: usize = "REFRAIN_TRANSCODES_MAX", default "4",
            about "transcodes one node runs at once for Subsonic apps (past it: 429)";
        /// ...and per user.
        transcodes_per_user: usize = "REFRAIN_TRANSCODES_PER_USER", default "2",
            about "transcodes one node runs at once for one user's Subsonic apps (past it: 429)";
        /// Object storage or Kafka failing this many calls in a row opens its breaker...
        breaker_failures: u32 = "REFRAIN_BREAKER_FAILURES", default "5", check read::at_least_one,
            about "S3 object storage failing this many calls in a row (not answering, or no answer within 20 s) opens its circuit breaker: for the cooldown every request that needs the store is answered 503 with `Retry-After` at once, without trying it; then one call goes through as a probe, and its success closes the breaker. S3 calls themselves give up quickly (5 s to connect, two retries within 10 s). Kafka has a breaker of its own on each node: while open the outbox relay waits instead of trying (events stay in the outbox; requests never wait on Kafka), and `/readyz` and `/metrics` say \"not answering (circuit open)\" at once instead of asking the brokers";
        /// ...and calls fail at once for this long before one is let through as a probe.
        breaker_cooldown_secs: u64 = "REFRAIN_BREAKER_COOLDOWN_SECS", default "10", check read::at_least_one,
            about "how long an open circuit breaker answers at once before it lets one call through as a probe";
    }
}

section! {
    /// Music folders scanned into the shared catalog.
    LibraryConfig ("Music folders") {
        /// Folders scanned into the shared catalog in place (admins add more).
        dirs: Vec<PathBuf> = "REFRAIN_LIBRARY_DIRS", default "",
            about "music folders scanned in place, `:`-separated absolute paths (admins add more on the admin page)";
        /// When not empty, music folders must lie inside one of these.
        allow_roots: Vec<PathBuf> = "REFRAIN_LIBRARY_ALLOW_ROOTS", default "",
            about "when set (`:`-separated absolute paths), music folders must lie inside one of these; system locations are refused always";
        /// Rescan the folders this often; `None` scans only on demand.
        scan_interval: Option<std::time::Duration> = "REFRAIN_SCAN_INTERVAL", default "", parse read::duration,
            about "rescan the music folders this often (`30m`, `6h`, `1d`; at least a minute); unset, scans run on demand";
        /// Background renditions of scanned tracks made per minute at most.
        renditions_per_minute: u32 = "REFRAIN_RENDITIONS_PER_MINUTE", default "60", check read::at_least_one,
            about "background renditions of scanned tracks per minute at most";
        /// Watch the folders and take changes in within seconds.
        watch: bool = "REFRAIN_LIBRARY_WATCH", default "true",
            about "watch the music folders and take changes in within seconds";
    }
}

section! {
    /// Imports from a link.
    ImportsConfig ("Imports from links") {
        /// Hosts URL imports may fetch from whatever they resolve to, on any port.
        allow_hosts: Vec<String> = "REFRAIN_IMPORT_ALLOW_HOSTS", default "", parse read::hosts,
            about "hosts (`name`, `name:port`, comma-separated) that imports from a link may reach whatever they resolve to and on any port (intranets, tests)";
        /// A URL import's download is given up after this long.
        timeout_secs: u64 = "REFRAIN_IMPORT_TIMEOUT_SECS", default "600", check read::at_least_one,
            about "an import from a link gives up after this long";
    }
}

section! {
    /// The media tools and how long they get.
    MediaConfig ("Media tools") {
        ffmpeg: String = "REFRAIN_FFMPEG", default "ffmpeg", about "ffmpeg, which makes the renditions";
        ffprobe: String = "REFRAIN_FFPROBE", default "ffprobe", about "ffprobe, which reads what a file holds";
        /// util-linux `prlimit`, which starts ffmpeg and ffprobe under limits (empty runs
        /// them without).
        prlimit: String = "REFRAIN_PRLIMIT", default "prlimit",
            about "util-linux `prlimit`, which starts ffmpeg and ffprobe under memory, CPU-time and file-size limits; empty runs them without (where it is missing)";
        /// yt-dlp, for YouTube search and pages that are not audio files (empty: off).
        ytdlp: String = "REFRAIN_YTDLP", default "yt-dlp",
            about "yt-dlp (the set-up installs 2026.11.23 from PyPI) for YouTube search and for links to pages rather than audio files; empty turns both off";
        /// ffmpeg gets this long for one file before the file is rejected.
        timeout_secs: u64 = "REFRAIN_MEDIA_TIMEOUT_SECS", default "900", check read::at_least_one,
            about "ffmpeg gets this long for one file; over it the file is rejected with that reason";
        /// lofty gets this long to read one file's tags; over it the file is skipped.
        tag_read_timeout_secs: u64 = "REFRAIN_TAG_READ_TIMEOUT_SECS", default "10", check read::at_least_one,
            about "lofty gets this long to read one file's tags (scans, imports, covers); over it the file is skipped with that reason and its reader thread replaced (see *Music folders*)";
    }
}

section! {
    /// Traces, logs and metrics.
    TelemetryConfig ("Traces, logs and metrics") {
        /// An OTLP/HTTP endpoint; unset, spans only give the logs their trace ids.
        otlp_endpoint: Option<String> = "REFRAIN_OTLP_ENDPOINT", default "", parse read::otlp_endpoint,
            about "an OTLP/HTTP receiver (`http://collector:4318`) the server and workers send their traces to";
        /// One JSON object per log line instead of text.
        log_json: bool = "REFRAIN_LOG_FORMAT", default "text", parse read::log_json,
            about "`json`: one JSON object per log line (with the request and trace ids)";
        /// `/metrics` answers only requests bearing it.
        metrics_token: Option<Redacted> = "REFRAIN_METRICS_TOKEN", default "", secret true, parse read::metrics_token,
            about "`/metrics` answers only requests with `Authorization: Bearer <token>` (at least 16 characters). Unset, it answers nobody (404) unless `REFRAIN_METRICS_LOOPBACK=true`";
        /// Without a token, direct requests from this machine may read `/metrics`.
        metrics_loopback: bool = "REFRAIN_METRICS_LOOPBACK", default "false",
            about "with no token set, `true` lets direct requests from the machine itself read `/metrics` (a loopback peer without forwarding headers); off by default, because a proxy on the same machine that adds no forwarding header would hand the figures to anyone";
    }
}

/// Plain numbers: passed around by value.
impl Copy for RateLimits {}

impl PartialEq for RateLimits {
    fn eq(&self, o: &Self) -> bool {
        (
            self.general,
            self.search,
            self.uploads,
            self.url_imports,
            self.images,
        ) == (o.general, o.search, o.uploads, o.url_imports, o.images)
    }
}

/// Everything Refrain is configured with, by concern.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub database: DatabaseConfig,
    pub redis: RedisConfig,
    pub events: EventsConfig,
    pub auth: AuthConfig,
    pub mail: MailConfig,
    pub sso: SsoConfig,
    pub rate_limits: RateLimits,
    pub limits: LimitsConfig,
    pub library: LibraryConfig,
    pub imports: ImportsConfig,
    pub media: MediaConfig,
    pub telemetry: TelemetryConfig,
}

/// Every section's title and settings, in the README's order.
pub fn sections() -> [(&'static str, &'static [Setting]); 14] {
    [
        (ServerConfig::TITLE, ServerConfig::SETTINGS),
        (StorageConfig::TITLE, StorageConfig::SETTINGS),
        (DatabaseConfig::TITLE, DatabaseConfig::SETTINGS),
        (RedisConfig::TITLE, RedisConfig::SETTINGS),
        (EventsConfig::TITLE, EventsConfig::SETTINGS),
        (AuthConfig::TITLE, AuthConfig::SETTINGS),
        (MailConfig::TITLE, MailConfig::SETTINGS),
        (SsoConfig::TITLE, SsoConfig::SETTINGS),
        (RateLimits::TITLE, RateLimits::SETTINGS),
        (LimitsConfig::TITLE, LimitsConfig::SETTINGS),
        (LibraryConfig::TITLE, LibraryConfig::SETTINGS),
        (ImportsConfig::TITLE, ImportsConfig::SETTINGS),
        (MediaConfig::TITLE, MediaConfig::SETTINGS),
        (TelemetryConfig::TITLE, TelemetryConfig::SETTINGS),
    ]
}

/// The README's configuration tables, one per section, made from the declarations.
pub fn readme_table() -> String {
    let mut out = String::new();
    for (title, settings) in sections() {
        out.push_str(&format!(
            "\n#### {title}\n\n| variable | default | meaning |\n|---|---|---|\n"
        ));
        for s in settings {
            let mut var = format!("`{}`", s.var);
            for a in s.aliases {
                var.push_str(&format!(" (or `{a}`)"));
            }
            let default = if !s.shown.is_empty() {
                s.shown.to_string()
            } else if s.default.is_empty() {
                "unset".to_string()
            } else {
                format!("`{}`", s.default)
            };
            let secret = if s.secret {
                " (a secret: never logged; `_FILE` suits it)"
            } else {
                ""
            };
            out.push_str(&format!("| {var} | {default} | {}{secret} |\n", s.about));
        }
    }
    out
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
        let mut c = Config {
            server: ServerConfig::defaults(),
            storage: StorageConfig::defaults(),
            database: DatabaseConfig::defaults(),
            redis: RedisConfig::defaults(),
            events: EventsConfig::defaults(),
            auth: AuthConfig::defaults(),
            mail: MailConfig::defaults(),
            sso: SsoConfig::defaults(),
            rate_limits: RateLimits::defaults(),
            limits: LimitsConfig::defaults(),
            library: LibraryConfig::defaults(),
            imports: ImportsConfig::defaults(),
            media: MediaConfig::defaults(),
            telemetry: TelemetryConfig::defaults(),
        };
        c.storage.data_dir = data_dir.into();
        c.fill_data_paths();
        c
    }

    /// The database and the object store under the data directory, unless set.
    fn fill_data_paths(&mut self) {
        if self.database.url.is_empty() {
            self.database.url = format!(
                "sqlite://{}?mode=rwc",
                self.storage.data_dir.join("refrain.db").display()
            );
        }
        if self.storage.storage_dir.as_os_str().is_empty() {
            self.storage.storage_dir = self.storage.data_dir.join("objects");
        }
    }

    /// Where links in emails point.
    pub fn public_url(&self) -> String {
        self.server
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.addr()))
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads configuration through `get`, so tests can pass a map instead of the process env.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let src = Source { get: &get };
        let mut c = Config {
            server: ServerConfig::load(&src)?,
            storage: StorageConfig::load(&src)?,
            database: DatabaseConfig::load(&src)?,
            redis: RedisConfig::load(&src)?,
            events: EventsConfig::load(&src)?,
            auth: AuthConfig::load(&src)?,
            mail: MailConfig::load(&src)?,
            sso: SsoConfig::load(&src)?,
            rate_limits: RateLimits::load(&src)?,
            limits: LimitsConfig::load(&src)?,
            library: LibraryConfig::load(&src)?,
            imports: ImportsConfig::load(&src)?,
            media: MediaConfig::load(&src)?,
            telemetry: TelemetryConfig::load(&src)?,
        };
        c.assemble(&src)?;
        c.validate()?;
        Ok(c)
    }

    /// What several settings make together: the object store, Kafka, the sign-in
    /// providers; and the defaults that depend on other settings.
    fn assemble(&mut self, src: &Source<'_>) -> Result<(), ConfigError> {
        let storage = &mut self.storage;
        if let Some(bytes) = storage.max_upload_bytes_exact {
            storage.max_upload_bytes = bytes;
        }
        if let Some(url) = storage.storage_url.clone() {
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
                let need = |v: Option<String>, name: &str| {
                    v.ok_or_else(|| err(name, "required when REFRAIN_STORAGE_URL is s3://"))
                };
                storage.s3 = Some(S3Config {
                    bucket,
                    prefix,
                    path_style: storage
                        .s3_path_style
                        .unwrap_or(storage.s3_endpoint.is_some()),
                    endpoint: storage.s3_endpoint.clone(),
                    region: storage.s3_region.clone(),
                    access_key_id: need(
                        storage.s3_access_key_id.clone(),
                        "REFRAIN_S3_ACCESS_KEY_ID",
                    )?,
                    secret_access_key: need(
                        storage.s3_secret_access_key.clone().map(|r| r.0),
                        "REFRAIN_S3_SECRET_ACCESS_KEY",
                    )?,
                });
            } else if let Some(path) = url.strip_prefix("file://") {
                storage.storage_dir = path.into();
            } else {
                return Err(err(
                    "REFRAIN_STORAGE_URL",
                    "use s3://BUCKET or file:///path",
                ));
            }
        }
        self.fill_data_paths();

        let events = &mut self.events;
        if let Some(brokers) = events.kafka_brokers.clone() {
            events.kafka = Some(KafkaConfig {
                brokers,
                topic_prefix: events.kafka_topic_prefix.clone(),
                group: events.kafka_group.clone(),
                partitions: events.kafka_partitions,
                instance_id: events.kafka_instance_id.clone(),
            });
            // The workers consume Kafka; the server only relays (unless told otherwise,
            // which `validate` refuses).
            let declared = EventsConfig::SETTINGS
                .iter()
                .find(|s| s.var == "REFRAIN_EMBEDDED_WORKER");
            if let Some(s) = declared
                && !src.is_set(s)?
            {
                events.embedded_worker = false;
            }
        }

        let sso = &mut self.sso;
        if let Some(issuer) = sso.oidc_issuer.clone() {
            let issuer = issuer.trim_end_matches('/').to_string();
            check_issuer("REFRAIN_OIDC_ISSUER", &issuer)?;
            let need = |v: Option<String>, name: &str| {
                v.ok_or_else(|| err(name, "required when REFRAIN_OIDC_ISSUER is set"))
            };
            let scopes: Vec<String> = sso
                .oidc_scopes
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
            let name = sso.oidc_name.clone().unwrap_or_else(|| {
                url::Url::parse(&issuer)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
                    .unwrap_or_else(|| "single sign-on".into())
            });
            let client_id = need(sso.oidc_client_id.clone(), "REFRAIN_OIDC_CLIENT_ID")?;
            let client_secret = need(
                sso.oidc_client_secret.clone().map(|r| r.0),
                "REFRAIN_OIDC_CLIENT_SECRET",
            )?;
            sso.providers.push(SsoProvider {
                id: "oidc".into(),
                name,
                client_id,
                client_secret: Redacted(client_secret),
                issuer,
                scopes,
            });
        }
        if let Some(id) = sso.google_client_id.clone() {
            let secret = sso.google_client_secret.clone().ok_or_else(|| {
                err(
                    "REFRAIN_GOOGLE_CLIENT_SECRET",
                    "required when REFRAIN_GOOGLE_CLIENT_ID is set",
                )
            })?;
            sso.providers.push(SsoProvider {
                id: "google".into(),
                name: "Google".into(),
                issuer: "https://accounts.google.com".into(),
                client_id: id,
                client_secret: secret,
                scopes: vec!["openid".into(), "email".into(), "profile".into()],
            });
        }
        Ok(())
    }

    /// What no one setting can check alone.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if crate::db::Kind::of(&self.database.url).is_none() {
            return Err(err(
                "REFRAIN_DATABASE_URL",
                "use a sqlite://... or postgres://... URL",
            ));
        }
        if let Some(r) = &self.redis.url
            && !(r.starts_with("redis://") || r.starts_with("rediss://"))
        {
            return Err(err(
                "REFRAIN_REDIS_URL",
                "use a redis://... or rediss://... URL",
            ));
        }
        if self.storage.stream_redirect && self.storage.s3.is_none() {
            return Err(err(
                "REFRAIN_STREAM_REDIRECT",
                "needs S3 storage (REFRAIN_STORAGE_URL=s3://...)",
            ));
        }
        if self.events.kafka.is_some() && self.events.embedded_worker {
            return Err(err(
                "REFRAIN_EMBEDDED_WORKER",
                "cannot be true with Kafka: run refrain-worker processes",
            ));
        }
        if self.events.max_event_attempts < 1 {
            return Err(err("REFRAIN_MAX_EVENT_ATTEMPTS", "must be at least 1"));
        }
        if self.storage.max_upload_bytes == 0 {
            return Err(err("REFRAIN_MAX_UPLOAD_BYTES", "must be greater than zero"));
        }
        if self.auth.stream_token_ttl_secs < 30 {
            return Err(err(
                "REFRAIN_STREAM_TOKEN_TTL_SECS",
                "must be at least 30 seconds",
            ));
        }
        // A node signs with a rotated-out key for up to a minute more, and a token lives
        // its lifetime (plus a minute of clock leeway) after that.
        let longest = self.auth.stream_token_ttl_secs.max(ACCESS_TTL_SECS) + 120;
        if self.auth.key_grace_secs < longest {
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
        SocketAddr::new(self.server.host, self.server.port)
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

    fn lookup(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| env.get(k).cloned())
    }

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
        let e = lookup(&[("REFRAIN_LIBRARY_DIRS", "/srv/music:relative/path")]).unwrap_err();
        assert_eq!(e.var, "REFRAIN_LIBRARY_DIRS");
        let c = lookup(&[
            ("REFRAIN_LIBRARY_DIRS", "/srv/music: /mnt/more "),
            ("REFRAIN_SCAN_INTERVAL", "2h"),
        ])
        .unwrap();
        assert_eq!(
            c.library.dirs,
            vec![PathBuf::from("/srv/music"), PathBuf::from("/mnt/more")]
        );
        assert_eq!(
            c.library.scan_interval,
            Some(std::time::Duration::from_secs(7200))
        );
        assert!(c.library.allow_roots.is_empty());
        let e = lookup(&[("REFRAIN_LIBRARY_ALLOW_ROOTS", "/srv:music")]).unwrap_err();
        assert_eq!(e.var, "REFRAIN_LIBRARY_ALLOW_ROOTS");
        let c = lookup(&[("REFRAIN_LIBRARY_ALLOW_ROOTS", "/srv/music:/mnt")]).unwrap();
        assert_eq!(
            c.library.allow_roots,
            vec![PathBuf::from("/srv/music"), PathBuf::from("/mnt")]
        );
        let e = lookup(&[("REFRAIN_SCAN_INTERVAL", "soon")]).unwrap_err();
        assert_eq!(e.var, "REFRAIN_SCAN_INTERVAL");
        assert!(e.message.contains("6h"), "{}", e.message);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = lookup(&[("REFRAIN_PORT", "eighty")]).unwrap_err();
        assert_eq!(e.var, "REFRAIN_PORT");
        assert!(e.message.contains("eighty"), "{}", e.message);
        for var in [
            "REFRAIN_REQUEST_TIMEOUT_SECS",
            "REFRAIN_MAX_CONNECTIONS",
            "REFRAIN_BREAKER_FAILURES",
            "REFRAIN_RENDITIONS_PER_MINUTE",
            "REFRAIN_SIGNUPS_PER_ADDRESS",
            "REFRAIN_MAX_EVENT_ATTEMPTS",
        ] {
            let e = lookup(&[(var, "0")]).unwrap_err();
            assert_eq!(e.var, var);
            assert_eq!(e.message, "must be at least 1");
        }
        let e = lookup(&[("REFRAIN_EMAIL_VERIFICATION", "sometimes")]).unwrap_err();
        assert_eq!(e.var, "REFRAIN_EMAIL_VERIFICATION");
        let e = lookup(&[("REFRAIN_METRICS_TOKEN", "short")]).unwrap_err();
        assert_eq!(e.var, "REFRAIN_METRICS_TOKEN");
        let e = lookup(&[("REFRAIN_SMTP_URL", "mail.example.com")]).unwrap_err();
        assert_eq!(e.var, "REFRAIN_SMTP_URL");
        let e = lookup(&[("REFRAIN_LOG_FORMAT", "xml")]).unwrap_err();
        assert_eq!(e.var, "REFRAIN_LOG_FORMAT");
        // An alias is named as it was given.
        let e = lookup(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert_eq!(e.var, "REFRAIN_DATABASE_URL");
        let e = lookup(&[("REFRAIN_TRUSTED_PROXIES", "10.0.0.0/99")]).unwrap_err();
        assert_eq!(e.var, "REFRAIN_TRUSTED_PROXIES");
    }

    #[test]
    fn settings_come_from_files_and_aliases() {
        let dir = std::env::temp_dir().join(format!("refrain-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "a-long-metrics-token-from-a-file\n").unwrap();
        let c = lookup(&[
            ("REFRAIN_METRICS_TOKEN_FILE", file.to_str().unwrap()),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("LEPTOS_SITE_ROOT", "/srv/site"),
        ])
        .unwrap();
        assert_eq!(
            c.telemetry.metrics_token,
            Some(Redacted("a-long-metrics-token-from-a-file".into()))
        );
        assert_eq!(c.redis.url.as_deref(), Some("redis://127.0.0.1:6379"));
        assert_eq!(c.server.site_root, PathBuf::from("/srv/site"));
        let e = lookup(&[("REFRAIN_SECRET_KEY_FILE", "/nonexistent/refrain-key")]).unwrap_err();
        assert_eq!(e.var, "REFRAIN_SECRET_KEY_FILE");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn s3_storage_needs_credentials_and_hides_the_secret() {
        let e = lookup(&[("REFRAIN_STORAGE_URL", "s3://media")]).unwrap_err();
        assert_eq!(e.var, "REFRAIN_S3_ACCESS_KEY_ID");
        let c = lookup(&[
            ("REFRAIN_STORAGE_URL", "s3://media"),
            ("REFRAIN_S3_ENDPOINT", "http://127.0.0.1:3900"),
            ("REFRAIN_S3_ACCESS_KEY_ID", "GK1"),
            ("REFRAIN_S3_SECRET_ACCESS_KEY", "very-secret"),
        ])
        .unwrap();
        let s3 = c.storage.s3.clone().unwrap();
        assert!(s3.path_style);
        assert_eq!(s3.bucket, "media");
        assert!(!format!("{c:?}").contains("very-secret"));
    }

    #[test]
    fn kafka_moves_the_handlers_out_of_the_server() {
        let c = lookup(&[("REFRAIN_KAFKA_BROKERS", "127.0.0.1:9092")]).unwrap();
        assert!(!c.events.embedded_worker);
        assert_eq!(c.events.kafka.unwrap().topic("imports"), "refrain.imports");
        let e = lookup(&[
            ("REFRAIN_KAFKA_BROKERS", "127.0.0.1:9092"),
            ("REFRAIN_EMBEDDED_WORKER", "true"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "REFRAIN_EMBEDDED_WORKER");
        assert!(lookup(&[]).unwrap().events.embedded_worker);
    }

    #[test]
    fn single_sign_on_settings_are_checked() {
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
        let providers = &c.sso.providers;
        assert_eq!(providers.len(), 2);
        assert_eq!(providers[0].issuer, "https://id.example.com/realms/music");
        assert_eq!(providers[0].name, "id.example.com");
        assert_eq!(providers[1].issuer, "https://accounts.google.com");
        assert!(!c.sso.auto_link && !c.sso.trust_mfa);
        let printed = format!("{c:?}");
        assert!(!printed.contains("s3cret-value") && !printed.contains("g-secret"));
        let c = lookup(&[
            ("REFRAIN_OIDC_ISSUER", "http://127.0.0.1:3400"),
            base[1],
            base[2],
        ])
        .unwrap();
        assert_eq!(c.sso.providers[0].issuer, "http://127.0.0.1:3400");
    }

    #[test]
    fn upload_limit_in_megabytes() {
        let c = lookup(&[("REFRAIN_MAX_UPLOAD_MB", "3"), ("REFRAIN_DATA_DIR", "/d")]).unwrap();
        assert_eq!(c.storage.max_upload_bytes, 3 * 1024 * 1024);
        assert_eq!(c.storage.storage_dir, PathBuf::from("/d/objects"));
        assert_eq!(c.database.url, "sqlite:///d/refrain.db?mode=rwc");
        let c = lookup(&[("REFRAIN_MAX_UPLOAD_BYTES", "1000")]).unwrap();
        assert_eq!(c.storage.max_upload_bytes, 1000);
    }

    /// A secret setting never shows in the configuration's debug output.
    #[test]
    fn secrets_are_never_printed() {
        let mut pairs = vec![
            ("REFRAIN_STORAGE_URL", "s3://media".to_string()),
            ("REFRAIN_S3_ACCESS_KEY_ID", "GK1".to_string()),
            ("REFRAIN_OIDC_ISSUER", "https://id.example.com".to_string()),
            ("REFRAIN_OIDC_CLIENT_ID", "refrain".to_string()),
            ("REFRAIN_GOOGLE_CLIENT_ID", "g".to_string()),
        ];
        let secrets: Vec<&Setting> = sections()
            .iter()
            .flat_map(|(_, s)| s.iter())
            .filter(|s| s.secret)
            .collect();
        assert!(secrets.len() >= 6, "{secrets:?}");
        for s in &secrets {
            let value = match s.var {
                "REFRAIN_SECRET_KEY" => "5".repeat(64),
                "REFRAIN_SMTP_URL" => "smtp://user:hidden-password@mail:25".into(),
                v => format!("hidden-value-of-{v}"),
            };
            pairs.push((s.var, value));
        }
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let printed = format!("{:?}", lookup(&pairs).unwrap());
        assert!(!printed.contains("hidden"), "{printed}");
        assert!(!printed.contains(&"5".repeat(64)), "{printed}");
    }

    /// Every `REFRAIN_*` variable the crates name is declared (so it loads, is checked and
    /// is in the README), but for the test and fault-injection knobs.
    #[test]
    fn every_variable_the_code_reads_is_declared() {
        let declared: std::collections::HashSet<&str> = sections()
            .iter()
            .flat_map(|(_, s)| s.iter())
            .flat_map(|s| std::iter::once(s.var).chain(s.aliases.iter().copied()))
            .collect();
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut undeclared = Vec::new();
        let mut stack: Vec<PathBuf> = ["backend/src", "server/src", "worker/src", "app/src"]
            .iter()
            .map(|d| root.join(d))
            .collect();
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, _) in text.match_indices("\"REFRAIN_") {
                let name: String = text[i + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                let name = name.trim_end_matches("_FILE");
                // The test and fault-injection knobs, and this test's own README switch.
                let knob = name.starts_with("REFRAIN_TEST_")
                    || ["REFRAIN_", "REFRAIN_FAILPOINTS", "REFRAIN_WRITE_README"].contains(&name);
                if !declared.contains(name) && !knob {
                    undeclared.push(format!("{name} in {}", path.display()));
                }
            }
        }
        assert!(undeclared.is_empty(), "undeclared settings: {undeclared:?}");
    }

    /// The README's configuration tables are the declarations' (run with
    /// `REFRAIN_WRITE_README=1` to write them there after changing a declaration).
    #[test]
    fn readme_table_is_the_declarations() {
        const BEGIN: &str = "<!-- settings: made from backend/src/infra/config.rs -->\n";
        const END: &str = "<!-- end of settings -->";
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md");
        let readme = std::fs::read_to_string(&path).unwrap();
        let start = readme.find(BEGIN).expect("the README marks the settings") + BEGIN.len();
        let end = start + readme[start..].find(END).expect("the settings' end marker");
        let table = readme_table();
        if std::env::var_os("REFRAIN_WRITE_README").is_some() {
            let written = format!("{}{table}\n{}", &readme[..start], &readme[end..]);
            std::fs::write(&path, written).unwrap();
            return;
        }
        let in_readme = readme[start..end].trim();
        assert!(
            in_readme == table.trim(),
            "README.md's configuration tables differ from the declarations in \
             backend/src/infra/config.rs; run `REFRAIN_WRITE_README=1 cargo test -p backend \
             --lib readme_table` to write them"
        );
    }
}
