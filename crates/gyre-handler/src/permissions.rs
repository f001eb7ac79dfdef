//! Namespace permission rules shared by several commands. Every function is pure over the
//! configuration and facts about the caller, so the rules are tested without a live connection.

use gyre_config::{ChannelError, ChannelOptions, Snapshot};
use gyre_core::{Error, HandlerError};

/// Who sends a command.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller<'a> {
    /// Empty for anonymous connections.
    pub(crate) user: &'a str,
    pub(crate) client_id: &'a str,
}

impl Caller<'_> {
    fn is_anonymous(&self) -> bool {
        self.user.is_empty()
    }
}

/// Channel name problems as client errors: unknown namespace → 102, invalid name → 107.
pub(crate) fn channel_error(e: ChannelError) -> HandlerError {
    match e {
        ChannelError::UnknownNamespace => Error::UNKNOWN_CHANNEL.into(),
        ChannelError::Invalid => Error::BAD_REQUEST.into(),
    }
}

/// The `allow_*_for_client` / `allow_*_for_subscriber` / `client.insecure` ladder used by
/// history, presence and publish. `subscribed` is whether the connection is (or, during a
/// subscribe decision, is about to be) subscribed to the channel.
fn ladder(
    snapshot: &Snapshot,
    caller: Caller<'_>,
    subscribed: bool,
    for_client: bool,
    for_subscriber: bool,
    for_anonymous: bool,
) -> bool {
    let identity_ok = !caller.is_anonymous() || for_anonymous;
    (for_client && identity_ok)
        || (for_subscriber && subscribed && identity_ok)
        || snapshot.config.client.insecure
}

pub(crate) fn history_allowed(
    snapshot: &Snapshot,
    options: &ChannelOptions,
    caller: Caller<'_>,
    subscribed: bool,
) -> bool {
    ladder(
        snapshot,
        caller,
        subscribed,
        options.allow_history_for_client,
        options.allow_history_for_subscriber,
        options.allow_history_for_anonymous,
    )
}

pub(crate) fn presence_allowed(
    snapshot: &Snapshot,
    options: &ChannelOptions,
    caller: Caller<'_>,
    subscribed: bool,
) -> bool {
    ladder(
        snapshot,
        caller,
        subscribed,
        options.allow_presence_for_client,
        options.allow_presence_for_subscriber,
        options.allow_presence_for_anonymous,
    )
}

pub(crate) fn publish_allowed(
    snapshot: &Snapshot,
    options: &ChannelOptions,
    caller: Caller<'_>,
    subscribed: bool,
) -> bool {
    ladder(
        snapshot,
        caller,
        subscribed,
        options.allow_publish_for_client,
        options.allow_publish_for_subscriber,
        options.allow_publish_for_anonymous,
    )
}

/// Whether the namespace makes `channel` user-limited (`#` + `allow_user_limited_channels`).
pub(crate) fn is_user_limited(snapshot: &Snapshot, options: &ChannelOptions, channel: &str) -> bool {
    options.allow_user_limited_channels && snapshot.channels.is_user_limited(channel)
}

/// The user is listed after the user boundary of a user-limited channel.
///
/// Gyre decision: an anonymous connection is never "listed". Centrifugo's client-side subscribe
/// path compares the empty user id with the list, so `chat#` or `chat#42,` admitted anonymous
/// connections there while its connect-time path already refused them.
pub(crate) fn user_listed(snapshot: &Snapshot, caller: Caller<'_>, channel: &str) -> bool {
    !caller.is_anonymous() && snapshot.channels.user_allowed(channel, caller.user)
}

/// Rules 6 and 7 of the subscribe order: `allow_subscribe_for_client` (+ anonymous) on a channel
/// that is not user-limited, else `client.insecure`.
pub(crate) fn subscribe_for_client_allowed(
    snapshot: &Snapshot,
    options: &ChannelOptions,
    caller: Caller<'_>,
    user_limited: bool,
) -> bool {
    (options.allow_subscribe_for_client
        && (!caller.is_anonymous() || options.allow_subscribe_for_anonymous)
        && !user_limited)
        || snapshot.config.client.insecure
}

