//! Connection pool and migrations. The pool is `sqlx::Any` so that the same repositories
//! run on SQLite now and PostgreSQL later; queries use `$n` placeholders, which both accept.
//! (Checked `query!` macros cannot target `Any`, which is why the repositories use
//! runtime-checked queries covered by the domain tests.)

use crate::{Config, Result};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

pub type Db = AnyPool;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

pub async fn connect(config: &Config) -> Result<Db> {
    sqlx::any::install_default_drivers();
    if config.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create data directory {}: {e}",
                config.data_dir.display()
            )
        })?;
    }
    let pool = AnyPoolOptions::new()
        .max_connections(8)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
                    .await?;
                Ok(())
            })
        })
        .connect(&config.database_url)
        .await?;
    Ok(pool)
}

pub async fn migrate(db: &Db) -> Result<()> {
    SQLITE_MIGRATIONS.run(db).await?;
    Ok(())
}
