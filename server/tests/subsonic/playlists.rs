//! What a user keeps: playlists, the play queue, stars and bookmarks.

use crate::common::subsonic as schema;
use crate::common::*;
use crate::{error_code, ids, make_key, rest, upload, user_with_key};
use backend::testing::Backend;
use serde_json::Value;
use server_fn::ServerFn;

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
    let web_lists: Vec<app::playlists::widgets::PlaylistItem> = call(
        &web,
        &srv,
        app::playlists::widgets::ListPlaylists::PATH,
        &[],
    )
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
    let q: app::player::api::QueueData = call(&web, &srv, app::player::api::GetQueue::PATH, &[])
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

backend::on_both_databases!(
    bookmarks_are_personal_positions_in_songs,
    an_opensonic_client_syncs_stars_streams_and_keeps_the_queue,
    playlists_and_the_queue_are_the_web_players,
);
