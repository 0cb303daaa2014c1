//! The settings' values: how text becomes each type, the checks some settings add, where
//! the text is read from (the environment, `_FILE`s, older names), and the types that
//! settings make.

use std::net::IpAddr;
use std::path::PathBuf;

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
pub(super) mod read {
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
pub(super) type Check<T> = fn(&T) -> Result<(), String>;

/// Where settings are read from: the process environment, or a map in tests.
pub(super) struct Source<'a> {
    pub(super) get: &'a dyn Fn(&str) -> Option<String>,
}

impl Source<'_> {
    /// The variable's text (or its `_FILE`'s contents, or an alias's), and the name it was
    /// found under; `None` when none of them is set.
    pub(super) fn text(&self, s: &Setting) -> Result<Option<(String, String)>, ConfigError> {
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

    pub(super) fn is_set(&self, s: &Setting) -> Result<bool, ConfigError> {
        Ok(self.text(s)?.is_some())
    }

    pub(super) fn read<T>(
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

pub(super) fn err(var: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var: var.to_string(),
        message: message.into(),
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
