//! Album and artist pages on both databases: track order, visibility, most played.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::{self, CurrentUser};
use backend::playback::plays::{PlayRecorded, apply_play};
use backend::testing::{Backend, SeedTrack, seed_track};
use backend::{Core, Error, library};

const PW: &str = "violet-harbour-87";

async fn track(
    core: &Core,
    owner: &CurrentUser,
    title: &str,
    album: Option<&str>,
    no: Option<i64>,
    shared: bool,
) -> String {
    seed_track(
        core,
        &owner.id,
        SeedTrack {
            title,
            artist: "The Testers",
            album,
            track_no: no,
            shared,
            ..Default::default()
        },
    )
    .await
}

async fn play(core: &Core, user: &CurrentUser, track_id: &str, times: usize) {
    for _ in 0..times {
        let p = PlayRecorded {
            playback_id: backend::new_id(),
            user_id: user.id.clone(),
            track_id: track_id.to_string(),
            listened_ms: 60_000,
            played_at: backend::now_ms(),
        };
        apply_play(core, &backend::new_id(), "test", &p)
            .await
            .unwrap();
    }
}

async fn an_album_lists_its_visible_tracks_in_track_order(b: Backend) {
    let (core, _d) = b.core().await;
    let me = auth::signup(&core, "me@example.com", PW).await.unwrap();
    let other = auth::signup(&core, "other@example.com", PW).await.unwrap();
    track(&core, &me, "Third", Some("Trilogy"), Some(3), true).await;
    let first = track(&core, &me, "First", Some("Trilogy"), Some(1), true).await;
    track(&core, &me, "Second", Some("Trilogy"), Some(2), true).await;
    let album_id: String = sqlx::query_scalar("SELECT album_id FROM tracks WHERE id = $1")
        .bind(&first)
        .fetch_one(&core.db)
        .await
        .unwrap();
    let (album, tracks) = library::album(&core, &me, &album_id).await.unwrap();
    assert_eq!(album.title, "Trilogy");
    assert_eq!(album.artist, "The Testers");
    assert_eq!(album.tracks, 3);
    let titles: Vec<_> = tracks.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles, ["First", "Second", "Third"]);

    // A personal album is "not found" for anyone else, like one that does not exist.
    let secret = track(&core, &other, "Mine", Some("Private Album"), Some(1), false).await;
    let secret_album: String = sqlx::query_scalar("SELECT album_id FROM tracks WHERE id = $1")
        .bind(&secret)
        .fetch_one(&core.db)
        .await
        .unwrap();
    let r = library::album(&core, &me, &secret_album).await;
    assert!(matches!(r, Err(Error::NotFound("album"))), "{r:?}");
    let r = library::album(&core, &me, "no-such-album").await;
    assert!(matches!(r, Err(Error::NotFound("album"))), "{r:?}");
    assert!(library::album(&core, &other, &secret_album).await.is_ok());
}

async fn an_artist_page_has_albums_and_most_played_tracks(b: Backend) {
    let (core, _d) = b.core().await;
    let me = auth::signup(&core, "me@example.com", PW).await.unwrap();
    let fan = auth::signup(&core, "fan@example.com", PW).await.unwrap();
    let quiet = track(&core, &me, "Quiet One", Some("Early Days"), Some(1), true).await;
    let hit = track(&core, &me, "The Hit", Some("Later Days"), Some(1), true).await;
    let single = track(&core, &me, "A Single", None, None, true).await;
    play(&core, &fan, &hit, 3).await;
    play(&core, &me, &single, 2).await;
    play(&core, &me, &quiet, 1).await;
    let artist_id: String = sqlx::query_scalar("SELECT artist_id FROM tracks WHERE id = $1")
        .bind(&hit)
        .fetch_one(&core.db)
        .await
        .unwrap();
    let (artist, albums, top) = library::artist(&core, &fan, &artist_id).await.unwrap();
    assert_eq!(artist.name, "The Testers");
    assert_eq!(artist.tracks, 3);
    let mut album_titles: Vec<_> = albums.iter().map(|a| a.title.as_str()).collect();
    album_titles.sort_unstable();
    assert_eq!(album_titles, ["Early Days", "Later Days"]);
    let top: Vec<_> = top.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(
        top,
        ["The Hit", "A Single", "Quiet One"],
        "by everyone's plays"
    );

    let r = library::artist(&core, &fan, "nobody").await;
    assert!(matches!(r, Err(Error::NotFound("artist"))), "{r:?}");
}

