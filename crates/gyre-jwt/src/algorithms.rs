//! Signature algorithms, enabled by the kinds of keys configured (never by the token): an HMAC
//! secret enables HS*, an RSA key RS*, an ECDSA key the one ES* of its curve. A token naming an
//! algorithm outside the table is "unsupported", one whose key is not configured "disabled".
//! Because each key lives in its own typed slot, an RSA public key can never end up as an HMAC
//! secret (no HS/RS confusion).

use std::fmt;

use hmac::{Hmac, Mac};
use rsa::signature::Verifier as _;
use sha2::{Sha256, Sha384, Sha512};

use crate::keys::EcKey;

/// Algorithms Centrifugo knows (`PS*`, `EdDSA` and `none` are not among them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alg {
    HS256,
    HS384,
    HS512,
    RS256,
    RS384,
    RS512,
    ES256,
    ES384,
    ES512,
}

impl Alg {
    /// Exact, case-sensitive names: `none`, `None`, `hs256` are all unknown.
    pub(crate) fn from_name(name: &str) -> Option<Alg> {
        Some(match name {
            "HS256" => Alg::HS256,
            "HS384" => Alg::HS384,
            "HS512" => Alg::HS512,
            "RS256" => Alg::RS256,
            "RS384" => Alg::RS384,
            "RS512" => Alg::RS512,
            "ES256" => Alg::ES256,
            "ES384" => Alg::ES384,
            "ES512" => Alg::ES512,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Alg::HS256 => "HS256",
            Alg::HS384 => "HS384",
            Alg::HS512 => "HS512",
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::ES512 => "ES512",
        }
    }
}

/// Why a signature check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SignatureError {
    Unsupported(String),
    Disabled(Alg),
    Mismatch,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The name comes from the token: cap what ends up in logs.
            SignatureError::Unsupported(name) => {
                let shown: String = name.chars().take(32).collect();
                write!(f, "unsupported JWT algorithm {shown:?}")
            }
            SignatureError::Disabled(alg) => write!(f, "disabled JWT algorithm {}", alg.name()),
            SignatureError::Mismatch => f.write_str("signature does not match"),
        }
    }
}

/// Keyed MAC states prepared once; each verification clones one.
#[derive(Clone)]
struct HmacKeys {
    hs256: Hmac<Sha256>,
    hs384: Hmac<Sha384>,
    hs512: Hmac<Sha512>,
}

#[derive(Clone)]
struct RsaKeys {
    rs256: rsa::pkcs1v15::VerifyingKey<Sha256>,
    rs384: rsa::pkcs1v15::VerifyingKey<Sha384>,
    rs512: rsa::pkcs1v15::VerifyingKey<Sha512>,
    /// Modulus size in bytes: the only valid signature length.
    size: usize,
}

/// The verification keys of one configuration.
#[derive(Clone, Default)]
pub(crate) struct KeySet {
    hmac: Option<HmacKeys>,
    rsa: Option<RsaKeys>,
    ec: Option<EcKey>,
}

impl KeySet {
    /// An empty secret enables nothing, like an unset one.
    pub(crate) fn new(hmac_secret: &[u8], rsa: Option<rsa::RsaPublicKey>, ec: Option<EcKey>) -> KeySet {
        let hmac = (!hmac_secret.is_empty()).then(|| HmacKeys {
            hs256: <Hmac<Sha256> as Mac>::new_from_slice(hmac_secret).expect("HMAC takes keys of any length"),
            hs384: <Hmac<Sha384> as Mac>::new_from_slice(hmac_secret).expect("HMAC takes keys of any length"),
            hs512: <Hmac<Sha512> as Mac>::new_from_slice(hmac_secret).expect("HMAC takes keys of any length"),
        });
        let rsa = rsa.map(|key| RsaKeys {
            size: rsa::traits::PublicKeyParts::size(&key),
            rs256: rsa::pkcs1v15::VerifyingKey::new(key.clone()),
            rs384: rsa::pkcs1v15::VerifyingKey::new(key.clone()),
            rs512: rsa::pkcs1v15::VerifyingKey::new(key),
        });
        KeySet { hmac, rsa, ec }
    }

    pub(crate) fn enabled(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.hmac.is_some() {
            out.extend(["HS256", "HS384", "HS512"]);
        }
        if self.rsa.is_some() {
            out.extend(["RS256", "RS384", "RS512"]);
        }
        match self.ec {
            Some(EcKey::P256(_)) => out.push("ES256"),
            Some(EcKey::P384(_)) => out.push("ES384"),
            Some(EcKey::P521(_)) => out.push("ES512"),
            None => {}
        }
        out
    }

    pub(crate) fn verify(
        &self,
        alg_name: &str,
        input: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        let alg = Alg::from_name(alg_name).ok_or_else(|| SignatureError::Unsupported(alg_name.to_owned()))?;
        let disabled = SignatureError::Disabled(alg);
        let ok = match alg {
            Alg::HS256 | Alg::HS384 | Alg::HS512 => {
                let keys = self.hmac.as_ref().ok_or(disabled)?;
                // verify_slice compares in constant time and refuses wrong lengths.
                match alg {
                    Alg::HS256 => keys
                        .hs256
                        .clone()
                        .chain_update(input)
                        .verify_slice(signature)
                        .is_ok(),
                    Alg::HS384 => keys
                        .hs384
                        .clone()
                        .chain_update(input)
                        .verify_slice(signature)
                        .is_ok(),
                    _ => keys
                        .hs512
                        .clone()
                        .chain_update(input)
                        .verify_slice(signature)
                        .is_ok(),
                }
            }
            Alg::RS256 | Alg::RS384 | Alg::RS512 => {
                let keys = self.rsa.as_ref().ok_or(disabled)?;
                // Checked first so an oversized signature costs nothing to refuse.
                if signature.len() != keys.size {
                    return Err(SignatureError::Mismatch);
                }
                let sig =
                    rsa::pkcs1v15::Signature::try_from(signature).map_err(|_| SignatureError::Mismatch)?;
                match alg {
                    Alg::RS256 => keys.rs256.verify(input, &sig).is_ok(),
                    Alg::RS384 => keys.rs384.verify(input, &sig).is_ok(),
                    _ => keys.rs512.verify(input, &sig).is_ok(),
                }
            }
            // Signatures are raw r||s of the curve's size; from_slice refuses other lengths
            // and r or s equal to zero or not below the group order.
            Alg::ES256 => match &self.ec {
                Some(EcKey::P256(key)) => p256::ecdsa::Signature::from_slice(signature)
                    .is_ok_and(|sig| key.verify(input, &sig).is_ok()),
                _ => return Err(disabled),
            },
            Alg::ES384 => match &self.ec {
                Some(EcKey::P384(key)) => p384::ecdsa::Signature::from_slice(signature)
                    .is_ok_and(|sig| key.verify(input, &sig).is_ok()),
                _ => return Err(disabled),
            },
            Alg::ES512 => match &self.ec {
                Some(EcKey::P521(key)) => p521::ecdsa::Signature::from_slice(signature)
                    .is_ok_and(|sig| key.verify(input, &sig).is_ok()),
                _ => return Err(disabled),
            },
        };
        if ok {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

impl fmt::Debug for KeySet {
    /// Names the enabled algorithms only: key material stays out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("algorithms", &self.enabled())
            .finish()
    }
}

/// HMAC-SHA256 over `input`, for token signing.
pub(crate) fn hs256(secret: &[u8], input: &[u8]) -> Vec<u8> {
    let mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.chain_update(input).finalize().into_bytes().to_vec()
}
