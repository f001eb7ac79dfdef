//! Token building for the integration tests: any header, any claims text, any signer, so that
//! malformed and hostile tokens are as easy to make as valid ones. Keys are the committed
//! fixtures (generated once with openssl for these tests only).
#![allow(dead_code)]

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use gyre_jwt::{Verifier, VerifierConfig};
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384, Sha512};

pub(crate) const SECRET: &str = "test-hmac-secret";
/// A fixed "now" keeps the time edges exact.
pub(crate) const NOW: i64 = 1_700_000_000;

pub(crate) fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// DER body of a PEM file.
pub(crate) fn pem_der(name: &str) -> Vec<u8> {
    let body: String = fixture(name)
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    STANDARD.decode(body).unwrap()
}

pub(crate) fn seg(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.claims.signature` with the signature computed by `sign` over `header.claims`.
pub(crate) fn token_with(header: &str, claims: &str, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let input = format!("{}.{}", seg(header.as_bytes()), seg(claims.as_bytes()));
    let sig = sign(input.as_bytes());
    format!("{input}.{}", seg(&sig))
}

pub(crate) fn hmac_sig(alg: &str, secret: &[u8], input: &[u8]) -> Vec<u8> {
    match alg {
        "HS256" => Hmac::<Sha256>::new_from_slice(secret)
            .unwrap()
            .chain_update(input)
            .finalize()
            .into_bytes()
            .to_vec(),
        "HS384" => Hmac::<Sha384>::new_from_slice(secret)
            .unwrap()
            .chain_update(input)
            .finalize()
            .into_bytes()
            .to_vec(),
        "HS512" => Hmac::<Sha512>::new_from_slice(secret)
            .unwrap()
            .chain_update(input)
            .finalize()
            .into_bytes()
            .to_vec(),
        other => panic!("not an HMAC alg: {other}"),
    }
}

/// A `{"alg":ALG,"typ":"JWT"}` token signed with an HMAC secret.
pub(crate) fn hs(alg: &str, secret: &str, claims: &str) -> String {
    token_with(&format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#), claims, |input| {
        hmac_sig(alg, secret.as_bytes(), input)
    })
}

pub(crate) fn hs256(claims: &str) -> String {
    hs("HS256", SECRET, claims)
}

pub(crate) fn rsa_sig(alg: &str, private_fixture: &str, input: &[u8]) -> Vec<u8> {
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::{SignatureEncoding, Signer};
    let key = rsa::RsaPrivateKey::from_pkcs8_der(&pem_der(private_fixture)).unwrap();
    match alg {
        "RS256" => rsa::pkcs1v15::SigningKey::<Sha256>::new(key).sign(input).to_vec(),
        "RS384" => rsa::pkcs1v15::SigningKey::<Sha384>::new(key).sign(input).to_vec(),
        "RS512" => rsa::pkcs1v15::SigningKey::<Sha512>::new(key).sign(input).to_vec(),
        other => panic!("not an RSA alg: {other}"),
    }
}

pub(crate) fn rs(alg: &str, private_fixture: &str, claims: &str) -> String {
    token_with(&format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#), claims, |input| {
        rsa_sig(alg, private_fixture, input)
    })
}

/// Raw r||s ECDSA signature; the curve follows the algorithm.
pub(crate) fn ec_sig(alg: &str, private_fixture: &str, input: &[u8]) -> Vec<u8> {
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::DecodePrivateKey;
    let der = pem_der(private_fixture);
    match alg {
        "ES256" => {
            let sig: p256::ecdsa::Signature =
                p256::ecdsa::SigningKey::from_pkcs8_der(&der).unwrap().sign(input);
            sig.to_bytes().to_vec()
        }
        "ES384" => {
            let sig: p384::ecdsa::Signature =
                p384::ecdsa::SigningKey::from_pkcs8_der(&der).unwrap().sign(input);
            sig.to_bytes().to_vec()
        }
        "ES512" => {
            let secret = p521::SecretKey::from_pkcs8_der(&der).unwrap();
            let key = p521::ecdsa::SigningKey::from_bytes(&secret.to_bytes()).unwrap();
            let sig: p521::ecdsa::Signature = key.sign(input);
            sig.to_bytes().to_vec()
        }
        other => panic!("not an ECDSA alg: {other}"),
    }
}

pub(crate) fn es(alg: &str, private_fixture: &str, claims: &str) -> String {
    token_with(&format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#), claims, |input| {
        ec_sig(alg, private_fixture, input)
    })
}

pub(crate) fn hmac_config() -> VerifierConfig {
    VerifierConfig {
        hmac_secret_key: SECRET.to_owned(),
        ..Default::default()
    }
}

pub(crate) fn verifier(config: VerifierConfig) -> Verifier {
    Verifier::new(config).expect("valid verifier config")
}

pub(crate) fn hmac_verifier() -> Verifier {
    verifier(hmac_config())
}

/// HMAC, RSA and P-256 all configured.
pub(crate) fn all_keys_verifier() -> Verifier {
    verifier(VerifierConfig {
        hmac_secret_key: SECRET.to_owned(),
        rsa_public_key: fixture("rsa_public.pem"),
        ecdsa_public_key: fixture("ec_p256_public.pem"),
        ..Default::default()
    })
}

pub(crate) fn is_invalid<T: std::fmt::Debug>(result: &Result<T, gyre_jwt::TokenError>) -> bool {
    matches!(result, Err(gyre_jwt::TokenError::Invalid(_)))
}
