//! Published test vectors and hostile inputs for small, security-relevant pieces: the
//! one-time codes against RFC 4226's Appendix D, the EdDSA verification the token rings
//! use against RFC 8037's Appendix A, and the media sniffer against an AVI (the container
//! of ffmpeg's GAB2 and HLS-in-AVI file-disclosure tricks), which it must refuse before
//! ffmpeg ever sees it.

#![allow(clippy::unwrap_used)]

use backend::auth::totp;
use backend::media::{Sniff, demuxer_for, sniff};

/// RFC 4226, Appendix D: HOTP-SHA1 of the secret "12345678901234567890" for counters 0
/// to 9. A TOTP code is the HOTP of the 30-second step, so time `30 × counter` gives it.
#[test]
fn one_time_codes_match_rfc_4226_appendix_d() {
    let secret = b"12345678901234567890";
    let expected = [
        "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
        "520489",
    ];
    for (counter, want) in expected.iter().enumerate() {
        let at = 30 * counter as u64;
        assert_eq!(totp::code(secret, at), *want, "counter {counter}");
        // Anywhere inside the step, the same code.
        assert_eq!(
            totp::code(secret, at + 29),
            *want,
            "counter {counter}, late"
        );
    }
}

/// RFC 8037, Appendix A.4: the Ed25519 JWS of "Example of Ed25519 signing" verifies with
/// the public key `x` of Appendix A.1 through jsonwebtoken's EdDSA (what the token rings
/// use); signing it with A.1's private key `d` gives exactly that signature (Ed25519 is
/// deterministic); a changed byte of the signature or of the message does not verify.
#[test]
fn eddsa_matches_rfc_8037_appendix_a4() {
    use base64::Engine;
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, crypto};
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    let d = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    let input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    let sig =
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
    assert_eq!(
        b64.decode(input.split('.').next().unwrap()).unwrap(),
        br#"{"alg":"EdDSA"}"#
    );
    let public = DecodingKey::from_ed_components(x).unwrap();
    assert!(crypto::verify(sig, input.as_bytes(), &public, Algorithm::EdDSA).unwrap());

    // Ed25519 PKCS#8: a fixed prefix, then the 32-byte seed.
    let mut pkcs8 = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    pkcs8.extend(b64.decode(d).unwrap());
    let private = EncodingKey::from_ed_der(&pkcs8);
    assert_eq!(
        crypto::sign(input.as_bytes(), &private, Algorithm::EdDSA).unwrap(),
        sig
    );

    let mut bad = b64.decode(sig).unwrap();
    bad[10] ^= 1;
    let bad = b64.encode(bad);
    assert!(!crypto::verify(&bad, input.as_bytes(), &public, Algorithm::EdDSA).unwrap_or(false));
    let other = input.replace("RXhh", "RXhi");
    assert!(!crypto::verify(sig, other.as_bytes(), &public, Algorithm::EdDSA).unwrap_or(false));
}

/// An AVI (RIFF … "AVI ") holding a GAB2 subtitle chunk is not audio Refrain reads.
#[tokio::test]
async fn an_avi_with_gab2_is_refused_by_the_sniffer() {
    let mut avi = Vec::new();
    avi.extend_from_slice(b"RIFF");
    avi.extend_from_slice(&1000u32.to_le_bytes());
    avi.extend_from_slice(b"AVI LIST");
    avi.extend_from_slice(&200u32.to_le_bytes());
    avi.extend_from_slice(b"hdrlavih");
    avi.extend_from_slice(&[0u8; 64]);
    avi.extend_from_slice(b"GAB2\0");
    avi.extend_from_slice(b"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\nfile:///etc/passwd\n");
    assert!(matches!(demuxer_for(&avi), Sniff::Unknown));
    let got = sniff(|at, len| {
        let avi = avi.clone();
        async move {
            let at = (at as usize).min(avi.len());
            Ok(avi[at..(at + len).min(avi.len())].to_vec())
        }
    })
    .await
    .unwrap();
    assert_eq!(got, None);
    // The same RIFF with WAVE is audio: the refusal is the AVI's, not RIFF's.
    let mut wav = avi.clone();
    wav[8..12].copy_from_slice(b"WAVE");
    assert!(matches!(demuxer_for(&wav), Sniff::Audio("wav")));
}
