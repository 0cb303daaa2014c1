//! Ed25519 signing keys shared by every server node through the database, one ring per
//! purpose: stream URLs and API access tokens never share a key (nor an audience). The
//! private keys are stored sealed with the server key (`crate::sealed`; a key stored in
//! clear by an older version is sealed when first read), so a copy of the database alone
//! cannot mint tokens; every node therefore needs the same `REFRAIN_SECRET_KEY`.
//!
//! The oldest live key of a purpose signs, so nodes that start together agree. `rotate`
//! retires every live key and adds a new one in one transaction; a retired key keeps
//! verifying for a grace period, so tokens signed just before a rotation stay good until
//! they expire. Each node re-reads its ring every minute, and at once (at most once a
//! second) when a token names a key it does not know; a `kid` not shaped like ours (see
//! `kid_of`) names none and is refused without reading anything.

mod repo;

use crate::db::Db;
use crate::sealed::SecretKey;
use crate::{Error, Result, now_ms};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::signature::KeyPair;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How often a node re-reads its keys, to pick up a rotation made elsewhere.
const REFRESH: Duration = Duration::from_secs(60);
/// A token naming an unknown key makes the node re-read its keys at most this often.
const UNKNOWN_KID_RELOAD: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Stream,
    Api,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Stream => "stream",
            Purpose::Api => "api",
        }
    }
}

/// Why a token was refused. Both mean 401 to a client; the distinction is for logs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("expired")]
    Expired,
    #[error("invalid")]
    Invalid,
}

struct Key {
    kid: String,
    public: Vec<u8>,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl Key {
    fn from_pkcs8(pkcs8: &[u8]) -> Result<Key> {
        let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8)
            .map_err(|_| anyhow::anyhow!("a stored signing key is not valid Ed25519 PKCS#8"))?;
        let public = pair.public_key().as_ref().to_vec();
        Ok(Key {
            kid: kid_of(&public),
            encoding: EncodingKey::from_ed_der(pkcs8),
            decoding: DecodingKey::from_ed_der(&public),
            public,
        })
    }
}

/// The key id: the first 8 bytes of the public key's SHA-256, in hex.
fn kid_of(public: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, public);
    digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `kid` could be one `kid_of` made: 16 lowercase hex digits. Every key in a ring
/// gets its id from `kid_of`, so any other `kid` (`../../x`, `' OR 1=1`) names no key.
fn is_kid_shaped(kid: &str) -> bool {
    kid.len() == 16 && kid.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn generate_pkcs8() -> Result<Vec<u8>> {
    let rng = ring::rand::SystemRandom::new();
    let doc = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng)
        .map_err(|_| anyhow::anyhow!("cannot generate an Ed25519 key"))?;
    Ok(doc.as_ref().to_vec())
}

struct KeySet {
    loaded_at: Instant,
    signer: Arc<Key>,
    /// The signer, every other live key and the retired keys still in their grace period.
    verifiers: Vec<Arc<Key>>,
}

