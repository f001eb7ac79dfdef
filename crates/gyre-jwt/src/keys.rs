//! Public keys from PEM, accepting what Centrifugo accepts: the first PEM block (text around it
//! is skipped, its label is not checked) holding either a PKIX `SubjectPublicKeyInfo` or an
//! X.509 certificate whose key is taken. PKCS#1 `RSA PUBLIC KEY` bodies are refused, as there.

use rsa::pkcs1::der::Decode as _;
use rsa::pkcs8::spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};
use rsa::{BigUint, RsaPublicKey};

use crate::b64;

const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P224: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.33");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");

/// Go (1.24+) refuses RSA operations with keys under 1024 bits, so such a key could never
/// verify a token in Centrifugo; Gyre says so at startup instead.
const RSA_MIN_BITS: usize = 1024;
/// Generous upper bound; the `rsa` crate's default (4096) would refuse real-world 8192-bit keys.
const RSA_MAX_BITS: usize = 16384;

/// An ECDSA verification key; its curve fixes the one ES algorithm it serves.
#[derive(Clone)]
pub(crate) enum EcKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
}

pub(crate) fn rsa_from_pem(pem: &str) -> Result<RsaPublicKey, String> {
    let der = first_pem_block(pem)?;
    let spki_der = spki_of(&der)?;
    let spki = SubjectPublicKeyInfoRef::try_from(spki_der).map_err(|e| format!("bad public key: {e}"))?;
    if spki.algorithm.oid != OID_RSA {
        return Err("key is not an RSA public key".to_owned());
    }
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or("bad RSA public key bit string")?;
    let pkcs1 = rsa::pkcs1::RsaPublicKey::from_der(bits).map_err(|e| format!("bad RSA public key: {e}"))?;
    let n = BigUint::from_bytes_be(pkcs1.modulus.as_bytes());
    let e = BigUint::from_bytes_be(pkcs1.public_exponent.as_bytes());
    if n.bits() < RSA_MIN_BITS {
        return Err(format!(
            "RSA key has {} bits, at least {RSA_MIN_BITS} are required",
            n.bits()
        ));
    }
    RsaPublicKey::new_with_max_size(n, e, RSA_MAX_BITS).map_err(|e| format!("bad RSA public key: {e}"))
}

pub(crate) fn ec_from_pem(pem: &str) -> Result<EcKey, String> {
    let der = first_pem_block(pem)?;
    let spki_der = spki_of(&der)?;
    let spki = SubjectPublicKeyInfoRef::try_from(spki_der).map_err(|e| format!("bad public key: {e}"))?;
    if spki.algorithm.oid != OID_EC {
        return Err("key is not an ECDSA public key".to_owned());
    }
    let curve: ObjectIdentifier = spki
        .algorithm
        .parameters
        .ok_or("ECDSA key without a named curve")?
        .decode_as()
        .map_err(|_| "ECDSA key without a named curve".to_owned())?;
    let point = spki
        .subject_public_key
        .as_bytes()
        .ok_or("bad ECDSA public key bit string")?;
    let bad_point = |_| "ECDSA public key is not a valid curve point".to_owned();
    Ok(match curve {
        OID_P256 => EcKey::P256(p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad_point)?),
        OID_P384 => EcKey::P384(p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad_point)?),
        OID_P521 => EcKey::P521(p521::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad_point)?),
        // Centrifugo loads a P-224 key but then enables no ES algorithm for it, so every token
        // would fail; refusing the configuration is the honest version of that.
        OID_P224 => return Err("ECDSA P-224 keys cannot verify any JWS algorithm".to_owned()),
        other => return Err(format!("unsupported ECDSA curve {other}")),
    })
}

/// Decodes the first well-formed PEM block, in the spirit of Go's `pem.Decode`: a block starts
/// with `-----BEGIN <label>-----` at the start of a line, may carry `Key: value` header lines,
/// and ends at the matching `-----END <label>-----`. Malformed blocks are skipped.
fn first_pem_block(text: &str) -> Result<Vec<u8>, String> {
    const BEGIN: &str = "-----BEGIN ";
    let mut search_from = 0;
    while let Some(found) = text[search_from..].find(BEGIN) {
        let start = search_from + found;
        search_from = start + BEGIN.len();
        if start > 0 && text.as_bytes()[start - 1] != b'\n' {
            continue;
        }
        if let Some(der) = decode_block(&text[search_from..]) {
            return Ok(der);
        }
    }
    Err("key must be PEM encoded".to_owned())
}

