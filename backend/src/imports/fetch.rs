//! Fetching audio from a link a user pasted, without letting the link reach inside the
//! server's network (SSRF). Only http and https on ports 80 and 443; a host given as an
//! address (in any spelling the URL standard accepts: `0x7f.1`, `2130706433`, `[::ffff:
//! 127.0.0.1]`) is checked as such; a name is resolved by our own resolver, which refuses
//! it when any address it resolves to is internal, so the check holds at connect time;
//! every redirect hop is checked again. Hosts on the admin's allow-list
//! (`REFRAIN_IMPORT_ALLOW_HOSTS`) skip the address and port checks (intranets, tests).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use url::{Host, Url};

/// Why a link was refused, in words for the person who pasted it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

fn refused(msg: impl Into<String>) -> Refused {
    Refused(msg.into())
}

/// The longest link accepted.
pub const MAX_URL: usize = 2048;

/// Hosts (`name`, `name:port`, an address, or `address:port`) that may be fetched from
/// whatever they resolve to and on any port.
#[derive(Debug, Clone, Default)]
pub struct AllowList(pub Vec<String>);

impl AllowList {
    fn allows(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_lowercase();
        let with_port = url.port_or_known_default().map(|p| format!("{host}:{p}"));
        self.0.iter().any(|a| {
            let a = a.to_lowercase();
            a == host || Some(&a) == with_port.as_ref()
        })
    }
}

/// Checks a link before it is fetched, and each redirect hop.
pub fn check_url(url: &Url, allow: &AllowList) -> Result<(), Refused> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refused("only http and https links can be imported"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused(
            "links with a user name or password in them are not accepted",
        ));
    }
    let host = url.host().ok_or_else(|| refused("the link has no host"))?;
    if allow.allows(url) {
        return Ok(());
    }
    match url.port_or_known_default() {
        Some(80 | 443) => {}
        _ => {
            return Err(refused(
                "only links on the standard ports (80 and 443) can be imported",
            ));
        }
    }
    match host {
        Host::Ipv4(ip) => check_ip(IpAddr::V4(ip)),
        Host::Ipv6(ip) => check_ip(IpAddr::V6(ip)),
        Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_lowercase();
            if d == "localhost" || d.ends_with(".localhost") || d.ends_with(".local") {
                Err(refused(format!("{d} is a local name")))
            } else {
                Ok(())
            }
        }
    }
}

/// Refuses addresses that are not on the public internet.
pub fn check_ip(ip: IpAddr) -> Result<(), Refused> {
    match internal_kind(ip) {
        Some(kind) => Err(refused(format!(
            "the link leads to {ip}, a {kind} address, which Refrain does not fetch from"
        ))),
        None => Ok(()),
    }
}

fn internal_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => {
            // Addresses that carry an IPv4 address inside are judged by it.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_kind(v4);
            }
            let s = v6.segments();
            let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                return v4_kind(embedded(s[6], s[7])).map(|_| "NAT64 to an internal");
            }
            if s[0] == 0x2002 {
                return v4_kind(embedded(s[1], s[2])).map(|_| "6to4 to an internal");
            }
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if s[0..6] == [0, 0, 0, 0, 0, 0] {
                // IPv4-compatible (deprecated) ::a.b.c.d
                Some("IPv4-compatible")
            } else if (s[0] & 0xfe00) == 0xfc00 {
                Some("unique local (private)")
            } else if (s[0] & 0xffc0) == 0xfe80 {
                Some("link-local")
            } else if (s[0] & 0xff00) == 0xff00 {
                Some("multicast")
            } else if s[0] == 0x2001 && s[1] == 0x0db8 {
                Some("documentation")
            } else if s[0] == 0x2001 && s[1] == 0 {
                Some("Teredo tunnel")
            } else if s[0] == 0x0100 && s[1..4] == [0, 0, 0] {
                Some("discard")
            } else {
                None
            }
        }
    }
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("carrier-grade NAT")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_broadcast() {
        Some("broadcast")
    } else if o[0] == 0 {
        Some("\"this network\"")
    } else if ip.is_documentation() {
        Some("documentation")
    } else if o[0] == 198 && (o[1] & 0xfe) == 18 {
        Some("benchmarking")
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        Some("IETF protocol")
    } else if o[0] >= 240 {
        Some("reserved")
    } else {
        None
    }
}

/// A resolver that refuses names resolving to any internal address, so the address
/// checked is the address connected to (no second lookup to rebind).
#[derive(Clone)]
pub struct CheckedResolver {
    allow: Arc<AllowList>,
}

