//! Deleting one's own account, on both databases: re-authentication (and the second factor
//! when it is on), the data and objects go, the last admin stays.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::{self, account, two_factor};
use backend::imports;
use backend::testing::Backend;
use backend::{Error, admin};
use bytes::Bytes;

const PW: &str = "violet-harbour-87";
const LOCAL: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

async fn deleting_an_account_takes_its_data_and_needs_the_password_and_code(b: Backend) {
    let (core, _d) = b.core().await;
    let root = auth::signup(&core, "root@example.com", PW).await.unwrap();
    let fan = auth::signup(&core, "leaving@example.com", PW)
        .await
        .unwrap();
    let body = futures::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from(vec![1u8; 4096]))]);
    let job = imports::create_upload(&core, &fan, "mine.mp3", None, body)
        .await
        .unwrap();
    let e = two_factor::begin_enrollment(&core, &fan).await.unwrap();
    let secret = auth::totp::decode_secret(&e.secret).unwrap();
    let now = u64::try_from(backend::now_ms() / 1000).unwrap();
    two_factor::confirm_enrollment(&core, &fan, &auth::totp::code(&secret, now))
        .await
        .unwrap();

    assert!(matches!(
        account::delete_account(&core, &fan, "not-my-password", None).await,
        Err(Error::BadCredentials)
    ));
    assert!(matches!(
        account::delete_account(&core, &fan, PW, None).await,
        Err(Error::BadCode)
    ));
    assert!(core.storage.exists(&job.original_key).await.unwrap());
    let code = auth::totp::code(&secret, now + auth::totp::STEP);
    account::delete_account(&core, &fan, PW, Some(&code))
        .await
        .unwrap();
    assert!(!core.storage.exists(&job.original_key).await.unwrap());
    assert!(
        auth::user_for_login(&core, &fan.login_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        auth::login(&core, "leaving@example.com", PW, LOCAL).await,
        Err(Error::BadCredentials)
    ));
    assert_eq!(
        admin::list_users(&core, &root, "", 10).await.unwrap().len(),
        1
    );
}

async fn the_last_admin_cannot_delete_themselves(b: Backend) {
    let (core, _d) = b.core().await;
    let root = auth::signup(&core, "root@example.com", PW).await.unwrap();
    let r = account::delete_account(&core, &root, PW, None).await;
    assert!(
        matches!(&r, Err(Error::Invalid(m)) if m.contains("only admin")),
        "{r:?}"
    );
    let other = auth::signup(&core, "second@example.com", PW).await.unwrap();
    admin::set_role(&core, &root, &other.id, auth::Role::Admin)
        .await
        .unwrap();
    account::delete_account(&core, &root, PW, None)
        .await
        .unwrap();
}

backend::on_both_databases!(
    deleting_an_account_takes_its_data_and_needs_the_password_and_code,
    the_last_admin_cannot_delete_themselves,
);

mod profile {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use backend::auth::profile;

    async fn a_display_name_is_trimmed_bounded_and_clearable(b: Backend) {
        let (core, _d) = b.core().await;
        let u = auth::signup(&core, "named@example.com", PW).await.unwrap();
        assert_eq!(profile::display_name(&core, &u.id).await.unwrap(), None);
        profile::set_display_name(&core, &u, "  Ada Lovelace  ")
            .await
            .unwrap();
        assert_eq!(
            profile::display_name(&core, &u.id)
                .await
                .unwrap()
                .as_deref(),
            Some("Ada Lovelace")
        );
        assert!(matches!(
            profile::set_display_name(&core, &u, &"x".repeat(61)).await,
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            profile::set_display_name(&core, &u, "bad\u{7}name").await,
            Err(Error::Invalid(_))
        ));
        profile::set_display_name(&core, &u, "").await.unwrap();
        assert_eq!(profile::display_name(&core, &u.id).await.unwrap(), None);
    }

    backend::on_both_databases!(a_display_name_is_trimmed_bounded_and_clearable);
}
