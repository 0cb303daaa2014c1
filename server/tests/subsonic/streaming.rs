//! Streaming and transcoding: formats and rates, kept transcodes, files that are not what they were.

use crate::common::*;
use crate::{error_code, rest, user_with_key};
use backend::testing::Backend;
use reqwest::StatusCode;
use serde_json::Value;
use server_fn::ServerFn;

/// What ffprobe says of `bytes`: codec, bit rate (bit/s, 0 when not given) and duration.
fn probe(bytes: &[u8]) -> (String, i64, f64) {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), bytes).unwrap();
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,bit_rate:format=duration,bit_rate",
            "-of",
            "json",
        ])
        .arg(f.path())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let codec = v["streams"][0]["codec_name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let rate = v["streams"][0]["bit_rate"]
        .as_str()
        .or(v["format"]["bit_rate"].as_str())
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let secs = v["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0.0);
    (codec, rate, secs)
}

async fn apps_get_the_format_and_rate_they_ask_for(b: Backend) {
    let srv = start_with(b, |c| {
        c.storage.max_upload_bytes = 1 << 24;
        c.limits.transcodes_per_user = 1;
    })
    .await;
    let admin = client();
    signup(&admin, &srv, "admin@example.com").await;
    let r = admin
        .post(format!("{}/api/uploads?filename=tone.flac", srv.base))
        .body(backend::testing::sine(
            8,
            &[("title", "Lossless"), ("artist", "Tone")],
            "flac",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    worker::dispatch::drain(&srv.core).await.unwrap();
    let (_, key) = user_with_key(&srv, "codecs@example.com", "api_key").await;
    let (_, r) = rest(&srv, "search3", &[("apiKey", &key), ("query", "")]).await;
    let id = r["searchResult3"]["song"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(r["searchResult3"]["song"][0]["suffix"], "flac");
    // Under the original's rate, with no format named: MP3 at that rate.
    let original_kbps = r["searchResult3"]["song"][0]["bitRate"].as_i64().unwrap();
    assert!(original_kbps >= 64, "{original_kbps} kbit/s");
    let under = (original_kbps / 2).max(32) as u32;
    let under_q = format!("maxBitRate={under}");
    let get = |q: String| {
        let url = format!("{}/rest/stream?apiKey={key}&id={id}&{q}", srv.base);
        async move { reqwest::get(url).await.unwrap() }
    };

    // The original, untouched, by default and with format=raw.
    let raw = get("format=raw".into()).await;
    assert_eq!(raw.headers()["content-type"], "audio/flac");
    assert_eq!(probe(&raw.bytes().await.unwrap()).0, "flac");

    for (q, codec, mime, kbps) in [
        ("format=mp3&maxBitRate=128", "mp3", "audio/mpeg", 128),
        ("format=opus&maxBitRate=96", "opus", "audio/ogg", 96),
        ("format=aac&maxBitRate=64", "aac", "audio/aac", 64),
        // (Rates are quantised: the highest of MP3's six not above the app's.)
        (
            under_q.as_str(),
            "mp3",
            "audio/mpeg",
            backend::subsonic::transcode::Codec::Mp3.rate_for(under),
        ),
    ] {
        let r = get(q.into()).await;
        assert_eq!(r.status(), StatusCode::OK, "{q}");
        assert_eq!(r.headers()["content-type"], mime, "{q}");
        let bytes = r.bytes().await.unwrap();
        let (got, rate, secs) = probe(&bytes);
        assert_eq!(got, codec, "{q}");
        assert!((secs - 8.0).abs() < 0.5, "{q}: {secs} s");
        // The rate asked for, give or take the encoder's and container's slack (opus and
        // adts report no rate of their own: the file's size over its length then).
        let measured = if rate > 0 {
            rate
        } else {
            (bytes.len() as f64 * 8.0 / secs) as i64
        };
        let want = i64::from(kbps) * 1000;
        assert!(
            (measured - want).abs() < want / 4,
            "{q}: {measured} bit/s for {want}"
        );
    }

    // The second play of a transcode comes from storage, with ranges.
    let kept = srv
        .core
        .storage
        .list(&backend::subsonic::transcode::cache_prefix(&id))
        .await
        .unwrap();
    assert_eq!(kept.len(), 4, "{kept:?}");
    // Over the original's rate with no format: the original.
    let r = get(format!("maxBitRate={}", original_kbps * 2)).await;
    assert_eq!(r.headers()["content-type"], "audio/flac");
    let r = reqwest::Client::new()
        .get(format!(
            "{}/rest/stream?apiKey={key}&id={id}&format=mp3&maxBitRate=128",
            srv.base
        ))
        .header("range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.bytes().await.unwrap().len(), 100);

    // timeOffset starts later (and is not kept).
    let (_, _, secs) = probe(
        &get("format=mp3&maxBitRate=128&timeOffset=5".into())
            .await
            .bytes()
            .await
            .unwrap(),
    );
    assert!((secs - 3.0).abs() < 0.5, "{secs} s after 5 of 8");

    // One transcode at a time for this user: a second one meanwhile gets 429.
    let first = get("format=opus&maxBitRate=48".into()).await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = get("format=opus&maxBitRate=40".into()).await;
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(second.headers().contains_key("retry-after"));
    drop(first);

    let (_, r) = rest(
        &srv,
        "stream",
        &[("apiKey", &key), ("id", &id), ("format", "wav")],
    )
    .await;
    assert_eq!(error_code(&r), 0);
    // Deleting the track deletes its transcodes.
    let admin_tracks: Vec<app::model::TrackItem> =
        call(&admin, &srv, app::library::ListTracks::PATH, &[])
            .await
            .wire()
            .await
            .unwrap();
    let r = call(
        &admin,
        &srv,
        app::tracks::DeleteTrack::PATH,
        &[("track_id", &admin_tracks[0].id)],
    )
    .await;
    assert!(r.status().is_success());
    assert!(
        srv.core
            .storage
            .list(&backend::subsonic::transcode::cache_prefix(&id))
            .await
            .unwrap()
            .is_empty()
    );
}

/// Security round 3: a scanned file swapped for a symlink to the server key after the
/// scan is refused at the moment it is read, by `/rest/download`, `/rest/stream` (the
/// original and a transcode) and the web player's rendition alike; the key's bytes never
/// leave. A file replaced by another (new device and inode) is refused until a scan has
/// read it.
async fn a_music_folder_cannot_hand_out_the_server_key(b: Backend) {
    use backend::{folders, library, playback};
    let srv = start(b, 10 << 20).await;
    let admin = backend::auth::signup(&srv.core, "admin@example.com", PW)
        .await
        .unwrap();
    let (_c, key) = user_with_key(&srv, "bob@example.com", "api_key").await;
    let music = tempfile::tempdir().unwrap();
    for (file, title) in [
        ("a.mp3", "Swap Download"),
        ("b.mp3", "Swap Web"),
        ("c.mp3", "Swap Twin"),
    ] {
        std::fs::write(
            music.path().join(file),
            backend::testing::sine_mp3(2, &[("title", title)]),
        )
        .unwrap();
    }
    folders::add_folder(&srv.core, &admin, music.path().to_str().unwrap())
        .await
        .unwrap();
    let scan = || async {
        folders::request_scan(&srv.core, &admin).await.unwrap();
        let s = folders::run_queued(&srv.core).await.unwrap().unwrap();
        assert_eq!(s.state, "done", "{s:?}");
    };
    scan().await;
    let id_of = |title: &'static str| {
        let core = srv.core.clone();
        let admin = admin.clone();
        async move {
            library::list_tracks(&core, &admin)
                .await
                .unwrap()
                .into_iter()
                .find(|t| t.title == title)
                .unwrap()
                .id
        }
    };
    let (a, b_id, c_id) = (
        id_of("Swap Download").await,
        id_of("Swap Web").await,
        id_of("Swap Twin").await,
    );
    // The original plays before the swap.
    let get = |method: &str, params: Vec<(&'static str, String)>| {
        let url = format!("{}/rest/{method}", srv.base);
        let key = key.clone();
        async move {
            let r = reqwest::Client::new()
                .get(url)
                .query(&params)
                .query(&[
                    ("apiKey", key.as_str()),
                    ("v", "1.16.1"),
                    ("c", "test"),
                    ("f", "json"),
                ])
                .send()
                .await
                .unwrap();
            (r.status(), r.bytes().await.unwrap().to_vec())
        }
    };
    let (status, body) = get("download", vec![("id", a.clone())]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        &body[..3],
        b"ID3",
        "the original was not served before the swap"
    );

    let secret_path = srv.core.config.storage.data_dir.join("secret.key");
    let secret = std::fs::read(&secret_path).unwrap();
    assert!(secret.len() >= 32, "the key file holds the key (base64)");
    for f in ["a.mp3", "b.mp3"] {
        std::fs::remove_file(music.path().join(f)).unwrap();
        std::os::unix::fs::symlink(&secret_path, music.path().join(f)).unwrap();
    }
    let leaks = |body: &[u8]| body.windows(secret.len()).any(|w| w == secret.as_slice());
    for (method, params) in [
        ("download", vec![("id", a.clone())]),
        ("stream", vec![("id", a.clone())]),
        ("stream", vec![("id", a.clone()), ("format", "raw".into())]),
        (
            "stream",
            vec![
                ("id", a.clone()),
                ("format", "opus".into()),
                ("maxBitRate", "64".into()),
            ],
        ),
    ] {
        let (_, body) = get(method, params.clone()).await;
        assert!(
            !leaks(&body),
            "{method} {params:?} handed out the server key"
        );
        let v: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| panic!("{method} {params:?} answered with bytes, not an error"));
        assert_eq!(v["subsonic-response"]["status"], "failed", "{v}");
    }
    // The web player: no rendition is made from the key.
    let web = playback::stream_info(&srv.core, &admin, &b_id).await;
    assert!(matches!(web, Err(backend::Error::Invalid(_))), "{web:?}");
    assert!(
        !srv.core
            .storage
            .exists(&format!("renditions/{b_id}.mp4"))
            .await
            .unwrap()
    );

    // Replaced in place by another file (a rename over it, as a hard link to a file
    // elsewhere would be): refused until a scan has read it, then served again.
    let twin = music.path().join("c.mp3");
    let fresh = music.path().join(".c.tmp");
    std::fs::write(
        &fresh,
        backend::testing::sine_mp3(2, &[("title", "Swap Twin")]),
    )
    .unwrap();
    std::fs::rename(&fresh, &twin).unwrap();
    let (_, body) = get("download", vec![("id", c_id.clone())]).await;
    let v: Value = serde_json::from_slice(&body).expect("an error, not the replaced file");
    assert_eq!(v["subsonic-response"]["status"], "failed", "{v}");
    scan().await;
    let c_id = id_of("Swap Twin").await;
    let (status, body) = get("download", vec![("id", c_id)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..3], b"ID3", "a rescanned file did not play again");
}

/// Kept transcodes are bounded: twelve distinct rates asked of one song leave at most six
/// kept (the rates are quantised), and all of them together stay under the cap, the
/// oldest dropped first, counted in `/metrics`.
async fn kept_transcodes_are_few_and_bounded(b: Backend) {
    const CAP: u64 = 400 * 1024;
    let srv = start_with(b, |c| {
        c.storage.max_upload_bytes = 1 << 24;
        c.storage.transcode_cache_bytes = CAP;
    })
    .await;
    let (c, key) = user_with_key(&srv, "rates@example.com", "api_key").await;
    let r = c
        .post(format!("{}/api/uploads?filename=long.mp3", srv.base))
        .body(backend::testing::sine_mp3(12, &[("title", "Twelve Rates")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    worker::dispatch::drain(&srv.core).await.unwrap();
    let (_, r) = rest(&srv, "search3", &[("apiKey", &key), ("query", "Twelve")]).await;
    let id = r["searchResult3"]["song"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let prefix = backend::subsonic::transcode::cache_prefix(&id);
    let mut last = String::new();
    for max in [8, 33, 40, 48, 50, 64, 70, 96, 100, 128, 150, 500] {
        let r = reqwest::get(format!(
            "{}/rest/stream?apiKey={key}&id={id}&format=opus&maxBitRate={max}",
            srv.base
        ))
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "maxBitRate={max}");
        assert_eq!(r.headers()["content-type"], "audio/ogg");
        assert!(!r.bytes().await.unwrap().is_empty());
        last = backend::subsonic::transcode::cache_key(
            &id,
            backend::subsonic::transcode::Codec::Opus,
            backend::subsonic::transcode::Codec::Opus.rate_for(max),
        );
    }
    let kept = srv.core.storage.list_sized(&prefix).await.unwrap();
    assert!(kept.len() <= 6, "{kept:?}");
    let total: u64 = kept.iter().map(|k| k.1).sum();
    assert!(
        total <= CAP,
        "{total} bytes kept over a cap of {CAP}: {kept:?}"
    );
    // Six opus transcodes of twelve seconds (32 to 192 kbit/s) take about 840 KiB: the
    // cap made room by dropping the oldest; the newest stays.
    assert!(kept.len() < 6, "nothing was dropped: {kept:?}");
    assert!(
        kept.iter().any(|k| k.0 == last),
        "{last} was dropped: {kept:?}"
    );
    let m = metrics(&srv).await;
    let dropped: u64 = m
        .lines()
        .find_map(|l| l.strip_prefix("refrain_transcode_cache_dropped_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(dropped > 0, "{m}");
    assert!(
        m.contains(&format!("refrain_transcode_cache_limit_bytes {CAP}")),
        "{m}"
    );
}

backend::on_both_databases!(
    kept_transcodes_are_few_and_bounded,
    a_music_folder_cannot_hand_out_the_server_key,
    apps_get_the_format_and_rate_they_ask_for,
);