async fn track_lists_sort_and_page(b: Backend) {
    use backend::library::TrackSort;
    let (core, _d) = b.core().await;
    let me = auth::signup(&core, "me@example.com", PW).await.unwrap();
    let other = auth::signup(&core, "other@example.com", PW).await.unwrap();
    let names = ["delta", "Alpha", "charlie", "Bravo", "echo"];
    let mut ids = Vec::new();
    for n in names {
        ids.push(track(&core, &me, n, Some(&format!("{n} album")), Some(1), true).await);
        // Distinct "date added" (milliseconds) for the newest-first order.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    track(&core, &other, "Zulu Private", None, None, false).await;
    play(&core, &me, &ids[2], 3).await; // charlie
    play(&core, &me, &ids[4], 1).await; // echo

    let titles =
        |v: &[backend::library::TrackView]| v.iter().map(|t| t.title.clone()).collect::<Vec<_>>();
    let (page, total) = library::tracks_page(&core, &me, TrackSort::Title, false, 0, 2)
        .await
        .unwrap();
    assert_eq!(total, 5, "another listener's personal track is not counted");
    assert_eq!(titles(&page), ["Alpha", "Bravo"], "case-insensitive");
    let (page, _) = library::tracks_page(&core, &me, TrackSort::Title, false, 2, 2)
        .await
        .unwrap();
    assert_eq!(titles(&page), ["charlie", "delta"]);
    let (page, _) = library::tracks_page(&core, &me, TrackSort::Title, false, 4, 2)
        .await
        .unwrap();
    assert_eq!(titles(&page), ["echo"]);
    let (page, _) = library::tracks_page(&core, &me, TrackSort::Title, true, 0, 5)
        .await
        .unwrap();
    assert_eq!(
        titles(&page),
        ["echo", "delta", "charlie", "Bravo", "Alpha"]
    );
    let (page, _) = library::tracks_page(&core, &me, TrackSort::Added, true, 0, 5)
        .await
        .unwrap();
    assert_eq!(
        titles(&page),
        ["echo", "Bravo", "charlie", "Alpha", "delta"],
        "newest first"
    );
    let (page, _) = library::tracks_page(&core, &me, TrackSort::Plays, true, 0, 2)
        .await
        .unwrap();
    assert_eq!(titles(&page), ["charlie", "echo"]);
    let (page, _) = library::tracks_page(&core, &me, TrackSort::Album, false, 0, 1)
        .await
        .unwrap();
    assert_eq!(titles(&page), ["Alpha"]);
    for (offset, limit) in [(-1, 10), (0, 0), (0, library::MAX_PAGE + 1)] {
        let r = library::tracks_page(&core, &me, TrackSort::Title, false, offset, limit).await;
        assert!(
            matches!(r, Err(Error::Invalid(_))),
            "{offset} {limit}: {r:?}"
        );
    }

    let albums = library::albums_page(&core, &me, false, 0, 10)
        .await
        .unwrap();
    let album_titles: Vec<_> = albums.iter().map(|a| a.title.as_str()).collect();
    assert_eq!(
        album_titles,
        [
            "Alpha album",
            "Bravo album",
            "charlie album",
            "delta album",
            "echo album"
        ]
    );
    let recent = library::albums_page(&core, &me, true, 0, 2).await.unwrap();
    assert_eq!(recent[0].title, "echo album");
    // A new track brings its album to the front of "recently added".
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    track(&core, &me, "alpha two", Some("Alpha album"), Some(2), true).await;
    let recent = library::albums_page(&core, &me, true, 0, 3).await.unwrap();
    let recent: Vec<_> = recent.iter().map(|a| a.title.as_str()).collect();
    assert_eq!(recent, ["Alpha album", "echo album", "Bravo album"]);
    let second = library::albums_page(&core, &me, true, 1, 1).await.unwrap();
    assert_eq!(second[0].title, "echo album", "pages follow the same order");
    let artists = library::artists_page(&core, &me, 0, 10).await.unwrap();
    assert_eq!(
        artists.len(),
        1,
        "the private track's artist is not listed: {artists:?}"
    );
    assert_eq!(artists[0].tracks, 6);

    // By plays: the played first (most first), then the rest by title; a page may take
    // from both.
    let sorted = async |sort, desc, offset, limit| {
        let (page, _) = library::tracks_page(&core, &me, sort, desc, offset, limit)
            .await
            .unwrap();
        titles(&page)
    };
    assert_eq!(
        sorted(TrackSort::Plays, true, 1, 2).await,
        ["echo", "Alpha"]
    );
    assert_eq!(
        sorted(TrackSort::Plays, false, 0, 6).await,
        ["Alpha", "alpha two", "Bravo", "delta", "echo", "charlie"],
        "fewest plays first"
    );
    // By artist (then album, then track number) and by album, following renames: the
    // tracks keep the names they sort by.
    let fox = seed_track(
        &core,
        &me.id,
        SeedTrack {
            title: "foxtrot",
            artist: "Zebra Band",
            shared: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        sorted(TrackSort::Artist, false, 0, 7).await,
        [
            "Alpha",
            "alpha two",
            "Bravo",
            "charlie",
            "delta",
            "echo",
            "foxtrot"
        ]
    );
    assert_eq!(
        sorted(TrackSort::Artist, true, 0, 2).await,
        ["foxtrot", "echo"]
    );
    let zebra: String = sqlx::query_scalar("SELECT artist_id FROM tracks WHERE id = $1")
        .bind(&fox)
        .fetch_one(&core.db)
        .await
        .unwrap();
    backend::catalog::rename_artist(&core, &me, &zebra, "ABBA Tribute")
        .await
        .unwrap();
    assert_eq!(sorted(TrackSort::Artist, false, 0, 1).await, ["foxtrot"]);
    assert_eq!(sorted(TrackSort::Artist, true, 0, 1).await, ["echo"]);
    let alpha = album_id_of(&core, &ids[1]).await;
    let edit = backend::catalog::AlbumEdit {
        title: "Zulu album".into(),
        artist: "The Testers".into(),
        year: None,
    };
    backend::catalog::edit_album(&core, &me, &alpha, edit)
        .await
        .unwrap();
    assert_eq!(
        sorted(TrackSort::Album, false, 0, 2).await,
        ["foxtrot", "Bravo"],
        "no album sorts first"
    );
    assert_eq!(
        sorted(TrackSort::Album, false, 5, 2).await,
        ["Alpha", "alpha two"],
        "the renamed album moved to the end"
    );
}

async fn album_id_of(core: &Core, track_id: &str) -> String {
    sqlx::query_scalar("SELECT album_id FROM tracks WHERE id = $1")
        .bind(track_id)
        .fetch_one(&core.db)
        .await
        .unwrap()
}

async fn album_likes_are_personal_idempotent_and_limited_to_visible_albums(b: Backend) {
    let (core, _d) = b.core().await;
    let me = auth::signup(&core, "me@example.com", PW).await.unwrap();
    let other = auth::signup(&core, "other@example.com", PW).await.unwrap();
    let a = album_id_of(
        &core,
        &track(&core, &me, "A1", Some("Alpha"), Some(1), true).await,
    )
    .await;
    let b2 = album_id_of(
        &core,
        &track(&core, &me, "B1", Some("Beta"), Some(1), true).await,
    )
    .await;
    let secret = album_id_of(
        &core,
        &track(&core, &other, "S1", Some("Secret"), Some(1), false).await,
    )
    .await;

    library::set_album_liked(&core, &me, &a, true)
        .await
        .unwrap();
    // Likes are ordered by their time in milliseconds.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    library::set_album_liked(&core, &me, &b2, true)
        .await
        .unwrap();
    // Twice changes nothing.
    library::set_album_liked(&core, &me, &a, true)
        .await
        .unwrap();
    let liked: Vec<_> = library::liked_albums(&core, &me)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.title, a.liked))
        .collect();
    assert_eq!(
        liked,
        [("Beta".to_string(), true), ("Alpha".to_string(), true)],
        "newest like first"
    );
    // The album page says so, for me only.
    assert!(library::album(&core, &me, &a).await.unwrap().0.liked);
    assert!(!library::album(&core, &other, &a).await.unwrap().0.liked);
    assert!(
        library::liked_albums(&core, &other)
            .await
            .unwrap()
            .is_empty()
    );

    // Someone else's personal album cannot be liked (it is "not found").
    let r = library::set_album_liked(&core, &me, &secret, true).await;
    assert!(matches!(r, Err(Error::NotFound("album"))), "{r:?}");
    let r = library::set_album_liked(&core, &me, "no-such-album", true).await;
    assert!(matches!(r, Err(Error::NotFound("album"))), "{r:?}");

    library::set_album_liked(&core, &me, &a, false)
        .await
        .unwrap();
    library::set_album_liked(&core, &me, &a, false)
        .await
        .unwrap();
    let liked: Vec<_> = library::liked_albums(&core, &me)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.title)
        .collect();
    assert_eq!(liked, ["Beta"]);

    // Track likes take the same path: twice is once, and unliking twice is harmless.
    let t = track(&core, &me, "T1", None, None, true).await;
    for _ in 0..2 {
        library::set_liked(&core, &me, &t, true).await.unwrap();
    }
    let titles =
        |v: Vec<backend::library::TrackView>| v.into_iter().map(|t| t.title).collect::<Vec<_>>();
    assert_eq!(
        titles(library::liked_tracks(&core, &me).await.unwrap()),
        ["T1"]
    );
    assert!(
        library::liked_tracks(&core, &other)
            .await
            .unwrap()
            .is_empty()
    );
    for _ in 0..2 {
        library::set_liked(&core, &me, &t, false).await.unwrap();
    }
    assert!(library::liked_tracks(&core, &me).await.unwrap().is_empty());
}

