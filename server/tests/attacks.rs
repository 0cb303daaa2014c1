//! The attack matrix (/work/shared/SECURITY-MATRIX.md), rows 1, 8, 9, 10, 17, 18, 19 and
//! 27, tried over HTTP against the real router: each test makes every attack of its row
//! and checks the answer and that nothing changed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use app::error::AppError;
use backend::testing::Backend;
use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;
use server_fn::ServerFn;

mod common;
use common::*;

const NEW_PW: &str = "copper-meadow-55";

/// `name=value` of a `Set-Cookie` line.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().trim().to_string()
}

/// Every `Set-Cookie` of a response.
fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// Posts a server function's form with exactly the cookie header given (no cookie jar):
/// a replayed or stolen cookie.
async fn with_cookie(
    srv: &Srv,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}{path}", srv.base))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Posts a server function that takes postcard (lists of ids).
async fn call_postcard<T: serde::Serialize>(
    c: &reqwest::Client,
    srv: &Srv,
    path: &str,
    args: &T,
) -> reqwest::Response {
    c.post(format!("{}{path}", srv.base))
        .header("content-type", "application/x-postcard")
        .header("sec-fetch-site", "same-origin")
        .body(postcard::to_allocvec(args).unwrap())
        .send()
        .await
        .unwrap()
}

async fn login(c: &reqwest::Client, srv: &Srv, email: &str, password: &str) -> reqwest::Response {
    call(
        c,
        srv,
        app::auth::Login::PATH,
        &[("email", email), ("password", password)],
    )
    .await
}

async fn user_id(srv: &Srv, email: &str) -> String {
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&srv.core.db)
        .await
        .unwrap()
}

async fn count(srv: &Srv, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&srv.core.db)
        .await
        .unwrap()
}

/// Body text (postcard strings are UTF-8 inside) with no SQL error leaking out.
async fn body_without_sql(r: reqwest::Response, what: &str) -> (StatusCode, String) {
    let status = r.status();
    let text = String::from_utf8_lossy(&r.bytes().await.unwrap()).to_lowercase();
    for leak in [
        "syntax",
        "sqlstate",
        "sqlite",
        "postgres",
        "sqlx",
        "near \"",
        "unrecognized token",
    ] {
        assert!(!text.contains(leak), "{what}: {leak:?} in {text}");
    }
    (status, text)
}

fn refused(status: StatusCode) -> bool {
    status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN
}

// ---------------------------------------------------------------------------------------
// Row 1: password policy over HTTP.

