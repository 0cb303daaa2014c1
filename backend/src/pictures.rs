//! Pictures people give us (profile pictures, embedded cover art): decoded with limits,
//! cropped to the centre square and scaled, off the async threads by the callers.

use crate::{Error, Result};
use image::{DynamicImage, ImageFormat, ImageReader, imageops::FilterType};

/// Largest side of a picture we decode.
pub const MAX_SIDE: u32 = 8192;

/// Decodes PNG, JPEG, WebP or GIF, refusing anything else or larger than [`MAX_SIDE`].
pub fn decode(data: &[u8]) -> Result<DynamicImage> {
    let unreadable =
        || Error::Invalid("that is not a picture we can read (use PNG, JPEG, WebP or GIF)".into());
    let mut reader = ImageReader::new(std::io::Cursor::new(data))
        .with_guessed_format()
        .map_err(|_| unreadable())?;
    if !matches!(
        reader.format(),
        Some(ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP | ImageFormat::Gif)
    ) {
        return Err(unreadable());
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => Error::Invalid(format!(
            "the picture is too large (at most {MAX_SIDE}x{MAX_SIDE} pixels)"
        )),
        _ => unreadable(),
    })?;
    if img.width() == 0 || img.height() == 0 {
        return Err(unreadable());
    }
    Ok(img)
}

/// The centre square of `img`, scaled to `size` × `size`.
pub fn square(img: &DynamicImage, size: u32) -> DynamicImage {
    let side = img.width().min(img.height());
    let x = (img.width() - side) / 2;
    let y = (img.height() - side) / 2;
    img.crop_imm(x, y, side, side)
        .resize_exact(size, size, FilterType::Lanczos3)
}

pub fn png(img: &DynamicImage) -> Result<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.to_rgba8()
        .write_to(&mut out, ImageFormat::Png)
        .map_err(|e| anyhow::anyhow!("encoding a picture: {e}"))?;
    Ok(out.into_inner())
}

pub fn jpeg(img: &DynamicImage, quality: u8) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&img.to_rgb8())
        .map_err(|e| anyhow::anyhow!("encoding a picture: {e}"))?;
    Ok(out)
}

/// Square JPEG thumbnails of a cover in each of [`crate::imports::COVER_SIZES`].
pub fn cover_thumbnails(data: &[u8]) -> Result<Vec<(u32, Vec<u8>)>> {
    let img = decode(data)?;
    crate::imports::COVER_SIZES
        .iter()
        .map(|&s| Ok((s, jpeg(&square(&img, s), 85)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_are_square_jpegs_of_each_size() {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(800, 500, |x, _| {
            image::Rgb([(x % 256) as u8, 40, 90])
        }));
        let thumbs = cover_thumbnails(&png(&img).unwrap()).unwrap();
        assert_eq!(thumbs.len(), crate::imports::COVER_SIZES.len());
        for (size, bytes) in thumbs {
            assert!(bytes.starts_with(&[0xFF, 0xD8, 0xFF]), "JPEG");
            let t = decode(&bytes).unwrap();
            assert_eq!((t.width(), t.height()), (size, size));
        }
    }

    #[test]
    fn garbage_is_refused() {
        assert!(matches!(
            cover_thumbnails(b"not a picture"),
            Err(Error::Invalid(_))
        ));
    }
}