/// Checks `data` against a namespace's `publication_data_format`: `json`, `json_object`,
/// `binary` (anything, including empty), or the default, which only refuses empty data.
pub fn publication_data_valid(data: &[u8], format: &str) -> bool {
    match format {
        "json" => is_json(data),
        "json_object" => is_json(data) && is_json_object(data),
        "binary" => true,
        _ => !data.is_empty(),
    }
}

fn is_json(data: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(data).is_ok()
}

fn is_json_object(data: &[u8]) -> bool {
    let trimmed = data.trim_ascii();
    trimmed.first() == Some(&b'{') && trimmed.last() == Some(&b'}')
}

#[cfg(test)]
mod tests {
    use gyre_config::Config;

    use super::*;

    const USER: Caller<'static> = Caller {
        user: "42",
        client_id: "c1",
    };
    const ANON: Caller<'static> = Caller {
        user: "",
        client_id: "c2",
    };

    fn snapshot(insecure: bool) -> Snapshot {
        let mut config = Config::default();
        config.client.insecure = insecure;
        Snapshot::new(config).unwrap()
    }

    #[test]
    fn history_ladder() {
        let s = snapshot(false);
        let none = ChannelOptions::default();
        assert!(!history_allowed(&s, &none, USER, true));
        let client = ChannelOptions {
            allow_history_for_client: true,
            ..Default::default()
        };
        assert!(history_allowed(&s, &client, USER, false));
        assert!(!history_allowed(&s, &client, ANON, false));
        let client_anon = ChannelOptions {
            allow_history_for_client: true,
            allow_history_for_anonymous: true,
            ..Default::default()
        };
        assert!(history_allowed(&s, &client_anon, ANON, false));
        let subscriber = ChannelOptions {
            allow_history_for_subscriber: true,
            ..Default::default()
        };
        assert!(!history_allowed(&s, &subscriber, USER, false));
        assert!(history_allowed(&s, &subscriber, USER, true));
        assert!(!history_allowed(&s, &subscriber, ANON, true));
        assert!(history_allowed(&snapshot(true), &none, ANON, false));
    }

    #[test]
    fn presence_and_publish_use_their_own_flags() {
        let s = snapshot(false);
        let history_only = ChannelOptions {
            allow_history_for_client: true,
            ..Default::default()
        };
        assert!(!presence_allowed(&s, &history_only, USER, true));
        assert!(!publish_allowed(&s, &history_only, USER, true));
        let presence = ChannelOptions {
            allow_presence_for_subscriber: true,
            allow_presence_for_anonymous: true,
            ..Default::default()
        };
        assert!(presence_allowed(&s, &presence, ANON, true));
        assert!(!presence_allowed(&s, &presence, ANON, false));
        let publish = ChannelOptions {
            allow_publish_for_client: true,
            ..Default::default()
        };
        assert!(publish_allowed(&s, &publish, USER, false));
        assert!(!publish_allowed(&s, &publish, ANON, false));
    }

    #[test]
    fn data_formats() {
        assert!(!publication_data_valid(b"", ""));
        assert!(publication_data_valid(b"x", ""));
        assert!(publication_data_valid(b"", "binary"));
        assert!(publication_data_valid(b"\x00\xff", "binary"));
        assert!(publication_data_valid(b"[1,2]", "json"));
        assert!(publication_data_valid(b" \"s\" ", "json"));
        assert!(!publication_data_valid(b"{", "json"));
        assert!(!publication_data_valid(b"", "json"));
        assert!(publication_data_valid(b" {\"a\":1}\n", "json_object"));
        assert!(!publication_data_valid(b"[1]", "json_object"));
        assert!(!publication_data_valid(b"{} x", "json_object"));
    }

    #[test]
    fn anonymous_is_never_listed() {
        let mut config = Config::default();
        config.client.insecure = false;
        let s = Snapshot::new(config).unwrap();
        assert!(user_listed(&s, USER, "dialog#42,43"));
        assert!(!user_listed(&s, USER, "dialog#43"));
        assert!(!user_listed(&s, ANON, "dialog#"));
        assert!(!user_listed(&s, ANON, "dialog#42,"));
    }
}
