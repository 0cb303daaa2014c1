use crate::{Error, Result};
use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 128;

static COMMON: &str = include_str!("common_passwords.txt");

/// NIST SP 800-63B style rules: length, and not a commonly used password.
pub fn check_password_policy(password: &str, email: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(Error::WeakPassword(format!(
            "use at least {MIN_LEN} characters"
        )));
    }
    if n > MAX_LEN {
        return Err(Error::WeakPassword(format!(
            "use at most {MAX_LEN} characters"
        )));
    }
    let lower = password.to_lowercase();
    if COMMON.lines().any(|l| !l.is_empty() && l == lower) {
        return Err(Error::WeakPassword(
            "this is one of the most common passwords".into(),
        ));
    }
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    if lower == email.to_lowercase() || (!local.is_empty() && lower == local) {
        return Err(Error::WeakPassword("do not use your email address".into()));
    }
    Ok(())
}

/// argon2id with the crate's defaults (19 MiB, 2 passes), off the async threads.
pub async fn hash(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
    })
    .await
    .map_err(|e| anyhow::anyhow!("hash task: {e}"))?
    .map_err(Error::from)
}

pub async fn verify(password: String, phc: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&phc).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
        Ok::<_, anyhow::Error>(
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
        )
    })
    .await
    .map_err(|e| anyhow::anyhow!("verify task: {e}"))?
    .map_err(Error::from)
}

/// Re-authentication (changing the password or email, turning two-factor off, deleting
/// the account, making an app key): the account's current password, or `BadCredentials`.
/// Throttled per account like the login (a stolen session cannot guess the password at
/// hashing speed), on a key of its own, so it never locks the owner's login.
pub async fn check_current(db: &sqlx::AnyPool, user_id: &str, password: &str) -> Result<()> {
    let key = [super::throttle::Key::account(&format!("reauth:{user_id}"))];
    super::throttle::begin(db, &key).await?;
    let hash = super::repo::password_hash(db, user_id)
        .await?
        .ok_or(crate::Error::Unauthenticated)?;
    if verify(password.to_string(), hash).await? {
        super::throttle::clear(db, &key[0]).await?;
        Ok(())
    } else {
        crate::ops::count_auth_failure(crate::ops::AuthFailure::Reauth);
        Err(crate::Error::BadCredentials)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_password_is_weak() {
        assert!(matches!(
            check_password_policy("abc12", "a@b.c"),
            Err(Error::WeakPassword(_))
        ));
    }
    #[test]
    fn long_password_up_to_128_is_fine() {
        assert!(check_password_policy(&"x7Q".repeat(42), "a@b.c").is_ok());
        assert!(check_password_policy(&"x".repeat(129), "a@b.c").is_err());
    }
    #[test]
    fn common_password_is_weak_in_any_case() {
        assert!(check_password_policy("Password1", "a@b.c").is_err());
        assert!(check_password_policy("QWERTYUIOP", "a@b.c").is_err());
    }
    #[test]
    fn email_as_password_is_weak() {
        assert!(check_password_policy("someone@example.com", "someone@example.com").is_err());
    }
    #[test]
    fn unusual_password_is_accepted() {
        assert!(check_password_policy("violet-harbour-87", "a@b.c").is_ok());
    }
    #[tokio::test]
    async fn hash_verifies_only_the_same_password() {
        let h = hash("violet-harbour-87".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("violet-harbour-87".into(), h.clone()).await.unwrap());
        assert!(!verify("violet-harbour-88".into(), h).await.unwrap());
    }
}
