//! Connection-token claim semantics (protocol.md §4.2, reliability.md §1.3, B2 compat edges).

mod common;

use bytes::Bytes;
use common::*;
use gyre_jwt::{SubscribeOverride, TokenError, VerifierConfig};

#[test]
fn no_exp_never_expires() {
    let t = hmac_verifier()
        .verify_connect_token(&hs256(r#"{"sub":"a"}"#), i64::MAX)
        .unwrap();
    assert_eq!(t.expire_at, 0);
    let t = hmac_verifier()
        .verify_connect_token(&hs256(r#"{"sub":"a","exp":null}"#), NOW)
        .unwrap();
    assert_eq!(t.expire_at, 0);
}

#[test]
fn expire_at_overrides_exp() {
    let v = hmac_verifier();
    let check = |claims: String, want: i64| {
        let t = v
            .verify_connect_token(&hs256(&claims), NOW)
            .unwrap_or_else(|e| panic!("{claims}: {e}"));
        assert_eq!(t.expire_at, want, "{claims}");
    };
    check(format!(r#"{{"exp":{}}}"#, NOW + 100), NOW + 100);
    check(
        format!(r#"{{"exp":{},"expire_at":{}}}"#, NOW + 100, NOW + 5000),
        NOW + 5000,
    );
    check(format!(r#"{{"exp":{},"expire_at":0}}"#, NOW + 100), 0);
    check(format!(r#"{{"exp":{},"expire_at":-7}}"#, NOW + 100), 0);
    check(format!(r#"{{"exp":{},"expire_at":null}}"#, NOW + 100), NOW + 100);
    // expire_at in the past is passed through: the handler answers it with error 110.
    check(format!(r#"{{"expire_at":{}}}"#, NOW - 10), NOW - 10);
    // exp is still validated when expire_at is set.
    let expired = hs256(&format!(r#"{{"exp":{},"expire_at":0}}"#, NOW - 1));
    assert_eq!(v.verify_connect_token(&expired, NOW), Err(TokenError::Expired));
    // expire_at must be an integer (Go *int64).
    for bad in ["1.5", "1e3", r#""1""#, "true"] {
        assert!(
            is_invalid(&v.verify_connect_token(&hs256(&format!(r#"{{"expire_at":{bad}}}"#)), NOW)),
            "{bad}"
        );
    }
}

#[test]
fn info_b64info_and_meta() {
    let v = hmac_verifier();
    let t = v
        .verify_connect_token(&hs256(r#"{"info":{"a": [1, 2]},"meta":{"m":1}}"#), NOW)
        .unwrap();
    assert_eq!(t.info, Bytes::from_static(br#"{"a": [1, 2]}"#));
    assert_eq!(t.meta, Some(Bytes::from_static(br#"{"m":1}"#)));
    // b64info wins, and carries arbitrary bytes.
    let t = v
        .verify_connect_token(&hs256(r#"{"info":{"a":1},"b64info":"AP8K"}"#), NOW)
        .unwrap();
    assert_eq!(&t.info[..], [0x00, 0xff, 0x0a]);
    // An empty b64info does not count.
    let t = v
        .verify_connect_token(&hs256(r#"{"info":"x","b64info":""}"#), NOW)
        .unwrap();
    assert_eq!(&t.info[..], br#""x""#);
    // Absent stays empty; null stays the JSON text null (as Go's RawMessage does).
    let t = v.verify_connect_token(&hs256("{}"), NOW).unwrap();
    assert!(t.info.is_empty() && t.meta.is_none());
    let t = v
        .verify_connect_token(&hs256(r#"{"info":null,"meta":null}"#), NOW)
        .unwrap();
    assert_eq!(
        (&t.info[..], t.meta.as_deref()),
        (&b"null"[..], Some(&b"null"[..]))
    );
    // Bad base64 (URL alphabet, missing padding, garbage) is an invalid token.
    for bad in ["AP8K_w", "AP8", "!!!!"] {
        assert!(
            is_invalid(&v.verify_connect_token(&hs256(&format!(r#"{{"b64info":"{bad}"}}"#)), NOW)),
            "{bad}"
        );
    }
}

#[test]
fn channels_and_subs() {
    let v = hmac_verifier();
    let t = v
        .verify_connect_token(
            &hs256(
                r#"{"sub":"u","channels":["news","chat:1"],"subs":{
                "personal:u":{"info":{"x":1},"b64data":"aGk=","override":{
                    "presence":{"value":true},"join_leave":{"value":false},
                    "force_push_join_leave":{"value":true},"force_recovery":{"value":true},
                    "force_positioning":{}}},
                "feed":{"b64info":"AQ==","data":{"d":true}},
                "bare":null}}"#,
            ),
            NOW,
        )
        .unwrap();
    assert_eq!(t.channels, ["news", "chat:1"]);
    assert_eq!(t.subs.len(), 3);
    let personal = &t.subs["personal:u"];
    assert_eq!(&personal.info[..], br#"{"x":1}"#);
    assert_eq!(&personal.data[..], b"hi");
    assert_eq!(
        personal.override_,
        SubscribeOverride {
            presence: Some(true),
            join_leave: Some(false),
            force_push_join_leave: Some(true),
            force_recovery: Some(true),
            force_positioning: Some(false),
        }
    );
    let feed = &t.subs["feed"];
    assert_eq!(
        (&feed.info[..], &feed.data[..]),
        (&[1u8][..], &br#"{"d":true}"#[..])
    );
    assert_eq!(feed.override_, SubscribeOverride::default());
    assert_eq!(t.subs["bare"], Default::default());
    // Bad base64 inside subs is invalid too, and so are wrongly typed entries.
    for bad in [
        r#"{"subs":{"a":{"b64info":"***"}}}"#,
        r#"{"subs":{"a":{"b64data":"a"}}}"#,
        r#"{"subs":{"a":"x"}}"#,
        r#"{"subs":{"a":{"override":{"presence":{"value":"yes"}}}}}"#,
        r#"{"channels":[1]}"#,
    ] {
        assert!(is_invalid(&v.verify_connect_token(&hs256(bad), NOW)), "{bad}");
    }
}

#[test]
fn user_id_claim() {
    let v = verifier(VerifierConfig {
        user_id_claim: "user_id".into(),
        ..hmac_config()
    });
    let id = |claims: &str| v.verify_connect_token(&hs256(claims), NOW).unwrap().user_id;
    assert_eq!(id(r#"{"sub":"ignored","user_id":"u1"}"#), "u1");
    assert_eq!(id(r#"{"sub":"ignored"}"#), "", "sub is not a fallback");
    assert_eq!(id(r#"{"user_id":12345}"#), "12345", "numbers read as text");
    assert_eq!(id(r#"{"user_id":1.50}"#), "1.5");
    assert_eq!(id(r#"{"user_id":true}"#), "true");
    assert_eq!(id(r#"{"user_id":null}"#), "");
    assert_eq!(
        id(r#"{"User_Id":"x"}"#),
        "",
        "custom claim lookup is case-sensitive"
    );
    assert_eq!(id(r#"{"user_id":"first","user_id":"second"}"#), "first");
    // The subscription verifier honours it too.
    let s = v
        .verify_subscribe_token(&hs256(r#"{"channel":"c","user_id":"u2","sub":"x"}"#), NOW)
        .unwrap();
    assert_eq!(s.user_id, "u2");
}

#[test]
fn claim_names_match_case_insensitively_like_go() {
    let v = hmac_verifier();
    let t = v
        .verify_connect_token(&hs256(r#"{"SUB":"upper","Info":{"i":1}}"#), NOW)
        .unwrap();
    assert_eq!((t.user_id.as_str(), &t.info[..]), ("upper", &br#"{"i":1}"#[..]));
    assert_eq!(
        v.verify_connect_token(&hs256(&format!(r#"{{"EXP":{}}}"#, NOW - 1)), NOW),
        Err(TokenError::Expired)
    );
    // U+017F (long s) folds to 's' in Go's matching.
    assert_eq!(
        v.verify_connect_token(&hs256("{\"\u{17f}ub\":\"long-s\"}"), NOW)
            .unwrap()
            .user_id,
        "long-s"
    );
    // Escaped key names are unescaped before matching.
    assert_eq!(
        v.verify_connect_token(&hs256(r#"{"\u0073ub":"esc"}"#), NOW)
            .unwrap()
            .user_id,
        "esc"
    );
}

#[test]
fn audience_and_issuer_not_checked_unless_configured() {
    let v = hmac_verifier();
    assert!(v
        .verify_connect_token(&hs256(r#"{"aud":"anything","iss":"anyone"}"#), NOW)
        .is_ok());
    assert!(v
        .verify_connect_token(&hs256(r#"{"aud":["a","b"]}"#), NOW)
        .is_ok());
    // The claim's shape is still checked (Go fails to decode it otherwise).
    assert!(is_invalid(&v.verify_connect_token(&hs256(r#"{"aud":5}"#), NOW)));
    assert!(is_invalid(
        &v.verify_connect_token(&hs256(r#"{"aud":null}"#), NOW)
    ));
    assert!(is_invalid(
        &v.verify_connect_token(&hs256(r#"{"iss":["x"]}"#), NOW)
    ));
    // Unanchored regexes search, like Go's FindStringSubmatch.
    let re = verifier(VerifierConfig {
        issuer_regex: "idp".into(),
        ..hmac_config()
    });
    assert!(re
        .verify_connect_token(&hs256(r#"{"iss":"https://idp.example"}"#), NOW)
        .is_ok());
}

#[test]
fn previous_hmac_key_rotation() {
    const OLD: &str = "old-secret";
    let until = NOW + 100;
    let v = verifier(VerifierConfig {
        hmac_previous_secret_key: OLD.into(),
        hmac_previous_secret_key_valid_until: until,
        ..hmac_config()
    });
    for alg in ["HS256", "HS384", "HS512"] {
        let old = hs(alg, OLD, r#"{"sub":"a"}"#);
        assert!(v.verify_connect_token(&old, NOW).is_ok(), "{alg}");
        assert!(
            v.verify_connect_token(&old, until).is_ok(),
            "{alg}: valid_until is inclusive"
        );
        assert!(
            is_invalid(&v.verify_connect_token(&old, until + 1)),
            "{alg}: retired after valid_until"
        );
        assert!(
            v.verify_connect_token(&hs(alg, SECRET, r#"{"sub":"a"}"#), until + 1)
                .is_ok(),
            "{alg}: current key"
        );
    }
    assert!(is_invalid(
        &v.verify_connect_token(&hs("HS256", "third", "{}"), NOW)
    ));
    // valid_until = 0 means no end date.
    let forever = verifier(VerifierConfig {
        hmac_previous_secret_key: OLD.into(),
        ..hmac_config()
    });
    assert!(forever
        .verify_connect_token(&hs("HS256", OLD, "{}"), i64::MAX)
        .is_ok());
    // The previous key is HMAC only: it never makes RS tokens acceptable.
    let rs_token = token_with(r#"{"alg":"RS256"}"#, "{}", |i| {
        hmac_sig("HS256", OLD.as_bytes(), i)
    });
    assert!(is_invalid(&forever.verify_connect_token(&rs_token, NOW)));
    // Subscription tokens rotate the same way.
    let sub = hs("HS256", OLD, r#"{"channel":"c"}"#);
    assert!(v.verify_subscribe_token(&sub, NOW).is_ok());
    assert!(is_invalid(&v.verify_subscribe_token(&sub, until + 1)));
}

#[test]
fn insecure_skip_signature_verify_skips_only_the_signature() {
    let v = verifier(VerifierConfig {
        insecure_skip_signature_verify: true,
        ..Default::default()
    });
    let unsigned = token_with(r#"{"alg":"none"}"#, r#"{"sub":"dev"}"#, |_| vec![]);
    assert_eq!(v.verify_connect_token(&unsigned, NOW).unwrap().user_id, "dev");
    let foreign = hs("HS256", "whatever", r#"{"sub":"dev"}"#);
    assert_eq!(v.verify_connect_token(&foreign, NOW).unwrap().user_id, "dev");
    // Everything else still applies.
    let expired = hs("HS256", "x", &format!(r#"{{"exp":{}}}"#, NOW - 1));
    assert_eq!(v.verify_connect_token(&expired, NOW), Err(TokenError::Expired));
    assert!(is_invalid(
        &v.verify_connect_token(&hs("HS256", "x", r#"{"channel":"c"}"#), NOW)
    ));
    assert!(is_invalid(
        &v.verify_connect_token("eyJhbGciOiJub25lIn0.bm90IGpzb24.", NOW)
    ));
    let aud = verifier(VerifierConfig {
        insecure_skip_signature_verify: true,
        audience: "gyre".into(),
        ..Default::default()
    });
    assert!(is_invalid(
        &aud.verify_connect_token(&hs("HS256", "x", r#"{"aud":"other"}"#), NOW)
    ));
}

#[test]
fn invalid_beats_expired() {
    // Signature, aud/iss and the channel rule are all checked before time.
    let exp = format!(r#"{{"exp":{}}}"#, NOW - 100);
    assert!(is_invalid(
        &hmac_verifier().verify_connect_token(&hs("HS256", "wrong", &exp), NOW)
    ));
    let v = verifier(VerifierConfig {
        audience: "gyre".into(),
        ..hmac_config()
    });
    assert!(is_invalid(&v.verify_connect_token(&hs256(&exp), NOW)));
}

#[test]
fn null_claims_are_an_anonymous_token() {
    // Go decodes a `null` payload into empty claims; the signature still has to match.
    let t = hmac_verifier().verify_connect_token(&hs256("null"), NOW).unwrap();
    assert_eq!((t.user_id.as_str(), t.expire_at), ("", 0));
}

#[test]
fn go_base64_leniency_in_segments() {
    // Line breaks inside segments are skipped by Go's decoder; the signature covers the raw text.
    let v = hmac_verifier();
    let header = seg(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = seg(br#"{"sub":"wrapped"}"#);
    let input = format!("{header}.{}\n{}", &claims[..8], &claims[8..]);
    let sig = seg(&hmac_sig("HS256", SECRET.as_bytes(), input.as_bytes()));
    assert_eq!(
        v.verify_connect_token(&format!("{input}.{sig}"), NOW)
            .unwrap()
            .user_id,
        "wrapped"
    );
}
