//! The CLI subcommands other than running the server. Outputs follow Centrifugo's wording so
//! scripts that parse them keep working; failures print `error: ...` and exit with 1.

use std::path::Path;
use std::process::ExitCode;

use base64::Engine as _;
use gyre_config::{Config, Format};
use serde_json::{json, Value};

use crate::app::VERSION;
use crate::config_load;

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    println!("{msg}");
    ExitCode::from(1)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn load_config(path: &Path) -> Result<(Config, bool, Vec<String>), ExitCode> {
    match config_load::load(path, true, &[]) {
        Ok(l) => Ok((l.config, l.file_found, l.unknown_keys)),
        Err(e) => Err(fail(format!("error getting config: {e}"))),
    }
}

pub(crate) fn version() -> ExitCode {
    println!(
        "Gyre v{} (Centrifugo v6 compatible; Rust)",
        env!("CARGO_PKG_VERSION")
    );
    let _ = VERSION;
    ExitCode::SUCCESS
}

pub(crate) fn genconfig(path: &Path) -> ExitCode {
    if path.exists() {
        return fail(format!(
            "error: output config file already exists: {}",
            path.display()
        ));
    }
    let format = match Format::from_path(path) {
        Ok(f) => f,
        Err(e) => return fail(format!("error: {e}")),
    };
    let text = match gyre_config::genconfig(format) {
        Ok(t) => t,
        Err(e) => return fail(format!("error: {e}")),
    };
    if let Err(e) = std::fs::write(path, text) {
        return fail(format!("error: {e}"));
    }
    // Like Centrifugo: read the file back and validate, removing it when it is not usable.
    let config = match load_config(path) {
        Ok((c, _, _)) => c,
        Err(code) => {
            let _ = std::fs::remove_file(path);
            return code;
        }
    };
    if let Err(errors) = gyre_config::validate(&config) {
        let _ = std::fs::remove_file(path);
        return fail(format!("error validating config: {}", join(&errors)));
    }
    ExitCode::SUCCESS
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
}

pub(crate) fn checkconfig(path: &Path, strict: bool) -> ExitCode {
    let (config, found, unknown) = match load_config(path) {
        Ok(v) => v,
        Err(code) => return code,
    };
    if !found {
        return fail("config file not found");
    }
    if let Err(errors) = gyre_config::validate(&config) {
        return fail(format!("error validating config: {}", join(&errors)));
    }
    if strict && !unknown.is_empty() {
        return fail(format!("unknown keys in config: {}", unknown.join(", ")));
    }
    ExitCode::SUCCESS
}

pub(crate) fn defaultconfig(path: &Path, base: Option<&Path>, dry_run: bool) -> ExitCode {
    let base_config = match base.map(load_config).transpose() {
        Ok(b) => b.map(|(c, _, _)| c),
        Err(code) => return code,
    };
    let format = match Format::from_path(path) {
        Ok(f) => f,
        Err(e) => return fail(format!("error: {e}")),
    };
    let text = gyre_config::defaultconfig(format, base_config.as_ref());
    if dry_run {
        println!("{text}");
        return ExitCode::SUCCESS;
    }
    if path.exists() {
        return fail(format!(
            "error: output config file already exists: {}",
            path.display()
        ));
    }
    match std::fs::write(path, text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("error: {e}")),
    }
}

pub(crate) fn defaultenv(base: Option<&Path>, non_zero_only: bool) -> ExitCode {
    let base_config = match base.map(load_config).transpose() {
        Ok(b) => b.map(|(c, _, _)| c),
        Err(code) => return code,
    };
    print!("{}", gyre_config::defaultenv(base_config.as_ref(), non_zero_only));
    ExitCode::SUCCESS
}

/// Go's `time.Duration.String()` of whole seconds, as Centrifugo prints TTLs.
fn go_duration(secs: i64) -> String {
    serde_json::to_value(gyre_config::Duration::from_secs(secs.max(0) as u64))
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{secs}s"))
}

fn hmac_secret(config: &Config) -> Result<&str, ExitCode> {
    let secret = config.client.token.hmac_secret_key.as_str();
    if secret.is_empty() {
        return Err(fail(
            "error: gentoken only supports generating HMAC-signed tokens, but no HMAC secret key is set in the \
             configuration (client.token.hmac_secret_key) – if you use RSA/ECDSA/JWKS token verification you need \
             to generate the JWT with your own tooling",
        ));
    }
    Ok(secret)
}

/// Claims of a connection token for `user`, as `gentoken` builds them.
pub(crate) fn connection_claims(config: &Config, user: &str, ttl: i64) -> Value {
    let now = now();
    let mut claims = json!({ "sub": user, "iat": now });
    if ttl > 0 {
        claims["exp"] = json!(now + ttl);
    }
    let claim = &config.client.token.user_id_claim;
    if !claim.is_empty() {
        claims[claim.as_str()] = json!(user);
    }
    claims
}

fn describe(user: &str, ttl: i64) -> (String, String) {
    let who = if user.is_empty() {
        "anonymous user".to_string()
    } else {
        format!("user \"{user}\"")
    };
    let exp = if ttl >= 0 {
        format!("with expiration TTL {}", go_duration(ttl))
    } else {
        "without expiration".to_string()
    };
    (who, exp)
}

