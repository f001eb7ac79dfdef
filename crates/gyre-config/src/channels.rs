//! Channel name rules derived from the `channel` section: namespace resolution, private and
//! user-limited channels, name validation. Built once per config snapshot so regexes compile once.

use std::collections::HashMap;

use regex::Regex;

use crate::types::{Channel, ChannelOptions, Config};

/// Why a channel name was refused. Mapped to client/API codes at the edge
/// (`UnknownNamespace` → 102, `Invalid` → 107).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    #[error("unknown channel namespace")]
    UnknownNamespace,
    #[error("invalid channel name")]
    Invalid,
}

/// A channel resolved against the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    /// Namespace name; empty for channels without a namespace.
    pub namespace: &'a str,
    /// The channel after `ns:` (the whole channel when there is no namespace).
    pub rest: &'a str,
    /// Effective options (global `publication_data_format` applied when the namespace has none).
    pub options: &'a ChannelOptions,
}

/// Compiled channel rules of one config snapshot.
#[derive(Debug, Clone)]
pub struct Channels {
    cfg: Channel,
    without_namespace: ChannelOptions,
    namespaces: HashMap<String, ChannelOptions>,
    regexes: HashMap<String, Regex>,
    personal_namespace: String,
}

impl Channels {
    /// Compiles the rules. Fails on an invalid `channel_regex` (validation reports it too).
    pub fn new(config: &Config) -> Result<Channels, regex::Error> {
        let cfg = config.channel.clone();
        let with_global_format = |o: &ChannelOptions| {
            let mut o = o.clone();
            if o.publication_data_format.is_empty() {
                o.publication_data_format = cfg.publication_data_format.clone();
            }
            o
        };
        let mut regexes = HashMap::new();
        if !cfg.without_namespace.channel_regex.is_empty() {
            regexes.insert(String::new(), Regex::new(&cfg.without_namespace.channel_regex)?);
        }
        let mut namespaces = HashMap::new();
        for ns in &cfg.namespaces {
            if !ns.options.channel_regex.is_empty() {
                regexes.insert(ns.name.clone(), Regex::new(&ns.options.channel_regex)?);
            }
            namespaces.insert(ns.name.clone(), with_global_format(&ns.options));
        }
        Ok(Channels {
            without_namespace: with_global_format(&cfg.without_namespace),
            namespaces,
            regexes,
            personal_namespace: config
                .client
                .subscribe_to_user_personal_channel
                .personal_channel_namespace
                .clone(),
            cfg,
        })
    }

    /// Finds the namespace of `channel` (the private prefix is ignored for this).
    pub fn resolve<'a>(&'a self, channel: &'a str) -> Result<Resolved<'a>, ChannelError> {
        let trimmed = channel
            .strip_prefix(self.cfg.private_prefix.as_str())
            .unwrap_or(channel);
        let boundary = self.cfg.namespace_boundary.as_str();
        if !boundary.is_empty() {
            if let Some((ns, rest)) = trimmed.split_once(boundary) {
                // Go resolves an empty namespace name (":foo") to the channels without namespace.
                if ns.is_empty() {
                    return Ok(Resolved {
                        namespace: "",
                        rest,
                        options: &self.without_namespace,
                    });
                }
                let options = self.namespaces.get(ns).ok_or(ChannelError::UnknownNamespace)?;
                return Ok(Resolved {
                    namespace: ns,
                    rest,
                    options,
                });
            }
        }
        Ok(Resolved {
            namespace: "",
            rest: channel,
            options: &self.without_namespace,
        })
    }

    /// Resolves and checks the name: length limit, then `channel_regex` when the namespace has
    /// one, otherwise ASCII only.
    pub fn resolve_valid<'a>(&'a self, channel: &'a str) -> Result<Resolved<'a>, ChannelError> {
        let max = if self.cfg.max_length > 0 {
            self.cfg.max_length as usize
        } else {
            255
        };
        if channel.len() > max {
            return Err(ChannelError::Invalid);
        }
        let resolved = self.resolve(channel)?;
        match self.regexes.get(resolved.namespace) {
            Some(re) if !re.is_match(resolved.rest) => return Err(ChannelError::Invalid),
            Some(_) => {}
            None if !channel.is_ascii() => return Err(ChannelError::Invalid),
            None => {}
        }
        Ok(resolved)
    }

