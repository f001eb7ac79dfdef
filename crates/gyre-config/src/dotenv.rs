//! `.env` files, read the way godotenv (which Centrifugo uses) reads them:
//! `KEY=value` or `KEY: value` lines, optional `export `, `#` comments (inline only after
//! whitespace in unquoted values), single quotes literal, double quotes with `\n`-style escapes,
//! both quote styles may span lines, and `$VAR` / `${VAR}` expansion in unquoted and
//! double-quoted values (from earlier lines, then the given environment).

use std::collections::HashMap;
use std::path::Path;

use crate::load::LoadError;

/// Reads a `.env` file; a missing file gives no entries, a malformed one is an error
/// (Centrifugo exits on it). `$VAR` references fall back to the process environment.
/// Merge the result under the process environment with [`merge_env`].
pub fn read_dotenv(path: impl AsRef<Path>) -> Result<Vec<(String, String)>, LoadError> {
    let path = path.as_ref();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(LoadError::Dotenv {
                path: path.to_owned(),
                message: e.to_string(),
            })
        }
    };
    let process: Vec<(String, String)> = std::env::vars().collect();
    parse_dotenv(&text, &process).map_err(|message| LoadError::Dotenv {
        path: path.to_owned(),
        message,
    })
}

/// Adds `.env` entries to the process environment; variables already set in the process win.
pub fn merge_env(process: Vec<(String, String)>, dotenv: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out = process;
    for (key, value) in dotenv {
        if !out.iter().any(|(k, _)| *k == key) {
            out.push((key, value));
        }
    }
    out
}

/// Parses `.env` text into ordered pairs (a repeated key keeps its last value).
pub fn parse_dotenv(text: &str, env: &[(String, String)]) -> Result<Vec<(String, String)>, String> {
    let chars: Vec<char> = text.replace("\r\n", "\n").chars().collect();
    let mut pos = 0;
    let mut line_no = 1;
    let mut out: Vec<(String, String)> = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    while pos < chars.len() {
        let line_end = chars[pos..]
            .iter()
            .position(|&c| c == '\n')
            .map_or(chars.len(), |i| pos + i);
        let line: String = chars[pos..line_end].iter().collect();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            pos = line_end + 1;
            line_no += 1;
            continue;
        }
        let lead = line.len() - trimmed.len();
        let mut start = pos + line[..lead].chars().count();
        let body = trimmed.strip_prefix("export ").unwrap_or(trimmed);
        start += trimmed.chars().count() - body.chars().count();

        let sep = body
            .find(['=', ':'])
            .ok_or_else(|| format!("line {line_no}: expected KEY=VALUE"))?;
        let key = body[..sep].trim().to_owned();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(format!("line {line_no}: invalid key {key:?}"));
        }
        let mut cursor = start + body[..=sep].chars().count();
        while cursor < chars.len() && (chars[cursor] == ' ' || chars[cursor] == '\t') {
            cursor += 1;
        }
        let lookup = |name: &str| -> String {
            seen.get(name)
                .cloned()
                .or_else(|| env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
                .unwrap_or_default()
        };
        let (value, next) = match chars.get(cursor) {
            Some(&q @ ('\'' | '"')) => {
                let close = find_closing(&chars, cursor + 1, q)
                    .ok_or_else(|| format!("line {line_no}: unterminated quoted value"))?;
                let raw: String = chars[cursor + 1..close].iter().collect();
                let value = if q == '"' {
                    expand(&unescape(&raw), &lookup)
                } else {
                    raw
                };
                let rest_end = chars[close..]
                    .iter()
                    .position(|&c| c == '\n')
                    .map_or(chars.len(), |i| close + i);
                (value, rest_end + 1)
            }
            _ => {
                let raw: String = chars[cursor.min(line_end)..line_end].iter().collect();
                let raw = match raw.find(" #").or_else(|| raw.find("\t#")) {
                    Some(i) => &raw[..i],
                    None => raw.as_str(),
                };
                (expand(raw.trim_end(), &lookup), line_end + 1)
            }
        };
        line_no += chars[pos..next.min(chars.len())]
            .iter()
            .filter(|&&c| c == '\n')
            .count();
        pos = next;
        seen.insert(key.clone(), value.clone());
        out.retain(|(k, _)| *k != key);
        out.push((key, value));
    }
    Ok(out)
}

fn find_closing(chars: &[char], from: usize, quote: char) -> Option<usize> {
    let mut i = from;
    while i < chars.len() {
        if chars[i] == '\\' && quote == '"' {
            i += 2;
            continue;
        }
        if chars[i] == quote {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            // `\$` stays escaped so that expansion leaves the dollar alone.
            Some('$') => out.push_str("\\$"),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// `$VAR` and `${VAR}` (names of `A-Z0-9_`) expansion; `\$` yields a literal dollar.
fn expand(value: &str, lookup: &dyn Fn(&str) -> String) -> String {
    let chars: Vec<char> = value.chars().collect();
    let mut out = String::with_capacity(value.len());
    let mut i = 0;
    let is_name = |c: char| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_';
    while i < chars.len() {
        match chars[i] {
            '\\' if chars.get(i + 1) == Some(&'$') => {
                out.push('$');
                i += 2;
            }
            '$' => {
                let braced = chars.get(i + 1) == Some(&'{');
                let start = if braced { i + 2 } else { i + 1 };
                let mut end = start;
                while end < chars.len() && is_name(chars[end]) {
                    end += 1;
                }
                if end == start {
                    out.push('$');
                    i += 1;
                    continue;
                }
                let name: String = chars[start..end].iter().collect();
                out.push_str(&lookup(&name));
                i = if braced && chars.get(end) == Some(&'}') {
                    end + 1
                } else {
                    end
                };
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<(String, String)> {
        parse_dotenv(text, &[("HOME".into(), "/root".into())]).unwrap()
    }

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn forms() {
        let got = parse(
            "# comment\n\
             CENTRIFUGO_HTTP_API_KEY=secret\n\
             export CENTRIFUGO_LOG_LEVEL=debug\n\
             PLAIN = spaced value # trailing comment\n\
             YAMLISH: yes\n\
             SINGLE='no $HOME expansion # kept'\n\
             DOUBLE=\"line1\\nline2 $HOME ${HOME}\"\n\
             ESCAPED=\"cost \\$5\"\n\
             MULTI=\"a\n\
             b\"\n\
             REF=${CENTRIFUGO_LOG_LEVEL}-x\n\
             EMPTY=\n",
        );
        assert_eq!(
            got,
            vec![
                pair("CENTRIFUGO_HTTP_API_KEY", "secret"),
                pair("CENTRIFUGO_LOG_LEVEL", "debug"),
                pair("PLAIN", "spaced value"),
                pair("YAMLISH", "yes"),
                pair("SINGLE", "no $HOME expansion # kept"),
                pair("DOUBLE", "line1\nline2 /root /root"),
                pair("ESCAPED", "cost $5"),
                pair("MULTI", "a\nb"),
                pair("REF", "debug-x"),
                pair("EMPTY", ""),
            ]
        );
    }

    #[test]
    fn errors() {
        assert!(parse_dotenv("JUSTAKEY\n", &[]).is_err());
        assert!(parse_dotenv("A=\"open\n", &[]).is_err());
    }

    #[test]
    fn process_env_wins() {
        let merged = merge_env(
            vec![pair("A", "process")],
            vec![pair("A", "dotenv"), pair("B", "dotenv")],
        );
        assert_eq!(merged, vec![pair("A", "process"), pair("B", "dotenv")]);
    }
}
