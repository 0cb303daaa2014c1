//! Stream-URL tokens: short-lived Ed25519 JWTs bound to a user, a track and a login, signed
//! by the stream key ring (never the API's) and with their own audience and `typ`.

use crate::Result;
use crate::keys::{Keyring, TokenError};
use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};

/// Stream tokens have their own audience so no other token kind can stand in for one.
pub const STREAM_AUDIENCE: &str = "refrain-stream";
/// The JOSE header `typ` of a stream token.
pub const STREAM_TYP: &str = "refrain-stream+jwt";
const ISSUER: &str = "refrain";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StreamClaims {
    pub iss: String,
    pub aud: String,
    /// User id.
    pub sub: String,
    /// Track id.
    pub trk: String,
    /// Login id: revoked at logout, which ends the token too.
    pub lid: String,
    pub iat: u64,
    pub exp: u64,
}

impl StreamClaims {
    pub fn new(user_id: &str, track_id: &str, login_id: &str, ttl_secs: u64) -> Self {
        let now = unix_now();
        StreamClaims {
            iss: ISSUER.into(),
            aud: STREAM_AUDIENCE.into(),
            sub: user_id.into(),
            trk: track_id.into(),
            lid: login_id.into(),
            iat: now,
            exp: now + ttl_secs,
        }
    }
}

pub async fn sign(ring: &Keyring, claims: &StreamClaims) -> Result<String> {
    ring.sign(STREAM_TYP, claims).await
}

/// Checks signature, key, algorithm, `typ`, issuer, audience and expiry (no leeway: the
/// server that checks is the one that minted).
pub async fn verify(
    ring: &Keyring,
    token: &str,
) -> Result<std::result::Result<StreamClaims, TokenError>> {
    let mut v = Validation::new(Algorithm::EdDSA);
    v.set_audience(&[STREAM_AUDIENCE]);
    v.set_issuer(&[ISSUER]);
    v.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    v.leeway = 0;
    ring.verify(token, STREAM_TYP, &v).await
}

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
