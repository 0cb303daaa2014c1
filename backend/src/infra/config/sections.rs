//! The settings, declared once each by concern ([`section!`]), and the README's tables
//! made from them.

use super::values::{ConfigError, err};
use super::values::{
    EmailVerification, KafkaConfig, Redacted, S3Config, Setting, Source, SsoProvider,
    TrustedProxies, Value, read,
};
use std::net::IpAddr;
use std::path::PathBuf;

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

            pub(super) fn load(src: &Source<'_>) -> Result<Self, ConfigError> {
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
            pub(super) fn defaults() -> Self {
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
