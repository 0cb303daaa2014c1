//! The top floor of `backend`: start-up assembles the domains on the ground floor
//! (`Core::init`: connect, migrate, index what search lacks, one-time maintenance), and
//! the readiness and operational figures that look across them.

use crate::infra::db;
use crate::infra::events::EventBus;
use crate::infra::keys::Keys;
use crate::infra::sealed::SecretKey;
use crate::infra::sessions::{DbSessionStore, RedisSessionStore, SessionBackend};
use crate::infra::storage::Storage;
use crate::{Config, Result};
use std::sync::Arc;

pub use crate::infra::state::Core;

/// The one-time pass that seals TOTP secrets stored in clear.
const SEAL_TOTP_SECRETS: &str = "seal_totp_secrets";
const WRAP_RECOVERY_CODES: &str = "wrap_legacy_recovery_codes";

impl Core {
    /// Connects, migrates and loads (or creates) the signing keys.
    pub async fn init(config: Config) -> Result<Self> {
        let db = db::connect(&config).await?;
        db::migrate(&db).await?;
        let indexed = crate::search::index_missing(&db).await?;
        if indexed > 0 {
            tracing::info!(documents = indexed, "indexed existing catalog for search");
        }
        let storage = match &config.storage.s3 {
            Some(s3) => Storage::s3(s3, breaker("object storage", &config))?,
            None => Storage::local(&config.storage.storage_dir)?,
        };
        let sessions = match &config.redis.url {
            Some(url) => SessionBackend::Redis(RedisSessionStore::connect(url).await?),
            None => SessionBackend::Db(DbSessionStore::new(db.clone())),
        };
        let secret_key = match &config.auth.secret_key {
            Some(k) => SecretKey::parse(&k.0)?,
            None => {
                if config.database.url.starts_with("postgres") {
                    tracing::warn!(
                        "REFRAIN_SECRET_KEY is not set: this node keeps its own key in its data \
                         folder, so app passwords made through another node fail here; give \
                         every node the same REFRAIN_SECRET_KEY"
                    );
                }
                SecretKey::load_or_create(&config.storage.data_dir.join("secret.key"))?
            }
        };
        let secret_key = Arc::new(secret_key);
        let keys = Keys::load(&db, secret_key.clone(), config.auth.key_grace_secs).await?;
        // Once per database: the secrets an older version stored in clear.
        if !db::maintenance_done(&db, SEAL_TOTP_SECRETS).await? {
            crate::auth::two_factor::seal_stored_secrets(&db, &secret_key).await?;
            db::mark_maintenance_done(&db, SEAL_TOTP_SECRETS).await?;
        }
        // Once per database: recovery codes from before they carried 124 bits.
        if !db::maintenance_done(&db, WRAP_RECOVERY_CODES).await? {
            crate::auth::two_factor::wrap_legacy_recovery_codes(&db).await?;
            db::mark_maintenance_done(&db, WRAP_RECOVERY_CODES).await?;
        }
        Ok(Core {
            kafka_breaker: Arc::new(breaker("Kafka", &config)),
            sso: Arc::default(),
            secret_key,
            transcodes: crate::infra::gate::Gate::new(
                config.limits.transcodes_max.max(1),
                config.limits.transcodes_per_user.max(1),
            ),
            db,
            storage,
            keys: Arc::new(keys),
            events: EventBus::default(),
            config: Arc::new(config),
            sessions,
        })
    }
}

fn breaker(what: &'static str, config: &Config) -> crate::infra::breaker::Breaker {
    crate::infra::breaker::Breaker::new(
        what,
        config.limits.breaker_failures,
        std::time::Duration::from_secs(config.limits.breaker_cooldown_secs),
    )
}

/// Checks each dependency: `(name, Ok | Err(reason))`. Reasons carry no secrets.
pub async fn readiness(core: &Core) -> Vec<(&'static str, std::result::Result<(), String>)> {
    let db = crate::db::ping(&core.db)
        .await
        .map_err(|_| "not answering".to_string());
    let storage = core
        .storage
        .exists("readyz-probe")
        .await
        .map(|_| ())
        .map_err(|_| "not answering".to_string());
    let name = match crate::db::kind(&core.db) {
        crate::db::Kind::Sqlite => "sqlite",
        crate::db::Kind::Postgres => "postgres",
    };
    let mut report = vec![(name, db), ("storage", storage)];
    if let Some(k) = &core.config.events.kafka {
        let up = core
            .kafka_breaker
            .call(
                async {
                    if crate::events::kafka::ping(k).await {
                        Ok(())
                    } else {
                        Err(anyhow::anyhow!("no metadata from the brokers").into())
                    }
                },
                |_| true,
            )
            .await;
        report.push((
            "kafka",
            up.map_err(|e| match e {
                crate::Error::Unavailable { .. } => "not answering (circuit open)".to_string(),
                _ => "not answering".to_string(),
            }),
        ));
    }
    if let SessionBackend::Redis(r) = &core.sessions {
        report.push((
            "redis",
            r.ping().await.map_err(|_| "not answering".to_string()),
        ));
    }
    report
}

/// Figures for `/metrics`.
pub struct OperationalFigures {
    pub jobs_by_state: Vec<(String, i64)>,
    pub outbox_backlog: i64,
    pub outbox_oldest_age_secs: f64,
}

pub async fn operational_figures(core: &Core) -> Result<OperationalFigures> {
    let rows = crate::imports::repo::count_by_state(&core.db).await?;
    let mut jobs_by_state: Vec<(String, i64)> = ["queued", "processing", "done", "failed"]
        .iter()
        .map(|s| (s.to_string(), 0))
        .collect();
    for (st, n) in rows {
        if let Some(e) = jobs_by_state.iter_mut().find(|(s, _)| *s == st) {
            e.1 = n;
        }
    }
    let outbox_backlog = crate::events::repo::backlog(&core.db).await?;
    let oldest = crate::events::repo::oldest_pending(&core.db).await?;
    let outbox_oldest_age_secs =
        oldest.map_or(0.0, |t| (crate::now_ms() - t).max(0) as f64 / 1000.0);
    Ok(OperationalFigures {
        jobs_by_state,
        outbox_backlog,
        outbox_oldest_age_secs,
    })
}
