//! `refrain`: starts the server (default), or runs one of the commands `migrate`,
//! `create-admin`, `reset-password`, `rotate-keys` and `scan`.
#![recursion_limit = "512"]

use std::process::ExitCode;

/// Rendering a page builds and drops many short-lived strings and vectors; glibc's
/// allocator returned and refetched their pages (page faults and madvise were a fifth of
/// a page's time under load). mimalloc keeps them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Stack of each runtime thread. Rendering a page walks the whole view tree recursively;
/// the library page needs a little over tokio's default 2 MiB in a debug build, so this
/// leaves headroom for bigger pages in both builds.
const THREAD_STACK: usize = 8 << 20;

fn main() -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK)
        .build()
    {
        Ok(rt) => rt.block_on(serve_main()),
        Err(e) => {
            eprintln!("refrain: cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve_main() -> ExitCode {
    let config = match backend::Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("refrain: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Logs (REFRAIN_LOG_FORMAT=json: one JSON object per line, with the request span, its
    // id and trace id) and traces (REFRAIN_OTLP_ENDPOINT).
    let telemetry =
        match backend::telemetry::init("refrain", &config, "info,tower_http=warn,sqlx=warn") {
            Ok(t) => t,
            Err(e) => {
                eprintln!("refrain: cannot start logging and tracing: {e:#}");
                return ExitCode::FAILURE;
            }
        };
    let result = run(config).await;
    telemetry.shutdown().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("refrain: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: backend::Config) -> anyhow::Result<()> {
    let cmd = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    match cmd.as_str() {
        "migrate" => {
            let db = backend::db::connect(&config).await?;
            backend::db::migrate(&db).await?;
            println!("migrations applied");
            Ok(())
        }
        "serve" => {
            let core = backend::Core::init(config).await?;
            let listener = tokio::net::TcpListener::bind(core.config.addr()).await?;
            let addr = listener.local_addr()?;
            println!("Refrain is running at http://{addr}");
            println!(
                "Data directory: {}",
                std::fs::canonicalize(&core.config.storage.data_dir)?.display()
            );
            server::serve(core, listener, shutdown_signal()).await
        }
        "rotate-keys" => {
            let core = backend::Core::init(config).await?;
            for (purpose, kid) in backend::admin::rotate_signing_keys(&core).await? {
                println!("new {purpose} signing key {kid}");
            }
            println!(
                "old keys keep verifying for {} s; every node signs with the new ones within a minute",
                core.config.auth.key_grace_secs
            );
            Ok(())
        }
        "scan" => {
            let core = backend::Core::init(config).await?;
            backend::folders::sync_configured(&core).await?;
            match backend::folders::scan_now(&core).await? {
                None => {
                    println!("another scan is running; `refrain scan` again when it has finished")
                }
                Some(s) => {
                    for line in &s.report {
                        println!("  {line}");
                    }
                    let c = &s.counts;
                    println!(
                        "scan {}: {} files seen, {} new, {} changed, {} moved, {} removed, {} failed",
                        s.state, c.seen, c.added, c.changed, c.moved, c.removed, c.failed
                    );
                    if let Some(e) = s.error {
                        anyhow::bail!("scan failed: {e}");
                    }
                }
            }
            Ok(())
        }
        "create-admin" | "reset-password" => {
            let email = std::env::args()
                .nth(2)
                .ok_or_else(|| anyhow::anyhow!("usage: refrain {cmd} EMAIL (password on stdin)"))?;
            let password = read_password()?;
            let core = backend::Core::init(config).await?;
            if cmd == "create-admin" {
                match backend::admin::create_admin(&core, &email, &password).await? {
                    backend::admin::AdminCreated::Created => println!("admin {email} created"),
                    backend::admin::AdminCreated::Promoted => {
                        println!("{email} already existed and is now an admin (password unchanged)")
                    }
                }
            } else {
                backend::admin::reset_password(&core, &email, &password).await?;
                println!("password of {email} reset; all of its sessions ended");
            }
            Ok(())
        }
        other => anyhow::bail!(
            "unknown command {other:?}; use `serve` (default), `migrate`, `create-admin EMAIL`, `reset-password EMAIL`, `rotate-keys` or `scan`"
        ),
    }
}

/// The password for `create-admin` and `reset-password`: the first line of stdin (so it
/// never shows in the process list or shell history).
fn read_password() -> anyhow::Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        eprint!("Password (input is shown; pipe it in to hide it): ");
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let pw = line.trim_end_matches(['\r', '\n']).to_string();
    anyhow::ensure!(!pw.is_empty(), "no password given on stdin");
    Ok(pw)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
