//! tower-sessions store in Redis (the `redis` crate), so every server node sees the same
//! logins. Each record is one key with the session's own expiry as its TTL.

use async_trait::async_trait;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store;

#[derive(Clone)]
pub struct RedisSessionStore {
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("prefix", &self.prefix)
            .finish()
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

impl RedisSessionStore {
    pub async fn connect(url: &str) -> crate::Result<Self> {
        let client = redis::Client::open(url).map_err(|e| anyhow::anyhow!("bad REDIS_URL: {e}"))?;
        let conn = ConnectionManager::new(client)
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to Redis: {e}"))?;
        Ok(RedisSessionStore {
            conn,
            prefix: "refrain:session:".into(),
        })
    }

    pub fn key(&self, id: &Id) -> String {
        format!("{}{id}", self.prefix)
    }

    /// The set of session ids stored for one login.
    fn login_key(&self, login_id: &str) -> String {
        format!("{}login:{login_id}", self.prefix)
    }

    /// Deletes every stored session of these logins, and their index sets.
    pub async fn delete_logins(&self, login_ids: &[String]) -> crate::Result<()> {
        let mut c = self.conn.clone();
        for login in login_ids {
            let set = self.login_key(login);
            let ids: Vec<String> = c
                .smembers(&set)
                .await
                .map_err(|e| anyhow::anyhow!("redis SMEMBERS: {e}"))?;
            let mut keys: Vec<String> = ids
                .iter()
                .map(|id| format!("{}{id}", self.prefix))
                .collect();
            keys.push(set);
            let _: i64 = c
                .del(keys)
                .await
                .map_err(|e| anyhow::anyhow!("redis DEL: {e}"))?;
        }
        Ok(())
    }

    /// Seconds until the stored record of `id` expires (-2 when absent), for tests and ops.
    pub async fn ttl(&self, id: &Id) -> crate::Result<i64> {
        let mut c = self.conn.clone();
        c.ttl(self.key(id))
            .await
            .map_err(|e| anyhow::anyhow!("redis TTL: {e}").into())
    }

    pub async fn ping(&self) -> crate::Result<()> {
        let mut c = self.conn.clone();
        let _: String = redis::cmd("PING")
            .query_async(&mut c)
            .await
            .map_err(|e| anyhow::anyhow!("redis: {e}"))?;
        Ok(())
    }

    async fn write(&self, record: &Record, only_if_new: bool) -> session_store::Result<bool> {
        let ttl = (record.expiry_date - time::OffsetDateTime::now_utc()).whole_seconds();
        if ttl <= 0 {
            return Ok(true);
        }
        let data = serde_json::to_string(record).map_err(backend)?;
        let mut c = self.conn.clone();
        let key = self.key(&record.id);
        // Indexed by login, so ending the login deletes the record at once. A save (the
        // common case) writes record and index in one round trip; a create waits for its
        // `NX` to succeed first, so a colliding id is never indexed under this login.
        let index = |pipe: &mut redis::Pipeline| {
            if let Some(login) = super::login_of(record) {
                let set = self.login_key(login);
                pipe.sadd(&set, record.id.to_string())
                    .ignore()
                    .expire(&set, ttl)
                    .ignore();
            }
        };
        if !only_if_new {
            let mut pipe = redis::pipe();
            pipe.set_ex(&key, data, ttl as u64).ignore();
            index(&mut pipe);
            let _: () = pipe.query_async(&mut c).await.map_err(backend)?;
            return Ok(true);
        }
        let res: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(data)
            .arg("EX")
            .arg(ttl)
            .arg("NX")
            .query_async(&mut c)
            .await
            .map_err(backend)?;
        if res.is_some() && super::login_of(record).is_some() {
            let mut pipe = redis::pipe();
            index(&mut pipe);
            let _: () = pipe.query_async(&mut c).await.map_err(backend)?;
        }
        Ok(res.is_some())
    }
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        while !self.write(record, true).await? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.write(record, false).await.map(|_| ())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let mut c = self.conn.clone();
        let data: Option<String> = c.get(self.key(id)).await.map_err(backend)?;
        data.map(|d| serde_json::from_str(&d).map_err(backend))
            .transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let mut c = self.conn.clone();
        let _: i64 = c.del(self.key(id)).await.map_err(backend)?;
        Ok(())
    }
}
