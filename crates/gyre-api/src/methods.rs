//! The list of API methods, declared once. From it come the [`Command`]/[`CommandResult`] enums,
//! [`Executor::execute`], the batch command decoder and the legacy `/api` method table.

use serde::{Deserialize, Serialize, Serializer};

use crate::error::ApiError;
use crate::requests::*;
use crate::results::*;
use crate::Executor;

macro_rules! api_methods {
    ($( $variant:ident = ($name:ident, $legacy:literal, $req:ty, $res:ty) ),* $(,)?) => {
        /// One API call with its typed request (batch element, legacy command, gRPC call).
        #[derive(Debug, Clone)]
        pub enum Command {
            $( $variant($req), )*
        }

        /// The result of a successful [`Command`].
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum CommandResult {
            $( $variant($res), )*
        }

        impl Command {
            /// The method name (`publish`, `presence_stats`, …).
            pub fn method(&self) -> &'static str {
                match self {
                    $( Command::$variant(_) => stringify!($name), )*
                }
            }

            /// The method name of a legacy method number this server implements.
            pub(crate) fn legacy_name(number: i64) -> Option<&'static str> {
                match number {
                    $( $legacy => Some(stringify!($name)), )*
                    _ => None,
                }
            }

            /// Decodes the `params` of a legacy command whose method number is `number`;
            /// `None` when this server has no such method.
            pub(crate) fn decode_legacy(
                number: i64,
                params: &[u8],
            ) -> Option<Result<Command, serde_json::Error>> {
                match number {
                    $( $legacy => Some(crate::raw::decode::<$req>(params).map(Command::$variant)), )*
                    _ => None,
                }
            }
        }

        impl CommandResult {
            pub fn method(&self) -> &'static str {
                match self {
                    $( CommandResult::$variant(_) => stringify!($name), )*
                }
            }
        }

        /// Serializes the bare result object.
        impl Serialize for CommandResult {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $( CommandResult::$variant(r) => r.serialize(s), )*
                }
            }
        }

        /// A batch element as JSON: an object keyed by method name. Keys are checked in the
        /// declaration order (Centrifugo's), the first present one wins, others are ignored.
        #[derive(Debug, Default, Deserialize)]
        pub(crate) struct WireCommand {
            $( #[serde(default)] $name: Option<$req>, )*
        }

        impl WireCommand {
            pub(crate) fn into_command(self) -> Option<Command> {
                $( if let Some(r) = self.$name { return Some(Command::$variant(r)); } )*
                None
            }
        }

        impl Executor {
            /// Runs any non-batch command.
            pub async fn execute(&self, command: Command) -> Result<CommandResult, ApiError> {
                match command {
                    $( Command::$variant(r) => self.$name(r).await.map(CommandResult::$variant), )*
                }
            }
        }
    };
}

api_methods! {
    Publish = (publish, 0, PublishRequest, PublishResult),
    Broadcast = (broadcast, 1, BroadcastRequest, BroadcastResult),
    Subscribe = (subscribe, 11, SubscribeRequest, SubscribeResult),
    Unsubscribe = (unsubscribe, 2, UnsubscribeRequest, UnsubscribeResult),
    Disconnect = (disconnect, 3, DisconnectRequest, DisconnectResult),
    History = (history, 6, HistoryRequest, HistoryResult),
    HistoryRemove = (history_remove, 7, HistoryRemoveRequest, HistoryRemoveResult),
    Presence = (presence, 4, PresenceRequest, PresenceResult),
    PresenceStats = (presence_stats, 5, PresenceStatsRequest, PresenceStatsResult),
    Info = (info, 9, InfoRequest, InfoResult),
    Rpc = (rpc, 10, RpcRequest, RpcResult),
    Refresh = (refresh, 12, RefreshRequest, RefreshResult),
    Channels = (channels, 8, ChannelsRequest, ChannelsResult),
}

/// Legacy `/api` method names (upper case) and their numbers, including the ones this server
/// does not implement: a known name without a method answers 104, an unknown name is a decode
/// error (400), as in Centrifugo.
pub(crate) const LEGACY_METHODS: &[(&str, i64)] = &[
    ("PUBLISH", 0),
    ("BROADCAST", 1),
    ("UNSUBSCRIBE", 2),
    ("DISCONNECT", 3),
    ("PRESENCE", 4),
    ("PRESENCE_STATS", 5),
    ("HISTORY", 6),
    ("HISTORY_REMOVE", 7),
    ("CHANNELS", 8),
    ("INFO", 9),
    ("RPC", 10),
    ("SUBSCRIBE", 11),
    ("REFRESH", 12),
    ("CONNECTIONS", 14),
    ("UPDATE_USER_STATUS", 15),
    ("GET_USER_STATUS", 16),
    ("DELETE_USER_STATUS", 17),
    ("BLOCK_USER", 18),
    ("UNBLOCK_USER", 19),
    ("REVOKE_TOKEN", 20),
    ("INVALIDATE_USER_TOKENS", 21),
    ("DEVICE_REGISTER", 22),
    ("DEVICE_UPDATE", 23),
    ("DEVICE_REMOVE", 24),
    ("DEVICE_LIST", 25),
    ("DEVICE_TOPIC_LIST", 26),
    ("DEVICE_TOPIC_UPDATE", 27),
    ("USER_TOPIC_LIST", 28),
    ("USER_TOPIC_UPDATE", 29),
    ("SEND_PUSH_NOTIFICATION", 30),
    ("UPDATE_PUSH_STATUS", 31),
    ("CANCEL_PUSH", 32),
    ("MAP_PUBLISH", 33),
    ("MAP_REMOVE", 34),
    ("MAP_READ_STATE", 35),
    ("MAP_READ_STREAM", 36),
    ("MAP_STATS", 37),
    ("MAP_CLEAR", 38),
    ("SHARED_POLL_PUBLISH", 39),
];
