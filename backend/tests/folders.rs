//! Music folders on both databases: a scan registers new files as shared tracks that are
//! searchable at once; a rescan notices changed, moved and removed files (taking likes
//! with a removed track) and only stats unchanged ones; nothing outside a folder is read;
//! a scanned track plays on first press through a rendition made on demand.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::{self, CurrentUser};
use backend::testing::{Backend, sine_mp3};
use backend::{Core, Error, folders, library, playback, search};
use std::path::Path;

const PW: &str = "violet-harbour-87";

async fn admin_and_listener(core: &Core) -> (CurrentUser, CurrentUser) {
    let a = auth::signup(core, "admin@example.com", PW).await.unwrap();
    let b = auth::signup(core, "bob@example.com", PW).await.unwrap();
    (a, b)
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A FLAC of a sine tone with tags.
fn sine_flac(seconds: u32, title: &str) -> Vec<u8> {
    backend::testing::sine(
        seconds,
        &[
            ("title", title),
            ("artist", "Folder Band"),
            ("album", "Disk Songs"),
        ],
        "flac",
    )
}

async fn titles(core: &Core, user: &CurrentUser) -> Vec<String> {
    let mut t: Vec<String> = library::list_tracks(core, user)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.title)
        .collect();
    t.sort();
    t
}

async fn search_titles(core: &Core, user: &CurrentUser, q: &str) -> Vec<String> {
    search::search(core, user, q)
        .await
        .unwrap()
        .tracks
        .into_iter()
        .map(|t| t.title)
        .collect()
}

async fn scan(core: &Core, admin: &CurrentUser) -> folders::ScanView {
    folders::request_scan(core, admin).await.unwrap();
    let s = folders::run_queued(core)
        .await
        .unwrap()
        .expect("a scan ran");
    assert_eq!(s.state, "done", "{s:?}");
    s
}

async fn scan_keeps_the_catalog_in_step(b: Backend) {
    let (core, _d) = b.core().await;
    let (admin, bob) = admin_and_listener(&core).await;
    let music = tempfile::tempdir().unwrap();
    let root = music.path();
    write(
        &root.join("Folder Band/Disk Songs/01 First.mp3"),
        &sine_mp3(
            2,
            &[("title", "Lighthouse Morning"), ("artist", "Folder Band")],
        ),
    );
    write(
        &root.join("Folder Band/Disk Songs/02 Second.mp3"),
        &sine_mp3(3, &[("title", "Quarry Echo"), ("artist", "Folder Band")]),
    );
    write(&root.join("untagged_tune.mp3"), &sine_mp3(2, &[]));
    write(&root.join("notes.txt"), b"not music");
    write(&root.join("broken.mp3"), b"ID3 this is not an mp3 at all");

    // Only admins name folders.
    let path = root.to_str().unwrap();
    assert!(matches!(
        folders::add_folder(&core, &bob, path).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        folders::request_scan(&core, &bob).await,
        Err(Error::Forbidden)
    ));
    folders::add_folder(&core, &admin, path).await.unwrap();

    let s = scan(&core, &admin).await;
    assert_eq!(
        (s.counts.seen, s.counts.added, s.counts.failed),
        (4, 3, 1),
        "{s:?}"
    );
    assert!(
        s.report.iter().any(|l| l.contains("broken.mp3")),
        "{:?}",
        s.report
    );
    // Shared: the listener sees them, and search finds them at once.
    assert_eq!(
        titles(&core, &bob).await,
        ["Lighthouse Morning", "Quarry Echo", "untagged tune"]
    );
    assert_eq!(
        search_titles(&core, &bob, "lighthouse").await,
        ["Lighthouse Morning"]
    );
    let folders_now = folders::list_folders(&core, &admin).await.unwrap();
    assert_eq!(
        (
            folders_now[0].files,
            folders_now[0].tracks,
            folders_now[0].failed
        ),
        (4, 3, 1)
    );
    let quarry = library::list_tracks(&core, &bob)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.title == "Quarry Echo")
        .unwrap();
    let first = library::list_tracks(&core, &bob)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.title == "Lighthouse Morning")
        .unwrap();
    library::set_liked(&core, &bob, &quarry.id, true)
        .await
        .unwrap();
    // A scanned track is removed in its folder, not in the app.
    assert!(matches!(
        library::delete_track(&core, &admin, &first.id).await,
        Err(Error::Invalid(_))
    ));

    // Nothing changed: nothing is read again.
    let s = scan(&core, &admin).await;
    assert_eq!(
        (
            s.counts.seen,
            s.counts.added,
            s.counts.changed,
            s.counts.removed,
            s.counts.failed
        ),
        (4, 0, 0, 0, 0)
    );

    // Changed tags, a move, a removal.
    write(
        &root.join("Folder Band/Disk Songs/01 First.mp3"),
        &sine_mp3(
            4,
            &[("title", "Lantern Evening"), ("artist", "Folder Band")],
        ),
    );
    std::fs::create_dir_all(root.join("moved")).unwrap();
    std::fs::rename(
        root.join("untagged_tune.mp3"),
        root.join("moved/untagged_tune_renamed.mp3"),
    )
    .unwrap();
    let untagged_id = library::list_tracks(&core, &bob)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.title == "untagged tune")
        .unwrap()
        .id;
    std::fs::remove_file(root.join("Folder Band/Disk Songs/02 Second.mp3")).unwrap();
    let s = scan(&core, &admin).await;
    assert_eq!(
        (
            s.counts.changed,
            s.counts.moved,
            s.counts.removed,
            s.counts.added
        ),
        (1, 1, 1, 0),
        "{s:?}"
    );
    assert_eq!(
        titles(&core, &bob).await,
        ["Lantern Evening", "untagged tune"]
    );
    // The changed file keeps its track, under its new name; search follows.
    let lantern = library::list_tracks(&core, &bob)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.title == "Lantern Evening")
        .unwrap();
    assert_eq!(lantern.id, first.id);
    assert_eq!(
        search_titles(&core, &bob, "lantern").await,
        ["Lantern Evening"]
    );
    assert!(search_titles(&core, &bob, "lighthouse").await.is_empty());
    // The moved file is the same track.
    assert!(
        library::list_tracks(&core, &bob)
            .await
            .unwrap()
            .iter()
            .any(|t| t.id == untagged_id)
    );
    // The removed one left with its like.
    assert!(library::liked_tracks(&core, &bob).await.unwrap().is_empty());

    // An emptied (unmounted) folder keeps its tracks.
    let parked = tempfile::tempdir().unwrap();
    std::fs::rename(root.join("Folder Band"), parked.path().join("fb")).unwrap();
    std::fs::rename(root.join("moved"), parked.path().join("mv")).unwrap();
    std::fs::rename(root.join("broken.mp3"), parked.path().join("b.mp3")).unwrap();
    let s = scan(&core, &admin).await;
    assert_eq!(s.counts.removed, 0);
    assert!(s.report.iter().any(|l| l.contains("unmounted")));
    assert_eq!(titles(&core, &bob).await.len(), 2);
}

