//! Typed configuration, loaded once at start-up from `REFRAIN_*` environment variables
//! (any may instead be read from a file named by `<NAME>_FILE`, as secrets are), checked
//! with messages that name the variable, and overridable by tests, which build a
//! `Config` directly.
//!
//! `Config` is nested by concern (server, storage, database, events, auth, sso, limits,
//! library, media, telemetry...). Each setting is declared once, in its section's
//! `section!` block (`sections.rs`): its field and type, its variable, its default, whether it is a
//! secret, and its one-line meaning. Loading, the messages for a bad value, and the
//! README's configuration table ([`readme_table`], held to the README by a test) all come
//! from that one declaration. What several settings make together (the S3 store, Kafka,
//! the single sign-on providers) is put together after loading, in [`Config::assemble`].

mod sections;
#[cfg(test)]
mod tests;
mod values;

pub use sections::{
    AuthConfig, DatabaseConfig, EventsConfig, ImportsConfig, LibraryConfig, LimitsConfig,
    MailConfig, MediaConfig, RateLimits, RedisConfig, ServerConfig, SsoConfig, StorageConfig,
    TelemetryConfig, readme_table, sections,
};
pub use values::{
    ConfigError, EmailVerification, KafkaConfig, ProxyNet, Redacted, S3Config, Setting,
    SsoProvider, TrustedProxies, Value, parse_duration,
};
use values::{Source, err};

use std::net::SocketAddr;
use std::path::PathBuf;

/// How long an API access token lives (seconds); refresh tokens renew it. The key grace
/// period must cover it (see `validate`).
pub const ACCESS_TTL_SECS: u64 = 15 * 60;

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
