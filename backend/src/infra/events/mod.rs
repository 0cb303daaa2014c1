//! Domain events and the transactional outbox. A service writes its event row in the same
//! transaction as the change; a dispatcher (in-process for the embedded default) hands
//! each row to the handlers and marks it published. Handlers are idempotent by event id.

pub mod kafka;
pub mod repo;

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::Notify;

pub const IMPORT_REQUESTED: &str = "import.requested";
/// An email to send (verification, password reset, change of address).
pub const EMAIL_REQUESTED: &str = "notification.email";
/// A playback that counted as a play (the playback domain writes and applies it).
pub const PLAY_RECORDED: &str = "play.recorded";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    pub id: String,
    /// Event type, e.g. `import.requested`; also the topic it is published to.
    pub topic: String,
    /// Events of one aggregate are delivered in order.
    pub aggregate_id: String,
    pub payload: serde_json::Value,
    /// The W3C trace context of the request (or event) that wrote it: its handling joins
    /// that trace (see [`crate::telemetry`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

impl Event {
    /// A new event, in the trace of the current span.
    pub fn new(topic: &str, aggregate_id: &str, payload: serde_json::Value) -> Self {
        Event {
            id: crate::new_id(),
            topic: topic.into(),
            aggregate_id: aggregate_id.into(),
            payload,
            traceparent: crate::telemetry::current_traceparent(),
        }
    }
}

/// The payload of [`EMAIL_REQUESTED`]: a plain-text message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EmailMessage {
    pub to: String,
    pub subject: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportRequested {
    pub job_id: String,
}

/// Wakes the in-process dispatcher when a new outbox row is committed.
#[derive(Clone, Default)]
pub struct EventBus {
    notify: Arc<Notify>,
}

impl EventBus {
    pub fn wake(&self) {
        self.notify.notify_one();
    }
    pub async fn woken(&self) {
        self.notify.notified().await;
    }
}
