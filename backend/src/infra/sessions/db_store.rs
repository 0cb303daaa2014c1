//! tower-sessions store in the application database, so sessions survive a restart.

use super::repo;
use crate::db::Db;
use async_trait::async_trait;
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion};

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        DbSessionStore { db }
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

/// A database error; while the database is not answering, the one message the app
/// answers 503 for ([`crate::db::SESSION_STORE_NOT_ANSWERING`]).
fn database(e: sqlx::Error) -> session_store::Error {
    if crate::db::is_outage(&e) {
        tracing::warn!(error = %e, "the session store's database is not answering");
        backend(crate::db::SESSION_STORE_NOT_ANSWERING)
    } else {
        backend(e)
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // Retry on the (astronomically unlikely) id collision, as the trait asks.
        loop {
            let data = serde_json::to_string(&record.data).map_err(backend)?;
            let res = repo::insert(
                &self.db,
                &record.id.to_string(),
                &data,
                record.expiry_date.unix_timestamp(),
                super::login_of(record),
            )
            .await;
            match res {
                Ok(()) => return Ok(()),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    record.id = Id::default()
                }
                Err(e) => return Err(database(e)),
            }
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data).map_err(backend)?;
        repo::upsert(
            &self.db,
            &record.id.to_string(),
            &data,
            record.expiry_date.unix_timestamp(),
            super::login_of(record),
        )
        .await
        .map_err(database)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let row = repo::load(&self.db, &id.to_string(), now)
            .await
            .map_err(database)?;
        let Some((data, expiry)) = row else {
            return Ok(None);
        };
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&data).map_err(backend)?,
            expiry_date: time::OffsetDateTime::from_unix_timestamp(expiry).map_err(backend)?,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        repo::delete(&self.db, &id.to_string())
            .await
            .map_err(database)?;
        Ok(())
    }
}

impl DbSessionStore {
    /// Deletes every stored session of these logins.
    pub async fn delete_logins(&self, login_ids: &[String]) -> crate::Result<()> {
        for id in login_ids {
            repo::delete_login(&self.db, id).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        repo::delete_expired(&self.db, now)
            .await
            .map_err(database)?;
        Ok(())
    }
}
