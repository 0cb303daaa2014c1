//! Throttled sign-ins, cross-site posts, security headers and cookies, hostile tags.

use crate::common::*;
use app::error::AppError;
use backend::testing::Backend;
use reqwest::StatusCode;
use server_fn::ServerFn;

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
        c.server.trusted_proxies = vec![std::net::IpAddr::from([127, 0, 0, 1])].into()
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
    let delete = format!("{}{}", srv.base, app::tracks::DeleteTrack::PATH);
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
    let tracks: Vec<app::model::TrackItem> = call(&c, &srv, app::library::ListTracks::PATH, &[])
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
    let srv = start_with(b, |c| c.server.secure_cookies = true).await;
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

backend::on_both_databases!(
    hostile_tags_are_text_on_every_page,
    secure_cookies_are_host_bound_with_hsts,
    repeated_failures_from_one_address_get_429,
    forwarded_for_is_believed_from_a_trusted_proxy,
    cross_site_posts_are_refused_and_change_nothing,
    pages_carry_a_nonce_csp_and_security_headers,
);
