//! Imports from a link, against real HTTP servers on loopback: one the allow-list admits
//! (standing in for a site on the internet), and a canary that must never be contacted.
//! A link to an audio file imports like an upload; internal addresses, odd ports, a
//! redirect into the network, web pages, missing files and files over the limit are
//! refused with a reason, and leave nothing behind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::{self, CurrentUser};
use backend::imports::{self, JobState};
use backend::testing::{Backend, sine_mp3};
use backend::{Core, Error, library};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A tiny HTTP/1.1 server: `GET /song.mp3` (audio), `/page` (HTML), `/missing` (404),
/// `/away` (a redirect to `redirect_to`), `/player.html` (a page with the song in an
/// `<audio>` element), `/sneaky.html` (a page whose `<audio>` is `redirect_to`). Counts
/// the connections it accepted.
async fn serve(mp3: Vec<u8>, redirect_to: String) -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            let (mp3, redirect_to) = (mp3.clone(), redirect_to.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (head, body): (String, Vec<u8>) = match path.as_str() {
                    "/song.mp3" => (
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nContent-Length: {}\r\n",
                            mp3.len()
                        ),
                        mp3,
                    ),
                    "/player.html" | "/sneaky.html" => {
                        let src = if path == "/player.html" { "/song.mp3".to_string() } else { redirect_to.clone() };
                        let html = format!(
                            "<html><head><title>Player</title></head><body><audio controls src=\"{src}\"></audio></body></html>"
                        );
                        (
                            format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n",
                                html.len()
                            ),
                            html.into_bytes(),
                        )
                    }
                    "/page" => (
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 13\r\n".into(),
                        b"<html></html>".to_vec(),
                    ),
                    "/away" => (
                        format!("HTTP/1.1 302 Found\r\nLocation: {redirect_to}\r\nContent-Length: 0\r\n"),
                        Vec::new(),
                    ),
                    _ => (
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n".into(),
                        Vec::new(),
                    ),
                };
                let _ = sock
                    .write_all(format!("{head}Connection: close\r\n\r\n").as_bytes())
                    .await;
                let _ = sock.write_all(&body).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (port, hits)
}

struct Setup {
    core: Core,
    user: CurrentUser,
    site: u16,
    canary: u16,
    canary_hits: Arc<AtomicUsize>,
    _dir: tempfile::TempDir,
}

async fn setup(b: Backend, max_upload_bytes: u64) -> Setup {
    let (canary, canary_hits) = serve(Vec::new(), String::new()).await;
    let mp3 = sine_mp3(2, &[("title", "Fetched Tune"), ("artist", "Link Band")]);
    let (site, _) = serve(mp3, format!("http://127.0.0.1:{canary}/song.mp3")).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = b.config(&dir.path().join("data")).await;
    config.imports.allow_hosts = vec![format!("127.0.0.1:{site}")];
    config.storage.max_upload_bytes = max_upload_bytes;
    let core = Core::init(config).await.unwrap();
    let user = auth::signup(&core, "linker@example.com", "violet-harbour-87")
        .await
        .unwrap();
    Setup {
        core,
        user,
        site,
        canary,
        canary_hits,
        _dir: dir,
    }
}

async fn import(s: &Setup, link: &str) -> imports::JobView {
    let job = imports::create_from_url(&s.core, &s.user, link)
        .await
        .unwrap();
    assert_eq!(job.source, "url");
    worker::dispatch::drain(&s.core).await.unwrap();
    imports::repo::get(&s.core.db, &job.id)
        .await
        .unwrap()
        .unwrap()
}

async fn a_link_to_an_audio_file_imports_like_an_upload(b: Backend) {
    let s = setup(b, 50 << 20).await;
    let job = import(&s, &format!("http://127.0.0.1:{}/song.mp3", s.site)).await;
    assert_eq!(job.state, JobState::Done, "{:?}", job.error);
    assert_eq!(job.filename, "song.mp3");
    assert!(job.size_bytes > 1000);
    let tracks = library::list_tracks(&s.core, &s.user).await.unwrap();
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].title, "Fetched Tune");
    let info = backend::playback::stream_info(&s.core, &s.user, &tracks[0].id)
        .await
        .unwrap();
    assert!(info.bytes > 0);
    // The fetched original counts towards the listener's quota like an upload.
    let usage = imports::quota::usage(&s.core, &s.user).await.unwrap();
    assert_eq!(usage.used_bytes, u64::try_from(job.size_bytes).unwrap());
}

