//! Playlists on both databases: ordering, limits, and who may see, play, copy and change
//! them (the cross-user cases).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::{self, CurrentUser};
use backend::testing::{Backend, SeedTrack, seed_track};
use backend::{Core, Error, playlists, search};

const PW: &str = "violet-harbour-87";

async fn song(core: &Core, owner: &CurrentUser, title: &str, shared: bool) -> String {
    seed_track(
        core,
        &owner.id,
        SeedTrack {
            title,
            artist: "List Makers",
            shared,
            ..Default::default()
        },
    )
    .await
}

async fn order(core: &Core, user: &CurrentUser, id: &str) -> Vec<String> {
    playlists::get(core, user, id)
        .await
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.track.title)
        .collect()
}

async fn entry(core: &Core, user: &CurrentUser, id: &str, at: usize) -> String {
    playlists::get(core, user, id).await.unwrap().entries[at]
        .entry_id
        .clone()
}

async fn tracks_keep_their_order_through_moves_and_removals(b: Backend) {
    let (core, _d) = b.core().await;
    let me = auth::signup(&core, "me@example.com", PW).await.unwrap();
    let mut ids = Vec::new();
    for t in ["A", "B", "C", "D"] {
        ids.push(song(&core, &me, t, true).await);
    }
    let pl = playlists::create(&core, &me, "  Road Trip ", "for the car", false)
        .await
        .unwrap();
    assert_eq!(pl.name, "Road Trip");
    playlists::add_tracks(&core, &me, &pl.id, &ids)
        .await
        .unwrap();
    playlists::add_tracks(&core, &me, &pl.id, &ids[..1])
        .await
        .unwrap(); // A again
    assert_eq!(order(&core, &me, &pl.id).await, ["A", "B", "C", "D", "A"]);

    let d = entry(&core, &me, &pl.id, 3).await;
    playlists::move_entry(&core, &me, &pl.id, &d, 0)
        .await
        .unwrap();
    assert_eq!(order(&core, &me, &pl.id).await, ["D", "A", "B", "C", "A"]);
    let a = entry(&core, &me, &pl.id, 1).await;
    playlists::move_entry(&core, &me, &pl.id, &a, 4)
        .await
        .unwrap();
    assert_eq!(order(&core, &me, &pl.id).await, ["D", "B", "C", "A", "A"]);
    let b_entry = entry(&core, &me, &pl.id, 1).await;
    playlists::remove_entry(&core, &me, &pl.id, &b_entry)
        .await
        .unwrap();
    assert_eq!(order(&core, &me, &pl.id).await, ["D", "C", "A", "A"]);
    // Positions stayed dense: moving to the last place works, past it does not.
    let c = entry(&core, &me, &pl.id, 1).await;
    playlists::move_entry(&core, &me, &pl.id, &c, 3)
        .await
        .unwrap();
    assert_eq!(order(&core, &me, &pl.id).await, ["D", "A", "A", "C"]);
    let r = playlists::move_entry(&core, &me, &pl.id, &c, 4).await;
    assert!(matches!(r, Err(Error::Invalid(_))), "{r:?}");

    // A deleted track leaves the playlist.
    backend::library::delete_track(&core, &me, &ids[0])
        .await
        .unwrap();
    assert_eq!(order(&core, &me, &pl.id).await, ["D", "C"]);
    let page = playlists::get(&core, &me, &pl.id).await.unwrap();
    assert_eq!(page.playlist.tracks, 2);
    assert!(page.can_edit);

    playlists::update(&core, &me, &pl.id, "Long Drive", "", true)
        .await
        .unwrap();
    let mine = playlists::list_mine(&core, &me).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0].name.as_str(), mine[0].public),
        ("Long Drive", true)
    );
    // Search follows the new name.
    let found = |q: &'static str| {
        let (core, me) = (&core, &me);
        async move { search::search(core, me, q).await.unwrap().playlists.len() }
    };
    assert_eq!(found("long drive").await, 1);
    assert_eq!(found("drive").await, 1);
    assert_eq!(found("road trip").await, 0, "the old name is forgotten");
    assert_eq!(found("car").await, 0, "and the old description");
}

