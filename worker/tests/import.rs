//! The import pipeline on audio synthesized by ffmpeg during the test (no fixtures in git).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::{self, CurrentUser};
use backend::events::repo as outbox;
use backend::imports::{self, JobState};
use backend::testing::Backend;
use backend::{Core, library};
use bytes::Bytes;
use std::path::{Path, PathBuf};
use std::process::Command;

async fn setup(b: Backend) -> (Core, CurrentUser, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let core = Core::init(b.config(&dir.path().join("data")).await)
        .await
        .unwrap();
    let user = auth::signup(&core, "importer@example.com", "violet-harbour-87")
        .await
        .unwrap();
    // The sign-up's own event (its welcome) is not what these tests count.
    backend::testing::settle_outbox(&core.db).await;
    (core, user, dir)
}

fn ffmpeg(args: &[&str]) {
    let st = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .status()
        .unwrap();
    assert!(st.success(), "ffmpeg {args:?}");
}

/// A 30 s tagged MP3 with an embedded PNG cover.
fn tagged_mp3(dir: &Path) -> PathBuf {
    let cover = dir.join("cover.png");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=red:s=64x64",
        "-frames:v",
        "1",
        cover.to_str().unwrap(),
    ]);
    let out = dir.join("tagged.mp3");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=30",
        "-i",
        cover.to_str().unwrap(),
        "-map",
        "0:a",
        "-map",
        "1:v",
        "-c:a",
        "libmp3lame",
        "-b:a",
        "128k",
        "-c:v",
        "png",
        "-id3v2_version",
        "3",
        "-disposition:v",
        "attached_pic",
        "-metadata",
        "title=Harbour Lights",
        "-metadata",
        "artist=The Test Tones",
        "-metadata",
        "album_artist=Test Tones Collective",
        "-metadata",
        "album=Sine Waves",
        "-metadata",
        "track=3/9",
        "-metadata",
        "disc=1/2",
        "-metadata",
        "date=2024",
        "-metadata",
        "genre=Ambient",
        out.to_str().unwrap(),
    ]);
    out
}

async fn upload(core: &Core, user: &CurrentUser, name: &str, data: Vec<u8>) -> imports::JobView {
    let s = futures::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from(data))]);
    imports::create_upload(core, user, name, None, s)
        .await
        .unwrap()
}

async fn job(core: &Core, user: &CurrentUser, id: &str) -> imports::JobView {
    imports::list_jobs(core, user)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.id == id)
        .unwrap()
}

async fn tags_cover_and_rendition_come_from_a_tagged_mp3(b: Backend) {
    let (core, user, dir) = setup(b).await;
    let file = tagged_mp3(dir.path());
    let j = upload(&core, &user, "tagged.mp3", std::fs::read(&file).unwrap()).await;
    assert_eq!(worker::dispatch::drain(&core).await.unwrap(), 1);

    let j = job(&core, &user, &j.id).await;
    assert_eq!(j.state, JobState::Done, "{:?}", j.error);
    let tracks = library::list_tracks(&core, &user).await.unwrap();
    assert_eq!(tracks.len(), 1);
    let t = &tracks[0];
    assert_eq!(t.title, "Harbour Lights");
    assert_eq!(t.artist, "The Test Tones");
    assert_eq!(t.album.as_deref(), Some("Sine Waves"));
    assert_eq!(t.track_no, Some(3));
    assert!(
        (29_500..=30_500).contains(&t.duration_ms),
        "{}",
        t.duration_ms
    );
    assert!(t.has_cover);
    // The original cover, and square JPEG thumbnails: the smallest at least as wide as asked.
    let original = library::cover_object(&core, &user, &t.id, None)
        .await
        .unwrap();
    assert_eq!(original.mime, "image/png");
    let cover = core.storage.get_bytes(&original.key).await.unwrap();
    assert!(cover.starts_with(&[0x89, b'P', b'N', b'G']));
    let thumb = library::cover_object(&core, &user, &t.id, Some(200))
        .await
        .unwrap();
    assert_eq!(thumb.mime, "image/jpeg");
    assert_ne!(thumb.etag(), original.etag());
    let img =
        backend::pictures::decode(&core.storage.get_bytes(&thumb.key).await.unwrap()).unwrap();
    assert_eq!((img.width(), img.height()), (320, 320));

    // The rendition is fragmented MP4 with ordered fragments covering the whole track.
    let info = backend::playback::stream_info(&core, &user, &t.id)
        .await
        .unwrap();
    assert!(info.mime.starts_with("audio/mp4"));
    assert!(info.init_end > 0);
    assert!(info.segments.len() >= 10, "{:?}", info.segments);
    assert!(
        info.segments
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1)
    );
    assert!(info.segments.last().unwrap().0 >= 26_000);
    let (_, rendition, _) = imports::job_object_keys(&j.id);
    let head = core.storage.get_range(&rendition, 4, 8).await.unwrap();
    use futures::StreamExt;
    let bytes: Vec<u8> = head.stream.map(|b| b.unwrap().to_vec()).concat().await;
    assert_eq!(&bytes, b"ftyp");
    // The original is kept.
    assert_eq!(
        core.storage.size(&j.original_key).await.unwrap(),
        std::fs::metadata(&file).unwrap().len()
    );
}

