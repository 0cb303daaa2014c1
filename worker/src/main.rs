//! `refrain-worker`: runs the event handlers. With `REFRAIN_KAFKA_BROKERS` set it joins the
//! workers' consumer group; otherwise it reads the outbox of the (shared) database directly,
//! as the embedded server does (then run the server with `REFRAIN_EMBEDDED_WORKER=false`).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut config = backend::Config::from_env()?;
    // Logs, and traces that continue those of the requests that wrote the events.
    let telemetry = backend::telemetry::init("refrain-worker", &config, "info")?;
    // The worker never relays or serves; it only consumes.
    config.events.embedded_worker = false;
    let result = work(config).await;
    telemetry.shutdown().await;
    result
}

async fn work(config: backend::Config) -> anyhow::Result<()> {
    let core = backend::Core::init(config).await?;
    tracing::info!("worker started");
    let shutdown = async {
        let term = async {
            #[cfg(unix)]
            if let Ok(mut s) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                s.recv().await;
            }
        };
        tokio::select! { _ = tokio::signal::ctrl_c() => {}, _ = term => {} }
        tracing::info!("worker stopping after the current event");
    };
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let mut scan_rx = stop_rx.clone();
    let mut ops_rx = stop_rx.clone();
    let ops = if core.config.server.worker_port == 0 {
        None
    } else {
        let addr =
            std::net::SocketAddr::new(core.config.server.host, core.config.server.worker_port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (REFRAIN_WORKER_PORT): {e}"))?;
        tracing::info!(%addr, "health and metrics endpoints listening");
        Some(tokio::spawn(worker::ops::serve(
            core.clone(),
            listener,
            async move {
                let _ = ops_rx.wait_for(|s| *s).await;
            },
        )))
    };
    let backfill = tokio::spawn(worker::backfill::run(core.clone(), async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    }));
    let scanner = tokio::spawn(worker::scanner::run(core.clone(), async move {
        let _ = scan_rx.wait_for(|s| *s).await;
    }));
    let result = match core.config.events.kafka.clone() {
        Some(k) => worker::kafka::run(core, k, shutdown).await,
        None => {
            worker::dispatch::run(core, shutdown).await;
            Ok(())
        }
    };
    let _ = stop_tx.send(true);
    let _ = backfill.await;
    let _ = scanner.await;
    if let Some(o) = ops {
        let _ = o.await;
    }
    result
}
