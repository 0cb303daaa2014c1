//! Connection pool and migrations. The pool is `sqlx::Any`, so the same repositories run on
//! SQLite (the embedded default) and PostgreSQL (scaled out), chosen by the URL's scheme.
//! Queries use `$n` placeholders, which both accept, and only types both share (BIGINT,
//! TEXT). Checked `query!` macros cannot target `Any`; the repositories are instead covered
//! by the domain tests, which run on both databases.

mod repo;
pub use repo::{maintenance_done, mark_maintenance_done, ping};

use crate::{Config, Result};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

pub type Db = AnyPool;

/// How long a query waits for a pooled connection (sqlx's default is 30 s). A database
/// that is away (restarting, unreachable, or a SQLite file another process holds the write
/// lock of) makes every request wait this long: past it the request is answered 503 (see
/// [`is_outage`]) instead of holding its connection until the client gives up.
const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// How long start-up waits for the database (one started alongside may still be starting).
const STARTUP_WAIT: std::time::Duration = std::time::Duration::from_secs(30);
/// What a request is told is not answering while the database is away
/// ([`crate::Error::Unavailable`]).
pub const NOT_ANSWERING: &str = "database";
/// The session store's message for the same (tower-sessions carries only a message).
pub const SESSION_STORE_NOT_ANSWERING: &str = "the database is not answering";

/// Whether `e` means the database is not answering now (it may later), as opposed to an
/// error in what was asked: no connection within [`ACQUIRE_TIMEOUT`], a connection lost
/// or refused, a server shutting down or starting up, or a SQLite write lock that was
/// still held when the busy timeout ran out.
pub fn is_outage(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| {
            // PostgreSQL: connection exceptions (08), operator intervention (57P01-03:
            // shutting down, crashed, starting up), too many connections. SQLite (its
            // extended codes): SQLITE_BUSY and SQLITE_LOCKED in their variants.
            c.starts_with("08")
                || c.starts_with("57P")
                || c == "53300"
                || matches!(&*c, "5" | "6" | "261" | "262" | "517" | "773")
        }),
        _ => false,
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

impl Kind {
    pub fn of(url: &str) -> Option<Kind> {
        if url.starts_with("sqlite:") {
            Some(Kind::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Kind::Postgres)
        } else {
            None
        }
    }
}

pub async fn connect(config: &Config) -> Result<Db> {
    sqlx::any::install_default_drivers();
    let kind = Kind::of(&config.database.url).ok_or_else(|| {
        anyhow::anyhow!("unsupported database URL scheme (use sqlite:// or postgres://)")
    })?;
    let mut opts = AnyPoolOptions::new()
        .max_connections(match kind {
            Kind::Sqlite => 8,
            Kind::Postgres => 16,
        })
        .acquire_timeout(ACQUIRE_TIMEOUT);
    if kind == Kind::Sqlite {
        std::fs::create_dir_all(&config.storage.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create data directory {}: {e}",
                config.storage.data_dir.display()
            )
        })?;
        opts = opts.after_connect(|conn, _meta| {
            Box::pin(async move {
                // Besides the usual settings: the query planner's statistics, as SQLite
                // advises for each new connection (tables never analysed, or grown 25-fold
                // since, are sampled, 1,000 rows an index: milliseconds at any size;
                // pooled connections are replaced every half hour, so a growing catalog
                // keeps current figures); and reads straight from the operating system's
                // page cache through a memory map, shared by every connection, instead of a
                // copy into each one's 2 MB page cache (a page of 60 albums on a 1 GB
                // catalog of 1,000,000 tracks: 2.2 ms through reads, 0.9 ms mapped; the
                // mapped pages count in the server's resident memory, but they are the
                // file's cache, which the kernel can reclaim).
                conn.execute(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                     PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA analysis_limit = 1000; PRAGMA mmap_size = 1073741824;",
                )
                .await?;
                // Sampling writes the statistics, so it needs the write lock: only if it is
                // free at once. Waiting for it (up to the busy timeout) kept any new
                // connection, and so the reads that needed one, waiting while another
                // process or connection held a write transaction; a later connection
                // samples instead.
                conn.execute("PRAGMA busy_timeout = 0").await?;
                if let Err(e) = conn.execute("PRAGMA optimize = 0x10002").await {
                    tracing::debug!(error = %e, "query planner statistics left for later");
                }
                conn.execute("PRAGMA busy_timeout = 10000").await?;
                Ok(())
            })
        });
    }
    if kind == Kind::Postgres {
        opts = opts.after_connect(|conn, _meta| {
            Box::pin(async move {
                // Random reads priced like sequential ones, as PostgreSQL advises where the
                // data sits in memory or on SSD, unless the server's administrator set a
                // price of their own (the built-in 4 is for spinning disks). At 4 the
                // planner read a whole table to join a page's hundred tracks to their
                // artists by hash, instead of looking each artist up: an artist page cost
                // 4.4 ms in queries at 1,000,000 tracks (10,000 artists read) against 1.7
                // at 10,000 (100).
                conn.execute(
                    "SELECT set_config('random_page_cost', '1.1', false)
                     WHERE current_setting('random_page_cost') = '4'",
                )
                .await?;
                Ok(())
            })
        });
    }
    let pool = opts.connect_lazy(&config.database.url)?;
    // The first connection: a database that refuses connections may still be starting,
    // so it is given longer than a request's wait (an error in the URL, the credentials
    // or the database's name is reported at once).
    let started = std::time::Instant::now();
    loop {
        match pool.acquire().await {
            Ok(_) => return Ok(pool),
            Err(sqlx::Error::PoolTimedOut) if started.elapsed() < STARTUP_WAIT => {}
            Err(sqlx::Error::PoolTimedOut) => {
                return Err(anyhow::anyhow!(
                    "the database did not answer within {} s",
                    STARTUP_WAIT.as_secs()
                )
                .into());
            }
            Err(e) => return Err(crate::Error::Database(e)),
        }
    }
}

/// Begins a transaction that writes. On SQLite it is `BEGIN IMMEDIATE`, which takes the
/// write lock at once (waiting up to the busy timeout for another writer): a deferred
/// transaction that reads before it writes fails at its first write with "database is
/// locked" (SQLITE_BUSY_SNAPSHOT, which no timeout waits out) if another connection wrote
/// in between, as an admin disabling an account did while imports were finishing.
pub async fn begin(db: &Db) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
    Ok(match kind(db) {
        Kind::Sqlite => db.begin_with("BEGIN IMMEDIATE").await?,
        Kind::Postgres => db.begin().await?,
    })
}

pub fn kind(db: &Db) -> Kind {
    match db.connect_options().database_url.scheme() {
        "sqlite" => Kind::Sqlite,
        _ => Kind::Postgres,
    }
}

pub async fn migrate(db: &Db) -> Result<()> {
    match kind(db) {
        Kind::Sqlite => SQLITE_MIGRATIONS.run(db).await?,
        Kind::Postgres => POSTGRES_MIGRATIONS.run(db).await?,
    }
    Ok(())
}
