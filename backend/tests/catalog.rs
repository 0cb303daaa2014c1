//! Catalog editing on both databases: edits and merges move tracks (with their likes,
//! plays and playlist entries) and search follows in the same transaction; deletes take
//! everything under an album or artist; listeners edit only their own uploads; bulk edits
//! are all or nothing; every change is audited.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::{self, CurrentUser};
use backend::catalog::{self, AlbumEdit, Field, TrackEdit};
use backend::testing::{Backend, SeedTrack, seed_track};
use backend::{Core, Error, admin, library, playlists, search};

const PW: &str = "violet-harbour-87";

async fn users(core: &Core) -> (CurrentUser, CurrentUser, CurrentUser) {
    let a = auth::signup(core, "admin@example.com", PW).await.unwrap();
    let b = auth::signup(core, "bob@example.com", PW).await.unwrap();
    let c = auth::signup(core, "carol@example.com", PW).await.unwrap();
    (a, b, c)
}

async fn shared(
    core: &Core,
    owner: &CurrentUser,
    title: &str,
    artist: &str,
    album: Option<&str>,
) -> String {
    seed_track(
        core,
        &owner.id,
        SeedTrack {
            title,
            artist,
            album,
            shared: true,
            ..Default::default()
        },
    )
    .await
}

async fn found(
    core: &Core,
    user: &CurrentUser,
    q: &str,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let r = search::search(core, user, q).await.unwrap();
    (
        r.tracks.into_iter().map(|t| t.title).collect(),
        r.albums.into_iter().map(|a| a.title).collect(),
        r.artists.into_iter().map(|a| a.name).collect(),
    )
}

fn edit(title: &str, artist: &str, album: Option<&str>) -> TrackEdit {
    TrackEdit {
        title: title.into(),
        artist: artist.into(),
        album: album.map(Into::into),
        ..Default::default()
    }
}

async fn audit_actions(core: &Core, admin_user: &CurrentUser) -> Vec<String> {
    admin::audit_log(core, admin_user, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

async fn editing_a_track_moves_it_and_search_follows(b: Backend) {
    let (core, _d) = b.core().await;
    let (admin_user, bob, _) = users(&core).await;
    let id = shared(
        &core,
        &admin_user,
        "Track 06",
        "Unknown Artist",
        Some("Untitled Album"),
    )
    .await;

    catalog::edit_track(
        &core,
        &admin_user,
        &id,
        TrackEdit {
            track_no: Some(6),
            year: Some(1966),
            genre: Some("Rock".into()),
            ..edit("Yellow Submarine", "The Beatles", Some("Revolver"))
        },
    )
    .await
    .unwrap();

    // Another user sees the new names at once, in lists and in search.
    let t = library::list_tracks(&core, &bob)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        (
            t.title.as_str(),
            t.artist.as_str(),
            t.album.as_deref(),
            t.track_no
        ),
        ("Yellow Submarine", "The Beatles", Some("Revolver"), Some(6))
    );
    let (tracks, albums, artists) = found(&core, &bob, "yellow beatles").await;
    assert_eq!(tracks, ["Yellow Submarine"]);
    assert!(albums.is_empty() && artists.is_empty());
    assert_eq!(found(&core, &bob, "revolver").await.1, ["Revolver"]);
    assert_eq!(found(&core, &bob, "beatles").await.2, ["The Beatles"]);
    // The old names are gone everywhere: the emptied album and artist left the catalog.
    assert_eq!(
        found(&core, &bob, "untitled").await,
        (vec![], vec![], vec![])
    );
    assert_eq!(
        found(&core, &bob, "unknown").await,
        (vec![], vec![], vec![])
    );
    let artists = library::artists_page(&core, &bob, 0, 50).await.unwrap();
    assert_eq!(
        artists.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        ["The Beatles"]
    );
    let row = catalog::track_for_edit(&core, &admin_user, &id)
        .await
        .unwrap();
    assert_eq!((row.year, row.genre.as_deref()), (Some(1966), Some("Rock")));
    assert!(
        audit_actions(&core, &admin_user)
            .await
            .contains(&"catalog.track.edit".to_string())
    );

    // Bad input is refused with a reason and changes nothing.
    for bad in [
        edit("  ", "The Beatles", None),
        TrackEdit {
            year: Some(0),
            ..edit("Yellow Submarine", "The Beatles", None)
        },
        edit("Yellow Submarine", &"x".repeat(301), None),
        edit("Yellow\nSubmarine", "The Beatles", None),
    ] {
        let e = catalog::edit_track(&core, &admin_user, &id, bad)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Invalid(_)), "{e:?}");
    }
    let t = library::list_tracks(&core, &bob)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        (t.title.as_str(), t.album.as_deref()),
        ("Yellow Submarine", Some("Revolver"))
    );
}

