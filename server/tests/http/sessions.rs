//! Sessions: what needs one, the cookie, sign-in with two-factor, the list of logins, logout.

use crate::common::*;
use app::error::AppError;
use backend::testing::Backend;
use reqwest::StatusCode;
use server_fn::ServerFn;

async fn every_server_function_that_needs_a_session_refuses_without_one(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let c = client();
    for (path, form) in [
        (app::library::ListTracks::PATH, vec![]),
        (app::library::ListImports::PATH, vec![]),
        (app::player::api::StreamTrack::PATH, vec![("track_id", "x")]),
        (
            app::library::ListTracksPage::PATH,
            vec![("sort", "title"), ("desc", "false"), ("offset", "0")],
        ),
        (app::search::Search::PATH, vec![("q", "x")]),
        (app::browse::GetAlbum::PATH, vec![("id", "x")]),
        (app::browse::GetArtist::PATH, vec![("id", "x")]),
        (
            app::browse::ListAlbumsPage::PATH,
            vec![("recent", "false"), ("offset", "0"), ("limit", "10")],
        ),
        (
            app::browse::ListArtistsPage::PATH,
            vec![("offset", "0"), ("limit", "10")],
        ),
        (app::player::api::GetQueue::PATH, vec![]),
        (
            app::player::api::SaveQueuePosition::PATH,
            vec![("index", "0"), ("position_ms", "0")],
        ),
        (app::playlists::widgets::ListPlaylists::PATH, vec![]),
        (
            app::playlists::widgets::CreatePlaylist::PATH,
            vec![("name", "x"), ("description", ""), ("public", "false")],
        ),
        (
            app::playlists::UpdatePlaylist::PATH,
            vec![
                ("id", "x"),
                ("name", "x"),
                ("description", ""),
                ("public", "true"),
            ],
        ),
        (app::playlists::DeletePlaylist::PATH, vec![("id", "x")]),
        (app::playlists::GetPlaylist::PATH, vec![("id", "x")]),
        (
            app::playlists::RemoveFromPlaylist::PATH,
            vec![("id", "x"), ("entry_id", "y")],
        ),
        (
            app::playlists::MoveInPlaylist::PATH,
            vec![("id", "x"), ("entry_id", "y"), ("to", "0")],
        ),
        (app::playlists::CopyPlaylist::PATH, vec![("id", "x")]),
        (
            app::browse::SetAlbumLiked::PATH,
            vec![("album_id", "x"), ("liked", "true")],
        ),
        (app::browse::LikedAlbums::PATH, vec![]),
        (app::folders::AdminLibraryFolders::PATH, vec![]),
        (app::folders::AdminAddFolder::PATH, vec![("path", "/tmp")]),
        (app::folders::AdminRemoveFolder::PATH, vec![("id", "x")]),
        (app::folders::AdminScanLibrary::PATH, vec![]),
        (
            app::library::ImportFromUrl::PATH,
            vec![("link", "https://example.com/a.mp3")],
        ),
    ] {
        let r = call(&c, &srv, path, &form).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(r.app_error().await, AppError::Unauthenticated, "{path}");
    }
    // The two that take postcard (lists of ids).
    for (path, body) in [
        (
            app::player::api::SaveQueue::PATH,
            postcard::to_allocvec(&app::player::api::SaveQueue {
                track_ids: vec![],
                index: 0,
                position_ms: 0,
            })
            .unwrap(),
        ),
        (
            app::playlists::widgets::AddToPlaylist::PATH,
            postcard::to_allocvec(&app::playlists::widgets::AddToPlaylist {
                id: "x".into(),
                track_ids: vec!["y".into()],
            })
            .unwrap(),
        ),
    ] {
        let r = c
            .post(format!("{}{path}", srv.base))
            .header("content-type", "application/x-postcard")
            .header("sec-fetch-site", "same-origin")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let playlists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM playlists")
        .fetch_one(&srv.core.db)
        .await
        .unwrap();
    assert_eq!(playlists, 0, "nothing was created without a session");
    let me: Option<app::auth::UserInfo> = call(&c, &srv, app::auth::CurrentUser::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    assert!(me.is_none());
    let up = c
        .post(format!("{}/api/uploads?filename=a.mp3", srv.base))
        .body("abc")
        .send()
        .await
        .unwrap();
    assert_eq!(up.status(), StatusCode::UNAUTHORIZED);
    let cover = c
        .get(format!("{}/covers/x", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(cover.status(), StatusCode::UNAUTHORIZED);
    assert!(srv.core.storage.list("").await.unwrap().is_empty());
}

async fn session_cookie_is_http_only_lax_and_changes_at_login(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let c = client();
    let first = session_cookie(&signup(&c, &srv, "cookie@example.com").await).unwrap();
    assert!(first.contains("HttpOnly"), "{first}");
    assert!(first.contains("SameSite=Lax"), "{first}");
    let r = call(
        &c,
        &srv,
        app::auth::Login::PATH,
        &[("email", "cookie@example.com"), ("password", PW)],
    )
    .await;
    assert!(r.status().is_success());
    let second = session_cookie(&r).unwrap();
    let id = |s: &str| s.split(';').next().unwrap().to_string();
    assert_ne!(id(&first), id(&second), "session id must change at login");
    // The pre-login session id is dead.
    let stale = reqwest::Client::new()
        .post(format!("{}{}", srv.base, app::library::ListTracks::PATH))
        .header("cookie", id(&first))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.app_error().await, AppError::Unauthenticated);
}

/// With two-factor on, the password alone yields a session that can do nothing but submit
/// a code; the code completes the login under a new session id.
async fn a_password_only_session_can_do_nothing_but_submit_a_code(b: Backend) {
    use backend::auth::{totp, two_factor};
    let srv = start(b, 1 << 20).await;
    let user = backend::auth::signup(&srv.core, "partial@example.com", PW)
        .await
        .unwrap();
    let e = two_factor::begin_enrollment(&srv.core, &user)
        .await
        .unwrap();
    let secret = totp::decode_secret(&e.secret).unwrap();
    let now = u64::try_from(backend::now_ms() / 1000).unwrap();
    let code_at = |t: u64| totp::code(&secret, t);
    two_factor::confirm_enrollment(&srv.core, &user, &code_at(now))
        .await
        .unwrap();

    let c = client();
    let r = call(
        &c,
        &srv,
        app::auth::Login::PATH,
        &[("email", "partial@example.com"), ("password", PW)],
    )
    .await;
    assert!(r.status().is_success());
    let pending_cookie = session_cookie(&r).unwrap();
    let outcome: app::auth::LoginOutcome = r.wire().await.unwrap();
    assert_eq!(outcome, app::auth::LoginOutcome::CodeNeeded);

    use app::settings as sec;
    for (path, form) in [
        (app::library::ListTracks::PATH, vec![]),
        (app::library::ListImports::PATH, vec![]),
        (app::player::api::StreamTrack::PATH, vec![("track_id", "x")]),
        (app::tracks::DeleteTrack::PATH, vec![("track_id", "x")]),
        (app::library::ListLiked::PATH, vec![]),
        (app::library::ListRecentlyPlayed::PATH, vec![]),
        (
            app::player::api::RecordPlay::PATH,
            vec![
                ("track_id", "x"),
                ("playback_id", "0123456789abcdef"),
                ("listened_ms", "60000"),
            ],
        ),
        (
            app::player::api::SetLiked::PATH,
            vec![("track_id", "x"), ("liked", "true")],
        ),
        (sec::TwoFactorStatus::PATH, vec![]),
        (sec::BeginTotpEnrollment::PATH, vec![]),
        (sec::ConfirmTotpEnrollment::PATH, vec![("code", "123456")]),
        (
            sec::DisableTotp::PATH,
            vec![("password", PW), ("code", "123456")],
        ),
        (
            sec::RegenerateRecoveryCodes::PATH,
            vec![("password", PW), ("code", "123456")],
        ),
        (sec::ListSessions::PATH, vec![]),
        (sec::EndLogin::PATH, vec![("login_id", "x")]),
        (sec::EndOtherLogins::PATH, vec![]),
        (
            sec::ChangePassword::PATH,
            vec![("current", PW), ("new", "copper-meadow-55")],
        ),
        (sec::EmailInfo::PATH, vec![]),
        (sec::ResendVerification::PATH, vec![]),
        (
            sec::RequestEmailChange::PATH,
            vec![("password", PW), ("new_email", "x@example.com")],
        ),
        (sec::DeleteAccount::PATH, vec![("password", PW)]),
        (sec::GetDisplayName::PATH, vec![]),
        (sec::SetDisplayName::PATH, vec![("name", "x")]),
        (app::admin::AdminListUsers::PATH, vec![("query", "")]),
        (
            app::admin::AdminSetRole::PATH,
            vec![("user_id", "x"), ("role", "admin")],
        ),
        (
            app::admin::AdminSetDisabled::PATH,
            vec![("user_id", "x"), ("disabled", "true")],
        ),
        (
            app::admin::AdminSetQuota::PATH,
            vec![("user_id", "x"), ("quota_mb", "1")],
        ),
        (
            app::admin::AdminResetTwoFactor::PATH,
            vec![("user_id", "x")],
        ),
        (app::admin::AdminAuditLog::PATH, vec![]),
        (sec::RemoveAvatar::PATH, vec![]),
        (app::artists::ArtistStatus::PATH, vec![]),
        (
            app::artists::RequestArtist::PATH,
            vec![("artist_name", "x"), ("note", "")],
        ),
        (app::artists::AdminArtistRequests::PATH, vec![]),
        (
            app::artists::AdminDecideArtist::PATH,
            vec![("request_id", "x"), ("approve", "true")],
        ),
        (app::catalog::GetTrackForm::PATH, vec![("id", "x")]),
        (
            app::catalog::SaveTrack::PATH,
            vec![
                ("id", "x"),
                ("title", "t"),
                ("artist", "a"),
                ("album", ""),
                ("album_artist", ""),
                ("track_no", ""),
                ("disc_no", ""),
                ("year", ""),
                ("genre", ""),
            ],
        ),
        (app::catalog::AlbumForEdit::PATH, vec![("id", "x")]),
        (
            app::catalog::SaveAlbum::PATH,
            vec![("id", "x"), ("title", "t"), ("artist", "a"), ("year", "")],
        ),
        (
            app::catalog::MergeAlbum::PATH,
            vec![("from", "x"), ("into", "y")],
        ),
        (app::catalog::DeleteAlbum::PATH, vec![("id", "x")]),
        (app::catalog::ArtistForEdit::PATH, vec![("id", "x")]),
        (
            app::catalog::RenameArtist::PATH,
            vec![("id", "x"), ("name", "n")],
        ),
        (
            app::catalog::MergeArtist::PATH,
            vec![("from", "x"), ("into", "y")],
        ),
        (app::catalog::DeleteArtist::PATH, vec![("id", "x")]),
        (
            app::imports::ImportDesk::PATH,
            vec![("state", ""), ("source", ""), ("offset", "0")],
        ),
        (app::imports::MyImports::PATH, vec![]),
        (app::library::YoutubeSearch::PATH, vec![("q", "x")]),
        (
            app::library::ImportFromYoutube::PATH,
            vec![("video_id", "dQw4w9WgXcQ"), ("title", "x")],
        ),
        (app::imports::RetryImport::PATH, vec![("job_id", "x")]),
        (app::imports::CancelImport::PATH, vec![("job_id", "x")]),
        (app::imports::PurgeImports::PATH, vec![("days", "1")]),
    ] {
        let r = call(&c, &srv, path, &form).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let r = c
        .post(format!("{}/api/albums/x/cover", srv.base))
        .body(vec![1u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .post(format!("{}/api/avatar", srv.base))
        .body(vec![1u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .get(format!("{}/avatars/{}", srv.base, user.id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let me: Option<app::auth::UserInfo> = call(&c, &srv, app::auth::CurrentUser::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    assert!(me.is_none());
    let r = c
        .post(format!("{}/api/uploads?filename=x.mp3", srv.base))
        .body(vec![1u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // A wrong code is a clear 400; the right one signs in under a new session id.
    let r = call(
        &c,
        &srv,
        app::auth::VerifyLoginCode::PATH,
        &[("code", "000000")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = call(
        &c,
        &srv,
        app::auth::VerifyLoginCode::PATH,
        &[("code", &code_at(now + totp::STEP))],
    )
    .await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let full_cookie = session_cookie(&r).unwrap();
    let id = |s: &str| s.split(';').next().unwrap().to_string();
    assert_ne!(id(&pending_cookie), id(&full_cookie), "no session fixation");
    let r = call(&c, &srv, app::library::ListTracks::PATH, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    // The pending session's id is dead.
    let stale = reqwest::Client::new()
        .post(format!("{}{}", srv.base, app::library::ListTracks::PATH))
        .header("cookie", id(&pending_cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
}

/// The sessions list names this device and its address, and can end another login.
async fn the_sessions_list_names_devices_and_ends_them(b: Backend) {
    use app::settings as sec;
    let srv = start(b, 1 << 20).await;
    let from_device = async |path: &str, user_agent: &str| {
        let c = client();
        let r = c
            .post(format!("{}{path}", srv.base))
            .header("user-agent", user_agent)
            .form(&[("email", "list@example.com"), ("password", PW)])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        c
    };
    let phone = from_device(
        app::auth::Signup::PATH,
        "Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0",
    )
    .await;
    let laptop = from_device(
        app::auth::Login::PATH,
        "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36",
    )
    .await;
    let list: Vec<sec::SessionItem> = call(&laptop, &srv, sec::ListSessions::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    assert_eq!(list.len(), 2);
    let me = list.iter().find(|s| s.current).unwrap();
    assert_eq!(me.device, "Chrome on Linux");
    assert_eq!(me.address.as_deref(), Some("127.0.0.1"));
    let other = list.iter().find(|s| !s.current).unwrap();
    assert_eq!(other.device, "Firefox on Android");
    let r = call(
        &laptop,
        &srv,
        sec::EndLogin::PATH,
        &[("login_id", &other.id)],
    )
    .await;
    assert!(r.status().is_success());
    let r = call(&phone, &srv, app::library::ListTracks::PATH, &[]).await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "the phone was logged out"
    );
}

async fn wrong_password_and_duplicate_email_get_clear_messages(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let c = client();
    signup(&c, &srv, "clear@example.com").await;
    let dup = call(
        &c,
        &srv,
        app::auth::Signup::PATH,
        &[("email", "clear@example.com"), ("password", PW)],
    )
    .await;
    let err = dup.app_error().await;
    assert!(err.to_string().contains("already exists"), "{err:?}");
    let bad = call(
        &client(),
        &srv,
        app::auth::Login::PATH,
        &[
            ("email", "clear@example.com"),
            ("password", "nope-nope-nope"),
        ],
    )
    .await;
    assert_eq!(
        bad.status(),
        StatusCode::BAD_REQUEST,
        "a wrong password is the client's error"
    );
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("Wrong email or password")
    );
    let weak = call(
        &client(),
        &srv,
        app::auth::Signup::PATH,
        &[("email", "weak@example.com"), ("password", "12345678")],
    )
    .await;
    let err = weak.app_error().await;
    assert!(err.to_string().contains("stronger password"), "{err:?}");
}

async fn logout_ends_the_session_and_its_stream_urls(b: Backend) {
    let srv = start(b, 1 << 24).await;
    let c = client();
    let (_, url, _) = with_track(&srv, &c, "leaving@example.com").await;
    assert_eq!(c.get(&url).send().await.unwrap().status(), StatusCode::OK);
    let r = call(&c, &srv, app::auth::Logout::PATH, &[]).await;
    assert!(r.status().is_success());
    assert_eq!(
        c.get(&url).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    // Even without any cookie.
    assert_eq!(
        reqwest::get(&url).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let err = call(&c, &srv, app::library::ListTracks::PATH, &[])
        .await
        .app_error()
        .await;
    assert_eq!(err, AppError::Unauthenticated);
}

backend::on_both_databases!(
    every_server_function_that_needs_a_session_refuses_without_one,
    session_cookie_is_http_only_lax_and_changes_at_login,
    wrong_password_and_duplicate_email_get_clear_messages,
    logout_ends_the_session_and_its_stream_urls,
    a_password_only_session_can_do_nothing_but_submit_a_code,
    the_sessions_list_names_devices_and_ends_them,
);