/// `after_begin` is the text following `-----BEGIN `.
fn decode_block(after_begin: &str) -> Option<Vec<u8>> {
    let (type_line, rest) = after_begin.split_once('\n').unwrap_or((after_begin, ""));
    let label = type_line
        .trim_end_matches([' ', '\t', '\r'])
        .strip_suffix("-----")?;
    let end_marker = format!("-----END {label}-----");
    let end = rest.find(&end_marker)?;
    if end > 0 && rest.as_bytes()[end - 1] != b'\n' {
        return None;
    }
    let mut body = &rest[..end];
    // Leading "Key: value" lines are encapsulation headers; base64 never contains ':'.
    while let Some((line, next)) = body.split_once('\n') {
        if !line.contains(':') {
            break;
        }
        body = next;
    }
    let compact: Vec<u8> = body.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    b64::decode_std(&compact).ok()
}

/// The `SubjectPublicKeyInfo` DER: `der` itself if it parses as one, else the key field of an
/// X.509 certificate (the fallback Centrifugo has too).
fn spki_of(der: &[u8]) -> Result<&[u8], String> {
    if SubjectPublicKeyInfoRef::try_from(der).is_ok() {
        return Ok(der);
    }
    certificate_spki(der).ok_or_else(|| "PEM block is neither a public key nor a certificate".to_owned())
}

/// Walks `Certificate → tbsCertificate` to its seventh field. Only the TLV framing is read; the
/// SPKI itself is then parsed strictly by the caller.
fn certificate_spki(der: &[u8]) -> Option<&[u8]> {
    let (cert, _) = der_element(der, 0x30)?;
    let (tbs, _) = der_element(cert.content, 0x30)?;
    let mut rest = tbs.content;
    if rest.first() == Some(&0xA0) {
        rest = der_element(rest, 0xA0)?.1; // explicit [0] version
    }
    rest = der_element(rest, 0x02)?.1; // serialNumber
    for _ in 0..4 {
        rest = der_element(rest, 0x30)?.1; // signature, issuer, validity, subject
    }
    Some(der_element(rest, 0x30)?.0.whole)
}

struct DerElement<'a> {
    whole: &'a [u8],
    content: &'a [u8],
}

/// One definite-length DER element with the expected tag, and what follows it.
fn der_element(input: &[u8], tag: u8) -> Option<(DerElement<'_>, &[u8])> {
    if *input.first()? != tag {
        return None;
    }
    let first_len = *input.get(1)?;
    let (len, header) = if first_len < 0x80 {
        (usize::from(first_len), 2)
    } else {
        let count = usize::from(first_len & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let bytes = input.get(2..2 + count)?;
        (
            bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b)),
            2 + count,
        )
    };
    let end = header.checked_add(len)?;
    let whole = input.get(..end)?;
    Some((
        DerElement {
            whole,
            content: &whole[header..],
        },
        &input[end..],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_blocks_are_found_like_go() {
        let body = b64_std(b"hello");
        let pem = format!(
            "leading text\n-----BEGIN THING-----\nProc-Type: 4,X\n\n{body}\n-----END THING-----\ntrailer"
        );
        assert_eq!(first_pem_block(&pem).unwrap(), b"hello");
        let crlf = format!("-----BEGIN X-----\r\n{body}\r\n-----END X-----\r\n");
        assert_eq!(first_pem_block(&crlf).unwrap(), b"hello");
        let mismatched = format!("-----BEGIN A-----\n{body}\n-----END B-----\n");
        assert!(first_pem_block(&mismatched).is_err());
        let second_is_good =
            format!("-----BEGIN A-----\n!!\n-----END A-----\n-----BEGIN B-----\n{body}\n-----END B-----\n");
        assert_eq!(first_pem_block(&second_is_good).unwrap(), b"hello");
        assert!(first_pem_block("not pem").is_err());
        assert!(first_pem_block(&b64_std(b"-----BEGIN")).is_err());
    }

    fn b64_std(data: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(data)
    }

    #[test]
    fn der_element_bounds() {
        assert!(der_element(&[0x30], 0x30).is_none());
        assert!(der_element(&[0x30, 0x05, 1], 0x30).is_none());
        assert!(der_element(&[0x30, 0x85, 0, 0, 0, 0, 1], 0x30).is_none());
        assert!(der_element(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff], 0x30).is_none());
        let (el, rest) = der_element(&[0x30, 0x81, 0x01, 7, 9], 0x30).unwrap();
        assert_eq!(el.content, [7]);
        assert_eq!(rest, [9]);
    }
}