async fn listeners_edit_only_their_own_uploads(b: Backend) {
    let (core, _d) = b.core().await;
    let (admin_user, bob, carol) = users(&core).await;
    let catalog_track = shared(
        &core,
        &admin_user,
        "Shared Song",
        "Band",
        Some("Shared Album"),
    )
    .await;
    let bobs = seed_track(
        &core,
        &bob.id,
        SeedTrack {
            title: "Bob Demo",
            artist: "Bob",
            album: Some("Bob Tapes"),
            ..Default::default()
        },
    )
    .await;

    let e = catalog::edit_track(&core, &bob, &catalog_track, edit("Mine now", "Bob", None))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden), "{e:?}");
    // Someone else's private upload does not even exist for carol.
    let e = catalog::edit_track(&core, &carol, &bobs, edit("Carol's", "Carol", None))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound("track")), "{e:?}");
    catalog::edit_track(
        &core,
        &bob,
        &bobs,
        edit("Bob Demo (take 2)", "Bob", Some("Bob Tapes")),
    )
    .await
    .unwrap();
    assert_eq!(
        library::list_tracks(&core, &bob).await.unwrap()[0].title,
        "Bob Demo (take 2)"
    );

    // Albums as a whole: only when every track is theirs; merges and artists: admins.
    let shared_album = library::list_tracks(&core, &admin_user).await.unwrap();
    let shared_album = shared_album
        .iter()
        .find(|t| t.title == "Shared Song")
        .unwrap()
        .album_id
        .clone()
        .unwrap();
    let bob_album = library::list_tracks(&core, &bob).await.unwrap();
    let bob_album = bob_album
        .iter()
        .find(|t| t.title.starts_with("Bob Demo"))
        .unwrap()
        .album_id
        .clone()
        .unwrap();
    let album_edit = AlbumEdit {
        title: "Renamed".into(),
        artist: "Bob".into(),
        year: None,
    };
    let e = catalog::edit_album(&core, &bob, &shared_album, album_edit.clone())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden), "{e:?}");
    assert!(
        !catalog::may_edit_album(&core, &bob, &shared_album)
            .await
            .unwrap()
    );
    assert!(
        catalog::may_edit_album(&core, &bob, &bob_album)
            .await
            .unwrap()
    );
    assert!(
        catalog::may_edit_album(&core, &admin_user, &bob_album)
            .await
            .unwrap()
    );
    catalog::edit_album(&core, &bob, &bob_album, album_edit)
        .await
        .unwrap();
    let e = catalog::merge_albums(&core, &bob, &bob_album, &shared_album)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden), "{e:?}");
    let band = library::list_tracks(&core, &admin_user).await.unwrap()[0]
        .artist_id
        .clone();
    for e in [
        catalog::delete_artist(&core, &bob, &band)
            .await
            .unwrap_err(),
        catalog::rename_artist(&core, &bob, &band, "Bob")
            .await
            .unwrap_err(),
        catalog::delete_album(&core, &bob, &shared_album)
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(e, Error::Forbidden), "{e:?}");
    }
    assert_eq!(library::list_tracks(&core, &carol).await.unwrap().len(), 1);
}

