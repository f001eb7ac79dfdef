//! The claim sets of connection and subscription tokens, filled with Go's decoding rules (see
//! `gojson`) so that the same payloads decode — or fail to decode — as in Centrifugo.
//! Decoding is only about shape; the verifier applies the checks afterwards.

use std::collections::HashMap;

use serde_json::value::RawValue;

use crate::gojson::{self, DecodeError, Members};
use crate::SubscribeOverride;

/// RFC 7519 registered claims.
#[derive(Debug, Default)]
pub(crate) struct Registered {
    pub(crate) sub: String,
    pub(crate) iss: String,
    pub(crate) jti: String,
    pub(crate) aud: Vec<String>,
    pub(crate) exp: Option<f64>,
    pub(crate) nbf: Option<f64>,
    pub(crate) iat: Option<f64>,
}

impl Registered {
    /// Applies one member if it names a registered claim; `Ok(false)` when it does not.
    fn apply(&mut self, folded: &str, raw: &RawValue) -> Result<bool, DecodeError> {
        match folded {
            "sub" => gojson::string_into(raw, &mut self.sub, "sub")?,
            "iss" => gojson::string_into(raw, &mut self.iss, "iss")?,
            "jti" => gojson::string_into(raw, &mut self.jti, "jti")?,
            "aud" => self.aud = gojson::audience(raw)?,
            "exp" => self.exp = gojson::numeric_date(raw, "exp")?,
            "nbf" => self.nbf = gojson::numeric_date(raw, "nbf")?,
            "iat" => self.iat = gojson::numeric_date(raw, "iat")?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// Per-channel options shared by `subs` entries and subscription tokens. Raw values borrow
/// from the decoded claims text.
#[derive(Debug, Default)]
pub(crate) struct SubOptions<'a> {
    pub(crate) info: Option<&'a RawValue>,
    pub(crate) b64info: String,
    pub(crate) data: Option<&'a RawValue>,
    pub(crate) b64data: String,
    pub(crate) override_: Option<SubscribeOverride>,
}

impl<'a> SubOptions<'a> {
    fn apply(&mut self, folded: &str, raw: &'a RawValue) -> Result<bool, DecodeError> {
        match folded {
            "info" => self.info = Some(raw),
            "b64info" => gojson::string_into(raw, &mut self.b64info, "b64info")?,
            "data" => self.data = Some(raw),
            "b64data" => gojson::string_into(raw, &mut self.b64data, "b64data")?,
            "override" => override_into(raw, &mut self.override_)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn decode(raw: &'a RawValue) -> Result<Self, DecodeError> {
        let mut opts = SubOptions::default();
        if let Some(members) = gojson::nested_object(raw, "subs entry")? {
            let mut buf = Default::default();
            for (key, value) in members {
                if let Some(folded) = gojson::fold_key(&key, &mut buf) {
                    opts.apply(folded, value)?;
                }
            }
        }
        Ok(opts)
    }
}

/// `override`: a pointer to a struct in Go, so `null` clears it and a repeated key merges into
/// what the first occurrence set.
fn override_into(raw: &RawValue, dst: &mut Option<SubscribeOverride>) -> Result<(), DecodeError> {
    let Some(members) = gojson::nested_object(raw, "override")? else {
        *dst = None;
        return Ok(());
    };
    let ov = dst.get_or_insert_with(SubscribeOverride::default);
    let mut buf = Default::default();
    for (key, value) in members {
        let slot = match gojson::fold_key(&key, &mut buf) {
            Some("presence") => &mut ov.presence,
            Some("join_leave") => &mut ov.join_leave,
            Some("force_push_join_leave") => &mut ov.force_push_join_leave,
            Some("force_recovery") => &mut ov.force_recovery,
            Some("force_positioning") => &mut ov.force_positioning,
            _ => continue,
        };
        bool_value_into(value, slot)?;
    }
    Ok(())
}

/// `{"value": bool}` behind a pointer: `null` → unset, `{}` → set to false.
fn bool_value_into(raw: &RawValue, dst: &mut Option<bool>) -> Result<(), DecodeError> {
    let Some(members) = gojson::nested_object(raw, "override value")? else {
        *dst = None;
        return Ok(());
    };
    let mut value = dst.unwrap_or(false);
    let mut buf = Default::default();
    for (key, v) in members {
        if gojson::fold_key(&key, &mut buf) == Some("value") {
            gojson::bool_into(v, &mut value, "override value")?;
        }
    }
    *dst = Some(value);
    Ok(())
}

/// Claims of a connection token.
#[derive(Debug, Default)]
pub(crate) struct ConnectClaims<'a> {
    pub(crate) registered: Registered,
    pub(crate) expire_at: Option<i64>,
    pub(crate) info: Option<&'a RawValue>,
    pub(crate) b64info: String,
    pub(crate) channels: Vec<String>,
    pub(crate) subs: HashMap<String, SubOptions<'a>>,
    pub(crate) meta: Option<&'a RawValue>,
    /// Must stay empty: a `channel` marks a subscription token.
    pub(crate) channel: String,
}

impl<'a> ConnectClaims<'a> {
    pub(crate) fn decode(members: Option<&Members<'a>>) -> Result<Self, DecodeError> {
        let mut claims = ConnectClaims::default();
        let mut buf = Default::default();
        for (key, raw) in members.into_iter().flatten() {
            let raw: &'a RawValue = raw;
            let Some(folded) = gojson::fold_key(key, &mut buf) else {
                continue;
            };
            if claims.registered.apply(folded, raw)? {
                continue;
            }
            match folded {
                "expire_at" => claims.expire_at = gojson::int64_ptr(raw, "expire_at")?,
                "info" => claims.info = Some(raw),
                "b64info" => gojson::string_into(raw, &mut claims.b64info, "b64info")?,
                "channels" => claims.channels = gojson::string_list(raw, "channels")?,
                "subs" => match gojson::nested_object(raw, "subs")? {
                    // A Go map is reset by null and merged into by a repeated key.
                    None => claims.subs.clear(),
                    Some(entries) => {
                        for (channel, entry) in entries {
                            claims
                                .subs
                                .insert(channel.into_owned(), SubOptions::decode(entry)?);
                        }
                    }
                },
                "meta" => claims.meta = Some(raw),
                "channel" => gojson::string_into(raw, &mut claims.channel, "channel")?,
                _ => {}
            }
        }
        Ok(claims)
    }
}

/// Claims of a subscription token.
#[derive(Debug, Default)]
pub(crate) struct SubscribeClaims<'a> {
    pub(crate) registered: Registered,
    pub(crate) options: SubOptions<'a>,
    pub(crate) channel: String,
    pub(crate) client: String,
    pub(crate) expire_at: Option<i64>,
}

impl<'a> SubscribeClaims<'a> {
    pub(crate) fn decode(members: Option<&Members<'a>>) -> Result<Self, DecodeError> {
        let mut claims = SubscribeClaims::default();
        let mut buf = Default::default();
        for (key, raw) in members.into_iter().flatten() {
            let raw: &'a RawValue = raw;
            let Some(folded) = gojson::fold_key(key, &mut buf) else {
                continue;
            };
            if claims.registered.apply(folded, raw)? || claims.options.apply(folded, raw)? {
                continue;
            }
            match folded {
                "channel" => gojson::string_into(raw, &mut claims.channel, "channel")?,
                "client" => gojson::string_into(raw, &mut claims.client, "client")?,
                "expire_at" => claims.expire_at = gojson::int64_ptr(raw, "expire_at")?,
                _ => {}
            }
        }
        Ok(claims)
    }
}

/// The user id under a custom claim name, read like gjson does: exact (case-sensitive) key,
/// first occurrence, any JSON type turned into text, missing → "".
pub(crate) fn custom_user_id(members: Option<&Members<'_>>, claim: &str) -> String {
    members
        .into_iter()
        .flatten()
        .find(|(key, _)| key == claim)
        .map(|(_, raw)| gojson::loose_string(raw))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect(text: &str) -> Result<ConnectClaims<'_>, DecodeError> {
        // Leak is fine in tests: members must outlive the claims borrowing from `text`.
        let members = Box::leak(Box::new(gojson::object(text)?));
        ConnectClaims::decode(members.as_ref())
    }

    fn subscribe(text: &str) -> Result<SubscribeClaims<'_>, DecodeError> {
        let members = Box::leak(Box::new(gojson::object(text)?));
        SubscribeClaims::decode(members.as_ref())
    }

