//! Administration on both databases: only admins, every action audited, disabling an
//! account ends its access at once, the admin-email bootstrap.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::admin;
use backend::auth::{self, LoginStep, Role, two_factor};
use backend::testing::Backend;
use backend::{Core, Error};

const PW: &str = "violet-harbour-87";
const LOCAL: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

async fn three_users(core: &Core) -> (auth::CurrentUser, auth::CurrentUser, auth::CurrentUser) {
    let a = auth::signup(core, "admin@example.com", PW).await.unwrap();
    let b = auth::signup(core, "bob@example.com", PW).await.unwrap();
    let c = auth::signup(core, "carol_100%@example.com", PW)
        .await
        .unwrap();
    assert_eq!(a.role, Role::Admin);
    (a, b, c)
}

async fn only_admins_may_administer(b: Backend) {
    let (core, _d) = b.core().await;
    let (admin, bob, carol) = three_users(&core).await;
    assert!(matches!(
        admin::list_users(&core, &bob, "", 50).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        admin::set_role(&core, &bob, &bob.id, Role::Admin).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        admin::set_disabled(&core, &bob, &carol.id, true).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        admin::reset_two_factor(&core, &bob, &carol.id).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        admin::audit_log(&core, &bob, 10).await,
        Err(Error::Forbidden)
    ));
    // Nor can an admin lock themselves out.
    assert!(matches!(
        admin::set_role(&core, &admin, &admin.id, Role::Listener).await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        admin::set_disabled(&core, &admin, &admin.id, true).await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        admin::set_role(&core, &admin, "no-such-user", Role::Artist).await,
        Err(Error::NotFound(_))
    ));
}

async fn search_matches_email_fragments_literally(b: Backend) {
    let (core, _d) = b.core().await;
    let (admin, _, _) = three_users(&core).await;
    assert_eq!(
        admin::list_users(&core, &admin, "", 50)
            .await
            .unwrap()
            .len(),
        3
    );
    let bob = admin::list_users(&core, &admin, "BOB", 50).await.unwrap();
    assert_eq!(bob.len(), 1);
    assert_eq!(bob[0].email, "bob@example.com");
    // '%' and '_' are searched for, not wildcards.
    let pct = admin::list_users(&core, &admin, "100%", 50).await.unwrap();
    assert_eq!(pct.len(), 1);
    assert!(
        admin::list_users(&core, &admin, "b_b", 50)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn disabling_ends_access_at_once_and_is_audited(b: Backend) {
    let (core, _d) = b.core().await;
    let (admin, bob, _) = three_users(&core).await;
    assert!(
        auth::user_for_login(&core, &bob.login_id)
            .await
            .unwrap()
            .is_some()
    );
    admin::set_disabled(&core, &admin, &bob.id, true)
        .await
        .unwrap();
    assert!(
        auth::user_for_login(&core, &bob.login_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        auth::login(&core, "bob@example.com", PW, LOCAL).await,
        Err(Error::AccountDisabled)
    ));
    // A wrong password still gets the ordinary answer: nothing leaks without the password.
    assert!(matches!(
        auth::login(&core, "bob@example.com", "guess-guess-1", LOCAL).await,
        Err(Error::BadCredentials)
    ));
    admin::set_disabled(&core, &admin, &bob.id, false)
        .await
        .unwrap();
    assert!(matches!(
        auth::login(&core, "bob@example.com", PW, LOCAL)
            .await
            .unwrap(),
        LoginStep::Done(_)
    ));
    admin::set_role(&core, &admin, &bob.id, Role::Artist)
        .await
        .unwrap();
    let users = admin::list_users(&core, &admin, "bob", 5).await.unwrap();
    assert_eq!(users[0].role, Role::Artist);
    assert!(!users[0].disabled);

    let log = admin::audit_log(&core, &admin, 10).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["role.set", "user.enable", "user.disable"]);
    assert!(
        log.iter()
            .all(|e| e.actor_email.as_deref() == Some("admin@example.com"))
    );
    assert!(
        log.iter()
            .all(|e| e.target_email.as_deref() == Some("bob@example.com"))
    );
    assert_eq!(log[0].detail, "bob@example.com is now artist");
}

async fn an_admin_can_reset_a_lost_second_factor(b: Backend) {
    let (core, _d) = b.core().await;
    let (admin, bob, _) = three_users(&core).await;
    let e = two_factor::begin_enrollment(&core, &bob).await.unwrap();
    let secret = auth::totp::decode_secret(&e.secret).unwrap();
    let now = u64::try_from(backend::now_ms() / 1000).unwrap();
    two_factor::confirm_enrollment(&core, &bob, &auth::totp::code(&secret, now))
        .await
        .unwrap();
    assert!(matches!(
        auth::login(&core, "bob@example.com", PW, LOCAL)
            .await
            .unwrap(),
        LoginStep::NeedsCode(_)
    ));
    admin::reset_two_factor(&core, &admin, &bob.id)
        .await
        .unwrap();
    assert!(matches!(
        auth::login(&core, "bob@example.com", PW, LOCAL)
            .await
            .unwrap(),
        LoginStep::Done(_)
    ));
    assert_eq!(
        admin::audit_log(&core, &admin, 1).await.unwrap()[0].action,
        "2fa.reset"
    );
}

async fn the_configured_admin_email_becomes_admin_instead_of_the_first_account(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = b.config(dir.path()).await;
    config.auth.admin_email = Some("boss@example.com".into());
    let core = Core::init(config).await.unwrap();
    let first = auth::signup(&core, "early@example.com", PW).await.unwrap();
    assert_eq!(first.role, Role::Listener);
    let boss = auth::signup(&core, "Boss@Example.com", PW).await.unwrap();
    assert_eq!(boss.role, Role::Admin);
}

async fn the_policy_can_require_two_factor_for_admins(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = b.config(dir.path()).await;
    config.auth.require_admin_2fa = true;
    let core = Core::init(config).await.unwrap();
    let admin = auth::signup(&core, "strict@example.com", PW).await.unwrap();
    let r = admin::list_users(&core, &admin, "", 10).await;
    assert!(
        matches!(&r, Err(Error::Invalid(m)) if m.contains("two-factor")),
        "{r:?}"
    );
    let e = two_factor::begin_enrollment(&core, &admin).await.unwrap();
    let secret = auth::totp::decode_secret(&e.secret).unwrap();
    let now = u64::try_from(backend::now_ms() / 1000).unwrap();
    two_factor::confirm_enrollment(&core, &admin, &auth::totp::code(&secret, now))
        .await
        .unwrap();
    assert_eq!(
        admin::list_users(&core, &admin, "", 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

backend::on_both_databases!(
    the_policy_can_require_two_factor_for_admins,
    only_admins_may_administer,
    search_matches_email_fragments_literally,
    disabling_ends_access_at_once_and_is_audited,
    an_admin_can_reset_a_lost_second_factor,
    the_configured_admin_email_becomes_admin_instead_of_the_first_account,
);
