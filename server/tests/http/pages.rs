//! Pages and assets: static files, redirects, email links, server rendering, plain form posts.

use crate::common::*;
use app::error::AppError;
use backend::testing::Backend;
use reqwest::StatusCode;
use server_fn::ServerFn;

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
    let srv = start_with(b, move |c| c.server.site_root = root).await;
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
        c.auth.email_verification = backend::config::EmailVerification::Optional;
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
    email_links_act_only_when_the_button_is_pressed,
    a_plain_form_post_with_an_error_is_redirected_back_with_it,
    library_page_redirects_to_login_without_a_session,
    the_library_page_is_rendered_from_one_fetch_of_its_data,
    static_assets_are_served_plainly_and_unknown_paths_get_404,
);
