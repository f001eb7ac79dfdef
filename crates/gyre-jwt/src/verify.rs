//! The verification pipeline, in Centrifugo's order: decode the token and its claims, match
//! the `iss`/`aud` regexes, check the signature (falling back to the previous HMAC key during
//! rotation), check exact `aud`/`iss`, apply the token-kind rules, and only then look at time —
//! so a forged or malformed token is always "invalid", never "expired".

use bytes::Bytes;
use regex::Regex;
use serde_json::value::RawValue;

use crate::algorithms::{KeySet, SignatureError};
use crate::claims::{self, ConnectClaims, Registered, SubOptions, SubscribeClaims};
use crate::compact::{self, Jws};
use crate::gojson::{self, DecodeError, Members};
use crate::{
    b64, keys, ConfigError, ConnectToken, SubscribeClaim, SubscribeToken, TokenError, Verifier,
    VerifierConfig,
};

fn invalid(reason: impl std::fmt::Display) -> TokenError {
    TokenError::Invalid(reason.to_string())
}

impl From<DecodeError> for TokenError {
    fn from(e: DecodeError) -> Self {
        TokenError::Invalid(e.0)
    }
}

impl From<compact::MalformedToken> for TokenError {
    fn from(e: compact::MalformedToken) -> Self {
        TokenError::Invalid(e.0.to_owned())
    }
}

impl From<SignatureError> for TokenError {
    fn from(e: SignatureError) -> Self {
        invalid(e)
    }
}

/// Same rule as Centrifugo's config validation: a plain top-level key name.
fn valid_user_id_claim(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_')
}

fn compile(pattern: &str, what: &str) -> Result<Option<Regex>, ConfigError> {
    if pattern.is_empty() {
        return Ok(None);
    }
    Regex::new(pattern)
        .map(Some)
        .map_err(|e| ConfigError(format!("invalid {what}: {e}")))
}

impl Verifier {
    /// Parses every key once. Fails on unusable keys, bad regexes, or exact/regex pairs set
    /// together (`audience` with `audience_regex`, `issuer` with `issuer_regex`).
    pub fn new(config: VerifierConfig) -> Result<Verifier, ConfigError> {
        if !config.audience.is_empty() && !config.audience_regex.is_empty() {
            return Err(ConfigError(
                "audience and audience_regex are mutually exclusive".to_owned(),
            ));
        }
        if !config.issuer.is_empty() && !config.issuer_regex.is_empty() {
            return Err(ConfigError(
                "issuer and issuer_regex are mutually exclusive".to_owned(),
            ));
        }
        if !config.user_id_claim.is_empty() && !valid_user_id_claim(&config.user_id_claim) {
            return Err(ConfigError(format!(
                "user_id_claim {:?} must consist of ASCII letters and underscores",
                config.user_id_claim
            )));
        }
        let rsa = match config.rsa_public_key.as_str() {
            "" => None,
            pem => Some(keys::rsa_from_pem(pem).map_err(|e| ConfigError(format!("rsa_public_key: {e}")))?),
        };
        let ec = match config.ecdsa_public_key.as_str() {
            "" => None,
            pem => Some(keys::ec_from_pem(pem).map_err(|e| ConfigError(format!("ecdsa_public_key: {e}")))?),
        };
        let previous_hmac = (!config.hmac_previous_secret_key.is_empty())
            .then(|| KeySet::new(config.hmac_previous_secret_key.as_bytes(), None, None));
        Ok(Verifier {
            keys: KeySet::new(config.hmac_secret_key.as_bytes(), rsa, ec),
            previous_hmac,
            previous_hmac_valid_until: config.hmac_previous_secret_key_valid_until,
            audience_regex: compile(&config.audience_regex, "audience_regex")?,
            issuer_regex: compile(&config.issuer_regex, "issuer_regex")?,
            audience: config.audience,
            issuer: config.issuer,
            user_id_claim: config.user_id_claim,
            skip_signature: config.insecure_skip_signature_verify,
        })
    }

