//! The accept loop, with limits a slow or greedy client cannot get around: a cap on open
//! connections per node and per client address (past either, a new connection gets a
//! short 503 and is closed), and a time limit on receiving each request head, so a client
//! that opens connections and dribbles headers (slowloris) holds nothing for long.

use crate::limits::Counters;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// How connections are limited.
#[derive(Debug, Clone)]
pub struct ConnLimits {
    pub max: usize,
    pub per_client: usize,
    pub header_timeout: Duration,
    /// Peers never capped per client (a reverse proxy carries many clients).
    pub trusted: backend::config::TrustedProxies,
}

impl ConnLimits {
    pub fn from_config(c: &backend::Config) -> Self {
        ConnLimits {
            max: c.server.max_connections,
            per_client: c.server.max_connections_per_client,
            header_timeout: Duration::from_secs(c.server.header_timeout_secs),
            trusted: c.server.trusted_proxies.clone(),
        }
    }
}

/// Open connections per client address; a slot is given back when its guard drops.
#[derive(Default)]
struct PerClient(Mutex<HashMap<IpAddr, usize>>);

struct ClientSlot {
    table: Arc<PerClient>,
    ip: IpAddr,
}

impl PerClient {
    fn take(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<ClientSlot> {
        let mut m = self.0.lock().ok()?;
        let n = m.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        if let Ok(mut m) = self.table.0.lock()
            && let Some(n) = m.get_mut(&self.ip)
        {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    counters: Arc<Counters>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let open = Arc::new(Semaphore::new(limits.max));
    let per_client = Arc::new(PerClient::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        if let Err(e) = tcp.set_nodelay(true) {
            // Nagle's algorithm held back answers written in two parts for the client's
            // delayed ACK (a 1-byte stream range took 20 ms instead of well under one).
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let Ok(node_slot) = open.clone().try_acquire_owned() else {
            counters.connections_refused[0].fetch_add(1, Ordering::Relaxed);
            tokio::spawn(refuse(tcp, "This server is at its connection limit."));
            continue;
        };
        let client_slot = if limits.trusted.contains(&peer.ip()) {
            None
        } else {
            match per_client.take(peer.ip(), limits.per_client) {
                Some(s) => Some(s),
                None => {
                    counters.connections_refused[1].fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(refuse(tcp, "Too many connections from your address."));
                    continue;
                }
            }
        };
        let svc =
            app.clone()
                .map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    req.map(axum::body::Body::new)
                });
        let svc = hyper_util::service::TowerToHyperService::new(svc);
        let builder = builder.clone();
        let counters = counters.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let conn = builder.serve_connection(TokioIo::new(tcp), svc);
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                _ = async { let _ = stop.wait_for(|s| *s).await; } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                if header_timed_out(e.as_ref()) {
                    counters.header_timeouts.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%peer, "closed a connection whose request head did not arrive in time");
                } else {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
            }
            drop(client_slot);
            drop(node_slot);
        });
    }
    let _ = stop_tx.send(true);
    // Every connection holds a node slot until it has finished.
    let all = u32::try_from(limits.max).unwrap_or(u32::MAX);
    let _ = open.acquire_many(all).await;
    Ok(())
}

/// Whether a connection ended because its request head took too long.
fn header_timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(h) = err.downcast_ref::<hyper::Error>()
            && h.is_timeout()
        {
            return true;
        }
        cur = err.source();
    }
    false
}

/// A short 503 on a connection over a limit, then the connection is closed.
async fn refuse(mut tcp: TcpStream, message: &str) {
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{message}",
        message.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = tcp.write_all(answer.as_bytes()).await;
        let _ = tcp.shutdown().await;
    })
    .await;
}