/// Resolves `host` and refuses it when any address is internal (unless the allow-list
/// names the host). What is connected to must be one of the addresses returned.
pub async fn resolve_checked(host: &str, allow: &AllowList) -> Result<Vec<SocketAddr>, Refused> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| refused(format!("{host} could not be found ({e})")))?
        .collect();
    let lower = host.to_lowercase();
    let allowed = allow.0.iter().any(|a| {
        let a = a.to_lowercase();
        a == lower || a.starts_with(&format!("{lower}:"))
    });
    if !allowed {
        for a in &addrs {
            check_ip(a.ip()).map_err(|e| refused(format!("{host}: {e}")))?;
        }
    }
    if addrs.is_empty() {
        return Err(refused(format!("{host} could not be found")));
    }
    Ok(addrs)
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow.clone();
        Box::pin(async move {
            let addrs = resolve_checked(name.as_str(), &allow)
                .await
                .map_err(|r| -> Box<dyn std::error::Error + Send + Sync> { Box::new(r) })?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// An HTTP client that applies all of the above, follows at most five redirects (each
/// checked), and gives up after `timeout`.
pub fn client(allow: AllowList, timeout: std::time::Duration) -> reqwest::Result<reqwest::Client> {
    let allow = Arc::new(allow);
    let hop_allow = allow.clone();
    reqwest::Client::builder()
        .dns_resolver(Arc::new(CheckedResolver { allow }))
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                return attempt.error(refused("the link redirects too many times"));
            }
            match check_url(attempt.url(), &hop_allow) {
                Ok(()) => attempt.follow(),
                Err(r) => {
                    let r = refused(format!("the link redirects somewhere refused: {r}"));
                    attempt.error(r)
                }
            }
        }))
        .timeout(timeout)
        .connect_timeout(std::time::Duration::from_secs(10))
        .user_agent(concat!("Refrain/", env!("CARGO_PKG_VERSION")))
        .no_proxy()
        .build()
}

/// The [`Refused`] reason inside a client error, if that is why it failed.
pub fn refusal(e: &(dyn std::error::Error + 'static)) -> Option<Refused> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<Refused>() {
            return Some(r.clone());
        }
        cur = err.source();
    }
    None
}

/// Parses and checks a pasted link.
pub fn parse_link(link: &str, allow: &AllowList) -> Result<Url, Refused> {
    let link = link.trim();
    if link.is_empty() {
        return Err(refused("paste a link to an audio file"));
    }
    if link.len() > MAX_URL {
        return Err(refused(format!(
            "links are limited to {MAX_URL} characters"
        )));
    }
    let url = Url::parse(link).map_err(|e| refused(format!("this is not a link ({e})")))?;
    check_url(&url, allow)?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn verdict(link: &str) -> Result<(), String> {
        parse_link(link, &AllowList::default())
            .map(|_| ())
            .map_err(|r| r.0)
    }

    #[test]
    fn internal_and_odd_links_are_refused_with_a_reason() {
        for (link, why) in [
            ("http://127.0.0.1/a.mp3", "loopback"),
            ("http://0x7f.1/a.mp3", "loopback"),
            ("http://2130706433/a.mp3", "loopback"),
            ("http://0177.0.0.1/a.mp3", "loopback"),
            ("http://127.1/a.mp3", "loopback"),
            ("http://[::1]/a.mp3", "loopback"),
            ("http://[::ffff:127.0.0.1]/a.mp3", "loopback"),
            ("http://[::ffff:10.0.0.1]/a.mp3", "private"),
            ("http://[64:ff9b::a00:1]/a.mp3", "NAT64"),
            ("http://[2002:a00:1::]/a.mp3", "6to4"),
            ("http://10.1.2.3/a.mp3", "private"),
            ("http://172.16.0.1/a.mp3", "private"),
            ("http://192.168.1.1/a.mp3", "private"),
            ("http://169.254.169.254/latest/meta-data", "link-local"),
            ("http://100.64.0.1/a.mp3", "carrier-grade NAT"),
            ("http://224.0.0.1/a.mp3", "multicast"),
            ("http://0.0.0.0/a.mp3", "this network"),
            ("http://[fd00::1]/a.mp3", "unique local"),
            ("http://[fe80::1]/a.mp3", "link-local"),
            ("http://localhost/a.mp3", "local name"),
            ("http://music.localhost/a.mp3", "local name"),
            ("http://example.com:8080/a.mp3", "standard ports"),
            ("https://example.com:22/a.mp3", "standard ports"),
            ("ftp://example.com/a.mp3", "only http and https"),
            ("file:///etc/passwd", "only http and https"),
            ("gopher://example.com/", "only http and https"),
            ("http://user:pw@example.com/a.mp3", "user name or password"),
            ("not a link", "not a link"),
            ("", "paste a link"),
        ] {
            let v = verdict(link);
            assert!(
                v.as_ref().is_err_and(|m| m.contains(why)),
                "{link}: {v:?} should mention {why:?}"
            );
        }
        assert!(verdict("https://example.com/song.mp3").is_ok());
        assert!(verdict("http://93.184.215.14/song.mp3").is_ok());
        assert!(verdict(&format!("https://example.com/{}", "a".repeat(3000))).is_err());
    }

    #[tokio::test]
    async fn names_resolving_inside_are_refused_at_resolution() {
        use reqwest::dns::Resolve;
        use std::str::FromStr;
        let r = CheckedResolver {
            allow: Arc::new(AllowList::default()),
        };
        let err = r
            .resolve(reqwest::dns::Name::from_str("localhost").unwrap())
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains("loopback"), "{err}");
        let allowed = CheckedResolver {
            allow: Arc::new(AllowList(vec!["localhost".into()])),
        };
        assert!(
            allowed
                .resolve(reqwest::dns::Name::from_str("localhost").unwrap())
                .await
                .is_ok()
        );
    }

    #[test]
    fn the_allow_list_lets_named_hosts_through() {
        let allow = AllowList(vec!["127.0.0.1:8123".into(), "intranet".into()]);
        assert!(parse_link("http://127.0.0.1:8123/a.mp3", &allow).is_ok());
        assert!(parse_link("http://127.0.0.1:8124/a.mp3", &allow).is_err());
        assert!(parse_link("http://intranet:9000/a.mp3", &allow).is_ok());
        assert!(parse_link("ftp://intranet/a.mp3", &allow).is_err());
    }
}