async fn folders_never_overlap_or_escape(b: Backend) {
    let (core, _d) = b.core().await;
    let (admin, bob) = admin_and_listener(&core).await;
    let top = tempfile::tempdir().unwrap();
    let music = top.path().join("music");
    let private = top.path().join("music-private");
    write(
        &music.join("in.mp3"),
        &sine_mp3(1, &[("title", "Inside Song")]),
    );
    write(
        &private.join("out.mp3"),
        &sine_mp3(1, &[("title", "Private Song")]),
    );
    std::os::unix::fs::symlink(&private, music.join("sneaky")).unwrap();
    std::os::unix::fs::symlink(private.join("out.mp3"), music.join("link.mp3")).unwrap();
    std::os::unix::fs::symlink(&music, music.join("loop")).unwrap();
    folders::add_folder(&core, &admin, music.to_str().unwrap())
        .await
        .unwrap();
    // A folder inside it, or around it, or Refrain's own data, is refused; so is a
    // relative path or a missing one.
    for bad in [
        music.join("sub"),
        top.path().to_path_buf(),
        core.config.storage.data_dir.clone(),
    ] {
        std::fs::create_dir_all(&bad).unwrap();
        assert!(
            matches!(
                folders::add_folder(&core, &admin, bad.to_str().unwrap()).await,
                Err(Error::Invalid(_))
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        folders::add_folder(&core, &admin, "relative/music").await,
        Err(Error::Invalid(_))
    ));
    // System locations never, whatever the server may read: the message says why.
    for system in ["/", "/etc", "/etc/ssl", "/proc/self", "/root", "/var/lib"] {
        match folders::add_folder(&core, &admin, system).await {
            Err(Error::Invalid(why)) => assert!(why.contains("system folder"), "{system}: {why}"),
            other => panic!("{system} was added: {other:?}"),
        }
    }
    assert!(matches!(
        folders::add_folder(&core, &admin, "/no/such/folder").await,
        Err(Error::Invalid(_))
    ));
    // The sibling with a common prefix is a folder of its own.
    folders::add_folder(&core, &admin, private.to_str().unwrap())
        .await
        .unwrap();
    let list = folders::list_folders(&core, &admin).await.unwrap();
    assert_eq!(list.len(), 2);
    let private_id = list
        .iter()
        .find(|f| f.path.ends_with("music-private"))
        .unwrap()
        .id
        .clone();
    folders::remove_folder(&core, &admin, &private_id)
        .await
        .unwrap();

    let s = scan(&core, &admin).await;
    assert_eq!(titles(&core, &bob).await, ["Inside Song"]);
    let joined = s.report.join("\n");
    assert!(
        joined.contains("sneaky: symlink points outside"),
        "{joined}"
    );
    assert!(
        joined.contains("link.mp3: symlink points outside"),
        "{joined}"
    );
    assert!(joined.contains("loop: folder already walked"), "{joined}");
    // Removing a folder takes its tracks out of the catalog (the files stay).
    let id = folders::list_folders(&core, &admin).await.unwrap()[0]
        .id
        .clone();
    folders::remove_folder(&core, &admin, &id).await.unwrap();
    assert!(titles(&core, &bob).await.is_empty());
    assert!(music.join("in.mp3").exists());
}

async fn scanned_track_plays_on_first_press(b: Backend) {
    let (core, _d) = b.core().await;
    let (admin, bob) = admin_and_listener(&core).await;
    let music = tempfile::tempdir().unwrap();
    write(&music.path().join("a.flac"), &sine_flac(3, "Flac Tide"));
    write(
        &music.path().join("b.mp3"),
        &sine_mp3(3, &[("title", "Mp3 Tide")]),
    );
    folders::add_folder(&core, &admin, music.path().to_str().unwrap())
        .await
        .unwrap();
    scan(&core, &admin).await;
    let tracks = library::list_tracks(&core, &bob).await.unwrap();
    for t in &tracks {
        let info = playback::stream_info(&core, &bob, &t.id).await.unwrap();
        // Copied FLAC, and MP3 (which Media Source does not take in MP4) stored as FLAC.
        assert_eq!(info.mime, "audio/mp4; codecs=\"flac\"", "{}", t.title);
        assert!(info.segments.len() >= 2, "{info:?}");
        assert_eq!(info.priming_secs, 0.0);
        assert!((2900..=3100).contains(&info.duration_ms), "{info:?}");
        let key = format!("renditions/{}.mp4", t.id);
        let bytes = core.storage.get_bytes(&key).await.unwrap();
        assert_eq!(bytes.len() as i64, info.bytes);
        assert_eq!(&bytes[4..8], b"ftyp");
    }
    // Its file gone before anyone played it: a clear error, no rendition.
    write(
        &music.path().join("c.mp3"),
        &sine_mp3(1, &[("title", "Vanishing")]),
    );
    scan(&core, &admin).await;
    std::fs::remove_file(music.path().join("c.mp3")).unwrap();
    let c = library::list_tracks(&core, &bob)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.title == "Vanishing")
        .unwrap();
    assert!(matches!(
        playback::stream_info(&core, &bob, &c.id).await,
        Err(Error::Invalid(_))
    ));
}

