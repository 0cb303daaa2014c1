//! A forward proxy on loopback that yt-dlp is made to use (`--proxy`), so its own HTTP
//! obeys the same rules as [`super::fetch`]: every `CONNECT host:port` (https) and every
//! absolute-URI request (http) is checked (scheme, port, host and each resolved address,
//! unless the allow-list names the host) and connected to the address that was checked.
//! Anything else is answered 403 with the reason. One proxy serves one download and
//! stops when dropped.

use super::fetch::{AllowList, Refused, check_url, resolve_checked};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

/// Largest request head the proxy reads.
const MAX_HEAD: usize = 16 * 1024;

pub struct GuardProxy {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl GuardProxy {
    pub async fn start(allow: AllowList) -> std::io::Result<GuardProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let allow = allow.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve(sock, &allow).await {
                        tracing::debug!(error = %e, "guard proxy connection ended");
                    }
                });
            }
        });
        Ok(GuardProxy { addr, task })
    }

    /// The proxy's URL, for `--proxy`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for GuardProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn refuse(mut sock: TcpStream, why: &str) -> std::io::Result<()> {
    tracing::info!(reason = %why, "guard proxy refused a connection");
    let body = format!("refused: {why}\n");
    sock.write_all(
        format!(
            "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await?;
    sock.shutdown().await
}

/// Checks `url` and connects to one of its checked addresses.
async fn connect(url: &Url, allow: &AllowList) -> Result<TcpStream, Refused> {
    check_url(url, allow)?;
    let host = url
        .host_str()
        .ok_or_else(|| Refused("no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url
        .port_or_known_default()
        .ok_or_else(|| Refused("no port".into()))?;
    let addrs = resolve_checked(&host, allow).await?;
    let mut last = None;
    for a in addrs {
        match tokio::time::timeout(
            std::time::Duration::from_secs(10),
            TcpStream::connect(SocketAddr::new(a.ip(), port)),
        )
        .await
        {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) => last = Some(e.to_string()),
            Err(_) => last = Some("timed out".into()),
        }
    }
    Err(Refused(format!(
        "{host} could not be reached ({})",
        last.unwrap_or_default()
    )))
}

async fn serve(mut sock: TcpStream, allow: &AllowList) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(2048);
    let head_end = loop {
        let mut chunk = [0u8; 2048];
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_HEAD {
            return refuse(sock, "request head too large").await;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let mut parts = first.split(' ');
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    if method.eq_ignore_ascii_case("CONNECT") {
        let Ok(url) = Url::parse(&format!("https://{target}/")) else {
            return refuse(sock, "bad CONNECT target").await;
        };
        // `https://host:443/` drops the default port; anything else keeps it.
        let mut upstream = match connect(&url, allow).await {
            Ok(s) => s,
            Err(r) => return refuse(sock, &r.0).await,
        };
        sock.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await?;
        upstream.write_all(&buf[head_end..]).await?;
        tokio::io::copy_bidirectional(&mut sock, &mut upstream).await?;
        return Ok(());
    }
    let Ok(url) = Url::parse(target) else {
        return refuse(sock, "only absolute http URLs and CONNECT are proxied").await;
    };
    if url.scheme() != "http" {
        return refuse(sock, "only http is proxied without CONNECT").await;
    }
    let mut upstream = match connect(&url, allow).await {
        Ok(s) => s,
        Err(r) => return refuse(sock, &r.0).await,
    };
    // Origin form to the server, one request per connection (a second request on it
    // could name another host).
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let version = parts.next().unwrap_or("HTTP/1.1");
    let mut out = format!("{method} {path} {version}\r\n");
    for line in lines.filter(|l| !l.is_empty()) {
        let name = line
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if name == "proxy-connection" || name == "connection" || name == "proxy-authorization" {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    upstream.write_all(out.as_bytes()).await?;
    upstream.write_all(&buf[head_end..]).await?;
    let (mut ci, mut co) = sock.split();
    let (mut ui, mut uo) = upstream.split();
    let up = async {
        let r = tokio::io::copy(&mut ci, &mut uo).await;
        let _ = uo.shutdown().await;
        r
    };
    let down = async {
        let r = tokio::io::copy(&mut ui, &mut co).await;
        let _ = co.shutdown().await;
        r
    };
    let (a, b) = tokio::join!(up, down);
    a?;
    b?;
    Ok(())
}