async fn merging_albums_takes_tracks_likes_plays_and_playlist_entries_along(b: Backend) {
    let (core, _d) = b.core().await;
    let (admin_user, bob, _) = users(&core).await;
    let a1 = shared(
        &core,
        &admin_user,
        "Intro",
        "Oasis",
        Some("Definitely Maybe (Remaster)"),
    )
    .await;
    let a2 = shared(
        &core,
        &admin_user,
        "Live Forever",
        "Oasis",
        Some("Definitely Maybe (Remaster)"),
    )
    .await;
    let b1 = shared(
        &core,
        &admin_user,
        "Supersonic",
        "Oasis",
        Some("Definitely Maybe"),
    )
    .await;
    let tracks = library::list_tracks(&core, &bob).await.unwrap();
    let album_of = |id: &str| {
        tracks
            .iter()
            .find(|t| t.id == id)
            .unwrap()
            .album_id
            .clone()
            .unwrap()
    };
    let (from, into) = (album_of(&a1), album_of(&b1));
    library::set_liked(&core, &bob, &a2, true).await.unwrap();
    library::set_album_liked(&core, &bob, &from, true)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO play_counts (user_id, track_id, plays, last_played_at) VALUES ($1, $2, 1, 1)",
    )
    .bind(&bob.id)
    .bind(&a1)
    .execute(&core.db)
    .await
    .unwrap();
    let list = playlists::create(&core, &bob, "Road trip", "", false)
        .await
        .unwrap();
    playlists::add_tracks(&core, &bob, &list.id, &[a1.clone(), b1.clone()])
        .await
        .unwrap();

    catalog::merge_albums(&core, &admin_user, &from, &into)
        .await
        .unwrap();

    let (album, on_it) = library::album(&core, &bob, &into).await.unwrap();
    assert_eq!(album.tracks, 3);
    assert!(album.liked, "the like of the merged album moved over");
    let mut titles: Vec<_> = on_it.iter().map(|t| t.title.as_str()).collect();
    titles.sort();
    assert_eq!(titles, ["Intro", "Live Forever", "Supersonic"]);
    assert!(on_it.iter().any(|t| t.title == "Live Forever" && t.liked));
    assert!(on_it.iter().any(|t| t.title == "Intro" && t.plays == 1));
    let page = playlists::get(&core, &bob, &list.id).await.unwrap();
    assert_eq!(page.entries.len(), 2);
    assert_eq!(
        page.entries[0].track.album.as_deref(),
        Some("Definitely Maybe")
    );
    let e = library::album(&core, &bob, &from).await.unwrap_err();
    assert!(matches!(e, Error::NotFound("album")), "{e:?}");
    assert_eq!(
        found(&core, &bob, "remaster").await,
        (vec![], vec![], vec![])
    );
    assert_eq!(found(&core, &bob, "intro definitely").await.0, ["Intro"]);
    assert_eq!(library::liked_albums(&core, &bob).await.unwrap().len(), 1);

    // Renaming an album to another album of the same artist merges them too.
    let c1 = shared(
        &core,
        &admin_user,
        "Slide Away",
        "Oasis",
        Some("Definitely Maybe [Deluxe]"),
    )
    .await;
    let c_album = library::list_tracks(&core, &bob)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.id == c1)
        .unwrap()
        .album_id
        .unwrap();
    let result = catalog::edit_album(
        &core,
        &admin_user,
        &c_album,
        AlbumEdit {
            title: "definitely maybe".into(),
            artist: "Oasis".into(),
            year: Some(1994),
        },
    )
    .await
    .unwrap();
    assert_eq!(result, into);
    let (album, _) = library::album(&core, &bob, &into).await.unwrap();
    assert_eq!((album.tracks, album.year), (4, Some(1994)));
    let actions = audit_actions(&core, &admin_user).await;
    assert!(actions.contains(&"catalog.album.merge".to_string()));
    assert!(actions.contains(&"catalog.album.edit".to_string()));
}

async fn merging_artists_joins_their_albums(b: Backend) {
    let (core, _d) = b.core().await;
    let (admin_user, bob, _) = users(&core).await;
    shared(&core, &admin_user, "Creep", "Radiohed", Some("Pablo Honey")).await;
    shared(
        &core,
        &admin_user,
        "Airbag",
        "Radiohed",
        Some("OK Computer"),
    )
    .await;
    shared(
        &core,
        &admin_user,
        "Karma Police",
        "Radiohead",
        Some("OK Computer"),
    )
    .await;
    let artists = library::artists_page(&core, &bob, 0, 10).await.unwrap();
    let id_of = |n: &str| artists.iter().find(|a| a.name == n).unwrap().id.clone();
    let (typo, right) = (id_of("Radiohed"), id_of("Radiohead"));

    catalog::merge_artists(&core, &admin_user, &typo, &right)
        .await
        .unwrap();

    let (artist, albums, top) = library::artist(&core, &bob, &right).await.unwrap();
    assert_eq!(artist.tracks, 3);
    let mut names: Vec<_> = albums
        .iter()
        .map(|a| (a.title.as_str(), a.tracks))
        .collect();
    names.sort();
    assert_eq!(names, [("OK Computer", 2), ("Pablo Honey", 1)]);
    assert_eq!(top.len(), 3);
    assert!(library::artist(&core, &bob, &typo).await.is_err());
    assert_eq!(
        found(&core, &bob, "radiohed").await.2,
        ["Radiohead"],
        "typo tolerance still finds the right one"
    );
    assert_eq!(found(&core, &bob, "creep radiohead").await.0, ["Creep"]);
    assert_eq!(
        library::albums_page(&core, &bob, false, 0, 10)
            .await
            .unwrap()
            .len(),
        2
    );

    // Renaming an artist to another's name merges them; renaming otherwise renames.
    shared(
        &core,
        &admin_user,
        "Everything In Its Right Place",
        "radiohead.",
        Some("Kid A"),
    )
    .await;
    let dotted = library::artists_page(&core, &bob, 0, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.name == "radiohead.")
        .unwrap()
        .id;
    let kept = catalog::rename_artist(&core, &admin_user, &dotted, "Radiohead")
        .await
        .unwrap();
    assert_eq!(kept, right);
    assert_eq!(
        library::artist(&core, &bob, &right).await.unwrap().0.tracks,
        4
    );
    catalog::rename_artist(&core, &admin_user, &right, "Radiohead (UK)")
        .await
        .unwrap();
    assert_eq!(found(&core, &bob, "kid a").await.1, ["Kid A"]);
    assert_eq!(
        found(&core, &bob, "radiohead uk").await.2,
        ["Radiohead (UK)"]
    );
    let e = catalog::merge_artists(&core, &admin_user, &right, &right)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Invalid(_)), "{e:?}");
}