    #[test]
    fn connect_claims_decode() {
        let c = connect(
            r#"{"sub":"u","exp":10,"expire_at":0,"info":{"a":1},"b64info":"eA==","channels":["x"],
               "meta":null,"aud":["a","b"],"iat":1,"jti":"j","unknown":[{"deep":true}]}"#,
        )
        .unwrap();
        assert_eq!(c.registered.sub, "u");
        assert_eq!(c.registered.exp, Some(10.0));
        assert_eq!(c.expire_at, Some(0));
        assert_eq!(c.info.unwrap().get(), r#"{"a":1}"#);
        assert_eq!(c.b64info, "eA==");
        assert_eq!(c.channels, ["x"]);
        assert_eq!(c.meta.unwrap().get(), "null");
        assert_eq!(c.registered.aud, ["a", "b"]);
        assert!(c.channel.is_empty());
    }

    #[test]
    fn keys_fold_and_repeat_like_go() {
        let c = connect(r#"{"SUB":"a","Channel":"c","sub":null,"EXP":5,"exp":null}"#).unwrap();
        assert_eq!(c.registered.sub, "a", "null leaves a string as it was");
        assert_eq!(c.channel, "c");
        assert_eq!(c.registered.exp, None, "null resets a pointer");
        let c = connect("null").unwrap();
        assert!(c.registered.sub.is_empty());
    }

    #[test]
    fn subs_and_overrides() {
        let c = connect(
            r#"{"subs":{"a":{"info":{"x":1},"b64data":"eQ==","override":{"presence":{"value":true},
               "join_leave":{},"force_recovery":null,"FORCE_POSITIONING":{"value":false}}},"b":null},
               "subs":{"c":{}}}"#,
        )
        .unwrap();
        assert_eq!(c.subs.len(), 3, "a repeated map key merges");
        let a = &c.subs["a"];
        assert_eq!(a.info.unwrap().get(), r#"{"x":1}"#);
        assert_eq!(a.b64data, "eQ==");
        let ov = a.override_.as_ref().unwrap();
        assert_eq!(ov.presence, Some(true));
        assert_eq!(ov.join_leave, Some(false));
        assert_eq!(ov.force_recovery, None);
        assert_eq!(ov.force_positioning, Some(false));
        assert_eq!(ov.force_push_join_leave, None);
        assert!(c.subs["b"].override_.is_none());
        assert!(connect(r#"{"subs":{"a":1}}"#).is_err());
        assert!(connect(r#"{"subs":[]}"#).is_err());
        assert!(connect(r#"{"subs":{"a":{"override":{"presence":true}}}}"#).is_err());
        assert!(connect(r#"{"subs":{"a":{"override":{"presence":{"value":1}}}}}"#).is_err());
    }

    #[test]
    fn override_repeats_merge() {
        let s = subscribe(
            r#"{"override":{"presence":{"value":true}},"override":{"join_leave":{"value":true},"presence":{}}}"#,
        )
        .unwrap();
        let ov = s.options.override_.unwrap();
        assert_eq!(
            ov.presence,
            Some(true),
            "an empty object merges into the existing value"
        );
        assert_eq!(ov.join_leave, Some(true));
    }

    #[test]
    fn subscribe_claims_decode() {
        let s = subscribe(r#"{"channel":"ch","client":"c1","sub":"u","data":[1],"expire_at":-5,"nbf":3}"#)
            .unwrap();
        assert_eq!(s.channel, "ch");
        assert_eq!(s.client, "c1");
        assert_eq!(s.options.data.unwrap().get(), "[1]");
        assert_eq!(s.expire_at, Some(-5));
        assert_eq!(s.registered.nbf, Some(3.0));
    }

    #[test]
    fn type_errors_are_errors() {
        for bad in [
            r#"{"sub":1}"#,
            r#"{"exp":"1"}"#,
            r#"{"aud":null}"#,
            r#"{"channels":"a"}"#,
            r#"{"expire_at":1.5}"#,
            r#"{"channel":false}"#,
            r#"{"b64info":{}}"#,
            "[]",
            "\"x\"",
        ] {
            assert!(connect(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn custom_user_id_reads_first_exact_key() {
        let members = gojson::object(r#"{"User":"x","user":12,"user":"later"}"#).unwrap();
        assert_eq!(custom_user_id(members.as_ref(), "user"), "12");
        assert_eq!(custom_user_id(members.as_ref(), "missing"), "");
    }
}
