//! Slows down password and code guessing, per account and per client address, in the
//! database so every server node sees the same counts. Past a threshold of failures within
//! the window, each further failure doubles the wait (capped); the window expiring or a
//! successful login for the account clears it. There is never a permanent lock-out.

use super::repo::throttle as repo;
use crate::{Error, Result, now_ms};
use std::net::IpAddr;

/// Failures are counted over this window.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// Failures allowed per account before slowing down.
pub const ACCOUNT_FREE: i64 = 5;
/// Failures allowed per client address (several people may share one) before slowing down.
pub const ADDRESS_FREE: i64 = 20;
/// The longest single wait.
pub const MAX_WAIT_MS: i64 = 5 * 60 * 1000;

/// A throttled identity: an account (by normalized email or user id) or a client address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    name: String,
    free: i64,
}

impl Key {
    pub fn account(id: &str) -> Key {
        Key {
            name: format!("acct:{id}"),
            free: ACCOUNT_FREE,
        }
    }
    /// Sign-ups from one client address (each hashes a password: the expensive step an
    /// attacker would repeat), every one counted; `free` of them within the window.
    pub fn signups(ip: IpAddr, free: i64) -> Key {
        Key {
            name: format!("signup:{}", client_key(ip)),
            free,
        }
    }
    /// A browser the account signed in from before (see `auth::device_token`): its own
    /// failures, as few free as an account's.
    pub fn device(id: &str) -> Key {
        Key {
            name: format!("device:{id}"),
            free: ACCOUNT_FREE,
        }
    }
    pub fn address(ip: IpAddr) -> Key {
        Key {
            name: format!("addr:{}", client_key(ip)),
            free: ADDRESS_FREE,
        }
    }
}

/// The key a client address is counted under, by the throttles here and the rate limits
/// alike: an IPv4 address (an IPv4-mapped IPv6 one as IPv4), or an IPv6 address's /64,
/// which one host controls (a client could otherwise step through 2^64 addresses).
pub fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Refuses with [`Error::Throttled`] while any key must wait.
pub async fn check(db: &sqlx::AnyPool, keys: &[Key]) -> Result<()> {
    let now = now_ms();
    let mut wait = 0i64;
    for k in keys {
        let until = repo::blocked_until_within(db, &k.name, now - WINDOW_MS).await?;
        wait = wait.max(until.unwrap_or(0) - now);
    }
    if wait > 0 {
        return Err(Error::Throttled {
            retry_after_secs: u64::try_from((wait + 999) / 1000).unwrap_or(1),
        });
    }
    Ok(())
}

/// Counts a failure against every key after the fact, for callers that check first with
/// [`check`] because a success must not write (a Subsonic request authenticates on every
/// call). A key already waiting is left as it is: a parallel failure set that wait.
pub async fn record_failure(db: &sqlx::AnyPool, keys: &[Key]) -> Result<()> {
    let now = now_ms();
    for k in keys {
        count_try(db, k, now).await?;
    }
    Ok(())
}

/// Starts a try (a password or code about to be checked) for every key, or refuses with
/// [`Error::Throttled`] while a key must wait. The try counts as a failure at once, in
/// the same statement that checks the wait (and sets the next one), so guesses sent in
/// parallel each count before any of them is checked: none slips past the limit between
/// a check and a count. A try that succeeds is taken back with [`forgive`].
pub async fn begin(db: &sqlx::AnyPool, keys: &[Key]) -> Result<()> {
    let now = now_ms();
    let mut wait = 0i64;
    for k in keys {
        if count_try(db, k, now).await?.is_none() {
            let until = repo::blocked_until(db, &k.name)
                .await?
                .unwrap_or(now + 1000);
            wait = wait.max(until - now);
        }
    }
    if wait > 0 {
        return Err(Error::Throttled {
            retry_after_secs: u64::try_from((wait + 999) / 1000).unwrap_or(1),
        });
    }
    Ok(())
}

/// Counts one try against `k` unless it must wait: the count after it, or None (nothing
/// counted) while the key waits. One statement, so parallel tries all count.
async fn count_try(db: &sqlx::AnyPool, k: &Key, now: i64) -> Result<Option<i64>> {
    let counted = repo::count_try(db, &k.name, now, now - WINDOW_MS, k.free, MAX_WAIT_MS).await?;
    if let Some(failures) = counted
        && failures > k.free
    {
        tracing::warn!(key = %k.name, failures, "sign-in attempts slowed down");
    }
    Ok(counted)
}

/// Takes back a try [`begin`] counted, when it succeeded (the wait it set, too, while the
/// count is within the free tries again).
pub async fn forgive(db: &sqlx::AnyPool, keys: &[Key]) -> Result<()> {
    for k in keys {
        repo::forgive(db, &k.name, k.free).await?;
    }
    Ok(())
}

/// Forgets an account's failures after it logged in.
pub async fn clear(db: &sqlx::AnyPool, key: &Key) -> Result<()> {
    repo::clear(db, &key.name).await?;
    Ok(())
}

/// The client's address: the peer, unless the peer is a trusted proxy, in which case the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(
    peer: IpAddr,
    forwarded_for: Option<&str>,
    trusted: &crate::config::TrustedProxies,
) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let Some(xff) = forwarded_for else {
        return peer;
    };
    let hops: Vec<IpAddr> = xff
        .split(',')
        .filter_map(|h| h.trim().parse::<IpAddr>().ok())
        .collect();
    hops.iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .or(hops.first())
        .copied()
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_is_its_64() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let a = Key::address(ip("2001:db8:1:2::1"));
        let b = Key::address(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        let other = Key::address(ip("2001:db8:1:3::1"));
        assert_eq!(a.name, b.name, "one /64, one key");
        assert_ne!(a.name, other.name);
        assert_eq!(
            Key::signups(ip("2001:db8:1:2::9"), 3).name,
            Key::signups(ip("2001:db8:1:2::7"), 3).name
        );
        assert_eq!(
            Key::address(ip("::ffff:192.0.2.1")).name,
            Key::address(ip("192.0.2.1")).name
        );
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        let peer: IpAddr = "198.51.100.7".parse().unwrap();
        let trusted = crate::config::TrustedProxies::from(vec![proxy]);
        // An untrusted peer cannot claim another address.
        assert_eq!(client_ip(peer, Some("203.0.113.9"), &trusted), peer);
        // Through the trusted proxy, the right-most untrusted hop is the client; a spoofed
        // left-most entry the client sent itself is ignored.
        assert_eq!(
            client_ip(proxy, Some("1.2.3.4, 203.0.113.9"), &trusted),
            client
        );
        assert_eq!(client_ip(proxy, None, &trusted), proxy);
        assert_eq!(client_ip(proxy, Some("garbage"), &trusted), proxy);
    }

    #[test]
    fn a_trusted_network_covers_its_addresses_only() {
        use crate::config::{ProxyNet, TrustedProxies};
        let net: ProxyNet = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.244.3.7".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(!net.contains("fd00::1".parse().unwrap()));
        let v6: ProxyNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::9".parse().unwrap()));
        assert!(!v6.contains("fe80::1".parse().unwrap()));
        let all: ProxyNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.9".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<ProxyNet>().is_err());
        assert!("10.0.0/8".parse::<ProxyNet>().is_err());
        // A pod behind an ingress whose address is in the network is believed.
        let trusted = TrustedProxies(vec![net]);
        let ingress: IpAddr = "10.244.1.5".parse().unwrap();
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(client_ip(ingress, Some("203.0.113.9"), &trusted), client);
    }
}