    /// Channels starting with the private prefix need a subscription token.
    pub fn is_private(&self, channel: &str) -> bool {
        !self.cfg.private_prefix.is_empty() && channel.starts_with(self.cfg.private_prefix.as_str())
    }

    /// Channels containing the user boundary are user-limited (when the namespace allows them).
    pub fn is_user_limited(&self, channel: &str) -> bool {
        !self.cfg.user_boundary.is_empty() && channel.contains(self.cfg.user_boundary.as_str())
    }

    /// Whether `user` is listed after the last user boundary of `channel`.
    pub fn user_allowed(&self, channel: &str, user: &str) -> bool {
        let boundary = self.cfg.user_boundary.as_str();
        if boundary.is_empty() || !channel.contains(boundary) {
            return true;
        }
        let allowed = channel.rsplit(boundary).next().unwrap_or("");
        if self.cfg.user_separator.is_empty() {
            return allowed == user;
        }
        allowed.split(self.cfg.user_separator.as_str()).any(|u| u == user)
    }

    /// The personal channel of `user` (`#user` or `ns:#user`).
    pub fn personal_channel(&self, user: &str) -> String {
        if self.personal_namespace.is_empty() {
            format!("{}{}", self.cfg.user_boundary, user)
        } else {
            format!(
                "{}{}{}{}",
                self.personal_namespace, self.cfg.namespace_boundary, self.cfg.user_boundary, user
            )
        }
    }

    /// Effective history meta TTL of a namespace (its own, else `channel.history_meta_ttl`).
    pub fn history_meta_ttl(&self, options: &ChannelOptions) -> std::time::Duration {
        if options.history_meta_ttl.is_zero() {
            self.cfg.history_meta_ttl.as_std()
        } else {
            options.history_meta_ttl.as_std()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ChannelNamespace;

    fn channels() -> Channels {
        let mut config = Config::default();
        config.channel.namespaces.push(ChannelNamespace {
            name: "chat".into(),
            ..Default::default()
        });
        let mut re = ChannelNamespace {
            name: "re".into(),
            ..Default::default()
        };
        re.options.channel_regex = "^[a-z]+$".into();
        config.channel.namespaces.push(re);
        Channels::new(&config).unwrap()
    }

    #[test]
    fn resolution() {
        let c = channels();
        assert_eq!(c.resolve("chat:room").unwrap().namespace, "chat");
        assert_eq!(c.resolve("$chat:room").unwrap().rest, "room");
        assert_eq!(c.resolve("room").unwrap().namespace, "");
        assert_eq!(
            c.resolve("nope:room").unwrap_err(),
            ChannelError::UnknownNamespace
        );
    }

    #[test]
    fn validation() {
        let c = channels();
        assert_eq!(
            c.resolve_valid(&"a".repeat(256)).unwrap_err(),
            ChannelError::Invalid
        );
        assert!(c.resolve_valid(&"a".repeat(255)).is_ok());
        assert_eq!(
            c.resolve_valid("chat:ünïcode").unwrap_err(),
            ChannelError::Invalid
        );
        assert!(c.resolve_valid("re:abc").is_ok());
        assert_eq!(c.resolve_valid("re:abc1").unwrap_err(), ChannelError::Invalid);
    }

    #[test]
    fn user_limited() {
        let c = channels();
        assert!(c.is_user_limited("dialog#42,43"));
        assert!(c.user_allowed("dialog#42,43", "43"));
        assert!(!c.user_allowed("dialog#42,43", "44"));
        assert!(c.user_allowed("a#b#42", "42"));
        assert!(c.is_private("$secret"));
        assert_eq!(c.personal_channel("7"), "#7");
    }
}