/// The keys of one purpose, cached in memory and re-read from the database.
pub struct Keyring {
    db: Db,
    seal: Arc<SecretKey>,
    purpose: Purpose,
    grace_ms: i64,
    set: RwLock<Arc<KeySet>>,
    /// Tokens whose signature this ring checked (the whole token, signature included, so
    /// a changed payload is another entry). A stream token comes back with every range
    /// request of a track; its signature is checked once, its claims every time.
    verified: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// Most tokens remembered as verified (about 3 MB); past it the memory starts afresh.
const VERIFIED_MOST: usize = 10_000;

impl Keyring {
    /// Loads the keys of `purpose`, creating the first one when there is none.
    pub async fn load(
        db: &Db,
        seal: Arc<SecretKey>,
        purpose: Purpose,
        grace_secs: u64,
    ) -> Result<Keyring> {
        let grace_ms = i64::try_from(grace_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let set = read(db, &seal, purpose, grace_ms).await?;
        Ok(Keyring {
            db: db.clone(),
            seal,
            purpose,
            grace_ms,
            set: RwLock::new(Arc::new(set)),
            verified: Default::default(),
        })
    }

    fn cached(&self) -> Arc<KeySet> {
        match self.set.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    async fn reload(&self) -> Result<Arc<KeySet>> {
        let fresh = Arc::new(read(&self.db, &self.seal, self.purpose, self.grace_ms).await?);
        match self.set.write() {
            Ok(mut s) => *s = fresh.clone(),
            Err(poisoned) => *poisoned.into_inner() = fresh.clone(),
        }
        Ok(fresh)
    }

    async fn current(&self) -> Result<Arc<KeySet>> {
        let set = self.cached();
        if set.loaded_at.elapsed() < REFRESH {
            return Ok(set);
        }
        self.reload().await
    }

    /// The id of the key that signs now.
    pub async fn signing_kid(&self) -> Result<String> {
        Ok(self.current().await?.signer.kid.clone())
    }

    /// Signs `claims` with the current key; the header names the key (`kid`) and `typ`.
    pub async fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String> {
        let set = self.current().await?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(set.signer.kid.clone());
        header.typ = Some(typ.to_string());
        jsonwebtoken::encode(&header, claims, &set.signer.encoding).map_err(|e| {
            Error::Unexpected(anyhow::anyhow!(
                "signing a {} token: {e}",
                self.purpose.as_str()
            ))
        })
    }

    /// Verifies `token`: EdDSA only, a `kid` of this ring (so no other purpose's key), the
    /// header `typ`, and whatever `validation` demands of the claims. The outer error is a
    /// database failure while re-reading the keys; the inner one is the token's fault.
    pub async fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        validation: &Validation,
    ) -> Result<std::result::Result<T, TokenError>> {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Ok(Err(TokenError::Invalid));
        };
        if header.alg != Algorithm::EdDSA || header.typ.as_deref() != Some(typ) {
            return Ok(Err(TokenError::Invalid));
        }
        // A kid unlike ours is refused before it could make the ring re-read its keys.
        let Some(kid) = header.kid.filter(|k| is_kid_shaped(k)) else {
            return Ok(Err(TokenError::Invalid));
        };
        let mut set = self.cached();
        let find = |set: &KeySet| set.verifiers.iter().find(|k| k.kid == kid).cloned();
        let mut key = find(&set);
        if key.is_none() && set.loaded_at.elapsed() >= UNKNOWN_KID_RELOAD {
            set = self.reload().await?;
            key = find(&set);
        }
        let Some(key) = key else {
            return Ok(Err(TokenError::Invalid));
        };
        let mut validation = validation.clone();
        validation.algorithms = vec![Algorithm::EdDSA];
        // A token whose signature was checked here before (by a key still in the ring):
        // its claims are checked as always, the signature not again.
        let seen = self
            .verified
            .lock()
            .map(|v| v.contains(token))
            .unwrap_or(false);
        if seen {
            // Deprecated in jsonwebtoken 10 in favour of `insecure_decode`, which would
            // skip the claims' checks too; this keeps the library checking them.
            #[allow(deprecated)]
            validation.insecure_disable_signature_validation();
        }
        Ok(
            match jsonwebtoken::decode::<T>(token, &key.decoding, &validation) {
                Ok(data) => {
                    if !seen && let Ok(mut v) = self.verified.lock() {
                        if v.len() >= VERIFIED_MOST {
                            v.clear();
                        }
                        v.insert(token.to_string());
                    }
                    Ok(data.claims)
                }
                Err(e) => match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => Err(TokenError::Expired),
                    _ => Err(TokenError::Invalid),
                },
            },
        )
    }

    /// The public keys that verify this ring's tokens, as a JSON Web Key Set (RFC 8037
    /// `OKP` keys). Never anything private.
    pub async fn jwks(&self) -> Result<serde_json::Value> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let set = self.current().await?;
        let keys: Vec<serde_json::Value> = set
            .verifiers
            .iter()
            .map(|k| {
                serde_json::json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": b64.encode(&k.public),
                    "kid": k.kid,
                    "alg": "EdDSA",
                    "use": "sig",
                })
            })
            .collect();
        Ok(serde_json::json!({ "keys": keys }))
    }
}

/// What a private key is bound to when sealed.
fn seal_purpose(purpose: Purpose) -> String {
    format!("signing-key:{}", purpose.as_str())
}

