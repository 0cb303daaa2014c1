//! Refrain's event handlers. The embedded default runs them in the server process through
//! [`dispatch`], fed from the outbox table; scaled out, `refrain-worker` processes consume
//! Kafka through [`kafka`] with the very same handlers.

pub mod backfill;
pub mod dispatch;
pub mod import;
pub mod kafka;
pub mod notify;
pub mod ops;
pub mod scanner;

use backend::Core;
use backend::events::{self, EmailMessage, Event, ImportRequested};

/// The idempotency-ledger name of the play handler.
pub const PLAYS_HANDLER: &str = "plays";

/// Routes one event to its handler. `Ok` means settled; `Err` means retry later. The
/// handling is a span in the trace of the request that wrote the event.
pub async fn handle(core: &Core, event: &Event) -> anyhow::Result<()> {
    use tracing::Instrument;
    let span = tracing::info_span!(
        "event",
        otel.kind = "consumer",
        event_id = %event.id,
        topic = %event.topic,
        trace_id = tracing::field::Empty,
    );
    let name = format!("handle {}", event.topic);
    backend::telemetry::continue_trace(&span, name, event.traceparent.as_deref());
    let r = route(core, event).instrument(span).await;
    ops::count(&event.topic, if r.is_ok() { "done" } else { "retry" });
    r
}

async fn route(core: &Core, event: &Event) -> anyhow::Result<()> {
    match event.topic.as_str() {
        events::IMPORT_REQUESTED => {
            let p: ImportRequested = serde_json::from_value(event.payload.clone())?;
            import::handle(core, &event.id, &p.job_id).await
        }
        events::EMAIL_REQUESTED => {
            let m: EmailMessage = serde_json::from_value(event.payload.clone())?;
            notify::handle(core, &event.id, &m).await
        }
        events::PLAY_RECORDED => {
            let p: backend::playback::plays::PlayRecorded =
                serde_json::from_value(event.payload.clone())?;
            Ok(backend::playback::plays::apply_play(core, &event.id, PLAYS_HANDLER, &p).await?)
        }
        t if backend::auth::notices::is_lifecycle(t) => {
            Ok(backend::auth::notices::handle(core, event).await?)
        }
        other => {
            tracing::warn!(topic = other, event_id = %event.id, "no handler for event; skipping");
            Ok(())
        }
    }
}

/// Called when an event has failed too often: settles whatever it was about.
pub async fn give_up(core: &Core, event: &Event, error: &str) -> anyhow::Result<()> {
    ops::count(&event.topic, "gave_up");
    if event.topic == events::IMPORT_REQUESTED {
        let p: ImportRequested = serde_json::from_value(event.payload.clone())?;
        import::give_up(core, &event.id, &p.job_id, error).await?;
    }
    Ok(())
}
