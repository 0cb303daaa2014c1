//! Published test vectors and hostile inputs for small, security-relevant pieces: the
//! one-time codes against RFC 4226's Appendix D, and the media sniffer against an AVI
//! (the container of ffmpeg's GAB2 and HLS-in-AVI file-disclosure tricks), which it must
//! refuse before ffmpeg ever sees it.

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