pub(crate) fn gentoken(path: &Path, user: &str, ttl: i64, quiet: bool) -> ExitCode {
    let (config, _, _) = match load_config(path) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let secret = match hmac_secret(&config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let token = gyre_jwt::sign_hs256(secret.as_bytes(), &connection_claims(&config, user, ttl));
    if quiet {
        print!("{token}");
        return ExitCode::SUCCESS;
    }
    let (who, exp) = describe(user, ttl);
    println!("HMAC SHA-256 JWT for {who} {exp}:\n{token}");
    ExitCode::SUCCESS
}

pub(crate) fn gensubtoken(path: &Path, user: &str, channel: &str, ttl: i64, quiet: bool) -> ExitCode {
    let (config, _, _) = match load_config(path) {
        Ok(v) => v,
        Err(code) => return code,
    };
    if channel.is_empty() {
        return fail("channel is required");
    }
    let secret = if config.client.subscription_token.enabled {
        config.client.subscription_token.token.hmac_secret_key.clone()
    } else {
        config.client.token.hmac_secret_key.clone()
    };
    if secret.is_empty() {
        return fail("error: no HMAC secret key set in the configuration for subscription tokens");
    }
    let mut claims = connection_claims(&config, user, ttl);
    claims["channel"] = json!(channel);
    let token = gyre_jwt::sign_hs256(secret.as_bytes(), &claims);
    if quiet {
        print!("{token}");
        return ExitCode::SUCCESS;
    }
    let who = if user.is_empty() {
        "anonymous user".to_string()
    } else {
        format!("user \"{user}\"")
    };
    let (_, exp) = describe(user, ttl);
    println!("HMAC SHA-256 JWT for {who} and channel \"{channel}\" {exp}:\n{token}");
    ExitCode::SUCCESS
}

/// The claims segment of a compact JWS, for printing after successful verification.
fn payload(token: &str) -> String {
    token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

pub(crate) fn checktoken(path: &Path, token: Option<&str>, subscription: bool) -> ExitCode {
    let (config, _, _) = match load_config(path) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let Some(token) = token else {
        let cmd = if subscription {
            "checksubtoken"
        } else {
            "checktoken"
        };
        return fail(format!("error: provide token to check [gyre {cmd} <TOKEN>]"));
    };
    let token_cfg = if subscription && config.client.subscription_token.enabled {
        &config.client.subscription_token.token
    } else {
        &config.client.token
    };
    let verifier = match gyre_jwt::Verifier::new(gyre_handler::verifier_config(
        token_cfg,
        config.client.insecure_skip_token_signature_verify,
    )) {
        Ok(v) => v,
        Err(e) => return fail(format!("error: {e}")),
    };
    if subscription {
        match verifier.verify_subscribe_token(token, now()) {
            Ok(t) => {
                println!(
                    "valid subscription token for user \"{}\" and channel \"{}\"\npayload: {}",
                    t.user_id,
                    t.channel,
                    payload(token)
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(format!("error: {e}")),
        }
    } else {
        match verifier.verify_connect_token(token, now()) {
            Ok(t) => {
                let who = if t.user_id.is_empty() {
                    "anonymous user".to_string()
                } else {
                    format!("user {}", t.user_id)
                };
                println!("valid token for {who}\npayload: {}", payload(token));
                ExitCode::SUCCESS
            }
            Err(e) => fail(format!("error: {e}")),
        }
    }
}

/// A config for `gyre dev`: random secrets, every browser origin allowed, and the namespaces the
/// seed's examples use (`chat`, `notifications`) so its curl and SDK snippets work as they are.
pub(crate) fn dev_config() -> Value {
    let secret = |n: usize| {
        let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    };
    let open = json!({
        "allow_subscribe_for_client": true,
        "allow_publish_for_client": true,
        "allow_history_for_client": true,
        "allow_presence_for_client": true
    });
    let mut chat = open.clone();
    let chat_obj = chat.as_object_mut().expect("object");
    for (k, v) in json!({
        "name": "chat", "presence": true, "join_leave": true, "history_size": 100,
        "history_ttl": "600s", "force_recovery": true
    })
    .as_object()
    .expect("object")
    {
        chat_obj.insert(k.clone(), v.clone());
    }
    json!({
        "client": {
            "token": { "hmac_secret_key": secret(48) },
            "allowed_origins": ["*"]
        },
        "http_api": { "key": secret(24) },
        "channel": {
            "without_namespace": open,
            "namespaces": [
                chat,
                { "name": "notifications", "allow_user_limited_channels": true }
            ]
        },
        "rpc": { "ping": { "enabled": true } },
        "prometheus": { "enabled": true },
        "health": { "enabled": true }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gentoken_claims() {
        let mut config = Config::default();
        let c = connection_claims(&config, "42", 3600);
        assert_eq!(c["sub"], "42");
        assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 3600);
        assert!(connection_claims(&config, "42", -1).get("exp").is_none());
        config.client.token.user_id_claim = "user_id".into();
        assert_eq!(connection_claims(&config, "7", 1)["user_id"], "7");
    }

    #[test]
    fn dev_config_is_valid() {
        let config: Config = serde_json::from_value(dev_config()).unwrap();
        assert!(gyre_config::validate(&config).is_ok());
        assert_eq!(config.channel.namespaces.len(), 2);
        assert!(!config.http_api.key.is_empty());
    }

    #[test]
    fn payload_of_token() {
        let token = gyre_jwt::sign_hs256(b"s", &json!({"sub": "1"}));
        assert_eq!(payload(&token), r#"{"sub":"1"}"#);
    }
}
