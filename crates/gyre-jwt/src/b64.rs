//! Base64 flavours with the leniency of Go's `encoding/base64`, which Centrifugo's JWT stack
//! relies on: CR and LF are skipped wherever they appear, and non-zero bits left over in the
//! last symbol are tolerated. Tokens that Centrifugo accepts must decode here too.

use std::borrow::Cow;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// JWS segments: URL alphabet, no padding (a `=` is an error, as in Go's `RawURLEncoding`).
const URL_RAW: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// `b64info` / `b64data` and PEM bodies: standard alphabet, padding required (Go's `StdEncoding`).
const STD_PADDED: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

fn without_line_breaks(input: &[u8]) -> Cow<'_, [u8]> {
    if input.iter().any(|&b| b == b'\r' || b == b'\n') {
        Cow::Owned(
            input
                .iter()
                .copied()
                .filter(|&b| b != b'\r' && b != b'\n')
                .collect(),
        )
    } else {
        Cow::Borrowed(input)
    }
}

pub(crate) fn decode_url_raw(input: &[u8]) -> Result<Vec<u8>, base64::DecodeError> {
    URL_RAW.decode(without_line_breaks(input))
}

pub(crate) fn decode_std(input: &[u8]) -> Result<Vec<u8>, base64::DecodeError> {
    STD_PADDED.decode(without_line_breaks(input))
}

pub(crate) fn encode_url_raw(input: &[u8]) -> String {
    URL_RAW.encode(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_raw_rejects_padding_and_accepts_go_leniencies() {
        assert_eq!(decode_url_raw(b"YWI").unwrap(), b"ab");
        assert!(decode_url_raw(b"YWI=").is_err());
        assert!(
            decode_url_raw(b"YWI+").is_err(),
            "standard alphabet is not URL alphabet"
        );
        assert_eq!(decode_url_raw(b"YW\r\nI").unwrap(), b"ab");
        // 'J' carries non-zero trailing bits where 'I' would be canonical; Go accepts both.
        assert_eq!(decode_url_raw(b"YWJ").unwrap(), b"ab");
        assert!(decode_url_raw(b"Y").is_err());
        assert_eq!(decode_url_raw(b"").unwrap(), b"");
    }

    #[test]
    fn std_requires_padding() {
        assert_eq!(decode_std(b"YWI=").unwrap(), b"ab");
        assert!(decode_std(b"YWI").is_err());
        assert_eq!(decode_std(b"YW\nI=").unwrap(), b"ab");
        assert_eq!(decode_std(b"+/8=").unwrap(), [0xfb, 0xff]);
    }
}
