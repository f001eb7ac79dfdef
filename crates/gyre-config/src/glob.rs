//! Glob patterns as Centrifugo uses them (gobwas/glob without separators): `allowed_origins`
//! entries and the `channels` API `pattern`. `*` matches any run of characters (including `.`
//! and `/`), `?` one character, `[abc]`/`[a-z]`/`[!abc]` a class, `{a,b}` alternatives, `\` escapes.

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Char(char),
    Any,
    AnyRun,
    Class { negated: bool, items: Vec<(char, char)> },
    Alt(Vec<Glob>),
}

/// The pattern is malformed (unclosed `[` or `{`, dangling `\`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid glob pattern")]
pub struct GlobError;

impl Glob {
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        let chars: Vec<char> = pattern.chars().collect();
        let (glob, rest) = parse(&chars, false)?;
        if !rest.is_empty() {
            return Err(GlobError);
        }
        Ok(glob)
    }

    pub fn is_match(&self, s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        matches(&self.tokens, &chars)
    }
}

/// Parses until the end, or (inside `{}`) until an unnested `,` or `}`; returns the remaining input.
fn parse(mut input: &[char], in_alt: bool) -> Result<(Glob, &[char]), GlobError> {
    let mut tokens = Vec::new();
    while let Some(&c) = input.first() {
        match c {
            ',' | '}' if in_alt => break,
            '*' => {
                input = &input[1..];
                if tokens.last() != Some(&Token::AnyRun) {
                    tokens.push(Token::AnyRun);
                }
            }
            '?' => {
                input = &input[1..];
                tokens.push(Token::Any);
            }
            '\\' => {
                let &escaped = input.get(1).ok_or(GlobError)?;
                tokens.push(Token::Char(escaped));
                input = &input[2..];
            }
            '[' => {
                let close = input.iter().skip(1).position(|&c| c == ']').ok_or(GlobError)? + 1;
                let mut body = &input[1..close];
                let negated = body.first() == Some(&'!');
                if negated {
                    body = &body[1..];
                }
                let mut items = Vec::new();
                let mut i = 0;
                while i < body.len() {
                    if i + 2 < body.len() && body[i + 1] == '-' {
                        items.push((body[i], body[i + 2]));
                        i += 3;
                    } else {
                        items.push((body[i], body[i]));
                        i += 1;
                    }
                }
                tokens.push(Token::Class { negated, items });
                input = &input[close + 1..];
            }
            '{' => {
                input = &input[1..];
                let mut alternatives = Vec::new();
                loop {
                    let (alt, rest) = parse(input, true)?;
                    alternatives.push(alt);
                    match rest.first() {
                        Some(',') => input = &rest[1..],
                        Some('}') => {
                            input = &rest[1..];
                            break;
                        }
                        _ => return Err(GlobError),
                    }
                }
                tokens.push(Token::Alt(alternatives));
            }
            _ => {
                tokens.push(Token::Char(c));
                input = &input[1..];
            }
        }
    }
    Ok((Glob { tokens }, input))
}

fn matches(tokens: &[Token], s: &[char]) -> bool {
    let Some((first, rest)) = tokens.split_first() else {
        return s.is_empty();
    };
    match first {
        Token::Char(c) => s.first() == Some(c) && matches(rest, &s[1..]),
        Token::Any => !s.is_empty() && matches(rest, &s[1..]),
        // Patterns are short (config values), so trying every split point is cheap enough.
        Token::AnyRun => (0..=s.len()).any(|i| matches(rest, &s[i..])),
        Token::Class { negated, items } => match s.first() {
            Some(&c) => {
                let hit = items.iter().any(|&(lo, hi)| lo <= c && c <= hi);
                hit != *negated && matches(rest, &s[1..])
            }
            None => false,
        },
        Token::Alt(alternatives) => alternatives.iter().any(|alt| {
            let mut combined = alt.tokens.clone();
            combined.extend_from_slice(rest);
            matches(&combined, s)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Glob::new(p).unwrap().is_match(s)
    }

    #[test]
    fn origins() {
        assert!(m("https://*.example.com", "https://a.example.com"));
        assert!(m("https://*.example.com", "https://a.b.example.com"));
        assert!(!m("https://*.example.com", "https://example.com.evil.com"));
        assert!(!m("https://*.example.com", "https://evil.com/.example.com.x"));
        assert!(m("*", "anything/at.all"));
        assert!(m("http://localhost:3000", "http://localhost:3000"));
        assert!(!m("http://localhost:3000", "http://localhost:30001"));
    }

    #[test]
    fn syntax() {
        assert!(m("chat:?", "chat:1"));
        assert!(!m("chat:?", "chat:12"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[!a-c]x", "bx"));
        assert!(m("{news,chat}:*", "chat:room"));
        assert!(!m("{news,chat}:*", "other:room"));
        assert!(m(r"a\*b", "a*b"));
        assert!(!m(r"a\*b", "axb"));
        assert!(Glob::new("[abc").is_err());
        assert!(Glob::new("{a,b").is_err());
    }
}
