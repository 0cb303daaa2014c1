//! Emails leave through the outbox: over SMTP to a real sink (aiosmtpd, started by
//! scripts/services.sh), whose delivered message carries a working link; without SMTP,
//! as a file in the data directory. Handling an email event twice sends it once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::{self, email};
use backend::config::Redacted;
use backend::testing::{Backend, delivered_mail, link_token};
use backend::{Core, events};
use std::time::Duration;

const PW: &str = "violet-harbour-87";

#[tokio::test]
async fn a_verification_email_reaches_the_smtp_sink_and_its_link_works() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Backend::Sqlite.config(dir.path()).await;
    config.auth.email_verification = backend::config::EmailVerification::Optional;
    config.mail.smtp_url = Some(Redacted(
        std::env::var("REFRAIN_TEST_SMTP_URL").unwrap_or_else(|_| "smtp://127.0.0.1:2525".into()),
    ));
    config.events.embedded_worker = false;
    let core = Core::init(config).await.unwrap();
    let to = format!("{}@example.com", backend::testing::unique());
    auth::signup(&core, &to, PW).await.unwrap();
    worker::dispatch::drain(&core).await.unwrap();
    // The welcome goes out too; the verification email is the one with the link.
    let text = delivered_mail(&to, "Confirm your email address", Duration::from_secs(30)).await;
    let token = link_token(&text, "/verify-email").expect("a verification link");
    email::verify_email(&core, &token).await.unwrap();
}

#[tokio::test]
async fn without_smtp_emails_land_in_the_data_directory_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Backend::Sqlite.config(dir.path()).await;
    config.auth.email_verification = backend::config::EmailVerification::Optional;
    config.events.embedded_worker = false;
    let core = Core::init(config).await.unwrap();
    auth::signup(&core, "folder@example.com", PW).await.unwrap();
    let ev = events::repo::pending(&core.db, 10).await.unwrap()[0]
        .event
        .clone();
    // The same event twice (a redelivery) writes one file.
    worker::handle(&core, &ev).await.unwrap();
    worker::handle(&core, &ev).await.unwrap();
    let files: Vec<_> = std::fs::read_dir(dir.path().join("mail"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".eml"))
        .collect();
    assert_eq!(files.len(), 1);
    let text = backend::testing::decode_quoted_printable(
        &std::fs::read_to_string(files[0].path()).unwrap(),
    );
    assert!(text.contains("To: folder@example.com"), "{text}");
    assert!(link_token(&text, "/verify-email").is_some());
}