async fn bad_input_is_refused_and_changes_nothing(b: Backend) {
    let (core, _d) = b.core().await;
    let me = auth::signup(&core, "me@example.com", PW).await.unwrap();
    let other = auth::signup(&core, "other@example.com", PW).await.unwrap();
    for name in ["", "   ", &"x".repeat(playlists::MAX_NAME_CHARS + 1)] {
        let r = playlists::create(&core, &me, name, "", false).await;
        assert!(matches!(r, Err(Error::Invalid(_))), "{name:?}: {r:?}");
    }
    let long = "d".repeat(playlists::MAX_DESCRIPTION_CHARS + 1);
    let r = playlists::create(&core, &me, "ok", &long, false).await;
    assert!(matches!(r, Err(Error::Invalid(_))), "{r:?}");
    assert!(playlists::list_mine(&core, &me).await.unwrap().is_empty());

    let pl = playlists::create(&core, &me, "Mine", "", false)
        .await
        .unwrap();
    let mine = song(&core, &me, "Ok", true).await;
    let theirs = song(&core, &other, "Their Secret", false).await;
    // One track they may not play spoils the whole batch: nothing is added.
    let r = playlists::add_tracks(&core, &me, &pl.id, &[mine.clone(), theirs]).await;
    assert!(matches!(r, Err(Error::NotFound("track"))), "{r:?}");
    assert!(order(&core, &me, &pl.id).await.is_empty());
    let r = playlists::remove_entry(&core, &me, &pl.id, "no-such-entry").await;
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
}

async fn others_may_open_play_and_copy_a_public_playlist_but_never_change_it(b: Backend) {
    let (core, _d) = b.core().await;
    let owner = auth::signup(&core, "owner@example.com", PW).await.unwrap();
    let guest = auth::signup(&core, "guest@example.com", PW).await.unwrap();
    let shared = song(&core, &owner, "Shared Song", true).await;
    let personal = song(&core, &owner, "Owner's Demo", false).await;
    let guests = song(&core, &guest, "Guest Song", true).await;
    let pl = playlists::create(&core, &owner, "Sunday Mix", "", false)
        .await
        .unwrap();
    playlists::add_tracks(&core, &owner, &pl.id, &[shared.clone(), personal.clone()])
        .await
        .unwrap();

    // Private: not found for the guest, whatever they try, and not in their search.
    let r = playlists::get(&core, &guest, &pl.id).await;
    assert!(matches!(r, Err(Error::NotFound("playlist"))), "{r:?}");
    let r = playlists::copy(&core, &guest, &pl.id).await;
    assert!(matches!(r, Err(Error::NotFound("playlist"))), "{r:?}");
    let r = playlists::add_tracks(&core, &guest, &pl.id, std::slice::from_ref(&guests)).await;
    assert!(matches!(r, Err(Error::NotFound("playlist"))), "{r:?}");
    let r = playlists::update(&core, &guest, &pl.id, "Hacked", "", true).await;
    assert!(matches!(r, Err(Error::NotFound("playlist"))), "{r:?}");
    let r = playlists::delete(&core, &guest, &pl.id).await;
    assert!(matches!(r, Err(Error::NotFound("playlist"))), "{r:?}");
    assert!(
        search::search(&core, &guest, "sunday")
            .await
            .unwrap()
            .playlists
            .is_empty()
    );
    assert_eq!(
        search::search(&core, &owner, "sunday")
            .await
            .unwrap()
            .playlists
            .len(),
        1
    );

    // Public: the guest opens it and sees only what they may play.
    playlists::update(&core, &owner, &pl.id, "Sunday Mix", "", true)
        .await
        .unwrap();
    let page = playlists::get(&core, &guest, &pl.id).await.unwrap();
    assert!(!page.can_edit);
    let titles: Vec<_> = page
        .entries
        .iter()
        .map(|e| e.track.title.as_str())
        .collect();
    assert_eq!(
        titles,
        ["Shared Song"],
        "the owner's personal upload stays theirs"
    );
    assert_eq!(page.playlist.tracks, 1);
    let found = search::search(&core, &guest, "sunday")
        .await
        .unwrap()
        .playlists;
    assert_eq!(found.len(), 1);
    // ... but cannot change it in any way.
    let r = playlists::add_tracks(&core, &guest, &pl.id, std::slice::from_ref(&guests)).await;
    assert!(matches!(r, Err(Error::Forbidden)), "{r:?}");
    let entry_id = page.entries[0].entry_id.clone();
    let r = playlists::remove_entry(&core, &guest, &pl.id, &entry_id).await;
    assert!(matches!(r, Err(Error::Forbidden)), "{r:?}");
    let r = playlists::move_entry(&core, &guest, &pl.id, &entry_id, 1).await;
    assert!(matches!(r, Err(Error::Forbidden)), "{r:?}");
    let r = playlists::update(&core, &guest, &pl.id, "Hacked", "", false).await;
    assert!(matches!(r, Err(Error::Forbidden)), "{r:?}");
    let r = playlists::delete(&core, &guest, &pl.id).await;
    assert!(matches!(r, Err(Error::Forbidden)), "{r:?}");
    assert_eq!(
        order(&core, &owner, &pl.id).await,
        ["Shared Song", "Owner's Demo"]
    );

    // A copy is the guest's own, private, with what they may play.
    let copy = playlists::copy(&core, &guest, &pl.id).await.unwrap();
    assert_eq!(copy.owner_id, guest.id);
    assert!(!copy.public);
    assert_eq!(order(&core, &guest, &copy.id).await, ["Shared Song"]);
    playlists::add_tracks(&core, &guest, &copy.id, &[guests])
        .await
        .unwrap();
    assert_eq!(
        order(&core, &owner, &pl.id).await.len(),
        2,
        "the original is untouched"
    );

    // Deleting the original leaves the copy; the search forgets the original.
    playlists::delete(&core, &owner, &pl.id).await.unwrap();
    assert!(matches!(
        playlists::get(&core, &owner, &pl.id).await,
        Err(Error::NotFound("playlist"))
    ));
    assert_eq!(
        order(&core, &guest, &copy.id).await,
        ["Shared Song", "Guest Song"]
    );
    let found = search::search(&core, &owner, "sunday")
        .await
        .unwrap()
        .playlists;
    assert!(found.is_empty(), "the guest's copy is private: {found:?}");
}

