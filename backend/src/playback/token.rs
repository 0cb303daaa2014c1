use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::signature::KeyPair;
use serde::{Deserialize, Serialize};

/// Stream tokens have their own audience so no other token kind can stand in for one.
pub const STREAM_AUDIENCE: &str = "refrain-stream";
const ISSUER: &str = "refrain";

/// Ed25519 signing key for stream URLs, kept as PKCS#8 in the data directory.
pub struct StreamKeys {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

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

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    #[error("expired")]
    Expired,
    #[error("invalid")]
    Invalid,
}

impl StreamKeys {
    /// Loads the shared stream signing key from the database, creating it on first start.
    /// Every node signs with the oldest live key, so nodes that start together agree.
    pub async fn load_or_create(db: &crate::db::Db) -> crate::Result<Self> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        if let Some(k) = oldest_live(db).await? {
            return Self::from_pkcs8(
                &b64.decode(k)
                    .map_err(|e| anyhow::anyhow!("stored key: {e}"))?,
            );
        }
        let pkcs8 = Self::generate_pkcs8()?;
        let keys = Self::from_pkcs8(&pkcs8)?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, purpose, pkcs8_b64, created_at) VALUES ($1, 'stream', $2, $3)
             ON CONFLICT (kid) DO NOTHING",
        )
        .bind(&keys.kid)
        .bind(b64.encode(&pkcs8))
        .bind(crate::now_ms())
        .execute(db)
        .await?;
        let stored = oldest_live(db)
            .await?
            .ok_or_else(|| anyhow::anyhow!("signing key vanished"))?;
        Self::from_pkcs8(
            &b64.decode(stored)
                .map_err(|e| anyhow::anyhow!("stored key: {e}"))?,
        )
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn generate_pkcs8() -> crate::Result<Vec<u8>> {
        let rng = ring::rand::SystemRandom::new();
        let doc = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| anyhow::anyhow!("cannot generate an Ed25519 key"))?;
        Ok(doc.as_ref().to_vec())
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> crate::Result<Self> {
        let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8)
            .map_err(|_| anyhow::anyhow!("the stream signing key is not valid Ed25519 PKCS#8"))?;
        let public = pair.public_key().as_ref().to_vec();
        let digest = ring::digest::digest(&ring::digest::SHA256, &public);
        let kid = digest.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(StreamKeys {
            kid,
            encoding: EncodingKey::from_ed_der(pkcs8),
            decoding: DecodingKey::from_ed_der(&public),
        })
    }

    pub fn sign(&self, claims: &StreamClaims) -> crate::Result<String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| anyhow::anyhow!("signing a stream token: {e}").into())
    }

    pub fn mint(
        &self,
        user_id: &str,
        track_id: &str,
        login_id: &str,
        ttl_secs: u64,
    ) -> crate::Result<String> {
        let now = unix_now();
        self.sign(&StreamClaims {
            iss: ISSUER.into(),
            aud: STREAM_AUDIENCE.into(),
            sub: user_id.into(),
            trk: track_id.into(),
            lid: login_id.into(),
            iat: now,
            exp: now + ttl_secs,
        })
    }

    /// Checks signature, algorithm, issuer, audience and expiry (no leeway).
    pub fn verify(&self, token: &str) -> Result<StreamClaims, TokenError> {
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_audience(&[STREAM_AUDIENCE]);
        v.set_issuer(&[ISSUER]);
        v.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        v.leeway = 0;
        match jsonwebtoken::decode::<StreamClaims>(token, &self.decoding, &v) {
            Ok(data) => Ok(data.claims),
            Err(e) => match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => Err(TokenError::Expired),
                _ => Err(TokenError::Invalid),
            },
        }
    }
}

async fn oldest_live(db: &crate::db::Db) -> crate::Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT pkcs8_b64 FROM signing_keys WHERE purpose = 'stream' AND retired_at IS NULL
         ORDER BY created_at, kid LIMIT 1",
    )
    .fetch_optional(db)
    .await?)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> StreamKeys {
        StreamKeys::from_pkcs8(&StreamKeys::generate_pkcs8().unwrap()).unwrap()
    }

    fn claims(exp_offset: i64) -> StreamClaims {
        let now = unix_now() as i64;
        StreamClaims {
            iss: ISSUER.into(),
            aud: STREAM_AUDIENCE.into(),
            sub: "u1".into(),
            trk: "t1".into(),
            lid: "l1".into(),
            iat: now as u64,
            exp: (now + exp_offset) as u64,
        }
    }

    #[test]
    fn valid_token_round_trips() {
        let k = keys();
        let t = k.mint("u1", "t1", "l1", 60).unwrap();
        let c = k.verify(&t).unwrap();
        assert_eq!(
            (c.sub.as_str(), c.trk.as_str(), c.lid.as_str()),
            ("u1", "t1", "l1")
        );
    }

    #[test]
    fn expired_token_is_rejected() {
        let k = keys();
        let t = k.sign(&claims(-2)).unwrap();
        assert_eq!(k.verify(&t), Err(TokenError::Expired));
    }

    #[test]
    fn tampered_token_is_rejected() {
        let k = keys();
        let t = k.mint("u1", "t1", "l1", 60).unwrap();
        let mut parts: Vec<String> = t.split('.').map(String::from).collect();
        // Swap the payload for one naming another track, keeping the old signature.
        let mut c = claims(60);
        c.trk = "t2".into();
        use base64::Engine;
        parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&c).unwrap());
        assert_eq!(k.verify(&parts.join(".")), Err(TokenError::Invalid));
    }

    #[test]
    fn token_from_another_key_is_rejected() {
        let t = keys().mint("u1", "t1", "l1", 60).unwrap();
        assert_eq!(keys().verify(&t), Err(TokenError::Invalid));
    }

    #[test]
    fn wrong_audience_is_rejected() {
        let k = keys();
        let mut c = claims(60);
        c.aud = "refrain-api".into();
        assert_eq!(k.verify(&k.sign(&c).unwrap()), Err(TokenError::Invalid));
    }

    #[test]
    fn alg_none_is_rejected() {
        use base64::Engine;
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = e.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = e.encode(serde_json::to_vec(&claims(60)).unwrap());
        assert_eq!(
            keys().verify(&format!("{header}.{body}.")),
            Err(TokenError::Invalid)
        );
    }
}
