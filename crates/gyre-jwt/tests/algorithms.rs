//! Happy paths for every supported algorithm with the committed fixture keys, tokens from
//! independent signers (openssl), and what key material the configuration accepts.

mod common;

use common::*;
use gyre_jwt::{Verifier, VerifierConfig};

const CLAIMS: &str = r#"{"sub":"42","info":{"name":"Alice"}}"#;

#[test]
fn hmac_family() {
    let v = hmac_verifier();
    for alg in ["HS256", "HS384", "HS512"] {
        let t = v
            .verify_connect_token(&hs(alg, SECRET, CLAIMS), NOW)
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(t.user_id, "42");
        assert_eq!(&t.info[..], br#"{"name":"Alice"}"#);
    }
    assert_eq!(v.enabled_algorithms(), ["HS256", "HS384", "HS512"]);
}

#[test]
fn rsa_family() {
    let v = verifier(VerifierConfig {
        rsa_public_key: fixture("rsa_public.pem"),
        ..Default::default()
    });
    for alg in ["RS256", "RS384", "RS512"] {
        let t = v
            .verify_connect_token(&rs(alg, "rsa_private.pem", CLAIMS), NOW)
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(t.user_id, "42");
    }
    assert_eq!(v.enabled_algorithms(), ["RS256", "RS384", "RS512"]);
}

#[test]
fn ecdsa_family_one_algorithm_per_curve() {
    for (alg, public, private) in [
        ("ES256", "ec_p256_public.pem", "ec_p256_private.pem"),
        ("ES384", "ec_p384_public.pem", "ec_p384_private.pem"),
        ("ES512", "ec_p521_public.pem", "ec_p521_private.pem"),
    ] {
        let v = verifier(VerifierConfig {
            ecdsa_public_key: fixture(public),
            ..Default::default()
        });
        assert_eq!(v.enabled_algorithms(), [alg]);
        let t = v
            .verify_connect_token(&es(alg, private, CLAIMS), NOW)
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(t.user_id, "42");
    }
}

#[test]
fn all_families_side_by_side() {
    let v = all_keys_verifier();
    for token in [
        hs256(CLAIMS),
        rs("RS256", "rsa_private.pem", CLAIMS),
        es("ES256", "ec_p256_private.pem", CLAIMS),
    ] {
        assert_eq!(v.verify_connect_token(&token, NOW).unwrap().user_id, "42");
    }
    assert_eq!(
        v.enabled_algorithms(),
        ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256"]
    );
}

#[test]
fn tokens_signed_by_openssl() {
    let v = all_keys_verifier();
    for file in ["openssl_rs256.jwt", "openssl_es256.jwt"] {
        let t = v
            .verify_connect_token(fixture(file).trim(), NOW)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(t.user_id, "openssl-user");
        assert_eq!(&t.info[..], br#"{"signed_by":"openssl"}"#);
    }
}

#[test]
fn header_field_order_and_spacing_do_not_matter() {
    // PyJWT sorts keys, others put typ first or pretty-print; only a leading `{"` is required.
    let v = all_keys_verifier();
    let headers = [
        r#"{"alg":"HS256","typ":"JWT"}"#,
        r#"{"typ":"JWT","alg":"HS256"}"#,
        r#"{"alg": "HS256", "typ": "JWT"}"#,
        r#"{"kid":"k1","typ":"JWT","alg":"HS256","extra":{"nested":[1,2]}}"#,
        r#"{"alg":"HS256"}"#,
        "{\"alg\"\n:\n\"HS256\"\n}",
    ];
    let claims = r#"{"exp": 1800000000, "info": {"b": 2, "a": 1}, "sub": "py"}"#;
    for header in headers {
        let token = token_with(header, claims, |i| hmac_sig("HS256", SECRET.as_bytes(), i));
        let t = v
            .verify_connect_token(&token, NOW)
            .unwrap_or_else(|e| panic!("{header}: {e}"));
        assert_eq!(t.user_id, "py");
        assert_eq!(&t.info[..], br#"{"b": 2, "a": 1}"#, "info is kept verbatim");
        assert_eq!(t.expire_at, 1_800_000_000);
    }
}

#[test]
fn sign_hs256_round_trips_and_has_the_cli_header() {
    let token = gyre_jwt::sign_hs256(
        SECRET.as_bytes(),
        &serde_json::json!({"sub": "cli", "iat": NOW, "exp": NOW + 60}),
    );
    assert!(token.starts_with(&seg(br#"{"alg":"HS256","typ":"JWT"}"#)));
    let t = hmac_verifier().verify_connect_token(&token, NOW).unwrap();
    assert_eq!((t.user_id.as_str(), t.expire_at), ("cli", NOW + 60));
    let sub = gyre_jwt::sign_hs256(
        SECRET.as_bytes(),
        &serde_json::json!({"sub": "cli", "channel": "news"}),
    );
    assert_eq!(
        hmac_verifier().verify_subscribe_token(&sub, NOW).unwrap().channel,
        "news"
    );
}

fn config_error(config: VerifierConfig) -> String {
    match Verifier::new(config) {
        Ok(v) => panic!("expected a config error, got {v:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn rsa_key_formats() {
    // An X.509 certificate's key is taken, as in Centrifugo.
    let v = verifier(VerifierConfig {
        rsa_public_key: fixture("rsa_cert.pem"),
        ..Default::default()
    });
    assert!(v
        .verify_connect_token(&rs("RS256", "rsa_private.pem", CLAIMS), NOW)
        .is_ok());
    // Text around the block and CRLF line ends are fine.
    let messy = format!(
        "# comment\r\n{}\r\n",
        fixture("rsa_public.pem").replace('\n', "\r\n")
    );
    let v = verifier(VerifierConfig {
        rsa_public_key: messy,
        ..Default::default()
    });
    assert!(v
        .verify_connect_token(&rs("RS256", "rsa_private.pem", CLAIMS), NOW)
        .is_ok());
    // PKCS#1 "RSA PUBLIC KEY" is refused (Centrifugo only parses PKIX or certificates).
    let e = config_error(VerifierConfig {
        rsa_public_key: fixture("rsa_public_pkcs1.pem"),
        ..Default::default()
    });
    assert!(e.contains("rsa_public_key"), "{e}");
    // Too small to ever verify in Go 1.24+.
    let e = config_error(VerifierConfig {
        rsa_public_key: fixture("rsa512_public.pem"),
        ..Default::default()
    });
    assert!(e.contains("1024"), "{e}");
    // Not PEM at all, or base64 of a PEM.
    use base64::Engine;
    let b64_pem = base64::engine::general_purpose::STANDARD.encode(fixture("rsa_public.pem"));
    for bad in ["not a key".to_owned(), b64_pem, fixture("rsa_private.pem")] {
        config_error(VerifierConfig {
            rsa_public_key: bad,
            ..Default::default()
        });
    }
    // Key kinds are not interchangeable.
    let e = config_error(VerifierConfig {
        rsa_public_key: fixture("ec_p256_public.pem"),
        ..Default::default()
    });
    assert!(e.contains("not an RSA"), "{e}");
    let e = config_error(VerifierConfig {
        ecdsa_public_key: fixture("rsa_public.pem"),
        ..Default::default()
    });
    assert!(e.contains("not an ECDSA"), "{e}");
}

#[test]
fn ecdsa_key_formats() {
    let e = config_error(VerifierConfig {
        ecdsa_public_key: fixture("ec_p224_public.pem"),
        ..Default::default()
    });
    assert!(e.contains("P-224"), "{e}");
    config_error(VerifierConfig {
        ecdsa_public_key: fixture("ec_p256_private.pem"),
        ..Default::default()
    });
}

#[test]
fn other_config_errors() {
    config_error(VerifierConfig {
        audience: "a".into(),
        audience_regex: "a".into(),
        ..hmac_config()
    });
    config_error(VerifierConfig {
        issuer: "a".into(),
        issuer_regex: "a".into(),
        ..hmac_config()
    });
    config_error(VerifierConfig {
        issuer_regex: "(".into(),
        ..hmac_config()
    });
    config_error(VerifierConfig {
        audience_regex: "[".into(),
        ..hmac_config()
    });
    for claim in ["user.id", "user-id", "ä", "a1"] {
        config_error(VerifierConfig {
            user_id_claim: claim.into(),
            ..hmac_config()
        });
    }
}

#[test]
fn no_keys_means_every_token_is_invalid() {
    let v = verifier(VerifierConfig::default());
    assert!(v.enabled_algorithms().is_empty());
    assert!(is_invalid(&v.verify_connect_token(&hs256(CLAIMS), NOW)));
}

#[test]
fn debug_output_does_not_leak_secrets() {
    let v = verifier(VerifierConfig {
        hmac_previous_secret_key: "old-secret".into(),
        ..hmac_config()
    });
    let shown = format!("{v:?}");
    assert!(
        !shown.contains(SECRET) && !shown.contains("old-secret"),
        "{shown}"
    );
    assert!(shown.contains("HS256"), "{shown}");
}
