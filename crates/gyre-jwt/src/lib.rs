//! Connection and subscription JWT verification with Centrifugo's exact rules: the accepted
//! algorithms follow the configured key kinds (HMAC → HS*, RSA → RS*, ECDSA → ES*), no leeway,
//! a missing `exp` means "never expires", `nbf` is checked, expired tokens are told apart from
//! invalid ones (109 vs 3500 / 103 at the edge).
//!
//! Only compact JWS with keys from the configuration: header URLs (`jku`, `x5u`, `x5c`) are
//! never followed. JWKS and EdDSA are not implemented yet.
#![forbid(unsafe_code)]

mod algorithms;
mod b64;
mod claims;
mod compact;
mod gojson;
mod keys;
mod verify;

use std::collections::HashMap;

use bytes::Bytes;

/// Key material and claim checks (from `client.token` / `client.subscription_token`).
/// `Debug` redacts the HMAC secrets so configs can be logged.
#[derive(Clone, Default)]
pub struct VerifierConfig {
    pub hmac_secret_key: String,
    pub hmac_previous_secret_key: String,
    /// Unix seconds; 0 = the previous key has no end date.
    pub hmac_previous_secret_key_valid_until: i64,
    /// PEM.
    pub rsa_public_key: String,
    /// PEM.
    pub ecdsa_public_key: String,
    pub audience: String,
    pub audience_regex: String,
    pub issuer: String,
    pub issuer_regex: String,
    /// Claim holding the user id instead of `sub`.
    pub user_id_claim: String,
    /// `client.insecure_skip_token_signature_verify`.
    pub insecure_skip_signature_verify: bool,
}

impl std::fmt::Debug for VerifierConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |s: &str| if s.is_empty() { "" } else { "<redacted>" };
        f.debug_struct("VerifierConfig")
            .field("hmac_secret_key", &redact(&self.hmac_secret_key))
            .field(
                "hmac_previous_secret_key",
                &redact(&self.hmac_previous_secret_key),
            )
            .field(
                "hmac_previous_secret_key_valid_until",
                &self.hmac_previous_secret_key_valid_until,
            )
            .field("rsa_public_key", &!self.rsa_public_key.is_empty())
            .field("ecdsa_public_key", &!self.ecdsa_public_key.is_empty())
            .field("audience", &self.audience)
            .field("audience_regex", &self.audience_regex)
            .field("issuer", &self.issuer)
            .field("issuer_regex", &self.issuer_regex)
            .field("user_id_claim", &self.user_id_claim)
            .field(
                "insecure_skip_signature_verify",
                &self.insecure_skip_signature_verify,
            )
            .finish()
    }
}

/// A verifier could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
#[error("token verifier config: {0}")]
pub struct ConfigError(pub String);

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// `exp` in the past or `nbf` in the future (→ 109).
    #[error("token expired")]
    Expired,
    /// Anything else: bad signature, disabled/unknown algorithm, malformed, wrong aud/iss,
    /// forbidden claim (→ 3500 for connection tokens, 103 for subscription tokens).
    #[error("invalid token: {0}")]
    Invalid(String),
}

/// `override` values of `subs` claims and subscription tokens (`{"value": bool}` each).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscribeOverride {
    pub presence: Option<bool>,
    pub join_leave: Option<bool>,
    pub force_push_join_leave: Option<bool>,
    pub force_recovery: Option<bool>,
    pub force_positioning: Option<bool>,
}

/// One entry of a connection token's `subs` claim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscribeClaim {
    /// `info` (raw JSON) or decoded `b64info`.
    pub info: Bytes,
    /// `data` (raw JSON) or decoded `b64data`.
    pub data: Bytes,
    pub override_: SubscribeOverride,
}

/// A verified connection token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectToken {
    pub user_id: String,
    /// Unix seconds (`expire_at` claim if present, else `exp`); 0 = never.
    pub expire_at: i64,
    /// `info` (raw JSON) or decoded `b64info`.
    pub info: Bytes,
    /// `channels` claim (ignored by the server when `subs` is non-empty).
    pub channels: Vec<String>,
    pub subs: HashMap<String, SubscribeClaim>,
    /// `meta` claim, raw JSON object.
    pub meta: Option<Bytes>,
}

/// A verified subscription token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscribeToken {
    pub user_id: String,
    pub channel: String,
    /// `client` claim; empty when absent.
    pub client: String,
    /// Unix seconds (`expire_at` if present, else `exp`); 0 = never.
    pub expire_at: i64,
    pub info: Bytes,
    pub data: Bytes,
    pub override_: SubscribeOverride,
}

/// Verifies tokens. Cheap to share behind an `Arc`; rebuilt on config reload.
#[derive(Debug)]
pub struct Verifier {
    keys: algorithms::KeySet,
    /// HS* keys built from `hmac_previous_secret_key`, tried when the current keys refuse.
    previous_hmac: Option<algorithms::KeySet>,
    previous_hmac_valid_until: i64,
    audience: String,
    audience_regex: Option<regex::Regex>,
    issuer: String,
    issuer_regex: Option<regex::Regex>,
    user_id_claim: String,
    skip_signature: bool,
}

/// Signs `claims` (a JSON object) with HS256 — for `gentoken`/`gensubtoken` and tests.
///
/// The header is `{"alg":"HS256","typ":"JWT"}`, the claims are serialized compactly.
pub fn sign_hs256(secret: &[u8], claims: &serde_json::Value) -> String {
    let header = b64::encode_url_raw(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = b64::encode_url_raw(claims.to_string().as_bytes());
    let signing_input = format!("{header}.{payload}");
    let signature = b64::encode_url_raw(&algorithms::hs256(secret, signing_input.as_bytes()));
    format!("{signing_input}.{signature}")
}

#[cfg(test)]
mod debug_tests {
    #[test]
    fn debug_redacts_secrets() {
        let cfg = super::VerifierConfig {
            hmac_secret_key: "topsecret".into(),
            ..Default::default()
        };
        let text = format!("{cfg:?}");
        assert!(!text.contains("topsecret"), "{text}");
        assert!(text.contains("<redacted>"));
    }
}