/// The library's "N tracks" comes from tallies the database keeps: it must match a count
/// of the tracks through inserts, sharing, a change of owner and deletes.
async fn the_visible_count_follows_every_change_to_tracks(b: Backend) {
    use backend::library::TrackSort;
    let (core, _d) = b.core().await;
    let me = auth::signup(&core, "me@example.com", PW).await.unwrap();
    let other = auth::signup(&core, "other@example.com", PW).await.unwrap();
    let counted = |user: &CurrentUser| {
        let (core, id) = (core.clone(), user.id.clone());
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM tracks WHERE owner_id = $1 OR shared = 1",
            )
            .bind(id)
            .fetch_one(&core.db)
            .await
            .unwrap()
        }
    };
    let total = |user: &CurrentUser| {
        let (core, user) = (core.clone(), user.clone());
        async move {
            library::tracks_page(&core, &user, TrackSort::Added, true, 0, 1)
                .await
                .unwrap()
                .1
        }
    };
    let mine = track(&core, &me, "Mine", None, None, false).await;
    let shared = track(&core, &me, "Shared", None, None, true).await;
    let theirs = track(&core, &other, "Theirs", None, None, false).await;
    track(&core, &other, "Theirs shared", None, None, true).await;
    assert_eq!((total(&me).await, total(&other).await), (3, 3));
    let set = |sql: &'static str, id: String| {
        let core = core.clone();
        async move {
            sqlx::query(sql).bind(id).execute(&core.db).await.unwrap();
        }
    };
    set("UPDATE tracks SET shared = 1 WHERE id = $1", mine.clone()).await;
    assert_eq!((total(&me).await, total(&other).await), (3, 4));
    set(
        "UPDATE tracks SET title = 'Renamed' WHERE id = $1",
        mine.clone(),
    )
    .await;
    assert_eq!(
        total(&other).await,
        4,
        "other columns leave the tally alone"
    );
    set("UPDATE tracks SET shared = 0 WHERE id = $1", shared.clone()).await;
    assert_eq!((total(&me).await, total(&other).await), (3, 3));
    let other_id = other.id.clone();
    sqlx::query("UPDATE tracks SET owner_id = $2 WHERE id = $1")
        .bind(&theirs)
        .bind(&other_id)
        .execute(&core.db)
        .await
        .unwrap();
    sqlx::query("UPDATE tracks SET owner_id = $2 WHERE id = $1")
        .bind(&theirs)
        .bind(&me.id)
        .execute(&core.db)
        .await
        .unwrap();
    assert_eq!((total(&me).await, total(&other).await), (4, 2));
    library::delete_track(&core, &me, &shared).await.unwrap();
    for user in [&me, &other] {
        assert_eq!(total(user).await, counted(user).await, "{}", user.email);
    }
    assert_eq!((total(&me).await, total(&other).await), (3, 2));
}

