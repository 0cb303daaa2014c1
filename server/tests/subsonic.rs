//! The OpenSubsonic API (`/rest`) on the real router: app keys made in Settings, every
//! authentication mode and its refusals, both formats, form posts, and the system
//! methods, each answer checked against the spec's response schema (`common::subsonic`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::testing::Backend;
use reqwest::StatusCode;
use serde_json::Value;
use server_fn::ServerFn;

mod common;
use common::subsonic as schema;
use common::*;

/// Signs up `email` and makes a key of `kind` (`api_key` or `app_password`) in Settings;
/// returns the client and the secret.
async fn user_with_key(srv: &Srv, email: &str, kind: &str) -> (reqwest::Client, String) {
    let c = client();
    signup(&c, srv, email).await;
    let secret = make_key(srv, &c, kind).await;
    (c, secret)
}

async fn make_key(srv: &Srv, c: &reqwest::Client, kind: &str) -> String {
    let made: app::appkeys::NewAppKey = call(
        c,
        srv,
        app::appkeys::CreateAppKey::PATH,
        &[("name", "Phone"), ("kind", kind), ("password", PW)],
    )
    .await
    .wire()
    .await
    .unwrap();
    made.secret
}

/// GETs `/rest/<method>` with `params` plus `f=json`; the answer's `subsonic-response`.
/// A method that changes nothing is asked again for XML, which must carry the same tree
/// (`schema::xml_matches_json`): so every read answer the tests check field by field in
/// JSON is checked in XML too.
async fn rest(srv: &Srv, method: &str, params: &[(&str, &str)]) -> (StatusCode, Value) {
    let get = |format: Option<&'static str>| {
        let f: Vec<(&str, &str)> = format.map(|f| ("f", f)).into_iter().collect();
        reqwest::Client::new()
            .get(format!("{}/rest/{method}", srv.base))
            .query(params)
            .query(&[("v", "1.16.1"), ("c", "test")])
            .query(&f)
            .send()
    };
    let r = get(Some("json")).await.unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    schema::envelope(&v);
    let answer = v["subsonic-response"].clone();
    // Successful reads only (a refused call asked twice would count twice against the
    // throttle), and not those whose second answer can differ from the first: random
    // picks, what is playing (its minutes), a scan in progress.
    let read_only = ["get", "search", "ping", "tokenInfo"]
        .iter()
        .any(|p| method.starts_with(p));
    let varies = ["getRandomSongs", "getNowPlaying", "getScanStatus"].contains(&method)
        || params.iter().any(|(k, v)| *k == "type" && *v == "random");
    if read_only && !varies && answer["status"] == "ok" {
        let xml = get(None).await.unwrap();
        assert_eq!(xml.status(), status, "{method}: XML answered otherwise");
        schema::xml_matches_json(&xml.text().await.unwrap(), &answer);
    }
    (status, answer)
}

fn error_code(r: &Value) -> i64 {
    assert_eq!(r["status"], "failed", "{r}");
    r["error"]["code"].as_i64().unwrap()
}

