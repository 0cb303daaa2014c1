use crate::auth::{DbSessionStore, RedisSessionStore, SessionBackend};
use crate::events::EventBus;
use crate::playback::StreamKeys;
use crate::storage::Storage;
use crate::{Config, Result, db};
use std::sync::Arc;

/// Everything a request or an event handler needs, cheap to clone.
#[derive(Clone)]
pub struct Core {
    pub db: db::Db,
    pub storage: Storage,
    pub keys: Arc<StreamKeys>,
    pub events: EventBus,
    pub config: Arc<Config>,
    /// Where sessions live (database, or Redis when configured).
    pub sessions: SessionBackend,
}

impl Core {
    /// Connects, migrates and loads (or creates) the signing keys.
    pub async fn init(config: Config) -> Result<Self> {
        let db = db::connect(&config).await?;
        db::migrate(&db).await?;
        let storage = Storage::local(&config.storage_dir)?;
        let keys = StreamKeys::load_or_create(&config.data_dir.join("keys"))?;
        let sessions = match &config.redis_url {
            Some(url) => SessionBackend::Redis(RedisSessionStore::connect(url).await?),
            None => SessionBackend::Db(DbSessionStore::new(db.clone())),
        };
        Ok(Core {
            db,
            storage,
            keys: Arc::new(keys),
            events: EventBus::default(),
            config: Arc::new(config),
            sessions,
        })
    }
}

/// Checks each dependency: `(name, Ok | Err(reason))`. Reasons carry no secrets.
pub async fn readiness(core: &Core) -> Vec<(&'static str, std::result::Result<(), String>)> {
    let db = sqlx::query_scalar::<_, i64>("SELECT 1")
        .fetch_one(&core.db)
        .await
        .map(|_| ())
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
    if let SessionBackend::Redis(r) = &core.sessions {
        report.push((
            "redis",
            r.ping().await.map_err(|_| "not answering".to_string()),
        ));
    }
    report
}
