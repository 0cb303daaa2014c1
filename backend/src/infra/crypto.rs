//! Small crypto helpers several floors use.

/// Lowercase hex SHA-256: how single-use secrets (recovery codes, email tokens) are stored.
pub fn sha256_hex(s: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, s.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// 256 random bits in hex: email-link and refresh tokens (stored only as [`sha256_hex`]).
pub fn random_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}