async fn api_keys_work_in_both_formats_by_get_and_post(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let (_, key) = user_with_key(&srv, "keys@example.com", "api_key").await;
    assert!(key.starts_with("rfk_"));

    let (status, r) = rest(&srv, "ping", &[("apiKey", &key)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(r["status"], "ok", "{r}");

    // `.view`, XML by default.
    let xml = reqwest::get(format!(
        "{}/rest/ping.view?apiKey={key}&v=1.16.1&c=t",
        srv.base
    ))
    .await
    .unwrap();
    assert!(
        xml.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    let body = xml.text().await.unwrap();
    assert!(body.starts_with("<?xml"), "{body}");
    assert!(body.contains("status=\"ok\"") && body.contains("openSubsonic=\"true\""));

    // A form post (the formPost extension).
    let posted: Value = reqwest::Client::new()
        .post(format!("{}/rest/getLicense.view", srv.base))
        .form(&[
            ("apiKey", key.as_str()),
            ("f", "json"),
            ("v", "1.16.1"),
            ("c", "t"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    schema::envelope(&posted);
    let r = &posted["subsonic-response"];
    schema::license(&r["license"]);
    assert_eq!(r["license"]["valid"], true);

    let (_, r) = rest(&srv, "getOpenSubsonicExtensions", &[("apiKey", &key)]).await;
    schema::extensions(&r["openSubsonicExtensions"]);
    let names: Vec<&str> = r["openSubsonicExtensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"apiKeyAuthentication") && names.contains(&"formPost"));

    let (_, r) = rest(&srv, "tokenInfo", &[("apiKey", &key)]).await;
    schema::token_info(&r["tokenInfo"]);
    assert_eq!(r["tokenInfo"]["username"], "keys@example.com");

    let (_, r) = rest(
        &srv,
        "getUser",
        &[("apiKey", &key), ("username", "keys@example.com")],
    )
    .await;
    schema::user(&r["user"]);
    assert_eq!(r["user"]["streamRole"], true);
    let (_, r) = rest(
        &srv,
        "getUser",
        &[("apiKey", &key), ("username", "someone@example.com")],
    )
    .await;
    assert_eq!(error_code(&r), 50);

    let (_, r) = rest(&srv, "getMusicFolders", &[("apiKey", &key)]).await;
    schema::music_folders(&r["musicFolders"]);

    // Unknown methods and JSONP get the spec's error, never a 500.
    let (status, r) = rest(&srv, "getPodcastsOfTheMoon", &[("apiKey", &key)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&r), 0);
    let r = reqwest::get(format!(
        "{}/rest/ping?apiKey={key}&f=jsonp&callback=x",
        srv.base
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["subsonic-response"]["status"], "failed");
}

async fn every_refusal_gets_its_error_code(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let (c, key) = user_with_key(&srv, "refused@example.com", "api_key").await;
    let (_, r) = rest(&srv, "ping", &[("apiKey", &key)]).await;
    assert_eq!(r["status"], "ok");

    let (_, r) = rest(&srv, "ping", &[]).await;
    assert_eq!(error_code(&r), 10);
    // Except the one method the spec makes public.
    let (_, r) = rest(&srv, "getOpenSubsonicExtensions", &[]).await;
    assert_eq!(r["status"], "ok", "{r}");
    schema::extensions(&r["openSubsonicExtensions"]);
    let (_, r) = rest(&srv, "ping", &[("apiKey", "rfk_nonsense")]).await;
    assert_eq!(error_code(&r), 44);
    let (_, r) = rest(
        &srv,
        "ping",
        &[("apiKey", &key), ("u", "refused@example.com")],
    )
    .await;
    assert_eq!(error_code(&r), 43);
    // The account password never works here, in clear or as a token.
    let (_, r) = rest(&srv, "ping", &[("u", "refused@example.com"), ("p", PW)]).await;
    assert_eq!(error_code(&r), 40);
    let t = backend::subsonic::keys::subsonic_token(PW, "abcdef");
    let (_, r) = rest(
        &srv,
        "ping",
        &[("u", "refused@example.com"), ("t", &t), ("s", "abcdef")],
    )
    .await;
    assert_eq!(error_code(&r), 40);

    // A key needs the current password to be made.
    let r = call(
        &c,
        &srv,
        app::appkeys::CreateAppKey::PATH,
        &[
            ("name", "x"),
            ("kind", "api_key"),
            ("password", "wrong-guess-123"),
        ],
    )
    .await;
    assert!(!r.status().is_success());

    // Another user cannot revoke it; its owner can, and it stops at once.
    let other = client();
    signup(&other, &srv, "other@example.com").await;
    let keys: Vec<app::appkeys::AppKeyItem> = call(&c, &srv, app::appkeys::ListAppKeys::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].last_used_at.is_some(), "use is recorded");
    let theirs: Vec<app::appkeys::AppKeyItem> =
        call(&other, &srv, app::appkeys::ListAppKeys::PATH, &[])
            .await
            .wire()
            .await
            .unwrap();
    assert!(theirs.is_empty());
    let r = call(
        &other,
        &srv,
        app::appkeys::RevokeAppKey::PATH,
        &[("key_id", &keys[0].id)],
    )
    .await;
    assert!(!r.status().is_success());
    let (_, r) = rest(&srv, "ping", &[("apiKey", &key)]).await;
    assert_eq!(r["status"], "ok");
    let r = call(
        &c,
        &srv,
        app::appkeys::RevokeAppKey::PATH,
        &[("key_id", &keys[0].id)],
    )
    .await;
    assert!(r.status().is_success());
    let (_, r) = rest(&srv, "ping", &[("apiKey", &key)]).await;
    assert_eq!(error_code(&r), 44);
}

async fn legacy_clients_sign_with_an_app_password(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let (_, app_pw) = user_with_key(&srv, "Legacy@Example.com", "app_password").await;
    assert_eq!(app_pw.len(), 27);

    let t = backend::subsonic::keys::subsonic_token(&app_pw, "c19b2d");
    let (_, r) = rest(
        &srv,
        "ping",
        &[("u", "legacy@example.com"), ("t", &t), ("s", "c19b2d")],
    )
    .await;
    assert_eq!(r["status"], "ok", "{r}");
    // The same token with another salt is refused.
    let (_, r) = rest(
        &srv,
        "ping",
        &[("u", "legacy@example.com"), ("t", &t), ("s", "c19b2e")],
    )
    .await;
    assert_eq!(error_code(&r), 40);
    // `p=` in clear and hex-encoded.
    let (_, r) = rest(&srv, "ping", &[("u", "legacy@example.com"), ("p", &app_pw)]).await;
    assert_eq!(r["status"], "ok");
    let hex: String = app_pw.bytes().map(|b| format!("{b:02x}")).collect();
    let (_, r) = rest(
        &srv,
        "ping",
        &[("u", "legacy@example.com"), ("p", &format!("enc:{hex}"))],
    )
    .await;
    assert_eq!(r["status"], "ok");
    // tokenInfo is for API keys.
    let (_, r) = rest(
        &srv,
        "tokenInfo",
        &[("u", "legacy@example.com"), ("p", &app_pw)],
    )
    .await;
    assert_eq!(error_code(&r), 42);

    // Stored sealed, never in clear.
    let stored: String = sqlx::query_scalar("SELECT sealed_secret FROM app_keys")
        .fetch_one(&srv.core.db)
        .await
        .unwrap();
    assert!(stored.starts_with("v1.") && !stored.contains(&app_pw));

    // A disabled account stops at once.
    sqlx::query("UPDATE users SET disabled_at = 1 WHERE email = 'legacy@example.com'")
        .execute(&srv.core.db)
        .await
        .unwrap();
    let (_, r) = rest(&srv, "ping", &[("u", "legacy@example.com"), ("p", &app_pw)]).await;
    assert_eq!(error_code(&r), 40);
}

async fn repeated_failures_are_throttled(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let (_, app_pw) = user_with_key(&srv, "guess@example.com", "app_password").await;
    let mut throttled = None;
    // Counted per client address (see backend::subsonic::keys), which has more free tries
    // than an account.
    for i in 0..=2 * backend::auth::throttle::ADDRESS_FREE {
        let r = reqwest::get(format!(
            "{}/rest/ping?u=guess@example.com&p=wrong{i}&f=json",
            srv.base
        ))
        .await
        .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some(r);
            break;
        }
    }
    let r = throttled.expect("failures are slowed down");
    assert!(r.headers().contains_key("retry-after"));
    // Even the right password waits now.
    let (status, _) = rest(&srv, "ping", &[("u", "guess@example.com"), ("p", &app_pw)]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// Uploads a tone with `tags` as the client's user and imports it.
async fn upload(srv: &Srv, c: &reqwest::Client, name: &str, tags: &[(&str, &str)]) {
    let r = c
        .post(format!("{}/api/uploads?filename={name}", srv.base))
        .body(backend::testing::sine_mp3(3, tags))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    worker::dispatch::drain(&srv.core).await.unwrap();
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn apps_browse_exactly_what_the_user_may_see(b: Backend) {
    let srv = start(b, 1 << 24).await;
    // The first account is the admin: its uploads are the shared catalog.
    let admin = client();
    signup(&admin, &srv, "admin@example.com").await;
    upload(
        &srv,
        &admin,
        "shared.mp3",
        &[
            ("title", "Harbour Lights"),
            ("artist", "The Tides"),
            ("album", "Coastline"),
            ("genre", "Folk"),
            ("date", "2019"),
            ("track", "1"),
        ],
    )
    .await;
    // A listener's personal upload, seen by that listener alone.
    let private = client();
    signup(&private, &srv, "private@example.com").await;
    upload(
        &srv,
        &private,
        "mine.mp3",
        &[
            ("title", "Secret Song"),
            ("artist", "Hidden Band"),
            ("album", "Attic"),
            ("genre", "Folk"),
        ],
    )
    .await;
    let (_, key) = user_with_key(&srv, "app@example.com", "api_key").await;
    let owner_key = make_key(&srv, &private, "api_key").await;

    // The whole library as a phone app copies it: search3 with an empty query.
    let (_, r) = rest(
        &srv,
        "search3",
        &[
            ("apiKey", &key),
            ("query", ""),
            ("songCount", "500"),
            ("albumCount", "500"),
            ("artistCount", "500"),
        ],
    )
    .await;
    schema::search_result3(&r["searchResult3"]);
    let songs = &r["searchResult3"]["song"];
    assert_eq!(songs.as_array().unwrap().len(), 1, "{r}");
    let song = &songs[0];
    assert_eq!(song["title"], "Harbour Lights");
    assert_eq!(song["genre"], "Folk");
    assert_eq!(song["year"], 2019);
    assert_eq!(song["suffix"], "mp3");
    assert_eq!(song["contentType"], "audio/mpeg");
    let song_id = song["id"].as_str().unwrap().to_string();
    let album_id = song["albumId"].as_str().unwrap().to_string();
    let artist_id = song["artistId"].as_str().unwrap().to_string();
    assert_eq!(ids(&r["searchResult3"]["album"]), vec![album_id.clone()]);
    assert_eq!(ids(&r["searchResult3"]["artist"]), vec![artist_id.clone()]);
    // Paging: the second page of songs is empty.
    let (_, r) = rest(
        &srv,
        "search3",
        &[("apiKey", &key), ("query", ""), ("songOffset", "1")],
    )
    .await;
    assert!(
        r["searchResult3"]["song"]
            .as_array()
            .is_none_or(|a| a.is_empty())
    );
    // A word search finds it by the web player's rules (prefix, any field).
    let (_, r) = rest(&srv, "search3", &[("apiKey", &key), ("query", "harb")]).await;
    schema::search_result3(&r["searchResult3"]);
    assert_eq!(ids(&r["searchResult3"]["song"]), vec![song_id.clone()]);
    let (_, r) = rest(&srv, "search3", &[("apiKey", &key), ("query", "secret")]).await;
    assert!(ids(&r["searchResult3"]["song"]).is_empty(), "{r}");

    // Browsing by artist, album and song.
    let (_, r) = rest(&srv, "getArtists", &[("apiKey", &key)]).await;
    schema::artists(&r["artists"]);
    let index = r["artists"]["index"].as_array().unwrap();
    assert_eq!(index.len(), 1, "{r}");
    assert_eq!(
        index[0]["name"], "T",
        "indexed by first letter after the article"
    );
    let (_, r) = rest(&srv, "getArtist", &[("apiKey", &key), ("id", &artist_id)]).await;
    schema::artist_with_albums(&r["artist"]);
    assert_eq!(ids(&r["artist"]["album"]), vec![album_id.clone()]);
    let (_, r) = rest(&srv, "getAlbum", &[("apiKey", &key), ("id", &album_id)]).await;
    schema::album_with_songs(&r["album"]);
    assert_eq!(r["album"]["songCount"], 1);
    assert_eq!(r["album"]["duration"], 3);
    let (_, r) = rest(&srv, "getSong", &[("apiKey", &key), ("id", &song_id)]).await;
    schema::child(&r["song"]);
    let (_, r) = rest(&srv, "getGenres", &[("apiKey", &key)]).await;
    schema::genres(&r["genres"]);
    assert_eq!(
        r["genres"]["genre"][0]["songCount"], 1,
        "the private Folk song is not counted"
    );

    // Every list type answers, with the shared album only.
    for kind in [
        "random",
        "newest",
        "alphabeticalByName",
        "alphabeticalByArtist",
    ] {
        let (_, r) = rest(&srv, "getAlbumList2", &[("apiKey", &key), ("type", kind)]).await;
        schema::album_list2(&r["albumList2"]);
        assert_eq!(
            ids(&r["albumList2"]["album"]),
            vec![album_id.clone()],
            "{kind}"
        );
    }
    let (_, r) = rest(
        &srv,
        "getAlbumList2",
        &[
            ("apiKey", &key),
            ("type", "byYear"),
            ("fromYear", "2020"),
            ("toYear", "2010"),
        ],
    )
    .await;
    assert_eq!(ids(&r["albumList2"]["album"]), vec![album_id.clone()]);
    let (_, r) = rest(
        &srv,
        "getAlbumList2",
        &[
            ("apiKey", &key),
            ("type", "byYear"),
            ("fromYear", "2000"),
            ("toYear", "2010"),
        ],
    )
    .await;
    assert!(ids(&r["albumList2"]["album"]).is_empty());
    let (_, r) = rest(
        &srv,
        "getAlbumList2",
        &[("apiKey", &key), ("type", "byGenre"), ("genre", "Folk")],
    )
    .await;
    assert_eq!(ids(&r["albumList2"]["album"]), vec![album_id.clone()]);
    let (_, r) = rest(
        &srv,
        "getAlbumList2",
        &[("apiKey", &key), ("type", "byYear")],
    )
    .await;
    assert_eq!(error_code(&r), 10);
    let (_, r) = rest(
        &srv,
        "getAlbumList2",
        &[("apiKey", &key), ("type", "loudest")],
    )
    .await;
    assert_eq!(error_code(&r), 0);
    for kind in ["starred", "highest", "frequent", "recent"] {
        let (_, r) = rest(&srv, "getAlbumList2", &[("apiKey", &key), ("type", kind)]).await;
        assert!(
            ids(&r["albumList2"]["album"]).is_empty(),
            "{kind} before anything"
        );
    }

    // Star, rate and scrobble; the lists follow.
    let (_, r) = rest(
        &srv,
        "star",
        &[
            ("apiKey", &key),
            ("id", &song_id),
            ("albumId", &album_id),
            ("artistId", &artist_id),
        ],
    )
    .await;
    assert_eq!(r["status"], "ok", "{r}");
    let (_, r) = rest(
        &srv,
        "setRating",
        &[("apiKey", &key), ("id", &album_id), ("rating", "5")],
    )
    .await;
    assert_eq!(r["status"], "ok", "{r}");
    let (_, r) = rest(
        &srv,
        "scrobble",
        &[
            ("apiKey", &key),
            ("id", &song_id),
            ("time", "1700000000000"),
        ],
    )
    .await;
    assert_eq!(r["status"], "ok", "{r}");
    // The same scrobble again (an app retrying) is the same play.
    rest(
        &srv,
        "scrobble",
        &[
            ("apiKey", &key),
            ("id", &song_id),
            ("time", "1700000000000"),
        ],
    )
    .await;
    worker::dispatch::drain(&srv.core).await.unwrap();
    for kind in ["starred", "highest", "frequent", "recent"] {
        let (_, r) = rest(&srv, "getAlbumList2", &[("apiKey", &key), ("type", kind)]).await;
        assert_eq!(
            ids(&r["albumList2"]["album"]),
            vec![album_id.clone()],
            "{kind}"
        );
    }
    let (_, r) = rest(&srv, "getStarred2", &[("apiKey", &key)]).await;
    schema::search_result3(&r["starred2"]);
    assert_eq!(ids(&r["starred2"]["song"]), vec![song_id.clone()]);
    assert_eq!(ids(&r["starred2"]["artist"]), vec![artist_id.clone()]);
    schema::date_time(&r["starred2"]["song"][0]["starred"]);
    let (_, r) = rest(&srv, "getSong", &[("apiKey", &key), ("id", &song_id)]).await;
    assert_eq!(r["song"]["playCount"], 1, "one play for two scrobbles: {r}");
    assert_eq!(r["song"]["played"], "2023-11-14T22:13:20.000Z");
    let (_, r) = rest(&srv, "unstar", &[("apiKey", &key), ("id", &song_id)]).await;
    assert_eq!(r["status"], "ok");
    let (_, r) = rest(&srv, "getStarred2", &[("apiKey", &key)]).await;
    assert!(ids(&r["starred2"]["song"]).is_empty());

    // Media: the original with ranges, as a download with a safe name, and covers.
    let r = reqwest::Client::new()
        .get(format!(
            "{}/rest/stream?apiKey={key}&id={song_id}",
            srv.base
        ))
        .header("range", "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()["content-type"], "audio/mpeg");
    let first = r.bytes().await.unwrap();
    assert_eq!(first.len(), 10);
    assert!(
        first.starts_with(b"ID3") || first[0] == 0xFF,
        "an MP3's first bytes"
    );
    let r = reqwest::get(format!(
        "{}/rest/download.view?apiKey={key}&id={song_id}",
        srv.base
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("filename*=UTF-8''shared.mp3")
    );

    // The private upload is nowhere for this app: not by id, not starred, not streamed.
    let (_, mine) = rest(
        &srv,
        "search3",
        &[("apiKey", &owner_key), ("query", "secret")],
    )
    .await;
    let private_id = ids(&mine["searchResult3"]["song"])
        .pop()
        .expect("its owner finds it");
    let private_album = mine["searchResult3"]["song"][0]["albumId"]
        .as_str()
        .unwrap()
        .to_string();
    for (method, params) in [
        ("getSong", vec![("id", private_id.as_str())]),
        ("getAlbum", vec![("id", private_album.as_str())]),
        ("star", vec![("id", private_id.as_str())]),
        (
            "setRating",
            vec![("id", private_id.as_str()), ("rating", "3")],
        ),
        ("scrobble", vec![("id", private_id.as_str())]),
        ("getCoverArt", vec![("id", private_id.as_str())]),
        ("stream", vec![("id", private_id.as_str())]),
        ("download", vec![("id", private_id.as_str())]),
    ] {
        let mut p = vec![("apiKey", key.as_str())];
        p.extend(params);
        let (_, r) = rest(&srv, method, &p).await;
        assert_eq!(error_code(&r), 70, "{method}: {r}");
    }
    let (_, r) = rest(&srv, "getRandomSongs", &[("apiKey", &key), ("size", "50")]).await;
    schema::songs(&r["randomSongs"]);
    assert_eq!(ids(&r["randomSongs"]["song"]), vec![song_id.clone()]);
    let (_, r) = rest(
        &srv,
        "getSongsByGenre",
        &[("apiKey", &key), ("genre", "Folk")],
    )
    .await;
    schema::songs(&r["songsByGenre"]);
    assert_eq!(ids(&r["songsByGenre"]["song"]), vec![song_id.clone()]);
    let (_, r) = rest(
        &srv,
        "getTopSongs",
        &[("apiKey", &key), ("artist", "Hidden Band")],
    )
    .await;
    assert!(ids(&r["topSongs"]["song"]).is_empty());
    let (_, r) = rest(
        &srv,
        "getTopSongs",
        &[("apiKey", &key), ("artist", "the tides")],
    )
    .await;
    assert_eq!(ids(&r["topSongs"]["song"]), vec![song_id.clone()]);
}

async fn playlists_and_the_queue_are_the_web_players(b: Backend) {
    let srv = start(b, 1 << 24).await;
    let admin = client();
    signup(&admin, &srv, "admin@example.com").await;
    for (file, title, n) in [
        ("a.mp3", "Alpha", "1"),
        ("b.mp3", "Beta", "2"),
        ("c.mp3", "Gamma", "3"),
    ] {
        upload(
            &srv,
            &admin,
            file,
            &[
                ("title", title),
                ("artist", "Trio"),
                ("album", "Three"),
                ("track", n),
            ],
        )
        .await;
    }
    let (web, key) = user_with_key(&srv, "lists@example.com", "api_key").await;
    let (_, r) = rest(&srv, "search3", &[("apiKey", &key), ("query", "")]).await;
    let mut songs: Vec<(String, String)> = r["searchResult3"]["song"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["title"].as_str().unwrap().to_string(),
                s["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    songs.sort();
    let [(_, alpha), (_, beta), (_, gamma)] = <[(String, String); 3]>::try_from(songs).unwrap();

    // Make one with two songs, then change it: rename, add, remove by index.
    let (_, r) = rest(
        &srv,
        "createPlaylist",
        &[
            ("apiKey", &key),
            ("name", "Road trip"),
            ("songId", &alpha),
            ("songId", &beta),
        ],
    )
    .await;
    schema::playlist_with_songs(&r["playlist"]);
    assert_eq!(r["playlist"]["songCount"], 2);
    assert_eq!(r["playlist"]["readonly"], false);
    let pid = r["playlist"]["id"].as_str().unwrap().to_string();
    let (_, r) = rest(
        &srv,
        "updatePlaylist",
        &[
            ("apiKey", &key),
            ("playlistId", &pid),
            ("name", "Road trip 2"),
            ("songIdToAdd", &gamma),
            ("songIndexToRemove", "0"),
        ],
    )
    .await;
    assert_eq!(r["status"], "ok", "{r}");
    let (_, r) = rest(&srv, "getPlaylist", &[("apiKey", &key), ("id", &pid)]).await;
    schema::playlist_with_songs(&r["playlist"]);
    assert_eq!(r["playlist"]["name"], "Road trip 2");
    assert_eq!(
        ids(&r["playlist"]["entry"]),
        vec![beta.clone(), gamma.clone()]
    );
    // A bad index changes nothing.
    let (_, r) = rest(
        &srv,
        "updatePlaylist",
        &[
            ("apiKey", &key),
            ("playlistId", &pid),
            ("songIndexToRemove", "7"),
            ("name", "Never"),
        ],
    )
    .await;
    assert_eq!(error_code(&r), 0);
    let (_, r) = rest(&srv, "getPlaylists", &[("apiKey", &key)]).await;
    schema::playlists(&r["playlists"]);
    assert_eq!(r["playlists"]["playlist"][0]["name"], "Road trip 2");
    // The web player sees the same playlist.
    let web_lists: Vec<app::playlists::PlaylistItem> =
        call(&web, &srv, app::playlists::ListPlaylists::PATH, &[])
            .await
            .wire()
            .await
            .unwrap();
    assert_eq!(
        web_lists
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        vec!["Road trip 2"]
    );
    // createPlaylist with an id replaces its songs.
    let (_, r) = rest(
        &srv,
        "createPlaylist",
        &[
            ("apiKey", &key),
            ("playlistId", &pid),
            ("songId", &gamma),
            ("songId", &alpha),
        ],
    )
    .await;
    assert_eq!(
        ids(&r["playlist"]["entry"]),
        vec![gamma.clone(), alpha.clone()]
    );
    // ...in one transaction: a song that cannot be added changes nothing, neither the
    // songs nor the name.
    let (_, r) = rest(
        &srv,
        "createPlaylist",
        &[
            ("apiKey", &key),
            ("playlistId", &pid),
            ("name", "Half replaced"),
            ("songId", &alpha),
            ("songId", "no-such-song"),
        ],
    )
    .await;
    assert_eq!(error_code(&r), 70, "{r}");
    let (_, r) = rest(&srv, "getPlaylist", &[("apiKey", &key), ("id", &pid)]).await;
    assert_eq!(
        ids(&r["playlist"]["entry"]),
        vec![gamma.clone(), alpha.clone()],
        "a refused replacement changed the playlist"
    );
    assert_eq!(r["playlist"]["name"], "Road trip 2", "{r}");

    // Someone else's private playlist is not found; their public one is read-only.
    let (_, other) = user_with_key(&srv, "other@example.com", "api_key").await;
    let (_, r) = rest(&srv, "getPlaylist", &[("apiKey", &other), ("id", &pid)]).await;
    assert_eq!(error_code(&r), 70);
    rest(
        &srv,
        "updatePlaylist",
        &[("apiKey", &key), ("playlistId", &pid), ("public", "true")],
    )
    .await;
    let (_, r) = rest(&srv, "getPlaylist", &[("apiKey", &other), ("id", &pid)]).await;
    assert_eq!(r["playlist"]["readonly"], true, "{r}");
    assert_ne!(
        r["playlist"]["owner"], "lists@example.com",
        "never another user's email"
    );
    let (_, r) = rest(
        &srv,
        "updatePlaylist",
        &[
            ("apiKey", &other),
            ("playlistId", &pid),
            ("name", "Mine now"),
        ],
    )
    .await;
    assert_eq!(error_code(&r), 50);
    let (_, r) = rest(&srv, "deletePlaylist", &[("apiKey", &other), ("id", &pid)]).await;
    assert_eq!(error_code(&r), 50);

    // The queue: saved by an app, restored by the web player, and the other way round.
    let (_, r) = rest(&srv, "getPlayQueue", &[("apiKey", &key)]).await;
    assert!(r.get("playQueue").is_none(), "no queue yet: {r}");
    let (_, r) = rest(
        &srv,
        "savePlayQueue",
        &[
            ("apiKey", &key),
            ("id", &alpha),
            ("id", &beta),
            ("id", &gamma),
            ("current", &beta),
            ("position", "42000"),
        ],
    )
    .await;
    assert_eq!(r["status"], "ok", "{r}");
    let (_, r) = rest(&srv, "getPlayQueue", &[("apiKey", &key)]).await;
    schema::play_queue(&r["playQueue"], false);
    assert_eq!(r["playQueue"]["current"], beta.as_str());
    assert_eq!(r["playQueue"]["position"], 42000);
    assert_eq!(
        ids(&r["playQueue"]["entry"]),
        vec![alpha.clone(), beta.clone(), gamma.clone()]
    );
    let q: app::queue::QueueData = call(&web, &srv, app::queue::GetQueue::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    assert_eq!(q.index, 1);
    assert_eq!(
        q.tracks.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
        vec![alpha.clone(), beta.clone(), gamma.clone()]
    );
    let (_, r) = rest(
        &srv,
        "savePlayQueueByIndex",
        &[
            ("apiKey", &key),
            ("id", &gamma),
            ("id", &alpha),
            ("currentIndex", "1"),
            ("position", "5"),
        ],
    )
    .await;
    assert_eq!(r["status"], "ok", "{r}");
    let (_, r) = rest(&srv, "getPlayQueueByIndex", &[("apiKey", &key)]).await;
    schema::play_queue(&r["playQueueByIndex"], true);
    assert_eq!(r["playQueueByIndex"]["currentIndex"], 1);
    let (_, r) = rest(
        &srv,
        "savePlayQueue",
        &[("apiKey", &key), ("id", &alpha), ("current", &gamma)],
    )
    .await;
    assert_eq!(error_code(&r), 0, "current must be in the queue");

    // Now playing: the caller's own apps only.
    let (_, r) = rest(
        &srv,
        "scrobble",
        &[("apiKey", &key), ("id", &alpha), ("submission", "false")],
    )
    .await;
    assert_eq!(r["status"], "ok", "{r}");
    let (_, r) = rest(&srv, "getNowPlaying", &[("apiKey", &key)]).await;
    schema::now_playing(&r["nowPlaying"]);
    assert_eq!(ids(&r["nowPlaying"]["entry"]), vec![alpha.clone()]);
    assert_eq!(r["nowPlaying"]["entry"][0]["playerName"], "test");
    let (_, r) = rest(&srv, "getNowPlaying", &[("apiKey", &other)]).await;
    assert!(ids(&r["nowPlaying"]["entry"]).is_empty());

    let (_, r) = rest(&srv, "deletePlaylist", &[("apiKey", &key), ("id", &pid)]).await;
    assert_eq!(r["status"], "ok");
    let (_, r) = rest(&srv, "getPlaylist", &[("apiKey", &key), ("id", &pid)]).await;
    assert_eq!(error_code(&r), 70);
}

/// A real third-party client (py-opensonic from PyPI) makes a phone app's session.
async fn an_opensonic_client_syncs_stars_streams_and_keeps_the_queue(b: Backend) {
    let srv = start(b, 1 << 24).await;
    let admin = client();
    signup(&admin, &srv, "admin@example.com").await;
    for (file, title, n) in [
        ("1.mp3", "One", "1"),
        ("2.mp3", "Two", "2"),
        ("3.mp3", "Three", "3"),
    ] {
        upload(
            &srv,
            &admin,
            file,
            &[
                ("title", title),
                ("artist", "Counting"),
                ("album", "Numbers"),
                ("track", n),
            ],
        )
        .await;
    }
    let (_, key) = user_with_key(&srv, "phone@example.com", "api_key").await;
    let (host, port) = srv.base.rsplit_once(':').unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/opensonic_session.py"
    );
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .arg(host)
        .arg(port)
        .arg(&key)
        .output()
        .await
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the client's session failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(names.contains(&"apiKeyAuthentication"), "{v}");
    assert_eq!(
        v["songs"],
        serde_json::json!(["One", "Three", "Two"]),
        "the paged sync found every song once"
    );
    assert_eq!(
        (v["albums"].as_i64(), v["artists"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(v["album_name"], "Numbers");
    assert_eq!(v["album_songs"].as_array().unwrap().len(), 3);
    assert_eq!(v["starred"], serde_json::json!([v["first"].clone()]));
    assert!(v["stream_bytes"].as_i64().unwrap() > 10_000, "{v}");
    assert_eq!(v["stream_type"], "audio/mpeg");
    assert_eq!(v["decoded"], true, "ffmpeg decodes the streamed bytes: {v}");
    assert_eq!(v["codec"], "mp3");
    assert_eq!(v["queue"], v["queue_ids"]);
    assert_eq!(v["queue_current"], v["queue_ids"][2]);
    assert_eq!(v["queue_position"], 12345);
}

/// What ffprobe says of `bytes`: codec, bit rate (bit/s, 0 when not given) and duration.
fn probe(bytes: &[u8]) -> (String, i64, f64) {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), bytes).unwrap();
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,bit_rate:format=duration,bit_rate",
            "-of",
            "json",
        ])
        .arg(f.path())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let codec = v["streams"][0]["codec_name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let rate = v["streams"][0]["bit_rate"]
        .as_str()
        .or(v["format"]["bit_rate"].as_str())
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let secs = v["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0.0);
    (codec, rate, secs)
}

async fn apps_get_the_format_and_rate_they_ask_for(b: Backend) {
    let srv = start_with(b, |c| {
        c.max_upload_bytes = 1 << 24;
        c.transcodes_per_user = 1;
    })
    .await;
    let admin = client();
    signup(&admin, &srv, "admin@example.com").await;
    let r = admin
        .post(format!("{}/api/uploads?filename=tone.flac", srv.base))
        .body(backend::testing::sine(
            8,
            &[("title", "Lossless"), ("artist", "Tone")],
            "flac",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    worker::dispatch::drain(&srv.core).await.unwrap();
    let (_, key) = user_with_key(&srv, "codecs@example.com", "api_key").await;
    let (_, r) = rest(&srv, "search3", &[("apiKey", &key), ("query", "")]).await;
    let id = r["searchResult3"]["song"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(r["searchResult3"]["song"][0]["suffix"], "flac");
    // Under the original's rate, with no format named: MP3 at that rate.
    let original_kbps = r["searchResult3"]["song"][0]["bitRate"].as_i64().unwrap();
    assert!(original_kbps >= 64, "{original_kbps} kbit/s");
    let under = (original_kbps / 2).max(32) as u32;
    let under_q = format!("maxBitRate={under}");
    let get = |q: String| {
        let url = format!("{}/rest/stream?apiKey={key}&id={id}&{q}", srv.base);
        async move { reqwest::get(url).await.unwrap() }
    };

    // The original, untouched, by default and with format=raw.
    let raw = get("format=raw".into()).await;
    assert_eq!(raw.headers()["content-type"], "audio/flac");
    assert_eq!(probe(&raw.bytes().await.unwrap()).0, "flac");

    for (q, codec, mime, kbps) in [
        ("format=mp3&maxBitRate=128", "mp3", "audio/mpeg", 128),
        ("format=opus&maxBitRate=96", "opus", "audio/ogg", 96),
        ("format=aac&maxBitRate=64", "aac", "audio/aac", 64),
        // (Rates are quantised: the highest of MP3's six not above the app's.)
        (
            under_q.as_str(),
            "mp3",
            "audio/mpeg",
            backend::subsonic::transcode::Codec::Mp3.rate_for(under),
        ),
    ] {
        let r = get(q.into()).await;
        assert_eq!(r.status(), StatusCode::OK, "{q}");
        assert_eq!(r.headers()["content-type"], mime, "{q}");
        let bytes = r.bytes().await.unwrap();
        let (got, rate, secs) = probe(&bytes);
        assert_eq!(got, codec, "{q}");
        assert!((secs - 8.0).abs() < 0.5, "{q}: {secs} s");
        // The rate asked for, give or take the encoder's and container's slack (opus and
        // adts report no rate of their own: the file's size over its length then).
        let measured = if rate > 0 {
            rate
        } else {
            (bytes.len() as f64 * 8.0 / secs) as i64
        };
        let want = i64::from(kbps) * 1000;
        assert!(
            (measured - want).abs() < want / 4,
            "{q}: {measured} bit/s for {want}"
        );
    }

    // The second play of a transcode comes from storage, with ranges.
    let kept = srv
        .core
        .storage
        .list(&backend::subsonic::transcode::cache_prefix(&id))
        .await
        .unwrap();
    assert_eq!(kept.len(), 4, "{kept:?}");
    // Over the original's rate with no format: the original.
    let r = get(format!("maxBitRate={}", original_kbps * 2)).await;
    assert_eq!(r.headers()["content-type"], "audio/flac");
    let r = reqwest::Client::new()
        .get(format!(
            "{}/rest/stream?apiKey={key}&id={id}&format=mp3&maxBitRate=128",
            srv.base
        ))
        .header("range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.bytes().await.unwrap().len(), 100);

    // timeOffset starts later (and is not kept).
    let (_, _, secs) = probe(
        &get("format=mp3&maxBitRate=128&timeOffset=5".into())
            .await
            .bytes()
            .await
            .unwrap(),
    );
    assert!((secs - 3.0).abs() < 0.5, "{secs} s after 5 of 8");

    // One transcode at a time for this user: a second one meanwhile gets 429.
    let first = get("format=opus&maxBitRate=48".into()).await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = get("format=opus&maxBitRate=40".into()).await;
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(second.headers().contains_key("retry-after"));
    drop(first);

    let (_, r) = rest(
        &srv,
        "stream",
        &[("apiKey", &key), ("id", &id), ("format", "wav")],
    )
    .await;
    assert_eq!(error_code(&r), 0);
    // Deleting the track deletes its transcodes.
    let admin_tracks: Vec<app::library::TrackItem> =
        call(&admin, &srv, app::library::ListTracks::PATH, &[])
            .await
            .wire()
            .await
            .unwrap();
    let r = call(
        &admin,
        &srv,
        app::library::DeleteTrack::PATH,
        &[("track_id", &admin_tracks[0].id)],
    )
    .await;
    assert!(r.status().is_success());
    assert!(
        srv.core
            .storage
            .list(&backend::subsonic::transcode::cache_prefix(&id))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn embedded_lyrics_reach_apps_timed(b: Backend) {
    let srv = start(b, 1 << 24).await;
    let admin = client();
    signup(&admin, &srv, "admin@example.com").await;
    let lrc = "[ti:Sung]\n[00:00.50]Hello there\n[00:02.25]Second line";
    let r = admin
        .post(format!("{}/api/uploads?filename=sung.flac", srv.base))
        .body(backend::testing::sine(
            4,
            &[("title", "Sung"), ("artist", "Voice"), ("LYRICS", lrc)],
            "flac",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    upload(
        &srv,
        &admin,
        "quiet.mp3",
        &[("title", "Quiet"), ("artist", "Voice")],
    )
    .await;
    let (_, key) = user_with_key(&srv, "words@example.com", "api_key").await;
    let (_, r) = rest(&srv, "search3", &[("apiKey", &key), ("query", "")]).await;
    let id_of = |title: &str| {
        r["searchResult3"]["song"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["title"] == title)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (sung, quiet) = (id_of("Sung"), id_of("Quiet"));
    let (_, r) = rest(
        &srv,
        "getLyricsBySongId",
        &[("apiKey", &key), ("id", &sung)],
    )
    .await;
    schema::lyrics_list(&r["lyricsList"]);
    let l = &r["lyricsList"]["structuredLyrics"][0];
    assert_eq!(l["synced"], true, "{r}");
    assert_eq!(l["displayTitle"], "Sung");
    assert_eq!(
        l["line"],
        serde_json::json!([{"start": 500, "value": "Hello there"}, {"start": 2250, "value": "Second line"}])
    );
    let (_, r) = rest(
        &srv,
        "getLyricsBySongId",
        &[("apiKey", &key), ("id", &quiet)],
    )
    .await;
    schema::lyrics_list(&r["lyricsList"]);
    assert!(
        r["lyricsList"]["structuredLyrics"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let (_, r) = rest(
        &srv,
        "getLyricsBySongId",
        &[("apiKey", &key), ("id", "no-such-song")],
    )
    .await;
    assert_eq!(error_code(&r), 70);

    // The legacy getLyrics finds a song by artist and title, without case, as plain text.
    let (_, r) = rest(
        &srv,
        "getLyrics",
        &[("apiKey", &key), ("artist", "voice"), ("title", "SUNG")],
    )
    .await;
    schema::lyrics(&r["lyrics"]);
    assert_eq!(
        r["lyrics"],
        serde_json::json!({"artist": "Voice", "title": "Sung", "value": "Hello there\nSecond line"})
    );
    // A song without lyrics, a wrong artist, and another listener's personal song with
    // lyrics: an empty answer each.
    let private = client();
    signup(&private, &srv, "diarist@example.com").await;
    let r = private
        .post(format!("{}/api/uploads?filename=diary.flac", srv.base))
        .body(backend::testing::sine(
            3,
            &[
                ("title", "Diary"),
                ("artist", "Me"),
                ("LYRICS", "Private words"),
            ],
            "flac",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    worker::dispatch::drain(&srv.core).await.unwrap();
    for (artist, title) in [("", "Quiet"), ("Someone", "Sung"), ("Me", "Diary")] {
        let (_, r) = rest(
            &srv,
            "getLyrics",
            &[("apiKey", &key), ("artist", artist), ("title", title)],
        )
        .await;
        schema::lyrics(&r["lyrics"]);
        assert_eq!(r["lyrics"], serde_json::json!({"value": ""}), "{title}");
    }
    // Its owner finds it.
    let owner_key = make_key(&srv, &private, "api_key").await;
    let (_, r) = rest(
        &srv,
        "getLyrics",
        &[("apiKey", &owner_key), ("title", "diary")],
    )
    .await;
    assert_eq!(r["lyrics"]["value"], "Private words", "{r}");
}

/// The id of the first song `search3` finds for `query`.
async fn first_song(srv: &Srv, key: &str, query: &str) -> String {
    let (_, r) = rest(srv, "search3", &[("apiKey", key), ("query", query)]).await;
    r["searchResult3"]["song"][0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Bookmarks: made, moved and deleted by apps, kept within the song, personal, and only
/// on songs the user may see.
async fn bookmarks_are_personal_positions_in_songs(b: Backend) {
    let srv = start(b, 1 << 24).await;
    let admin = client();
    signup(&admin, &srv, "admin@example.com").await;
    upload(
        &srv,
        &admin,
        "tale.mp3",
        &[("title", "Long Tale"), ("artist", "Teller")],
    )
    .await;
    let private = client();
    signup(&private, &srv, "private@example.com").await;
    upload(
        &srv,
        &private,
        "diary.mp3",
        &[("title", "Diary"), ("artist", "Me")],
    )
    .await;
    let (_, key) = user_with_key(&srv, "app@example.com", "api_key").await;
    let owner_key = make_key(&srv, &private, "api_key").await;
    let tale = first_song(&srv, &key, "Long Tale").await;
    let diary = first_song(&srv, &owner_key, "Diary").await;

    let (_, r) = rest(&srv, "getBookmarks", &[("apiKey", &key)]).await;
    schema::bookmarks(&r["bookmarks"]);
    assert!(
        r["bookmarks"]["bookmark"].as_array().unwrap().is_empty(),
        "{r}"
    );

    let (_, r) = rest(
        &srv,
        "createBookmark",
        &[
            ("apiKey", &key),
            ("id", &tale),
            ("position", "1500"),
            ("comment", "Chapter two"),
        ],
    )
    .await;
    assert_eq!(r["status"], "ok", "{r}");
    let (_, r) = rest(&srv, "getBookmarks", &[("apiKey", &key)]).await;
    schema::bookmarks(&r["bookmarks"]);
    let list = r["bookmarks"]["bookmark"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{r}");
    assert_eq!(list[0]["position"], 1500);
    assert_eq!(list[0]["comment"], "Chapter two");
    assert_eq!(list[0]["username"], "app@example.com");
    assert_eq!(list[0]["entry"]["id"], tale.as_str());
    assert_eq!(list[0]["entry"]["bookmarkPosition"], 1500);

    // Moving it past the end keeps it at the end; no comment clears the old one.
    let (_, r) = rest(
        &srv,
        "createBookmark",
        &[("apiKey", &key), ("id", &tale), ("position", "99999999")],
    )
    .await;
    assert_eq!(r["status"], "ok", "{r}");
    let duration: i64 = sqlx::query_scalar("SELECT duration_ms FROM tracks WHERE id = $1")
        .bind(&tale)
        .fetch_one(&srv.core.db)
        .await
        .unwrap();
    assert!(duration > 1500, "{duration}");
    let (_, r) = rest(&srv, "getBookmarks", &[("apiKey", &key)]).await;
    let list = r["bookmarks"]["bookmark"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{r}");
    assert_eq!(list[0]["position"], duration);
    assert_eq!(list[0]["comment"], "");

    // Bad input is refused and changes nothing.
    let long = "x".repeat(backend::subsonic::bookmarks::MAX_COMMENT + 1);
    for (params, code) in [
        (vec![("id", tale.as_str()), ("position", "-5")], 0),
        (vec![("id", tale.as_str()), ("position", "soon")], 0),
        (vec![("id", tale.as_str())], 10),
        (
            vec![
                ("id", tale.as_str()),
                ("position", "10"),
                ("comment", long.as_str()),
            ],
            0,
        ),
        // Another listener's personal song is not there for this user.
        (vec![("id", diary.as_str()), ("position", "10")], 70),
    ] {
        let mut all = vec![("apiKey", key.as_str())];
        all.extend(params);
        let (_, r) = rest(&srv, "createBookmark", &all).await;
        assert_eq!(error_code(&r), code, "{all:?}: {r}");
    }
    let (_, r) = rest(&srv, "getBookmarks", &[("apiKey", &key)]).await;
    let list = r["bookmarks"]["bookmark"].as_array().unwrap();
    assert_eq!(
        (list.len(), &list[0]["position"]),
        (1, &Value::from(duration))
    );

    // Personal: the other listener sees only theirs.
    let (_, r) = rest(
        &srv,
        "createBookmark",
        &[("apiKey", &owner_key), ("id", &diary), ("position", "700")],
    )
    .await;
    assert_eq!(r["status"], "ok", "{r}");
    let (_, r) = rest(&srv, "getBookmarks", &[("apiKey", &owner_key)]).await;
    schema::bookmarks(&r["bookmarks"]);
    let theirs = r["bookmarks"]["bookmark"].as_array().unwrap();
    assert_eq!(theirs.len(), 1, "{r}");
    assert_eq!(theirs[0]["entry"]["id"], diary.as_str());
    // Deleting another's song's bookmark touches nothing of theirs; deleting twice is fine.
    for _ in 0..2 {
        let (_, r) = rest(&srv, "deleteBookmark", &[("apiKey", &key), ("id", &diary)]).await;
        assert_eq!(r["status"], "ok", "{r}");
    }
    let (_, r) = rest(&srv, "getBookmarks", &[("apiKey", &owner_key)]).await;
    assert_eq!(r["bookmarks"]["bookmark"].as_array().unwrap().len(), 1);
    let (_, r) = rest(&srv, "deleteBookmark", &[("apiKey", &key), ("id", &tale)]).await;
    assert_eq!(r["status"], "ok", "{r}");
    let (_, r) = rest(&srv, "getBookmarks", &[("apiKey", &key)]).await;
    assert!(
        r["bookmarks"]["bookmark"].as_array().unwrap().is_empty(),
        "{r}"
    );
    let (_, r) = rest(&srv, "deleteBookmark", &[("apiKey", &key)]).await;
    assert_eq!(error_code(&r), 10);
}

/// `getScanStatus` for anyone, `startScan` for admins only: it queues the scan the admin
/// page's button queues, and the status follows it.
async fn admins_start_scans_and_apps_see_them(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let admin = client();
    signup(&admin, &srv, "admin@example.com").await;
    let admin_key = make_key(&srv, &admin, "api_key").await;
    let (_, key) = user_with_key(&srv, "listener@example.com", "api_key").await;
    let (_, r) = rest(&srv, "getScanStatus", &[("apiKey", &key)]).await;
    schema::scan_status(&r["scanStatus"]);
    assert_eq!(r["scanStatus"]["scanning"], false, "{r}");
    let (_, r) = rest(&srv, "startScan", &[("apiKey", &key)]).await;
    assert_eq!(error_code(&r), 50);
    let (_, r) = rest(&srv, "getScanStatus", &[("apiKey", &key)]).await;
    assert_eq!(
        r["scanStatus"]["scanning"], false,
        "a listener's startScan queued a scan"
    );

    let (_, r) = rest(&srv, "startScan", &[("apiKey", &admin_key)]).await;
    schema::scan_status(&r["scanStatus"]);
    assert_eq!(r["scanStatus"]["scanning"], true, "{r}");
    let (_, r) = rest(&srv, "getScanStatus", &[("apiKey", &key)]).await;
    assert_eq!(r["scanStatus"]["scanning"], true, "{r}");
    let done = backend::folders::run_queued(&srv.core)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.state, "done");
    let (_, r) = rest(&srv, "getScanStatus", &[("apiKey", &key)]).await;
    assert_eq!(r["scanStatus"]["scanning"], false, "{r}");
}

/// An account with two-factor on uses apps through its keys (each made by a user who
/// passed the second factor to sign in), and a key made by the domain for it works.
async fn two_factor_accounts_use_apps_through_keys(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let user = backend::auth::signup(&srv.core, "mfa-app@example.com", PW)
        .await
        .unwrap();
    turn_on_two_factor(&srv.core, &user).await;
    use backend::subsonic::keys::{self, KeyKind};
    let api = keys::create(&srv.core, &user, "Feishin", KeyKind::ApiKey, PW)
        .await
        .unwrap();
    let pw = keys::create(&srv.core, &user, "DSub", KeyKind::AppPassword, PW)
        .await
        .unwrap();
    assert!(
        keys::create(&srv.core, &user, "x", KeyKind::ApiKey, "wrong-password-1")
            .await
            .is_err()
    );
    let (_, r) = rest(&srv, "ping", &[("apiKey", &api.secret)]).await;
    assert_eq!(r["status"], "ok", "{r}");
    let (_, r) = rest(
        &srv,
        "ping",
        &[("u", "mfa-app@example.com"), ("p", &pw.secret)],
    )
    .await;
    assert_eq!(r["status"], "ok", "{r}");
    let listed = keys::list(&srv.core, &user).await.unwrap();
    assert_eq!(listed.len(), 2);
}

/// Security round 3: a scanned file swapped for a symlink to the server key after the
/// scan is refused at the moment it is read, by `/rest/download`, `/rest/stream` (the
/// original and a transcode) and the web player's rendition alike; the key's bytes never
/// leave. A file replaced by another (new device and inode) is refused until a scan has
/// read it.
async fn a_music_folder_cannot_hand_out_the_server_key(b: Backend) {
    use backend::{folders, library, playback};
    let srv = start(b, 10 << 20).await;
    let admin = backend::auth::signup(&srv.core, "admin@example.com", PW)
        .await
        .unwrap();
    let (_c, key) = user_with_key(&srv, "bob@example.com", "api_key").await;
    let music = tempfile::tempdir().unwrap();
    for (file, title) in [
        ("a.mp3", "Swap Download"),
        ("b.mp3", "Swap Web"),
        ("c.mp3", "Swap Twin"),
    ] {
        std::fs::write(
            music.path().join(file),
            backend::testing::sine_mp3(2, &[("title", title)]),
        )
        .unwrap();
    }
    folders::add_folder(&srv.core, &admin, music.path().to_str().unwrap())
        .await
        .unwrap();
    let scan = || async {
        folders::request_scan(&srv.core, &admin).await.unwrap();
        let s = folders::run_queued(&srv.core).await.unwrap().unwrap();
        assert_eq!(s.state, "done", "{s:?}");
    };
    scan().await;
    let id_of = |title: &'static str| {
        let core = srv.core.clone();
        let admin = admin.clone();
        async move {
            library::list_tracks(&core, &admin)
                .await
                .unwrap()
                .into_iter()
                .find(|t| t.title == title)
                .unwrap()
                .id
        }
    };
    let (a, b_id, c_id) = (
        id_of("Swap Download").await,
        id_of("Swap Web").await,
        id_of("Swap Twin").await,
    );
    // The original plays before the swap.
    let get = |method: &str, params: Vec<(&'static str, String)>| {
        let url = format!("{}/rest/{method}", srv.base);
        let key = key.clone();
        async move {
            let r = reqwest::Client::new()
                .get(url)
                .query(&params)
                .query(&[
                    ("apiKey", key.as_str()),
                    ("v", "1.16.1"),
                    ("c", "test"),
                    ("f", "json"),
                ])
                .send()
                .await
                .unwrap();
            (r.status(), r.bytes().await.unwrap().to_vec())
        }
    };
    let (status, body) = get("download", vec![("id", a.clone())]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        &body[..3],
        b"ID3",
        "the original was not served before the swap"
    );

    let secret_path = srv.core.config.data_dir.join("secret.key");
    let secret = std::fs::read(&secret_path).unwrap();
    assert!(secret.len() >= 32, "the key file holds the key (base64)");
    for f in ["a.mp3", "b.mp3"] {
        std::fs::remove_file(music.path().join(f)).unwrap();
        std::os::unix::fs::symlink(&secret_path, music.path().join(f)).unwrap();
    }
    let leaks = |body: &[u8]| body.windows(secret.len()).any(|w| w == secret.as_slice());
    for (method, params) in [
        ("download", vec![("id", a.clone())]),
        ("stream", vec![("id", a.clone())]),
        ("stream", vec![("id", a.clone()), ("format", "raw".into())]),
        (
            "stream",
            vec![
                ("id", a.clone()),
                ("format", "opus".into()),
                ("maxBitRate", "64".into()),
            ],
        ),
    ] {
        let (_, body) = get(method, params.clone()).await;
        assert!(
            !leaks(&body),
            "{method} {params:?} handed out the server key"
        );
        let v: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| panic!("{method} {params:?} answered with bytes, not an error"));
        assert_eq!(v["subsonic-response"]["status"], "failed", "{v}");
    }
    // The web player: no rendition is made from the key.
    let web = playback::stream_info(&srv.core, &admin, &b_id).await;
    assert!(matches!(web, Err(backend::Error::Invalid(_))), "{web:?}");
    assert!(
        !srv.core
            .storage
            .exists(&format!("renditions/{b_id}.mp4"))
            .await
            .unwrap()
    );

    // Replaced in place by another file (a rename over it, as a hard link to a file
    // elsewhere would be): refused until a scan has read it, then served again.
    let twin = music.path().join("c.mp3");
    let fresh = music.path().join(".c.tmp");
    std::fs::write(
        &fresh,
        backend::testing::sine_mp3(2, &[("title", "Swap Twin")]),
    )
    .unwrap();
    std::fs::rename(&fresh, &twin).unwrap();
    let (_, body) = get("download", vec![("id", c_id.clone())]).await;
    let v: Value = serde_json::from_slice(&body).expect("an error, not the replaced file");
    assert_eq!(v["subsonic-response"]["status"], "failed", "{v}");
    scan().await;
    let c_id = id_of("Swap Twin").await;
    let (status, body) = get("download", vec![("id", c_id)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..3], b"ID3", "a rescanned file did not play again");
}

/// Kept transcodes are bounded: twelve distinct rates asked of one song leave at most six
/// kept (the rates are quantised), and all of them together stay under the cap, the
/// oldest dropped first, counted in `/metrics`.
async fn kept_transcodes_are_few_and_bounded(b: Backend) {
    const CAP: u64 = 400 * 1024;
    let srv = start_with(b, |c| {
        c.max_upload_bytes = 1 << 24;
        c.transcode_cache_bytes = CAP;
    })
    .await;
    let (c, key) = user_with_key(&srv, "rates@example.com", "api_key").await;
    let r = c
        .post(format!("{}/api/uploads?filename=long.mp3", srv.base))
        .body(backend::testing::sine_mp3(12, &[("title", "Twelve Rates")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    worker::dispatch::drain(&srv.core).await.unwrap();
    let (_, r) = rest(&srv, "search3", &[("apiKey", &key), ("query", "Twelve")]).await;
    let id = r["searchResult3"]["song"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let prefix = backend::subsonic::transcode::cache_prefix(&id);
    let mut last = String::new();
    for max in [8, 33, 40, 48, 50, 64, 70, 96, 100, 128, 150, 500] {
        let r = reqwest::get(format!(
            "{}/rest/stream?apiKey={key}&id={id}&format=opus&maxBitRate={max}",
            srv.base
        ))
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "maxBitRate={max}");
        assert_eq!(r.headers()["content-type"], "audio/ogg");
        assert!(!r.bytes().await.unwrap().is_empty());
        last = backend::subsonic::transcode::cache_key(
            &id,
            backend::subsonic::transcode::Codec::Opus,
            backend::subsonic::transcode::Codec::Opus.rate_for(max),
        );
    }
    let kept = srv.core.storage.list_sized(&prefix).await.unwrap();
    assert!(kept.len() <= 6, "{kept:?}");
    let total: u64 = kept.iter().map(|k| k.1).sum();
    assert!(
        total <= CAP,
        "{total} bytes kept over a cap of {CAP}: {kept:?}"
    );
    // Six opus transcodes of twelve seconds (32 to 192 kbit/s) take about 840 KiB: the
    // cap made room by dropping the oldest; the newest stays.
    assert!(kept.len() < 6, "nothing was dropped: {kept:?}");
    assert!(
        kept.iter().any(|k| k.0 == last),
        "{last} was dropped: {kept:?}"
    );
    let m = metrics(&srv).await;
    let dropped: u64 = m
        .lines()
        .find_map(|l| l.strip_prefix("refrain_transcode_cache_dropped_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(dropped > 0, "{m}");
    assert!(
        m.contains(&format!("refrain_transcode_cache_limit_bytes {CAP}")),
        "{m}"
    );
}

/// `getCoverArt`'s `size` is clamped at both ends: nothing below the smallest thumbnail
/// or above the original is made, a negative or zero size is not an error, and a size
/// past any integer is refused plainly.
async fn cover_sizes_are_clamped_at_both_ends(b: Backend) {
    let srv = start(b, 1 << 24).await;
    let (c, key) = user_with_key(&srv, "covers@example.com", "api_key").await;
    let r = c
        .post(format!("{}/api/uploads?filename=cover.mp3", srv.base))
        .body(backend::testing::sine_mp3_with_cover(2, "green"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    worker::dispatch::drain(&srv.core).await.unwrap();
    let (_, r) = rest(&srv, "search3", &[("apiKey", &key), ("query", "")]).await;
    let cover = r["searchResult3"]["song"][0]["coverArt"]
        .as_str()
        .unwrap()
        .to_string();
    let width = |size: &'static str| {
        let url = format!(
            "{}/rest/getCoverArt?apiKey={key}&v=1.16.1&c=t&id={cover}&size={size}",
            srv.base
        );
        async move {
            let r = reqwest::get(url).await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "size={size}");
            let ct = r.headers()["content-type"].to_str().unwrap().to_string();
            assert!(ct.starts_with("image/"), "size={size}: {ct}");
            image::load_from_memory(&r.bytes().await.unwrap())
                .unwrap()
                .width()
        }
    };
    let smallest = width("1").await;
    assert_eq!(smallest, 96, "the smallest thumbnail");
    for low in ["-5", "0", "15", "16"] {
        assert_eq!(width(low).await, smallest, "size={low}");
    }
    let largest = width("2000").await;
    for high in ["2001", "99999", "2147483648"] {
        assert_eq!(width(high).await, largest, "size={high}");
    }
    assert!(largest >= smallest);
    let (_, r) = rest(
        &srv,
        "getCoverArt",
        &[("apiKey", &key), ("id", &cover), ("size", "1e400")],
    )
    .await;
    assert_eq!(error_code(&r), 0, "{r}");
}

/// Matrix row 3, side-door authentication at `/rest`: an unknown user with an empty
/// password (in clear, hex-encoded, or as the token of the empty password), a known user
/// with the same, and the SQL wildcards `%` and `_` (alone or in an address) as the user
/// name with a real app password: all refused, since the user is matched exactly. `/rest`
/// refuses as the Subsonic spec has it, with HTTP 200 and error 40 ("wrong username or
/// password") in the body, not HTTP 401: the matrix's "401" is read as "refused".
async fn side_doors_refuse_empty_passwords_and_wildcard_users(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let (_, app_pw) = user_with_key(&srv, "side@example.com", "app_password").await;
    let empty_t = backend::subsonic::keys::subsonic_token("", "abcdef");
    let real_t = backend::subsonic::keys::subsonic_token(&app_pw, "abcdef");
    let mut attempts: Vec<Vec<(&str, &str)>> = Vec::new();
    for u in ["nobody@example.com", "side@example.com"] {
        attempts.push(vec![("u", u), ("p", "")]);
        attempts.push(vec![("u", u), ("p", "enc:")]);
        attempts.push(vec![("u", u), ("t", &empty_t), ("s", "abcdef")]);
    }
    for u in ["%", "_", "%@example.com", "sid_@example.com"] {
        attempts.push(vec![("u", u), ("p", &app_pw)]);
        attempts.push(vec![("u", u), ("t", &real_t), ("s", "abcdef")]);
    }
    // 14 refusals: fewer than the address's free tries, so none is throttled.
    assert!(attempts.len() < usize::try_from(backend::auth::throttle::ADDRESS_FREE).unwrap());
    for params in &attempts {
        let (status, r) = rest(&srv, "ping", params).await;
        assert_eq!(status, StatusCode::OK, "{params:?}");
        assert_eq!(error_code(&r), 40, "{params:?}: {r}");
    }
    // The same app password under the exact name works, in both forms.
    for params in [
        vec![("u", "side@example.com"), ("p", app_pw.as_str())],
        vec![("u", "side@example.com"), ("t", &real_t), ("s", "abcdef")],
    ] {
        let (_, r) = rest(&srv, "ping", &params).await;
        assert_eq!(r["status"], "ok", "{params:?}: {r}");
    }
}

/// Matrix row 3, "API token with no user": an access token signed with the server's own
/// key, well formed and unexpired, whose `sub` names no user (with a made-up login, and
/// with the live login of a real user) gets 401 at `/api/v1`; the genuine token of that
/// login gets in, so it is the missing user that is refused, not the signature.
async fn an_api_token_naming_no_user_is_refused(b: Backend) {
    use backend::auth::api_tokens::{self, AccessClaims};
    let srv = start(b, 1 << 20).await;
    signup(&client(), &srv, "real@example.com").await;
    let backend::auth::LoginStep::Done(real) = backend::auth::login(
        &srv.core,
        "real@example.com",
        PW,
        std::net::IpAddr::from([127, 0, 0, 1]),
    )
    .await
    .unwrap() else {
        panic!("no second factor is on")
    };
    let now = u64::try_from(backend::now_ms() / 1000).unwrap();
    let claims = |sub: &str, sid: &str| AccessClaims {
        iss: "refrain".into(),
        aud: api_tokens::API_AUDIENCE.into(),
        sub: sub.into(),
        exp: now + 600,
        nbf: now,
        iat: now,
        jti: backend::new_id(),
        sid: sid.into(),
    };
    let me = |token: String| {
        let url = format!("{}/api/v1/me", srv.base);
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let ghost = backend::new_id();
    for (sub, sid) in [
        (ghost.as_str(), backend::new_id()),
        (ghost.as_str(), real.login_id.clone()),
        ("", real.login_id.clone()),
    ] {
        let t = api_tokens::sign_claims(&srv.core.keys.api, &claims(sub, &sid))
            .await
            .unwrap();
        assert_eq!(me(t).await, StatusCode::UNAUTHORIZED, "sub {sub:?}");
    }
    let t = api_tokens::sign_claims(&srv.core.keys.api, &claims(&real.id, &real.login_id))
        .await
        .unwrap();
    assert_eq!(me(t).await, StatusCode::OK);
}

/// Matrix row 2: a wrong password for a real account and any password for an unknown one
/// get the same status and the very same body, on every pathway that takes a password or
/// an app password: the sign-in form (a server function), the API's password grant and
/// `/rest` (in both of its formats).
async fn unknown_and_known_accounts_are_refused_alike_everywhere(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let (_, app_pw) = user_with_key(&srv, "known@example.com", "app_password").await;
    assert_ne!(app_pw, "wrong-guess-123");
    let answer =
        |r: reqwest::Response| async move { (r.status(), r.bytes().await.unwrap().to_vec()) };
    let web = |email: &'static str| {
        let srv = &srv;
        async move {
            call(
                &client(),
                srv,
                app::auth::Login::PATH,
                &[("email", email), ("password", "wrong-guess-123")],
            )
            .await
        }
    };
    let (known, unknown) = (
        answer(web("known@example.com").await).await,
        answer(web("unknown@example.com").await).await,
    );
    assert_eq!(known.0, StatusCode::BAD_REQUEST);
    assert_eq!(known, unknown, "the sign-in form tells the accounts apart");

    let grant = |email: &'static str| {
        let url = format!("{}/api/v1/auth/token", srv.base);
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&serde_json::json!({
                    "grant_type": "password", "email": email, "password": "wrong-guess-123"
                }))
                .send()
                .await
                .unwrap()
        }
    };
    let (known, unknown) = (
        answer(grant("known@example.com").await).await,
        answer(grant("unknown@example.com").await).await,
    );
    assert!(known.0.is_client_error(), "{:?}", known.0);
    assert_eq!(
        known, unknown,
        "the token endpoint tells the accounts apart"
    );

    for f in ["json", "xml"] {
        let rest = |u: &'static str| {
            let url = format!("{}/rest/ping", srv.base);
            async move {
                reqwest::Client::new()
                    .get(url)
                    .query(&[("u", u), ("p", "wrong-guess-123"), ("f", f)])
                    .query(&[("v", "1.16.1"), ("c", "test")])
                    .send()
                    .await
                    .unwrap()
            }
        };
        let (known, unknown) = (
            answer(rest("known@example.com").await).await,
            answer(rest("unknown@example.com").await).await,
        );
        assert_eq!(known.0, StatusCode::OK);
        assert!(String::from_utf8_lossy(&known.1).contains("40"), "{f}");
        assert_eq!(known, unknown, "/rest ({f}) tells the accounts apart");
    }
}

/// Matrix row 2 at `/rest`: 101 wrong app passwords for one account, each claiming another
/// client address in `X-Forwarded-For`, from a peer that is no trusted proxy (none is
/// configured): the header is ignored, so the guesses all count against the peer's own
/// address, which is slowed down (429 with `Retry-After`) long before the 100th; even the
/// right app password, under yet another claimed address, then waits. The same at the
/// sign-in form (here rather than in http.rs, beside its `/rest` twin).
async fn spoofed_forwarded_for_does_not_spread_guesses(b: Backend) {
    let srv = start(b, 1 << 20).await;
    assert!(
        !srv.core
            .config
            .trusted_proxies
            .contains(&std::net::IpAddr::from([127, 0, 0, 1]))
    );
    let (_, app_pw) = user_with_key(&srv, "spoofed@example.com", "app_password").await;
    let ping = |password: String, claimed: String| {
        let url = format!("{}/rest/ping", srv.base);
        async move {
            reqwest::Client::new()
                .get(url)
                .header("x-forwarded-for", claimed)
                .query(&[
                    ("u", "spoofed@example.com"),
                    ("p", &password),
                    ("f", "json"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let mut first_throttled = None;
    for i in 0..101u8 {
        let r = ping(format!("wrong-{i}"), format!("198.51.100.{i}")).await;
        match r.status() {
            StatusCode::OK => {
                let v: Value = r.json().await.unwrap();
                assert_eq!(error_code(&v["subsonic-response"]), 40, "attempt {i}");
            }
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(r.headers().contains_key("retry-after"));
                first_throttled.get_or_insert(i);
            }
            other => panic!("attempt {i}: {other}"),
        }
    }
    let free = u8::try_from(backend::auth::throttle::ADDRESS_FREE).unwrap();
    assert!(
        first_throttled.is_some_and(|i| i >= free && i < 100),
        "first throttled at {first_throttled:?}"
    );
    let r = ping(app_pw, "203.0.113.200".into()).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);

    // The sign-in form likewise, from a clean slate: 101 wrong passwords for one account
    // under rotating claimed addresses are slowed down (429) before the 100th.
    sqlx::query("DELETE FROM auth_throttle")
        .execute(&srv.core.db)
        .await
        .unwrap();
    let mut first_throttled = None;
    for i in 0..101u8 {
        let r = client()
            .post(format!("{}{}", srv.base, app::auth::Login::PATH))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .form(&[
                ("email", "spoofed@example.com"),
                ("password", "wrong-guess-123"),
            ])
            .send()
            .await
            .unwrap();
        match r.status() {
            StatusCode::BAD_REQUEST => {}
            StatusCode::TOO_MANY_REQUESTS => {
                first_throttled.get_or_insert(i);
            }
            other => panic!("sign-in attempt {i}: {other}"),
        }
    }
    assert!(
        first_throttled.is_some_and(|i| i < 100),
        "sign-in form: first throttled at {first_throttled:?}"
    );
    // On both pathways every failure was counted against the peer, none against a claimed
    // address.
    let claimed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM auth_throttle WHERE key LIKE 'addr:198.51.100.%' OR key LIKE 'addr:203.0.113.%'",
    )
    .fetch_one(&srv.core.db)
    .await
    .unwrap();
    assert_eq!(claimed, 0);
    let peer: i64 = sqlx::query_scalar("SELECT failures FROM auth_throttle WHERE key = $1")
        .bind("addr:127.0.0.1")
        .fetch_one(&srv.core.db)
        .await
        .unwrap();
    assert!(peer > 0);
}

backend::on_both_databases!(
    side_doors_refuse_empty_passwords_and_wildcard_users,
    an_api_token_naming_no_user_is_refused,
    unknown_and_known_accounts_are_refused_alike_everywhere,
    spoofed_forwarded_for_does_not_spread_guesses,
    cover_sizes_are_clamped_at_both_ends,
    kept_transcodes_are_few_and_bounded,
    a_music_folder_cannot_hand_out_the_server_key,
    bookmarks_are_personal_positions_in_songs,
    admins_start_scans_and_apps_see_them,
    two_factor_accounts_use_apps_through_keys,
    embedded_lyrics_reach_apps_timed,
    apps_get_the_format_and_rate_they_ask_for,
    an_opensonic_client_syncs_stars_streams_and_keeps_the_queue,
    playlists_and_the_queue_are_the_web_players,
    apps_browse_exactly_what_the_user_may_see,
    api_keys_work_in_both_formats_by_get_and_post,
    every_refusal_gets_its_error_code,
    legacy_clients_sign_with_an_app_password,
    repeated_failures_are_throttled,
);
