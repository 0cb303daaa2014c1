//! Lifecycle events on both databases: `user.registered`, `user.deleted`,
//! `artist.approved` and `login.new_device` are written with their change and become
//! emails once each, however often they are delivered; a new-device notice's link ends
//! that session, once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::notices::{
    self, ARTIST_APPROVED, LOGIN_NEW_DEVICE, USER_DELETED, USER_REGISTERED,
};
use backend::auth::{self, LoginStep, logins};
use backend::events::Event;
use backend::testing::{Backend, link_token, queued_emails};
use backend::{Core, Error};

const PW: &str = "violet-harbour-87";
const LOCAL: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36";
const FIREFOX_ANDROID: &str =
    "Mozilla/5.0 (Android 14; Mobile; rv:140.0) Gecko/140.0 Firefox/140.0";

async fn core(b: Backend) -> (Core, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = b.config(dir.path()).await;
    config.server.public_url = Some("https://music.example".into());
    (Core::init(config).await.unwrap(), dir)
}

/// The lifecycle events in the outbox, oldest first.
async fn lifecycle_events(core: &Core, topic: &str) -> Vec<Event> {
    backend::events::repo::pending(&core.db, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.event)
        .filter(|e| e.topic == topic)
        .collect()
}

/// Delivers each event twice (as a redelivery after a crash would).
async fn handle_twice(core: &Core, events: &[Event]) {
    for e in events {
        notices::handle(core, e).await.unwrap();
        notices::handle(core, e).await.unwrap();
    }
}

async fn log_in(core: &Core, email: &str, ua: &str) -> auth::CurrentUser {
    let LoginStep::Done(u) = auth::login(core, email, PW, LOCAL).await.unwrap() else {
        panic!("two-factor is off");
    };
    logins::describe(core, &u.login_id, Some(ua), Some(LOCAL))
        .await
        .unwrap();
    u
}

async fn a_new_account_is_welcomed_once(b: Backend) {
    let (core, _d) = core(b).await;
    let user = auth::signup(&core, "hello@example.com", PW).await.unwrap();
    let events = lifecycle_events(&core, USER_REGISTERED).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].aggregate_id, user.id);
    handle_twice(&core, &events).await;
    let mails = queued_emails(&core.db).await;
    let welcome: Vec<_> = mails
        .iter()
        .filter(|m| m.subject == "Welcome to Refrain")
        .collect();
    assert_eq!(welcome.len(), 1, "{mails:?}");
    assert_eq!(welcome[0].to, "hello@example.com");
    assert!(welcome[0].text.contains("https://music.example/"));
}

async fn a_sign_in_from_a_new_kind_of_device_sends_a_notice_whose_link_ends_it(b: Backend) {
    let (core, _d) = core(b).await;
    let first = auth::signup(&core, "owner@example.com", PW).await.unwrap();
    // The sign-up's own login, on Chrome: the first device is not news.
    logins::describe(&core, &first.login_id, Some(CHROME), Some(LOCAL))
        .await
        .unwrap();
    log_in(&core, "owner@example.com", CHROME).await;
    assert!(lifecycle_events(&core, LOGIN_NEW_DEVICE).await.is_empty());

    let stranger = log_in(&core, "owner@example.com", FIREFOX_ANDROID).await;
    let events = lifecycle_events(&core, LOGIN_NEW_DEVICE).await;
    assert_eq!(events.len(), 1);
    handle_twice(&core, &events).await;
    let mails = queued_emails(&core.db).await;
    let notices: Vec<_> = mails
        .iter()
        .filter(|m| m.subject == "New sign-in to your Refrain account")
        .collect();
    assert_eq!(notices.len(), 1, "{mails:?}");
    let text = &notices[0].text;
    assert!(
        text.contains("Firefox on Android") && text.contains("from 127.0.0.1"),
        "{text}"
    );
    let token = link_token(text, "/end-session").expect("an end-session link");

    // The link ends exactly that session, once; the owner's sessions go on.
    assert!(
        auth::user_for_login(&core, &stranger.login_id)
            .await
            .unwrap()
            .is_some()
    );
    notices::end_login_by_link(&core, &token).await.unwrap();
    assert!(
        auth::user_for_login(&core, &stranger.login_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        auth::user_for_login(&core, &first.login_id)
            .await
            .unwrap()
            .is_some()
    );
    let again = notices::end_login_by_link(&core, &token).await;
    assert!(matches!(again, Err(Error::Invalid(_))), "{again:?}");
    let forged = notices::end_login_by_link(&core, "00ff").await;
    assert!(matches!(forged, Err(Error::Invalid(_))), "{forged:?}");

    // The same kind of device again is not news.
    log_in(&core, "owner@example.com", FIREFOX_ANDROID).await;
    assert_eq!(lifecycle_events(&core, LOGIN_NEW_DEVICE).await.len(), 1);
}

async fn an_approved_artist_and_a_deleted_account_are_told(b: Backend) {
    let (core, _d) = core(b).await;
    let admin = auth::signup(&core, "admin@example.com", PW).await.unwrap();
    let fan = auth::signup(&core, "fan@example.com", PW).await.unwrap();
    backend::testing::approve_artist(&core, &admin, &fan, "The Quiet Ones", "my band").await;
    let approved = lifecycle_events(&core, ARTIST_APPROVED).await;
    assert_eq!(approved.len(), 1);
    handle_twice(&core, &approved).await;

    auth::account::delete_account(&core, &fan, PW, None)
        .await
        .unwrap();
    let deleted = lifecycle_events(&core, USER_DELETED).await;
    assert_eq!(deleted.len(), 1);
    handle_twice(&core, &deleted).await;
    // The account is gone: its welcome (delivered only now) has nobody to go to.
    let registered = lifecycle_events(&core, USER_REGISTERED).await;
    handle_twice(&core, &registered).await;

    let mails = queued_emails(&core.db).await;
    let to_fan: Vec<&str> = mails
        .iter()
        .filter(|m| m.to == "fan@example.com")
        .map(|m| m.subject.as_str())
        .collect();
    assert_eq!(
        to_fan,
        [
            "You are now an artist on Refrain",
            "Your Refrain account was deleted"
        ],
        "{mails:?}"
    );
    assert!(mails.iter().any(|m| m.text.contains("The Quiet Ones")));
}

backend::on_both_databases!(
    a_new_account_is_welcomed_once,
    a_sign_in_from_a_new_kind_of_device_sends_a_notice_whose_link_ends_it,
    an_approved_artist_and_a_deleted_account_are_told,
);
