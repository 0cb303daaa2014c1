//! Email flows on both databases, reading the queued messages from the outbox: password
//! reset (single use, 30 minutes, ends sessions, never bypasses two-factor), verification
//! when required, change of address confirmed at the new address.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::{self, LoginStep, email, two_factor};
use backend::config::EmailVerification;
use backend::testing::{Backend, link_token, queued_emails};
use backend::{Core, Error};

const PW: &str = "violet-harbour-87";
const LOCAL: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

async fn core_with(b: Backend, v: EmailVerification) -> (Core, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = b.config(dir.path()).await;
    config.auth.email_verification = v;
    config.server.public_url = Some("https://music.example".into());
    (Core::init(config).await.unwrap(), dir)
}

async fn last_token(core: &Core, to: &str, path: &str) -> String {
    let mails = queued_emails(&core.db).await;
    let m = mails.iter().rev().find(|m| m.to == to).expect("an email");
    assert!(
        m.text
            .contains(&format!("https://music.example{path}?token=")),
        "{}",
        m.text
    );
    link_token(&m.text, path).unwrap()
}

async fn a_reset_link_sets_a_new_password_once_and_ends_every_session(b: Backend) {
    let (core, _d) = core_with(b, EmailVerification::Off).await;
    let user = auth::signup(&core, "forgot@example.com", PW).await.unwrap();
    assert!(
        queued_emails(&core.db).await.is_empty(),
        "verification is off"
    );
    // Unknown addresses get the same answer and no email.
    email::request_password_reset(&core, "nobody@example.com", LOCAL)
        .await
        .unwrap();
    assert!(queued_emails(&core.db).await.is_empty());
    email::request_password_reset(&core, "Forgot@Example.com", LOCAL)
        .await
        .unwrap();
    let token = last_token(&core, "forgot@example.com", "/reset-password").await;
    // Stored hashed: the raw token is nowhere in the database.
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM email_tokens WHERE token_hash = $1")
        .bind(&token)
        .fetch_one(&core.db)
        .await
        .unwrap();
    assert_eq!(n, 0);

    assert!(matches!(
        email::reset_password(&core, &token, "password").await,
        Err(Error::WeakPassword(_))
    ));
    email::reset_password(&core, &token, "copper-meadow-55")
        .await
        .unwrap();
    assert!(
        auth::user_for_login(&core, &user.login_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        email::reset_password(&core, &token, "copper-meadow-56").await,
        Err(Error::Invalid(_))
    ));
    assert!(
        auth::login(&core, "forgot@example.com", "copper-meadow-55", LOCAL)
            .await
            .is_ok()
    );
}

async fn a_reset_link_expires_and_never_bypasses_two_factor(b: Backend) {
    let (core, _d) = core_with(b, EmailVerification::Off).await;
    let user = auth::signup(&core, "guarded@example.com", PW)
        .await
        .unwrap();
    let e = two_factor::begin_enrollment(&core, &user).await.unwrap();
    let secret = auth::totp::decode_secret(&e.secret).unwrap();
    let now = u64::try_from(backend::now_ms() / 1000).unwrap();
    two_factor::confirm_enrollment(&core, &user, &auth::totp::code(&secret, now))
        .await
        .unwrap();

    email::request_password_reset(&core, "guarded@example.com", LOCAL)
        .await
        .unwrap();
    let stale = last_token(&core, "guarded@example.com", "/reset-password").await;
    sqlx::query("UPDATE email_tokens SET expires_at = $1")
        .bind(backend::now_ms() - 1)
        .execute(&core.db)
        .await
        .unwrap();
    assert!(matches!(
        email::reset_password(&core, &stale, "copper-meadow-55").await,
        Err(Error::Invalid(_))
    ));
    email::request_password_reset(&core, "guarded@example.com", LOCAL)
        .await
        .unwrap();
    let token = last_token(&core, "guarded@example.com", "/reset-password").await;
    email::reset_password(&core, &token, "copper-meadow-55")
        .await
        .unwrap();
    assert!(matches!(
        auth::login(&core, "guarded@example.com", "copper-meadow-55", LOCAL)
            .await
            .unwrap(),
        LoginStep::NeedsCode(_)
    ));
}

async fn reset_requests_are_throttled(b: Backend) {
    let (core, _d) = core_with(b, EmailVerification::Off).await;
    auth::signup(&core, "flood@example.com", PW).await.unwrap();
    let mut refused = false;
    for _ in 0..8 {
        if let Err(e) = email::request_password_reset(&core, "flood@example.com", LOCAL).await {
            assert!(matches!(e, Error::Throttled { .. }), "{e:?}");
            refused = true;
            break;
        }
    }
    assert!(refused, "an inbox cannot be flooded with reset links");
    assert!(queued_emails(&core.db).await.len() <= 6);
}