async fn deleting_an_album_or_artist_takes_everything_under_it(b: Backend) {
    let (core, _d) = b.core().await;
    let (admin_user, bob, _) = users(&core).await;
    let t1 = shared(
        &core,
        &admin_user,
        "Teardrop",
        "Massive Attack",
        Some("Mezzanine"),
    )
    .await;
    shared(
        &core,
        &admin_user,
        "Angel",
        "Massive Attack",
        Some("Mezzanine"),
    )
    .await;
    shared(
        &core,
        &admin_user,
        "Unfinished Sympathy",
        "Massive Attack",
        Some("Blue Lines"),
    )
    .await;
    shared(&core, &admin_user, "Glory Box", "Portishead", Some("Dummy")).await;
    library::set_liked(&core, &bob, &t1, true).await.unwrap();
    let list = playlists::create(&core, &bob, "Trip hop", "", false)
        .await
        .unwrap();
    playlists::add_tracks(&core, &bob, &list.id, std::slice::from_ref(&t1))
        .await
        .unwrap();
    let tracks = library::list_tracks(&core, &bob).await.unwrap();
    let mezzanine = tracks
        .iter()
        .find(|t| t.id == t1)
        .unwrap()
        .album_id
        .clone()
        .unwrap();
    let massive = tracks
        .iter()
        .find(|t| t.id == t1)
        .unwrap()
        .artist_id
        .clone();

    assert_eq!(
        catalog::delete_album(&core, &admin_user, &mezzanine)
            .await
            .unwrap(),
        2
    );
    assert!(library::liked_tracks(&core, &bob).await.unwrap().is_empty());
    assert!(
        playlists::get(&core, &bob, &list.id)
            .await
            .unwrap()
            .entries
            .is_empty()
    );
    assert_eq!(
        found(&core, &bob, "mezzanine teardrop").await,
        (vec![], vec![], vec![])
    );
    assert_eq!(library::list_tracks(&core, &bob).await.unwrap().len(), 2);

    assert_eq!(
        catalog::delete_artist(&core, &admin_user, &massive)
            .await
            .unwrap(),
        1
    );
    let left: Vec<_> = library::list_tracks(&core, &bob)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.title)
        .collect();
    assert_eq!(left, ["Glory Box"]);
    assert_eq!(
        found(&core, &bob, "massive").await,
        (vec![], vec![], vec![])
    );
    let albums = library::albums_page(&core, &bob, false, 0, 10)
        .await
        .unwrap();
    assert_eq!(
        albums.iter().map(|a| a.title.as_str()).collect::<Vec<_>>(),
        ["Dummy"]
    );
    let e = catalog::delete_artist(&core, &admin_user, &massive)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound("artist")), "{e:?}");
    let actions = audit_actions(&core, &admin_user).await;
    assert!(actions.contains(&"catalog.album.delete".to_string()));
    assert!(actions.contains(&"catalog.artist.delete".to_string()));
}

