//! The play queue on both databases: kept across sessions, only playable tracks, deleted
//! tracks skipped, limits.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::{self, CurrentUser};
use backend::testing::{Backend, SeedTrack, seed_track};
use backend::{Core, Error, library, queue};

const PW: &str = "violet-harbour-87";

async fn tracks(core: &Core, owner: &CurrentUser, n: usize, shared: bool) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let title = format!("Song {i}");
        ids.push(
            seed_track(
                core,
                &owner.id,
                SeedTrack {
                    title: &title,
                    artist: "Queue Band",
                    shared,
                    ..Default::default()
                },
            )
            .await,
        );
    }
    ids
}

fn titles(q: &queue::QueueState) -> Vec<&str> {
    q.tracks.iter().map(|t| t.title.as_str()).collect()
}

async fn the_queue_and_position_persist_per_listener(b: Backend) {
    let (core, _d) = b.core().await;
    let me = auth::signup(&core, "me@example.com", PW).await.unwrap();
    let other = auth::signup(&core, "other@example.com", PW).await.unwrap();
    let ids = tracks(&core, &me, 3, true).await;
    assert_eq!(
        queue::get(&core, &me).await.unwrap(),
        queue::QueueState::default()
    );

    // Reordered, one track twice, current is the third entry, 42 s in.
    let order = vec![
        ids[2].clone(),
        ids[0].clone(),
        ids[1].clone(),
        ids[0].clone(),
    ];
    queue::save(&core, &me, order, 2, 42_000).await.unwrap();
    let q = queue::get(&core, &me).await.unwrap();
    assert_eq!(titles(&q), ["Song 2", "Song 0", "Song 1", "Song 0"]);
    assert_eq!((q.index, q.position_ms), (2, 42_000));

    queue::save_position(&core, &me, 3, 1_500).await.unwrap();
    let q = queue::get(&core, &me).await.unwrap();
    assert_eq!((q.index, q.position_ms), (3, 1_500));
    let r = queue::save_position(&core, &me, 4, 0).await;
    assert!(matches!(r, Err(Error::Invalid(_))), "{r:?}");

    // Someone else's queue is their own.
    assert!(queue::get(&core, &other).await.unwrap().tracks.is_empty());
    let r = queue::save_position(&core, &other, 0, 0).await;
    assert!(matches!(r, Err(Error::NotFound("queue"))), "{r:?}");

    // Emptied.
    queue::save(&core, &me, vec![], 0, 0).await.unwrap();
    assert!(queue::get(&core, &me).await.unwrap().tracks.is_empty());
}

async fn only_playable_tracks_can_be_queued(b: Backend) {
    let (core, _d) = b.core().await;
    let me = auth::signup(&core, "me@example.com", PW).await.unwrap();
    let other = auth::signup(&core, "other@example.com", PW).await.unwrap();
    let mine = tracks(&core, &me, 1, false).await;
    let theirs = tracks(&core, &other, 1, false).await;
    let r = queue::save(&core, &me, vec![mine[0].clone(), theirs[0].clone()], 0, 0).await;
    assert!(matches!(r, Err(Error::NotFound("track"))), "{r:?}");
    let r = queue::save(&core, &me, vec!["nope".into()], 0, 0).await;
    assert!(matches!(r, Err(Error::NotFound("track"))), "{r:?}");
    let r = queue::save(&core, &me, vec![mine[0].clone()], 1, 0).await;
    assert!(
        matches!(r, Err(Error::Invalid(_))),
        "index past the end: {r:?}"
    );
    let r = queue::save(&core, &me, vec![mine[0].clone()], 0, -1).await;
    assert!(matches!(r, Err(Error::Invalid(_))), "{r:?}");
    let r = queue::save(
        &core,
        &me,
        vec![mine[0].clone(); queue::MAX_QUEUE + 1],
        0,
        0,
    )
    .await;
    assert!(matches!(r, Err(Error::Invalid(_))), "too long: {r:?}");
    queue::save(&core, &me, vec![mine[0].clone(); queue::MAX_QUEUE], 0, 0)
        .await
        .unwrap();
    assert_eq!(
        queue::get(&core, &me).await.unwrap().tracks.len(),
        queue::MAX_QUEUE
    );
    // Nothing refused was stored.
    assert!(queue::get(&core, &other).await.unwrap().tracks.is_empty());
}

async fn deleted_tracks_drop_out_and_the_position_follows(b: Backend) {
    let (core, _d) = b.core().await;
    let me = auth::signup(&core, "me@example.com", PW).await.unwrap();
    let ids = tracks(&core, &me, 4, false).await;
    queue::save(&core, &me, ids.clone(), 2, 10_000)
        .await
        .unwrap();
    // A track before the current one goes: same track stays current.
    library::delete_track(&core, &me, &ids[0]).await.unwrap();
    let q = queue::get(&core, &me).await.unwrap();
    assert_eq!(titles(&q), ["Song 1", "Song 2", "Song 3"]);
    assert_eq!((q.index, q.position_ms), (1, 10_000));
    // The current one goes: the next one is current, from its start.
    library::delete_track(&core, &me, &ids[2]).await.unwrap();
    let q = queue::get(&core, &me).await.unwrap();
    assert_eq!(titles(&q), ["Song 1", "Song 3"]);
    assert_eq!((q.index, q.position_ms), (1, 0));
    // The last one goes too: the index stays within the queue.
    library::delete_track(&core, &me, &ids[3]).await.unwrap();
    let q = queue::get(&core, &me).await.unwrap();
    assert_eq!(titles(&q), ["Song 1"]);
    assert_eq!(q.index, 0);
}

backend::on_both_databases!(
    the_queue_and_position_persist_per_listener,
    only_playable_tracks_can_be_queued,
    deleted_tracks_drop_out_and_the_position_follows,
);