/// A 10 s tone at `peak_db` dBFS.
fn tone(dir: &Path, name: &str, peak_db: f64) -> Vec<u8> {
    let out = dir.join(name);
    let amp = 10f64.powf(peak_db / 20.0);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("aevalsrc={amp}*sin(2*PI*440*t):s=44100:d=10"),
        "-c:a",
        "flac",
        out.to_str().unwrap(),
    ]);
    std::fs::read(out).unwrap()
}

async fn loudness_is_measured_at_import_and_only_loud_tracks_are_turned_down(b: Backend) {
    let (core, user, dir) = setup(b).await;
    upload(
        &core,
        &user,
        "loud.flac",
        tone(dir.path(), "loud.flac", -1.0),
    )
    .await;
    upload(
        &core,
        &user,
        "quiet.flac",
        tone(dir.path(), "quiet.flac", -30.0),
    )
    .await;
    assert_eq!(worker::dispatch::drain(&core).await.unwrap(), 2);
    let tracks = library::list_tracks(&core, &user).await.unwrap();
    let gain = |title: &str| {
        let id = tracks.iter().find(|t| t.title == title).unwrap().id.clone();
        let core = core.clone();
        let user = user.clone();
        async move {
            backend::playback::stream_info(&core, &user, &id)
                .await
                .unwrap()
                .gain_db
        }
    };
    // A full-scale sine measures about -4 LUFS: brought down by about 10 dB to -14 LUFS.
    let loud = gain("loud").await.expect("measured");
    assert!((-13.0..=-8.0).contains(&loud), "{loud}");
    // A quiet one (about -33 LUFS) plays as it is: the player never turns up.
    assert_eq!(gain("quiet").await, Some(0.0));
    let row: (Option<f64>, Option<f64>) =
        sqlx::query_as("SELECT loudness_lufs, true_peak_db FROM tracks WHERE title = 'loud'")
            .fetch_one(&core.db)
            .await
            .unwrap();
    let (lufs, peak) = (row.0.unwrap(), row.1.unwrap());
    assert!((-6.0..=-2.0).contains(&lufs), "{lufs}");
    assert!((-2.0..=0.5).contains(&peak), "{peak}");
}

