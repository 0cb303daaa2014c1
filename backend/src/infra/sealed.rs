//! Secrets the server must be able to read back (the app passwords legacy Subsonic
//! clients sign requests with), sealed with the server key (`REFRAIN_SECRET_KEY`, or a key
//! generated once into the data folder) using ChaCha20-Poly1305. A sealed value is
//! `v1.<base64url(nonce ‖ ciphertext ‖ tag)>`; the purpose is bound in as associated
//! data, so a value sealed for one use cannot be replayed as another.

use crate::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand::RngCore;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use std::path::Path;

const PREFIX: &str = "v1.";
/// Bytes in a server key.
pub const KEY_LEN: usize = 32;

/// The server key. Its bytes never reach logs (`Debug` prints nothing of it).
#[derive(Clone)]
pub struct SecretKey([u8; KEY_LEN]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// A key from its text form: 64 hex digits or 43 characters of unpadded base64url.
    pub fn parse(text: &str) -> Result<SecretKey> {
        let t = text.trim();
        let bytes = if t.len() == KEY_LEN * 2 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..KEY_LEN)
                .map(|i| u8::from_str_radix(&t[i * 2..i * 2 + 2], 16))
                .collect::<std::result::Result<Vec<u8>, _>>()
                .ok()
        } else {
            B64.decode(t.trim_end_matches('=')).ok()
        };
        match bytes {
            Some(b) if b.len() == KEY_LEN => {
                let mut k = [0u8; KEY_LEN];
                k.copy_from_slice(&b);
                Ok(SecretKey(k))
            }
            _ => Err(Error::Invalid(
                "the secret key must be 32 bytes: 64 hex digits or 43 base64url characters".into(),
            )),
        }
    }

    pub fn generate() -> SecretKey {
        let mut k = [0u8; KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut k);
        SecretKey(k)
    }

    /// The key stored in `path`, created (readable by its owner only) when there is none:
    /// the embedded default keeps its key beside its database.
    pub fn load_or_create(path: &Path) -> Result<SecretKey> {
        match std::fs::read_to_string(path) {
            Ok(text) => SecretKey::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SecretKey::generate();
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(anyhow::Error::from)?;
                }
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                match opts.open(path) {
                    Ok(mut f) => {
                        use std::io::Write;
                        f.write_all(B64.encode(key.0).as_bytes())
                            .map_err(anyhow::Error::from)?;
                        Ok(key)
                    }
                    // Another process made it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => SecretKey::parse(
                        &std::fs::read_to_string(path).map_err(anyhow::Error::from)?,
                    ),
                    Err(e) => Err(anyhow::Error::from(e).into()),
                }
            }
            Err(e) => Err(anyhow::Error::from(e).into()),
        }
    }

    fn aead(&self) -> Result<LessSafeKey> {
        UnboundKey::new(&CHACHA20_POLY1305, &self.0)
            .map(LessSafeKey::new)
            .map_err(|_| anyhow::anyhow!("the server key does not fit ChaCha20-Poly1305").into())
    }

    /// Whether `value` is something [`seal`](Self::seal) made (rather than a secret
    /// stored in clear before sealing was introduced).
    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(PREFIX)
    }

    /// Seals `plain` for `purpose`.
    pub fn seal(&self, purpose: &str, plain: &[u8]) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut buf = plain.to_vec();
        self.aead()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose.as_bytes()),
                &mut buf,
            )
            .map_err(|_| anyhow::anyhow!("a secret could not be sealed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(format!("{PREFIX}{}", B64.encode(out)))
    }

    /// Opens what [`seal`](Self::seal) made for the same purpose; anything else (another
    /// key, another purpose, a changed byte) is refused.
    pub fn open(&self, purpose: &str, sealed: &str) -> Result<Vec<u8>> {
        let refused = || anyhow::anyhow!("a sealed secret does not open with this server key");
        let raw = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| B64.decode(b).ok())
            .filter(|r| r.len() >= NONCE_LEN + CHACHA20_POLY1305.tag_len())
            .ok_or_else(refused)?;
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| refused())?;
        let mut buf = body.to_vec();
        let plain = self
            .aead()?
            .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut buf)
            .map_err(|_| refused())?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_only_for_the_same_key_and_purpose() {
        let k = SecretKey::generate();
        let s = k.seal("app-password", b"hunter2").unwrap();
        assert!(s.starts_with("v1."));
        assert!(!s.contains("hunter2"));
        assert_eq!(k.open("app-password", &s).unwrap(), b"hunter2");
        assert!(k.open("totp", &s).is_err());
        assert!(SecretKey::generate().open("app-password", &s).is_err());
        let mut tampered = s.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(
            k.open("app-password", &String::from_utf8(tampered).unwrap())
                .is_err()
        );
        // Two seals of one secret differ (fresh nonces).
        assert_ne!(
            k.seal("app-password", b"x").unwrap(),
            k.seal("app-password", b"x").unwrap()
        );
    }

    #[test]
    fn parses_hex_and_base64_keys_and_refuses_short_ones() {
        let hex = "00".repeat(32);
        assert!(SecretKey::parse(&hex).is_ok());
        assert!(SecretKey::parse(&B64.encode([7u8; 32])).is_ok());
        assert!(SecretKey::parse("abc").is_err());
        assert!(SecretKey::parse(&"00".repeat(16)).is_err());
        assert_eq!(
            format!("{:?}", SecretKey::parse(&hex).unwrap()),
            "SecretKey(..)"
        );
    }

    #[test]
    fn a_generated_key_file_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys").join("secret.key");
        let a = SecretKey::load_or_create(&p).unwrap();
        let b = SecretKey::load_or_create(&p).unwrap();
        let sealed = a.seal("x", b"y").unwrap();
        assert_eq!(b.open("x", &sealed).unwrap(), b"y");
    }
}