/// A 1 MB password is refused with a reason (too long, or the body too large) before any
/// account exists or Argon2 runs (the reason is the length rule, checked before hashing);
/// at sign-in it is a plain refusal. 14 characters are too few without a second factor; a
/// 200-code-point Unicode passphrase signs up and logs in; the count is per code point.
async fn password_length_is_counted_in_code_points_and_oversize_never_reaches_argon2(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let huge = "x".repeat(1 << 20);
    let r = call(
        &client(),
        &srv,
        app::auth::Signup::PATH,
        &[("email", "huge@example.com"), ("password", &huge)],
    )
    .await;
    let (status, text) = body_without_sql(r, "1 MB sign-up").await;
    assert!(
        status == StatusCode::PAYLOAD_TOO_LARGE
            || (status == StatusCode::BAD_REQUEST && text.contains("at most 256 characters")),
        "{status}: {}",
        &text[..text.len().min(300)]
    );
    assert_eq!(
        count(
            &srv,
            "SELECT COUNT(*) FROM users WHERE email = 'huge@example.com'"
        )
        .await,
        0,
        "no account"
    );

    // 14 characters: refused, saying 15.
    let r = call(
        &client(),
        &srv,
        app::auth::Signup::PATH,
        &[
            ("email", "short@example.com"),
            ("password", "Qz7-kP2-mW9-xL"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    match r.app_error().await {
        AppError::Invalid(m) => assert!(m.contains("at least 15"), "{m}"),
        e => panic!("{e:?}"),
    }
    // 257 two-byte code points: too long; 256 of them (512 bytes): fine.
    let r = call(
        &client(),
        &srv,
        app::auth::Signup::PATH,
        &[
            ("email", "over@example.com"),
            ("password", &"é".repeat(257)),
        ],
    )
    .await;
    match r.app_error().await {
        AppError::Invalid(m) => assert!(m.contains("at most 256"), "{m}"),
        e => panic!("{e:?}"),
    }
    let r = call(
        &client(),
        &srv,
        app::auth::Signup::PATH,
        &[
            ("email", "edge@example.com"),
            ("password", &"é".repeat(256)),
        ],
    )
    .await;
    assert!(r.status().is_success(), "256 code points: {}", r.status());
    assert_eq!(
        count(
            &srv,
            "SELECT COUNT(*) FROM users WHERE email IN ('short@example.com', 'over@example.com')"
        )
        .await,
        0
    );

    // A 200-code-point Unicode passphrase signs up and logs in.
    let phrase: String = "ночь🎵東京é ".chars().cycle().take(200).collect();
    assert_eq!(phrase.chars().count(), 200);
    assert!(phrase.len() > 256, "more bytes than code points");
    let r = call(
        &client(),
        &srv,
        app::auth::Signup::PATH,
        &[("email", "poet@example.com"), ("password", &phrase)],
    )
    .await;
    assert!(r.status().is_success(), "signup: {}", r.status());
    let c = client();
    let outcome: app::auth::LoginOutcome = login(&c, &srv, "poet@example.com", &phrase)
        .await
        .wire()
        .await
        .unwrap();
    assert_eq!(outcome, app::auth::LoginOutcome::SignedIn);
    assert!(!role_of(&c, &srv).await.is_empty());

    // A 1 MB password at sign-in: refused like any wrong one (or the body is too large).
    let r = login(&client(), &srv, "poet@example.com", &huge).await;
    let (status, text) = body_without_sql(r, "1 MB login").await;
    assert!(
        status == StatusCode::PAYLOAD_TOO_LARGE
            || (status == StatusCode::BAD_REQUEST && text.contains("wrong email or password")),
        "{status}"
    );
}

// ---------------------------------------------------------------------------------------
// Row 8: MFA step bypass.

/// The functions `http/sessions.rs::a_password_only_session_can_do_nothing_but_submit_a_code` does
/// not try, called from a password-only session: each 401, nothing made (no app key
/// above all). Then, fully signed in, turning two-factor off or changing the address needs
/// the password again; and a password reset does not skip the code.
async fn a_password_only_session_reaches_no_other_function(b: Backend) {
    use app::settings as sec;
    use backend::auth::totp;
    let srv = start_with(b, |c| {
        c.server.public_url = Some("https://music.example".into());
    })
    .await;
    let user = backend::auth::signup(&srv.core, "pending@example.com", PW)
        .await
        .unwrap();
    let secret = turn_on_two_factor(&srv.core, &user).await;
    let now = u64::try_from(backend::now_ms() / 1000).unwrap();

    let c = client();
    let r = login(&c, &srv, "pending@example.com", PW).await;
    let outcome: app::auth::LoginOutcome = r.wire().await.unwrap();
    assert_eq!(outcome, app::auth::LoginOutcome::CodeNeeded);

    for (path, form) in [
        (
            app::appkeys::CreateAppKey::PATH,
            vec![("name", "Phone"), ("kind", "api_key"), ("password", PW)],
        ),
        (
            app::appkeys::CreateAppKey::PATH,
            vec![
                ("name", "Phone"),
                ("kind", "app_password"),
                ("password", PW),
            ],
        ),
        (app::appkeys::ListAppKeys::PATH, vec![]),
        (app::appkeys::RevokeAppKey::PATH, vec![("key_id", "x")]),
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
        (
            app::browse::SetAlbumLiked::PATH,
            vec![("album_id", "x"), ("liked", "true")],
        ),
        (app::browse::LikedAlbums::PATH, vec![]),
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
        (app::folders::AdminLibraryFolders::PATH, vec![]),
        (app::folders::AdminAddFolder::PATH, vec![("path", "/tmp")]),
        (app::folders::AdminRemoveFolder::PATH, vec![("id", "x")]),
        (app::folders::AdminScanLibrary::PATH, vec![]),
        (
            app::library::ImportFromUrl::PATH,
            vec![("link", "https://example.com/a.mp3")],
        ),
        (app::offline::DownloadManifest::PATH, vec![("key", "liked")]),
        (app::auth::sso::SignInMethods::PATH, vec![]),
        (
            app::auth::sso::DisconnectSignIn::PATH,
            vec![("provider", "google")],
        ),
    ] {
        let r = call(&c, &srv, path, &form).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(r.app_error().await, AppError::Unauthenticated, "{path}");
    }
    // SsoConnect treats the partial session as signed out: back to the sign-in page, no flow.
    let r = call(
        &c,
        &srv,
        app::auth::sso::SsoConnect::PATH,
        &[("provider", "google")],
    )
    .await;
    assert!(!r.status().is_server_error(), "{}", r.status());
    assert_eq!(count(&srv, "SELECT COUNT(*) FROM sso_flows").await, 0);
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
        (
            app::catalog::bulk::BulkEdit::PATH,
            postcard::to_allocvec(&app::catalog::bulk::BulkEdit {
                track_ids: vec!["y".into()],
                field: "genre".into(),
                value: "x".into(),
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
    for path in ["/covers/x", "/api/v1/me", "/api/v1/tracks"] {
        let r = c.get(format!("{}{path}", srv.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    // A page is the sign-in page, not the library.
    let r = c.get(format!("{}/library", srv.base)).send().await.unwrap();
    assert!(
        r.status().is_redirection() || r.status() == StatusCode::UNAUTHORIZED,
        "{}",
        r.status()
    );
    assert!(!r.text().await.unwrap().contains("Range Test"));
    assert_eq!(
        count(&srv, "SELECT COUNT(*) FROM app_keys").await,
        0,
        "no app key"
    );
    assert_eq!(count(&srv, "SELECT COUNT(*) FROM playlists").await, 0);

    // With the code: signed in. Turning two-factor off or changing the address still asks
    // for the password (and the code).
    let r = call(
        &c,
        &srv,
        app::auth::VerifyLoginCode::PATH,
        &[("code", &totp::code(&secret, now + totp::STEP))],
    )
    .await;
    assert!(r.status().is_success() || r.status().is_redirection());
    let code = totp::code(&secret, now + 2 * totp::STEP);
    let r = call(
        &c,
        &srv,
        sec::DisableTotp::PATH,
        &[("password", "not-the-password-1"), ("code", &code)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = call(
        &c,
        &srv,
        sec::DisableTotp::PATH,
        &[("password", PW), ("code", "")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let on: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id = $1 AND totp_secret IS NOT NULL")
            .bind(&user.id)
            .fetch_one(&srv.core.db)
            .await
            .unwrap();
    assert_eq!(on, 1, "two-factor is still on");
    let r = call(
        &c,
        &srv,
        sec::RequestEmailChange::PATH,
        &[
            ("password", "not-the-password-1"),
            ("new_email", "thief@example.com"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        backend::testing::queued_emails(&srv.core.db)
            .await
            .iter()
            .all(|m| m.to != "thief@example.com"),
        "no confirmation link went out"
    );
    assert_eq!(
        count(
            &srv,
            "SELECT COUNT(*) FROM users WHERE email = 'thief@example.com'"
        )
        .await,
        0
    );

    // A password reset does not skip the second factor.
    let anon = client();
    let r = call(
        &anon,
        &srv,
        app::auth::RequestPasswordReset::PATH,
        &[("email", "pending@example.com")],
    )
    .await;
    assert!(r.status().is_success());
    let mails = backend::testing::queued_emails(&srv.core.db).await;
    let m = mails
        .iter()
        .rev()
        .find(|m| m.to == "pending@example.com")
        .expect("a reset email");
    let token = backend::testing::link_token(&m.text, "/reset-password").unwrap();
    let r = call(
        &anon,
        &srv,
        app::auth::ResetPassword::PATH,
        &[("token", &token), ("password", NEW_PW)],
    )
    .await;
    assert!(r.status().is_success(), "{}", r.status());
    let r = call(&anon, &srv, app::library::ListTracks::PATH, &[]).await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a reset signs nobody in"
    );
    let outcome: app::auth::LoginOutcome = login(&anon, &srv, "pending@example.com", NEW_PW)
        .await
        .wire()
        .await
        .unwrap();
    assert_eq!(outcome, app::auth::LoginOutcome::CodeNeeded);
    let r = call(&anon, &srv, app::library::ListTracks::PATH, &[]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

// ---------------------------------------------------------------------------------------
// Row 9: session lifecycle.

/// Whether the session store still holds the record of this `name=value` cookie.
async fn stored(srv: &Srv, cookie: &str) -> bool {
    use tower_sessions::SessionStore;
    let (_, value) = cookie.split_once('=').unwrap();
    let id: tower_sessions::session::Id = value.parse().unwrap();
    srv.core.sessions.load(&id).await.unwrap().is_some()
}

/// A logged-out cookie replayed by hand is nobody's; a cookie planted before sign-in is
/// replaced at sign-in; a password change and "end other sessions" cut the other sessions
/// at once; a disabled user's cookie is refused at once. Every ended session's record is
/// gone from the store at once (not only refused when it comes back).
async fn ended_sessions_stay_ended_when_their_cookie_is_replayed(b: Backend) {
    ended_sessions_stay_ended(start(b, 1 << 20).await).await
}

/// The same with the sessions in Redis (the scaled-out store): the Redis entries go.
#[tokio::test]
async fn ended_sessions_leave_no_redis_entry() {
    let redis =
        std::env::var("REFRAIN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let srv = start_with(Backend::Postgres, |c| c.redis.url = Some(redis)).await;
    assert!(matches!(
        srv.core.sessions,
        backend::auth::SessionBackend::Redis(_)
    ));
    ended_sessions_stay_ended(srv).await
}

async fn ended_sessions_stay_ended(srv: Srv) {
    let admin = backend::auth::signup(&srv.core, "boss@example.com", PW)
        .await
        .unwrap();
    let c = client();
    let first = pair(&session_cookie(&signup(&c, &srv, "life@example.com").await).unwrap());
    assert_eq!(
        with_cookie(&srv, &first, app::library::ListTracks::PATH, &[])
            .await
            .status(),
        StatusCode::OK
    );
    assert!(stored(&srv, &first).await);
    let r = call(&c, &srv, app::auth::Logout::PATH, &[]).await;
    assert!(r.status().is_success());
    assert!(
        !stored(&srv, &first).await,
        "a logged-out session's record stays"
    );
    // Replayed explicitly, not through the jar (which dropped it).
    let r = with_cookie(&srv, &first, app::library::ListTracks::PATH, &[]).await;
    assert_eq!(r.app_error().await, AppError::Unauthenticated);
    let me: Option<app::auth::UserInfo> =
        with_cookie(&srv, &first, app::auth::CurrentUser::PATH, &[])
            .await
            .wire()
            .await
            .unwrap();
    assert!(me.is_none());

    // Fixation: sign in while presenting the old id; the answer names a new one and the
    // old one stays dead.
    let r = with_cookie(
        &srv,
        &first,
        app::auth::Login::PATH,
        &[("email", "life@example.com"), ("password", PW)],
    )
    .await;
    assert!(r.status().is_success() || r.status().is_redirection());
    let fresh = pair(&session_cookie(&r).expect("a new session cookie"));
    assert_ne!(fresh, first);
    assert_eq!(
        with_cookie(&srv, &first, app::library::ListTracks::PATH, &[])
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        with_cookie(&srv, &fresh, app::library::ListTracks::PATH, &[])
            .await
            .status(),
        StatusCode::OK
    );

    // Two more sessions; the password changes in one: the others end at once.
    let (laptop, phone) = (client(), client());
    let laptop_cookie =
        pair(&session_cookie(&login(&laptop, &srv, "life@example.com", PW).await).unwrap());
    let phone_cookie =
        pair(&session_cookie(&login(&phone, &srv, "life@example.com", PW).await).unwrap());
    let r = call(
        &laptop,
        &srv,
        app::settings::ChangePassword::PATH,
        &[("current", PW), ("new", NEW_PW)],
    )
    .await;
    assert!(r.status().is_success(), "{}", r.status());
    for cookie in [&phone_cookie, &fresh] {
        assert!(
            !stored(&srv, cookie).await,
            "another session's record outlived the password change"
        );
        assert_eq!(
            with_cookie(&srv, cookie, app::library::ListTracks::PATH, &[])
                .await
                .status(),
            StatusCode::UNAUTHORIZED,
            "another session outlived the password change"
        );
    }
    assert!(stored(&srv, &laptop_cookie).await);
    assert_eq!(
        with_cookie(&srv, &laptop_cookie, app::library::ListTracks::PATH, &[])
            .await
            .status(),
        StatusCode::OK,
        "the session that changed it goes on"
    );

    // "End other sessions".
    let tablet = client();
    let tablet_cookie =
        pair(&session_cookie(&login(&tablet, &srv, "life@example.com", NEW_PW).await).unwrap());
    let r = call(&laptop, &srv, app::settings::EndOtherLogins::PATH, &[]).await;
    assert!(r.status().is_success());
    assert!(!stored(&srv, &tablet_cookie).await);
    assert_eq!(
        with_cookie(&srv, &tablet_cookie, app::library::ListTracks::PATH, &[])
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // Disabled by an admin: the remaining session is refused at once, and no new one opens.
    let id = user_id(&srv, "life@example.com").await;
    backend::admin::set_disabled(&srv.core, &admin, &id, true)
        .await
        .unwrap();
    assert!(!stored(&srv, &laptop_cookie).await);
    assert_eq!(
        with_cookie(&srv, &laptop_cookie, app::library::ListTracks::PATH, &[])
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let r = login(&client(), &srv, "life@example.com", NEW_PW).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

// ---------------------------------------------------------------------------------------
// Row 10: cookies and headers.

/// The page routes of app/src/lib.rs (`:id` filled with `x`), read from its source so a
/// new page is checked too.
fn page_routes() -> Vec<String> {
    let src = include_str!("../../app/src/lib.rs");
    let routes: Vec<String> = src
        .split("path!(\"")
        .skip(1)
        .filter_map(|s| s.split("\")").next())
        .filter(|p| !p.is_empty())
        .map(|p| p.replace(":id", "x"))
        .collect();
    assert!(routes.len() >= 20, "{routes:?}");
    routes
}

fn check_sign_in_cookies(cookies: &[String], secure: bool) -> Vec<String> {
    let mut names = Vec::new();
    for cookie in cookies {
        let attrs: Vec<String> = cookie
            .split(';')
            .skip(1)
            .map(|a| a.trim().to_ascii_lowercase())
            .collect();
        for want in ["httponly", "path=/", "samesite=lax"] {
            assert!(attrs.iter().any(|a| a == want), "{want} missing: {cookie}");
        }
        assert_eq!(attrs.iter().any(|a| a == "secure"), secure, "{cookie}");
        assert!(
            !attrs.iter().any(|a| a.starts_with("domain")),
            "no domain: {cookie}"
        );
        let name = pair(cookie).split('=').next().unwrap().to_string();
        if secure {
            assert!(name.starts_with("__Host-"), "{cookie}");
        }
        names.push(name);
    }
    names
}

/// Every cookie set at sign-up, sign-in and the second step (session and device) is
/// HttpOnly, SameSite=Lax, for the whole site; with secure cookies also `Secure` and
/// `__Host-`. Every page route, signed in, carries the CSP with frame-ancestors, nosniff,
/// and (secure) HSTS.
async fn every_sign_in_cookie_and_every_page_is_locked_down(b: Backend) {
    for secure in [false, true] {
        let srv = start_with(b, |c| c.server.secure_cookies = secure).await;
        let prefix = if secure { "__Host-" } else { "" };
        let r = call(
            &client(),
            &srv,
            app::auth::Signup::PATH,
            &[("email", "jar@example.com"), ("password", PW)],
        )
        .await;
        assert!(r.status().is_success());
        let names = check_sign_in_cookies(&set_cookies(&r), secure);
        assert!(names.contains(&format!("{prefix}refrain")), "{names:?}");
        assert!(
            names.contains(&format!("{prefix}refrain-device")),
            "{names:?}"
        );

        let r = login(&client(), &srv, "jar@example.com", PW).await;
        assert!(r.status().is_success());
        let cookies = set_cookies(&r);
        let names = check_sign_in_cookies(&cookies, secure);
        assert!(names.contains(&format!("{prefix}refrain")), "{names:?}");
        assert!(
            names.contains(&format!("{prefix}refrain-device")),
            "{names:?}"
        );
        let jar: String = cookies
            .iter()
            .map(|c| pair(c))
            .collect::<Vec<_>>()
            .join("; ");

        // The two steps of a two-factor sign-in.
        let user = backend::auth::signup(&srv.core, "steps@example.com", PW)
            .await
            .unwrap();
        let secret = turn_on_two_factor(&srv.core, &user).await;
        let r = login(&client(), &srv, "steps@example.com", PW).await;
        let pending = set_cookies(&r);
        check_sign_in_cookies(&pending, secure);
        let now = u64::try_from(backend::now_ms() / 1000).unwrap();
        let code = backend::auth::totp::code(&secret, now + backend::auth::totp::STEP);
        let r = with_cookie(
            &srv,
            &pair(&pending[0]),
            app::auth::VerifyLoginCode::PATH,
            &[("code", &code)],
        )
        .await;
        assert!(
            r.status().is_success() || r.status().is_redirection(),
            "{}",
            r.status()
        );
        let names = check_sign_in_cookies(&set_cookies(&r), secure);
        assert!(names.contains(&format!("{prefix}refrain")), "{names:?}");
        assert!(
            names.contains(&format!("{prefix}refrain-device")),
            "{names:?}"
        );

        for path in page_routes() {
            let r = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap()
                .get(format!("{}{path}", srv.base))
                .header("cookie", &jar)
                .send()
                .await
                .unwrap();
            if path == "/library" {
                assert_eq!(r.status(), StatusCode::OK, "signed in");
            }
            assert!(!r.status().is_server_error(), "{path}: {}", r.status());
            let h = r.headers();
            let csp = h
                .get("content-security-policy")
                .unwrap_or_else(|| panic!("{path}: no CSP"))
                .to_str()
                .unwrap();
            assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
            assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
            assert_eq!(
                h.contains_key("strict-transport-security"),
                secure,
                "{path}: HSTS exactly with secure cookies"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Row 17: IDOR, BOLA, mass assignment.

/// User B reads, changes and deletes user A's private playlist, upload, import job and
/// queue by id: each refused (404 or 403) and nothing of A's changed.
async fn another_user_cannot_read_change_or_delete_what_is_mine(b: Backend) {
    let srv = start(b, 1 << 24).await;
    // The first account is the admin; A and B are listeners.
    backend::auth::signup(&srv.core, "first@example.com", PW)
        .await
        .unwrap();
    let a = client();
    let (track, _, _) = with_track(&srv, &a, "alice@example.com").await;
    let pl: app::playlists::widgets::PlaylistItem = call(
        &a,
        &srv,
        app::playlists::widgets::CreatePlaylist::PATH,
        &[
            ("name", "Mine"),
            ("description", "secret"),
            ("public", "false"),
        ],
    )
    .await
    .wire()
    .await
    .unwrap();
    let r = call_postcard(
        &a,
        &srv,
        app::playlists::widgets::AddToPlaylist::PATH,
        &app::playlists::widgets::AddToPlaylist {
            id: pl.id.clone(),
            track_ids: vec![track.clone()],
        },
    )
    .await;
    assert!(r.status().is_success());
    let page: app::playlists::PlaylistPageData = call(
        &a,
        &srv,
        app::playlists::GetPlaylist::PATH,
        &[("id", &pl.id)],
    )
    .await
    .wire()
    .await
    .unwrap();
    let entry = page.entries[0].entry_id.clone();
    let r = call_postcard(
        &a,
        &srv,
        app::player::api::SaveQueue::PATH,
        &app::player::api::SaveQueue {
            track_ids: vec![track.clone()],
            index: 0,
            position_ms: 1234,
        },
    )
    .await;
    assert!(r.status().is_success());
    let job: String = sqlx::query_scalar("SELECT id FROM import_jobs WHERE track_id = $1")
        .bind(&track)
        .fetch_one(&srv.core.db)
        .await
        .unwrap();

    let bob = client();
    signup(&bob, &srv, "bob@example.com").await;
    let playlist_key = format!("playlist:{}", pl.id);
    for (path, form) in [
        (
            app::playlists::GetPlaylist::PATH,
            vec![("id", pl.id.as_str())],
        ),
        (
            app::playlists::UpdatePlaylist::PATH,
            vec![
                ("id", pl.id.as_str()),
                ("name", "pwned"),
                ("description", ""),
                ("public", "true"),
            ],
        ),
        (
            app::playlists::DeletePlaylist::PATH,
            vec![("id", pl.id.as_str())],
        ),
        (
            app::playlists::RemoveFromPlaylist::PATH,
            vec![("id", pl.id.as_str()), ("entry_id", entry.as_str())],
        ),
        (
            app::playlists::MoveInPlaylist::PATH,
            vec![
                ("id", pl.id.as_str()),
                ("entry_id", entry.as_str()),
                ("to", "0"),
            ],
        ),
        (
            app::playlists::CopyPlaylist::PATH,
            vec![("id", pl.id.as_str())],
        ),
        (
            app::offline::DownloadManifest::PATH,
            vec![("key", playlist_key.as_str())],
        ),
        (
            app::player::api::StreamTrack::PATH,
            vec![("track_id", track.as_str())],
        ),
        (
            app::tracks::DeleteTrack::PATH,
            vec![("track_id", track.as_str())],
        ),
        (
            app::player::api::SetLiked::PATH,
            vec![("track_id", track.as_str()), ("liked", "true")],
        ),
        (
            app::catalog::GetTrackForm::PATH,
            vec![("id", track.as_str())],
        ),
        (
            app::catalog::SaveTrack::PATH,
            vec![
                ("id", track.as_str()),
                ("title", "pwned"),
                ("artist", "a"),
                ("album", ""),
                ("album_artist", ""),
                ("track_no", ""),
                ("disc_no", ""),
                ("year", ""),
                ("genre", ""),
            ],
        ),
        (
            app::imports::RetryImport::PATH,
            vec![("job_id", job.as_str())],
        ),
        (
            app::imports::CancelImport::PATH,
            vec![("job_id", job.as_str())],
        ),
    ] {
        let r = call(&bob, &srv, path, &form).await;
        assert!(refused(r.status()), "{path}: {}", r.status());
    }
    for (path, r) in [
        (
            app::playlists::widgets::AddToPlaylist::PATH,
            call_postcard(
                &bob,
                &srv,
                app::playlists::widgets::AddToPlaylist::PATH,
                &app::playlists::widgets::AddToPlaylist {
                    id: pl.id.clone(),
                    track_ids: vec![track.clone()],
                },
            )
            .await,
        ),
        (
            app::catalog::bulk::BulkEdit::PATH,
            call_postcard(
                &bob,
                &srv,
                app::catalog::bulk::BulkEdit::PATH,
                &app::catalog::bulk::BulkEdit {
                    track_ids: vec![track.clone()],
                    field: "genre".into(),
                    value: "pwned".into(),
                },
            )
            .await,
        ),
        (
            app::player::api::SaveQueue::PATH,
            call_postcard(
                &bob,
                &srv,
                app::player::api::SaveQueue::PATH,
                &app::player::api::SaveQueue {
                    track_ids: vec![track.clone()],
                    index: 0,
                    position_ms: 0,
                },
            )
            .await,
        ),
    ] {
        assert!(
            r.status().is_client_error() && r.status() != StatusCode::UNAUTHORIZED,
            "{path}: {}",
            r.status()
        );
    }
    // The stream URL of A's track and its cover: not B's.
    let r = bob
        .get(format!("{}/covers/{track}?s=48", srv.base))
        .send()
        .await
        .unwrap();
    assert!(refused(r.status()), "cover: {}", r.status());

    // Nothing of A's changed.
    let page: app::playlists::PlaylistPageData = call(
        &a,
        &srv,
        app::playlists::GetPlaylist::PATH,
        &[("id", &pl.id)],
    )
    .await
    .wire()
    .await
    .unwrap();
    assert_eq!(page.playlist.name, "Mine");
    assert_eq!(page.playlist.description, "secret");
    assert!(!page.playlist.public);
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.entries[0].entry_id, entry);
    assert_eq!(
        count(&srv, "SELECT COUNT(*) FROM playlists").await,
        1,
        "no copy"
    );
    let tracks: Vec<app::model::TrackItem> = call(&a, &srv, app::library::ListTracks::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].title, "Range Test");
    let genre: Option<String> = sqlx::query_scalar("SELECT genre FROM tracks WHERE id = $1")
        .bind(&track)
        .fetch_one(&srv.core.db)
        .await
        .unwrap();
    assert_ne!(genre.as_deref(), Some("pwned"));
    assert_eq!(count(&srv, "SELECT COUNT(*) FROM track_likes").await, 0);
    let q: app::player::api::QueueData = call(&a, &srv, app::player::api::GetQueue::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    assert_eq!((q.tracks.len(), q.position_ms), (1, 1234));
    let q: app::player::api::QueueData = call(&bob, &srv, app::player::api::GetQueue::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    assert!(q.tracks.is_empty(), "B's queue holds nothing of A's");
}

/// Extra `role`, `is_admin`, `user_id`, `id` and `owner_id` fields are ignored: sign-up makes
/// a listener with its own id, and a playlist stays its creator's.
async fn extra_owner_role_and_admin_fields_are_ignored(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let admin = backend::auth::signup(&srv.core, "root@example.com", PW)
        .await
        .unwrap();
    let c = client();
    signup_form(
        &c,
        &srv,
        &[
            ("email", "mallory@example.com"),
            ("password", PW),
            ("role", "admin"),
            ("is_admin", "true"),
            ("user_id", &admin.id),
            ("id", &admin.id),
            ("owner_id", &admin.id),
        ],
    )
    .await;
    assert_eq!(role_of(&c, &srv).await, "listener");
    let mallory = user_id(&srv, "mallory@example.com").await;
    assert_ne!(mallory, admin.id);
    assert_eq!(
        count(&srv, "SELECT COUNT(*) FROM users WHERE role = 'admin'").await,
        1
    );

    let r = call(
        &c,
        &srv,
        app::playlists::widgets::CreatePlaylist::PATH,
        &[
            ("name", "Mine"),
            ("description", ""),
            ("public", "false"),
            ("owner_id", &admin.id),
            ("user_id", &admin.id),
        ],
    )
    .await;
    let pl: app::playlists::widgets::PlaylistItem = r.wire().await.unwrap();
    assert!(pl.mine);
    let r = call(
        &c,
        &srv,
        app::playlists::UpdatePlaylist::PATH,
        &[
            ("id", &pl.id),
            ("name", "Renamed"),
            ("description", ""),
            ("public", "false"),
            ("owner_id", &admin.id),
            ("user_id", &admin.id),
            ("is_admin", "true"),
        ],
    )
    .await;
    assert!(
        r.status().is_success() || r.status() == StatusCode::BAD_REQUEST,
        "{}",
        r.status()
    );
    let owner: String = sqlx::query_scalar("SELECT owner_id FROM playlists WHERE id = $1")
        .bind(&pl.id)
        .fetch_one(&srv.core.db)
        .await
        .unwrap();
    assert_eq!(owner, mallory, "the owner did not move");
    let r = call(
        &c,
        &srv,
        app::settings::SetDisplayName::PATH,
        &[("name", "M"), ("role", "admin"), ("is_admin", "true")],
    )
    .await;
    assert!(r.status().is_success() || r.status() == StatusCode::BAD_REQUEST);
    assert_eq!(role_of(&c, &srv).await, "listener");
}

// ---------------------------------------------------------------------------------------
// Row 18: admin functions.

/// Every admin server function (app/src/admin.rs, folders.rs, artists.rs, the admin-only
/// ones of catalog.rs and imports.rs) with its arguments: `user` a real account, `artist`
/// and `album` real ids, `request` a pending artist request.
fn admin_calls<'a>(
    user: &'a str,
    artist: &'a str,
    album: &'a str,
    request: &'a str,
) -> Vec<(&'static str, Vec<(&'static str, &'a str)>)> {
    vec![
        (app::admin::AdminListUsers::PATH, vec![("query", "")]),
        (
            app::admin::AdminSetRole::PATH,
            vec![("user_id", user), ("role", "listener")],
        ),
        (
            app::admin::AdminSetDisabled::PATH,
            vec![("user_id", user), ("disabled", "true")],
        ),
        (
            app::admin::AdminSetQuota::PATH,
            vec![("user_id", user), ("quota_mb", "1")],
        ),
        (
            app::admin::AdminResetTwoFactor::PATH,
            vec![("user_id", user)],
        ),
        (app::admin::AdminAuditLog::PATH, vec![]),
        (app::folders::AdminLibraryFolders::PATH, vec![]),
        (app::folders::AdminAddFolder::PATH, vec![("path", "/tmp")]),
        (app::folders::AdminRemoveFolder::PATH, vec![("id", "x")]),
        (app::folders::AdminScanLibrary::PATH, vec![]),
        (app::artists::AdminArtistRequests::PATH, vec![]),
        (
            app::artists::AdminDecideArtist::PATH,
            vec![("request_id", request), ("approve", "true")],
        ),
        (
            app::imports::ImportDesk::PATH,
            vec![("state", ""), ("source", ""), ("offset", "0")],
        ),
        (app::imports::PurgeImports::PATH, vec![("days", "0")]),
        (app::catalog::ArtistForEdit::PATH, vec![("id", artist)]),
        (
            app::catalog::RenameArtist::PATH,
            vec![("id", artist), ("name", "pwned")],
        ),
        (
            app::catalog::MergeArtist::PATH,
            vec![("from", artist), ("into", artist)],
        ),
        (app::catalog::DeleteArtist::PATH, vec![("id", artist)]),
        (
            app::catalog::MergeAlbum::PATH,
            vec![("from", album), ("into", album)],
        ),
    ]
}

/// A listener calling each admin function gets 403 and changes nothing. An admin demoted
/// while holding a live API access token loses admin rights at once: the role is read from
/// the database on every request, not from the token.
async fn a_listener_is_refused_every_admin_function(b: Backend) {
    let srv = start(b, 1 << 24).await;
    let root = client();
    signup(&root, &srv, "root@example.com").await;
    upload(
        &root,
        &srv,
        "album.mp3",
        backend::testing::sine_mp3(
            2,
            &[
                ("title", "Kept"),
                ("artist", "Keeper"),
                ("album", "Kept Album"),
            ],
        ),
    )
    .await;
    let root_id = user_id(&srv, "root@example.com").await;
    let artist: String = sqlx::query_scalar("SELECT id FROM artists LIMIT 1")
        .fetch_one(&srv.core.db)
        .await
        .unwrap();
    let artist_name: String = sqlx::query_scalar("SELECT name FROM artists WHERE id = $1")
        .bind(&artist)
        .fetch_one(&srv.core.db)
        .await
        .unwrap();
    let album: String = sqlx::query_scalar("SELECT id FROM albums LIMIT 1")
        .fetch_one(&srv.core.db)
        .await
        .unwrap();
    let hopeful = backend::auth::signup(&srv.core, "hopeful@example.com", PW)
        .await
        .unwrap();
    backend::artists::request(&srv.core, &hopeful, "Hopeful", "")
        .await
        .unwrap();
    let request: String = sqlx::query_scalar("SELECT id FROM artist_requests LIMIT 1")
        .fetch_one(&srv.core.db)
        .await
        .unwrap();
    let tracks_before = count(&srv, "SELECT COUNT(*) FROM tracks").await;

    let c = client();
    signup(&c, &srv, "plain@example.com").await;
    for (path, form) in admin_calls(&root_id, &artist, &album, &request) {
        let r = call(&c, &srv, path, &form).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let row: (String, Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT role, disabled_at, quota_bytes FROM users WHERE id = $1")
            .bind(&root_id)
            .fetch_one(&srv.core.db)
            .await
            .unwrap();
    assert_eq!(row, ("admin".to_string(), None, None));
    assert_eq!(count(&srv, "SELECT COUNT(*) FROM library_roots").await, 0);
    assert_eq!(
        count(&srv, "SELECT COUNT(*) FROM tracks").await,
        tracks_before
    );
    let still: String = sqlx::query_scalar("SELECT name FROM artists WHERE id = $1")
        .bind(&artist)
        .fetch_one(&srv.core.db)
        .await
        .unwrap();
    assert_eq!(still, artist_name);
    assert_eq!(
        count(&srv, "SELECT COUNT(*) FROM users WHERE role = 'artist'").await,
        0,
        "the request was not approved"
    );

    // A second admin with a live API access token, demoted by the first.
    let deputy = backend::auth::signup(&srv.core, "deputy@example.com", PW)
        .await
        .unwrap();
    let r = call(
        &root,
        &srv,
        app::admin::AdminSetRole::PATH,
        &[("user_id", &deputy.id), ("role", "admin")],
    )
    .await;
    assert!(r.status().is_success());
    let tokens: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/token", srv.base))
        .form(&[
            ("grant_type", "password"),
            ("email", "deputy@example.com"),
            ("password", PW),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let me = |token: String| {
        let url = format!("{}/api/v1/me", srv.base);
        async move {
            let v: serde_json::Value = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["role"].as_str().unwrap().to_string()
        }
    };
    assert_eq!(me(access.clone()).await, "admin");
    let holder = backend::auth::api_tokens::user_for_access_token(&srv.core, &access)
        .await
        .unwrap()
        .unwrap();
    assert!(
        backend::admin::list_users(&srv.core, &holder, "", 5)
            .await
            .is_ok()
    );
    let r = call(
        &root,
        &srv,
        app::admin::AdminSetRole::PATH,
        &[("user_id", &deputy.id), ("role", "listener")],
    )
    .await;
    assert!(r.status().is_success());
    // The same token, still within its lifetime: no longer an admin's.
    assert_eq!(me(access.clone()).await, "listener");
    let holder = backend::auth::api_tokens::user_for_access_token(&srv.core, &access)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        backend::admin::list_users(&srv.core, &holder, "", 5).await,
        Err(backend::Error::Forbidden)
    ));
}

/// The same refusals from a real `refrain` process: each is one structured security event
/// (`refrain::security`, `security=authorization_refused`) naming the listener.
#[tokio::test]
async fn each_refused_admin_call_is_a_security_event() {
    use backend::testing::{Proc, env_of, free_port};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let config = Backend::Sqlite.config(&dir.path().join("data")).await;
    let core = backend::Core::init(config.clone()).await.unwrap();
    let port = free_port();
    let mut env = env_of(&config);
    env.extend([
        ("REFRAIN_PORT".to_string(), port.to_string()),
        ("REFRAIN_LOG_FORMAT".to_string(), "json".to_string()),
        ("REFRAIN_RATE_LIMIT".to_string(), "0".to_string()),
    ]);
    let mut server = Proc::spawn_logging(
        env!("CARGO_BIN_EXE_refrain"),
        &["serve"],
        &env,
        "info,sqlx=warn",
    );
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(Instant::now() < deadline, "the server never answered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let post = |c: &reqwest::Client, path: &str, form: &[(&str, &str)]| {
        c.post(format!("{base}{path}")).form(form).send()
    };
    let admin = client();
    let r = post(
        &admin,
        app::auth::Signup::PATH,
        &[("email", "boss@example.com"), ("password", PW)],
    )
    .await
    .unwrap();
    assert!(r.status().is_success());
    let c = client();
    let r = post(
        &c,
        app::auth::Signup::PATH,
        &[("email", "plain@example.com"), ("password", PW)],
    )
    .await
    .unwrap();
    assert!(r.status().is_success());
    let boss: String = sqlx::query_scalar("SELECT id FROM users WHERE email = 'boss@example.com'")
        .fetch_one(&core.db)
        .await
        .unwrap();
    let plain: String =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'plain@example.com'")
            .fetch_one(&core.db)
            .await
            .unwrap();
    let calls = admin_calls(&boss, "x", "y", "z");
    for (path, form) in &calls {
        let r = post(&c, path, form).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        eprintln!("refused: {path}");
        // Its own event, before the next call.
        server
            .wait_for_line("authorization_refused", Duration::from_secs(20))
            .await;
    }
    // One more, so that reading through its event has every line before it in.
    let r = post(&c, app::admin::AdminListUsers::PATH, &[("query", "")])
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let lines = server
        .lines_through("authorization_refused", Duration::from_secs(20))
        .await
        .to_vec();
    let events: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| {
            v["target"] == "refrain::security" && v["fields"]["security"] == "authorization_refused"
        })
        .collect();
    assert_eq!(events.len(), calls.len() + 1, "{events:#?}");
    for e in &events {
        assert_eq!(e["fields"]["account"], plain.as_str(), "{e}");
        assert!(
            e["fields"]["action"]
                .as_str()
                .unwrap()
                .contains("admin function"),
            "{e}"
        );
    }
    server.kill().await;
}

// ---------------------------------------------------------------------------------------
// Row 19: SQL injection in identifiers.

/// Sort orders, roles, filters and field names come from allowlists: an injected or
/// unknown one is a 400 saying so, and no answer carries SQL error text; a `password`
/// "filter" or field is refused or ignored.
async fn injected_identifiers_meet_allowlists_and_leak_no_sql(b: Backend) {
    let srv = start(b, 1 << 24).await;
    let admin = client();
    let (track, _, _) = with_track(&srv, &admin, "root@example.com").await;
    let target = user_id(&srv, "root@example.com").await;

    for sort in [
        "title;--",
        "title; DROP TABLE tracks;--",
        "password",
        "t.title",
        "1",
    ] {
        let r = call(
            &admin,
            &srv,
            app::library::ListTracksPage::PATH,
            &[("sort", sort), ("desc", "false"), ("offset", "0")],
        )
        .await;
        let (status, text) = body_without_sql(r, sort).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{sort}");
        assert!(text.contains("unknown sort order"), "{sort}: {text}");
    }
    for offset in ["0;--", "1 OR 1=1"] {
        let r = call(
            &admin,
            &srv,
            app::library::ListTracksPage::PATH,
            &[("sort", "title"), ("desc", "false"), ("offset", offset)],
        )
        .await;
        let (status, _) = body_without_sql(r, offset).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{offset}");
    }
    for role in ["x' OR '1'='1", "admin'--", "ADMIN", "superuser"] {
        let r = call(
            &admin,
            &srv,
            app::admin::AdminSetRole::PATH,
            &[("user_id", &target), ("role", role)],
        )
        .await;
        let (status, text) = body_without_sql(r, role).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{role}");
        assert!(text.contains("unknown role"), "{role}: {text}");
    }
    let r = call(
        &admin,
        &srv,
        app::admin::AdminSetRole::PATH,
        &[("user_id", "x' OR '1'='1"), ("role", "listener")],
    )
    .await;
    let (status, _) = body_without_sql(r, "user_id injection").await;
    assert!(status.is_client_error(), "{status}");
    assert_eq!(
        count(&srv, "SELECT COUNT(*) FROM users WHERE role = 'admin'").await,
        1
    );
    // Unknown filter names on the import desk.
    for (state, source) in [
        ("x' OR '1'='1", ""),
        ("password", ""),
        ("", "x' OR 1=1--"),
        ("", "password"),
    ] {
        let r = call(
            &admin,
            &srv,
            app::imports::ImportDesk::PATH,
            &[("state", state), ("source", source), ("offset", "0")],
        )
        .await;
        let (status, _) = body_without_sql(r, state).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{state} {source}");
    }
    // `password` (or anything else) as a bulk-edit field.
    for field in ["password", "password_hash", "owner_id", "title = 'x' --"] {
        let r = call_postcard(
            &admin,
            &srv,
            app::catalog::bulk::BulkEdit::PATH,
            &app::catalog::bulk::BulkEdit {
                track_ids: vec![track.clone()],
                field: field.into(),
                value: "x".into(),
            },
        )
        .await;
        let (status, _) = body_without_sql(r, field).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}");
    }
    // Searches and user lookups take any text literally.
    for q in [
        "' OR 1=1 --",
        "x' UNION SELECT password_hash FROM users --",
        "%",
        "_",
    ] {
        let r = call(&admin, &srv, app::search::Search::PATH, &[("q", q)]).await;
        let (status, text) = body_without_sql(r, q).await;
        assert!(
            status.is_success() || status == StatusCode::BAD_REQUEST,
            "{q}: {status}"
        );
        assert!(!text.contains("$argon2"), "{q}");
        let r = call(
            &admin,
            &srv,
            app::admin::AdminListUsers::PATH,
            &[("query", q)],
        )
        .await;
        let (status, text) = body_without_sql(r, q).await;
        assert!(status.is_success(), "{q}: {status}");
        assert!(
            !text.contains("root@example.com"),
            "{q}: matched literally, not everyone"
        );
    }
    // The JSON API and the Subsonic door: `password=` and injected types.
    let made: app::appkeys::NewAppKey = call(
        &admin,
        &srv,
        app::appkeys::CreateAppKey::PATH,
        &[("name", "Probe"), ("kind", "api_key"), ("password", PW)],
    )
    .await
    .wire()
    .await
    .unwrap();
    let key = made.secret;
    for (method, query) in [
        ("getAlbumList2", vec![("type", "title;--")]),
        ("getAlbumList2", vec![("type", "password")]),
        ("getAlbumList2", vec![("type", "newest"), ("password", "x")]),
        ("search3", vec![("query", "' OR '1'='1"), ("password", "x")]),
        ("getSongsByGenre", vec![("genre", "x' OR '1'='1")]),
        ("getUser", vec![("username", "x' OR '1'='1")]),
    ] {
        let r = reqwest::Client::new()
            .get(format!("{}/rest/{method}", srv.base))
            .query(&[
                ("apiKey", key.as_str()),
                ("v", "1.16.1"),
                ("c", "t"),
                ("f", "json"),
            ])
            .query(&query)
            .send()
            .await
            .unwrap();
        let (_, text) = body_without_sql(r, method).await;
        assert!(!text.contains("$argon2"), "{method}");
        if query[0].1 == "title;--" || query[0].1 == "password" {
            assert!(text.contains("\"failed\""), "{method} {query:?}: {text}");
        }
    }
    let r = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/tracks?sort=title;--&password=x&owner_id=y",
            srv.base
        ))
        .send()
        .await
        .unwrap();
    let (status, _) = body_without_sql(r, "/api/v1/tracks").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// sqlmap (when installed: `pip install sqlmap`) against the server functions that take
/// text reaching SQL, signed in as the admin, on SQLite: it must find no injection point.
/// Boolean, error and UNION techniques (time-based ones would make this minutes long).
#[tokio::test]
async fn sqlmap_finds_no_injection_point() {
    if std::process::Command::new("sqlmap")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: sqlmap is not installed (pip install sqlmap)");
        return;
    }
    let srv = start(Backend::Sqlite, 1 << 24).await;
    let c = client();
    let (_, _, _) = with_track(&srv, &c, "root@example.com").await;
    let r = login(&c, &srv, "root@example.com", PW).await;
    let cookie = pair(&session_cookie(&r).unwrap());
    let out = tempfile::tempdir().unwrap();
    for (path, data) in [
        (
            app::library::ListTracksPage::PATH,
            "sort=title&desc=false&offset=0",
        ),
        (app::search::Search::PATH, "q=tone"),
        (app::admin::AdminListUsers::PATH, "query=root"),
        (
            app::imports::ImportDesk::PATH,
            "state=done&source=upload&offset=0",
        ),
    ] {
        let url = format!("{}{path}", srv.base);
        // The form's fields only (a changed session cookie is simply signed out).
        let params: Vec<&str> = data
            .split('&')
            .filter_map(|kv| kv.split('=').next())
            .collect();
        let run = tokio::process::Command::new("sqlmap")
            .args(["-u", &url, "--data", data, "--cookie", &cookie])
            .args(["-p", &params.join(",")])
            .args([
                "--batch",
                "--level",
                "2",
                "--risk",
                "1",
                "--technique",
                "BEU",
            ])
            .args(["--flush-session", "--disable-coloring", "--output-dir"])
            .arg(out.path())
            .output()
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&run.stdout).to_string();
        assert!(
            !text.contains("identified the following injection point")
                && !text.contains("is vulnerable"),
            "{path}: {text}"
        );
        assert!(
            text.contains("do not appear to be injectable") || text.contains("not injectable"),
            "{path}: sqlmap did not finish its tests: {text}"
        );
        // Still signed in: sqlmap's probes changed nothing of the session.
        assert_eq!(
            with_cookie(&srv, &cookie, app::library::ListTracks::PATH, &[])
                .await
                .status(),
            StatusCode::OK
        );
    }
    assert_eq!(count(&srv, "SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(count(&srv, "SELECT COUNT(*) FROM tracks").await, 1);
}

// ---------------------------------------------------------------------------------------
// Row 27: expensive functions.

/// Lists sent by the client are capped: a playlist add past MAX_TRACKS, a bulk edit past
/// MAX_BULK, a queue past MAX_QUEUE, a download key past its length: 400 and nothing
/// changed. A thousand cover sizes make a few thumbnails, clamped at both ends.
async fn client_lists_and_sizes_are_capped(b: Backend) {
    let srv = start(b, 1 << 24).await;
    let c = client();
    signup(&c, &srv, "caps@example.com").await;
    upload(
        &c,
        &srv,
        "covered.mp3",
        backend::testing::sine_mp3_with_cover(2, "blue"),
    )
    .await;
    let track = list_tracks(&c, &srv).await[0].id.clone();
    let pl: app::playlists::widgets::PlaylistItem = call(
        &c,
        &srv,
        app::playlists::widgets::CreatePlaylist::PATH,
        &[("name", "Big"), ("description", ""), ("public", "false")],
    )
    .await
    .wire()
    .await
    .unwrap();

    let max_tracks = usize::try_from(backend::playlists::MAX_TRACKS).unwrap();
    let r = call_postcard(
        &c,
        &srv,
        app::playlists::widgets::AddToPlaylist::PATH,
        &app::playlists::widgets::AddToPlaylist {
            id: pl.id.clone(),
            track_ids: vec![track.clone(); max_tracks + 1],
        },
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    match r.app_error().await {
        AppError::Invalid(m) => assert!(m.contains(&max_tracks.to_string()), "{m}"),
        e => panic!("{e:?}"),
    }
    assert_eq!(count(&srv, "SELECT COUNT(*) FROM playlist_tracks").await, 0);

    let r = call_postcard(
        &c,
        &srv,
        app::catalog::bulk::BulkEdit::PATH,
        &app::catalog::bulk::BulkEdit {
            track_ids: vec![track.clone(); backend::catalog::MAX_BULK + 1],
            field: "genre".into(),
            value: "Capped".into(),
        },
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    match r.app_error().await {
        AppError::Invalid(m) => {
            assert!(m.contains(&backend::catalog::MAX_BULK.to_string()), "{m}")
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(
        count(&srv, "SELECT COUNT(*) FROM tracks WHERE genre = 'Capped'").await,
        0
    );

    let r = call_postcard(
        &c,
        &srv,
        app::player::api::SaveQueue::PATH,
        &app::player::api::SaveQueue {
            track_ids: vec![track.clone(); backend::queue::MAX_QUEUE + 1],
            index: 0,
            position_ms: 0,
        },
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(count(&srv, "SELECT COUNT(*) FROM play_queues").await, 0);

    // A download names its collection by a short key, never by a client's list of ids.
    let long_key = format!("playlist:{}", "a".repeat(100_000));
    let r = call(
        &c,
        &srv,
        app::offline::DownloadManifest::PATH,
        &[("key", &long_key)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // A thousand sizes: a handful of thumbnails, none under the smallest or over the largest.
    let url = format!("{}/covers/{track}", srv.base);
    let mut widths = std::collections::BTreeSet::new();
    for s in (0..1000)
        .step_by(7)
        .map(|s| s.to_string())
        .chain(["-5", "100000", "4294967296", "99999999999999999999"].map(String::from))
    {
        let r = c.get(format!("{url}?s={s}")).send().await.unwrap();
        assert!(
            r.status().is_success() || r.status() == StatusCode::BAD_REQUEST,
            "s={s}: {}",
            r.status()
        );
        if r.status().is_success() {
            let img = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
            widths.insert(img.width());
        }
    }
    assert!(widths.len() <= 8, "{widths:?}");
    assert!(*widths.first().unwrap() >= 32, "{widths:?}");
    assert!(*widths.last().unwrap() <= 2000, "{widths:?}");
}

/// The global transcode cap: with one transcode running on the node, everyone else's
/// (twenty at once from one user included) get 429 with Retry-After, and none a 5xx.
async fn the_global_transcode_cap_gives_429(b: Backend) {
    let srv = start_with(b, |c| {
        c.storage.max_upload_bytes = 1 << 24;
        c.limits.transcodes_max = 1;
        c.limits.transcodes_per_user = 1;
    })
    .await;
    let admin = client();
    signup(&admin, &srv, "admin@example.com").await;
    upload(
        &admin,
        &srv,
        "tone.flac",
        backend::testing::sine(30, &[("title", "Lossless"), ("artist", "Tone")], "flac"),
    )
    .await;
    let key_of = async |email: &str| {
        let c = client();
        signup(&c, &srv, email).await;
        api_key(&c, &srv).await
    };
    let (one, two) = (
        key_of("one@example.com").await,
        key_of("two@example.com").await,
    );
    let r: serde_json::Value = reqwest::get(format!(
        "{}/rest/search3?apiKey={one}&v=1.16.1&c=t&f=json&query=",
        srv.base
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let id = r["subsonic-response"]["searchResult3"]["song"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let stream = |key: String, kbps: u32| {
        let url = format!(
            "{}/rest/stream?apiKey={key}&id={id}&format=opus&maxBitRate={kbps}&v=1.16.1&c=t",
            srv.base
        );
        async move { reqwest::get(url).await.unwrap() }
    };
    let first = stream(one.clone(), 48).await;
    assert_eq!(first.status(), StatusCode::OK);
    // Another user: refused by the node's cap (they run none of their own).
    let other = stream(two.clone(), 40).await;
    assert_eq!(other.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(other.headers().contains_key("retry-after"));
    // Twenty at once from one user.
    let many = futures::future::join_all((0..20).map(|i| stream(two.clone(), 32 + i))).await;
    for r in &many {
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(r.headers().contains_key("retry-after"));
    }
    drop(many);
    // The original needs no transcode: not capped.
    let raw = reqwest::get(format!(
        "{}/rest/stream?apiKey={two}&id={id}&format=raw&v=1.16.1&c=t",
        srv.base
    ))
    .await
    .unwrap();
    assert_eq!(raw.status(), StatusCode::OK);
    drop(first);
}

// ---------------------------------------------------------------------------------------
// Row 22: upload validation.

const PAGE: &str =
    "<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>";

/// The `content-type` of an answer, which must never make a browser render a page.
fn served_as_media(r: &reqwest::Response, what: &str) {
    let h = r.headers();
    let ty = h
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(
        ty.starts_with("audio/") || ty == "application/octet-stream",
        "{what} served as {ty:?}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
}

/// A page and a program renamed `.mp3`, and a page with audio after it, are refused by
/// their first bytes (the name decides nothing); a real MP3 whose tags hold a page (a
/// polyglot), uploaded as `page.html`, imports as audio under a generated key and is only
/// ever served as media, never inline as a page: the web stream, `/rest/stream` and
/// `/rest/download` (an attachment).
async fn uploads_are_typed_by_their_bytes_and_never_served_as_a_page(b: Backend) {
    let srv = start(b, 8 << 20).await;
    let c = client();
    signup(&c, &srv, "poly@example.com").await;
    let audio = backend::testing::sine_mp3(2, &[("title", "Plain")]);
    let mut page_then_audio = PAGE.as_bytes().to_vec();
    page_then_audio.extend_from_slice(&audio);
    let mut program = b"\0asm\x01\0\0\0".to_vec();
    program.resize(4096, 0x0b);
    for (name, body) in [
        ("page.mp3", PAGE.as_bytes().to_vec()),
        ("program.mp3", program),
        ("page-then-audio.mp3", page_then_audio),
    ] {
        upload(&c, &srv, name, body).await;
    }
    let failed: Vec<(String, String)> = sqlx::query_as(
        "SELECT filename, COALESCE(error, '') FROM import_jobs WHERE state = 'failed' ORDER BY filename",
    )
    .fetch_all(&srv.core.db)
    .await
    .unwrap();
    assert_eq!(failed.len(), 3, "{failed:?}");
    for (name, why) in &failed {
        assert!(why.contains("not audio"), "{name}: {why}");
    }
    assert_eq!(count(&srv, "SELECT COUNT(*) FROM tracks").await, 0);

    let polyglot = backend::testing::sine_mp3(2, &[("title", "Polyglot"), ("comment", PAGE)]);
    assert!(
        polyglot.windows(8).any(|w| w == b"<script>"),
        "the polyglot's tag holds the page"
    );
    upload(&c, &srv, "page.html", polyglot).await;
    let tracks = list_tracks(&c, &srv).await;
    assert_eq!(tracks.len(), 1);
    let id = tracks[0].id.clone();
    let key: String = sqlx::query_scalar("SELECT original_key FROM tracks WHERE id = $1")
        .bind(&id)
        .fetch_one(&srv.core.db)
        .await
        .unwrap();
    assert!(
        !key.contains("page") && !key.contains(".html"),
        "stored under the client's name: {key}"
    );

    let info = stream_info(&c, &srv, &id).await;
    let r = c
        .get(format!("{}{}", srv.base, info.url))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    served_as_media(&r, "the web stream");

    let key = api_key(&c, &srv).await;
    for method in ["stream", "download"] {
        let r = reqwest::get(format!(
            "{}/rest/{method}?apiKey={key}&id={id}&format=raw&v=1.16.1&c=t",
            srv.base
        ))
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{method}");
        served_as_media(&r, method);
        if method == "download" {
            let cd = r.headers()["content-disposition"].to_str().unwrap();
            assert!(cd.starts_with("attachment;"), "{cd}");
        }
        let body = r.bytes().await.unwrap();
        assert!(
            body.windows(8).any(|w| w == b"<script>"),
            "{method}: the original"
        );
    }
}

/// Ten thousand tiny files sent as fast as the client can: the upload rate (its default,
/// 300 a minute per client) refuses all but a window's worth (two, if the run crosses a
/// minute) with 429 and `Retry-After`, and only the files it took became imports.
async fn ten_thousand_tiny_uploads_meet_the_upload_rate(b: Backend) {
    use futures::StreamExt;
    let limit = backend::config::RateLimits::default().uploads;
    let srv = start_with(b, |c| c.rate_limits.uploads = limit).await;
    let c = client();
    signup(&c, &srv, "many@example.com").await;
    let answers: Vec<(StatusCode, bool)> = futures::stream::iter(0..10_000)
        .map(|i| {
            let c = c.clone();
            let url = format!("{}/api/uploads?filename=tiny-{i}.mp3", srv.base);
            async move {
                let r = c
                    .post(url)
                    .body(vec![0xffu8, 0xfb, 0x90, 0x44])
                    .send()
                    .await
                    .unwrap();
                (r.status(), r.headers().contains_key("retry-after"))
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let taken = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    let limited = answers
        .iter()
        .filter(|(s, retry)| *s == StatusCode::TOO_MANY_REQUESTS && *retry)
        .count();
    let others: Vec<_> = answers
        .iter()
        .filter(|(s, retry)| {
            *s != StatusCode::CREATED && !(*s == StatusCode::TOO_MANY_REQUESTS && *retry)
        })
        .take(5)
        .collect();
    assert_eq!(taken + limited, 10_000, "other answers, such as {others:?}");
    assert!(
        taken >= 1 && taken <= 2 * limit as usize,
        "{taken} uploads taken"
    );
    assert_eq!(
        count(&srv, "SELECT COUNT(*) FROM import_jobs").await,
        taken as i64
    );
}

// ---------------------------------------------------------------------------------------
// Row 25: ffmpeg invocation, from the client's side.

/// What a Subsonic app sends for a transcode (`format`, `maxBitRate`, `timeOffset`) never
/// becomes an ffmpeg option: option-shaped and protocol-shaped formats and numbers that
/// are not numbers are refused with a Subsonic error that echoes at most 20 characters,
/// and no transcode is made for them; numbers out of range are clamped; the offered
/// codecs still transcode.
async fn client_transcode_parameters_reach_ffmpeg_only_as_allowlisted_values(b: Backend) {
    let srv = start(b, 8 << 20).await;
    let c = client();
    signup(&c, &srv, "codec@example.com").await;
    upload(
        &c,
        &srv,
        "-i ;rm -rf 'x' \"y\".mp3",
        backend::testing::sine_mp3(3, &[("title", "-f hls; echo pwned")]),
    )
    .await;
    let id = list_tracks(&c, &srv).await[0].id.clone();
    let key = api_key(&c, &srv).await;
    let stream = |extra: Vec<(&'static str, String)>| {
        let (base, key, id) = (srv.base.clone(), key.clone(), id.clone());
        async move {
            let mut q: Vec<(&str, String)> = vec![
                ("apiKey", key),
                ("id", id),
                ("v", "1.16.1".into()),
                ("c", "t".into()),
                ("f", "json".into()),
            ];
            q.extend(extra);
            reqwest::Client::new()
                .get(format!("{base}/rest/stream"))
                .query(&q)
                .send()
                .await
                .unwrap()
        }
    };
    let hostile_formats = [
        "-i /etc/passwd",
        "mp3 -f hls",
        "concat:/etc/passwd|/etc/hosts",
        "hls+http://127.0.0.1:9/x.m3u8",
        "file:/etc/passwd",
        "mp3;rm -rf /",
        "../../mp3",
        "MP3 ",
        "libmp3lame",
        "-c:a copy -f data",
    ];
    let mut cases: Vec<Vec<(&'static str, String)>> = hostile_formats
        .iter()
        .map(|f| vec![("format", f.to_string())])
        .collect();
    for (name, value) in [
        ("maxBitRate", "128k -f hls"),
        ("maxBitRate", "0x80"),
        ("timeOffset", "1e9"),
        ("timeOffset", "5 -i /etc/passwd"),
    ] {
        cases.push(vec![("format", "mp3".into()), (name, value.into())]);
    }
    for case in cases {
        let r = stream(case.clone()).await;
        assert_eq!(r.status(), StatusCode::OK, "{case:?}");
        let ty = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ty.contains("json"), "{case:?} was streamed as {ty}");
        let v: serde_json::Value = r.json().await.unwrap();
        let answer = &v["subsonic-response"];
        assert_eq!(answer["status"], "failed", "{case:?}: {v}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        for (_, value) in &case {
            if value.chars().count() > 20 {
                assert!(!message.contains(value.as_str()), "{message}");
            }
        }
    }
    // None of them made a transcode.
    let kept = srv.core.storage.list("transcodes").await.unwrap();
    assert!(
        kept.is_empty(),
        "a refused request made a transcode: {kept:?}"
    );
    // Numbers out of range are clamped to the offered range (no rate below or above
    // what the codec is offered at, no negative offset); an offered codec transcodes.
    for case in [
        vec![("format", "opus".to_string()), ("maxBitRate", "64".into())],
        vec![("format", "mp3".into()), ("maxBitRate", "-128".into())],
        vec![
            ("format", "mp3".into()),
            ("maxBitRate", "99999999999".into()),
        ],
        vec![("format", "mp3".into()), ("timeOffset", "-5".into())],
    ] {
        let r = stream(case.clone()).await;
        assert_eq!(r.status(), StatusCode::OK, "{case:?}");
        let ty = r.headers()["content-type"].to_str().unwrap().to_string();
        let body = r.bytes().await.unwrap();
        if case[0].1 == "opus" {
            assert_eq!(ty, "audio/ogg");
            assert!(body.starts_with(b"OggS"), "an Ogg stream");
        } else {
            assert_eq!(ty, "audio/mpeg", "{case:?}");
            let mpeg = body.starts_with(b"ID3") || (body[0] == 0xff && body[1] & 0xe0 == 0xe0);
            assert!(mpeg, "{case:?}: not an MP3 stream");
        }
    }
}

backend::on_both_databases!(
    password_length_is_counted_in_code_points_and_oversize_never_reaches_argon2,
    a_password_only_session_reaches_no_other_function,
    ended_sessions_stay_ended_when_their_cookie_is_replayed,
    every_sign_in_cookie_and_every_page_is_locked_down,
    another_user_cannot_read_change_or_delete_what_is_mine,
    extra_owner_role_and_admin_fields_are_ignored,
    a_listener_is_refused_every_admin_function,
    injected_identifiers_meet_allowlists_and_leak_no_sql,
    client_lists_and_sizes_are_capped,
    the_global_transcode_cap_gives_429,
    uploads_are_typed_by_their_bytes_and_never_served_as_a_page,
    ten_thousand_tiny_uploads_meet_the_upload_rate,
    client_transcode_parameters_reach_ffmpeg_only_as_allowlisted_values,
);
