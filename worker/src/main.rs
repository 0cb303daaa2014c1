//! `refrain-worker`: runs the event handlers against the outbox of a shared database.
//! Until the Kafka scale-out lands it polls the outbox directly, exactly as the embedded
//! server does (run it with `REFRAIN_EMBEDDED_WORKER=false` on the server).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = backend::Config::from_env()?;
    let core = backend::Core::init(config).await?;
    tracing::info!("worker started");
    worker::dispatch::run(core, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}
