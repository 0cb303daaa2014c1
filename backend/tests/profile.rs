//! Profile pictures on both databases: cropped and scaled, bad files refused with nothing
//! stored, replaced and removed pictures leave no objects behind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::{self, profile};
use backend::testing::Backend;
use backend::{Core, Error};
use image::{ImageFormat, Rgb, RgbImage};

const PW: &str = "violet-harbour-87";

/// A `w`x`h` image in three vertical bands: red, green, blue.
fn bands(w: u32, h: u32, format: ImageFormat) -> bytes::Bytes {
    let img = RgbImage::from_fn(w, h, |x, _| match x * 3 / w {
        0 => Rgb([255, 0, 0]),
        1 => Rgb([0, 255, 0]),
        _ => Rgb([0, 0, 255]),
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner().into()
}

async fn objects(core: &Core) -> Vec<String> {
    core.storage.list("avatars/").await.unwrap()
}

async fn a_picture_is_cropped_to_a_centred_square_of_256_pixels(b: Backend) {
    let (core, _d) = b.core().await;
    let user = auth::signup(&core, "pic@example.com", PW).await.unwrap();
    let key = profile::set_avatar(&core, &user, bands(600, 200, ImageFormat::Jpeg))
        .await
        .unwrap();
    assert_eq!(
        profile::avatar_key(&core, &user.id)
            .await
            .unwrap()
            .as_deref(),
        Some(key.as_str())
    );
    let stored = core.storage.get_bytes(&key).await.unwrap();
    let img = image::load_from_memory_with_format(&stored, ImageFormat::Png)
        .unwrap()
        .to_rgb8();
    assert_eq!(img.dimensions(), (256, 256));
    // The centre square of a 600x200 picture is the middle (green) band.
    let c = img.get_pixel(128, 128);
    assert!(c[1] > 200 && c[0] < 60 && c[2] < 60, "{c:?}");
}

async fn unreadable_or_huge_pictures_are_refused_and_nothing_is_stored(b: Backend) {
    let (core, _d) = b.core().await;
    let user = auth::signup(&core, "bad-pic@example.com", PW)
        .await
        .unwrap();
    for (data, needle) in [
        (
            bytes::Bytes::from_static(b"definitely not an image"),
            "PNG, JPEG",
        ),
        (
            bytes::Bytes::from_static(b"\x89PNG\r\n\x1a\nbroken"),
            "PNG, JPEG",
        ),
        (bands(9000, 3, ImageFormat::Png), "too large"),
        (
            bytes::Bytes::from(vec![0u8; profile::MAX_AVATAR_BYTES + 1]),
            "",
        ),
    ] {
        match profile::set_avatar(&core, &user, data).await {
            Err(Error::Invalid(msg)) => assert!(msg.contains(needle), "{msg}"),
            Err(Error::TooLarge { .. }) => assert!(needle.is_empty()),
            other => panic!("accepted: {other:?}"),
        }
    }
    assert_eq!(profile::avatar_key(&core, &user.id).await.unwrap(), None);
    assert!(objects(&core).await.is_empty());
}

async fn replacing_removing_and_deleting_the_account_leave_no_objects(b: Backend) {
    let (core, _d) = b.core().await;
    auth::signup(&core, "first-admin@example.com", PW)
        .await
        .unwrap();
    let user = auth::signup(&core, "swap@example.com", PW).await.unwrap();
    let first = profile::set_avatar(&core, &user, bands(64, 64, ImageFormat::Png))
        .await
        .unwrap();
    let second = profile::set_avatar(&core, &user, bands(80, 80, ImageFormat::WebP))
        .await
        .unwrap();
    assert_ne!(first, second);
    assert_eq!(objects(&core).await, vec![second.clone()]);
    profile::remove_avatar(&core, &user).await.unwrap();
    assert_eq!(profile::avatar_key(&core, &user.id).await.unwrap(), None);
    assert!(objects(&core).await.is_empty());

    profile::set_avatar(&core, &user, bands(64, 64, ImageFormat::Gif))
        .await
        .unwrap();
    assert_eq!(objects(&core).await.len(), 1);
    auth::account::delete_account(&core, &user, PW, None)
        .await
        .unwrap();
    assert!(objects(&core).await.is_empty());
}

backend::on_both_databases!(
    a_picture_is_cropped_to_a_centred_square_of_256_pixels,
    unreadable_or_huge_pictures_are_refused_and_nothing_is_stored,
    replacing_removing_and_deleting_the_account_leave_no_objects,
);