/// A private key as stored: sealed with the server key.
fn stored(seal: &SecretKey, purpose: Purpose, pkcs8: &[u8]) -> Result<String> {
    seal.seal(&seal_purpose(purpose), pkcs8)
}

/// Reads the keys of `purpose`; creates the first when none is live. A key stored in
/// clear (before keys were sealed) is sealed now.
async fn read(db: &Db, seal: &SecretKey, purpose: Purpose, grace_ms: i64) -> Result<KeySet> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let now = now_ms();
    let mut rows = repo::usable(db, purpose.as_str(), now - grace_ms).await?;
    if !rows.iter().any(|r| r.live) {
        let pkcs8 = generate_pkcs8()?;
        let key = Key::from_pkcs8(&pkcs8)?;
        let value = stored(seal, purpose, &pkcs8)?;
        repo::insert(db, &key.kid, purpose.as_str(), &value, now).await?;
        rows = repo::usable(db, purpose.as_str(), now - grace_ms).await?;
    }
    let mut signer = None;
    let mut verifiers = Vec::with_capacity(rows.len());
    for r in rows {
        let pkcs8 = if SecretKey::is_sealed(&r.pkcs8_b64) {
            seal.open(&seal_purpose(purpose), &r.pkcs8_b64)
                .map_err(|_| {
                    anyhow::anyhow!(
                        "signing key {} does not open with this node's server key: give every node \
                     the same REFRAIN_SECRET_KEY",
                        r.kid
                    )
                })?
        } else {
            let pkcs8 = b64
                .decode(&r.pkcs8_b64)
                .map_err(|e| anyhow::anyhow!("stored signing key {}: {e}", r.kid))?;
            repo::restore(db, &r.kid, &r.pkcs8_b64, &stored(seal, purpose, &pkcs8)?).await?;
            tracing::info!(kid = %r.kid, "a signing key stored in clear is now sealed");
            pkcs8
        };
        let key = Arc::new(Key::from_pkcs8(&pkcs8)?);
        // Rows come oldest first: the oldest live key signs.
        if r.live && signer.is_none() {
            signer = Some(key.clone());
        }
        verifiers.push(key);
    }
    let signer =
        signer.ok_or_else(|| anyhow::anyhow!("no live {} signing key", purpose.as_str()))?;
    Ok(KeySet {
        loaded_at: Instant::now(),
        signer,
        verifiers,
    })
}

/// Retires every live key of `purpose` and adds a new one (sealed with `seal`) that signs
/// from now on (other nodes pick it up within a minute), inside the caller's transaction.
/// Returns the new key's id.
pub async fn rotate(
    conn: &mut sqlx::AnyConnection,
    seal: &SecretKey,
    purpose: Purpose,
) -> Result<String> {
    let pkcs8 = generate_pkcs8()?;
    let key = Key::from_pkcs8(&pkcs8)?;
    let now = now_ms();
    repo::retire_live(&mut *conn, purpose.as_str(), now).await?;
    repo::insert(
        &mut *conn,
        &key.kid,
        purpose.as_str(),
        &stored(seal, purpose, &pkcs8)?,
        now,
    )
    .await?;
    Ok(key.kid)
}

/// Both rings of a node.
pub struct Keys {
    pub stream: Keyring,
    pub api: Keyring,
}

impl Keys {
    pub async fn load(db: &Db, seal: Arc<SecretKey>, grace_secs: u64) -> Result<Keys> {
        Ok(Keys {
            stream: Keyring::load(db, seal.clone(), Purpose::Stream, grace_secs).await?,
            api: Keyring::load(db, seal, Purpose::Api, grace_secs).await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ids_shaped_like_ours_name_a_key() {
        for public in [[0u8; 32], [7u8; 32], [255u8; 32]] {
            let kid = kid_of(&public);
            assert!(is_kid_shaped(&kid), "{kid}");
        }
        for kid in [
            "",
            "../../x",
            "' OR 1=1",
            "0123456789ABCDEF",
            "0123456789abcde",
            "0123456789abcdef0",
            "0123456789abcdeg",
        ] {
            assert!(!is_kid_shaped(kid), "{kid}");
        }
    }
}