/// The artists list's track counts (kept in tallies by triggers) after each kind of change
/// to tracks: equal for every user to counting the tracks they may see by the artist or on
/// albums credited to them.
async fn artist_counts_follow_every_change_to_tracks(b: Backend) {
    let (core, _d) = b.core().await;
    let me = auth::signup(&core, "me@example.com", PW).await.unwrap();
    let other = auth::signup(&core, "other@example.com", PW).await.unwrap();
    let by = |user: &CurrentUser, title: &'static str, artist: &'static str, shared: bool| {
        let (core, id) = (core.clone(), user.id.clone());
        async move {
            let t = SeedTrack {
                title,
                artist,
                shared,
                ..Default::default()
            };
            seed_track(&core, &id, t).await
        }
    };
    let t1 = by(&me, "One", "Ayla", false).await;
    let t2 = by(&me, "Two", "Ayla", true).await;
    let t3 = by(&other, "Three", "Bram", false).await;
    by(&other, "Four", "Bram", true).await;
    let artist_of = |t: String| {
        let core = core.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT artist_id FROM tracks WHERE id = $1")
                .bind(t)
                .fetch_one(&core.db)
                .await
                .unwrap()
        }
    };
    let (ayla, bram) = (artist_of(t1.clone()).await, artist_of(t3.clone()).await);
    // Every listed artist's count against the tracks counted one by one; the number of
    // tracks the user sees by `artist`.
    let check = async |user: &CurrentUser, artist: &str, step: &str| -> i64 {
        let listed = library::artists_page(&core, user, 0, 60).await.unwrap();
        for a in &listed {
            let counted: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM tracks t WHERE (t.owner_id = $1 OR t.shared = 1)
                   AND (t.artist_id = $2 OR (t.album_artist_id = $2 AND t.artist_id <> $2))",
            )
            .bind(&user.id)
            .bind(&a.id)
            .fetch_one(&core.db)
            .await
            .unwrap();
            assert_eq!(
                a.tracks, counted,
                "{} for {} at: {step}",
                a.name, user.email
            );
        }
        // Listed are exactly the artists with a track the user may see.
        let mut visible: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT ar.id FROM artists ar JOIN tracks t
               ON t.artist_id = ar.id OR t.album_artist_id = ar.id
             WHERE t.owner_id = $1 OR t.shared = 1",
        )
        .bind(&user.id)
        .fetch_all(&core.db)
        .await
        .unwrap();
        visible.sort();
        let mut ids: Vec<String> = listed.iter().map(|a| a.id.clone()).collect();
        ids.sort();
        assert_eq!(ids, visible, "artists listed for {} at: {step}", user.email);
        listed
            .iter()
            .find(|a| a.id == artist)
            .map_or(0, |a| a.tracks)
    };
    let set = async |sql: &str, id: &str| {
        sqlx::query(sql).bind(id).execute(&core.db).await.unwrap();
    };
    assert_eq!(check(&me, &ayla, "seeded").await, 2);
    assert_eq!(
        check(&me, &bram, "seeded").await,
        1,
        "not the other's private track"
    );
    set(
        &format!("UPDATE tracks SET album_artist_id = '{bram}' WHERE id = $1"),
        &t1,
    )
    .await;
    assert_eq!(check(&me, &bram, "an album credited to Bram").await, 2);
    assert_eq!(check(&other, &bram, "another's album artist").await, 2);
    set("UPDATE tracks SET shared = 1 WHERE id = $1", &t3).await;
    assert_eq!(check(&me, &bram, "shared").await, 3);
    set(
        &format!("UPDATE tracks SET artist_id = '{bram}' WHERE id = $1"),
        &t2,
    )
    .await;
    assert_eq!(check(&me, &ayla, "moved to Bram").await, 1);
    assert_eq!(check(&me, &bram, "moved to Bram").await, 4);
    set(
        &format!("UPDATE tracks SET owner_id = '{}' WHERE id = $1", other.id),
        &t1,
    )
    .await;
    assert_eq!(check(&me, &ayla, "given away").await, 0);
    assert_eq!(check(&other, &ayla, "given away").await, 1);
    set(
        &format!("UPDATE tracks SET album_artist_id = '{bram}' WHERE id = $1"),
        &t2,
    )
    .await;
    assert_eq!(check(&me, &bram, "own album artist counted once").await, 3);
    library::delete_track(&core, &me, &t2).await.unwrap();
    assert_eq!(check(&me, &bram, "deleted").await, 2);
    check(&other, &bram, "deleted").await;
}

