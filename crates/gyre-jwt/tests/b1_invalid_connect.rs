//! reliability.md §4.2 B1: hostile or broken connection tokens. Every variant must give the
//! exact error kind (Expired → 109, Invalid → 3500), never a panic, never an acceptance.

mod common;

use common::*;
use gyre_jwt::{TokenError, VerifierConfig};

fn rsa_only() -> gyre_jwt::Verifier {
    verifier(VerifierConfig {
        rsa_public_key: fixture("rsa_public.pem"),
        ..Default::default()
    })
}

fn ec_only() -> gyre_jwt::Verifier {
    verifier(VerifierConfig {
        ecdsa_public_key: fixture("ec_p256_public.pem"),
        ..Default::default()
    })
}

fn assert_invalid(v: &gyre_jwt::Verifier, token: &str, what: &str) {
    let got = v.verify_connect_token(token, NOW);
    assert!(is_invalid(&got), "{what}: expected Invalid, got {got:?}");
}

#[test]
fn v01_alg_none_unsigned() {
    let claims = r#"{"sub":"attacker"}"#;
    for v in [hmac_verifier(), rsa_only(), ec_only(), all_keys_verifier()] {
        assert_invalid(
            &v,
            &token_with(r#"{"alg":"none","typ":"JWT"}"#, claims, |_| vec![]),
            "alg none",
        );
        // A "signature" made with the HMAC secret changes nothing: none is not an algorithm.
        let signed = token_with(r#"{"alg":"none"}"#, claims, |i| {
            hmac_sig("HS256", SECRET.as_bytes(), i)
        });
        assert_invalid(&v, &signed, "alg none with a signature");
    }
}

#[test]
fn v02_none_in_other_casings_and_unknown_algs() {
    let v = all_keys_verifier();
    for alg in [
        "None", "NONE", "nOnE", "", "hs256", "Hs256", "HS256 ", "PS256", "PS384", "PS512", "EdDSA", "ES256K",
        "HS1",
    ] {
        let token = token_with(&format!(r#"{{"alg":"{alg}"}}"#), r#"{"sub":"a"}"#, |i| {
            hmac_sig("HS256", SECRET.as_bytes(), i)
        });
        let got = v.verify_connect_token(&token, NOW);
        match &got {
            Err(TokenError::Invalid(msg)) => assert!(msg.contains("unsupported"), "{alg}: {msg}"),
            other => panic!("{alg}: expected unsupported, got {other:?}"),
        }
    }
    // alg missing or null reads as "" and is unsupported too.
    for header in [r#"{"typ":"JWT"}"#, r#"{"alg":null}"#] {
        assert_invalid(
            &v,
            &token_with(header, "{}", |i| hmac_sig("HS256", SECRET.as_bytes(), i)),
            header,
        );
    }
}

#[test]
fn v03_hs256_with_rsa_public_key_as_secret() {
    let pem = fixture("rsa_public.pem");
    let forged = token_with(r#"{"alg":"HS256","typ":"JWT"}"#, r#"{"sub":"admin"}"#, |i| {
        hmac_sig("HS256", pem.as_bytes(), i)
    });
    let got = rsa_only().verify_connect_token(&forged, NOW);
    match &got {
        Err(TokenError::Invalid(msg)) => assert!(msg.contains("disabled"), "{msg}"),
        other => panic!("expected disabled, got {other:?}"),
    }
    // The DER bytes or the trimmed PEM do no better, nor do HS384/HS512.
    for alg in ["HS256", "HS384", "HS512"] {
        for secret in [pem.trim().as_bytes().to_vec(), pem_der("rsa_public.pem")] {
            let t = token_with(&format!(r#"{{"alg":"{alg}"}}"#), r#"{"sub":"admin"}"#, |i| {
                hmac_sig(alg, &secret, i)
            });
            assert_invalid(&rsa_only(), &t, alg);
        }
    }
    // Same with ECDSA only.
    let ec_pem = fixture("ec_p256_public.pem");
    let t = token_with(r#"{"alg":"HS256"}"#, r#"{"sub":"admin"}"#, |i| {
        hmac_sig("HS256", ec_pem.as_bytes(), i)
    });
    assert_invalid(&ec_only(), &t, "HS256 with EC PEM");
}

