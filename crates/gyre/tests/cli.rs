//! The CLI as a Centrifugo user drives it: generated configs, tokens and checks, with the exit
//! codes and outputs scripts rely on.

use std::path::Path;
use std::process::{Command, Output};

fn gyre(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gyre"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("run gyre")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("gyre-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn genconfig_then_checkconfig_in_every_format() {
    let dir = tempdir("genconfig");
    for file in ["config.json", "config.yaml", "config.toml"] {
        let out = gyre(&dir, &["genconfig", "-c", file]);
        assert!(out.status.success(), "{file}: {}", stdout(&out));
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(
            text.contains("hmac_secret_key") && text.contains("allowed_origins"),
            "{text}"
        );
        assert!(gyre(&dir, &["checkconfig", "-c", file]).status.success());
        // An existing file is never overwritten.
        let again = gyre(&dir, &["genconfig", "-c", file]);
        assert_eq!(again.status.code(), Some(1));
    }
    let bad = gyre(&dir, &["genconfig", "-c", "config.ini"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stdout(&bad).contains("supported extensions"), "{}", stdout(&bad));
}

#[test]
fn checkconfig_reports_problems() {
    let dir = tempdir("checkconfig");
    let missing = gyre(&dir, &["checkconfig", "-c", "nope.json"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(stdout(&missing).trim(), "config file not found");

    std::fs::write(dir.join("unknown.json"), r#"{"unknown_key": 1}"#).unwrap();
    assert!(gyre(&dir, &["checkconfig", "-c", "unknown.json"])
        .status
        .success());
    let strict = gyre(&dir, &["checkconfig", "-c", "unknown.json", "--strict"]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(
        stdout(&strict).contains("unknown keys in config: unknown_key"),
        "{}",
        stdout(&strict)
    );

    std::fs::write(
        dir.join("invalid.json"),
        r#"{"channel": {"namespaces": [{"name": "x"}, {"name": "chat", "history_size": 10}]}}"#,
    )
    .unwrap();
    let invalid = gyre(&dir, &["checkconfig", "-c", "invalid.json"]);
    assert_eq!(invalid.status.code(), Some(1));
    let text = stdout(&invalid);
    assert!(text.starts_with("error validating config"), "{text}");
    // Every problem is reported, not only the first.
    assert!(
        text.contains("invalid namespace name") && text.contains("history ttl"),
        "{text}"
    );
}

#[test]
fn tokens_round_trip_through_check_commands() {
    let dir = tempdir("tokens");
    std::fs::write(
        dir.join("config.json"),
        r#"{"client": {"token": {"hmac_secret_key": "s3cret"}}}"#,
    )
    .unwrap();

    let out = gyre(&dir, &["gentoken", "-u", "42", "-t", "3600"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.starts_with("HMAC SHA-256 JWT for user \"42\" with expiration TTL 1h0m0s:\n"),
        "{text}"
    );
    let token = text.lines().nth(1).unwrap().to_string();
    let quiet = stdout(&gyre(&dir, &["gentoken", "-u", "42", "-q"]));
    assert_eq!(quiet.split('.').count(), 3, "{quiet}");

    let check = gyre(&dir, &["checktoken", &token]);
    assert!(check.status.success());
    assert!(
        stdout(&check).starts_with("valid token for user 42\npayload: {"),
        "{}",
        stdout(&check)
    );

    let forever = stdout(&gyre(&dir, &["gentoken", "-u", "7", "-t", "-1"]));
    assert!(forever.contains("without expiration"), "{forever}");

    let sub = stdout(&gyre(
        &dir,
        &["gensubtoken", "-u", "42", "-s", "$private:x", "-q"],
    ));
    let check = gyre(&dir, &["checksubtoken", &sub]);
    assert!(check.status.success());
    assert!(
        stdout(&check).contains("channel \"$private:x\""),
        "{}",
        stdout(&check)
    );
    let no_channel = gyre(&dir, &["gensubtoken", "-u", "42"]);
    assert_eq!(no_channel.status.code(), Some(1));
    assert_eq!(stdout(&no_channel).trim(), "channel is required");

    // A subscription token is not a connection token and vice versa.
    assert_eq!(gyre(&dir, &["checktoken", &sub]).status.code(), Some(1));
    let tampered = format!("{}x", token);
    assert_eq!(gyre(&dir, &["checktoken", &tampered]).status.code(), Some(1));
    assert_eq!(gyre(&dir, &["checktoken"]).status.code(), Some(1));
}

#[test]
fn gentoken_needs_an_hmac_key() {
    let dir = tempdir("nokey");
    std::fs::write(dir.join("config.json"), "{}").unwrap();
    let out = gyre(&dir, &["gentoken", "-u", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("client.token.hmac_secret_key"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn defaultenv_and_defaultconfig() {
    let dir = tempdir("defaults");
    let env = stdout(&gyre(&dir, &["defaultenv"]));
    for line in [
        "CENTRIFUGO_HTTP_SERVER_PORT=8000",
        "CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY=",
        "CENTRIFUGO_CLIENT_PING_INTERVAL=",
    ] {
        assert!(env.lines().any(|l| l.starts_with(line)), "missing {line}");
    }
    let yaml = gyre(&dir, &["defaultconfig", "-c", "full.yaml", "-d"]);
    assert!(yaml.status.success());
    assert!(stdout(&yaml).contains("port: 8000"), "{}", stdout(&yaml));
    assert!(gyre(&dir, &["defaultconfig", "-c", "full.toml"]).status.success());
    assert!(gyre(&dir, &["checkconfig", "-c", "full.toml"]).status.success());
}

#[test]
fn version_names_gyre() {
    let out = gyre(Path::new("."), &["version"]);
    assert!(out.status.success());
    assert!(stdout(&out).starts_with("Gyre v"), "{}", stdout(&out));
}
