//! The session store chosen by configuration: the application database (embedded default)
//! or Redis (`REFRAIN_REDIS_URL`, shared by several server nodes).

mod db_store;
mod redis_store;
mod repo;

pub use db_store::DbSessionStore;
pub use redis_store::RedisSessionStore;

use async_trait::async_trait;
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion};

/// The session field naming the login a signed-in session belongs to (the web layer sets
/// it at sign-in; the stores index their records by it so ending a login deletes them).
pub const SESSION_LOGIN_KEY: &str = "login";

/// The login a stored session record belongs to, if it is signed in.
pub(crate) fn login_of(record: &Record) -> Option<&str> {
    record.data.get(SESSION_LOGIN_KEY).and_then(|v| v.as_str())
}

#[derive(Clone, Debug)]
pub enum SessionBackend {
    Db(DbSessionStore),
    Redis(RedisSessionStore),
}

#[async_trait]
impl SessionStore for SessionBackend {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            SessionBackend::Db(s) => s.create(record).await,
            SessionBackend::Redis(s) => s.create(record).await,
        }
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            SessionBackend::Db(s) => s.save(record).await,
            SessionBackend::Redis(s) => s.save(record).await,
        }
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            SessionBackend::Db(s) => s.load(id).await,
            SessionBackend::Redis(s) => s.load(id).await,
        }
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            SessionBackend::Db(s) => s.delete(id).await,
            SessionBackend::Redis(s) => s.delete(id).await,
        }
    }
}

impl SessionBackend {
    /// Deletes the stored session records of logins that just ended, once the transaction
    /// that ended them committed. The ended logins are refused either way; this takes
    /// their records out of the store at once (a failure is logged, not returned: the
    /// login's end already holds).
    pub async fn forget_logins(&self, login_ids: &[String]) {
        if login_ids.is_empty() {
            return;
        }
        let res = match self {
            SessionBackend::Db(s) => s.delete_logins(login_ids).await,
            SessionBackend::Redis(s) => s.delete_logins(login_ids).await,
        };
        if let Err(e) = res {
            tracing::warn!(error = %e, logins = login_ids.len(), "could not delete the session records of ended logins");
        }
    }

    /// Removes expired records where the store does not expire them itself (Redis does).
    pub async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            SessionBackend::Db(s) => s.delete_expired().await,
            SessionBackend::Redis(_) => Ok(()),
        }
    }
}