async fn a_bulk_edit_sets_a_field_on_all_or_none(b: Backend) {
    let (core, _d) = b.core().await;
    let (admin_user, bob, _) = users(&core).await;
    let mut ids = Vec::new();
    for title in ["One", "Two", "Three"] {
        ids.push(shared(&core, &admin_user, title, "Various", None).await);
    }
    let bobs = seed_track(
        &core,
        &bob.id,
        SeedTrack {
            title: "Bob's",
            artist: "Bob",
            ..Default::default()
        },
    )
    .await;

    // One track bob may not edit: nothing changes.
    let e = catalog::set_field(
        &core,
        &bob,
        &[bobs.clone(), ids[0].clone()],
        Field::Genre,
        "Jazz",
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Forbidden), "{e:?}");
    assert_eq!(
        catalog::track_for_edit(&core, &bob, &bobs)
            .await
            .unwrap()
            .genre,
        None
    );
    // A value that does not fit: nothing changes either.
    let e = catalog::set_field(&core, &admin_user, &ids, Field::Year, "nineteen")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Invalid(_)), "{e:?}");

    assert_eq!(
        catalog::set_field(&core, &admin_user, &ids, Field::Album, "Sampler")
            .await
            .unwrap(),
        3
    );
    catalog::set_field(&core, &admin_user, &ids, Field::Year, "2001")
        .await
        .unwrap();
    for id in &ids {
        let t = catalog::track_for_edit(&core, &admin_user, id)
            .await
            .unwrap();
        assert_eq!((t.album.as_deref(), t.year), (Some("Sampler"), Some(2001)));
    }
    let albums = library::albums_page(&core, &bob, false, 0, 10)
        .await
        .unwrap();
    assert_eq!(albums.len(), 1);
    assert_eq!((albums[0].title.as_str(), albums[0].tracks), ("Sampler", 3));
    assert_eq!(found(&core, &bob, "sampler").await.0.len(), 3);
    // Clearing the album takes the tracks off it, and the empty album goes.
    catalog::set_field(&core, &admin_user, &ids, Field::Album, "")
        .await
        .unwrap();
    assert!(
        library::albums_page(&core, &bob, false, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let e = catalog::set_field(&core, &admin_user, &[], Field::Genre, "x")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Invalid(_)), "{e:?}");
    assert!(
        audit_actions(&core, &admin_user)
            .await
            .contains(&"catalog.tracks.bulk".to_string())
    );
}

async fn an_album_cover_upload_replaces_every_tracks_cover(b: Backend) {
    let (core, _d) = b.core().await;
    let (admin_user, bob, _) = users(&core).await;
    let t1 = shared(&core, &admin_user, "A", "Cover Band", Some("Covers")).await;
    shared(&core, &admin_user, "B", "Cover Band", Some("Covers")).await;
    let album = library::list_tracks(&core, &bob).await.unwrap()[0]
        .album_id
        .clone()
        .unwrap();
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        640,
        480,
        image::Rgb([200, 30, 30]),
    ))
    .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
    .unwrap();

    let e = catalog::set_album_cover(&core, &bob, &album, png.clone().into())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden), "{e:?}");
    let e = catalog::set_album_cover(&core, &admin_user, &album, b"not a picture".to_vec().into())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Invalid(_)), "{e:?}");
    assert!(
        library::list_tracks(&core, &bob)
            .await
            .unwrap()
            .iter()
            .all(|t| !t.has_cover)
    );

    catalog::set_album_cover(&core, &admin_user, &album, png.into())
        .await
        .unwrap();
    let tracks = library::list_tracks(&core, &bob).await.unwrap();
    assert!(tracks.iter().all(|t| t.has_cover));
    let cover = library::cover_object(&core, &bob, &t1, Some(64))
        .await
        .unwrap();
    let jpeg = core.storage.get_bytes(&cover.key).await.unwrap();
    let img = image::load_from_memory(&jpeg).unwrap();
    assert_eq!((img.width(), img.height()), (96, 96));
    let full = library::cover_object(&core, &bob, &t1, None).await.unwrap();
    let img = image::load_from_memory(&core.storage.get_bytes(&full.key).await.unwrap()).unwrap();
    assert_eq!(
        (img.width(), img.height()),
        (480, 480),
        "the centre square, not scaled up"
    );
    assert!(
        library::album(&core, &bob, &album)
            .await
            .unwrap()
            .0
            .cover_track_id
            .is_some()
    );
}

backend::on_both_databases!(
    editing_a_track_moves_it_and_search_follows,
    listeners_edit_only_their_own_uploads,
    merging_albums_takes_tracks_likes_plays_and_playlist_entries_along,
    merging_artists_joins_their_albums,
    deleting_an_album_or_artist_takes_everything_under_it,
    a_bulk_edit_sets_a_field_on_all_or_none,
    an_album_cover_upload_replaces_every_tracks_cover,
);
