//! HS256 tokens for the bench clients: a connection token (`sub`, optionally `channels` for
//! server-side subscriptions) and a subscription token (`sub`, `channel`). No `exp`: a bench run
//! must not fail because it lasted longer than a guessed token lifetime.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// `{"alg":"HS256","typ":"JWT"}`, base64url.
const HEADER_B64: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// Signs a JSON claims object with HS256 and returns the compact JWS.
pub(crate) fn sign_hs256(secret: &[u8], claims: &serde_json::Value) -> String {
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{HEADER_B64}.{payload}");
    let signature = hs256_b64(secret, signing_input.as_bytes());
    format!("{signing_input}.{signature}")
}

/// Base64url HMAC-SHA256 of `input`: the signature part of a compact JWS.
fn hs256_b64(secret: &[u8], input: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(input);
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Connection token for `user`; `channels` become server-side subscriptions.
pub(crate) fn connect_token(secret: &str, user: &str, channels: &[String]) -> String {
    let claims = if channels.is_empty() {
        serde_json::json!({ "sub": user })
    } else {
        serde_json::json!({ "sub": user, "channels": channels })
    };
    sign_hs256(secret.as_bytes(), &claims)
}

/// Subscription token allowing `user` into `channel`.
pub(crate) fn subscribe_token(secret: &str, user: &str, channel: &str) -> String {
    sign_hs256(
        secret.as_bytes(),
        &serde_json::json!({ "sub": user, "channel": channel }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_constant_is_the_encoded_header() {
        assert_eq!(
            HEADER_B64,
            URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#)
        );
    }

    /// RFC 7515 appendix A.1: the HS256 example JWS (signing input, key and signature).
    #[test]
    fn rfc7515_a1_vector() {
        let input = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.\
                     eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
        let key = URL_SAFE_NO_PAD
            .decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
            .unwrap();
        assert_eq!(
            hs256_b64(&key, input.as_bytes()),
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        );
    }

    fn verifier(secret: &str) -> gyre_jwt::Verifier {
        gyre_jwt::Verifier::new(gyre_jwt::VerifierConfig {
            hmac_secret_key: secret.into(),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn tokens_verify_with_the_server_verifier() {
        let v = verifier("s3cret");
        let conn = v
            .verify_connect_token(&connect_token("s3cret", "u1", &[]), 0)
            .unwrap();
        assert_eq!(conn.user_id, "u1");
        assert!(conn.channels.is_empty());

        let server_side = connect_token("s3cret", "u2", &["bench.3".to_owned()]);
        let conn = v.verify_connect_token(&server_side, 0).unwrap();
        assert_eq!(conn.channels, vec!["bench.3".to_owned()]);

        let sub = v
            .verify_subscribe_token(&subscribe_token("s3cret", "u1", "bench.0"), 0)
            .unwrap();
        assert_eq!(sub.channel, "bench.0");
        assert_eq!(sub.user_id, "u1");

        assert!(verifier("other")
            .verify_connect_token(&connect_token("s3cret", "u1", &[]), 0)
            .is_err());
    }
}