backend::on_both_databases!(
    the_visible_count_follows_every_change_to_tracks,
    artist_counts_follow_every_change_to_tracks,
    album_likes_are_personal_idempotent_and_limited_to_visible_albums,
    track_lists_sort_and_page,
    an_album_lists_its_visible_tracks_in_track_order,
    an_artist_page_has_albums_and_most_played_tracks,
);

/// On SQLite every new connection brings the query planner's statistics up to date
/// (`PRAGMA optimize`): a catalog filled since the last connection is analysed, so pages
/// keep their plans as it grows, with no ANALYZE run by hand. Connections also map the
/// database file into memory.
#[tokio::test]
async fn new_sqlite_connections_analyse_a_grown_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let config = Backend::Sqlite.config(dir.path()).await;
    let core = backend::Core::init(config.clone()).await.unwrap();
    let me = auth::signup(&core, "me@example.com", PW).await.unwrap();
    for i in 0..30 {
        let title = format!("Song {i}");
        seed_track(
            &core,
            &me.id,
            SeedTrack {
                title: &title,
                artist: "Someone",
                album: Some("Record"),
                ..SeedTrack::default()
            },
        )
        .await;
    }
    let stats = "SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'tracks'";
    let fresh = backend::db::connect(&config).await.unwrap();
    let analysed: i64 = sqlx::query_scalar(stats).fetch_one(&fresh).await.unwrap();
    assert!(analysed > 0, "the tracks table has no statistics");
    // And they read the database through a memory map (up to 1 GiB).
    let mapped: i64 = sqlx::query_scalar("PRAGMA mmap_size")
        .fetch_one(&fresh)
        .await
        .unwrap();
    assert_eq!(mapped, 1 << 30);
}

/// On PostgreSQL every connection prices random reads as in memory (`random_page_cost`
/// 1.1), so a page's hundred tracks are joined to their artists and albums by lookups
/// rather than by reading those tables whole; a price the database's administrator set is
/// kept.
#[tokio::test]
async fn postgres_connections_price_random_reads_as_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let config = Backend::Postgres.config(dir.path()).await;
    let db = backend::db::connect(&config).await.unwrap();
    let cost = "SELECT current_setting('random_page_cost')";
    let set: String = sqlx::query_scalar(cost).fetch_one(&db).await.unwrap();
    assert_eq!(set, "1.1");
    let name = config.database.url.rsplit('/').next().unwrap();
    sqlx::query(&format!("ALTER DATABASE {name} SET random_page_cost = 2"))
        .execute(&db)
        .await
        .unwrap();
    db.close().await;
    let db = backend::db::connect(&config).await.unwrap();
    let kept: String = sqlx::query_scalar(cost).fetch_one(&db).await.unwrap();
    assert_eq!(kept, "2", "the administrator's price was overridden");
}