async fn tracks_from_before_are_analysed_in_the_background_once(b: Backend) {
    let (core, user, dir) = setup(b).await;
    let file = tagged_mp3(dir.path());
    upload(&core, &user, "old.mp3", std::fs::read(&file).unwrap()).await;
    worker::dispatch::drain(&core).await.unwrap();
    let t = library::list_tracks(&core, &user).await.unwrap().remove(0);
    assert_eq!(
        worker::backfill::run_once(&core).await.unwrap(),
        0,
        "imports are analysed"
    );

    // As if imported before thumbnails and loudness existed.
    let cover = library::cover_object(&core, &user, &t.id, None)
        .await
        .unwrap();
    for s in imports::COVER_SIZES {
        core.storage
            .delete(&imports::thumb_key(&cover.key, s))
            .await
            .unwrap();
    }
    sqlx::query(
        "UPDATE tracks SET cover_thumbs = 0, loudness_lufs = NULL, true_peak_db = NULL, analysed = 0",
    )
    .execute(&core.db)
    .await
    .unwrap();
    let original = library::cover_object(&core, &user, &t.id, Some(96))
        .await
        .unwrap();
    assert_eq!(
        original.key, cover.key,
        "the original until thumbnails exist"
    );
    let info = backend::playback::stream_info(&core, &user, &t.id)
        .await
        .unwrap();
    assert_eq!(info.gain_db, None);

    assert_eq!(worker::backfill::run_once(&core).await.unwrap(), 1);
    let thumb = library::cover_object(&core, &user, &t.id, Some(96))
        .await
        .unwrap();
    assert_ne!(thumb.key, cover.key);
    let img =
        backend::pictures::decode(&core.storage.get_bytes(&thumb.key).await.unwrap()).unwrap();
    assert_eq!(img.width(), 96);
    let info = backend::playback::stream_info(&core, &user, &t.id)
        .await
        .unwrap();
    assert!(info.gain_db.is_some());
    // Looked at once.
    assert_eq!(worker::backfill::run_once(&core).await.unwrap(), 0);
}

async fn handling_the_same_event_twice_yields_one_track_and_one_set_of_objects(b: Backend) {
    let (core, user, dir) = setup(b).await;
    let file = tagged_mp3(dir.path());
    let j = upload(&core, &user, "twice.mp3", std::fs::read(&file).unwrap()).await;
    let ev = outbox::pending(&core.db, 10).await.unwrap().remove(0).event;

    worker::handle(&core, &ev).await.unwrap();
    let objects_after_first = core.storage.list("").await.unwrap();
    // Redelivery (e.g. a relay that crashed before marking the event published).
    worker::handle(&core, &ev).await.unwrap();
    // Even with the idempotency record gone, the job state and unique job id hold.
    sqlx::query("DELETE FROM processed_events")
        .execute(&core.db)
        .await
        .unwrap();
    worker::handle(&core, &ev).await.unwrap();

    assert_eq!(
        library::repo::count_tracks_for_job(&core.db, &j.id)
            .await
            .unwrap(),
        1
    );
    assert_eq!(library::list_tracks(&core, &user).await.unwrap().len(), 1);
    assert_eq!(core.storage.list("").await.unwrap(), objects_after_first);
    assert_eq!(job(&core, &user, &j.id).await.state, JobState::Done);
}

async fn a_text_file_renamed_mp3_fails_with_a_reason_and_leaves_nothing(b: Backend) {
    let (core, user, _dir) = setup(b).await;
    let j = upload(
        &core,
        &user,
        "notes.mp3",
        b"just some words, not music\n".repeat(40),
    )
    .await;
    worker::dispatch::drain(&core).await.unwrap();
    let j = job(&core, &user, &j.id).await;
    assert_eq!(j.state, JobState::Failed);
    let reason = j.error.unwrap();
    assert!(reason.contains("not audio"), "{reason}");
    assert!(library::list_tracks(&core, &user).await.unwrap().is_empty());
    assert!(
        core.storage.list("").await.unwrap().is_empty(),
        "objects left behind"
    );
    assert_eq!(outbox::backlog(&core.db).await.unwrap(), 0);
}

