//! The media methods: `stream` and `download` (the original file, honouring `Range`),
//! `getCoverArt` (sizes clamped; thumbnails where the import made them) and `getAvatar`.

use super::{Call, Failure, Reply};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use backend::subsonic::media;
use backend::subsonic::transcode::{self, Plan};

/// `Content-Disposition: attachment` for `name`: an ASCII fallback (anything else, quotes,
/// backslashes and controls become `_`) and the exact name per RFC 5987. A name made from
/// tags may hold path parts: slashes and backslashes become `_` in both forms and leading
/// dots go, so no client saves it outside its downloads folder or as a hidden file.
pub fn content_disposition(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| if c == '/' || c == '\\' { '_' } else { c })
        .collect();
    let name = name.trim_start_matches(['.', ' ']);
    let name = if name.is_empty() { "download" } else { name };
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// `stream`: the original, or a transcode when the app asks for another format, a lower
/// `maxBitRate` or a `timeOffset` (see `backend::subsonic::transcode`); `download`: the
/// original as an attachment.
pub async fn original(call: &Call<'_>, download: bool) -> Result<Reply, Failure> {
    let id = call.params.required("id")?;
    let core = &call.state.core;
    let file = media::original(core, &call.user, id).await?;
    if !download {
        let max = call.params.int("maxBitRate", 0, 0, 100_000)?;
        let offset = call.params.int("timeOffset", 0, 0, 24 * 3600)?;
        let secs = (file.song.track.duration_ms / 1000).max(1);
        let original_kbps = file.song.size.map(|b| b * 8 / 1000 / secs);
        let plan = transcode::plan(
            call.params.get("format"),
            u32::try_from(max).unwrap_or(0),
            u32::try_from(offset).unwrap_or(0),
            file.song.suffix().as_deref(),
            original_kbps,
        )?;
        if let Plan::Transcode {
            codec,
            kbps,
            offset,
        } = plan
        {
            return transcoded(call, &file, (codec, kbps, offset)).await;
        }
    }
    let mut extra = vec![
        (header::CONTENT_TYPE, file.mime.to_string()),
        (header::CACHE_CONTROL, "private, max-age=3600".to_string()),
    ];
    if download {
        extra.push((
            header::CONTENT_DISPOSITION,
            content_disposition(&file.filename),
        ));
    }
    let res = crate::media::ranged(&call.headers, file.bytes, &extra, |start, end| {
        let file = file.clone();
        async move { file.range(core, start, end).await }
    })
    .await;
    Ok(Reply::Raw(res))
}

/// A transcode: the kept one when there is one (with `Range`), else made now, its bytes
/// sent as ffmpeg writes them.
async fn transcoded(
    call: &Call<'_>,
    file: &media::Original,
    (codec, kbps, offset): (transcode::Codec, u32, u32),
) -> Result<Reply, Failure> {
    let core = &call.state.core;
    let key = transcode::cache_key(&file.song.track.id, codec, kbps);
    if offset == 0
        && let Ok(size) = core.storage.size(&key).await
    {
        let extra = [
            (header::CONTENT_TYPE, codec.mime().to_string()),
            (header::CACHE_CONTROL, "private, max-age=3600".to_string()),
        ];
        let res = crate::media::ranged(&call.headers, size, &extra, |start, end| {
            let key = key.clone();
            async move { core.storage.get_range(&key, start, end).await }
        })
        .await;
        return Ok(Reply::Raw(res));
    }
    let Some(permit) = core.transcodes.enter(&call.user.id) else {
        return Err(Failure {
            code: 0,
            message: "too many transcodes at once: try again in a moment, or ask for format=raw"
                .into(),
            status: StatusCode::TOO_MANY_REQUESTS,
        });
    };
    let t = transcode::start(core, file, (codec, kbps, offset), permit).await?;
    Ok(Reply::Raw(
        (
            [
                (header::CONTENT_TYPE, t.mime),
                (header::CACHE_CONTROL, "no-store"),
                (header::ACCEPT_RANGES, "none"),
            ],
            axum::body::Body::from_stream(t.stream),
        )
            .into_response(),
    ))
}

pub async fn cover_art(call: &Call<'_>) -> Result<Reply, Failure> {
    let id = call.params.required("id")?;
    let size = match call.params.get("size").filter(|s| !s.is_empty()) {
        None => None,
        Some(_) => Some(
            u32::try_from(
                call.params
                    .int("size", 0, 1, i64::from(media::MAX_COVER_SIZE))?,
            )
            .unwrap_or(media::MAX_COVER_SIZE),
        ),
    };
    let core = &call.state.core;
    let obj = media::cover(core, &call.user, id, size).await?;
    Ok(Reply::Raw(
        crate::media::serve_cover(core, &obj, &call.headers).await?,
    ))
}

/// `getAvatar`: the caller's own picture (another user's is not shown to apps).
pub async fn avatar(call: &Call<'_>) -> Result<Reply, Failure> {
    call.only_self(true, "picture")?;
    let core = &call.state.core;
    let key = backend::auth::profile::avatar_key(core, &call.user.id)
        .await?
        .ok_or_else(|| Failure::not_found("picture"))?;
    let bytes = core.storage.get_bytes(&key).await?;
    Ok(Reply::Raw(
        (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "private, max-age=86400"),
            ],
            bytes,
        )
            .into_response(),
    ))
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn file_names_are_safe_in_both_forms() {
        assert_eq!(
            content_disposition("Björk - \"Jóga\".flac"),
            "attachment; filename=\"Bj_rk - _J_ga_.flac\"; filename*=UTF-8''Bj%C3%B6rk%20-%20%22J%C3%B3ga%22.flac"
        );
        let evil = content_disposition("a\r\nSet-Cookie: x\\y.mp3");
        assert!(!evil.contains('\r') && !evil.contains('\n'));
        assert!(evil.starts_with("attachment; filename=\"a__Set-Cookie: x_y.mp3\""));
        // A name that tries to close the quoted name and add a parameter of its own.
        let v = content_disposition("a\"; filename=\"evil.html");
        assert_eq!(
            v,
            "attachment; filename=\"a_; filename=_evil.html\"; filename*=UTF-8''a%22%3B%20filename%3D%22evil.html"
        );
        // One quoted string, whose own quotes were replaced: no parameter escapes it.
        assert_eq!(v.matches('"').count(), 2, "{v}");
        // A name made from tags that holds path parts (matrix row 23).
        assert_eq!(
            content_disposition("../../etc/cron.d/x.mp3"),
            "attachment; filename=\"_.._etc_cron.d_x.mp3\"; filename*=UTF-8''_.._etc_cron.d_x.mp3"
        );
        assert_eq!(
            content_disposition("..\\..\\boot.ini"),
            "attachment; filename=\"_.._boot.ini\"; filename*=UTF-8''_.._boot.ini"
        );
        assert!(content_disposition("..").starts_with("attachment; filename=\"download\""));
    }
}
