//! Downloads for offline listening, on both databases: a download's manifest holds exactly
//! the tracks its user may play, each with a stream grant for that user.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::{self, CurrentUser};
use backend::downloads::{Collection, manifest};
use backend::testing::{Backend, SeedTrack, seed_track};
use backend::{Core, Error, library, playback, playlists};

const PW: &str = "violet-harbour-87";

async fn song(core: &Core, owner: &CurrentUser, title: &str, no: i64, shared: bool) -> String {
    seed_track(
        core,
        &owner.id,
        SeedTrack {
            title,
            artist: "Offline Band",
            album: Some("Carry On"),
            track_no: Some(no),
            shared,
            ..Default::default()
        },
    )
    .await
}

async fn titles(core: &Core, user: &CurrentUser, c: Collection) -> Vec<String> {
    manifest(core, user, &c)
        .await
        .unwrap()
        .tracks
        .into_iter()
        .map(|t| t.track.title)
        .collect()
}

async fn a_download_holds_only_what_its_user_may_play(b: Backend) {
    let (core, _d) = b.core().await;
    let owner = auth::signup(&core, "owner@example.com", PW).await.unwrap();
    let other = auth::signup(&core, "other@example.com", PW).await.unwrap();
    let guest = auth::signup(&core, "guest@example.com", PW).await.unwrap();
    let one = song(&core, &owner, "One", 1, true).await;
    let two = song(&core, &owner, "Two", 2, true).await;
    // Another listener's personal upload, tagged into the same album.
    let private = song(&core, &other, "Private Three", 3, false).await;
    let album_id: String = sqlx::query_scalar("SELECT album_id FROM tracks WHERE id = $1")
        .bind(&one)
        .fetch_one(&core.db)
        .await
        .unwrap();
    let same_album: String = sqlx::query_scalar("SELECT album_id FROM tracks WHERE id = $1")
        .bind(&private)
        .fetch_one(&core.db)
        .await
        .unwrap();
    assert_eq!(same_album, album_id, "tagged into the same album");

    let album = Collection::Album(album_id.clone());
    let m = manifest(&core, &guest, &album).await.unwrap();
    assert_eq!(m.key, format!("album:{album_id}"));
    assert_eq!(m.name, "Carry On");
    assert_eq!(m.pending, 0);
    let got: Vec<_> = m.tracks.iter().map(|t| t.track.title.as_str()).collect();
    assert_eq!(
        got,
        ["One", "Two"],
        "the other listener's upload stays theirs"
    );
    assert_eq!(
        titles(&core, &other, album.clone()).await,
        ["One", "Two", "Private Three"]
    );

    // Each track's grant plays for this user, and only for them.
    let grant = &m.tracks[0].stream.url;
    let token = grant.split_once("?t=").unwrap().1;
    assert!(grant.starts_with(&format!("/stream/{one}?t=")));
    let ok = playback::authorize_stream(&core, Some(token), &one, Some(&guest.id))
        .await
        .unwrap();
    assert!(ok.is_ok(), "the guest's grant plays for the guest");
    let theirs = playback::authorize_stream(&core, Some(token), &one, Some(&owner.id))
        .await
        .unwrap();
    assert!(theirs.is_err(), "someone else's session cannot use it");

    // A public playlist holding a personal upload: its owner downloads all of it, anyone
    // else only what they may play. A track listed twice is stored once.
    let mix = playlists::create(&core, &other, "Mix", "", true)
        .await
        .unwrap();
    playlists::add_tracks(
        &core,
        &other,
        &mix.id,
        &[private.clone(), two.clone(), two.clone()],
    )
    .await
    .unwrap();
    let mix_key = Collection::Playlist(mix.id.clone());
    assert_eq!(
        titles(&core, &other, mix_key.clone()).await,
        ["Private Three", "Two"]
    );
    assert_eq!(titles(&core, &guest, mix_key).await, ["Two"]);
    // A private playlist cannot be downloaded by anyone else.
    let secret = playlists::create(&core, &other, "Secret", "", false)
        .await
        .unwrap();
    playlists::add_tracks(&core, &other, &secret.id, std::slice::from_ref(&two))
        .await
        .unwrap();
    let refused = manifest(&core, &guest, &Collection::Playlist(secret.id.clone())).await;
    assert!(matches!(refused, Err(Error::NotFound(_))), "{refused:?}");

    // Liked Songs are the user's own likes.
    library::set_liked(&core, &guest, &one, true).await.unwrap();
    assert_eq!(titles(&core, &guest, Collection::Liked).await, ["One"]);
    assert!(titles(&core, &owner, Collection::Liked).await.is_empty());

    // An album that does not exist is not found.
    let gone = manifest(&core, &guest, &Collection::Album("no-such-album".into())).await;
    assert!(matches!(gone, Err(Error::NotFound(_))), "{gone:?}");
}

async fn tracks_whose_audio_is_not_made_yet_are_counted_not_included(b: Backend) {
    let (core, _d) = b.core().await;
    let me = auth::signup(&core, "me@example.com", PW).await.unwrap();
    let ready = song(&core, &me, "Ready", 1, false).await;
    let waiting = song(&core, &me, "Waiting", 2, false).await;
    sqlx::query("UPDATE tracks SET rendition_ready = 0 WHERE id = $1")
        .bind(&waiting)
        .execute(&core.db)
        .await
        .unwrap();
    let pl = playlists::create(&core, &me, "Both", "", false)
        .await
        .unwrap();
    playlists::add_tracks(&core, &me, &pl.id, &[ready, waiting])
        .await
        .unwrap();
    let m = manifest(&core, &me, &Collection::Playlist(pl.id))
        .await
        .unwrap();
    assert_eq!(m.pending, 1);
    let got: Vec<_> = m.tracks.iter().map(|t| t.track.title.as_str()).collect();
    assert_eq!(got, ["Ready"]);
}

backend::on_both_databases!(
    a_download_holds_only_what_its_user_may_play,
    tracks_whose_audio_is_not_made_yet_are_counted_not_included,
);
