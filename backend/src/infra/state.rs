//! `Core`: what a request or an event handler needs, made once at start-up (boot.rs).

use super::events::EventBus;
use super::keys::Keys;
use super::sealed::SecretKey;
use super::sessions::SessionBackend;
use super::storage::Storage;
use super::{config::Config, db};
use std::sync::Arc;

/// Everything a request or an event handler needs, cheap to clone.
#[derive(Clone)]
pub struct Core {
    pub db: db::Db,
    pub storage: Storage,
    /// Signing keys: stream URLs and API access tokens, one ring each.
    pub keys: Arc<Keys>,
    pub events: EventBus,
    pub config: Arc<Config>,
    /// Where sessions live (database, or Redis when configured).
    pub sessions: SessionBackend,
    /// Seals secrets the server must read back (see [`super::sealed`]).
    pub secret_key: Arc<SecretKey>,
    /// Caps on the transcodes this node runs for Subsonic apps.
    pub transcodes: Arc<super::gate::Gate>,
    /// Open while Kafka is not answering: the relay pauses, and `/readyz` and `/metrics`
    /// say so at once instead of each waiting on the brokers.
    pub kafka_breaker: Arc<super::breaker::Breaker>,
    /// Single sign-on providers' discovery documents and keys.
    pub sso: Arc<super::sso_cache::SsoCache>,
}
