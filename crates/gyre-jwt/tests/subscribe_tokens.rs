//! reliability.md §4.2 B3 and protocol.md §4.3: subscription tokens. Channel, user and client
//! comparisons belong to the handler; this crate must hand it the claims and classify failures
//! (Invalid → 103, Expired → 109).

mod common;

use common::*;
use gyre_jwt::{SubscribeOverride, TokenError, VerifierConfig};

#[test]
fn valid_token_exposes_what_the_handler_compares() {
    let t = hmac_verifier()
        .verify_subscribe_token(
            &hs256(&format!(
                r#"{{"sub":"u1","channel":"$chat:1","client":"c-9","exp":{},"info":{{"role":"admin"}},"b64data":"aGk="}}"#,
                NOW + 60
            )),
            NOW,
        )
        .unwrap();
    assert_eq!(
        (t.user_id.as_str(), t.channel.as_str(), t.client.as_str()),
        ("u1", "$chat:1", "c-9")
    );
    assert_eq!(t.expire_at, NOW + 60);
    assert_eq!(&t.info[..], br#"{"role":"admin"}"#);
    assert_eq!(&t.data[..], b"hi");
    assert_eq!(t.override_, SubscribeOverride::default());
}

#[test]
fn optional_claims_default_to_empty() {
    let t = hmac_verifier()
        .verify_subscribe_token(&hs256(r#"{"channel":"c"}"#), NOW)
        .unwrap();
    assert_eq!((t.user_id.as_str(), t.client.as_str(), t.expire_at), ("", "", 0));
    assert!(t.info.is_empty() && t.data.is_empty());
}

#[test]
fn invalid_tokens() {
    let v = all_keys_verifier();
    let cases = [
        hs("HS256", "wrong-secret", r#"{"channel":"c"}"#),
        token_with(r#"{"alg":"none"}"#, r#"{"channel":"c"}"#, |_| vec![]),
        rs("RS256", "rsa_other_private.pem", r#"{"channel":"c"}"#),
        hs256(r#"{"channel":5}"#),
        hs256(r#"{"channel":"c","client":{}}"#),
        hs256(r#"{"channel":"c","b64info":"%%%"}"#),
        hs256(r#"{"channel":"c","b64data":"AAA"}"#),
        hs256(r#"{"channel":"c","override":[]}"#),
        hs256(r#"{"channel":"c","exp":"soon"}"#),
        "garbage".to_owned(),
    ];
    for token in cases {
        let got = v.verify_subscribe_token(&token, NOW);
        assert!(is_invalid(&got), "{token}: {got:?}");
    }
}

#[test]
fn expired_tokens() {
    let v = hmac_verifier();
    let exp = |e: i64| hs256(&format!(r#"{{"channel":"c","exp":{e}}}"#));
    assert_eq!(
        v.verify_subscribe_token(&exp(NOW - 1), NOW),
        Err(TokenError::Expired)
    );
    assert_eq!(v.verify_subscribe_token(&exp(NOW), NOW), Err(TokenError::Expired));
    assert!(v.verify_subscribe_token(&exp(NOW + 1), NOW).is_ok());
    let nbf = hs256(&format!(r#"{{"channel":"c","nbf":{}}}"#, NOW + 5));
    assert_eq!(v.verify_subscribe_token(&nbf, NOW), Err(TokenError::Expired));
}

#[test]
fn missing_channel_is_invalid() {
    let v = hmac_verifier();
    for claims in [
        r#"{"sub":"u"}"#,
        r#"{"sub":"u","channel":""}"#,
        r#"{"channel":null}"#,
        "{}",
    ] {
        assert!(
            is_invalid(&v.verify_subscribe_token(&hs256(claims), NOW)),
            "{claims}"
        );
    }
    // Centrifugo checks time first: an expired token without a channel reports "expired".
    let expired = hs256(&format!(r#"{{"sub":"u","exp":{}}}"#, NOW - 1));
    assert_eq!(v.verify_subscribe_token(&expired, NOW), Err(TokenError::Expired));
}

#[test]
fn connection_token_used_as_subscription_token() {
    let v = hmac_verifier();
    let connect = hs256(&format!(
        r#"{{"sub":"u","exp":{},"channels":["news"],"info":{{}}}}"#,
        NOW + 60
    ));
    assert!(v.verify_connect_token(&connect, NOW).is_ok());
    assert!(is_invalid(&v.verify_subscribe_token(&connect, NOW)));
}

#[test]
fn expire_at_and_override() {
    let v = hmac_verifier();
    let t = v
        .verify_subscribe_token(
            &hs256(&format!(
                r#"{{"channel":"c","exp":{},"expire_at":0,"override":{{"presence":{{"value":false}},"force_recovery":{{"value":true}}}}}}"#,
                NOW + 60
            )),
            NOW,
        )
        .unwrap();
    assert_eq!(t.expire_at, 0, "expire_at 0 means the subscription never expires");
    assert_eq!(t.override_.presence, Some(false));
    assert_eq!(t.override_.force_recovery, Some(true));
    assert_eq!(t.override_.join_leave, None);
    let t = v
        .verify_subscribe_token(
            &hs256(&format!(r#"{{"channel":"c","expire_at":{}}}"#, NOW + 7)),
            NOW,
        )
        .unwrap();
    assert_eq!(t.expire_at, NOW + 7);
}

#[test]
fn b64_variants_win() {
    let t = hmac_verifier()
        .verify_subscribe_token(
            &hs256(r#"{"channel":"c","info":{"a":1},"b64info":"AQI=","data":[1],"b64data":"Aw=="}"#),
            NOW,
        )
        .unwrap();
    assert_eq!((&t.info[..], &t.data[..]), (&[1u8, 2][..], &[3u8][..]));
}

#[test]
fn audience_and_issuer_apply_to_subscription_tokens() {
    let v = verifier(VerifierConfig {
        audience: "gyre".into(),
        issuer: "idp".into(),
        ..hmac_config()
    });
    assert!(v
        .verify_subscribe_token(&hs256(r#"{"channel":"c","aud":"gyre","iss":"idp"}"#), NOW)
        .is_ok());
    assert!(is_invalid(&v.verify_subscribe_token(
        &hs256(r#"{"channel":"c","aud":"gyre"}"#),
        NOW
    )));
    assert!(is_invalid(&v.verify_subscribe_token(
        &hs256(r#"{"channel":"c","iss":"idp"}"#),
        NOW
    )));
}

#[test]
fn channel_claim_is_allowed_and_other_algorithms_work() {
    let v = all_keys_verifier();
    for token in [
        rs("RS512", "rsa_private.pem", r#"{"channel":"c","sub":"u"}"#),
        es("ES256", "ec_p256_private.pem", r#"{"channel":"c","sub":"u"}"#),
        hs("HS384", SECRET, r#"{"channel":"c","sub":"u"}"#),
    ] {
        assert_eq!(v.verify_subscribe_token(&token, NOW).unwrap().channel, "c");
    }
}