async fn parallel_additions_keep_positions_dense(b: Backend) {
    let (core, _d) = b.core().await;
    let me = auth::signup(&core, "me@example.com", PW).await.unwrap();
    let pl = playlists::create(&core, &me, "Busy", "", false)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(song(&core, &me, &format!("S{i}"), true).await);
    }
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let (core, me, pl, id) = (core.clone(), me.clone(), pl.id.clone(), id.clone());
            tokio::spawn(async move { playlists::add_tracks(&core, &me, &pl, &[id]).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let positions: Vec<i64> = sqlx::query_scalar(
        "SELECT position FROM playlist_tracks WHERE playlist_id = $1 ORDER BY position",
    )
    .bind(&pl.id)
    .fetch_all(&core.db)
    .await
    .unwrap();
    assert_eq!(positions, (0..8).collect::<Vec<i64>>());
}

/// The playlist writes name their owner in the statement itself: a write on behalf of
/// someone else changes nothing even when no check ran before it.
async fn writes_change_only_the_owners_playlist(b: Backend) {
    use backend::playlists::repo;
    let (core, _d) = b.core().await;
    let owner = auth::signup(&core, "owner@example.com", PW).await.unwrap();
    let other = auth::signup(&core, "other@example.com", PW).await.unwrap();
    let pl = playlists::create(&core, &owner, "Mine", "kept", true)
        .await
        .unwrap();
    let mut conn = core.db.acquire().await.unwrap();
    assert!(
        !repo::update(&mut conn, (&pl.id, &other.id), "Taken", "", false, 1)
            .await
            .unwrap()
    );
    assert!(
        !repo::touch(&mut conn, (&pl.id, &other.id), 1)
            .await
            .unwrap()
    );
    assert!(!repo::delete(&mut *conn, (&pl.id, &other.id)).await.unwrap());
    drop(conn);
    let page = playlists::get(&core, &owner, &pl.id).await.unwrap();
    assert_eq!(
        (
            page.playlist.name.as_str(),
            page.playlist.description.as_str(),
            page.playlist.public
        ),
        ("Mine", "kept", true)
    );
    assert_eq!(page.playlist.updated_at, pl.updated_at);
    // Through the service: someone else's public playlist is forbidden to change.
    let r = playlists::update(&core, &other, &pl.id, "Taken", "", false).await;
    assert!(matches!(r, Err(Error::Forbidden)), "{r:?}");
    let r = playlists::delete(&core, &other, &pl.id).await;
    assert!(matches!(r, Err(Error::Forbidden)), "{r:?}");
    // The owner's own writes go through.
    let mut conn = core.db.acquire().await.unwrap();
    assert!(
        repo::update(&mut conn, (&pl.id, &owner.id), "Renamed", "", true, 2)
            .await
            .unwrap()
    );
    drop(conn);
    playlists::delete(&core, &owner, &pl.id).await.unwrap();
}

backend::on_both_databases!(
    writes_change_only_the_owners_playlist,
    parallel_additions_keep_positions_dense,
    tracks_keep_their_order_through_moves_and_removals,
    bad_input_is_refused_and_changes_nothing,
    others_may_open_play_and_copy_a_public_playlist_but_never_change_it,
);
