//! Sends the emails the outbox asks for: over SMTP with lettre when `REFRAIN_SMTP_URL` is
//! set, otherwise as `.eml` files in `<data dir>/mail` (so a self-hoster without a mail
//! server can still read the links). Idempotent by event id; a crash between sending and
//! recording can send one message twice, never lose one.

use backend::Core;
use backend::events::{self, EmailMessage};
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub const HANDLER: &str = "email";

pub async fn handle(core: &Core, event_id: &str, m: &EmailMessage) -> anyhow::Result<()> {
    if events::repo::is_processed(&core.db, HANDLER, event_id).await? {
        return Ok(());
    }
    let message = match compose(&core.config.mail.mail_from, m) {
        Ok(msg) => msg,
        Err(e) => {
            // A bad address will never work: record it and move on rather than retry.
            tracing::warn!(%event_id, error = %e, "email cannot be built; dropped");
            events::repo::mark_processed(&core.db, HANDLER, event_id).await?;
            return Ok(());
        }
    };
    match &core.config.mail.smtp_url {
        Some(url) => {
            let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url.0)?.build();
            transport.send(message).await?;
        }
        None => {
            write_to_folder(
                &core.config.storage.data_dir.join("mail"),
                event_id,
                &message,
            )
            .await?
        }
    }
    events::repo::mark_processed(&core.db, HANDLER, event_id).await?;
    tracing::info!(%event_id, subject = %m.subject, "email sent");
    Ok(())
}

fn compose(from: &str, m: &EmailMessage) -> anyhow::Result<Message> {
    Ok(Message::builder()
        .from(from.parse()?)
        .to(m.to.parse()?)
        .subject(&m.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(m.text.clone())?)
}

async fn write_to_folder(
    dir: &std::path::Path,
    event_id: &str,
    msg: &Message,
) -> anyhow::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    let name = format!("{}-{event_id}.eml", backend::now_ms());
    let tmp = dir.join(format!(".{name}.tmp"));
    tokio::fs::write(&tmp, msg.formatted()).await?;
    tokio::fs::rename(&tmp, dir.join(name)).await?;
    Ok(())
}
