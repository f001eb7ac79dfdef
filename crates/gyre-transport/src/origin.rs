//! `client.allowed_origins`: Centrifugo's origin rule for connection endpoints, compiled once per
//! configuration snapshot.

use std::sync::Arc;

use gyre_config::glob::Glob;
use gyre_config::Snapshot;
use parking_lot::Mutex;

/// A compiled `allowed_origins` list.
#[derive(Debug, Clone)]
pub struct OriginChecker {
    rule: Rule,
}

#[derive(Debug, Clone)]
enum Rule {
    /// `["*"]`.
    Any,
    /// Glob patterns; an empty list refuses every request that carries an `Origin`.
    Patterns(Vec<Glob>),
}

impl OriginChecker {
    /// Compiles the patterns. A malformed pattern is logged and matches nothing (Centrifugo
    /// refuses to start with one; configuration validation reports it too).
    pub fn new(allowed: &[String]) -> OriginChecker {
        if allowed.len() == 1 && allowed[0] == "*" {
            return OriginChecker { rule: Rule::Any };
        }
        let patterns = allowed
            .iter()
            .filter_map(|p| match Glob::new(p) {
                Ok(glob) => Some(glob),
                Err(_) => {
                    tracing::error!(pattern = %p, "malformed allowed_origins pattern ignored");
                    None
                }
            })
            .collect();
        OriginChecker {
            rule: Rule::Patterns(patterns),
        }
    }

    /// Whether a request with this `Origin` header may connect. No header (or an empty one)
    /// always passes: non-browser clients send none.
    pub fn allows(&self, origin: Option<&str>) -> bool {
        let origin = match origin {
            None | Some("") => return true,
            Some(origin) => origin,
        };
        match &self.rule {
            Rule::Any => true,
            Rule::Patterns(patterns) => {
                let lower = origin.to_lowercase();
                patterns.iter().any(|p| p.is_match(&lower))
            }
        }
    }
}

/// The checker of the latest snapshot, recompiled only when the snapshot changes (reload).
#[derive(Debug, Default)]
pub(crate) struct OriginCache {
    current: Mutex<Option<(Arc<Snapshot>, Arc<OriginChecker>)>>,
}

impl OriginCache {
    pub(crate) fn checker(&self, snapshot: &Arc<Snapshot>) -> Arc<OriginChecker> {
        let mut current = self.current.lock();
        if let Some((seen, checker)) = current.as_ref() {
            if Arc::ptr_eq(seen, snapshot) {
                return checker.clone();
            }
        }
        let checker = Arc::new(OriginChecker::new(&snapshot.config.client.allowed_origins));
        if matches!(checker.rule, Rule::Any) {
            tracing::warn!(
                "usage of allowed_origins * is discouraged for security reasons, consider setting exact list of origins"
            );
        }
        *current = Some((snapshot.clone(), checker.clone()));
        checker
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(list: &[&str], origin: Option<&str>) -> bool {
        let list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        OriginChecker::new(&list).allows(origin)
    }

    /// reliability.md B6: three configurations against the same Origins.
    #[test]
    fn b6_origin_matrix() {
        let origins: [Option<&str>; 7] = [
            None,
            Some("null"),
            Some("https://a.example.com"),
            Some("https://A.EXAMPLE.com"),
            Some("https://example.com.evil.com"),
            Some("https://evil.com/.example.com"),
            Some(""),
        ];
        // Expected per origin, in the order above.
        let table: [(&[&str], [bool; 7]); 3] = [
            (&[], [true, false, false, false, false, false, true]),
            (&["*"], [true, true, true, true, true, true, true]),
            // `*` also matches `/` (gobwas without separators), so the path-shaped origin
            // passes as in Centrifugo; browsers never send a path in `Origin`.
            (
                &["https://*.example.com"],
                [true, false, true, true, false, true, true],
            ),
        ];
        for (list, expected) in table {
            for (origin, want) in origins.iter().zip(expected) {
                assert_eq!(
                    allowed(list, *origin),
                    want,
                    "allowed_origins {list:?}, Origin {origin:?}"
                );
            }
        }
    }

    #[test]
    fn patterns_are_case_sensitive_origins_are_not() {
        // Centrifugo lower-cases the Origin, not the pattern.
        assert!(!allowed(
            &["https://*.Example.com"],
            Some("https://a.example.com")
        ));
        assert!(allowed(&["http://localhost:3000"], Some("HTTP://LOCALHOST:3000")));
        assert!(!allowed(
            &["http://localhost:3000"],
            Some("http://localhost:30000")
        ));
        // "*" among others is just a pattern that matches everything.
        assert!(allowed(&["https://x.org", "*"], Some("https://y.org")));
        // A malformed pattern matches nothing but does not disable the others.
        assert!(allowed(&["[bad", "https://x.org"], Some("https://x.org")));
        assert!(!allowed(&["[bad"], Some("[bad")));
    }

    #[test]
    fn cache_follows_snapshot() {
        let mut config = gyre_config::Config::default();
        let first = Arc::new(Snapshot::new(config.clone()).unwrap());
        config.client.allowed_origins = vec!["*".into()];
        let second = Arc::new(Snapshot::new(config).unwrap());
        let cache = OriginCache::default();
        let a = cache.checker(&first);
        assert!(
            Arc::ptr_eq(&a, &cache.checker(&first)),
            "compiled once per snapshot"
        );
        assert!(!a.allows(Some("https://x.org")));
        assert!(cache.checker(&second).allows(Some("https://x.org")));
    }
}