async fn a_required_verification_blocks_login_until_the_link_is_followed(b: Backend) {
    let (core, _d) = core_with(b, EmailVerification::Required).await;
    auth::signup(&core, "new@example.com", PW).await.unwrap();
    assert!(matches!(
        auth::login(&core, "new@example.com", PW, LOCAL).await,
        Err(Error::EmailNotVerified)
    ));
    let token = last_token(&core, "new@example.com", "/verify-email").await;
    email::verify_email(&core, &token).await.unwrap();
    assert!(
        auth::login(&core, "new@example.com", PW, LOCAL)
            .await
            .is_ok()
    );
    assert!(
        email::verify_email(&core, &token).await.is_err(),
        "single use"
    );
}

async fn a_new_address_is_confirmed_at_that_address(b: Backend) {
    let (core, _d) = core_with(b, EmailVerification::Optional).await;
    let user = auth::signup(&core, "old@example.com", PW).await.unwrap();
    auth::signup(&core, "taken@example.com", PW).await.unwrap();
    assert!(matches!(
        email::request_email_change(&core, &user, "wrong-password-1", "new@example.com").await,
        Err(Error::BadCredentials)
    ));
    assert!(matches!(
        email::request_email_change(&core, &user, PW, "taken@example.com").await,
        Err(Error::EmailTaken)
    ));
    email::request_email_change(&core, &user, PW, "New@Example.com")
        .await
        .unwrap();
    // Nothing changes until the link sent to the new address is followed.
    assert!(
        auth::login(&core, "old@example.com", PW, LOCAL)
            .await
            .is_ok()
    );
    let token = last_token(&core, "new@example.com", "/confirm-email").await;
    assert_eq!(
        email::confirm_email_change(&core, &token).await.unwrap(),
        "new@example.com"
    );
    assert!(matches!(
        auth::login(&core, "old@example.com", PW, LOCAL).await,
        Err(Error::BadCredentials)
    ));
    assert!(
        auth::login(&core, "new@example.com", PW, LOCAL)
            .await
            .is_ok()
    );
}

/// Delivered emails do not stay in the outbox with their links: a quarter of an hour
/// after it was handed on, an email's row is pruned; other events are kept a week; rows
/// not yet handed on are never pruned.
async fn delivered_emails_leave_the_outbox(b: Backend) {
    use backend::events::repo::{EMAIL_RETENTION_MS, RETENTION_MS, prune};
    let (core, _d) = core_with(b, EmailVerification::Optional).await;
    auth::signup(&core, "kept@example.com", PW).await.unwrap();
    auth::signup(&core, "sent@example.com", PW).await.unwrap();
    let now = backend::now_ms();
    let topic_of = |email: &str| format!("%{email}%");
    // The first email is not handed on yet; the second was, just past its retention; a
    // play event was handed on as long ago, well within its own.
    sqlx::query("UPDATE outbox SET published_at = $1 WHERE payload LIKE $2")
        .bind(now - EMAIL_RETENTION_MS - 1000)
        .bind(topic_of("sent@example.com"))
        .execute(&core.db)
        .await
        .unwrap();
    backend::events::repo::enqueue(
        &core.db,
        &backend::events::Event::new(
            backend::events::PLAY_RECORDED,
            "t1",
            serde_json::json!({"note": "a play"}),
        ),
    )
    .await
    .unwrap();
    sqlx::query("UPDATE outbox SET published_at = $1 WHERE topic = $2")
        .bind(now - EMAIL_RETENTION_MS - 1000)
        .bind(backend::events::PLAY_RECORDED)
        .execute(&core.db)
        .await
        .unwrap();
    assert_eq!(prune(&core.db, now).await.unwrap(), 1);
    let left: Vec<String> = queued_emails(&core.db)
        .await
        .into_iter()
        .map(|m| m.to)
        .collect();
    assert_eq!(left, vec!["kept@example.com".to_string()]);
    let plays: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE topic = $1")
        .bind(backend::events::PLAY_RECORDED)
        .fetch_one(&core.db)
        .await
        .unwrap();
    assert_eq!(plays, 1);
    // A week on, the play goes too; the email never handed on stays.
    assert_eq!(prune(&core.db, now + RETENTION_MS).await.unwrap(), 1);
    assert_eq!(queued_emails(&core.db).await.len(), 1);
}

backend::on_both_databases!(
    delivered_emails_leave_the_outbox,
    a_reset_link_sets_a_new_password_once_and_ends_every_session,
    a_reset_link_expires_and_never_bypasses_two_factor,
    reset_requests_are_throttled,
    a_required_verification_blocks_login_until_the_link_is_followed,
    a_new_address_is_confirmed_at_that_address,
);
