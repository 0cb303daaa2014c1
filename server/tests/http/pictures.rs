//! Pictures: album covers and profile pictures, uploaded, thumbnailed, cached and private.

use crate::common::*;
use backend::testing::Backend;
use reqwest::StatusCode;
use server_fn::ServerFn;

/// Covers come as square JPEG thumbnails of the asked size (or the embedded original),
/// cached for a year and revalidated by ETag; only for users who may see the track.
async fn covers_are_thumbnailed_cached_and_private(b: Backend) {
    let srv = start(b, 1 << 20).await;
    // The first account is the admin, whose uploads are shared; this one is a listener's.
    signup(&client(), &srv, "first@example.com").await;
    let c = client();
    signup(&c, &srv, "covers@example.com").await;
    let r = c
        .post(format!("{}/api/uploads?filename=covered.mp3", srv.base))
        .body(backend::testing::sine_mp3_with_cover(2, "blue"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    worker::dispatch::drain(&srv.core).await.unwrap();
    let tracks: Vec<app::model::TrackItem> = call(&c, &srv, app::library::ListTracks::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    assert!(tracks[0].has_cover);
    let url = format!("{}/covers/{}", srv.base, tracks[0].id);

    let r = c.get(format!("{url}?s=48")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let cache = r.headers()["cache-control"].to_str().unwrap().to_string();
    assert!(
        cache.contains("max-age=31536000") && cache.contains("private"),
        "{cache}"
    );
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let img = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
    assert_eq!((img.width(), img.height()), (96, 96));
    let r = c
        .get(format!("{url}?s=48"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert!(r.bytes().await.unwrap().is_empty());

    let r = c.get(format!("{url}?s=600")).send().await.unwrap();
    assert_ne!(r.headers()["etag"].to_str().unwrap(), etag);
    let img = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
    assert_eq!((img.width(), img.height()), (640, 640));
    // Without a size: the embedded original.
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "image/png");

    // A personal upload's cover is nobody else's business; no session, no cover.
    let other = client();
    signup(&other, &srv, "nosy@example.com").await;
    let r = other.get(format!("{url}?s=48")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // The owner puts the track on an album through the edit form and gives the album a
    // new cover: the track's cover version (and so its URL) changes, and the new URL
    // serves the new picture. Nobody else may change it.
    let id = tracks[0].id.clone();
    let r = call(
        &c,
        &srv,
        app::catalog::SaveTrack::PATH,
        &[
            ("id", id.as_str()),
            ("title", "Blue Tone"),
            ("artist", "Sine Wave"),
            ("album", "Blue Period"),
            ("album_artist", ""),
            ("track_no", "1"),
            ("disc_no", ""),
            ("year", "2026"),
            ("genre", ""),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let before: Vec<app::model::TrackItem> = call(&c, &srv, app::library::ListTracks::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    assert_eq!(before[0].album.as_deref(), Some("Blue Period"));
    let album = before[0].album_id.clone().unwrap();
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        300,
        300,
        image::Rgb([250, 200, 0]),
    ))
    .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
    .unwrap();
    let cover_url = format!("{}/api/albums/{album}/cover", srv.base);
    let r = other
        .post(&cover_url)
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = c
        .post(&cover_url)
        .body(b"GIF89a nonsense".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c.post(&cover_url).body(png).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let after: Vec<app::model::TrackItem> = call(&c, &srv, app::library::ListTracks::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    assert_ne!(after[0].cover_v, before[0].cover_v);
    let r = c
        .get(format!("{url}?s=48&v={}", after[0].cover_v))
        .send()
        .await
        .unwrap();
    let img = image::load_from_memory(&r.bytes().await.unwrap())
        .unwrap()
        .to_rgb8();
    let px = img.get_pixel(48, 48).0;
    let near = |a: u8, b: u8| a.abs_diff(b) < 16;
    assert!(
        near(px[0], 250) && near(px[1], 200) && near(px[2], 0),
        "the new yellow cover, not the blue one: {px:?}"
    );
}

/// A picture goes up through `POST /api/avatar` and comes back with an ETag; other
/// signed-in users may see it, strangers may not.
async fn a_profile_picture_is_uploaded_served_and_revalidated(b: Backend) {
    let srv = start(b, 1 << 20).await;
    let c = client();
    signup(&c, &srv, "face@example.com").await;
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(300, 300, image::Rgb([10, 200, 90]))
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let r = c
        .post(format!("{}/api/avatar", srv.base))
        .header("content-type", "image/png")
        .body(png.into_inner())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value = r.json().await.unwrap();
    let url = v["url"].as_str().unwrap().to_string();
    let me: Option<app::auth::UserInfo> = call(&c, &srv, app::auth::CurrentUser::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    assert_eq!(me.unwrap().avatar.as_deref(), Some(url.as_str()));

    let r = c.get(format!("{}{url}", srv.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let img = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
    assert_eq!((img.width(), img.height()), (256, 256));
    let r = c
        .get(format!("{}{url}", srv.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);

    let other = client();
    signup(&other, &srv, "friend@example.com").await;
    let r = other
        .get(format!("{}{url}", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = client()
        .get(format!("{}{url}", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = client()
        .post(format!("{}/api/avatar", srv.base))
        .body(vec![1u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Not a picture: a reason, and the old picture stays.
    let r = c
        .post(format!("{}/api/avatar", srv.base))
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = r.text().await.unwrap();
    assert!(body.contains("PNG, JPEG"), "{body}");
    let r = c
        .post(format!("{}/api/avatar", srv.base))
        .body(vec![0u8; 6 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let r = c.get(format!("{}{url}", srv.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

backend::on_both_databases!(
    covers_are_thumbnailed_cached_and_private,
    a_profile_picture_is_uploaded_served_and_revalidated,
);
