//! Artist accounts on both databases: a listener asks, an admin approves or declines, and
//! only admins decide.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::{self, CurrentUser, Role};
use backend::testing::Backend;
use backend::{Core, Error, artists};

const PW: &str = "violet-harbour-87";

async fn users(core: &Core) -> (CurrentUser, CurrentUser) {
    let admin = auth::signup(core, "admin@example.com", PW).await.unwrap();
    let fan = auth::signup(core, "singer@example.com", PW).await.unwrap();
    assert_eq!((admin.role, fan.role), (Role::Admin, Role::Listener));
    (admin, fan)
}

/// The user again, as a new request would see them (roles are read per request).
async fn reload(core: &Core, u: &CurrentUser) -> CurrentUser {
    auth::user_for_login(core, &u.login_id)
        .await
        .unwrap()
        .unwrap()
}

async fn a_listener_asks_and_an_admin_approves(b: Backend) {
    let (core, _d) = b.core().await;
    let (admin, fan) = users(&core).await;
    artists::request(&core, &fan, "  Nova Lights ", "I play synths")
        .await
        .unwrap();
    let s = artists::status(&core, &fan).await.unwrap();
    let req = s.request.unwrap();
    assert_eq!(
        (req.artist_name.as_str(), req.state.as_str()),
        ("Nova Lights", "pending")
    );
    assert_eq!(s.profile, None);
    // One request at a time.
    let again = artists::request(&core, &fan, "Another Name", "").await;
    assert!(matches!(again, Err(Error::Invalid(_))), "{again:?}");

    let pending = artists::pending_requests(&core, &admin).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].email, "singer@example.com");
    artists::decide(&core, &admin, &pending[0].id, true)
        .await
        .unwrap();
    let fan = reload(&core, &fan).await;
    assert_eq!(fan.role, Role::Artist);
    let s = artists::status(&core, &fan).await.unwrap();
    assert_eq!(s.profile.as_deref(), Some("Nova Lights"));
    assert_eq!(s.request.unwrap().state, "approved");
    assert!(
        artists::pending_requests(&core, &admin)
            .await
            .unwrap()
            .is_empty()
    );
    // Deciding twice is refused; an artist cannot ask again.
    let twice = artists::decide(&core, &admin, &pending[0].id, false).await;
    assert!(matches!(twice, Err(Error::Invalid(_))), "{twice:?}");
    assert!(artists::request(&core, &fan, "Other", "").await.is_err());
    let log = backend::admin::audit_log(&core, &admin, 5).await.unwrap();
    assert_eq!(log[0].action, "artist.approve");
    assert!(log[0].detail.contains("Nova Lights"), "{}", log[0].detail);
}

async fn a_declined_listener_stays_a_listener_and_may_ask_again(b: Backend) {
    let (core, _d) = b.core().await;
    let (admin, fan) = users(&core).await;
    artists::request(&core, &fan, "Quiet Hours", "")
        .await
        .unwrap();
    let id = artists::pending_requests(&core, &admin).await.unwrap()[0]
        .id
        .clone();
    artists::decide(&core, &admin, &id, false).await.unwrap();
    let fan = reload(&core, &fan).await;
    assert_eq!(fan.role, Role::Listener);
    assert_eq!(
        artists::status(&core, &fan)
            .await
            .unwrap()
            .request
            .unwrap()
            .state,
        "declined"
    );
    artists::request(&core, &fan, "Quiet Hours", "second try")
        .await
        .unwrap();
    assert_eq!(
        artists::pending_requests(&core, &admin)
            .await
            .unwrap()
            .len(),
        1
    );
    let log = backend::admin::audit_log(&core, &admin, 5).await.unwrap();
    assert_eq!(log[0].action, "artist.decline");
}

async fn only_admins_decide_and_a_profile_belongs_to_one_account(b: Backend) {
    let (core, _d) = b.core().await;
    let (admin, fan) = users(&core).await;
    let copycat = auth::signup(&core, "copycat@example.com", PW)
        .await
        .unwrap();
    artists::request(&core, &fan, "Nova Lights", "")
        .await
        .unwrap();
    artists::request(&core, &copycat, "NOVA LIGHTS", "")
        .await
        .unwrap();
    let pending = artists::pending_requests(&core, &admin).await.unwrap();
    let id_of = |email: &str| {
        pending
            .iter()
            .find(|r| r.email == email)
            .unwrap()
            .id
            .clone()
    };
    assert!(matches!(
        artists::pending_requests(&core, &fan).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        artists::decide(&core, &copycat, &id_of("copycat@example.com"), true).await,
        Err(Error::Forbidden)
    ));
    artists::decide(&core, &admin, &id_of("singer@example.com"), true)
        .await
        .unwrap();
    // The same name (any case) is the same profile: it cannot go to a second account,
    // and the refused approval changes nothing.
    let second = artists::decide(&core, &admin, &id_of("copycat@example.com"), true).await;
    assert!(matches!(second, Err(Error::Invalid(_))), "{second:?}");
    assert_eq!(reload(&core, &copycat).await.role, Role::Listener);
    assert_eq!(
        artists::pending_requests(&core, &admin)
            .await
            .unwrap()
            .len(),
        1
    );
    // Admins do not ask; bad names are refused with a reason.
    assert!(artists::request(&core, &admin, "Boss", "").await.is_err());
    let other = auth::signup(&core, "other@example.com", PW).await.unwrap();
    for bad in ["", "   ", "two\nlines", &"x".repeat(101)] {
        assert!(
            matches!(
                artists::request(&core, &other, bad, "").await,
                Err(Error::Invalid(_))
            ),
            "{bad:?}"
        );
    }
    assert!(
        artists::request(&core, &other, "Fine", &"n".repeat(501))
            .await
            .is_err()
    );
}

backend::on_both_databases!(
    a_listener_asks_and_an_admin_approves,
    a_declined_listener_stays_a_listener_and_may_ask_again,
    only_admins_decide_and_a_profile_belongs_to_one_account,
);