async fn a_truncated_mp3_header_fails_with_a_reason(b: Backend) {
    let (core, user, dir) = setup(b).await;
    let file = tagged_mp3(dir.path());
    let data = std::fs::read(&file).unwrap();
    // Only the ID3 header and the start of the cover: no audio frames at all.
    let j = upload(&core, &user, "cut.mp3", data[..300].to_vec()).await;
    worker::dispatch::drain(&core).await.unwrap();
    let j = job(&core, &user, &j.id).await;
    assert_eq!(j.state, JobState::Failed);
    assert!(!j.error.unwrap_or_default().is_empty());
    assert!(library::list_tracks(&core, &user).await.unwrap().is_empty());
}

async fn a_truncated_but_decodable_mp3_imports_what_is_there(b: Backend) {
    let (core, user, dir) = setup(b).await;
    let src = dir.path().join("plain.mp3");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=330:duration=20",
        "-c:a",
        "libmp3lame",
        "-b:a",
        "128k",
        src.to_str().unwrap(),
    ]);
    let data = std::fs::read(&src).unwrap();
    let j = upload(&core, &user, "half.mp3", data[..data.len() / 2].to_vec()).await;
    worker::dispatch::drain(&core).await.unwrap();
    let j = job(&core, &user, &j.id).await;
    assert_eq!(j.state, JobState::Done, "{:?}", j.error);
    let t = &library::list_tracks(&core, &user).await.unwrap()[0];
    assert!(
        t.duration_ms > 5_000 && t.duration_ms < 15_000,
        "{}",
        t.duration_ms
    );
}

async fn untagged_files_are_titled_from_the_file_name(b: Backend) {
    let (core, user, dir) = setup(b).await;
    let src = dir.path().join("x.flac");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=550:duration=3",
        "-c:a",
        "flac",
        src.to_str().unwrap(),
    ]);
    upload(
        &core,
        &user,
        "Morning_Walk.flac",
        std::fs::read(&src).unwrap(),
    )
    .await;
    worker::dispatch::drain(&core).await.unwrap();
    let t = &library::list_tracks(&core, &user).await.unwrap()[0];
    assert_eq!(t.title, "Morning Walk");
    assert_eq!(t.artist, "Unknown Artist");
    assert!(!t.has_cover);
}

async fn personal_uploads_are_invisible_to_other_listeners(b: Backend) {
    let (core, admin, dir) = setup(b).await;
    let listener = auth::signup(&core, "l1@example.com", "violet-harbour-87")
        .await
        .unwrap();
    let other = auth::signup(&core, "l2@example.com", "violet-harbour-87")
        .await
        .unwrap();
    let src = dir.path().join("p.mp3");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=duration=2",
        "-c:a",
        "libmp3lame",
        src.to_str().unwrap(),
    ]);
    upload(&core, &listener, "mine.mp3", std::fs::read(&src).unwrap()).await;
    upload(&core, &admin, "catalog.mp3", std::fs::read(&src).unwrap()).await;
    worker::dispatch::drain(&core).await.unwrap();
    // The admin's upload is in the shared catalog; the listener's is personal.
    assert_eq!(
        library::list_tracks(&core, &listener).await.unwrap().len(),
        2
    );
    let others = library::list_tracks(&core, &other).await.unwrap();
    assert_eq!(others.len(), 1);
    assert_eq!(others[0].title, "catalog");
    let mine = library::list_tracks(&core, &listener).await.unwrap();
    let private = mine.iter().find(|t| t.title == "mine").unwrap();
    assert!(
        backend::playback::stream_info(&core, &other, &private.id)
            .await
            .is_err()
    );
}