async fn one_scan_runs_at_a_time(b: Backend) {
    let (core, _d) = b.core().await;
    let (admin, _) = admin_and_listener(&core).await;
    let first = folders::request_scan(&core, &admin).await.unwrap();
    let again = folders::request_scan(&core, &admin).await.unwrap();
    assert_eq!(first.id, again.id, "a queued scan is not queued twice");
    assert_eq!(first.state, "queued");
    let done = folders::run_queued(&core).await.unwrap().unwrap();
    assert_eq!(done.id, first.id);
    assert!(folders::run_queued(&core).await.unwrap().is_none());
    let latest = folders::latest_scan(&core, &admin).await.unwrap().unwrap();
    assert_eq!(latest.state, "done");
}

/// Polls `check` every 100 ms until it holds; fails after 30 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{what}: not within 30 s");
}

async fn a_watched_folder_takes_changes_in_without_a_rescan(b: Backend) {
    use backend::folders::watch::{self, Timing, WatchState};
    let (core, _d) = b.core().await;
    let (admin, bob) = admin_and_listener(&core).await;
    let top = tempfile::tempdir().unwrap();
    let music = top.path().join("music");
    write(
        &music.join("old.mp3"),
        &sine_mp3(1, &[("title", "Old Song")]),
    );
    folders::add_folder(&core, &admin, music.to_str().unwrap())
        .await
        .unwrap();
    scan(&core, &admin).await;
    let root_id = folders::list_folders(&core, &admin).await.unwrap()[0]
        .id
        .clone();
    let state = std::sync::Arc::new(WatchState::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(watch::run(
        core.clone(),
        Timing {
            check_every: std::time::Duration::from_millis(200),
            quiet_for: std::time::Duration::from_millis(300),
        },
        state.clone(),
        async move {
            let _ = stopped.await;
        },
    ));
    eventually("the folder is watched", || async {
        state.is_watched(&root_id)
    })
    .await;

    // Dropped into a new sub-folder: in the catalog without anyone scanning.
    write(
        &music.join("Band/new.mp3"),
        &sine_mp3(1, &[("title", "New Song")]),
    );
    eventually("the new file is a track", || async {
        titles(&core, &bob).await.contains(&"New Song".to_string())
    })
    .await;
    let latest = folders::latest_scan(&core, &admin).await.unwrap().unwrap();
    assert!(
        latest
            .scope
            .as_deref()
            .unwrap_or("")
            .contains("folder watch"),
        "{latest:?}"
    );
    assert_eq!(
        latest.counts.seen, latest.counts.added,
        "only what changed was looked at"
    );

    std::fs::remove_file(music.join("old.mp3")).unwrap();
    eventually("the removed file's track is gone", || async {
        !titles(&core, &bob).await.contains(&"Old Song".to_string())
    })
    .await;

    // The folder goes away (an unmounted disk) and comes back with a file added
    // meanwhile: nothing is lost, and the new file is found.
    let away = top.path().join("away");
    std::fs::rename(&music, &away).unwrap();
    eventually("the watch notices the folder is gone", || async {
        state.is_missing(&root_id)
    })
    .await;
    write(
        &away.join("back.mp3"),
        &sine_mp3(1, &[("title", "Back Song")]),
    );
    std::fs::rename(&away, &music).unwrap();
    eventually("the folder is watched again", || async {
        state.is_watched(&root_id)
    })
    .await;
    eventually("the returning folder is scanned whole", || async {
        let _ = folders::run_queued(&core).await.unwrap();
        titles(&core, &bob).await.contains(&"Back Song".to_string())
    })
    .await;
    assert_eq!(titles(&core, &bob).await, ["Back Song", "New Song"]);
    stop.send(()).unwrap();
    task.await.unwrap();
}

/// Scanned tracks are inserted without loudness, imports with it, often on the same
/// pooled connection: on PostgreSQL a statement first prepared with a NULL double refused
/// a number afterwards ("incorrect binary data format"), failing the import once.
async fn tracks_with_and_without_loudness_share_a_connection(b: Backend) {
    let (core, _d) = b.core().await;
    let (admin, _) = admin_and_listener(&core).await;
    let mut conn = core.db.acquire().await.unwrap();
    let artist = library::repo::upsert_artist(&mut conn, "Either Way")
        .await
        .unwrap();
    let loud = backend::imports::Loudness {
        lufs: -9.5,
        peak_db: -0.5,
    };
    for (i, loudness) in [None, Some(loud), None].into_iter().enumerate() {
        let job = format!("job-{i}");
        sqlx::query(
            "INSERT INTO import_jobs (id, user_id, filename, original_key, size_bytes, state, created_at, updated_at)
             VALUES ($1, $2, 'f.mp3', '', 1, 'done', 0, 0)",
        )
        .bind(&job)
        .bind(&admin.id)
        .execute(&mut *conn)
        .await
        .unwrap();
        let id = library::repo::insert_track(
            &mut conn,
            &library::NewTrack {
                id: format!("track-{i}"),
                import_job_id: job,
                owner_id: admin.id.clone(),
                shared: true,
                title: format!("Either {i}"),
                artist_id: artist.clone(),
                album_artist_id: None,
                album_id: None,
                track_no: None,
                disc_no: None,
                year: None,
                genre: None,
                lyrics: None,
                duration_ms: 1000,
                original_key: String::new(),
                rendition_key: format!("renditions/track-{i}.mp4"),
                rendition_bytes: 0,
                rendition_mime: String::new(),
                segment_index: String::new(),
                cover_key: None,
                cover_thumbs: false,
                loudness,
                rendition_ready: false,
            },
        )
        .await
        .unwrap();
        library::repo::set_analysed(&mut *conn, &id, false, loudness.or(Some(loud)))
            .await
            .unwrap();
        library::repo::set_analysed(&mut *conn, &id, false, None)
            .await
            .unwrap();
    }
    let lufs: Vec<Option<f64>> = sqlx::query_scalar("SELECT loudness_lufs FROM tracks ORDER BY id")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    assert_eq!(lufs, [Some(-9.5), Some(-9.5), Some(-9.5)]);
}

backend::on_both_databases!(
    tracks_with_and_without_loudness_share_a_connection,
    a_watched_folder_takes_changes_in_without_a_rescan,
    scan_keeps_the_catalog_in_step,
    folders_never_overlap_or_escape,
    scanned_track_plays_on_first_press,
    one_scan_runs_at_a_time,
);
