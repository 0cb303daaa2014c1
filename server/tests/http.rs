//! The real router on port 0 with real components: sessions, uploads, streaming.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use app::error::AppError;
use backend::Core;
use backend::playback::{STREAM_AUDIENCE, StreamClaims};
use backend::testing::Backend;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, RANGE};
use server_fn::ServerFn;

mod common;
use common::*;

async fn every_server_function_that_needs_a_session_refuses_without_one(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let c = client();
    for (path, form) in [
        (app::library::ListTracks::PATH, vec![]),
        (app::library::ListImports::PATH, vec![]),
        (app::library::StreamTrack::PATH, vec![("track_id", "x")]),
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
        (app::queue::GetQueue::PATH, vec![]),
        (
            app::queue::SaveQueuePosition::PATH,
            vec![("index", "0"), ("position_ms", "0")],
        ),
        (app::playlists::ListPlaylists::PATH, vec![]),
        (
            app::playlists::CreatePlaylist::PATH,
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
            app::queue::SaveQueue::PATH,
            postcard::to_allocvec(&app::queue::SaveQueue {
                track_ids: vec![],
                index: 0,
                position_ms: 0,
            })
            .unwrap(),
        ),
        (
            app::playlists::AddToPlaylist::PATH,
            postcard::to_allocvec(&app::playlists::AddToPlaylist {
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

    use app::auth::security as sec;
    for (path, form) in [
        (app::library::ListTracks::PATH, vec![]),
        (app::library::ListImports::PATH, vec![]),
        (app::library::StreamTrack::PATH, vec![("track_id", "x")]),
        (app::library::DeleteTrack::PATH, vec![("track_id", "x")]),
        (app::library::ListLiked::PATH, vec![]),
        (app::library::ListRecentlyPlayed::PATH, vec![]),
        (
            app::library::RecordPlay::PATH,
            vec![
                ("track_id", "x"),
                ("playback_id", "0123456789abcdef"),
                ("listened_ms", "60000"),
            ],
        ),
        (
            app::library::SetLiked::PATH,
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

async fn login_failures(c: &reqwest::Client, srv: &Srv, n: i64, forwarded: &str) {
    for i in 0..n {
        let r = c
            .post(format!("{}{}", srv.base, app::auth::Login::PATH))
            .header("x-forwarded-for", forwarded)
            .form(&[
                ("email", format!("nobody{i}@example.com").as_str()),
                ("password", PW),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
}

async fn login_as(c: &reqwest::Client, srv: &Srv, email: &str, forwarded: &str) -> StatusCode {
    c.post(format!("{}{}", srv.base, app::auth::Login::PATH))
        .header("x-forwarded-for", forwarded)
        .form(&[("email", email), ("password", PW)])
        .send()
        .await
        .unwrap()
        .status()
}

/// Many failures from one address get 429 with a readable wait; X-Forwarded-For cannot
/// dodge it from an untrusted peer.
async fn repeated_failures_from_one_address_get_429(b: Backend) {
    use backend::auth::throttle::ADDRESS_FREE;
    let srv = start(b, 1 << 20).await;
    backend::auth::signup(&srv.core, "real@example.com", PW)
        .await
        .unwrap();
    let c = client();
    login_failures(&c, &srv, ADDRESS_FREE + 1, "198.51.100.1").await;
    let r = c
        .post(format!("{}{}", srv.base, app::auth::Login::PATH))
        .header("x-forwarded-for", "198.51.100.2")
        .form(&[("email", "real@example.com"), ("password", PW)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let err = r.app_error().await;
    assert!(
        matches!(&err, AppError::RateLimited(m) if m.contains("Too many attempts")),
        "{err:?}"
    );
}

/// Behind a trusted proxy, the forwarded client address is the one throttled.
async fn forwarded_for_is_believed_from_a_trusted_proxy(b: Backend) {
    use backend::auth::throttle::ADDRESS_FREE;
    let srv = start_with(b, |c| {
        c.trusted_proxies = vec![std::net::IpAddr::from([127, 0, 0, 1])].into()
    })
    .await;
    backend::auth::signup(&srv.core, "real@example.com", PW)
        .await
        .unwrap();
    let c = client();
    login_failures(&c, &srv, ADDRESS_FREE + 1, "198.51.100.1").await;
    assert_eq!(
        login_as(&c, &srv, "real@example.com", "198.51.100.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert!(
        login_as(&c, &srv, "real@example.com", "198.51.100.2")
            .await
            .is_success()
    );
}

/// A form on another site posting into a signed-in browser is refused and changes nothing.
async fn cross_site_posts_are_refused_and_change_nothing(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let c = client();
    let (track_id, _, _) = with_track(&srv, &c, "csrf@example.com").await;
    let delete = format!("{}{}", srv.base, app::library::DeleteTrack::PATH);
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "null"),
    ] {
        let r = c
            .post(&delete)
            .header(name, value)
            .form(&[("track_id", track_id.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{name}: {value}");
    }
    let r = c
        .post(format!("{}/api/uploads?filename=x.mp3", srv.base))
        .header("origin", "https://evil.example")
        .body(backend::testing::sine_mp3(1, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A mutating server function is never reached by GET (a link or an <img> could send
    // one with the cookie), even from the app's own origin.
    let r = c
        .get(format!("{delete}?track_id={track_id}"))
        .header("origin", srv.base.as_str())
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let tracks: Vec<app::library::TrackItem> = call(&c, &srv, app::library::ListTracks::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    assert_eq!(tracks.len(), 1, "nothing was deleted");
    // The same request from the app's own origin goes through.
    let r = c
        .post(&delete)
        .header("origin", srv.base.as_str())
        .header("sec-fetch-site", "same-origin")
        .form(&[("track_id", track_id.as_str())])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    // Server functions are POST only.
    let r = c
        .get(format!("{}{}", srv.base, app::library::ListTracks::PATH))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

/// Pages carry a CSP whose nonce is the one on the page's scripts, plus the usual headers.
async fn pages_carry_a_nonce_csp_and_security_headers(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let r = reqwest::get(format!("{}/login", srv.base)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    let csp = h
        .get("content-security-policy")
        .expect("a CSP")
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("object-src 'none'"), "{csp}");
    // No <base> may redirect the page's relative URLs (scripts, forms).
    assert!(csp.contains("base-uri 'none'"), "{csp}");
    assert!(!csp.contains("'unsafe-eval'"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .unwrap()
        .to_string();
    assert!(nonce.len() >= 16, "{nonce}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(
        h.get("strict-transport-security").is_none(),
        "plain HTTP: no HSTS"
    );
    let body = r.text().await.unwrap();
    assert!(
        body.contains(&format!("nonce=\"{nonce}\"")),
        "scripts carry the nonce"
    );
    // A second page gets a different nonce.
    let again = reqwest::get(format!("{}/login", srv.base)).await.unwrap();
    let csp2 = again.headers()["content-security-policy"].to_str().unwrap();
    assert!(!csp2.contains(&nonce));
}

/// Behind TLS (`REFRAIN_SECURE_COOKIES`): the session cookie is `__Host-` prefixed,
/// `Secure`, `HttpOnly`, for the whole site and no other domain, and pages carry HSTS.
async fn secure_cookies_are_host_bound_with_hsts(b: Backend) {
    let srv = start_with(b, |c| c.secure_cookies = true).await;
    let r = signup(&client(), &srv, "tls@example.com").await;
    assert!(r.status().is_success(), "{}", r.status());
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("__Host-refrain="))
        .expect("a session cookie named __Host-refrain");
    let attrs: Vec<String> = cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    for want in ["secure", "httponly", "path=/", "samesite=lax"] {
        assert!(attrs.iter().any(|a| a == want), "{want} missing: {cookie}");
    }
    assert!(
        !attrs.iter().any(|a| a.starts_with("domain")),
        "a __Host- cookie names no domain: {cookie}"
    );
    let page = reqwest::get(format!("{}/login", srv.base)).await.unwrap();
    let hsts = page
        .headers()
        .get("strict-transport-security")
        .expect("HSTS with secure cookies")
        .to_str()
        .unwrap()
        .to_string();
    let max_age: u64 = hsts
        .split(';')
        .find_map(|p| p.trim().strip_prefix("max-age="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(max_age >= 15_552_000, "{hsts}: at least 180 days");
    // On every kind of answer, not just the login page: pages, a missing page, the APIs,
    // the Subsonic door, health.
    for path in [
        "/",
        "/library",
        "/no-such-page",
        "/api/v1/openapi.json",
        "/rest/ping?f=json",
        "/healthz",
        "/sw.js",
    ] {
        let r = reqwest::get(format!("{}{path}", srv.base)).await.unwrap();
        let h = r.headers();
        assert!(
            h.contains_key("strict-transport-security"),
            "{path}: no HSTS"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
    }
}

/// Stored XSS through tags: a scanned file whose title, artist, album, comment and lyrics
/// (and its file name) hold markup is shown as text on every page that lists it (library,
/// album, artist, search, playlist, admin with its import desk) and in `/rest` XML: never
/// a tag the browser would build. (This reads the server-rendered HTML; the hydrated
/// pages in a browser are not checked yet.)
async fn hostile_tags_are_text_on_every_page(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let admin = backend::auth::signup(&srv.core, "xss@example.com", PW)
        .await
        .unwrap();
    let title = "<img src=x onerror=alert(1)>Title";
    let artist = "<script>alert(2)</script>Band";
    // (`</title>` too: the server-rendered <title> once took tags as they were.)
    let album = "\"></title><svg onload=alert(3)>Album";
    let music = tempfile::tempdir().unwrap();
    let file = music.path().join("<img src=x onerror=alert(5)>.flac");
    std::fs::write(
        &file,
        backend::testing::sine(
            1,
            &[
                ("title", title),
                ("artist", artist),
                ("album_artist", artist),
                ("album", album),
                ("comment", "<iframe src=javascript:alert(4)>"),
                ("lyrics", "<script>alert(6)</script>la la"),
            ],
            "flac",
        ),
    )
    .unwrap();
    backend::folders::add_folder(&srv.core, &admin, music.path().to_str().unwrap())
        .await
        .unwrap();
    backend::folders::request_scan(&srv.core, &admin)
        .await
        .unwrap();
    let scan = backend::folders::run_queued(&srv.core)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(scan.state, "done", "{scan:?}");
    let track = backend::library::list_tracks(&srv.core, &admin)
        .await
        .unwrap()
        .into_iter()
        .next()
        .expect("the hostile file was scanned");
    assert_eq!(track.title, title, "tags are kept as they are, not mangled");
    let album_id = track.album_id.clone().expect("an album");
    let artist_id = track.artist_id.clone();
    let list = backend::playlists::create(&srv.core, &admin, "<b>List</b>", "", false)
        .await
        .unwrap();
    backend::playlists::add_tracks(&srv.core, &admin, &list.id, std::slice::from_ref(&track.id))
        .await
        .unwrap();

    let c = client();
    assert!(
        login_as(&c, &srv, "xss@example.com", "203.0.113.50")
            .await
            .is_success()
    );
    let hostile = [
        "<img src=x",
        "<script>alert",
        "<svg onload",
        "<iframe",
        "onerror=alert(5)>.flac",
        "<b>List",
        "</title><svg",
    ];
    for (page, shows) in [
        (
            "/library".to_string(),
            "&lt;img src=x onerror=alert(1)&gt;Title",
        ),
        (
            format!("/albums/{album_id}"),
            "&lt;svg onload=alert(3)&gt;Album",
        ),
        (
            format!("/artists/{artist_id}"),
            "&lt;script&gt;alert(2)&lt;/script&gt;Band",
        ),
        (
            "/search?q=Title".to_string(),
            "&lt;img src=x onerror=alert(1)&gt;Title",
        ),
        (format!("/playlists/{}", list.id), "&lt;b&gt;List&lt;/b&gt;"),
        ("/admin".to_string(), "onerror=alert(5)&gt;.flac"),
    ] {
        let r = c
            .get(format!("{}{page}", srv.base))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{page}");
        let html = r.text().await.unwrap();
        for h in hostile {
            if let Some(at) = html.find(h) {
                let from = html[..at]
                    .char_indices()
                    .rev()
                    .nth(200)
                    .map_or(0, |(i, _)| i);
                let to = (at + 200).min(html.len());
                let to = (to..html.len())
                    .find(|i| html.is_char_boundary(*i))
                    .unwrap_or(html.len());
                panic!("{page} carries {h:?} as markup: …{}…", &html[from..to]);
            }
        }
        assert!(
            html.contains(shows),
            "{page} does not show {shows:?} as text"
        );
    }

    // Subsonic XML: the same strings as attribute values, escaped.
    let (_c, key) = {
        let c = client();
        let r = c
            .post(format!("{}{}", srv.base, app::auth::Login::PATH))
            .header("x-forwarded-for", "203.0.113.51")
            .form(&[("email", "xss@example.com"), ("password", PW)])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        let made: app::appkeys::NewAppKey = call(
            &c,
            &srv,
            app::appkeys::CreateAppKey::PATH,
            &[("name", "Phone"), ("kind", "api_key"), ("password", PW)],
        )
        .await
        .wire()
        .await
        .unwrap();
        (c, made.secret)
    };
    for (method, id) in [
        ("getSong", track.id.as_str()),
        ("getAlbum", album_id.as_str()),
        ("getPlaylist", list.id.as_str()),
    ] {
        let xml = reqwest::get(format!(
            "{}/rest/{method}?apiKey={key}&v=1.16.1&c=t&id={id}",
            srv.base
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
        for h in hostile {
            assert!(!xml.contains(h), "{method} carries {h:?} unescaped: {xml}");
        }
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let values: Vec<&str> = doc
            .descendants()
            .flat_map(|n| n.attributes().map(|a| a.value()))
            .collect();
        assert!(
            values.contains(&title) || values.contains(&album) || values.contains(&"<b>List</b>"),
            "{method}: the text did not come through intact: {xml}"
        );
    }
}

/// The sessions list names this device and its address, and can end another login.
async fn the_sessions_list_names_devices_and_ends_them(b: Backend) {
    use app::auth::security as sec;
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

/// An upload past a listener's quota is a 413 that says so.
async fn an_upload_past_the_quota_is_413_with_a_reason(b: Backend) {
    let srv = start(b, 64 << 20).await;
    let root = backend::auth::signup(&srv.core, "root@example.com", PW)
        .await
        .unwrap();
    let c = client();
    signup(&c, &srv, "full@example.com").await;
    let fan = backend::admin::list_users(&srv.core, &root, "full@", 1)
        .await
        .unwrap();
    backend::admin::set_quota(&srv.core, &root, &fan[0].id, Some(1 << 20))
        .await
        .unwrap();
    let r = c
        .post(format!("{}/api/uploads?filename=big.mp3", srv.base))
        .body(vec![1u8; 2 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.text().await.unwrap().contains("storage is full"));
}

/// Built assets come straight from the site root (with the common headers, never a page's
/// status or CSP); unknown paths get the app's 404 page.
async fn static_assets_are_served_plainly_and_unknown_paths_get_404(b: Backend) {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    std::fs::write(site.path().join("pkg/refrain.css"), "body{}").unwrap();
    // A release build's hashed, precompressed file (the .br and .gz stand in for the real
    // compressions: what matters is which one is sent).
    std::fs::write(site.path().join("pkg/refrain.0a1b2c.wasm"), "raw wasm").unwrap();
    std::fs::write(
        site.path().join("pkg/refrain.0a1b2c.wasm.br"),
        "brotli wasm",
    )
    .unwrap();
    std::fs::write(site.path().join("pkg/refrain.0a1b2c.wasm.gz"), "gzip wasm").unwrap();
    std::fs::write(site.path().join("favicon.svg"), "<svg/>").unwrap();
    let root = site.path().to_path_buf();
    let srv = start_with(b, move |c| c.site_root = root).await;
    let r = reqwest::get(format!("{}/pkg/refrain.css", srv.base))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/css");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.headers().get("content-security-policy").is_none());
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(r.text().await.unwrap(), "body{}");

    let wasm = format!("{}/pkg/refrain.0a1b2c.wasm", srv.base);
    let c = reqwest::Client::new();
    for (accept, encoding, body) in [
        ("gzip, deflate, br", Some("br"), "brotli wasm"),
        ("gzip", Some("gzip"), "gzip wasm"),
        ("identity", None, "raw wasm"),
    ] {
        let r = c
            .get(&wasm)
            .header("accept-encoding", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{accept}");
        assert_eq!(r.headers()["content-type"], "application/wasm", "{accept}");
        assert_eq!(
            r.headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap()),
            encoding,
            "{accept}"
        );
        assert_eq!(
            r.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(r.text().await.unwrap(), body, "{accept}");
    }
    // Files with stable names are checked again after an hour.
    let r = reqwest::get(format!("{}/favicon.svg", srv.base))
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "public, max-age=3600");

    // Pages (here, the 404 page) are never cached for long, nor by shared caches.
    let r = reqwest::get(format!("{}/no-such-page", srv.base))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.headers()["cache-control"], "private, no-cache");
    assert!(r.text().await.unwrap().contains("Page not found"));
    let r = reqwest::get(format!("{}/login", srv.base)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "private, no-cache");
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

async fn upload_over_the_limit_is_413_and_stores_nothing(b: Backend) {
    let srv = start(b, 64 * 1024).await;
    let c = client();
    signup(&c, &srv, "big@example.com").await;
    let r = c
        .post(format!("{}/api/uploads?filename=big.mp3", srv.base))
        .body(vec![0u8; 200 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(srv.core.storage.list("").await.unwrap().is_empty());
    let jobs: Vec<app::library::ImportItem> = call(&c, &srv, app::library::ListImports::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    assert!(jobs.is_empty());
}

async fn empty_upload_is_400_with_a_reason(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let c = client();
    signup(&c, &srv, "empty@example.com").await;
    let r = c
        .post(format!("{}/api/uploads?filename=e.mp3", srv.base))
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("empty"));
}

async fn stream_serves_byte_ranges(b: Backend) {
    let srv = start(b, 1 << 24).await;
    let c = client();
    let (_, url, total) = with_track(&srv, &c, "ranges@example.com").await;

    let get = |range: Option<&'static str>| {
        let mut rb = c.get(&url);
        if let Some(r) = range {
            rb = rb.header(RANGE, r);
        }
        rb.send()
    };
    let whole = get(None).await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    let body = whole.bytes().await.unwrap();
    assert_eq!(body.len() as u64, total);

    let first = get(Some("bytes=0-0")).await.unwrap();
    assert_eq!(first.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        first.headers()[CONTENT_RANGE],
        format!("bytes 0-0/{total}").as_str()
    );
    assert_eq!(first.bytes().await.unwrap().as_ref(), &body[..1]);

    let last = c
        .get(&url)
        .header(RANGE, format!("bytes={}-{}", total - 1, total - 1))
        .send()
        .await
        .unwrap();
    assert_eq!(last.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        last.headers()[CONTENT_RANGE],
        format!("bytes {0}-{0}/{total}", total - 1).as_str()
    );
    assert_eq!(
        last.bytes().await.unwrap().as_ref(),
        &body[body.len() - 1..]
    );

    let suffix = get(Some("bytes=-100")).await.unwrap();
    assert_eq!(suffix.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        suffix.headers()[CONTENT_RANGE],
        format!("bytes {}-{}/{total}", total - 100, total - 1).as_str()
    );
    assert_eq!(
        suffix.bytes().await.unwrap().as_ref(),
        &body[body.len() - 100..]
    );

    let middle = c
        .get(&url)
        .header(RANGE, "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(middle.bytes().await.unwrap().as_ref(), &body[1000..2000]);

    let beyond = c
        .get(&url)
        .header(RANGE, format!("bytes={total}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        beyond.headers()[CONTENT_RANGE],
        format!("bytes */{total}").as_str()
    );
}

async fn stream_requires_a_valid_token_for_that_track(b: Backend) {
    let srv = start(b, 1 << 24).await;
    let c = client();
    let (id, url, _) = with_track(&srv, &c, "tokens@example.com").await;
    assert_eq!(c.get(&url).send().await.unwrap().status(), StatusCode::OK);

    let missing = format!("{}/stream/{id}", srv.base);
    assert_eq!(
        c.get(&missing).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    let mut tampered = url.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(
        c.get(&tampered).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    // A correctly signed token that expired a second ago.
    let token = url.split("t=").nth(1).unwrap();
    let claims = backend::playback::token::verify(&srv.core.keys.stream, token)
        .await
        .unwrap()
        .unwrap();
    let expired = StreamClaims {
        exp: claims.iat - 1,
        iat: claims.iat - 600,
        ..claims.clone()
    };
    let expired_url = format!(
        "{}/stream/{id}?t={}",
        srv.base,
        backend::playback::token::sign(&srv.core.keys.stream, &expired)
            .await
            .unwrap()
    );
    assert_eq!(
        c.get(&expired_url).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    // Another track's path with this track's token.
    let wrong_track = format!("{}/stream/other-track?t={token}", srv.base);
    assert_eq!(
        c.get(&wrong_track).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );

    // A token with another audience is not a stream token.
    let other_aud = StreamClaims {
        aud: "refrain-api".into(),
        ..claims
    };
    assert_ne!(other_aud.aud, STREAM_AUDIENCE);
    let other_url = format!(
        "{}/stream/{id}?t={}",
        srv.base,
        backend::playback::token::sign(&srv.core.keys.stream, &other_aud)
            .await
            .unwrap()
    );
    assert_eq!(
        c.get(&other_url).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn another_signed_in_user_cannot_use_my_stream_url(b: Backend) {
    let srv = start(b, 1 << 24).await;
    let owner = client();
    let (_, url, _) = with_track(&srv, &owner, "owner@example.com").await;
    let intruder = client();
    signup(&intruder, &srv, "intruder@example.com").await;
    assert_eq!(
        intruder.get(&url).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
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

async fn readiness_names_each_dependency(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let r = client()
        .get(format!("{}/readyz", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: serde_json::Value = r.json().await.unwrap();
    let db = if b == Backend::Sqlite {
        "sqlite"
    } else {
        "postgres"
    };
    assert_eq!(body[db], "ok", "{body}");
    assert_eq!(body["storage"], "ok", "{body}");
    // With the database closed, readiness reports it by name and answers 503.
    srv.core.db.close().await;
    let r = client()
        .get(format!("{}/readyz", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body[db], "not answering", "{body}");
}

async fn metrics_report_latency_by_route_jobs_and_backlog(b: Backend) {
    let srv = start(b, 1 << 24).await;
    let c = client();
    for _ in 0..3 {
        let r = c.get(format!("{}/healthz", srv.base)).send().await.unwrap();
        // Every response carries a request id (also the log span's id).
        assert_eq!(r.headers()["x-request-id"].len(), 36);
    }
    signup(&c, &srv, "metrics@example.com").await;
    // The sign-up's own event (its welcome) is not what this test counts.
    backend::testing::settle_outbox(&srv.core.db).await;
    c.post(format!("{}/api/uploads?filename=m.mp3", srv.base))
        .body("not audio")
        .send()
        .await
        .unwrap();
    let text = metrics(&srv).await;
    assert!(
        text.contains(
            r#"http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/uploads",status="201""#),
        "{text}"
    );
    assert!(
        text.contains(r#"refrain_import_jobs{state="queued"} 1"#),
        "{text}"
    );
    assert!(text.contains("refrain_outbox_backlog 1"), "{text}");
    worker::dispatch::drain(&srv.core).await.unwrap();
    let text = metrics(&srv).await;
    assert!(
        text.contains(r#"refrain_import_jobs{state="failed"} 1"#),
        "{text}"
    );
    assert!(text.contains("refrain_outbox_backlog 0"), "{text}");
    // The data directory's disk, as statvfs sees it: some free, no more than its size.
    let figure = |name: &str| -> u64 {
        let prefix = format!("{name}{{dir=\"data\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("no {prefix} in {text}"))
            .parse()
            .unwrap()
    };
    let (free, size) = (
        figure("refrain_disk_free_bytes"),
        figure("refrain_disk_size_bytes"),
    );
    assert!(free > 0 && free <= size, "free {free} of {size}");
}

async fn library_page_redirects_to_login_without_a_session(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let r = client()
        .get(format!("{}/", srv.base))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(r.headers()["location"], "/login");
    let login = client()
        .get(format!("{}/login", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    assert!(login.text().await.unwrap().contains("Log in"));
}

/// Opening the link in a verification email changes nothing (mail scanners fetch links
/// to check them): the page asks, and only pressing its button (a plain form post here,
/// as without JavaScript) confirms the address, then says so.
async fn email_links_act_only_when_the_button_is_pressed(b: Backend) {
    let srv = start_with(b, |c| {
        c.email_verification = backend::config::EmailVerification::Optional;
    })
    .await;
    let c = client();
    signup(&c, &srv, "new@example.com").await;
    let mails = backend::testing::queued_emails(&srv.core.db).await;
    let mail = mails.iter().find(|m| m.to == "new@example.com").unwrap();
    let token = backend::testing::link_token(&mail.text, "/verify-email").unwrap();
    let verified = || async {
        sqlx::query_scalar::<_, Option<i64>>(
            "SELECT email_verified_at FROM users WHERE email = 'new@example.com'",
        )
        .fetch_one(&srv.core.db)
        .await
        .unwrap()
        .is_some()
    };
    // A scanner's GET, twice: a page with a button, and the address still unconfirmed.
    for _ in 0..2 {
        let r = reqwest::Client::new()
            .get(format!("{}/verify-email?token={token}", srv.base))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.unwrap();
        assert!(html.contains("Confirm my email"), "{html}");
        assert!(!html.contains("is confirmed"), "{html}");
    }
    assert!(!verified().await);
    // The button: a form post, answered with a redirect to the page saying it is done.
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}{}", srv.base, app::auth::VerifyEmail::PATH))
        .header("accept", "text/html")
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.ends_with("/verify-email?confirmed=1"), "{to}");
    assert!(verified().await);
    let url = if to.starts_with("http") {
        to.clone()
    } else {
        format!("{}{to}", srv.base)
    };
    let html = reqwest::Client::new()
        .get(url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Your email address is confirmed."), "{html}");
}

/// `/metrics` is not public: without a token only direct requests from this machine read
/// it (one through a proxy, which adds a forwarding header, does not); with
/// `REFRAIN_METRICS_TOKEN` only requests bearing the token.
async fn metrics_are_for_this_machine_or_the_token_holder(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let get = |headers: Vec<(&'static str, String)>| {
        let url = format!("{}/metrics", srv.base);
        async move {
            let mut r = reqwest::Client::new().get(url);
            for (k, v) in headers {
                r = r.header(k, v);
            }
            r.send().await.unwrap().status()
        }
    };
    assert_eq!(get(vec![]).await, StatusCode::OK);
    for h in ["x-forwarded-for", "forwarded", "x-real-ip"] {
        assert_eq!(
            get(vec![(h, "203.0.113.9".into())]).await,
            StatusCode::NOT_FOUND,
            "{h}"
        );
    }
    let token = "metrics-token-0123456789abcdef";
    let srv = start_with(b, |c| {
        c.metrics_token = Some(backend::config::Redacted(token.into()));
    })
    .await;
    let get = |auth: Option<String>| {
        let url = format!("{}/metrics", srv.base);
        async move {
            let mut r = reqwest::Client::new().get(url);
            if let Some(a) = auth {
                r = r.header("authorization", a);
            }
            r.send().await.unwrap()
        }
    };
    let r = get(None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        get(Some("Bearer wrong-token-0123456789".into()))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let r = get(Some(format!("Bearer {token}"))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("refrain_outbox_backlog"));
}

/// The server renders a page from one fetch of each of its resources. (A page created
/// inside a Suspense is created again each time the Suspense re-runs its children; its
/// data was then fetched and sent twice, and hydration could read a different fetch than
/// the one the HTML came from, which kills the page when the two differ.)
async fn the_library_page_is_rendered_from_one_fetch_of_its_data(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let c = client();
    signup(&c, &srv, "once@example.com").await;
    let r = c
        .post(format!("{}/api/uploads?filename=once.mp3", srv.base))
        .body(backend::testing::sine_mp3_with_cover(2, "green"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    worker::dispatch::drain(&srv.core).await.unwrap();
    let r = c
        .get(format!("{}/library", srv.base))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert_eq!(
        html.matches(r#"class="track-row""#).count(),
        1,
        "one row for the one track"
    );
    // The serialized data hydration reads (postcard in base64, see app::wire): the track
    // page and the import list, once each.
    use base64::Engine as _;
    let payloads: Vec<Vec<u8>> = html
        .split("__RESOLVED_RESOURCES[")
        .skip(1)
        .filter_map(|s| {
            let quoted = s.split_once("= \"")?.1;
            let end = quoted.find('"')?;
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(&quoted[..end])
                .ok()
        })
        .collect();
    fn exactly<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
        match postcard::take_from_bytes::<T>(bytes) {
            Ok((v, [])) => Some(v),
            _ => None,
        }
    }
    let track_pages = payloads
        .iter()
        .filter_map(|p| exactly::<Result<app::library::TrackPage, AppError>>(p))
        .filter(
            |r| matches!(r, Ok(page) if page.tracks.len() == 1 && page.tracks[0].title == "once"),
        )
        .count();
    assert_eq!(track_pages, 1, "{html}");
    let import_lists = payloads
        .iter()
        .filter_map(|p| exactly::<Result<app::imports::DeskPage, AppError>>(p))
        .filter(|r| matches!(r, Ok(page) if page.jobs.iter().any(|j| j.filename == "once.mp3")))
        .count();
    assert_eq!(import_lists, 1, "{html}");
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

/// Covers come as square JPEG thumbnails of the asked size (or the embedded original),
/// cached for a year and revalidated by ETag; only for users who may see the track.
async fn covers_are_thumbnailed_cached_and_private(b: Backend) {
    let srv = start(b, 1 << 20).await;
    // The first account is the admin, whose uploads are shared; this one is a listener's.
    signup(&client(), &srv, "first@example.com").await;
    let c = client();
    signup(&c, &srv, "covers@example.com").await;
    let r = c
        .post(format!("{}/api/uploads?filename=covered.mp3", srv.base))
        .body(backend::testing::sine_mp3_with_cover(2, "blue"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    worker::dispatch::drain(&srv.core).await.unwrap();
    let tracks: Vec<app::library::TrackItem> = call(&c, &srv, app::library::ListTracks::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    assert!(tracks[0].has_cover);
    let url = format!("{}/covers/{}", srv.base, tracks[0].id);

    let r = c.get(format!("{url}?s=48")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let cache = r.headers()["cache-control"].to_str().unwrap().to_string();
    assert!(
        cache.contains("max-age=31536000") && cache.contains("private"),
        "{cache}"
    );
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let img = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
    assert_eq!((img.width(), img.height()), (96, 96));
    let r = c
        .get(format!("{url}?s=48"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert!(r.bytes().await.unwrap().is_empty());

    let r = c.get(format!("{url}?s=600")).send().await.unwrap();
    assert_ne!(r.headers()["etag"].to_str().unwrap(), etag);
    let img = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
    assert_eq!((img.width(), img.height()), (640, 640));
    // Without a size: the embedded original.
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "image/png");

    // A personal upload's cover is nobody else's business; no session, no cover.
    let other = client();
    signup(&other, &srv, "nosy@example.com").await;
    let r = other.get(format!("{url}?s=48")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // The owner puts the track on an album through the edit form and gives the album a
    // new cover: the track's cover version (and so its URL) changes, and the new URL
    // serves the new picture. Nobody else may change it.
    let id = tracks[0].id.clone();
    let r = call(
        &c,
        &srv,
        app::catalog::SaveTrack::PATH,
        &[
            ("id", id.as_str()),
            ("title", "Blue Tone"),
            ("artist", "Sine Wave"),
            ("album", "Blue Period"),
            ("album_artist", ""),
            ("track_no", "1"),
            ("disc_no", ""),
            ("year", "2026"),
            ("genre", ""),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let before: Vec<app::library::TrackItem> = call(&c, &srv, app::library::ListTracks::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    assert_eq!(before[0].album.as_deref(), Some("Blue Period"));
    let album = before[0].album_id.clone().unwrap();
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        300,
        300,
        image::Rgb([250, 200, 0]),
    ))
    .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
    .unwrap();
    let cover_url = format!("{}/api/albums/{album}/cover", srv.base);
    let r = other
        .post(&cover_url)
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = c
        .post(&cover_url)
        .body(b"GIF89a nonsense".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c.post(&cover_url).body(png).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let after: Vec<app::library::TrackItem> = call(&c, &srv, app::library::ListTracks::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    assert_ne!(after[0].cover_v, before[0].cover_v);
    let r = c
        .get(format!("{url}?s=48&v={}", after[0].cover_v))
        .send()
        .await
        .unwrap();
    let img = image::load_from_memory(&r.bytes().await.unwrap())
        .unwrap()
        .to_rgb8();
    let px = img.get_pixel(48, 48).0;
    let near = |a: u8, b: u8| a.abs_diff(b) < 16;
    assert!(
        near(px[0], 250) && near(px[1], 200) && near(px[2], 0),
        "the new yellow cover, not the blue one: {px:?}"
    );
}

/// A picture goes up through `POST /api/avatar` and comes back with an ETag; other
/// signed-in users may see it, strangers may not.
async fn a_profile_picture_is_uploaded_served_and_revalidated(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let c = client();
    signup(&c, &srv, "face@example.com").await;
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(300, 300, image::Rgb([10, 200, 90]))
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let r = c
        .post(format!("{}/api/avatar", srv.base))
        .header("content-type", "image/png")
        .body(png.into_inner())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value = r.json().await.unwrap();
    let url = v["url"].as_str().unwrap().to_string();
    let me: Option<app::auth::UserInfo> = call(&c, &srv, app::auth::CurrentUser::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    assert_eq!(me.unwrap().avatar.as_deref(), Some(url.as_str()));

    let r = c.get(format!("{}{url}", srv.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let img = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
    assert_eq!((img.width(), img.height()), (256, 256));
    let r = c
        .get(format!("{}{url}", srv.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);

    let other = client();
    signup(&other, &srv, "friend@example.com").await;
    let r = other
        .get(format!("{}{url}", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = client()
        .get(format!("{}{url}", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = client()
        .post(format!("{}/api/avatar", srv.base))
        .body(vec![1u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Not a picture: a reason, and the old picture stays.
    let r = c
        .post(format!("{}/api/avatar", srv.base))
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = r.text().await.unwrap();
    assert!(body.contains("PNG, JPEG"), "{body}");
    let r = c
        .post(format!("{}/api/avatar", srv.base))
        .body(vec![0u8; 6 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let r = c.get(format!("{}{url}", srv.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// A form posted without JavaScript gets its error back as a redirect to the page it came
/// from (carrying the error), not as a bare 400 the browser would just display.
async fn a_plain_form_post_with_an_error_is_redirected_back_with_it(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let referer = format!("{}/login", srv.base);
    let r = client()
        .post(format!("{}{}", srv.base, app::auth::Login::PATH))
        .header("accept", "text/html,application/xhtml+xml")
        .header("referer", &referer)
        .form(&[
            ("email", "nobody@example.com"),
            ("password", "wrong-password-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let to = r.headers()["location"].to_str().unwrap();
    assert!(to.starts_with(&referer) && to.contains("__err="), "{to}");
    // The same call from the WASM client still gets its status.
    let r = call(
        &client(),
        &srv,
        app::auth::Login::PATH,
        &[
            ("email", "nobody@example.com"),
            ("password", "wrong-password-1"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

backend::on_both_databases!(
    hostile_tags_are_text_on_every_page,
    secure_cookies_are_host_bound_with_hsts,
    email_links_act_only_when_the_button_is_pressed,
    metrics_are_for_this_machine_or_the_token_holder,
    covers_are_thumbnailed_cached_and_private,
    a_plain_form_post_with_an_error_is_redirected_back_with_it,
    a_profile_picture_is_uploaded_served_and_revalidated,
    artist_requests_cannot_be_self_approved,
    every_server_function_that_needs_a_session_refuses_without_one,
    session_cookie_is_http_only_lax_and_changes_at_login,
    wrong_password_and_duplicate_email_get_clear_messages,
    upload_over_the_limit_is_413_and_stores_nothing,
    empty_upload_is_400_with_a_reason,
    stream_serves_byte_ranges,
    stream_requires_a_valid_token_for_that_track,
    another_signed_in_user_cannot_use_my_stream_url,
    logout_ends_the_session_and_its_stream_urls,
    library_page_redirects_to_login_without_a_session,
    the_library_page_is_rendered_from_one_fetch_of_its_data,
    readiness_names_each_dependency,
    metrics_report_latency_by_route_jobs_and_backlog,
    a_password_only_session_can_do_nothing_but_submit_a_code,
    repeated_failures_from_one_address_get_429,
    forwarded_for_is_believed_from_a_trusted_proxy,
    cross_site_posts_are_refused_and_change_nothing,
    pages_carry_a_nonce_csp_and_security_headers,
    the_sessions_list_names_devices_and_ends_them,
    roles_cannot_be_escalated_and_disabling_cuts_access_at_once,
    an_upload_past_the_quota_is_413_with_a_reason,
    static_assets_are_served_plainly_and_unknown_paths_get_404,
);

/// A private Redis, stopped under a signed-in browser: sessions fail closed (nothing that
/// needs a session answers as if signed in; the server keeps answering), and after Redis
/// comes back (empty) the old cookie is signed out and a new sign-in works.
#[tokio::test]
async fn sessions_fail_closed_when_redis_stops() {
    let port = backend::testing::free_port();
    let start_redis = || {
        let child = tokio::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server (Debian's redis-server package)");
        async move {
            for _ in 0..100 {
                if tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
                {
                    return child;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("the private Redis did not start");
        }
    };
    let mut redis = start_redis().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Backend::Sqlite.config(&dir.path().join("data")).await;
    config.redis_url = Some(format!("redis://127.0.0.1:{port}"));
    config.embedded_worker = false;
    let core = Core::init(config).await.unwrap();
    let base = serve(&core).await;
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap();
    let r = c
        .post(format!("{base}{}", app::auth::Signup::PATH))
        .form(&[("email", "closed@example.com"), ("password", PW)])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let me = async |c: &reqwest::Client| {
        let r = c
            .post(format!("{base}{}", app::auth::CurrentUser::PATH))
            .send()
            .await
            .unwrap();
        let ok = r.status().is_success();
        let body = r.text().await.unwrap();
        (ok, body)
    };
    let (ok, body) = me(&c).await;
    assert!(ok && body.contains("closed@example.com"), "{body}");

    redis.kill().await.unwrap();
    let (_, body) = me(&c).await;
    assert!(
        !body.contains("closed@example.com"),
        "signed in without the session store: {body}"
    );
    let r = c
        .post(format!("{base}{}", app::library::ListTracks::PATH))
        .send()
        .await
        .unwrap();
    assert!(!r.status().is_success(), "{}", r.status());
    let r = c.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the server keeps answering");

    // Back, empty: the old cookie is nobody's; signing in again works.
    let _redis = start_redis().await;
    let mut signed_in = false;
    for _ in 0..50 {
        let r = c
            .post(format!("{base}{}", app::auth::Login::PATH))
            .form(&[("email", "closed@example.com"), ("password", PW)])
            .send()
            .await
            .unwrap();
        if r.status().is_success() {
            signed_in = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(signed_in, "no sign-in after Redis came back");
    let (ok, body) = me(&c).await;
    assert!(ok && body.contains("closed@example.com"), "{body}");
}

/// Two server nodes on one PostgreSQL database and one Redis: a login made through one is
/// a login on the other, and the Redis record expires on its own.
#[tokio::test]
async fn two_nodes_share_logins_through_redis() {
    let redis =
        std::env::var("REFRAIN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let dir = tempfile::tempdir().unwrap();
    let mut config = Backend::Postgres.config(&dir.path().join("data")).await;
    config.redis_url = Some(redis);
    config.embedded_worker = false;
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let core = Core::init(config.clone()).await.unwrap();
        assert!(matches!(
            core.sessions,
            backend::auth::SessionBackend::Redis(_)
        ));
        nodes.push((serve(&core).await, core));
    }
    let (a, b) = (&nodes[0].0, &nodes[1].0);
    let c = client();
    let r = c
        .post(format!("{a}{}", app::auth::Signup::PATH))
        .form(&[("email", "nodes@example.com"), ("password", PW)])
        .send()
        .await
        .unwrap();
    let cookie = session_cookie(&r).unwrap();
    let me: Option<app::auth::UserInfo> = c
        .post(format!("{b}{}", app::auth::CurrentUser::PATH))
        .send()
        .await
        .unwrap()
        .wire()
        .await
        .unwrap();
    assert_eq!(me.unwrap().email, "nodes@example.com");

    // The record carries the session's expiry as its Redis TTL.
    let id: tower_sessions::session::Id = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("refrain=")
        .parse()
        .unwrap();
    let backend::auth::SessionBackend::Redis(store) = &nodes[0].1.sessions else {
        unreachable!()
    };
    let ttl = store.ttl(&id).await.unwrap();
    assert!(
        ttl > 0 && ttl <= nodes[0].1.config.session_ttl_secs,
        "ttl {ttl}"
    );

    // Logging out through node B ends the session on node A too.
    c.post(format!("{b}{}", app::auth::Logout::PATH))
        .send()
        .await
        .unwrap();
    let me: Option<app::auth::UserInfo> = c
        .post(format!("{a}{}", app::auth::CurrentUser::PATH))
        .send()
        .await
        .unwrap()
        .wire()
        .await
        .unwrap();
    assert!(me.is_none());
    assert_eq!(store.ttl(&id).await.unwrap(), -2, "record deleted");
}
