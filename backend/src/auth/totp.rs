//! RFC 6238 time-based one-time passwords (totp-rs does the HMAC), the `otpauth://` URI an
//! authenticator app reads, and its QR code as inline SVG (qrcode crate).

use crate::{Error, Result};
use totp_rs::{Algorithm, TOTP};

/// Seconds per code.
pub const STEP: u64 = 30;
/// Digits per code in Refrain (the RFC allows 6 to 8).
pub const DIGITS: usize = 6;
/// Steps of clock drift accepted either side of now.
pub const DRIFT: u64 = 1;

/// A fresh 160-bit secret (the RFC 4226 recommendation).
pub fn generate_secret() -> Vec<u8> {
    use rand::RngCore;
    let mut s = vec![0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut s);
    s
}

pub fn encode_secret(secret: &[u8]) -> String {
    totp_rs::Secret::Raw(secret.to_vec())
        .to_encoded()
        .to_string()
}

pub fn decode_secret(b32: &str) -> Result<Vec<u8>> {
    totp_rs::Secret::Encoded(b32.to_string())
        .to_bytes()
        .map_err(|e| anyhow::anyhow!("stored TOTP secret is not base32: {e:?}").into())
}

/// The code for `unix_secs` with the given digits and HMAC (SHA-1 for authenticator apps;
/// the others are here for the RFC's test vectors).
pub fn code_at(secret: &[u8], unix_secs: u64, digits: usize, algorithm: Algorithm) -> String {
    TOTP::new_unchecked(algorithm, digits, 0, STEP, secret.to_vec()).generate(unix_secs)
}

/// The code an authenticator app shows at `unix_secs` (SHA-1, six digits).
pub fn code(secret: &[u8], unix_secs: u64) -> String {
    code_at(secret, unix_secs, DIGITS, Algorithm::SHA1)
}

/// The time step `code` belongs to, if it is valid within the accepted drift of `now`.
/// Compares in constant time and checks every candidate step.
pub fn matching_step(secret: &[u8], code: &str, now_secs: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now_step = now_secs / STEP;
    let mut found = None;
    for step in now_step.saturating_sub(DRIFT)..=now_step + DRIFT {
        let expected = self::code(secret, step * STEP);
        if constant_time_eq(expected.as_bytes(), code.as_bytes()) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `otpauth://totp/Issuer:account?secret=…&issuer=…` for authenticator apps.
pub fn otpauth_uri(secret_b32: &str, account: &str, issuer: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    // Labels use %20, not '+', for spaces (Google Authenticator's key URI format).
    let label = format!("{}:{}", enc(issuer), enc(account)).replace('+', "%20");
    format!(
        "otpauth://totp/{label}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        enc(issuer).replace('+', "%20")
    )
}

/// The URI as a QR code in SVG, ready to inline in a page.
pub fn qr_svg(uri: &str) -> Result<String> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| Error::Unexpected(anyhow::anyhow!("QR code: {e}")))?;
    let svg = code
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // Inline in HTML: drop the XML declaration in front of the <svg> element.
    let start = svg.find("<svg").unwrap_or(0);
    Ok(svg[start..].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B: seeds of 20, 32 and 64 bytes for SHA-1, SHA-256 and SHA-512.
    #[test]
    fn rfc_6238_test_vectors() {
        let sha1 = b"12345678901234567890".to_vec();
        let sha256 = b"12345678901234567890123456789012".to_vec();
        let sha512 = b"1234567890123456789012345678901234567890123456789012345678901234".to_vec();
        let vectors: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for (t, c1, c256, c512) in vectors {
            assert_eq!(code_at(&sha1, t, 8, Algorithm::SHA1), c1, "SHA-1 at {t}");
            assert_eq!(
                code_at(&sha256, t, 8, Algorithm::SHA256),
                c256,
                "SHA-256 at {t}"
            );
            assert_eq!(
                code_at(&sha512, t, 8, Algorithm::SHA512),
                c512,
                "SHA-512 at {t}"
            );
            // Errata 2866: each algorithm has its own seed length; the 20-byte seed
            // does not give the SHA-256 or SHA-512 columns (a wrapper that padded or
            // ignored the seed would).
            assert_ne!(code_at(&sha1, t, 8, Algorithm::SHA256), c256, "at {t}");
            assert_ne!(code_at(&sha1, t, 8, Algorithm::SHA512), c512, "at {t}");
        }
    }

    #[test]
    fn accepts_one_step_of_drift_and_no_more() {
        let s = generate_secret();
        let now = 1_700_000_000;
        let code = |t: u64| code_at(&s, t, DIGITS, Algorithm::SHA1);
        assert_eq!(matching_step(&s, &code(now), now), Some(now / STEP));
        assert_eq!(
            matching_step(&s, &code(now - STEP), now),
            Some(now / STEP - 1)
        );
        assert_eq!(
            matching_step(&s, &code(now + STEP), now),
            Some(now / STEP + 1)
        );
        assert_eq!(matching_step(&s, &code(now - 2 * STEP), now), None);
        assert_eq!(matching_step(&s, &code(now + 2 * STEP), now), None);
        assert_eq!(matching_step(&s, "12345", now), None);
        assert_eq!(matching_step(&s, "abcdef", now), None);
    }

    /// Matrix row 6: a client clock off by 29, 31 or 61 seconds either way, at every second
    /// of a step (the wrapper takes the server's `now`, so no libfaketime is needed: the
    /// skew is injected as the difference between the client's and the server's time).
    /// 29 s is never more than one step off: always accepted. 31 s is one step off or two
    /// depending on where in its step the server's clock is: accepted exactly when it is
    /// one (the ±1-step rule). 61 s is always two steps off or more: refused.
    #[test]
    fn clock_skew_within_one_step_is_accepted_and_two_is_not() {
        let s = generate_secret();
        let start = 1_700_000_010 / STEP * STEP;
        let (mut accepted_31, mut refused_31) = (0, 0);
        for server in start..start + STEP {
            for skew in [-61i64, -31, -29, 29, 31, 61] {
                let client = server.checked_add_signed(skew).unwrap();
                let step = matching_step(&s, &code(&s, client), server);
                let steps_off = (client / STEP).abs_diff(server / STEP);
                match skew.unsigned_abs() {
                    29 => assert_eq!(step, Some(client / STEP), "{server}{skew:+}"),
                    61 => {
                        assert!(steps_off >= 2);
                        assert_eq!(step, None, "{server}{skew:+}");
                    }
                    _ if steps_off <= DRIFT => {
                        assert_eq!(step, Some(client / STEP), "{server}{skew:+}");
                        accepted_31 += 1;
                    }
                    _ => {
                        assert_eq!(step, None, "{server}{skew:+}");
                        refused_31 += 1;
                    }
                }
            }
        }
        // Both cases of ±31 s were met: within one step (accepted) and two (refused).
        assert!(
            accepted_31 > 0 && refused_31 > 0,
            "{accepted_31}/{refused_31}"
        );
    }

    #[test]
    fn secrets_round_trip_through_base32_and_the_uri_names_them() {
        let s = generate_secret();
        let b32 = encode_secret(&s);
        assert_eq!(decode_secret(&b32).unwrap(), s);
        let uri = otpauth_uri(&b32, "me+x@example.com", "Refrain");
        assert!(uri.starts_with("otpauth://totp/Refrain:me%2Bx%40example.com?secret="));
        assert!(uri.contains(&b32));
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
    }
}