async fn internal_links_are_refused_before_anything_is_fetched(b: Backend) {
    let s = setup(b, 50 << 20).await;
    for link in [
        format!("http://127.0.0.1:{}/song.mp3", s.canary),
        "http://127.0.0.1/song.mp3".to_string(),
        "http://2130706433/song.mp3".to_string(),
        "http://0x7f.1/song.mp3".to_string(),
        "http://[::ffff:127.0.0.1]/song.mp3".to_string(),
        "http://localhost/song.mp3".to_string(),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "file:///etc/passwd".to_string(),
    ] {
        match imports::create_from_url(&s.core, &s.user, &link).await {
            Err(Error::Invalid(m)) => assert!(!m.is_empty(), "{link}"),
            other => panic!("{link}: {other:?}"),
        }
    }
    assert!(
        imports::list_jobs(&s.core, &s.user)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.canary_hits.load(Ordering::SeqCst), 0);
}

async fn a_redirect_into_the_network_is_refused_at_that_hop(b: Backend) {
    let s = setup(b, 50 << 20).await;
    let job = import(&s, &format!("http://127.0.0.1:{}/away", s.site)).await;
    assert_eq!(job.state, JobState::Failed);
    let err = job.error.unwrap_or_default();
    assert!(err.contains("redirects somewhere refused"), "{err}");
    assert!(err.contains("standard ports"), "{err}");
    assert_eq!(
        s.canary_hits.load(Ordering::SeqCst),
        0,
        "the canary was contacted"
    );
    assert!(!s.core.storage.exists(&job.original_key).await.unwrap());
}

async fn pages_missing_files_and_big_files_fail_with_a_reason(b: Backend) {
    let s = setup(b, 10 * 1024).await;
    for (path, reason) in [
        ("/page", "no audio could be taken from the page"),
        ("/missing", "404"),
        ("/song.mp3", "larger than the limit"),
    ] {
        let job = import(&s, &format!("http://127.0.0.1:{}{path}", s.site)).await;
        assert_eq!(job.state, JobState::Failed, "{path}");
        let err = job.error.unwrap_or_default();
        assert!(err.contains(reason), "{path}: {err}");
        assert!(!s.core.storage.exists(&job.original_key).await.unwrap());
    }
    assert!(
        library::list_tracks(&s.core, &s.user)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A page that is not an audio file goes to yt-dlp, which finds the `<audio>` on it; its
/// own connections go through the guard proxy, so a page pointing inside the network
/// gets nothing from there either.
async fn a_page_with_audio_on_it_is_imported_through_yt_dlp_and_cannot_reach_inside(b: Backend) {
    let s = setup(b, 50 << 20).await;
    let job = import(&s, &format!("http://127.0.0.1:{}/player.html", s.site)).await;
    assert_eq!(job.state, JobState::Done, "{:?}", job.error);
    assert!(job.size_bytes > 1000);
    let tracks = library::list_tracks(&s.core, &s.user).await.unwrap();
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].title, "Fetched Tune");

    let job = import(&s, &format!("http://127.0.0.1:{}/sneaky.html", s.site)).await;
    assert_eq!(job.state, JobState::Failed);
    let err = job.error.unwrap_or_default();
    assert!(
        err.contains("no audio could be taken from the page"),
        "{err}"
    );
    // The guard proxy's answer to yt-dlp.
    assert!(err.contains("403"), "{err}");
    assert_eq!(
        s.canary_hits.load(Ordering::SeqCst),
        0,
        "yt-dlp reached the canary"
    );
    assert!(!s.core.storage.exists(&job.original_key).await.unwrap());
}

/// YouTube imports are queued only for video ids; the search refuses what is not text.
async fn youtube_imports_take_only_video_ids(b: Backend) {
    let s = setup(b, 50 << 20).await;
    for id in ["", "short", "dQw4w9WgXc!", "../../etc/pw"] {
        let e = imports::create_from_youtube(&s.core, &s.user, id, "x")
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Invalid(_)), "{id}: {e:?}");
    }
    let job = imports::create_from_youtube(&s.core, &s.user, "dQw4w9WgXcQ", "Never \"Gonna\"\n")
        .await
        .unwrap();
    assert_eq!(job.source, "youtube");
    assert_eq!(
        job.source_url.as_deref(),
        Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ")
    );
    assert!(!job.filename.contains('\n'));
    for q in ["", "   ", "a\u{0}b", &"x".repeat(201)] {
        let e = imports::ytdlp::search(&s.core.config, q).await.unwrap_err();
        assert!(matches!(e, Error::Invalid(_)), "{q:?}: {e:?}");
    }
}

backend::on_both_databases!(
    a_page_with_audio_on_it_is_imported_through_yt_dlp_and_cannot_reach_inside,
    youtube_imports_take_only_video_ids,
    a_link_to_an_audio_file_imports_like_an_upload,
    internal_links_are_refused_before_anything_is_fetched,
    a_redirect_into_the_network_is_refused_at_that_hop,
    pages_missing_files_and_big_files_fail_with_a_reason,
);
