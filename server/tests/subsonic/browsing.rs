//! Browsing and scans: what an app may see of the catalog, and starting scans.

use crate::common::subsonic as schema;
use crate::common::*;
use crate::{error_code, ids, make_key, rest, upload, user_with_key};
use backend::testing::Backend;
use reqwest::StatusCode;

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

backend::on_both_databases!(
    admins_start_scans_and_apps_see_them,
    apps_browse_exactly_what_the_user_may_see,
);