async fn deleting_a_track_removes_its_row_and_objects_and_only_owners_or_admins_may(b: Backend) {
    let (core, admin, dir) = setup(b).await;
    let owner = auth::signup(&core, "owner@example.com", "violet-harbour-87")
        .await
        .unwrap();
    let other = auth::signup(&core, "other@example.com", "violet-harbour-87")
        .await
        .unwrap();
    let file = tagged_mp3(dir.path());
    let bytes = std::fs::read(&file).unwrap();
    upload(&core, &owner, "a.mp3", bytes.clone()).await;
    upload(&core, &owner, "b.mp3", bytes).await;
    worker::dispatch::drain(&core).await.unwrap();
    let tracks = library::list_tracks(&core, &owner).await.unwrap();
    assert_eq!(tracks.len(), 2);
    assert_eq!(
        core.storage.list("").await.unwrap().len(),
        12,
        "original, rendition, cover and three thumbnails each"
    );

    // Another listener cannot even learn that the private track exists.
    let e = library::delete_track(&core, &other, &tracks[0].id)
        .await
        .unwrap_err();
    assert!(matches!(e, backend::Error::NotFound(_)), "{e:?}");
    library::delete_track(&core, &owner, &tracks[0].id)
        .await
        .unwrap();
    library::delete_track(&core, &admin, &tracks[1].id)
        .await
        .unwrap();
    assert!(
        library::list_tracks(&core, &owner)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(core.storage.list("").await.unwrap().is_empty());
    let e = library::delete_track(&core, &owner, &tracks[0].id)
        .await
        .unwrap_err();
    assert!(matches!(e, backend::Error::NotFound(_)));
}

/// An approved artist's uploads join the shared catalog, credited to their artist profile
/// whatever the file's tags say.
async fn an_artists_uploads_are_shared_and_credited_to_their_profile(b: Backend) {
    let (core, admin, _dir) = setup(b).await;
    let singer = auth::signup(&core, "singer@example.com", "violet-harbour-87")
        .await
        .unwrap();
    let fan = auth::signup(&core, "fan@example.com", "violet-harbour-87")
        .await
        .unwrap();
    backend::testing::approve_artist(&core, &admin, &singer, "Nova Lights", "").await;
    let singer = auth::user_for_login(&core, &singer.login_id)
        .await
        .unwrap()
        .unwrap();
    let mp3 = backend::testing::sine_mp3(
        2,
        &[
            ("title", "Aurora"),
            ("artist", "Somebody Famous"),
            ("album", "First Light"),
        ],
    );
    upload(&core, &singer, "aurora.mp3", mp3).await;
    worker::dispatch::drain(&core).await.unwrap();
    let seen = library::list_tracks(&core, &fan).await.unwrap();
    assert_eq!(seen.len(), 1, "the fan sees the artist's track");
    assert_eq!(seen[0].title, "Aurora");
    assert_eq!(seen[0].artist, "Nova Lights");
    assert_eq!(seen[0].album.as_deref(), Some("First Light"));
    assert!(
        backend::playback::stream_info(&core, &fan, &seen[0].id)
            .await
            .is_ok()
    );
    // Nobody but the artist (or an admin) may delete it.
    assert!(
        library::delete_track(&core, &fan, &seen[0].id)
            .await
            .is_err()
    );
}

/// Likes are per user, idempotent, limited to tracks the user may see, newest first, and
/// go with the track.
async fn likes_are_personal_idempotent_and_follow_the_track(b: Backend) {
    let (core, admin, _dir) = setup(b).await;
    let fan = auth::signup(&core, "fan@example.com", "violet-harbour-87")
        .await
        .unwrap();
    let other = auth::signup(&core, "other@example.com", "violet-harbour-87")
        .await
        .unwrap();
    for (who, name) in [
        (&admin, "one.mp3"),
        (&admin, "two.mp3"),
        (&other, "private.mp3"),
    ] {
        upload(&core, who, name, backend::testing::sine_mp3(1, &[])).await;
    }
    worker::dispatch::drain(&core).await.unwrap();
    let seen = library::list_tracks(&core, &fan).await.unwrap();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|t| !t.liked));
    let (one, two) = (
        seen.iter().find(|t| t.title == "one").unwrap().id.clone(),
        seen.iter().find(|t| t.title == "two").unwrap().id.clone(),
    );
    library::set_liked(&core, &fan, &one, true).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    library::set_liked(&core, &fan, &two, true).await.unwrap();
    library::set_liked(&core, &fan, &two, true).await.unwrap();
    let liked: Vec<String> = library::liked_tracks(&core, &fan)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.title)
        .collect();
    assert_eq!(liked, ["two", "one"], "most recently liked first");
    assert!(
        library::list_tracks(&core, &fan)
            .await
            .unwrap()
            .iter()
            .all(|t| t.liked)
    );
    // Another user's likes are their own.
    assert!(
        library::liked_tracks(&core, &admin)
            .await
            .unwrap()
            .is_empty()
    );
    // Someone else's personal track cannot be liked (nor learned about).
    let private = library::list_tracks(&core, &other).await.unwrap();
    let private = private.iter().find(|t| t.title == "private").unwrap();
    assert!(matches!(
        library::set_liked(&core, &fan, &private.id, true).await,
        Err(backend::Error::NotFound(_))
    ));
    // Unliking twice is fine; deleting a track removes its likes.
    library::set_liked(&core, &fan, &one, false).await.unwrap();
    library::set_liked(&core, &fan, &one, false).await.unwrap();
    library::delete_track(&core, &admin, &two).await.unwrap();
    assert!(library::liked_tracks(&core, &fan).await.unwrap().is_empty());
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM track_likes")
        .fetch_one(&core.db)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

