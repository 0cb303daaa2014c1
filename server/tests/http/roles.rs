//! Roles: no self-promotion, disabling cuts access, artist requests decided by an admin.

use crate::common::*;
use backend::testing::Backend;
use reqwest::StatusCode;
use server_fn::ServerFn;

/// Extra form fields cannot raise a role; an admin disabling a user ends that user's
/// session and stream URLs at once; a listener cannot reach the admin functions.
async fn roles_cannot_be_escalated_and_disabling_cuts_access_at_once(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let admin = backend::auth::signup(&srv.core, "root@example.com", PW)
        .await
        .unwrap();
    let c = client();
    signup_form(
        &c,
        &srv,
        &[
            ("email", "sneaky@example.com"),
            ("password", PW),
            ("role", "admin"),
        ],
    )
    .await;
    assert_eq!(role_of(&c, &srv).await, "listener");
    for (path, form) in [
        (app::admin::AdminListUsers::PATH, vec![("query", "")]),
        (app::admin::AdminAuditLog::PATH, vec![]),
        (
            app::admin::AdminSetRole::PATH,
            vec![("user_id", admin.id.as_str()), ("role", "listener")],
        ),
        (app::folders::AdminLibraryFolders::PATH, vec![]),
        (app::folders::AdminAddFolder::PATH, vec![("path", "/tmp")]),
        (app::folders::AdminRemoveFolder::PATH, vec![("id", "x")]),
        (app::folders::AdminScanLibrary::PATH, vec![]),
    ] {
        let r = call(&c, &srv, path, &form).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let roots: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM library_roots")
        .fetch_one(&srv.core.db)
        .await
        .unwrap();
    assert_eq!(roots, 0, "a listener added no music folder");

    let u = client();
    let (_, url, _) = with_track(&srv, &u, "listener@example.com").await;
    assert_eq!(u.get(&url).send().await.unwrap().status(), StatusCode::OK);
    let users = backend::admin::list_users(&srv.core, &admin, "listener@", 5)
        .await
        .unwrap();
    backend::admin::set_disabled(&srv.core, &admin, &users[0].id, true)
        .await
        .unwrap();
    let r = call(&u, &srv, app::library::ListTracks::PATH, &[]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(!u.get(&url).send().await.unwrap().status().is_success());
}

/// Asking to become an artist goes through server functions; extra form fields change
/// nothing, and only an admin decides.
async fn artist_requests_cannot_be_self_approved(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let admin = client();
    signup(&admin, &srv, "root@example.com").await;
    let c = client();
    signup_form(
        &c,
        &srv,
        &[
            ("email", "band@example.com"),
            ("password", PW),
            ("artist_name", "The Bandits"),
            ("role", "artist"),
        ],
    )
    .await;
    assert_eq!(role_of(&c, &srv).await, "listener");
    let info: app::artists::ArtistInfo = call(&c, &srv, app::artists::ArtistStatus::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    let req = info.request.unwrap();
    assert_eq!(
        (req.artist_name.as_str(), req.state.as_str()),
        ("The Bandits", "pending")
    );

    for (path, form) in [
        (app::artists::AdminArtistRequests::PATH, vec![]),
        (
            app::artists::AdminDecideArtist::PATH,
            vec![("request_id", req.id.as_str()), ("approve", "true")],
        ),
    ] {
        assert_eq!(
            call(&c, &srv, path, &form).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let r = call(
        &c,
        &srv,
        app::artists::RequestArtist::PATH,
        &[("artist_name", "X"), ("note", ""), ("state", "approved")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let list: Vec<app::artists::ArtistRequestItem> =
        call(&admin, &srv, app::artists::AdminArtistRequests::PATH, &[])
            .await
            .wire()
            .await
            .unwrap();
    assert_eq!(list.len(), 1);
    let r = call(
        &admin,
        &srv,
        app::artists::AdminDecideArtist::PATH,
        &[("request_id", list[0].id.as_str()), ("approve", "true")],
    )
    .await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(role_of(&c, &srv).await, "artist");
}

backend::on_both_databases!(
    artist_requests_cannot_be_self_approved,
    roles_cannot_be_escalated_and_disabling_cuts_access_at_once,
);