    /// JWS algorithms this verifier accepts (for the startup log).
    pub fn enabled_algorithms(&self) -> Vec<&'static str> {
        self.keys.enabled()
    }

    /// Verifies a connection token at `now` (unix seconds).
    pub fn verify_connect_token(&self, token: &str, now: i64) -> Result<ConnectToken, TokenError> {
        let jws = compact::parse(token)?;
        let text = String::from_utf8_lossy(&jws.claims);
        let members = gojson::object(&text)?;
        let claims = ConnectClaims::decode(members.as_ref())?;
        self.check_common(&jws, &claims.registered, now)?;
        if !claims.channel.is_empty() {
            return Err(invalid("connection token must not carry a channel claim"));
        }
        check_time(&claims.registered, now)?;

        let mut subs = std::collections::HashMap::with_capacity(claims.subs.len());
        for (channel, opts) in &claims.subs {
            subs.insert(channel.clone(), subscribe_claim(opts)?);
        }
        Ok(ConnectToken {
            user_id: self.user_id(&claims.registered, members.as_ref()),
            expire_at: expire_at(claims.expire_at, &claims.registered),
            info: binary_or_raw(&claims.b64info, claims.info, "b64info")?,
            channels: claims.channels,
            subs,
            meta: claims.meta.map(raw_bytes),
        })
    }

    /// Verifies a subscription token at `now` (unix seconds). A missing `channel` claim is invalid.
    ///
    /// Comparing `channel`, `user_id` and `client` with the subscription is the caller's job
    /// (a mismatch is a 3500 disconnect there, not a token error).
    pub fn verify_subscribe_token(&self, token: &str, now: i64) -> Result<SubscribeToken, TokenError> {
        let jws = compact::parse(token)?;
        let text = String::from_utf8_lossy(&jws.claims);
        let members = gojson::object(&text)?;
        let claims = SubscribeClaims::decode(members.as_ref())?;
        self.check_common(&jws, &claims.registered, now)?;
        // Centrifugo looks at time before the channel: an expired token without a channel is
        // "expired", so a connection token reused here after expiry asks for a refresh.
        check_time(&claims.registered, now)?;
        if claims.channel.is_empty() {
            return Err(invalid("subscription token requires a channel claim"));
        }
        let opts = &claims.options;
        Ok(SubscribeToken {
            user_id: self.user_id(&claims.registered, members.as_ref()),
            expire_at: expire_at(claims.expire_at, &claims.registered),
            info: binary_or_raw(&opts.b64info, opts.info, "b64info")?,
            data: binary_or_raw(&opts.b64data, opts.data, "b64data")?,
            override_: opts.override_.clone().unwrap_or_default(),
            channel: claims.channel,
            client: claims.client,
        })
    }

    /// Steps shared by both token kinds, up to and including exact `aud`/`iss`.
    fn check_common(&self, jws: &Jws<'_>, reg: &Registered, now: i64) -> Result<(), TokenError> {
        if let Some(re) = &self.issuer_regex {
            if !re.is_match(&reg.iss) {
                return Err(invalid("issuer does not match issuer_regex"));
            }
        }
        if let Some(re) = &self.audience_regex {
            if !reg.aud.iter().any(|aud| re.is_match(aud)) {
                return Err(invalid("no audience matches audience_regex"));
            }
        }
        if !self.skip_signature {
            self.check_signature(jws, now)?;
        }
        if !self.audience.is_empty() && !reg.aud.iter().any(|aud| aud == &self.audience) {
            return Err(invalid("token is not for this audience"));
        }
        if !self.issuer.is_empty() && reg.iss != self.issuer {
            return Err(invalid("token is not from this issuer"));
        }
        Ok(())
    }

    fn check_signature(&self, jws: &Jws<'_>, now: i64) -> Result<(), SignatureError> {
        let current = self.keys.verify(&jws.alg, jws.signing_input, &jws.signature);
        let Err(error) = current else { return Ok(()) };
        if let Some(previous) = &self.previous_hmac {
            // valid_until is inclusive: the previous key still works during that second.
            let retired = self.previous_hmac_valid_until > 0 && now > self.previous_hmac_valid_until;
            if !retired
                && previous
                    .verify(&jws.alg, jws.signing_input, &jws.signature)
                    .is_ok()
            {
                return Ok(());
            }
        }
        Err(error)
    }

    fn user_id(&self, reg: &Registered, members: Option<&Members<'_>>) -> String {
        if self.user_id_claim.is_empty() {
            reg.sub.clone()
        } else {
            claims::custom_user_id(members, &self.user_id_claim)
        }
    }
}

/// No leeway: valid while `now < exp` and `nbf <= now` (Go compares against a clock with
/// sub-second precision; on whole seconds this is the faithful rounding). A token that is not
/// yet valid counts as expired, like in Centrifugo.
fn check_time(reg: &Registered, now: i64) -> Result<(), TokenError> {
    let now = now as f64;
    if reg.exp.is_some_and(|exp| exp <= now) || reg.nbf.is_some_and(|nbf| nbf > now) {
        return Err(TokenError::Expired);
    }
    Ok(())
}

/// `expire_at` if present (non-positive → never), else `exp` in whole seconds, else never.
fn expire_at(explicit: Option<i64>, reg: &Registered) -> i64 {
    match explicit {
        Some(at) => at.max(0),
        // In range by construction (numeric_date refuses |exp| >= 2^63).
        None => reg.exp.map_or(0, |exp| exp.floor() as i64),
    }
}

fn raw_bytes(raw: &RawValue) -> Bytes {
    Bytes::copy_from_slice(raw.get().as_bytes())
}

/// A non-empty base64 variant wins over the raw JSON one.
fn binary_or_raw(b64: &str, raw: Option<&RawValue>, name: &str) -> Result<Bytes, TokenError> {
    if b64.is_empty() {
        return Ok(raw.map(raw_bytes).unwrap_or_default());
    }
    b64::decode_std(b64.as_bytes())
        .map(Bytes::from)
        .map_err(|_| invalid(format!("{name} is not valid base64")))
}

fn subscribe_claim(opts: &SubOptions<'_>) -> Result<SubscribeClaim, TokenError> {
    Ok(SubscribeClaim {
        info: binary_or_raw(&opts.b64info, opts.info, "b64info")?,
        data: binary_or_raw(&opts.b64data, opts.data, "b64data")?,
        override_: opts.override_.clone().unwrap_or_default(),
    })
}