/// A playback counts once it was heard long enough, once per playback id however often
/// it is reported or delivered, and only for tracks the user may play.
async fn plays_count_once_per_playback_and_only_when_heard_long_enough(b: Backend) {
    use backend::playback::plays;
    let (core, admin, _dir) = setup(b).await;
    let fan = auth::signup(&core, "listener@example.com", "violet-harbour-87")
        .await
        .unwrap();
    upload(
        &core,
        &admin,
        "short.mp3",
        backend::testing::sine_mp3(4, &[]),
    )
    .await;
    upload(&core, &fan, "mine.mp3", backend::testing::sine_mp3(1, &[])).await;
    worker::dispatch::drain(&core).await.unwrap();
    let short = library::list_tracks(&core, &fan)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.title == "short")
        .unwrap();
    assert_eq!(short.plays, 0);
    let half = (short.duration_ms + 1) / 2;
    let playback = "0123456789abcdef0123456789abcdef";

    let early = plays::record_play(&core, &fan, &short.id, playback, half - 500).await;
    assert!(
        matches!(early, Err(backend::Error::Invalid(_))),
        "{early:?}"
    );
    let bad_id = plays::record_play(&core, &fan, &short.id, "x'; --", half).await;
    assert!(
        matches!(bad_id, Err(backend::Error::Invalid(_))),
        "{bad_id:?}"
    );
    plays::record_play(&core, &fan, &short.id, playback, half)
        .await
        .unwrap();
    // The same playback reported again (a retry) is still one play.
    plays::record_play(&core, &fan, &short.id, playback, half + 300)
        .await
        .unwrap();
    worker::dispatch::drain(&core).await.unwrap();
    let plays_of = |user| {
        let core = core.clone();
        let id = short.id.clone();
        async move {
            library::list_tracks(&core, user)
                .await
                .unwrap()
                .into_iter()
                .find(|t| t.id == id)
                .unwrap()
                .plays
        }
    };
    assert_eq!(plays_of(&fan).await, 1);
    plays::record_play(
        &core,
        &fan,
        &short.id,
        "fedcba9876543210fedcba9876543210",
        half,
    )
    .await
    .unwrap();
    worker::dispatch::drain(&core).await.unwrap();
    assert_eq!(plays_of(&fan).await, 2);
    // Counts are per user, and so is "recently played" (each track once).
    assert_eq!(plays_of(&admin).await, 0);
    let recent = library::recently_played(&core, &fan, 10).await.unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].id, short.id);
    assert!(
        library::recently_played(&core, &admin, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Delivering one event twice changes nothing (the handler's ledger).
    let event = backend::events::Event::new(
        backend::events::PLAY_RECORDED,
        &fan.id,
        serde_json::to_value(plays::PlayRecorded {
            playback_id: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into(),
            user_id: fan.id.clone(),
            track_id: short.id.clone(),
            listened_ms: half,
            played_at: backend::now_ms(),
        })
        .unwrap(),
    );
    worker::handle(&core, &event).await.unwrap();
    worker::handle(&core, &event).await.unwrap();
    assert_eq!(plays_of(&fan).await, 3);
    let history: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM play_history WHERE user_id = $1")
        .bind(&fan.id)
        .fetch_one(&core.db)
        .await
        .unwrap();
    assert_eq!(history, 3);

    // Another listener's personal track cannot be played, nor its plays recorded.
    let other = auth::signup(&core, "other@example.com", "violet-harbour-87")
        .await
        .unwrap();
    let mine = library::list_tracks(&core, &fan)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.title == "mine")
        .unwrap();
    let theirs = plays::record_play(&core, &other, &mine.id, playback, 60_000).await;
    assert!(
        matches!(theirs, Err(backend::Error::NotFound(_))),
        "{theirs:?}"
    );
}

/// A scanned track nobody played yet gets, in the background, what an upload gets at
/// import: an AAC rendition (its MP3 plays in no browser's Media Source as it is), its
/// loudness and its embedded cover with thumbnails; once only.
async fn scanned_tracks_are_rendered_in_the_background(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = b.config(&dir.path().join("data")).await;
    config.library.renditions_per_minute = 60_000;
    let core = Core::init(config).await.unwrap();
    let admin = auth::signup(&core, "admin@example.com", "violet-harbour-87")
        .await
        .unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    std::fs::copy(tagged_mp3(dir.path()), music.join("song.mp3")).unwrap();
    backend::folders::add_folder(&core, &admin, music.to_str().unwrap())
        .await
        .unwrap();
    backend::folders::request_scan(&core, &admin).await.unwrap();
    backend::folders::run_queued(&core).await.unwrap().unwrap();
    let t = library::list_tracks(&core, &admin).await.unwrap().remove(0);
    assert!(
        library::cover_object(&core, &admin, &t.id, None)
            .await
            .is_err(),
        "the scan itself reads no pictures"
    );

    assert_eq!(worker::backfill::run_once(&core).await.unwrap(), 1);
    let info = backend::playback::stream_info(&core, &admin, &t.id)
        .await
        .unwrap();
    assert_eq!(info.mime, backend::media::RENDITION_MIME);
    assert!(info.gain_db.is_some(), "{info:?}");
    assert!(info.priming_secs > 0.0);
    let thumb = library::cover_object(&core, &admin, &t.id, Some(96))
        .await
        .unwrap();
    let img =
        backend::pictures::decode(&core.storage.get_bytes(&thumb.key).await.unwrap()).unwrap();
    assert_eq!(img.width(), 96);
    assert_eq!(worker::backfill::run_once(&core).await.unwrap(), 0);
}

backend::on_both_databases!(
    scanned_tracks_are_rendered_in_the_background,
    plays_count_once_per_playback_and_only_when_heard_long_enough,
    likes_are_personal_idempotent_and_follow_the_track,
    an_artists_uploads_are_shared_and_credited_to_their_profile,
    deleting_a_track_removes_its_row_and_objects_and_only_owners_or_admins_may,
    tags_cover_and_rendition_come_from_a_tagged_mp3,
    loudness_is_measured_at_import_and_only_loud_tracks_are_turned_down,
    tracks_from_before_are_analysed_in_the_background_once,
    handling_the_same_event_twice_yields_one_track_and_one_set_of_objects,
    a_text_file_renamed_mp3_fails_with_a_reason_and_leaves_nothing,
    a_truncated_mp3_header_fails_with_a_reason,
    a_truncated_but_decodable_mp3_imports_what_is_there,
    untagged_files_are_titled_from_the_file_name,
    personal_uploads_are_invisible_to_other_listeners,
);
