use super::token;
use crate::infra::actor::CurrentUser;
use crate::keys::TokenError;
use crate::library::repo as library_repo;
use crate::{Core, Error, Result, auth};
use serde::{Deserialize, Serialize};

/// What the player needs to stream one track.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreamInfo {
    pub url: String,
    pub mime: String,
    pub duration_ms: i64,
    pub bytes: i64,
    /// Byte offset where the first media fragment starts (the init segment ends).
    pub init_end: u64,
    /// Fragment start times (ms) and byte offsets, for seeking to unbuffered positions.
    pub segments: Vec<(u64, u64)>,
    /// Encoder delay at the start of the rendition (seconds), trimmed for gapless playback.
    pub priming_secs: f64,
    /// Loudness normalization gain (dB, at most 0), when loudness was measured at import.
    pub gain_db: Option<f64>,
}

/// A verified stream request.
#[derive(Debug, Clone)]
pub struct StreamAccess {
    pub rendition_key: String,
    pub mime: String,
    pub bytes: u64,
    /// When the presented token expires (Unix seconds).
    pub expires_at: u64,
}

/// Mints a signed stream URL for a track the user may play. A scanned track whose
/// rendition is still to be made gets it now.
pub async fn stream_info(core: &Core, user: &CurrentUser, track_id: &str) -> Result<StreamInfo> {
    let t = ready_row(core, user, track_id, true)
        .await?
        .ok_or_else(|| Error::Invalid("this track's file is not available right now".into()))?;
    mint(core, user, track_id, t).await
}

/// Like [`stream_info`], but `None` for a track whose rendition is not made yet (a
/// download of a long list must not transcode it all within one request).
pub async fn stream_info_if_ready(
    core: &Core,
    user: &CurrentUser,
    track_id: &str,
) -> Result<Option<StreamInfo>> {
    match ready_row(core, user, track_id, false).await? {
        Some(t) => Ok(Some(mint(core, user, track_id, t).await?)),
        None => Ok(None),
    }
}

/// The track's stream details when the user may play it ("not found" otherwise) and its
/// rendition is ready (made now if `ensure`).
async fn ready_row(
    core: &Core,
    user: &CurrentUser,
    track_id: &str,
    ensure: bool,
) -> Result<Option<library_repo::StreamRow>> {
    let mut t = library_repo::stream_row(&core.db, track_id, &user.id)
        .await?
        .ok_or(Error::NotFound("track"))?;
    if !t.rendition_ready && ensure {
        // A scanned track played before the background pass reached it.
        crate::folders::rendition::ensure(core, track_id).await?;
        t = library_repo::stream_row(&core.db, track_id, &user.id)
            .await?
            .ok_or(Error::NotFound("track"))?;
    }
    Ok(t.rendition_ready.then_some(t))
}

async fn mint(
    core: &Core,
    user: &CurrentUser,
    track_id: &str,
    t: library_repo::StreamRow,
) -> Result<StreamInfo> {
    let claims = token::StreamClaims::new(
        &user.id,
        track_id,
        &user.login_id,
        core.config.auth.stream_token_ttl_secs,
    );
    let token = token::sign(&core.keys.stream, &claims).await?;
    let index: crate::imports::SegmentIndex = serde_json::from_str(&t.segment_index)
        .map_err(|e| anyhow::anyhow!("bad segment index for track {track_id}: {e}"))?;
    // AAC starts with the encoder's priming; FLAC and Opus in MP4 carry none to trim.
    let priming_secs = if t.rendition_mime == crate::media::RENDITION_MIME {
        f64::from(crate::imports::RENDITION_PRIMING_SAMPLES)
            / f64::from(crate::imports::RENDITION_SAMPLE_RATE)
    } else {
        0.0
    };
    Ok(StreamInfo {
        url: format!("/stream/{track_id}?t={token}"),
        mime: t.rendition_mime,
        duration_ms: t.duration_ms,
        bytes: t.rendition_bytes,
        init_end: index.init_end,
        segments: index.segments,
        priming_secs,
        gain_db: t.loudness.map(crate::imports::normalization_gain_db),
    })
}

/// Errors a stream request can meet; the server maps them to 401 and 403.
#[derive(Debug, thiserror::Error)]
pub enum Denied {
    #[error("missing or invalid token")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
}

/// Checks a stream token for `track_id`. `session_user` is the user of the request's
/// session cookie, when it has one: a token presented by another signed-in user is refused.
pub async fn authorize_stream(
    core: &Core,
    token: Option<&str>,
    track_id: &str,
    session_user: Option<&str>,
) -> Result<std::result::Result<StreamAccess, Denied>> {
    let Some(token) = token else {
        return Ok(Err(Denied::Unauthorized));
    };
    let claims = match token::verify(&core.keys.stream, token).await? {
        Ok(c) => c,
        Err(TokenError::Expired | TokenError::Invalid) => {
            return Ok(Err(Denied::Unauthorized));
        }
    };
    // The login the token was minted under must still be live (logout ends it), and its
    // user may play the track: one statement (a stream request is mostly this lookup).
    let now = crate::now_ms();
    let (started_after, seen_after) = auth::live_login_window(core, now);
    let Some(grant) =
        super::repo::stream_grant(&core.db, (&claims.lid, started_after, seen_after), track_id)
            .await?
    else {
        return Ok(Err(Denied::Unauthorized));
    };
    if grant.user_id != claims.sub {
        return Ok(Err(Denied::Unauthorized));
    }
    auth::login_used(core, &claims.lid, grant.last_seen, now).await?;
    if claims.trk != track_id || session_user.is_some_and(|s| s != claims.sub) {
        crate::auth::audit::refused(&claims.sub, "stream with a token of another track or user");
        return Ok(Err(Denied::Forbidden));
    }
    let Some((rendition_key, mime, bytes, ready)) = grant.rendition else {
        return Ok(Err(Denied::Forbidden));
    };
    if !ready {
        // Its file changed since the token was minted: the player asks for a new one.
        return Ok(Err(Denied::Unauthorized));
    }
    Ok(Ok(StreamAccess {
        rendition_key,
        mime,
        bytes: u64::try_from(bytes).unwrap_or_default(),
        expires_at: claims.exp,
    }))
}
