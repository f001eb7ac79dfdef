//! The two JWT verifiers (connection tokens and subscription tokens) and the seam through which the
//! decision functions see them.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use gyre_config::{Client, Token};
use gyre_jwt::{ConfigError, ConnectToken, SubscribeToken, TokenError, Verifier, VerifierConfig};

/// A verifier could not be built from the `client.token` / `client.subscription_token` sections.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("connection token verifier: {0}")]
    ConnectionToken(#[source] ConfigError),
    #[error("subscription token verifier: {0}")]
    SubscriptionToken(#[source] ConfigError),
}

/// Token verification as the decision functions need it. Implemented by [`Verifiers`] at a fixed
/// "now", and by fakes in tests so that the permission rules are testable without signed tokens.
pub(crate) trait Tokens {
    fn connect(&self, token: &str) -> Result<ConnectToken, TokenError>;
    fn subscribe(&self, token: &str) -> Result<SubscribeToken, TokenError>;
}

/// The verifiers of one configuration generation. Swapped as a whole on reload.
#[derive(Debug)]
pub(crate) struct Verifiers {
    connect: Arc<Verifier>,
    /// The same verifier as `connect` unless `client.subscription_token.enabled`.
    subscribe: Arc<Verifier>,
}

impl Verifiers {
    pub(crate) fn from_config(client: &Client) -> Result<Verifiers, SetupError> {
        let skip = client.insecure_skip_token_signature_verify;
        if !client.token.jwks_public_endpoint.is_empty() {
            tracing::warn!("client.token.jwks_public_endpoint is not supported yet: static keys are used");
        }
        let connect = Arc::new(
            Verifier::new(verifier_config(&client.token, skip)).map_err(SetupError::ConnectionToken)?,
        );
        let subscribe = if client.subscription_token.enabled {
            if !client.subscription_token.token.jwks_public_endpoint.is_empty() {
                tracing::warn!(
                    "client.subscription_token.jwks_public_endpoint is not supported yet: static keys are used"
                );
            }
            Arc::new(
                Verifier::new(verifier_config(&client.subscription_token.token, skip))
                    .map_err(SetupError::SubscriptionToken)?,
            )
        } else {
            connect.clone()
        };
        Ok(Verifiers { connect, subscribe })
    }

    /// Verification against the wall clock (JWT `exp`/`nbf` are wall-clock facts).
    pub(crate) fn now(&self) -> VerifiersAt<'_> {
        VerifiersAt {
            verifiers: self,
            now: unix_now(),
        }
    }
}

/// Wall-clock unix seconds.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

pub(crate) struct VerifiersAt<'a> {
    verifiers: &'a Verifiers,
    now: i64,
}

impl Tokens for VerifiersAt<'_> {
    fn connect(&self, token: &str) -> Result<ConnectToken, TokenError> {
        self.verifiers.connect.verify_connect_token(token, self.now)
    }

    fn subscribe(&self, token: &str) -> Result<SubscribeToken, TokenError> {
        self.verifiers.subscribe.verify_subscribe_token(token, self.now)
    }
}

/// Maps a token section of the config (`client.token` or `client.subscription_token`) to the
/// verifier's settings. Also used by the `checktoken` CLI commands.
pub fn verifier_config(token: &Token, insecure_skip_signature_verify: bool) -> VerifierConfig {
    VerifierConfig {
        hmac_secret_key: token.hmac_secret_key.clone(),
        hmac_previous_secret_key: token.hmac_previous_secret_key.clone(),
        hmac_previous_secret_key_valid_until: token.hmac_previous_secret_key_valid_until,
        rsa_public_key: token.rsa_public_key.clone(),
        ecdsa_public_key: token.ecdsa_public_key.clone(),
        audience: token.audience.clone(),
        audience_regex: token.audience_regex.clone(),
        issuer: token.issuer.clone(),
        issuer_regex: token.issuer_regex.clone(),
        user_id_claim: token.user_id_claim.clone(),
        insecure_skip_signature_verify,
    }
}

#[cfg(test)]
pub(crate) mod fake {
    //! A token "verifier" keyed by token string, for decision tests.

    use std::collections::HashMap;

    use super::*;

    #[derive(Default)]
    pub(crate) struct FakeTokens {
        pub(crate) connect: HashMap<String, Result<ConnectToken, TokenError>>,
        pub(crate) subscribe: HashMap<String, Result<SubscribeToken, TokenError>>,
    }

    impl Tokens for FakeTokens {
        fn connect(&self, token: &str) -> Result<ConnectToken, TokenError> {
            self.connect
                .get(token)
                .cloned()
                .unwrap_or_else(|| Err(TokenError::Invalid("unknown test token".into())))
        }

        fn subscribe(&self, token: &str) -> Result<SubscribeToken, TokenError> {
            self.subscribe
                .get(token)
                .cloned()
                .unwrap_or_else(|| Err(TokenError::Invalid("unknown test token".into())))
        }
    }
}
