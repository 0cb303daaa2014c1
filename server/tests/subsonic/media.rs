//! What comes with a song: its lyrics and cover art.

use crate::common::subsonic as schema;
use crate::common::*;
use crate::{error_code, make_key, rest, upload, user_with_key};
use backend::testing::Backend;
use reqwest::StatusCode;

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

backend::on_both_databases!(
    cover_sizes_are_clamped_at_both_ends,
    embedded_lyrics_reach_apps_timed,
);
