//! JWS compact serialization, split and decoded with the same acceptance rules as Centrifugo's
//! JWT library: the token must begin with `eyJ` (a header starting `{"`), the header ends at the
//! first dot and the signature starts after the last one (so a fourth segment lands in the
//! claims and fails base64url there), and segments are unpadded base64url.
//!
//! Nothing in the header but `alg` is used. `kid`, `jku`, `x5u`, `x5c`, `crit` are ignored:
//! keys only ever come from the configuration.

use crate::b64;
use crate::gojson;

/// Why a token is not a well-formed JWS.
#[derive(Debug)]
pub(crate) struct MalformedToken(pub(crate) &'static str);

/// A token split into what verification needs.
#[derive(Debug)]
pub(crate) struct Jws<'t> {
    /// `header.claims` exactly as sent: the bytes the signature covers.
    pub(crate) signing_input: &'t [u8],
    pub(crate) alg: String,
    /// Decoded claims JSON (not yet parsed).
    pub(crate) claims: Vec<u8>,
    pub(crate) signature: Vec<u8>,
}

pub(crate) fn parse(token: &str) -> Result<Jws<'_>, MalformedToken> {
    let bytes = token.as_bytes();
    if !bytes.starts_with(b"eyJ") {
        return Err(MalformedToken("token does not start with a JSON header"));
    }
    let (Some(dot1), Some(dot2)) = (
        bytes.iter().position(|&b| b == b'.'),
        bytes.iter().rposition(|&b| b == b'.'),
    ) else {
        return Err(MalformedToken("token is not three dot-separated segments"));
    };
    if dot2 <= dot1 {
        return Err(MalformedToken("token is not three dot-separated segments"));
    }
    let header =
        b64::decode_url_raw(&bytes[..dot1]).map_err(|_| MalformedToken("header is not base64url"))?;
    let alg = header_alg(&header)?;
    let claims = b64::decode_url_raw(&bytes[dot1 + 1..dot2])
        .map_err(|_| MalformedToken("claims are not base64url"))?;
    let signature =
        b64::decode_url_raw(&bytes[dot2 + 1..]).map_err(|_| MalformedToken("signature is not base64url"))?;
    Ok(Jws {
        signing_input: &bytes[..dot2],
        alg,
        claims,
        signature,
    })
}

/// Reads `alg` from the header. The header fields Go decodes (`alg`, `typ`, `cty`, `kid`)
/// must be strings or null for the header to be valid at all; anything else is ignored.
fn header_alg(header: &[u8]) -> Result<String, MalformedToken> {
    const BAD_HEADER: MalformedToken = MalformedToken("header is not a valid JSON object");
    let text = String::from_utf8_lossy(header);
    let members = gojson::object(&text).map_err(|_| BAD_HEADER)?;
    let mut alg = String::new();
    let mut ignored = String::new();
    let mut buf = Default::default();
    for (key, raw) in members.iter().flatten() {
        match gojson::fold_key(key, &mut buf) {
            Some("alg") => gojson::string_into(raw, &mut alg, "alg").map_err(|_| BAD_HEADER)?,
            Some("typ" | "cty" | "kid") => {
                gojson::string_into(raw, &mut ignored, "header").map_err(|_| BAD_HEADER)?
            }
            _ => {}
        }
    }
    Ok(alg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(json: &str) -> String {
        b64::encode_url_raw(json.as_bytes())
    }

    #[test]
    fn splits_three_segments() {
        let token = format!(
            "{}.{}.{}",
            seg(r#"{"typ":"JWT","alg":"HS256"}"#),
            seg(r#"{"sub":"1"}"#),
            seg("sig")
        );
        let jws = parse(&token).unwrap();
        assert_eq!(jws.alg, "HS256");
        assert_eq!(jws.claims, br#"{"sub":"1"}"#);
        assert_eq!(jws.signature, b"sig");
        assert_eq!(jws.signing_input, token.rsplit_once('.').unwrap().0.as_bytes());
    }

    #[test]
    fn refuses_malformed() {
        let h = seg(r#"{"alg":"HS256"}"#);
        let c = seg("{}");
        for bad in [
            String::new(),
            "abc".to_owned(),
            format!("{h}.{c}"),
            h.clone(),
            format!("{h}.{c}.{c}.sig"),
            format!("{h}.{c}.{c}.{c}.sig"),
            format!("{h}.{c}=.sig"),
            format!("{h}.{c}.s+g"),
            format!("{}.{c}.sig", seg(r#" {"alg":"HS256"}"#)),
            format!("{}.{c}.sig", seg(r#"{"alg":1}"#)),
            format!("{}.{c}.sig", seg(r#"{"alg":"HS256","kid":{}}"#)),
            format!("{}.{c}.sig", seg(r#"{"alg":"HS256"}x"#)),
        ] {
            assert!(parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn header_fields_fold_and_extras_are_ignored() {
        let token = format!(
            "{}.{}.",
            seg(r#"{"ALG":"RS256","jku":"http://127.0.0.1:9/k","x5c":[1]}"#),
            seg("{}")
        );
        let jws = parse(&token).unwrap();
        assert_eq!(jws.alg, "RS256");
        assert!(jws.signature.is_empty());
    }
}
