//! Typed API results. JSON follows Centrifugo's generated structs: fields are omitted when empty
//! except the ones Centrifugo forces (`presence`, `num_clients`/`num_users`, history's
//! `publications`/`epoch`/`offset`, node fields of `info`, `channels`). Maps are ordered so the
//! output is stable (Go sorts map keys too).

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Serialize, Serializer};

use crate::error::ApiError;
use crate::raw::ser as raw;

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PublishResult {
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub offset: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub epoch: String,
}

/// One channel's outcome inside a broadcast: `{"result":{…}}` or `{"error":{…}}`.
pub type PublishResponse = Result<PublishResult, ApiError>;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BroadcastResult {
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "ser_responses")]
    pub responses: Vec<PublishResponse>,
}

fn ser_responses<S: Serializer>(v: &[PublishResponse], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(Envelope::from))
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SubscribeResult {}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UnsubscribeResult {}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DisconnectResult {}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RefreshResult {}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HistoryRemoveResult {}

/// Who a client is (presence entries, publication authors). `user` and `client` always appear.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClientInfo {
    pub user: String,
    pub client: String,
    #[serde(skip_serializing_if = "Bytes::is_empty", serialize_with = "raw")]
    pub conn_info: Bytes,
    #[serde(skip_serializing_if = "Bytes::is_empty", serialize_with = "raw")]
    pub chan_info: Bytes,
}

impl From<gyre_protocol::ClientInfo> for ClientInfo {
    fn from(c: gyre_protocol::ClientInfo) -> Self {
        ClientInfo {
            user: c.user,
            client: c.client,
            conn_info: c.conn_info,
            chan_info: c.chan_info,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PresenceResult {
    pub presence: BTreeMap<String, ClientInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PresenceStatsResult {
    pub num_clients: u32,
    pub num_users: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Publication {
    #[serde(skip_serializing_if = "Bytes::is_empty", serialize_with = "raw")]
    pub data: Bytes,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<ClientInfo>,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub offset: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl From<gyre_protocol::Publication> for Publication {
    fn from(p: gyre_protocol::Publication) -> Self {
        Publication {
            data: p.data,
            info: p.info.map(ClientInfo::from),
            offset: p.offset,
            tags: p.tags.into_iter().collect(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HistoryResult {
    pub publications: Vec<Publication>,
    pub epoch: String,
    pub offset: u64,
}

/// One node in `info`. `uptime` is omitted when zero (as in Centrifugo); `metrics` and `process`
/// are never set in OSS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NodeResult {
    pub uid: String,
    pub name: String,
    pub version: String,
    pub num_clients: u32,
    pub num_users: u32,
    pub num_channels: u32,
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub uptime: u32,
    pub num_subs: u32,
}

impl From<gyre_core::NodeInfo> for NodeResult {
    fn from(n: gyre_core::NodeInfo) -> Self {
        NodeResult {
            uid: n.uid,
            name: n.name,
            version: n.version,
            num_clients: n.num_clients,
            num_users: n.num_users,
            num_channels: n.num_channels,
            uptime: n.uptime_seconds,
            num_subs: n.num_subs,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InfoResult {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeResult>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RpcResult {
    #[serde(skip_serializing_if = "Bytes::is_empty", serialize_with = "raw")]
    pub data: Bytes,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChannelInfo {
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub num_clients: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChannelsResult {
    pub channels: BTreeMap<String, ChannelInfo>,
}

/// The `{"result":…}` / `{"error":…}` envelope of a single-method response.
#[derive(Debug, Serialize)]
pub struct Envelope<'a, T: Serialize> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a ApiError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'a T>,
}

impl<'a, T: Serialize> From<&'a Result<T, ApiError>> for Envelope<'a, T> {
    fn from(r: &'a Result<T, ApiError>) -> Self {
        match r {
            Ok(result) => Envelope {
                error: None,
                result: Some(result),
            },
            Err(error) => Envelope {
                error: Some(error),
                result: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T: Serialize>(v: &T) -> String {
        serde_json::to_string(v).unwrap()
    }

    #[test]
    fn omitempty_and_forced_fields() {
        assert_eq!(json(&PublishResult::default()), "{}");
        assert_eq!(
            json(&PublishResult {
                offset: 3,
                epoch: "abcd".into()
            }),
            r#"{"offset":3,"epoch":"abcd"}"#
        );
        assert_eq!(json(&PresenceResult::default()), r#"{"presence":{}}"#);
        assert_eq!(
            json(&PresenceStatsResult::default()),
            r#"{"num_clients":0,"num_users":0}"#
        );
        assert_eq!(
            json(&HistoryResult::default()),
            r#"{"publications":[],"epoch":"","offset":0}"#
        );
        assert_eq!(json(&ChannelsResult::default()), r#"{"channels":{}}"#);
        assert_eq!(
            json(&NodeResult::default()),
            r#"{"uid":"","name":"","version":"","num_clients":0,"num_users":0,"num_channels":0,"num_subs":0}"#
        );
        assert_eq!(json(&InfoResult::default()), "{}");
        assert_eq!(json(&RpcResult::default()), "{}");
        assert_eq!(json(&ClientInfo::default()), r#"{"user":"","client":""}"#);
        assert_eq!(json(&Publication::default()), "{}");
    }

    #[test]
    fn broadcast_responses() {
        let r = BroadcastResult {
            responses: vec![Ok(PublishResult::default()), Err(ApiError::UNKNOWN_CHANNEL)],
        };
        assert_eq!(
            json(&r),
            r#"{"responses":[{"result":{}},{"error":{"code":102,"message":"unknown channel"}}]}"#
        );
    }
}
