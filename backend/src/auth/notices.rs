//! Account lifecycle events and the emails they lead to. `user.registered`,
//! `user.deleted`, `artist.approved` and `login.new_device` are written to the outbox in
//! the transaction of the change, like every event; the worker turns each into an email
//! (a welcome, a goodbye, an artist welcome, a new-device sign-in notice with a link that
//! ends that session). Handling is idempotent by event id: the email event and the mark
//! that the lifecycle event was handled are written in one transaction.

use super::repo;
use crate::events::{self, EMAIL_REQUESTED, EmailMessage, Event};
use crate::{Core, Error, Result, now_ms};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

pub const USER_REGISTERED: &str = "user.registered";
pub const USER_DELETED: &str = "user.deleted";
pub const ARTIST_APPROVED: &str = "artist.approved";
pub const LOGIN_NEW_DEVICE: &str = "login.new_device";

/// The handler name lifecycle events are marked processed under.
pub const HANDLER: &str = "lifecycle";

/// A link in a new-device notice works for a week.
pub const END_LINK_TTL_MS: i64 = 7 * 24 * 60 * 60 * 1000;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserRegistered {
    pub user_id: String,
}

/// The address is carried along: the account (and its row) is gone by the time the
/// goodbye is sent. The outbox row is pruned after delivery like every other.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserDeleted {
    pub user_id: String,
    pub email: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ArtistApproved {
    pub user_id: String,
    pub artist_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NewDevice {
    pub user_id: String,
    pub login_id: String,
    /// "Firefox on Android".
    pub device: String,
    pub address: Option<String>,
    pub at: i64,
}

/// Records a new account's `user.registered` event (its welcome) in `conn`.
pub(crate) async fn record_registered(conn: &mut AnyConnection, user_id: &str) -> Result<()> {
    record(
        conn,
        USER_REGISTERED,
        user_id,
        &UserRegistered {
            user_id: user_id.to_string(),
        },
    )
    .await
}

/// Writes a lifecycle event inside the caller's transaction.
pub(crate) async fn record<T: Serialize>(
    conn: &mut AnyConnection,
    topic: &str,
    user_id: &str,
    payload: &T,
) -> Result<()> {
    let payload =
        serde_json::to_value(payload).map_err(|e| anyhow::anyhow!("encode {topic} event: {e}"))?;
    events::repo::enqueue(&mut *conn, &Event::new(topic, user_id, payload)).await
}

/// After a login was described (its device and address recorded): a `login.new_device`
/// event when the account has signed in before, but never from this kind of device. The
/// very first login (at sign-up) is not news.
pub(crate) async fn check_new_device(
    conn: &mut AnyConnection,
    login_id: &str,
    device: &str,
    address: Option<&str>,
) -> Result<()> {
    let Some(user_id) = repo::notices::user_of_login(&mut *conn, login_id).await? else {
        return Ok(());
    };
    // The devices of the account's latest earlier logins (a bounded look back).
    let earlier = repo::notices::earlier_user_agents(&mut *conn, &user_id, login_id).await?;
    if earlier.is_empty() {
        return Ok(());
    }
    let seen = earlier
        .iter()
        .any(|agent| super::logins::device_name(agent.as_deref()) == device);
    if seen {
        return Ok(());
    }
    let ev = NewDevice {
        user_id: user_id.clone(),
        login_id: login_id.to_string(),
        device: device.to_string(),
        address: address.map(str::to_string),
        at: now_ms(),
    };
    record(conn, LOGIN_NEW_DEVICE, &user_id, &ev).await
}

/// Whether `topic` is a lifecycle event (handled by [`handle`]).
pub fn is_lifecycle(topic: &str) -> bool {
    matches!(
        topic,
        USER_REGISTERED | USER_DELETED | ARTIST_APPROVED | LOGIN_NEW_DEVICE
    )
}

/// Handles a lifecycle event once: queues its email (nothing when the account is gone
/// or the event asks for none) and marks the event handled, in one transaction.
pub async fn handle(core: &Core, event: &Event) -> Result<()> {
    let mut tx = crate::db::begin(&core.db).await?;
    if events::repo::is_processed(&mut *tx, HANDLER, &event.id).await? {
        return Ok(());
    }
    let decode = |e: serde_json::Error| Error::Invalid(format!("{} payload: {e}", event.topic));
    let base = core.config.public_url();
    let message =
        match event.topic.as_str() {
            USER_REGISTERED => {
                let p: UserRegistered =
                    serde_json::from_value(event.payload.clone()).map_err(decode)?;
                repo::find_by_id(&mut *tx, &p.user_id).await?.map(|u| EmailMessage {
                to: u.email,
                subject: "Welcome to Refrain".into(),
                text: format!(
                    "Welcome to Refrain!\n\nYour account is ready. Upload your music or play \
                     what is shared with everyone, make playlists, and take it with you: \
                     install Refrain from your browser's menu on your phone, or connect any \
                     Subsonic app with an app password from Settings.\n\nStart here: \
                     {base}/\n"
                ),
            })
            }
            USER_DELETED => {
                let p: UserDeleted =
                    serde_json::from_value(event.payload.clone()).map_err(decode)?;
                Some(EmailMessage {
                    to: p.email,
                    subject: "Your Refrain account was deleted".into(),
                    text: "Your Refrain account and everything in it (uploads, playlists, \
                       likes, history) have been deleted, as you asked.\n\nIf you did not \
                       ask for this, tell the admin of this server at once.\n"
                        .into(),
                })
            }
            ARTIST_APPROVED => {
                let p: ArtistApproved =
                    serde_json::from_value(event.payload.clone()).map_err(decode)?;
                repo::find_by_id(&mut *tx, &p.user_id).await?.map(|u| EmailMessage {
                to: u.email,
                subject: "You are now an artist on Refrain".into(),
                text: format!(
                    "Your request was approved: you publish as {name}.\n\nWhat you upload now \
                     can go to everyone under that name: {base}/library\n",
                    name = p.artist_name
                ),
            })
            }
            LOGIN_NEW_DEVICE => {
                let p: NewDevice = serde_json::from_value(event.payload.clone()).map_err(decode)?;
                match repo::find_by_id(&mut *tx, &p.user_id).await? {
                    None => None,
                    Some(u) => {
                        let token = crate::infra::crypto::random_token();
                        let now = now_ms();
                        repo::notices::insert_login_notice_token(
                            &mut *tx,
                            &crate::infra::crypto::sha256_hex(&token),
                            &p.user_id,
                            &p.login_id,
                            now,
                            now + END_LINK_TTL_MS,
                        )
                        .await?;
                        let when = time::OffsetDateTime::from_unix_timestamp(p.at / 1000)
                            .map(|t| {
                                format!(
                                    "on {:04}-{:02}-{:02} at {:02}:{:02} UTC",
                                    t.year(),
                                    u8::from(t.month()),
                                    t.day(),
                                    t.hour(),
                                    t.minute()
                                )
                            })
                            .unwrap_or_default();
                        let from = p
                            .address
                            .as_deref()
                            .map(|a| format!(" from {a}"))
                            .unwrap_or_default();
                        Some(EmailMessage {
                            to: u.email,
                            subject: "New sign-in to your Refrain account".into(),
                            text: format!(
                                "Your Refrain account was signed in to on a device it had not \
                             been used on before: {device}{from}, {when}.\n\nIf that was you, \
                             there is nothing to do.\n\nIf it was not, end that session now \
                             (the link works once, for a week) and then change your \
                             password:\n\n{base}/end-session?token={token}\n",
                                device = p.device
                            ),
                        })
                    }
                }
            }
            other => {
                return Err(Error::Invalid(format!("{other} is not a lifecycle event")));
            }
        };
    if let Some(m) = message {
        let payload =
            serde_json::to_value(&m).map_err(|e| anyhow::anyhow!("encode email event: {e}"))?;
        events::repo::enqueue(
            &mut *tx,
            &Event::new(EMAIL_REQUESTED, &event.aggregate_id, payload),
        )
        .await?;
    }
    events::repo::mark_processed(&mut *tx, HANDLER, &event.id).await?;
    tx.commit().await?;
    core.events.wake();
    Ok(())
}

/// Ends the login a new-device notice named, from its link (no sign-in needed: whoever
/// holds the mailbox may cut off a stranger). Works once.
pub async fn end_login_by_link(core: &Core, token: &str) -> Result<()> {
    let now = now_ms();
    let mut tx = crate::db::begin(&core.db).await?;
    let row = repo::notices::use_login_notice_token(
        &mut *tx,
        &crate::infra::crypto::sha256_hex(token.trim()),
        now,
    )
    .await?;
    let Some((user_id, login_id)) = row else {
        return Err(Error::Invalid(
            "this link is not valid: it was already used or has expired".into(),
        ));
    };
    repo::revoke_own_login(&mut *tx, &user_id, &login_id, now).await?;
    tx.commit().await?;
    core.sessions
        .forget_logins(std::slice::from_ref(&login_id))
        .await;
    tracing::info!(%user_id, %login_id, "session ended from a new-device notice");
    Ok(())
}
