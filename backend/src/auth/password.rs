use crate::{Error, Result};
use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};

/// Shortest password of an account whose password is its only factor (NIST SP 800-63B-4
/// 3.1.1.2: 15 characters for a single-factor password).
pub const MIN_LEN: usize = 15;
/// Shortest password of an account that signs in with a second factor too.
pub const MIN_LEN_WITH_SECOND_FACTOR: usize = 8;
/// Longest password, in characters (Unicode code points): room for any passphrase;
/// anything longer is refused before Argon2 runs.
pub const MAX_LEN: usize = 256;

static COMMON: &str = include_str!("common_passwords.txt");

/// Words of this service that make a guessable password with only digits or symbols
/// around them ("Refrain2026!").
const CONTEXT_WORDS: [&str; 3] = ["refrain", "refrainmusic", "music"];

/// NIST SP 800-63B-4 style rules: length counted in code points (15 at least when the
/// password is the only factor, 8 when the account has a second one on, at most
/// [`MAX_LEN`]), not a commonly used password, not the email address or this service's
/// name dressed up with digits.
pub fn check_password_policy(password: &str, email: &str, second_factor: bool) -> Result<()> {
    let n = password.chars().count();
    let min = if second_factor {
        MIN_LEN_WITH_SECOND_FACTOR
    } else {
        MIN_LEN
    };
    if n < min {
        return Err(Error::WeakPassword(if second_factor {
            format!("use at least {min} characters")
        } else {
            format!(
                "use at least {min} characters (or turn on two-factor authentication for \
                 {MIN_LEN_WITH_SECOND_FACTOR})"
            )
        }));
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
    // Its letters alone, repeated or not: "Refrain-2026!!", "refrainrefrain1".
    let letters: String = lower.chars().filter(|c| c.is_alphabetic()).collect();
    let only = |word: &str| !letters.is_empty() && letters.split(word).all(str::is_empty);
    if CONTEXT_WORDS.iter().any(|w| only(w))
        || (!local.is_empty()
            && only(
                &local
                    .chars()
                    .filter(|c| c.is_alphabetic())
                    .collect::<String>(),
            ))
    {
        return Err(Error::WeakPassword(
            "do not build it on this service's name or your email address".into(),
        ));
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

/// Whether `password` matches the stored PHC string `phc`. A stored hash that does not
/// parse (an empty or damaged `password_hash`) verifies nothing: `Ok(false)`, so the caller
/// answers exactly as for a wrong password, never with a 500 that would tell such an
/// account apart. It is logged as a warning, without the hash.
pub async fn verify(password: String, phc: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || match PasswordHash::new(&phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(e) => {
            tracing::warn!(error = %e, "a stored password hash does not parse; it verifies nothing");
            false
        }
    })
    .await
    .map_err(|e| Error::from(anyhow::anyhow!("verify task: {e}")))
}

/// Re-authentication (changing the password or email, turning two-factor off, deleting
/// the account, making an app key): the account's current password, or `BadCredentials`.
/// Throttled per account like the login (a stolen session cannot guess the password at
/// hashing speed), on a key of its own, so it never locks the owner's login.
pub async fn check_current(db: &sqlx::AnyPool, user_id: &str, password: &str) -> Result<()> {
    let key = [super::throttle::Key::account(&format!("reauth:{user_id}"))];
    super::throttle::begin(db, &key).await?;
    let (hash, chosen) = super::repo::password_hash(db, user_id)
        .await?
        .ok_or(crate::Error::Unauthenticated)?;
    if !chosen {
        // An account made by single sign-on has a random hash nobody knows: say so
        // instead of "wrong password".
        return Err(crate::Error::Invalid(
            "your account signs in through a provider and has no password of its own: set one with “Forgot your password?” on the login page first".into(),
        ));
    }
    if verify(password.to_string(), hash).await? {
        super::throttle::clear(db, &key[0]).await?;
        Ok(())
    } else {
        crate::infra::metrics::count_auth_failure(crate::infra::metrics::AuthFailure::Reauth);
        Err(crate::Error::BadCredentials)
    }
}

pub use crate::infra::crypto::{random_token, sha256_hex};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_password_is_weak() {
        assert!(matches!(
            check_password_policy("abc12xy", "a@b.c", true),
            Err(Error::WeakPassword(_))
        ));
        // 14 characters: enough with a second factor, not without one.
        let fourteen = "violet-harbour";
        assert_eq!(fourteen.chars().count(), 14);
        assert!(check_password_policy(fourteen, "a@b.c", true).is_ok());
        match check_password_policy(fourteen, "a@b.c", false) {
            Err(Error::WeakPassword(why)) => assert!(why.contains("15"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert!(check_password_policy("violet-harbour7", "a@b.c", false).is_ok());
    }
    #[test]
    fn long_unicode_passphrases_are_fine_and_counted_per_code_point() {
        // 64 and 200 code points, most of them several bytes long.
        let p64: String = "ünïcødé-pässphrâse-".chars().cycle().take(64).collect();
        let p200: String = "星空の下で歌う🎵".chars().cycle().take(200).collect();
        assert!(p200.len() > 400, "multi-byte: {} bytes", p200.len());
        for p in [&p64, &p200] {
            assert!(check_password_policy(p, "a@b.c", false).is_ok(), "{p}");
        }
        // 14 code points of 3-byte characters are still 14, not 42.
        let short: String = "星".repeat(14);
        assert!(check_password_policy(&short, "a@b.c", false).is_err());
        assert!(check_password_policy(&"x7Q".repeat(85), "a@b.c", false).is_ok());
        assert!(check_password_policy(&"x".repeat(MAX_LEN + 1), "a@b.c", false).is_err());
    }
    #[test]
    fn common_password_is_weak_in_any_case() {
        assert!(check_password_policy("Password1", "a@b.c", true).is_err());
        assert!(check_password_policy("QWERTYUIOP", "a@b.c", true).is_err());
    }
    #[test]
    fn email_as_password_is_weak() {
        assert!(
            check_password_policy("someone@example.com", "someone@example.com", false).is_err()
        );
    }
    #[test]
    fn the_service_name_dressed_up_is_weak() {
        for p in [
            "Refrain-2026!!!!",
            "refrainrefrain1",
            "REFRAIN MUSIC 2026",
            "someone-someone-1",
        ] {
            assert!(
                matches!(
                    check_password_policy(p, "someone@example.com", false),
                    Err(Error::WeakPassword(_))
                ),
                "{p}"
            );
        }
        assert!(check_password_policy("refrain-from-violet-harbour", "a@b.c", false).is_ok());
    }
    #[test]
    fn unusual_password_is_accepted() {
        assert!(check_password_policy("violet-harbour-87", "a@b.c", false).is_ok());
    }
    #[tokio::test]
    async fn hash_verifies_only_the_same_password() {
        let h = hash("violet-harbour-87".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("violet-harbour-87".into(), h.clone()).await.unwrap());
        assert!(!verify("violet-harbour-88".into(), h).await.unwrap());
    }
    #[tokio::test]
    async fn a_stored_hash_that_does_not_parse_verifies_nothing() {
        for damaged in ["", "not-a-phc-string", "$argon2id$v=19$m=19456"] {
            for password in ["", "violet-harbour-87"] {
                assert!(
                    !verify(password.into(), damaged.into()).await.unwrap(),
                    "{damaged:?}"
                );
            }
        }
    }
}