#[test]
fn v04_rs256_with_only_hmac_configured() {
    let token = rs("RS256", "rsa_private.pem", r#"{"sub":"a"}"#);
    let got = hmac_verifier().verify_connect_token(&token, NOW);
    match &got {
        Err(TokenError::Invalid(msg)) => assert!(msg.contains("disabled"), "{msg}"),
        other => panic!("expected disabled, got {other:?}"),
    }
    assert_invalid(
        &hmac_verifier(),
        &es("ES256", "ec_p256_private.pem", r#"{"sub":"a"}"#),
        "ES256",
    );
    // ES384 when the configured key is P-256: the algorithm is not enabled for that curve.
    assert_invalid(
        &ec_only(),
        &es("ES384", "ec_p384_private.pem", r#"{"sub":"a"}"#),
        "ES384 on P-256",
    );
}

#[test]
fn v05_foreign_key_signatures() {
    let v = all_keys_verifier();
    assert_invalid(
        &v,
        &hs("HS256", "another-secret", r#"{"sub":"a"}"#),
        "foreign HMAC secret",
    );
    assert_invalid(
        &v,
        &rs("RS256", "rsa_other_private.pem", r#"{"sub":"a"}"#),
        "foreign RSA key",
    );
    assert_invalid(
        &v,
        &es("ES256", "ec_p256_other_private.pem", r#"{"sub":"a"}"#),
        "foreign EC key",
    );
    // A valid signature over other claims (claims swapped after signing).
    let good = hs256(r#"{"sub":"a"}"#);
    let parts: Vec<&str> = good.split('.').collect();
    let swapped = format!("{}.{}.{}", parts[0], seg(br#"{"sub":"admin"}"#), parts[2]);
    assert_invalid(&v, &swapped, "swapped claims");
    // A valid RS256 signature relabelled as RS384.
    let rs_good = rs("RS256", "rsa_private.pem", r#"{"sub":"a"}"#);
    let sig = rs_good.rsplit('.').next().unwrap();
    let relabelled = format!(
        "{}.{}.{sig}",
        seg(br#"{"alg":"RS384","typ":"JWT"}"#),
        seg(br#"{"sub":"a"}"#)
    );
    assert_invalid(&v, &relabelled, "relabelled alg");
}

#[test]
fn v06_empty_or_truncated_signature() {
    let v = all_keys_verifier();
    for token in [
        hs256(r#"{"sub":"a"}"#),
        rs("RS256", "rsa_private.pem", r#"{"sub":"a"}"#),
        es("ES256", "ec_p256_private.pem", r#"{"sub":"a"}"#),
    ] {
        let (input, sig) = token.rsplit_once('.').unwrap();
        assert!(
            v.verify_connect_token(&token, NOW).is_ok(),
            "control token must pass"
        );
        assert_invalid(&v, &format!("{input}."), "empty signature");
        assert_invalid(
            &v,
            &format!("{input}.{}", &sig[..sig.len() - 4]),
            "truncated signature",
        );
        assert_invalid(&v, &format!("{input}.{sig}AAAA"), "extended signature");
        assert_invalid(&v, input, "signature segment missing");
    }
}

#[test]
fn v07_expired_one_second_ago() {
    let v = hmac_verifier();
    let exp = |e: i64| hs256(&format!(r#"{{"sub":"a","exp":{e}}}"#));
    assert_eq!(
        v.verify_connect_token(&exp(NOW - 1), NOW),
        Err(TokenError::Expired)
    );
    assert_eq!(
        v.verify_connect_token(&exp(NOW), NOW),
        Err(TokenError::Expired),
        "exp == now is expired"
    );
    assert_eq!(
        v.verify_connect_token(&exp(NOW + 1), NOW).unwrap().expire_at,
        NOW + 1
    );
}

#[test]
fn v08_not_before_in_the_future() {
    let v = hmac_verifier();
    let nbf = |n: i64| hs256(&format!(r#"{{"sub":"a","nbf":{n}}}"#));
    assert_eq!(
        v.verify_connect_token(&nbf(NOW + 5), NOW),
        Err(TokenError::Expired)
    );
    assert_eq!(
        v.verify_connect_token(&nbf(NOW + 1), NOW),
        Err(TokenError::Expired)
    );
    assert!(
        v.verify_connect_token(&nbf(NOW), NOW).is_ok(),
        "nbf == now is valid"
    );
    assert!(v.verify_connect_token(&nbf(NOW - 1), NOW).is_ok());
}

#[test]
fn v09_wrong_audience() {
    let v = verifier(VerifierConfig {
        audience: "gyre".to_owned(),
        ..hmac_config()
    });
    for claims in [
        r#"{"aud":"other"}"#,
        r#"{"aud":["other","x"]}"#,
        r#"{"aud":[]}"#,
        "{}",
        r#"{"aud":"GYRE"}"#,
    ] {
        assert_invalid(&v, &hs256(claims), claims);
    }
    assert!(v.verify_connect_token(&hs256(r#"{"aud":"gyre"}"#), NOW).is_ok());
    assert!(v
        .verify_connect_token(&hs256(r#"{"aud":["other","gyre"]}"#), NOW)
        .is_ok());
    let re = verifier(VerifierConfig {
        audience_regex: "^gyre-(a|b)$".to_owned(),
        ..hmac_config()
    });
    assert_invalid(&re, &hs256(r#"{"aud":"gyre-c"}"#), "regex audience");
    assert!(re
        .verify_connect_token(&hs256(r#"{"aud":["x","gyre-b"]}"#), NOW)
        .is_ok());
}

#[test]
fn v10_wrong_issuer() {
    let v = verifier(VerifierConfig {
        issuer: "https://idp.example".to_owned(),
        ..hmac_config()
    });
    for claims in [
        r#"{"iss":"https://evil.example"}"#,
        "{}",
        r#"{"iss":"https://idp.example/"}"#,
    ] {
        assert_invalid(&v, &hs256(claims), claims);
    }
    assert!(v
        .verify_connect_token(&hs256(r#"{"iss":"https://idp.example"}"#), NOW)
        .is_ok());
    let re = verifier(VerifierConfig {
        issuer_regex: "^tenant-(one|two)$".to_owned(),
        ..hmac_config()
    });
    assert_invalid(&re, &hs256(r#"{"iss":"tenant-three"}"#), "regex issuer");
    assert_invalid(&re, &hs256("{}"), "regex issuer, missing iss");
    assert!(re
        .verify_connect_token(&hs256(r#"{"iss":"tenant-two"}"#), NOW)
        .is_ok());
}

#[test]
fn v11_channel_claim_in_connection_token() {
    let v = hmac_verifier();
    for claims in [
        r#"{"sub":"a","channel":"news"}"#,
        r#"{"sub":"a","Channel":"news"}"#,
        r#"{"sub":"a","CHANNEL":"x"}"#,
    ] {
        assert_invalid(&v, &hs256(claims), claims);
    }
    // Invalid wins over expired: the channel rule is checked before time.
    assert_invalid(
        &v,
        &hs256(&format!(r#"{{"channel":"x","exp":{}}}"#, NOW - 10)),
        "channel + expired",
    );
    // An empty channel is the same as none.
    assert!(v
        .verify_connect_token(&hs256(r#"{"sub":"a","channel":""}"#), NOW)
        .is_ok());
}

#[test]
fn v12_exp_of_the_wrong_type_or_size() {
    let v = hmac_verifier();
    for exp in [
        r#""1800000000""#,
        r#""soon""#,
        "1e30",
        "-1e30",
        "1e400",
        "9223372036854775808",
        "true",
        "{}",
        "[1800000000]",
    ] {
        let claims = format!(r#"{{"sub":"a","exp":{exp}}}"#);
        assert_invalid(&v, &hs256(&claims), &claims);
        let nbf = format!(r#"{{"sub":"a","nbf":{exp}}}"#);
        assert_invalid(&v, &hs256(&nbf), &nbf);
        let iat = format!(r#"{{"sub":"a","iat":{exp}}}"#);
        assert_invalid(&v, &hs256(&iat), &iat);
    }
    // Fractional NumericDates are legal (RFC 7519) and accepted, as Centrifugo does.
    let frac = v
        .verify_connect_token(&hs256(&format!(r#"{{"exp":{}.75}}"#, NOW + 10)), NOW)
        .unwrap();
    assert_eq!(frac.expire_at, NOW + 10);
    assert_eq!(
        v.verify_connect_token(&hs256(&format!(r#"{{"exp":{}.5}}"#, NOW - 1)), NOW),
        Err(TokenError::Expired)
    );
    // Large but representable values are simply far in the future.
    let far = v
        .verify_connect_token(&hs256(r#"{"exp":9000000000000000000}"#), NOW)
        .unwrap();
    assert_eq!(far.expire_at, 9_000_000_000_000_000_000);
    // A negative exp is a date in 1969: expired, not a crash.
    assert_eq!(
        v.verify_connect_token(&hs256(r#"{"exp":-5}"#), NOW),
        Err(TokenError::Expired)
    );
}

#[test]
fn v13_wrong_segment_count_and_bad_base64() {
    let v = hmac_verifier();
    let good = hs256(r#"{"sub":"a"}"#);
    let (h, rest) = good.split_once('.').unwrap();
    let (c, s) = rest.split_once('.').unwrap();
    let cases = [
        format!("{h}.{c}.{s}.{s}"),
        format!("{h}.{c}.{c}.{c}.{s}"),
        format!("{h}.{c}"),
        format!("{h}{c}{s}"),
        format!("{h}=.{c}.{s}"),
        format!("{h}.{c}==.{s}"),
        format!("{h}.{c}.{s}="),
        format!("{h}.{c}.{}", s.replace('_', "/").replace('-', "+") + "+/"),
        format!("{h}.{c}*.{s}"),
        format!("{h}.{}.{s}", seg(b"not json")),
        format!("{h}.{}.{s}", seg(b"[]")),
        format!("{h}.{}.{s}", seg(b"")),
        format!(" {good}"),
        "..".to_owned(),
        "eyJ..".to_owned(),
        String::new(),
    ];
    for token in cases {
        assert_invalid(&v, &token, &token);
    }
}

#[test]
fn v14_ecdsa_zero_and_out_of_range_signatures() {
    let v = ec_only();
    let input = format!(
        "{}.{}",
        seg(br#"{"alg":"ES256","typ":"JWT"}"#),
        seg(br#"{"sub":"admin"}"#)
    );
    // Group order n of P-256.
    let n = hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    let one = {
        let mut b = vec![0u8; 32];
        b[31] = 1;
        b
    };
    let zero = vec![0u8; 32];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("r=s=0", [zero.clone(), zero.clone()].concat()),
        ("r=0", [zero.clone(), one.clone()].concat()),
        ("s=0", [one.clone(), zero.clone()].concat()),
        ("r=s=n", [n.clone(), n.clone()].concat()),
        ("r=n,s=1", [n.clone(), one.clone()].concat()),
        ("all ones", vec![0xff; 64]),
        ("short", vec![1; 63]),
        ("DER-like", vec![0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]),
    ];
    for (what, sig) in cases {
        assert_invalid(&v, &format!("{input}.{}", seg(&sig)), what);
    }
    // P-384 zero signature too.
    let v384 = verifier(VerifierConfig {
        ecdsa_public_key: fixture("ec_p384_public.pem"),
        ..Default::default()
    });
    let input = format!("{}.{}", seg(br#"{"alg":"ES384"}"#), seg(b"{}"));
    assert_invalid(&v384, &format!("{input}.{}", seg(&[0u8; 96])), "P-384 zeros");
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn v15_key_url_headers_are_ignored() {
    // There is no HTTP client in this crate at all; what can be checked here is that such
    // headers neither select a key nor break verification with the configured one.
    let v = all_keys_verifier();
    let headers = [
        r#"{"alg":"RS256","jku":"http://127.0.0.1:9/jwks.json","kid":"attacker"}"#,
        r#"{"alg":"RS256","x5u":"http://127.0.0.1:9/cert.pem"}"#,
        r#"{"alg":"RS256","x5c":["MIIB..."],"jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"}}"#,
    ];
    for header in headers {
        let attacker = token_with(header, r#"{"sub":"admin"}"#, |i| {
            rsa_sig("RS256", "rsa_other_private.pem", i)
        });
        assert_invalid(&v, &attacker, header);
        let legit = token_with(header, r#"{"sub":"a"}"#, |i| {
            rsa_sig("RS256", "rsa_private.pem", i)
        });
        assert_eq!(
            v.verify_connect_token(&legit, NOW).unwrap().user_id,
            "a",
            "{header}"
        );
    }
}

#[test]
fn v16_sixty_kib_tokens_are_cheap() {
    let v = all_keys_verifier();
    let filler = "x".repeat(60 * 1024);
    // Valid and large: accepted.
    let big = hs256(&format!(r#"{{"sub":"a","info":{{"blob":"{filler}"}}}}"#));
    assert!(big.len() > 60 * 1024);
    // Garbage of the same size in each position: refused.
    let garbage = [
        format!("eyJ{filler}"),
        format!("eyJ.{filler}.sig"),
        format!(
            "{}.{}.{}",
            seg(br#"{"alg":"RS256"}"#),
            seg(b"{}"),
            seg(filler.as_bytes())
        ),
        format!(
            "{}.{}.{}",
            seg(br#"{"alg":"ES256"}"#),
            seg(b"{}"),
            seg(filler.as_bytes())
        ),
        format!("{}.{}.x", seg(br#"{"alg":"HS256"}"#), ".".repeat(60 * 1024)),
        hs256(&format!(
            r#"{{"sub":"a","info":{}{}}}"#,
            "[".repeat(30_000),
            "]".repeat(30_000)
        )),
    ];
    let started = std::time::Instant::now();
    for _ in 0..20 {
        assert!(v.verify_connect_token(&big, NOW).is_ok());
        for g in &garbage {
            assert!(is_invalid(&v.verify_connect_token(g, NOW)));
        }
    }
    // Generous even for an unoptimized build on a busy machine: 140 verifications.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
